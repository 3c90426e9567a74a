//go:build !linux

package fn

import "time"

// coreCPUTime is not measured off Linux; benchmarks then report 0 cpu-ns/row.
func coreCPUTime() time.Duration { return 0 }
