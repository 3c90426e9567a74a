package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/internal/hashtab"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/sinks"
	memsrc "github.com/sluicehq/sluice/sources/memory"
	"github.com/sluicehq/sluice/trigger"
)

// streamOverheadHelp describes the stream mode and what it prints, for
// --help.
const streamOverheadHelp = `Stream mode (--mode stream) runs the whole job as a streaming query:

  events.filter(event_type = 'view')
        .withColumn("event_time", timestamp_millis(ts))
        .withWatermark("event_time", "10 minutes")
        .groupBy(window(event_time, "5 minutes"), user_id).count()

in output mode update. The input is split into --batches equal micro-batches
(a memory stream with one addition per batch, Trigger.AvailableNow); the
offset and commit logs and the aggregation's state are checkpointed every
batch on local disk under --checkpoint (default a fresh temporary
directory, removed afterwards). The sink folds the update-mode upserts into
the final table, whose groups/total/max must equal the batch query's.

  overhead = triggerExecution - getBatch - addBatch

per batch, from the progress report's exact durations: everything the
engine does besides reading the input and running the plan (state
included) into the sink (latestOffset, the fsynced offsets/N and commits/N
writes, planning, purging old log entries). It is printed as p50 and p99
over all batches of all reps. The checkpoint line is the bytes each batch
wrote to the checkpoint (offsets/N + commits/N + state deltas and
snapshots of version N+1), averaged over batches and at most, from the
files of the last rep.`

// streamBenchResult is one stream run.
type streamBenchResult struct {
	elapsed  time.Duration
	cpu      time.Duration // process CPU time (all goroutines, GC included)
	sum      clicksSummary
	overhead []time.Duration // per batch
	batches  int             // batches run, no-data ones included
}

// clicksSummary is the job's answer, summarised as the batch run prints it.
type clicksSummary struct{ groups, total, max int64 }

func (c clicksSummary) String() string {
	return fmt.Sprintf("groups=%d total=%d max=%d", c.groups, c.total, c.max)
}

// benchClicksStream runs the clicks job as a stream over events split into
// nBatches additions, reps times, checks each run against the batch
// query, and prints the best rate, the per-batch overhead percentiles and
// the checkpoint bytes per batch.
func benchClicksStream(s *dataframe.Session, events []arrow.RecordBatch, nEvents int64, nBatches, reps int, ckptDir, cpuprofile string, stdout, stderr io.Writer) int {
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
	want, err := clicksBatchSummary(s.CreateDataFrame(events[0].Schema(), events...))
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
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	best, bestCPU := time.Duration(1<<63-1), time.Duration(1<<63-1)
	var overhead []time.Duration
	var last string
	var ran int
	for r := 0; r < max(1, reps); r++ {
		last = filepath.Join(ckptDir, "rep-"+strconv.Itoa(r))
		res, err := runClicksStream(ctx, s, events[0].Schema(), parts, last)
		if err != nil {
			return fail(err)
		}
		if res.sum != want {
			return fail(fmt.Errorf("the stream's final table has %s; the batch query has %s", res.sum, want))
		}
		best = min(best, res.elapsed)
		bestCPU = min(bestCPU, res.cpu)
		ran = res.batches
		overhead = append(overhead, res.overhead...)
	}
	ck, err := checkpointBytes(last, ran)
	if err != nil {
		return fail(err)
	}
	sec := best.Seconds()
	fmt.Fprintf(stdout, "clicks: %d events in %.3fs = %.1f M events/s %s batches=%d (+%d without data)\n",
		nEvents, sec, float64(nEvents)/sec/1e6, want, nBatches, ran-nBatches)
	fmt.Fprintf(stdout, "overhead p50=%.3fms p99=%.3fms\n", pct(overhead, 50), pct(overhead, 99))
	fmt.Fprintf(stdout, "checkpoint bytes/batch avg=%d max=%d (offsets avg=%d commits avg=%d state avg=%d)\n",
		ck.avg(ck.total), ck.max(), ck.avg(ck.offsets), ck.avg(ck.commits), ck.avg(ck.state))
	if bestCPU > 0 {
		fmt.Fprintf(stdout, "cpu: %.3fs = %.1f M events per CPU-second (least of the reps)\n", bestCPU.Seconds(), float64(nEvents)/bestCPU.Seconds()/1e6)
	}
	return exitOK
}

