package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/sinks"
	memsrc "github.com/sluicehq/sluice/sources/memory"
	"github.com/sluicehq/sluice/trigger"
)

// streamOverheadHelp defines the overhead benchClicksStream prints, for
// --help.
const streamOverheadHelp = `Stream mode (--mode stream) runs the stateless part of the job (the filter
and the window column w) as a streaming query: the input is split into
--batches equal micro-batches (a memory stream with one addition per batch,
Trigger.AvailableNow), the offset and commit logs live on local disk under
--checkpoint (default a fresh temporary directory, removed afterwards), and
the sink counts rows (checked against the batch query's count).

  overhead = triggerExecution - getBatch - addBatch

per batch, from the progress report's exact durations: everything the
engine does besides reading the input and running the plan into the sink
(latestOffset, the fsynced offsets/N and commits/N writes, planning, purging
old log entries). It is printed as p50 and p99 over all batches of all reps.`

// streamBenchResult is one stream run.
type streamBenchResult struct {
	elapsed  time.Duration
	rows     int64           // rows the sink got
	overhead []time.Duration // per batch
}

// benchClicksStream runs the stateless clicks plan as a stream over
// events split into nBatches additions, reps times, and prints the best
// rate and the per-batch overhead percentiles.
func benchClicksStream(s *dataframe.Session, events []arrow.RecordBatch, nEvents int64, nBatches, reps int, ckptDir string, stdout, stderr io.Writer) int {
	ctx := context.Background()
	fail := func(err error) int {
		fmt.Fprintln(stderr, "sluice bench clicks:", err)
		return exitFail
	}
	if nBatches < 1 {
		fmt.Fprintf(stderr, "sluice bench clicks: --batches=%d must be at least 1\n", nBatches)
		return exitUsage
	}
	// The batch query's answer, to check the stream against.
	want, err := clicksStateless(s.CreateDataFrame(events[0].Schema(), events...)).Count()
	if err != nil {
		return fail(err)
	}
	parts := splitRows(events, nEvents, nBatches)
	defer func() {
		for _, p := range parts {
			for _, b := range p {
				b.Release()
			}
		}
	}()
	if ckptDir == "" {
		dir, err := os.MkdirTemp("", "sluice-bench-checkpoint-")
		if err != nil {
			return fail(err)
		}
		defer os.RemoveAll(dir)
		ckptDir = dir
	}
	best := time.Duration(1<<63 - 1)
	var overhead []time.Duration
	for r := 0; r < max(1, reps); r++ {
		res, err := runClicksStream(ctx, s, events[0].Schema(), parts, filepath.Join(ckptDir, "rep-"+strconv.Itoa(r)))
		if err != nil {
			return fail(err)
		}
		if res.rows != want {
			return fail(fmt.Errorf("the stream's sink got %d rows; the batch query counts %d", res.rows, want))
		}
		best = min(best, res.elapsed)
		overhead = append(overhead, res.overhead...)
	}
	sec := best.Seconds()
	fmt.Fprintf(stdout, "clicks: %d events in %.3fs = %.1f M events/s rows=%d batches=%d\n",
		nEvents, sec, float64(nEvents)/sec/1e6, want, nBatches)
	fmt.Fprintf(stdout, "overhead p50=%.3fms p99=%.3fms\n", pct(overhead, 50), pct(overhead, 99))
	return exitOK
}

// clicksStateless is the stateless part of the clicks job.
func clicksStateless(events *dataframe.DataFrame) *dataframe.DataFrame {
	col := dataframe.Col
	return events.
		Filter(col("event_type").Eq("view")).
		WithColumn("w", col("ts").Minus(col("ts").Mod(300000)))
}

// splitRows slices events (zero-copy) into n parts of equal row counts
// (the first total%n parts one row longer).
func splitRows(events []arrow.RecordBatch, total int64, n int) [][]arrow.RecordBatch {
	parts := make([][]arrow.RecordBatch, n)
	p, inPart := 0, int64(0)
	size := func(p int) int64 {
		sz := total / int64(n)
		if int64(p) < total%int64(n) {
			sz++
		}
		return sz
	}
	for _, b := range events {
		off := int64(0)
		for off < b.NumRows() {
			for p < n-1 && inPart == size(p) {
				p, inPart = p+1, 0
			}
			take := min(b.NumRows()-off, size(p)-inPart)
			if p == n-1 {
				take = b.NumRows() - off
			}
			parts[p] = append(parts[p], b.NewSlice(off, off+take))
			off += take
			inPart += take
		}
	}
	return parts
}

// runClicksStream runs one stream over parts in checkpoint ckpt (which
// must not exist yet: a used checkpoint would skip the batches).
func runClicksStream(ctx context.Context, s *dataframe.Session, schema *arrow.Schema, parts [][]arrow.RecordBatch, ckpt string) (*streamBenchResult, error) {
	if _, err := os.Stat(ckpt); err == nil {
		return nil, fmt.Errorf("checkpoint %s already exists; give --checkpoint an empty or new directory", ckpt)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	// A row cap of one part makes each addition its own micro-batch.
	maxPart := int64(1)
	for _, p := range parts {
		n := int64(0)
		for _, b := range p {
			n += b.NumRows()
		}
		maxPart = max(maxPart, n)
	}
	in, err := memsrc.NewArrowStreamWith("clicks", schema, memsrc.Options{MaxRowsPerTrigger: maxPart})
	if err != nil {
		return nil, err
	}
	defer in.Close()
	for _, p := range parts {
		if _, err := in.AddBatches(p...); err != nil {
			return nil, err
		}
	}
	sink := &countingSink{}
	res := &streamBenchResult{}
	var mu sync.Mutex
	listener := microbatch.ListenerFuncs{Progress: func(e microbatch.ProgressEvent) {
		d := e.Progress.Durations
		mu.Lock()
		res.overhead = append(res.overhead, d["triggerExecution"]-d["getBatch"]-d["addBatch"])
		mu.Unlock()
	}}
	t0 := time.Now()
	q, err := clicksStateless(s.ReadStream(in)).WriteStream().
		Sink(sink).
		Trigger(trigger.AvailableNow()).
		Option("checkpointLocation", ckpt).
		QueryName("clicks-stateless").
		Listener(listener).
		Start(ctx)
	if err != nil {
		return nil, err
	}
	if err := q.AwaitTermination(ctx); err != nil {
		return nil, err
	}
	res.elapsed = time.Since(t0)
	res.rows = sink.rows.Load()
	mu.Lock()
	defer mu.Unlock()
	if len(res.overhead) != len(parts) {
		return nil, fmt.Errorf("the stream ran %d batches; expected %d", len(res.overhead), len(parts))
	}
	return res, nil
}

// countingSink counts rows.
type countingSink struct{ rows atomic.Int64 }

func (c *countingSink) AddBatch(ctx context.Context, batchID int64, mode sinks.OutputMode, rows array.RecordReader) error {
	for rows.Next() {
		c.rows.Add(rows.RecordBatch().NumRows())
	}
	return rows.Err()
}

func (c *countingSink) Close() error        { return nil }
func (c *countingSink) Description() string { return "CountingSink" }

// pct is the p-th percentile (nearest rank) of ds, in milliseconds.
func pct(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(float64(len(s))*p/100)) - 1
	i = min(max(i, 0), len(s)-1)
	return float64(s[i]) / float64(time.Millisecond)
}
