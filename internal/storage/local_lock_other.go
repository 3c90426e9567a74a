//go:build !unix

package storage

import "io"

func lockFile(name string) (io.Closer, error) {
	return nil, newPathError("lock", name, ErrUnsupported)
}
