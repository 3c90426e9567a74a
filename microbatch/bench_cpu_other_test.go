//go:build !linux

package microbatch_test

import "time"

// cpuTime is not measured off Linux; benchmarks then report 0 per CPU second.
func cpuTime() time.Duration { return 0 }