// clicksBatchSummary runs the batch clicks job (the one the batch mode
// times) over events.
func clicksBatchSummary(events *dataframe.DataFrame) (clicksSummary, error) {
	var sum clicksSummary
	err := clicksJob(events).Execute(func(b arrow.RecordBatch) error {
		if b.NumRows() > 0 {
			sum.groups = b.Column(0).(*array.Int64).Value(0)
			sum.total = b.Column(1).(*array.Int64).Value(0)
			sum.max = b.Column(2).(*array.Int64).Value(0)
		}
		return nil
	})
	return sum, err
}

// clicksStream is the clicks job as a streaming query: the event time is
// ts (epoch milliseconds) as a timestamp; window(event_time, 5 minutes)
// starts where the batch job's ts - ts % 300000 does. The filter comes
// first, as in the batch job, so the event time is computed for views
// only; the watermark is then the latest view's time less 10 minutes.
func clicksStream(events *dataframe.DataFrame) *dataframe.DataFrame {
	col := dataframe.Col
	return events.
		Filter(col("event_type").Eq("view")).
		WithColumn("event_time", dataframe.Call("timestamp_millis", col("ts"))).
		WithWatermark("event_time", "10 minutes").
		GroupBy(dataframe.Window(col("event_time"), "5 minutes"), col("user_id")).
		Agg(dataframe.Count("*").As("clicks"))
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
	sink, err := newUpsertSink()
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	res := &streamBenchResult{}
	var mu sync.Mutex
	listener := microbatch.ListenerFuncs{Progress: func(e microbatch.ProgressEvent) {
		d := e.Progress.Durations
		mu.Lock()
		res.overhead = append(res.overhead, d["triggerExecution"]-d["getBatch"]-d["addBatch"])
		mu.Unlock()
	}}
	t0, c0 := time.Now(), processCPU()
	q, err := clicksStream(s.ReadStream(in)).WriteStream().
		Sink(sink).
		OutputMode(dataframe.Update).
		Trigger(trigger.AvailableNow()).
		Option("checkpointLocation", ckpt).
		// Keep every batch's log entries and state files, for the
		// checkpoint bytes per batch.
		Option("minBatchesToRetain", strconv.Itoa(max(100, len(parts)+1))).
		QueryName("clicks").
		Listener(listener).
		Start(ctx)
	if err != nil {
		return nil, err
	}
	if err := q.AwaitTermination(ctx); err != nil {
		return nil, err
	}
	res.elapsed, res.cpu = time.Since(t0), processCPU()-c0
	res.sum = sink.summary()
	mu.Lock()
	defer mu.Unlock()
	// Each addition is a batch; a no-data batch may follow when the last
	// one moved the watermark (it evicts the windows it closed).
	if len(res.overhead) < len(parts) || len(res.overhead) > len(parts)+1 {
		return nil, fmt.Errorf("the stream ran %d batches; expected %d (or one more without data)", len(res.overhead), len(parts))
	}
	res.batches = len(res.overhead)
	return res, nil
}

// upsertSink folds update-mode rows (window, user_id, clicks) into the
// final table: a row replaces the count of its (window, user_id).
// Replaying a batch writes the same counts again, so it is idempotent.
type upsertSink struct {
	mu     sync.Mutex
	g      *hashtab.Grouper
	counts []int64
	gids   []uint32
}

func newUpsertSink() (*upsertSink, error) { return &upsertSink{}, nil }

