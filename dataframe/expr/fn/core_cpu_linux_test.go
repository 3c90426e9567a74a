//go:build linux

package fn

import (
	"syscall"
	"time"
)

// coreCPUTime is the process's user+system CPU time.
func coreCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
