package fileformat

import (
	"context"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

const peersEvents10M = "/work/peers/data/events_10M.parquet"

// BenchmarkParquetReadEvents10M reads all three columns of the peers'
// 10M-row file (pqarrow-written, dictionary-encoded, snappy) into Arrow
// batches. Reported as rows/s.
func BenchmarkParquetReadEvents10M(b *testing.B) {
	if _, err := os.Stat(peersEvents10M); err != nil {
		b.Skipf("%s not present (cd /work/peers && ./bin/gen -n 10000000 -o data/events_10M.parquet)", peersEvents10M)
	}
	ctx := context.Background()
	var rows int64
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := pqCPUTime()
	for i := 0; i < b.N; i++ {
		r, err := Parquet{}.Open(ctx, peersEvents10M, ReadOptions{Mem: memory.DefaultAllocator})
		if err != nil {
			b.Fatal(err)
		}
		rows = 0
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows += rec.NumRows()
			rec.Release()
		}
		r.Close()
	}
	pqReportRate(b, rows*int64(b.N), cpu0)
}

// pqCPUTime is the process's user+system CPU time. On a shared machine the
// benchmark's wall time includes other processes' turns on the core;
// CPU time does not (run with taskset -c 0 so every thread, GC included,
// is on one core).
func pqCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func pqReportRate(b *testing.B, rows int64, cpu0 time.Duration) {
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds()/1e6, "Mrows/s")
	if cpu := pqCPUTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(rows)/cpu.Seconds()/1e6, "Mrows/cpu-s")
	}
}

// BenchmarkParquetWrite writes 1M rows of (int64, float64, string) with
// snappy to an in-memory sink, with required and with nullable columns.
func BenchmarkParquetWrite(b *testing.B) {
	for _, nullable := range []bool{false, true} {
		name := "required"
		if nullable {
			name = "nullable"
		}
		b.Run(name, func(b *testing.B) { benchParquetWrite(b, nullable) })
	}
}

func benchParquetWrite(b *testing.B, nullable bool) {
	mem := memory.DefaultAllocator
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: nullable},
		{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: nullable},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: nullable},
	}, nil)
	const n = 1 << 20
	const batch = 64 * 1024
	words := []string{"view", "click", "purchase", "scroll", "hover", "share", "like", "comment"}
	var recs []arrow.RecordBatch
	for lo := 0; lo < n; lo += batch {
		ib := array.NewInt64Builder(mem)
		fb := array.NewFloat64Builder(mem)
		sb := array.NewStringBuilder(mem)
		for i := lo; i < lo+batch; i++ {
			ib.Append(int64(i))
			fb.Append(float64(i%1000) * 0.25)
			sb.Append(words[(i*7)%len(words)])
		}
		cols := []arrow.Array{ib.NewArray(), fb.NewArray(), sb.NewArray()}
		recs = append(recs, array.NewRecordBatch(schema, cols, batch))
		for _, c := range cols {
			c.Release()
		}
		ib.Release()
		fb.Release()
		sb.Release()
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := pqCPUTime()
	for i := 0; i < b.N; i++ {
		w, err := Parquet{}.NewWriter(io.Discard, schema, WriteOptions{Mem: mem})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range recs {
			if err := w.Write(r); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	pqReportRate(b, int64(n)*int64(b.N), cpu0)
}
