// Package clickgen generates the deterministic click stream of the peers'
// benchmark job (../shared/peers/README.md), so sluice runs the same job on
// the same data with no input file at all.
//
// Event i of n: user_id = mix(seed*golden + 3i) % 100000; ts (ms) spreads
// over one hour with up to 1 s of disorder; event_type cycles through
// view, click, purchase by the hash.
package clickgen

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Constants of the peers' generator.
const (
	T0       = int64(1_700_000_000_000) // epoch ms, deliberately not window-aligned
	HourMs   = int64(3_600_000)
	WindowMs = int64(300_000)
	Users    = 100_000
	seed     = uint64(0x5eed)
	golden   = uint64(0x9e3779b97f4a7c15)
)

// TypeNames are the event types by code.
var TypeNames = [3]string{"view", "click", "purchase"}

// Schema of generated batches: the peers' Parquet file has the same columns.
var Schema = arrow.NewSchema([]arrow.Field{
	{Name: "user_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "ts", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "event_type", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// splitmix64's finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Event returns event i of an n-event stream.
func Event(i, n int64) (user, ts int64, typ int) {
	s := seed
	base := s*golden + uint64(i)*3
	user = int64(mix(base) % Users)
	ts = T0 + i*HourMs/n - int64(mix(base+1)%1000)
	typ = int(mix(base+2) % 3)
	return
}

// Batches generates events [0, n) in batches of batchSize rows.
func Batches(mem memory.Allocator, n int64, batchSize int) []arrow.RecordBatch {
	var out []arrow.RecordBatch
	b := array.NewRecordBuilder(mem, Schema)
	defer b.Release()
	for lo := int64(0); lo < n; lo += int64(batchSize) {
		hi := min(lo+int64(batchSize), n)
		ub := b.Field(0).(*array.Int64Builder)
		tb := b.Field(1).(*array.Int64Builder)
		eb := b.Field(2).(*array.StringBuilder)
		ub.Reserve(int(hi - lo))
		tb.Reserve(int(hi - lo))
		eb.Reserve(int(hi - lo))
		for i := lo; i < hi; i++ {
			u, ts, ty := Event(i, n)
			ub.UnsafeAppend(u)
			tb.UnsafeAppend(ts)
			eb.Append(TypeNames[ty])
		}
		out = append(out, b.NewRecordBatch())
	}
	return out
}

// Expected computes the job's answer directly (groups, total, max), as the
// independent check of the engine's result.
func Expected(n int64) (groups, total, maxCount int64) {
	counts := make(map[[2]int64]int64)
	for i := int64(0); i < n; i++ {
		u, ts, ty := Event(i, n)
		if ty != 0 {
			continue
		}
		counts[[2]int64{u, ts - ts%WindowMs}]++
	}
	for _, c := range counts {
		total += c
		maxCount = max(maxCount, c)
	}
	return int64(len(counts)), total, maxCount
}
