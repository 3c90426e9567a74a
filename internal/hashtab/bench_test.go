package hashtab

import (
	"fmt"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Benchmarks; run on one core:
//
//	taskset -c 0 go test -run x -bench . -cpu 1 ./internal/hashtab/

const benchBatch = 64 << 10

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// clicks is the benchmark job's aggregation input: of 10M click events over
// one hour (user_id uniform in [0, 100000), timestamps increasing with up
// to 1 s of disorder), the third that are views, as (user_id, 5-minute
// window start) in batches of 64Ki rows. About 3.3M rows, 1.18M groups.
type clicksData struct {
	batches [][2]arrow.Array
	rows    int
}

var clicksOnce = sync.OnceValue(func() *clicksData {
	const events = 10_000_000
	const t0 = int64(1_700_000_000_000)
	var users, wins []int64
	for i := uint64(0); i < events; i++ {
		if splitmix(i*3+2)%3 != 0 {
			continue
		}
		ts := t0 + int64(i)*3_600_000/events - int64(splitmix(i*3+1)%1000)
		users = append(users, int64(splitmix(i*3)%100_000))
		wins = append(wins, ts-ts%300_000)
	}
	d := &clicksData{rows: len(users)}
	for lo := 0; lo < len(users); lo += benchBatch {
		hi := min(lo+benchBatch, len(users))
		d.batches = append(d.batches, [2]arrow.Array{int64s(users[lo:hi]), int64s(wins[lo:hi])})
	}
	return d
})

func int64s(v []int64) arrow.Array {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(v, nil)
	return b.NewArray()
}

// cpuTime is the process's user+system CPU time: on a shared machine it is
// a steadier measure than wall time for a single-threaded benchmark.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchCPU wraps b.Loop, reporting rows per second of wall and CPU time.
func benchCPU(b *testing.B, rowsPerOp int, body func()) {
	var cpu time.Duration
	for b.Loop() {
		c0 := cpuTime()
		body()
		cpu += cpuTime() - c0
	}
	total := float64(rowsPerOp) * float64(b.N)
	b.ReportMetric(total/b.Elapsed().Seconds()/1e6, "Mrows/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/row")
	b.ReportMetric(float64(cpu.Nanoseconds())/total, "cpu-ns/row")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkClicksInsert is GROUP BY (user_id, window) over the clicks job:
// a fresh Grouper per iteration, fed every batch.
func BenchmarkClicksInsert(b *testing.B) {
	d := clicksOnce()
	for _, reserve := range []int{0, 1_200_000} {
		b.Run(fmt.Sprintf("reserve=%d", reserve), func(b *testing.B) {
			gids := make([]uint32, benchBatch)
			var groups int
			benchCPU(b, d.rows, func() {
				g, err := New([]arrow.DataType{i64, i64}, nil)
				if err != nil {
					b.Fatal(err)
				}
				g.Reserve(reserve)
				for _, bt := range d.batches {
					if err := g.Insert(bt[:], gids[:bt[0].Len()]); err != nil {
						b.Fatal(err)
					}
				}
				groups = g.Len()
			})
			b.ReportMetric(float64(groups), "groups")
		})
	}
}

// BenchmarkInt64Key groups the clicks' 3.3M user ids (100k distinct: the
// peers' "100k cardinality" case), and 3.3M random ids with 2M distinct,
// on the single-key path.
func BenchmarkInt64Key(b *testing.B) {
	d := clicksOnce()
	for _, card := range []int{100_000, 2_000_000, -2_000_000} {
		var batches []arrow.Array
		rows := 0
		for bi, bt := range d.batches {
			a := bt[0]
			if card != 100_000 {
				v := make([]int64, a.Len())
				for i := range v {
					v[i] = int64(splitmix(uint64(bi<<20+i)) % uint64(abs(card)))
					if card < 0 { // keys beyond 32 bits: 16-byte slots
						v[i] += 1 << 40
					}
				}
				a = int64s(v)
				defer a.Release()
			}
			batches = append(batches, a)
			rows += a.Len()
		}
		name := fmt.Sprintf("card=%d", card)
		if card < 0 {
			name = fmt.Sprintf("card=%d/wide", -card)
		}
		b.Run(name, func(b *testing.B) {
			gids := make([]uint32, benchBatch)
			var groups int
			benchCPU(b, rows, func() {
				g, _ := New([]arrow.DataType{i64}, nil)
				for _, bt := range batches {
					if err := g.Insert([]arrow.Array{bt}, gids[:bt.Len()]); err != nil {
						b.Fatal(err)
					}
				}
				groups = g.Len()
			})
			b.ReportMetric(float64(groups), "groups")
		})
	}
}

// BenchmarkPairUnclustered groups the clicks rows with the window column
// shuffled: no clustering, so the flat two-column table does the work.
func BenchmarkPairUnclustered(b *testing.B) {
	d := clicksOnce()
	var batches [][2]arrow.Array
	for bi, bt := range d.batches {
		users := bt[0].(*array.Int64).Int64Values()
		wins := make([]int64, len(users))
		for i := range wins {
			wins[i] = int64(splitmix(uint64(bi<<20+i))%13) * 300_000
		}
		w := int64s(wins)
		defer w.Release()
		batches = append(batches, [2]arrow.Array{bt[0], w})
	}
	for _, reserve := range []int{0, 1_300_000} {
		b.Run(fmt.Sprintf("reserve=%d", reserve), func(b *testing.B) {
			gids := make([]uint32, benchBatch)
			var groups int
			benchCPU(b, d.rows, func() {
				g, _ := New([]arrow.DataType{i64, i64}, nil)
				g.Reserve(reserve)
				for _, bt := range batches {
					if err := g.Insert(bt[:], gids[:bt[0].Len()]); err != nil {
						b.Fatal(err)
					}
				}
				groups = g.Len()
			})
			b.ReportMetric(float64(groups), "groups")
		})
	}
}

// BenchmarkClicksLookup probes the full table (every key present), the
// shape of a hash join's probe side.
func BenchmarkClicksLookup(b *testing.B) {
	d := clicksOnce()
	g, _ := New([]arrow.DataType{i64, i64}, nil)
	gids := make([]uint32, benchBatch)
	for _, bt := range d.batches {
		_ = g.Insert(bt[:], gids[:bt[0].Len()])
	}
	benchCPU(b, d.rows, func() {
		for _, bt := range d.batches {
			if err := g.Lookup(bt[:], gids[:bt[0].Len()]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkClicksKeys emits the 1.18M groups' key columns.
func BenchmarkClicksKeys(b *testing.B) {
	d := clicksOnce()
	g, _ := New([]arrow.DataType{i64, i64}, nil)
	gids := make([]uint32, benchBatch)
	for _, bt := range d.batches {
		_ = g.Insert(bt[:], gids[:bt[0].Len()])
	}
	benchCPU(b, g.Len(), func() {
		keys, err := g.Keys(memory.DefaultAllocator, nil)
		if err != nil {
			b.Fatal(err)
		}
		releaseAll(keys)
	})
}

// stringBatches makes batches of a string key with card distinct values
// (10 to 16 bytes each), plain or dictionary encoded.
func stringBatches(rows, card int, dict bool) []arrow.Array {
	var out []arrow.Array
	for lo := 0; lo < rows; lo += benchBatch {
		n := min(benchBatch, rows-lo)
		if dict {
			db := array.NewStringBuilder(memory.DefaultAllocator)
			for k := range card {
				db.Append("customer-" + strconv.Itoa(k*7919%1_000_003))
			}
			dv := db.NewArray()
			db.Release()
			ib := array.NewInt32Builder(memory.DefaultAllocator)
			for i := range n {
				ib.Append(int32(splitmix(uint64(lo+i)) % uint64(card)))
			}
			ix := ib.NewArray()
			ib.Release()
			out = append(out, array.NewDictionaryArray(dictStringType, ix, dv))
			dv.Release()
			ix.Release()
			continue
		}
		sb := array.NewStringBuilder(memory.DefaultAllocator)
		for i := range n {
			k := splitmix(uint64(lo+i)) % uint64(card)
			sb.Append("customer-" + strconv.Itoa(int(k)*7919%1_000_003))
		}
		out = append(out, sb.NewArray())
		sb.Release()
	}
	return out
}

func BenchmarkStringKey(b *testing.B) {
	const rows = 2 << 20
	for _, tc := range []struct {
		name string
		card int
		dict bool
	}{{"card=1000", 1000, false}, {"card=1000/dict", 1000, true}, {"card=1M", 1 << 20, false}} {
		b.Run(tc.name, func(b *testing.B) {
			batches := stringBatches(rows, tc.card, tc.dict)
			defer releaseAll(batches)
			gids := make([]uint32, benchBatch)
			g, _ := New([]arrow.DataType{batches[0].DataType()}, nil)
			benchCPU(b, rows, func() {
				g.Reset()
				for _, bt := range batches {
					if err := g.Insert([]arrow.Array{bt}, gids[:bt.Len()]); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkGeneric3 groups by (int32 in [0,100), string of 100 values,
// float64 of 10 values): up to 100k groups through the general path.
func BenchmarkGeneric3(b *testing.B) {
	const rows = 1 << 20
	var batches [][]arrow.Array
	strs := stringBatches(rows, 100, false)
	for bi, lo := 0, 0; lo < rows; bi, lo = bi+1, lo+benchBatch {
		n := min(benchBatch, rows-lo)
		ib := array.NewInt32Builder(memory.DefaultAllocator)
		fb := array.NewFloat64Builder(memory.DefaultAllocator)
		for i := range n {
			r := splitmix(uint64(lo+i) ^ 0xabc)
			ib.Append(int32(r % 100))
			fb.Append(float64(r>>32%10) / 2)
		}
		batches = append(batches, []arrow.Array{ib.NewArray(), strs[bi], fb.NewArray()})
		ib.Release()
		fb.Release()
	}
	defer func() {
		for _, bt := range batches {
			releaseAll(bt)
		}
	}()
	gids := make([]uint32, benchBatch)
	g, _ := New([]arrow.DataType{i32, str, f64}, nil)
	benchCPU(b, rows, func() {
		g.Reset()
		for _, bt := range batches {
			if err := g.Insert(bt, gids[:bt[0].Len()]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(g.Len()), "groups")
}

func BenchmarkHashColumns(b *testing.B) {
	d := clicksOnce()
	strs := stringBatches(benchBatch, 1000, false)
	defer releaseAll(strs)
	dicts := stringBatches(benchBatch, 1000, true)
	defer releaseAll(dicts)
	out := make([]uint64, benchBatch)
	for _, tc := range []struct {
		name string
		cols []arrow.Array
	}{
		{"int64", d.batches[0][:1]},
		{"int64x2", d.batches[0][:]},
		{"string", strs[:1]},
		{"string/dict", dicts[:1]},
	} {
		b.Run(tc.name, func(b *testing.B) {
			benchCPU(b, tc.cols[0].Len(), func() {
				if err := HashColumns(tc.cols, out[:tc.cols[0].Len()]); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func abs(x int) int { return max(x, -x) }
