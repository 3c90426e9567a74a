package agg

import (
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Update over 64Ki-row batches into 1Mi groups, with random group ids (a
// cache miss per row once the state outgrows the cache) and sequential
// ones (the best case). Run one core: taskset -c 0 go test -bench .
const (
	benchRows   = 64 << 10
	benchGroups = 1 << 20
	benchBatch  = 16 // distinct gid batches cycled through
)

func benchGids(random bool) [][]uint32 {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([][]uint32, benchBatch)
	for b := range out {
		g := make([]uint32, benchRows)
		for i := range g {
			if random {
				g[i] = uint32(rng.IntN(benchGroups))
			} else {
				g[i] = uint32((b*benchRows + i) % benchGroups)
			}
		}
		out[b] = g
	}
	return out
}

func benchUpdate(b *testing.B, fn string, dt arrow.DataType, distinct, random bool, nullEvery int) {
	mem := memory.NewGoAllocator()
	f, _ := Lookup(fn)
	var args []expr.Arg
	var cols []arrow.Array
	if dt != nil {
		args = []expr.Arg{{Type: dt, Nullable: nullEvery > 0}}
		rng := rand.New(rand.NewPCG(3, 4))
		bld := array.NewBuilder(mem, dt)
		for i := 0; i < benchRows; i++ {
			if nullEvery > 0 && i%nullEvery == 0 {
				bld.AppendNull()
				continue
			}
			switch x := bld.(type) {
			case *array.Int64Builder:
				x.Append(rng.Int64N(1000))
			case *array.Float64Builder:
				x.Append(rng.Float64())
			case *array.StringBuilder:
				x.Append(string(rune('a' + rng.IntN(26))))
			}
		}
		cols = []arrow.Array{bld.NewArray()}
		bld.Release()
		defer cols[0].Release()
	}
	bind, err := f.Bind(args, distinct)
	if err != nil {
		b.Fatal(err)
	}
	acc := bind.New(mem)
	defer acc.Release()
	acc.Resize(benchGroups)
	gids := benchGids(random)
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if err := acc.Update(cols, gids[i%benchBatch]); err != nil {
			b.Fatal(err)
		}
	}
	// Wall time per row, and process CPU time per row: the second is the
	// honest number on a shared, busy machine.
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchRows, "ns/row")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/benchRows, "cpu-ns/row")
}

func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func BenchmarkCountStar(b *testing.B) {
	b.Run("random", func(b *testing.B) { benchUpdate(b, "count", nil, false, true, 0) })
	b.Run("sequential", func(b *testing.B) { benchUpdate(b, "count", nil, false, false, 0) })
}

func BenchmarkSumInt64(b *testing.B) {
	b.Run("random", func(b *testing.B) { benchUpdate(b, "sum", expr.Int64, false, true, 0) })
	b.Run("sequential", func(b *testing.B) { benchUpdate(b, "sum", expr.Int64, false, false, 0) })
	b.Run("random/nulls", func(b *testing.B) { benchUpdate(b, "sum", expr.Int64, false, true, 10) })
	b.Run("sequential/nulls", func(b *testing.B) { benchUpdate(b, "sum", expr.Int64, false, false, 10) })
}

func BenchmarkOthers(b *testing.B) {
	b.Run("avg/double/random", func(b *testing.B) { benchUpdate(b, "avg", expr.Float64, false, true, 0) })
	b.Run("min/bigint/random", func(b *testing.B) { benchUpdate(b, "min", expr.Int64, false, true, 0) })
	b.Run("max/string/random", func(b *testing.B) { benchUpdate(b, "max", expr.String, false, true, 0) })
	b.Run("stddev/double/random", func(b *testing.B) { benchUpdate(b, "stddev", expr.Float64, false, true, 0) })
	b.Run("first/bigint/random", func(b *testing.B) { benchUpdate(b, "first", expr.Int64, false, true, 0) })
	b.Run("count_distinct/bigint/sequential", func(b *testing.B) { benchUpdate(b, "count", expr.Int64, true, false, 0) })
}
