package versitygw

import (
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// setDeathSignal has the kernel kill the server when its parent dies, so a
// test binary killed by a timeout or SIGKILL leaves no server running.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// Pdeathsig fires when the parent *thread* exits, not the process, and the
// Go runtime may end a thread whose goroutine was locked to it. So every
// server is started from one goroutine locked to its thread for the life
// of the process.
var (
	spawnOnce sync.Once
	spawnCh   chan spawnReq
)

type spawnReq struct {
	cmd  *exec.Cmd
	errc chan error
}

func startProcess(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnCh = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for r := range spawnCh {
				r.errc <- r.cmd.Start()
			}
		}()
	})
	errc := make(chan error, 1)
	spawnCh <- spawnReq{cmd: cmd, errc: errc}
	return <-errc
}

// supportsXattr reports whether dir's file system stores user extended
// attributes, where the posix backend keeps object metadata by default
// (tmpfs before Linux 6.6 does not).
func supportsXattr(dir string) bool {
	p := dir + "/.xattr-probe"
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		return false
	}
	defer os.Remove(p)
	return syscall.Setxattr(p, "user.sluice", []byte("1"), 0) == nil
}
