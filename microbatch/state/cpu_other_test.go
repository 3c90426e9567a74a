//go:build !linux

package state

import "time"

func cpuTime() time.Duration { return 0 }
