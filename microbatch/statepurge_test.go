package microbatch_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sources/rate"
	"github.com/sluicehq/sluice/wal"
)

// runAggBatches runs a rate-micro-batch aggregation on ckpt until batch
// until has committed.
func runAggBatches(t *testing.T, ckpt string, until int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	src, err := rate.New(rate.Options{RowsPerBatch: 5, Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	s := dataframe.NewSessionWith(dataframe.Config{Allocator: mem, ShufflePartitions: 2})
	df := s.ReadStream(src).GroupBy(dataframe.Expr("value % 7 AS k")).Agg(dataframe.Count("*").As("n"))
	ck, err := microbatch.OpenCheckpointWith(ctx, ckpt, wal.Options{MinBatchesToRetain: 3})
	if err != nil {
		t.Fatal(err)
	}
	reached := make(chan struct{}, 1)
	q, err := microbatch.Start(ctx, microbatch.Config{Plan: df.Plan(), Sink: &discardSink{}, Mode: sinks.Update,
		Checkpoint: ck, Mem: mem, ShufflePartitions: 2, Listeners: []microbatch.Listener{microbatch.ListenerFuncs{Progress: func(e microbatch.ProgressEvent) {
			if e.Progress.BatchID >= until {
				select {
				case reached <- struct{}{}:
				default:
				}
			}
		}}}})
	if err != nil {
		ck.Close()
		t.Fatal(err)
	}
	select {
	case <-reached:
	case <-q.Done():
		t.Fatalf("query stopped: %v", q.Exception())
	case <-ctx.Done():
		t.Fatal("timed out")
	}
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// stateFiles counts the delta and snapshot files of each store
// directory under state/.
func stateFiles(t *testing.T, ckpt string) (dirs int, maxFiles int) {
	t.Helper()
	err := filepath.WalkDir(filepath.Join(ckpt, "state"), func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		ents, _ := os.ReadDir(p)
		n := 0
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".delta") || strings.HasSuffix(e.Name(), ".snapshot") {
				n++
			}
		}
		if n > 0 {
			dirs++
			maxFiles = max(maxFiles, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs, maxFiles
}

// State versions are purged with the logs (every few batches, in the
// background): the state directory stays bounded, and a restart still
// restores and continues.
func TestStatePurgedWithLogs(t *testing.T) {
	ckpt := t.TempDir()
	runAggBatches(t, ckpt, 45)
	dirs, most := stateFiles(t, ckpt)
	if dirs != 2 {
		t.Fatalf("state store directories: %d, want 2 (one per partition)", dirs)
	}
	// Without purging each store would hold ~46 deltas and 4 snapshots.
	// Kept: what the 3 retained batches need, back to a snapshot (one
	// snapshot interval of deltas), plus up to one purge period.
	if most > 25 {
		t.Errorf("a state store keeps %d files after 46 batches with 3 retained; want them purged", most)
	}
	runAggBatches(t, ckpt, 60)
}
