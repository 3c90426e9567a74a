//go:build unix

package storage

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

func lockFile(name string) (io.Closer, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, localErr("lock", name, err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, newPathError("lock", name, ErrLocked)
		}
		return nil, localErr("lock", name, err)
	}
	return &fileLock{f: f}, nil
}

type fileLock struct{ f *os.File }

// Close releases the lock (closing the descriptor drops the flock).
func (l *fileLock) Close() error {
	if l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	return f.Close()
}
