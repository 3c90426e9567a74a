package fileformat

import (
	"context"
	"io"
	"os"
	"testing"

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
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrows/s")
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
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrows/s")
}
