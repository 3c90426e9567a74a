package microbatch_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sources/rate"
	"github.com/sluicehq/sluice/wal"
)

// logIDs lists the batch ids of a log directory.
func logIDs(t *testing.T, dir string) []int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, e := range ents {
		if id, ok := wal.ParseID(e.Name()); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// runBatches runs a rate-micro-batch query (the rate rows as they are)
// on ckpt until batch until has committed, then stops it.
func runBatches(t *testing.T, ckpt string, until int64) {
	runRateQuery(t, ckpt, until, rateQuery{rows: 2, parts: 1, mode: sinks.Append})
}

// rateQuery is a query over a rate-micro-batch source: rows per batch,
// shuffle partitions, output mode, and build (nil: the rate rows).
type rateQuery struct {
	rows  int64
	parts int
	mode  sinks.OutputMode
	build func(*dataframe.DataFrame) *dataframe.DataFrame
}

// runRateQuery runs rq on ckpt (3 batches retained) until batch until has
// committed, then stops it.
func runRateQuery(t *testing.T, ckpt string, until int64, rq rateQuery) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	src, err := rate.New(rate.Options{RowsPerBatch: rq.rows, Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	s := dataframe.NewSessionWith(dataframe.Config{Allocator: mem, ShufflePartitions: rq.parts})
	df := s.ReadStream(src)
	if rq.build != nil {
		df = rq.build(df)
	}
	ck, err := microbatch.OpenCheckpointWith(ctx, ckpt, wal.Options{MinBatchesToRetain: 3})
	if err != nil {
		t.Fatal(err)
	}
	reached := make(chan struct{}, 1)
	q, err := microbatch.Start(ctx, microbatch.Config{Plan: df.Plan(), Sink: &discardSink{}, Mode: rq.mode,
		Checkpoint: ck, Mem: mem, ShufflePartitions: rq.parts, Listeners: []microbatch.Listener{microbatch.ListenerFuncs{Progress: func(e microbatch.ProgressEvent) {
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

func ids(lo, hi int64) []int64 {
	var out []int64
	for id := lo; id <= hi; id++ {
		out = append(out, id)
	}
	return out
}

// The logs keep the newest MinBatchesToRetain entries: a run lists them
// once (removing what an earlier run left) and then drops one id per
// batch.
func TestPurgeKeepsRetainedEntries(t *testing.T) {
	ckpt := t.TempDir()
	check := func(when string) {
		t.Helper()
		commits := logIDs(t, filepath.Join(ckpt, "commits"))
		offsets := logIDs(t, filepath.Join(ckpt, "offsets"))
		if len(commits) == 0 {
			t.Fatalf("%s: no commits", when)
		}
		last := commits[len(commits)-1]
		// Stop may land between commits/N and its purge (one more old
		// entry) or between offsets/N+1 and its batch (one more new one).
		lo := commits[0]
		if lo != last-2 && lo != last-3 {
			t.Errorf("%s: commits %v, want the 3 newest (4 if stopped before the purge)", when, commits)
		}
		if want := ids(lo, last); !slices.Equal(commits, want) {
			t.Errorf("%s: commits %v, want %v", when, commits, want)
		}
		if !slices.Equal(offsets, ids(lo, last)) && !slices.Equal(offsets, ids(lo, last+1)) {
			t.Errorf("%s: offsets %v, want %v (+ %d if uncommitted)", when, offsets, ids(lo, last), last+1)
		}
	}
	runBatches(t, ckpt, 9)
	check("first run")
	// Entries an earlier run could not purge (a crash between the removal
	// of offsets/N and commits/N, or removals lost in a machine crash).
	for _, p := range []string{"offsets/1", "commits/1", "commits/0"} {
		if err := os.WriteFile(filepath.Join(ckpt, p), []byte("stale"), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	commits := logIDs(t, filepath.Join(ckpt, "commits"))
	runBatches(t, ckpt, commits[len(commits)-1]+5)
	check("second run")
}
