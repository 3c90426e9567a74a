package files

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sinks"
)

// benchSchema is the benchmark shape: (int64, float64, string).
var benchSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// benchBatches makes n rows in batches of 64Ki: id=i, x=(i%1000)/4, s one
// of eight words (as fileformat's BenchmarkParquetWrite).
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
		recs = append(recs, array.NewRecordBatch(benchSchema, cols, int64(hi-lo)))
		for _, c := range cols {
			c.Release()
		}
		ib.Release()
		fb.Release()
		sb.Release()
	}
	return recs
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportRate reports wall and CPU throughput: on a shared machine the
// wall time includes other processes' turns on the core (run under
// taskset -c 0 so every thread, GC included, shares one core).
func reportRate(b *testing.B, rows int64, cpu0 time.Duration) {
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds()/1e6, "Mrows/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(rows)/cpu.Seconds()/1e6, "Mrows/cpu-s")
	}
}

// BenchmarkSinkParquet writes 1Mi rows per batch (16 Arrow batches of
// 64Ki) through AddBatch, as snappy Parquet: to local disk (the whole
// path: encode, write, fsync, rename, manifest) and to memory.
func BenchmarkSinkParquet(b *testing.B) {
	for _, where := range []string{"local", "mem"} {
		for _, codec := range []string{"snappy", "zstd"} {
			b.Run(where+"/"+codec, func(b *testing.B) {
				mem := memory.DefaultAllocator
				recs := benchBatches(mem, 1<<20)
				defer func() {
					for _, r := range recs {
						r.Release()
					}
				}()
				var fsys storage.FS = storage.Local{}
				dir := b.TempDir()
				if where == "mem" {
					fsys, dir = storage.NewMem(), "/out"
				}
				s, err := New(Options{FS: fsys, Path: dir, Compression: codec, Mem: mem})
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				for i := 0; i < b.N; i++ {
					rr, _ := array.NewRecordReader(benchSchema, recs)
					if err := s.AddBatch(ctx, int64(i), sinks.Append, rr); err != nil {
						b.Fatal(err)
					}
					rr.Release()
					if where == "mem" && i%8 == 7 { // keep memory flat
						b.StopTimer()
						fsys, dir = storage.NewMem(), "/out"
						s, _ = New(Options{FS: fsys, Path: dir, Compression: codec, Mem: mem})
						b.StartTimer()
					}
				}
				reportRate(b, int64(b.N)<<20, cpu0)
			})
		}
	}
}

// manifestLine is the file line of batch n in a generated manifest.
func manifestFiles(n int64) []fileformat.ManifestFile {
	return []fileformat.ManifestFile{{Path: fmt.Sprintf("part-%06d-00000.parquet", n), Size: 123456, Rows: 10000,
		ModTimeMs: 1_700_000_000_000 + n*1000, Batch: n}}
}

