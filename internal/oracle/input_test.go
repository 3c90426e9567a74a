package oracle

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// inputSchema is the schema of every input stream: a string key k (with
// NULLs), a small integer key g, a value v (with NULLs), a string s for
// distinct counts and sets, and the event time ts (with a few NULLs).
var inputSchema = arrow.NewSchema([]arrow.Field{
	{Name: "k", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "g", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ts", Type: expr.Timestamp, Nullable: true},
}, nil)

// event is one input row; nil pointers are NULLs.
type event struct {
	k  *string
	g  int64
	v  *int64
	s  *string
	ts *int64 // µs since the epoch
}

// t0 is where event time starts.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()

// scenario is one seeded run's input: per input stream its rows in
// arrival order, cut into the same number of chunks; micro-batch b reads
// chunk b of every stream. It also fixes the engine's knobs for the run.
type scenario struct {
	seed       uint64
	inputs     [][]event
	cuts       [][]int // chunk c of input i is inputs[i][cuts[i][c]:cuts[i][c+1]]
	chunks     int
	partitions int // shuffle partitions (fixed in the checkpoint)
	batchSize  int // rows per Arrow batch inside operators
	retain     int // minBatchesToRetain: small values make purges (and restores from snapshots) frequent
}

// newScenario draws a scenario from seed for a case with n inputs.
func newScenario(seed uint64, n int) *scenario { return drawScenario(seed, n, false) }

// newCrashScenario draws a scenario with more chunks, so that a run has
// room for many kills.
func newCrashScenario(seed uint64, n int) *scenario { return drawScenario(seed, n, true) }

func drawScenario(seed uint64, n int, crash bool) *scenario {
	rng := rand.New(rand.NewPCG(seed, seed^0x0ac1e))
	sc := &scenario{seed: seed,
		partitions: 1 + rng.IntN(3),
		batchSize:  []int{3, 16, 1000, 65536}[rng.IntN(4)],
		retain:     []int{2, 3, 7, 100}[rng.IntN(4)],
	}
	sc.chunks = 1 + rng.IntN(30)
	if rng.IntN(10) == 0 {
		sc.chunks = 1 + rng.IntN(3)
	}
	if crash {
		sc.chunks = 20 + rng.IntN(40)
	}
	for range n {
		rows := genEvents(rng, crash)
		sc.inputs = append(sc.inputs, rows)
		sc.cuts = append(sc.cuts, cutPoints(rng, len(rows), sc.chunks))
	}
	return sc
}

// genEvents draws rows in arrival order. Arrival time moves forward about
// a second a row (with jumps); event time trails it by a random disorder,
// and a few rows are very late, have no event time, or sit exactly on a
// window boundary.
func genEvents(rng *rand.Rand, many bool) []event {
	n := rng.IntN(300)
	switch {
	case many:
		n = 100 + rng.IntN(300)
	case rng.IntN(8) == 0:
		n = rng.IntN(6)
	}
	disorder := rng.Int64N(8_000_000) + 1 // µs
	lateFrac := rng.Float64() * 0.12
	nullTsFrac := rng.Float64() * 0.03
	keys := []string{"a", "b", "c", "d", "e", "f"}[:1+rng.IntN(6)]
	now := t0 + rng.Int64N(3_600_000_000)
	maxTs := int64(0)
	out := make([]event, n)
	for i := range out {
		now += rng.Int64N(2_000_001)
		if rng.IntN(50) == 0 {
			now += 30_000_000 + rng.Int64N(90_000_000) // a jump closes many windows at once
		}
		e := event{g: rng.Int64N(4)}
		if rng.IntN(20) != 0 {
			e.k = ptr(keys[rng.IntN(len(keys))])
		}
		if rng.IntN(10) != 0 {
			e.v = ptr(rng.Int64N(151) - 50)
		}
		if rng.IntN(15) != 0 {
			e.s = ptr(fmt.Sprintf("s%d", rng.IntN(25)))
		}
		if rng.Float64() >= nullTsFrac {
			ts := now - rng.Int64N(disorder)
			if rng.Float64() < lateFrac {
				ts = now - 5_000_000 - rng.Int64N(60_000_000)
			}
			switch rng.IntN(20) {
			case 0, 1, 2, 3:
				ts -= ts % 5_000_000 // on a window boundary
			case 4:
				// keep µs
			case 5:
				// Exactly at the watermark, for the usual delays, when the
				// maximum so far is the one of earlier batches.
				if maxTs > 0 {
					ts = maxTs/1000*1000 - []int64{1, 2, 3, 5, 10}[rng.IntN(5)]*1_000_000
				}
			default:
				ts -= ts % 1000 // whole milliseconds
			}
			e.ts = &ts
			maxTs = max(maxTs, ts)
		}
		out[i] = e
	}
	return out
}

// cutPoints cuts n rows into chunks pieces at random (empty ones too).
func cutPoints(rng *rand.Rand, n, chunks int) []int {
	cuts := []int{0, n}
	for range chunks - 1 {
		cuts = append(cuts, rng.IntN(n+1))
	}
	slices.Sort(cuts)
	return cuts
}

func ptr[T any](v T) *T { return &v }

// chunk is input i's rows of chunk c.
func (sc *scenario) chunk(i, c int) []event {
	return sc.inputs[i][sc.cuts[i][c]:sc.cuts[i][c+1]]
}

// record builds an Arrow batch of rows; the caller releases it.
func record(mem memory.Allocator, rows []event) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, inputSchema)
	defer b.Release()
	k := b.Field(0).(*array.StringBuilder)
	g := b.Field(1).(*array.Int64Builder)
	v := b.Field(2).(*array.Int64Builder)
	s := b.Field(3).(*array.StringBuilder)
	ts := b.Field(4).(*array.TimestampBuilder)
	for _, e := range rows {
		appendOpt(k, e.k)
		g.Append(e.g)
		appendOpt(v, e.v)
		appendOpt(s, e.s)
		if e.ts == nil {
			ts.AppendNull()
		} else {
			ts.Append(arrow.Timestamp(*e.ts))
		}
	}
	return b.NewRecordBatch()
}

