//go:build unix

package main

import (
	"syscall"
	"time"
)

// processCPU is the process's user+system CPU time, or 0 when unknown. On
// a shared machine it says more than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