// genManifest makes, in dir on local disk, the manifest log a sink has
// after committing batches 0..n-1 with one file each: the real manifest
// writer runs against memory (no fsync per batch) and its objects are
// copied to disk. Data files are not created (nothing reads them here).
func genManifest(tb testing.TB, dir string, n, interval, maxSpan int64) {
	tb.Helper()
	ctx := context.Background()
	m := storage.NewMem()
	l := newManifestLog(m, "/o", interval, maxSpan)
	if err := l.load(ctx); err != nil {
		tb.Fatal(err)
	}
	for b := int64(0); b < n; b++ {
		if err := l.commit(ctx, b, manifestFiles(b)); err != nil {
			tb.Fatal(err)
		}
	}
	ents, err := m.List(ctx, "/o/_sluice_log")
	if err != nil {
		tb.Fatal(err)
	}
	logDir := filepath.Join(dir, fileformat.ManifestDir)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		tb.Fatal(err)
	}
	for _, e := range ents {
		data, err := m.ReadFile(ctx, "/o/_sluice_log/"+e.Name)
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(logDir, e.Name), data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestGenManifestMatchesSink checks the benchmark's generator against a
// sink that really wrote the batches.
func TestGenManifestMatchesSink(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	genManifest(t, filepath.Join(dir, "gen"), 357, 3, 27)
	m := storage.NewMem()
	s, _ := New(Options{FS: m, Path: "/real", Mem: mem, ManifestCompactInterval: 3, ManifestMaxCompactBatches: 27})
	for b := int64(0); b < 357; b++ {
		if err := addBatch(t, s, mem, b, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	gen := logNames(t, storage.Local{}, filepath.Join(dir, "gen"))
	real := logNames(t, m, "/real")
	if fmt.Sprint(gen) != fmt.Sprint(real) {
		t.Errorf("generated log %v\nreal log      %v", gen, real)
	}
}

// BenchmarkManifestCompactAt100k times AddBatch of batch 99,999 (the
// 100,000th batch, which closes ranges at every level) against the
// ordinary batch before it (99,998), each writing 10,000 rows of
// (int64, float64, string) to local disk, with 99,998 batches already in
// the manifest. Each iteration runs both, in order, from the same state;
// the medians are reported (fsync latency on a shared disk is noisy).
// "bounded" is the sink's default (sealed pages of 1000 batches);
// "unbounded" lets compacts grow to 100,000 batches: the cost of Spark's
// every-10th-batch rewrite of the whole log.
func BenchmarkManifestCompactAt100k(b *testing.B) {
	const n = 100_000
	for _, variant := range []struct {
		name    string
		maxSpan int64
	}{{"bounded", 1000}, {"unbounded", 100_000}} {
		b.Run(variant.name, func(b *testing.B) {
			dir := b.TempDir()
			genManifest(b, dir, n-2, 10, variant.maxSpan)
			logDir := filepath.Join(dir, fileformat.ManifestDir)
			snapshot := map[string][]byte{}
			ents, _ := os.ReadDir(logDir)
			for _, e := range ents {
				data, _ := os.ReadFile(filepath.Join(logDir, e.Name()))
				snapshot[e.Name()] = data
			}
			// reset puts the log back to the state before batch n-2 and
			// drops data files.
			reset := func() {
				ents, _ := os.ReadDir(logDir)
				have := map[string]bool{}
				for _, e := range ents {
					have[e.Name()] = true
					if _, ok := snapshot[e.Name()]; !ok {
						os.Remove(filepath.Join(logDir, e.Name()))
					}
				}
				for name, data := range snapshot {
					if !have[name] {
						os.WriteFile(filepath.Join(logDir, name), data, 0o644)
					}
				}
				files, _ := os.ReadDir(dir)
				for _, f := range files {
					if !f.IsDir() {
						os.Remove(filepath.Join(dir, f.Name()))
					}
				}
			}
			mem := memory.DefaultAllocator
			recs := benchBatches(mem, 10_000)
			defer func() {
				for _, r := range recs {
					r.Release()
				}
			}()
			ctx := context.Background()
			var wall, cpu [2][]time.Duration
			run := func(s *Sink, batch int64, k int) {
				rr, _ := array.NewRecordReader(benchSchema, recs)
				defer rr.Release()
				c0, t0 := cpuTime(), time.Now()
				b.StartTimer()
				if err := s.AddBatch(ctx, batch, sinks.Append, rr); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				wall[k] = append(wall[k], time.Since(t0))
				cpu[k] = append(cpu[k], cpuTime()-c0)
			}
			b.StopTimer()
			for i := 0; i < b.N; i++ {
				reset()
				s, err := New(Options{Path: dir, Mem: mem, ManifestMaxCompactBatches: variant.maxSpan})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.LatestBatchID(ctx); err != nil {
					b.Fatal(err)
				}
				// Warm the cache as a long-running sink has it: the
				// bodies of the open (unsealed) ranges.
				for name, o := range s.log.objs {
					if o.First >= n-variant.maxSpan {
						body, err := s.log.body(ctx, name, o.Compact)
						if err != nil {
							b.Fatal(err)
						}
						s.log.bodies[name] = body
					}
				}
				run(s, n-2, 0)
				run(s, n-1, 1)
			}
			m, err := fileformat.ReadManifest(ctx, storage.Local{}, dir)
			if err != nil || m.Latest != n-1 || len(m.Files) != n {
				b.Fatalf("after the compacting batch: latest %d, %d files, %v", m.Latest, len(m.Files), err)
			}
			med := func(d []time.Duration) float64 {
				d = slices.Clone(d)
				slices.Sort(d)
				return float64(d[len(d)/2]) / 1e6
			}
			b.ReportMetric(med(wall[0]), "ordinary-ms")
			b.ReportMetric(med(wall[1]), "compacting-ms")
			b.ReportMetric(med(wall[1])/med(wall[0]), "ratio")
			b.ReportMetric(med(cpu[0]), "ordinary-cpu-ms")
			b.ReportMetric(med(cpu[1]), "compacting-cpu-ms")
			b.ReportMetric(float64(len(m.Chain)), "readerObjects")
		})
	}
}