func appendOpt[T any, B interface {
	Append(T)
	AppendNull()
}](b B, v *T) {
	if v == nil {
		b.AppendNull()
	} else {
		b.Append(*v)
	}
}

// watermarks replays the engine's watermark over the chunks, for inputs
// that each carry WithWatermark("ts", delay): wm[c] is the watermark (µs,
// 0 while there is none) of the micro-batch reading chunk c, and
// wm[chunks] the one after the last chunk, which a final no-data batch
// runs with. As the engine computes it: per input the largest event time
// seen, in whole milliseconds, minus the delay; the minimum over inputs,
// held back until every input has seen an event time; never moving back;
// computed at the end of a batch and used by the next.
func (sc *scenario) watermarks(delay time.Duration) []int64 {
	wm := make([]int64, sc.chunks+1)
	maxMs := make([]int64, len(sc.inputs))
	seen := make([]bool, len(sc.inputs))
	cur := int64(0) // ms
	for c := 0; c < sc.chunks; c++ {
		wm[c] = cur * 1000
		for i := range sc.inputs {
			for _, e := range sc.chunk(i, c) {
				if e.ts == nil {
					continue
				}
				if ms := *e.ts / 1000; !seen[i] || ms > maxMs[i] {
					maxMs[i] = ms
				}
				seen[i] = true
			}
		}
		if !slices.Contains(seen, false) {
			next := slices.Min(maxMs) - delay.Milliseconds()
			if next > cur {
				cur = next
			}
		}
	}
	wm[sc.chunks] = cur * 1000
	return wm
}

func (sc *scenario) String() string {
	rows := 0
	for _, in := range sc.inputs {
		rows += len(in)
	}
	return fmt.Sprintf("seed %d: %d rows in %d chunks, %d shuffle partitions, batch size %d, minBatchesToRetain %d",
		sc.seed, rows, sc.chunks, sc.partitions, sc.batchSize, sc.retain)
}