func (u *upsertSink) AddBatch(ctx context.Context, batchID int64, mode sinks.OutputMode, rows array.RecordReader) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	for rows.Next() {
		b := rows.RecordBatch()
		if err := u.add(b); err != nil {
			return fmt.Errorf("batch %d: %w", batchID, err)
		}
	}
	return rows.Err()
}

func (u *upsertSink) add(b arrow.RecordBatch) error {
	n := int(b.NumRows())
	if n == 0 {
		return nil
	}
	w, ok := b.Column(0).(*array.Struct)
	if !ok {
		return fmt.Errorf("column 0 is %s, want the window struct", b.Column(0).DataType())
	}
	cnt, ok := b.Column(2).(*array.Int64)
	if !ok {
		return fmt.Errorf("column 2 is %s, want the int64 count", b.Column(2).DataType())
	}
	if w.NullN() > 0 || cnt.NullN() > 0 {
		return fmt.Errorf("a window or count is NULL")
	}
	if u.g == nil {
		g, err := hashtab.New([]arrow.DataType{w.DataType(), b.Column(1).DataType()}, nil)
		if err != nil {
			return err
		}
		u.g = g
	}
	u.gids = slices.Grow(u.gids[:0], n)[:n]
	if err := u.g.Insert([]arrow.Array{w, b.Column(1)}, u.gids); err != nil {
		return err
	}
	if ng := u.g.Len(); ng > len(u.counts) {
		u.counts = append(u.counts, make([]int64, ng-len(u.counts))...)
	}
	for i, c := range cnt.Int64Values() {
		u.counts[u.gids[i]] = c
	}
	return nil
}

// summary is the final table's groups, total and max.
func (u *upsertSink) summary() clicksSummary {
	u.mu.Lock()
	defer u.mu.Unlock()
	var s clicksSummary
	s.groups = int64(len(u.counts))
	for _, c := range u.counts {
		s.total += c
		s.max = max(s.max, c)
	}
	return s
}

func (u *upsertSink) Close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.g != nil {
		u.g.Release()
	}
	return nil
}

func (u *upsertSink) Description() string { return "UpsertSink[clicks]" }

// ckptBytes is what each batch wrote to a checkpoint, by kind.
type ckptBytes struct {
	offsets, commits, state, total []int64 // by batch id
}

func (c ckptBytes) avg(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	var s int64
	for _, x := range v {
		s += x
	}
	return s / int64(len(v))
}

func (c ckptBytes) max() int64 {
	var m int64
	for _, x := range c.total {
		m = max(m, x)
	}
	return m
}

// checkpointBytes walks a checkpoint of n batches and attributes its files
// to batches: offsets/N and commits/N to batch N, state files of version v
// (<v>.delta, <v>.snapshot) to batch v-1. Metadata written once at the
// start is not counted.
func checkpointBytes(dir string, n int) (ckptBytes, error) {
	c := ckptBytes{offsets: make([]int64, n), commits: make([]int64, n), state: make([]int64, n), total: make([]int64, n)}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		base := parts[len(parts)-1]
		var into []int64
		var batch int64 = -1
		switch {
		case len(parts) == 2 && (parts[0] == "offsets" || parts[0] == "commits"):
			b, err := strconv.ParseInt(base, 10, 64)
			if err != nil {
				return nil // a temporary or foreign file
			}
			batch = b
			into = c.offsets
			if parts[0] == "commits" {
				into = c.commits
			}
		case parts[0] == "state" && (strings.HasSuffix(base, ".delta") || strings.HasSuffix(base, ".snapshot")):
			v, err := strconv.ParseInt(base[:strings.IndexByte(base, '.')], 10, 64)
			if err != nil {
				return nil
			}
			batch = v - 1
			into = c.state
		default:
			return nil
		}
		if batch >= 0 && batch < int64(n) {
			into[batch] += info.Size()
			c.total[batch] += info.Size()
		}
		return nil
	})
	return c, err
}

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
