package files

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"

	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sinks"
	sinkfiles "github.com/sluicehq/sluice/sinks/files"
	"github.com/sluicehq/sluice/sources"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchBatches makes n rows of (int64, float64, string) in 64Ki batches,
// as the sink benchmark writes them.
func benchBatches(mem memory.Allocator, n int) []arrow.RecordBatch {
	words := []string{"view", "click", "purchase", "scroll", "hover", "share", "like", "comment"}
	var recs []arrow.RecordBatch
	for lo := 0; lo < n; lo += 64 * 1024 {
		hi := min(n, lo+64*1024)
		ib := array.NewInt64Builder(mem)
		fb := array.NewFloat64Builder(mem)
		sb := array.NewStringBuilder(mem)
		for i := lo; i < hi; i++ {
			ib.Append(int64(i))
			fb.Append(float64(i%1000) * 0.25)
			sb.Append(words[(i*7)%len(words)])
		}
		cols := []arrow.Array{ib.NewArray(), fb.NewArray(), sb.NewArray()}
		recs = append(recs, array.NewRecordBatch(pqSchema, cols, int64(hi-lo)))
		for _, c := range cols {
			c.Release()
		}
		ib.Release()
		fb.Release()
		sb.Release()
	}
	return recs
}

// BenchmarkSourceParquet reads back what the file sink wrote: 8 batches
// of 1Mi rows of (int64, float64, string), snappy Parquet on local disk.
//
//   - source: the file source's LatestOffset + GetBatch, counting the rows
//     of the Arrow batches it returns.
//   - parquet-go: the baseline, in the same run: parquet-go's own
//     columnar read of the same files (every page of every column chunk
//     read, decompressed and decoded by ReadPage, its typed values taken
//     from Data()), building no Arrow arrays.
//
// Reported per row, by wall and by CPU time. Run on one core, the two
// alternating: taskset -c 0 go test ./sources/files -run '^$' -bench
// SourceParquet -count 5.
func BenchmarkSourceParquet(b *testing.B) {
	ctx := context.Background()
	mem := memory.DefaultAllocator
	dir := b.TempDir()
	sink, err := sinkfiles.New(sinkfiles.Options{Path: dir, Mem: mem})
	if err != nil {
		b.Fatal(err)
	}
	recs := benchBatches(mem, 1<<20)
	const files = 8
	for i := 0; i < files; i++ {
		rr, _ := array.NewRecordReader(pqSchema, recs)
		if err := sink.AddBatch(ctx, int64(i), sinks.Append, rr); err != nil {
			b.Fatal(err)
		}
		rr.Release()
	}
	for _, r := range recs {
		r.Release()
	}
	report := func(b *testing.B, total int64, cpu0 time.Duration) {
		b.ReportMetric(float64(total)/b.Elapsed().Seconds()/1e6, "Mrows/s")
		if cpu := cpuTime() - cpu0; cpu > 0 {
			b.ReportMetric(float64(total)/cpu.Seconds()/1e6, "Mrows/cpu-s")
		}
	}
	b.Run("source", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := cpuTime()
		var total int64
		for i := 0; i < b.N; i++ {
			s, err := New(ctx, Options{Path: dir, Format: "parquet", Schema: "id BIGINT, x DOUBLE, s STRING", Mem: mem})
			if err != nil {
				b.Fatal(err)
			}
			if err := s.SetCheckpoint(ctx, storage.NewMem(), "/ckpt"); err != nil {
				b.Fatal(err)
			}
			end, err := s.LatestOffset(ctx, nil, sources.ReadLimit{})
			if err != nil {
				b.Fatal(err)
			}
			rr, err := s.GetBatch(ctx, nil, end)
			if err != nil {
				b.Fatal(err)
			}
			var rows int64
			for rr.Next() {
				rows += rr.RecordBatch().NumRows()
			}
			if err := rr.Err(); err != nil {
				b.Fatal(err)
			}
			rr.Release()
			if rows != files<<20 {
				b.Fatalf("read %d rows, want %d", rows, files<<20)
			}
			total += rows
		}
		report(b, total, cpu0)
	})
	b.Run("parquet-go", func(b *testing.B) {
		names, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
		if err != nil || len(names) != files {
			b.Fatalf("files %v: %v", names, err)
		}
		b.ReportAllocs()
		cpu0 := cpuTime()
		var total int64
		var sink64 int64
		for i := 0; i < b.N; i++ {
			var rows int64
			for _, name := range names {
				f, err := os.Open(name)
				if err != nil {
					b.Fatal(err)
				}
				st, _ := f.Stat()
				pf, err := parquet.OpenFile(f, st.Size())
				if err != nil {
					b.Fatal(err)
				}
				for _, rg := range pf.RowGroups() {
					rows += rg.NumRows()
					for c, cc := range rg.ColumnChunks() {
						pages := cc.Pages()
						for {
							pg, err := pages.ReadPage()
							if err == io.EOF {
								break
							}
							if err != nil {
								b.Fatal(err)
							}
							// ReadPage decompressed and decoded the page;
							// take its typed values as a reader would.
							d := pg.Data()
							switch c {
							case 0:
								sink64 += int64(len(d.Int64()))
							case 1:
								sink64 += int64(len(d.Double()))
							default:
								if pg.Dictionary() != nil {
									// dictionary indexes (the sink
									// dictionary-encodes repeated strings)
									sink64 += int64(len(d.Int32()))
								} else {
									data, offs := d.ByteArray()
									sink64 += int64(len(data) + len(offs))
								}
							}
							parquet.Release(pg)
						}
						pages.Close()
					}
				}
				f.Close()
			}
			if rows != files<<20 || sink64 == 0 {
				b.Fatalf("read %d rows, want %d", rows, files<<20)
			}
			total += rows
		}
		report(b, total, cpu0)
	})
}
