package files

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sinks"
)

var flagManifest100k = flag.Bool("files.manifest100k", false,
	"run TestManifestCompactAt100kWithin2x (about a minute: builds a 100,000-batch manifest on local disk)")

// TestManifestCompactAt100kWithin2x asserts the bound: with
// 99,998 batches in the manifest (default geometry: compact every 10,
// sealed pages of 1000 batches), the batch that closes the ranges at
// batch 100,000 (id 99,999) takes less than twice as long as the ordinary
// batch before it. Each writes 10,000 rows to local disk. Behind a flag:
//
//	go test ./sinks/files -run Manifest100k -files.manifest100k -v
//
// Medians of 7 rounds of CPU time decide (fsync latency on a shared disk
// is noise the sink does not cause); wall times are logged beside them.
func TestManifestCompactAt100kWithin2x(t *testing.T) {
	if !*flagManifest100k {
		t.Skip("needs -files.manifest100k (about a minute)")
	}
	const n = 100_000
	ctx := context.Background()
	dir := t.TempDir()
	genManifest(t, dir, n-2, 10, 1000)
	logDir := filepath.Join(dir, fileformat.ManifestDir)
	snapshot := snapshotDir(t, logDir)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	recs := benchBatches(mem, 10_000)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	var wall, cpu [2][]time.Duration
	for round := 0; round < 7; round++ {
		restoreDir(t, dir, logDir, snapshot)
		s, err := New(Options{Path: dir, Mem: mem})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.LatestBatchID(ctx); err != nil {
			t.Fatal(err)
		}
		// Warm the cache as a long-running sink has it: the bodies of the
		// open (unsealed) ranges.
		for name, o := range s.log.objs {
			if o.First >= n-1000 {
				body, err := s.log.body(ctx, name, o.Compact)
				if err != nil {
					t.Fatal(err)
				}
				s.log.bodies[name] = body
			}
		}
		for k, batch := range []int64{n - 2, n - 1} {
			rr, _ := array.NewRecordReader(benchSchema, recs)
			c0, t0 := cpuTime(), time.Now()
			err := s.AddBatch(ctx, batch, sinks.Append, rr)
			wall[k] = append(wall[k], time.Since(t0))
			cpu[k] = append(cpu[k], cpuTime()-c0)
			rr.Release()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	m, err := fileformat.ReadManifest(ctx, storage.Local{}, dir)
	if err != nil || m.Latest != n-1 || len(m.Files) != n {
		t.Fatalf("after the compacting batch: %+v %v", m != nil && m.Latest == n-1, err)
	}
	med := func(d []time.Duration) time.Duration {
		d = slices.Clone(d)
		slices.Sort(d)
		return d[len(d)/2]
	}
	ratio := float64(med(cpu[1])) / float64(med(cpu[0]))
	t.Logf("ordinary batch %v (cpu %v), compacting batch %v (cpu %v): cpu ratio %.2f, wall ratio %.2f; the reader reads %d manifest objects",
		med(wall[0]), med(cpu[0]), med(wall[1]), med(cpu[1]), ratio, float64(med(wall[1]))/float64(med(wall[0])), len(m.Chain))
	if ratio >= 2 {
		t.Errorf("the compacting batch took %.2fx the CPU of an ordinary batch; the bound is 2x", ratio)
	}
}

// snapshotDir reads every file of dir.
func snapshotDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = data
	}
	return out
}

// restoreDir puts the manifest log back to snapshot and removes the data
// files written since.
func restoreDir(t *testing.T, dir, logDir string, snapshot map[string][]byte) {
	t.Helper()
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
			if err := os.WriteFile(filepath.Join(logDir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, _ := os.ReadDir(dir)
	for _, f := range files {
		if !f.IsDir() {
			os.Remove(filepath.Join(dir, f.Name()))
		}
	}
}
