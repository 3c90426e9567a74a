// Package microbatch is sluice's stream engine: it runs a DataFrame's plan
// incrementally, one micro-batch per trigger, with an offset write-ahead
// log and a commit log that make every batch exactly-once (DESIGN.md §4).
package microbatch

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/exec"
	"github.com/sluicehq/sluice/dataframe/plan"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sources"
	"github.com/sluicehq/sluice/trigger"
)

// Sentinels callers test with errors.Is.
var (
	// ErrQuery wraps a failure of a batch; the message names the batch id.
	ErrQuery = errors.New("streaming query")
	// ErrStopped is returned by waits on a query that was stopped.
	ErrStopped = errors.New("streaming query stopped")
)

// Config describes a query to start. Zero values take the documented
// defaults.
type Config struct {
	// Name is the query name (optional; the memory sink's table name).
	Name string
	// Plan is the analysed logical plan with StreamingRelation leaves.
	Plan plan.Node
	Sink sinks.Sink
	Mode sinks.OutputMode
	// Trigger defaults to trigger.Default().
	Trigger trigger.Trigger
	// Checkpoint holds the logs. Required (open one with OpenCheckpoint).
	Checkpoint checkpointStore
	// Clock defaults to trigger.System.
	Clock trigger.Clock
	// Mem defaults to the Go allocator.
	Mem memory.Allocator
	// ShufflePartitions defaults to 1 (a batch is usually small).
	ShufflePartitions int
	// BatchSize caps rows per Arrow batch inside operators. Default 65536.
	BatchSize int
	// IdlePoll is how long the default trigger waits before asking the
	// sources again when there was no data. Default 10ms.
	IdlePoll  time.Duration
	Listeners []Listener
	// LateData, if set, receives the input rows of the streaming
	// aggregation that the watermark closed (Spark only counts and drops
	// them), as an append-mode batch with the batch's id, before Sink.
	// The query must have a streaming aggregation grouped by an event-time
	// column or window.
	LateData sinks.Sink
	// MaxWatermark, with several watermarked inputs, makes the watermark
	// follow the fastest input instead of the slowest (Spark's
	// multipleWatermarkPolicy=max): rows of the slower inputs are then
	// more likely late. Default: the minimum, which drops no row an input
	// still considers on time.
	MaxWatermark bool
	// Conf is logged with every batch (offsets/N "conf").
	Conf map[string]string
}

// Query is a running streaming query.
type Query struct {
	cfg   Config
	id    string
	runID string
	rels  []*plan.StreamingRelation
	// relSource is the index in sources of each relation's source: a
	// source read by several relations (a stream joined with itself) is
	// one source with one offset, read once per batch.
	relSource []int
	sources   []sources.Source

	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{}
	done   chan struct{}

	mu           sync.Mutex
	changed      chan struct{} // closed and replaced on every state change
	active       bool
	stopped      bool
	finishing    bool // StopAfterBatch: stop once no batch is in flight
	err          error
	status       Status
	last         *Progress
	recent       []*Progress
	idleGen      int64 // incremented each time a trigger found no new data
	idleSeen     int64 // the latest pokeGen a no-data trigger started after
	batchesDone  int64
	pokeGen      int64 // incremented by ProcessAllAvailable to force a check
	lastTrigger  time.Time
	committed    []sources.Offset // end offsets of the last committed batch
	nextBatch    int64
	watermarkMs  int64
	availableNow bool
	// pendingReplay is a logged but uncommitted batch to run first.
	pendingReplay *offsetEntry
	watermarks    []*plan.EventTimeWatermark
	// nodeMax is the largest event time (ms) each watermark node has seen.
	nodeMax map[int]int64
	// stateOps are the stateful operators, by id.
	stateOps []statefulOp
	// statePurge reports the state purge in flight.
	statePurge chan error
	// batchWatermarkMs is the watermark the last batch ran with.
	batchWatermarkMs int64
}

func (q *Query) closeState() { closeStateful(q.stateOps) }

// Start recovers from the checkpoint and starts the query's loop.
func Start(ctx context.Context, cfg Config) (*Query, error) {
	if cfg.Plan == nil || cfg.Sink == nil || cfg.Checkpoint == nil {
		return nil, fmt.Errorf("%w: Start needs a plan, a sink and a checkpoint", ErrQuery)
	}
	if err := Check(cfg.Plan, cfg.Mode); err != nil {
		return nil, err
	}
	if mc, ok := cfg.Sink.(sinks.ModeChecker); ok {
		if err := mc.SupportsMode(cfg.Mode); err != nil {
			return nil, err
		}
	}
	if cfg.Trigger == nil {
		cfg.Trigger = trigger.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = trigger.System
	}
	if cfg.Mem == nil {
		cfg.Mem = memory.DefaultAllocator
	}
	if cfg.ShufflePartitions <= 0 {
		cfg.ShufflePartitions = 1
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 64 * 1024
	}
	if cfg.IdlePoll <= 0 {
		cfg.IdlePoll = 10 * time.Millisecond
	}
	q := &Query{cfg: cfg, id: cfg.Checkpoint.QueryID(), runID: newUUID(), wake: make(chan struct{}, 1),
		done: make(chan struct{}), changed: make(chan struct{})}
	// Number the watermark nodes by position: their ids key the event-time
	// stats each batch reports.
	nextID := 0
	// The stateful operators' state is keyed by the plan the batches run:
	// predicates pushed down (a WHERE over a comma join of two streams is
	// the join's condition, with its keys).
	pushed, err := plan.PushDownPredicates(cfg.Plan)
	if err != nil {
		return nil, err
	}
	numbered, err := plan.Transform(pushed, func(n plan.Node) (plan.Node, error) {
		if w, ok := n.(*plan.EventTimeWatermark); ok {
			c := *w
			c.ID = nextID
			nextID++
			return &c, nil
		}
		return n, nil
	})
	if err != nil {
		return nil, err
	}
	// Stateful nodes are numbered in plan order: state/<id> in the
	// checkpoint.
	if numbered, err = numberStateful(numbered, cfg.Mode); err != nil {
		return nil, err
	}
	q.cfg.Plan = numbered
	q.stateOps, err = openStateful(ctx, opEnv{ck: cfg.Checkpoint, nparts: cfg.ShufflePartitions, mem: cfg.Mem, clock: cfg.Clock}, numbered)
	if err != nil {
		return nil, err
	}
	if cfg.LateData != nil && !hasEventTimeAggregate(numbered) {
		q.closeState()
		return nil, fmt.Errorf("%w: a late-data sink needs a streaming aggregation grouped by an event-time column or a window over one (WithWatermark on that column): only such an aggregation knows which rows are late", ErrQuery)
	}
	q.watermarks = plan.Watermarks(numbered)
	q.rels = plan.StreamingRelations(numbered)
	for _, r := range q.rels {
		src, ok := r.Source.(sources.Source)
		if !ok {
			q.closeState()
			return nil, fmt.Errorf("%w: streaming relation %s has no source", ErrQuery, r.Name)
		}
		i := slices.IndexFunc(q.sources, func(s sources.Source) bool { return sameSource(s, src) })
		if i < 0 {
			i = len(q.sources)
			q.sources = append(q.sources, src)
		}
		q.relSource = append(q.relSource, i)
	}
	for i, s := range q.sources {
		if ca, ok := s.(sources.CheckpointAware); ok {
			fsys, dir := cfg.Checkpoint.SourceDir(i)
			if err := ca.SetCheckpoint(ctx, fsys, dir); err != nil {
				q.closeState()
				return nil, fmt.Errorf("%w: %s: %w", ErrQuery, describeSource(s), err)
			}
		}
	}
	if err := q.recover(ctx); err != nil {
		return nil, err
	}
	if _, ok := cfg.Trigger.(trigger.AvailableNowTrigger); ok {
		q.availableNow = true
		for _, s := range q.sources {
			if p, ok := s.(sources.AvailableNowPreparer); ok {
				if err := p.PrepareForAvailableNow(ctx); err != nil {
					return nil, fmt.Errorf("%w: %s: prepare for AvailableNow: %w", ErrQuery, describeSource(s), err)
				}
			}
		}
	}
	q.ctx, q.cancel = context.WithCancel(context.WithoutCancel(ctx))
	q.active = true
	for _, l := range cfg.Listeners {
		l.OnQueryStarted(StartedEvent{ID: q.id, RunID: q.runID, Name: cfg.Name, Timestamp: cfg.Clock.Now()})
	}
	go q.loop()
	return q, nil
}

// recover finds where the logs say the query is, replaying an uncommitted
// batch with its logged offsets first.
func (q *Query) recover(ctx context.Context) error {
	ck := q.cfg.Checkpoint
	n := len(q.sources)
	q.committed = make([]sources.Offset, n)
	off, ok, err := ck.LatestOffsets(ctx)
	if err != nil {
		return err
	}
	initial := func() ([]sources.Offset, error) {
		out := make([]sources.Offset, n)
		for i, s := range q.sources {
			io, ok := s.(sources.InitialOffsetter)
			if !ok {
				continue
			}
			o, err := ck.InitialOffset(ctx, i, func() (sources.Offset, error) { return io.InitialOffset(ctx) })
			if err != nil {
				return nil, fmt.Errorf("%w: %s: initial offset: %w", ErrQuery, describeSource(s), err)
			}
			out[i] = o
		}
		return out, nil
	}
	if !ok {
		starts, err := initial()
		if err != nil {
			return err
		}
		q.committed = starts
		q.nextBatch = 0
		return nil
	}
	if len(off.Offsets) != n {
		return fmt.Errorf("%w: checkpoint %s was written by a query with %d source(s); this query has %d. Use a new checkpoint location for a changed query",
			ErrQuery, ck.Location(), len(off.Offsets), n)
	}
	com, cok, err := ck.LatestCommit(ctx)
	if err != nil {
		return err
	}
	switch {
	case cok && com.BatchID == off.BatchID:
		q.committed = off.Offsets
		q.nextBatch = off.BatchID + 1
		q.watermarkMs = com.NextWatermarkMs
		q.restoreEventTimes(com)
		q.batchWatermarkMs = off.WatermarkMs
		return nil
	case cok && com.BatchID > off.BatchID:
		return fmt.Errorf("%w: checkpoint %s is inconsistent: commits/%d exists but offsets/%d is the latest offset entry", ErrQuery, ck.Location(), com.BatchID, off.BatchID)
	case (cok && com.BatchID == off.BatchID-1) || (!cok && off.BatchID == 0):
	default:
		last := int64(-1)
		if cok {
			last = com.BatchID
		}
		return fmt.Errorf("%w: checkpoint %s is inconsistent: latest offsets/%d but latest commit is %d", ErrQuery, ck.Location(), off.BatchID, last)
	}
	// offsets/N is logged but not committed: replay batch N exactly.
	var starts []sources.Offset
	if off.BatchID == 0 {
		if starts, err = initial(); err != nil {
			return err
		}
	} else {
		prev, ok, err := ck.GetOffsets(ctx, off.BatchID-1)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: checkpoint %s: offsets/%d is missing, so batch %d cannot be replayed", ErrQuery, ck.Location(), off.BatchID-1, off.BatchID)
		}
		starts = prev.Offsets
		q.batchWatermarkMs = prev.WatermarkMs
	}
	q.committed = starts
	q.nextBatch = off.BatchID
	if cok {
		q.watermarkMs = com.NextWatermarkMs
		q.restoreEventTimes(com)
	}
	q.pendingReplay = &off
	return nil
}

// ID is the query's stable id, kept in the checkpoint's metadata.
func (q *Query) ID() string { return q.id }

// RunID is new on every start.
func (q *Query) RunID() string { return q.runID }

// Name is the configured name.
func (q *Query) Name() string { return q.cfg.Name }

// IsActive reports whether the loop is running.
func (q *Query) IsActive() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.active
}

// Exception is the error that stopped the query, or nil.
func (q *Query) Exception() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

// Status says what the query is doing.
func (q *Query) Status() Status {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.status
}

// LastProgress is the latest batch's progress, or nil.
func (q *Query) LastProgress() *Progress {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.last
}

// RecentProgress returns up to the last 100 progress reports, oldest first.
func (q *Query) RecentProgress() []*Progress {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]*Progress(nil), q.recent...)
}

// Stop stops the query: a batch in flight is abandoned (its offsets are
// logged, so a restart replays it with the same rows) and Stop returns
// once the loop has ended, or when ctx does.
func (q *Query) Stop(ctx context.Context) error {
	q.mu.Lock()
	q.stopped = true
	q.mu.Unlock()
	q.cancel()
	select {
	case <-q.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// StopAfterBatch asks the query to stop gracefully and returns at once:
// the batch in flight, if any, runs to its commit, then the query stops
// (Done is closed) without starting another. A query waiting for its
// trigger or for data stops at once. Stop still abandons the batch.
func (q *Query) StopAfterBatch() {
	q.mu.Lock()
	q.finishing = true
	q.status.Message = "Stopping after the batch in flight"
	q.notifyLocked()
	q.mu.Unlock()
	q.poke()
}

func (q *Query) isFinishing() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.finishing
}

// AwaitTermination waits for the query to stop; it returns the query's
// error (wrapping the failing batch id), nil after Stop or a finished
// Once/AvailableNow run, or ctx's error.
func (q *Query) AwaitTermination(ctx context.Context) error {
	select {
	case <-q.done:
		return q.Exception()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done is closed when the query has stopped.
func (q *Query) Done() <-chan struct{} { return q.done }

// ProcessAllAvailable blocks until every row available in the sources when
// it was called has been processed and committed (or the query stops). It
// wakes the loop instead of waiting for the trigger interval; meant for
// tests and demos.
func (q *Query) ProcessAllAvailable(ctx context.Context) error {
	q.mu.Lock()
	q.pokeGen++
	target := q.pokeGen
	q.mu.Unlock()
	for {
		// Take the change channel before poking: a batch the poke starts
		// then closes this channel, not a later one (else a fast loop
		// could finish and sleep a whole trigger interval unnoticed).
		q.mu.Lock()
		idle := q.idleSeen >= target
		active, err, ch := q.active, q.err, q.changed
		q.mu.Unlock()
		if err != nil {
			return err
		}
		if idle {
			return nil
		}
		if !active {
			return ErrStopped
		}
		q.poke()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (q *Query) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// notifyLocked wakes waiters on query state; q.mu must be held.
func (q *Query) notifyLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

func (q *Query) setStatus(msg string, data, active bool) {
	q.mu.Lock()
	if q.finishing {
		msg = "Stopping after the batch in flight: " + msg
	}
	q.status = Status{Message: msg, IsDataAvailable: data, IsTriggerActive: active}
	q.mu.Unlock()
}

func (q *Query) loop() {
	var err error
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: panic in batch %d: %v", ErrQuery, q.nextBatch, r)
		}
		if errors.Is(err, context.Canceled) && q.isStopped() {
			err = nil
		}
		q.mu.Lock()
		q.active = false
		q.err = err
		q.status = Status{Message: "Stopped"}
		q.notifyLocked()
		q.mu.Unlock()
		for _, l := range q.cfg.Listeners {
			l.OnQueryTerminated(TerminatedEvent{ID: q.id, RunID: q.runID, Err: err})
		}
		q.waitStatePurge() // its error would only say some old files remain
		q.closeState()
		q.cfg.Checkpoint.Close()
		close(q.done)
	}()
	err = q.run()
}

func (q *Query) isStopped() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stopped
}

func (q *Query) run() error {
	ctx := q.ctx
	clock := q.cfg.Clock
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if q.isFinishing() {
			return nil
		}
		q.mu.Lock()
		seenPoke := q.pokeGen
		q.mu.Unlock()
		start := clock.Now()
		ran, err := q.runTrigger(ctx, start)
		if err != nil {
			return err
		}
		if q.isFinishing() {
			return nil
		}
		if !ran {
			q.mu.Lock()
			q.idleGen++
			if seenPoke > q.idleSeen {
				q.idleSeen = seenPoke
			}
			q.notifyLocked()
			q.mu.Unlock()
			for _, l := range q.cfg.Listeners {
				l.OnQueryIdle(IdleEvent{ID: q.id, RunID: q.runID, Timestamp: clock.Now()})
			}
		}
		switch t := q.cfg.Trigger.(type) {
		case trigger.OnceTrigger:
			return nil
		case trigger.AvailableNowTrigger:
			if !ran {
				return nil
			}
			continue
		case trigger.ProcessingTimeTrigger:
			var wait time.Duration
			switch {
			case t.Interval > 0:
				wait = trigger.NextStart(t.Interval, start, clock.Now()).Sub(clock.Now())
			case ran:
				continue // default trigger: next batch right away
			default:
				// Polling for data is not part of the trigger's schedule, so
				// it runs on real time even under a manual clock.
				q.setStatus("Waiting for data to arrive", false, false)
				if err := q.sleep(ctx, trigger.System, q.cfg.IdlePoll); err != nil {
					return err
				}
				continue
			}
			q.setStatus("Waiting for next trigger", false, false)
			if err := q.sleep(ctx, clock, wait); err != nil {
				return err
			}
		}
	}
}

// sleep waits on clock, cut short by a poke.
func (q *Query) sleep(ctx context.Context, clock trigger.Clock, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-q.wake:
			cancel()
		case <-sctx.Done():
		}
	}()
	err := clock.Sleep(sctx, d)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	_ = err // woken early by a poke: not an error
	return nil
}

// runTrigger constructs and runs the next batch if there is data; it
// reports whether a batch ran.
func (q *Query) runTrigger(ctx context.Context, start time.Time) (bool, error) {
	q.setStatus("Getting offsets from sources", false, true)
	timings := map[string]time.Duration{}
	clock := q.cfg.Clock
	n := q.nextBatch
	var entry offsetEntry
	var latest []sources.Offset
	offsetsDurable := func() error { return nil } // replays: already logged
	if q.pendingReplay != nil {
		entry = *q.pendingReplay
		q.pendingReplay = nil
		latest = entry.Offsets
	} else {
		t0 := clock.Now()
		ends := make([]sources.Offset, len(q.sources))
		latest = make([]sources.Offset, len(q.sources))
		hasData := false
		for i, s := range q.sources {
			limit := sources.ReadLimit{}
			if dl, ok := s.(sources.DefaultLimiter); ok {
				limit = dl.DefaultReadLimit()
			}
			end, err := s.LatestOffset(ctx, q.committed[i], limit)
			if err != nil {
				return false, fmt.Errorf("%w: batch %d: %s: latest offset: %w", ErrQuery, n, describeSource(s), err)
			}
			ends[i] = end
			latest[i] = end
			if !bytes.Equal(end, q.committed[i]) {
				hasData = true
			}
		}
		timings["latestOffset"] = clock.Now().Sub(t0)
		// A stateful query also runs a batch without new data when the
		// watermark moved, so closed windows are emitted and evicted.
		noDataBatch := !hasData && len(q.stateOps) > 0 && q.watermarkMs > q.batchWatermarkMs
		if !hasData && !noDataBatch {
			q.setStatus("Waiting for data to arrive", false, false)
			return false, nil
		}
		entry = offsetEntry{BatchID: n, WatermarkMs: q.watermarkMs, TimestampMs: clock.Now().UnixMilli(), Conf: q.cfg.Conf, Offsets: ends}
		// The offsets of batch N are durable before any of its output
		// exists. A stateless batch makes no output before its sink call,
		// so its offsets are written while it reads and computes, and the
		// sink waits for them; a stateful one commits state inside the
		// plan, so it waits first.
		t0 = clock.Now()
		done := make(chan error, 1)
		var walTime time.Duration
		go func() {
			err := q.cfg.Checkpoint.AddOffsets(ctx, entry)
			walTime = clock.Now().Sub(t0)
			done <- err
		}()
		var once sync.Once
		var walErr error
		offsetsDurable = func() error {
			once.Do(func() {
				walErr = <-done
				timings["walCommit"] = walTime
				if walErr != nil {
					walErr = fmt.Errorf("%w: batch %d: write offsets: %w", ErrQuery, n, walErr)
				}
			})
			return walErr
		}
		if len(q.stateOps) > 0 {
			if err := offsetsDurable(); err != nil {
				return false, err
			}
		}
	}
	if n > 0 {
		// Everything up to the previous batch's end is durable downstream.
		for i, s := range q.sources {
			if q.committed[i] == nil {
				continue
			}
			if err := s.Commit(ctx, q.committed[i]); err != nil {
				return false, fmt.Errorf("%w: batch %d: %s: commit: %w", ErrQuery, n, describeSource(s), err)
			}
		}
	}
	q.setStatus("Processing new data", true, true)
	res, err := q.runBatch(ctx, entry, timings, offsetsDurable)
	if werr := offsetsDurable(); werr != nil {
		return false, werr
	}
	if err != nil {
		return false, fmt.Errorf("%w: batch %d: %w", ErrQuery, n, err)
	}
	q.batchWatermarkMs = entry.WatermarkMs
	t0 := clock.Now()
	if err := q.cfg.Checkpoint.AddCommit(ctx, commitEntry{BatchID: n, NextWatermarkMs: q.watermarkMs, EventTimeMaxMs: q.eventTimeMaxes()}); err != nil {
		return false, fmt.Errorf("%w: batch %d: write commit: %w", ErrQuery, n, err)
	}
	timings["commitOffsets"] = clock.Now().Sub(t0)
	starts := q.committed
	q.committed = entry.Offsets
	q.nextBatch = n + 1
	if err := q.cfg.Checkpoint.Purge(ctx, n); err != nil {
		return false, fmt.Errorf("%w: batch %d: purge old logs: %w", ErrQuery, n, err)
	}
	if err := q.purgeState(ctx, n); err != nil {
		return false, fmt.Errorf("%w: batch %d: purge old state: %w", ErrQuery, n, err)
	}
	end := clock.Now()
	timings["triggerExecution"] = end.Sub(start)
	backlogs := q.backlogs(ctx, starts, entry.Offsets)
	q.report(entry, starts, latest, res, timings, start, end, backlogs)
	return true, nil
}

type batchResult struct {
	inputRows  []int64
	outputRows int64
	eventTime  map[string]string
}

// statePurgeEvery is how often (in batches) state versions no retained
// batch needs are removed: a purge lists every store directory, which
// would cost a small batch its latency if done each time.
const statePurgeEvery = 10

// purgeState removes, in the background, the state versions older than
// the first batch the logs keep: every retained batch can still be
// replayed or read (state reader), and state stays bounded like the logs.
func (q *Query) purgeState(ctx context.Context, latest int64) error {
	if len(q.stateOps) == 0 || (latest+1)%statePurgeEvery != 0 {
		return nil
	}
	keepFrom := latest - int64(q.cfg.Checkpoint.Retained()) + 1
	if keepFrom <= 0 {
		return nil
	}
	if err := q.waitStatePurge(); err != nil {
		return err
	}
	done := make(chan error, 1)
	q.statePurge = done
	ops := q.stateOps
	go func(ctx context.Context) {
		var errs []error
		for _, op := range ops {
			errs = append(errs, op.stateStore().Purge(ctx, keepFrom))
		}
		done <- errors.Join(errs...)
	}(context.WithoutCancel(ctx))
	return nil
}

func (q *Query) waitStatePurge() error {
	if q.statePurge == nil {
		return nil
	}
	err := <-q.statePurge
	q.statePurge = nil
	return err
}

// sameSource reports whether two relations read the same source value.
func sameSource(a, b sources.Source) bool {
	if reflect.TypeOf(a) != reflect.TypeOf(b) || !reflect.TypeOf(a).Comparable() {
		return false
	}
	return a == b
}

// eventTimeMaxes is nodeMax by watermark node id, for commits/N.
func (q *Query) eventTimeMaxes() []int64 {
	if len(q.nodeMax) == 0 {
		return nil
	}
	out := make([]int64, len(q.watermarks))
	for _, w := range q.watermarks {
		out[w.ID] = q.nodeMax[w.ID]
	}
	return out
}

// restoreEventTimes takes each watermark input's largest event time from
// the last commit, so a restart computes the next watermark as an
// uninterrupted run would (an input with nothing new must not hold it).
func (q *Query) restoreEventTimes(com commitEntry) {
	if len(com.EventTimeMaxMs) != len(q.watermarks) {
		return // an older checkpoint, or a changed query
	}
	q.nodeMax = map[int]int64{}
	for id, v := range com.EventTimeMaxMs {
		if v != 0 {
			q.nodeMax[id] = v
		}
	}
}

// observeEventTime folds the batch's event times into the watermark for
// the next batch: per watermark node max - delay, the minimum across nodes
// (Spark's default multiple-watermark policy), never moving back.
func (q *Query) observeEventTime(tc *exec.TaskContext, res *batchResult) {
	if len(q.watermarks) == 0 {
		return
	}
	next := int64(-1)
	var lo, hi, sum, count int64 = 1<<63 - 1, -1 << 63, 0, 0
	for _, w := range q.watermarks {
		st := tc.EventTimes(w.ID)
		n := st.Count.Load()
		if n == 0 {
			// A node that has seen nothing yet holds the (minimum)
			// watermark back.
			if !q.cfg.MaxWatermark && (q.nodeMax == nil || q.nodeMax[w.ID] == 0) {
				next = -2
			}
			continue
		}
		mx := st.Max.Load() / 1000
		if q.nodeMax == nil {
			q.nodeMax = map[int]int64{}
		}
		q.nodeMax[w.ID] = max(q.nodeMax[w.ID], mx)
		lo, hi = min(lo, st.Min.Load()/1000), max(hi, mx)
		sum += st.Sum.Load()
		count += n
	}
	if next != -2 {
		for _, w := range q.watermarks {
			if q.nodeMax[w.ID] == 0 {
				continue // max policy: an input without rows has no say
			}
			cand := q.nodeMax[w.ID] - w.Delay.Milliseconds()
			if next == -1 || (cand < next) != q.cfg.MaxWatermark {
				next = cand
			}
		}
		if next > q.watermarkMs {
			q.watermarkMs = next
		}
	}
	if count > 0 {
		res.eventTime = map[string]string{
			"min": formatTimestamp(time.UnixMilli(lo)), "max": formatTimestamp(time.UnixMilli(hi)),
			"avg": formatTimestamp(time.UnixMilli(sum / count)), "watermark": formatTimestamp(time.UnixMilli(q.watermarkMs)),
		}
	}
}

// runBatch reads each source's rows for the batch, runs the plan over
// them and hands the result to the sink.
func (q *Query) runBatch(ctx context.Context, entry offsetEntry, timings map[string]time.Duration, offsetsDurable func() error) (*batchResult, error) {
	clock := q.cfg.Clock
	res := &batchResult{inputRows: make([]int64, len(q.sources))}
	t0 := clock.Now()
	var held []arrow.RecordBatch
	defer func() {
		for _, b := range held {
			b.Release()
		}
	}()
	read := make([][]arrow.RecordBatch, len(q.sources))
	for i, s := range q.sources {
		var batches []arrow.RecordBatch
		if !bytes.Equal(q.committed[i], entry.Offsets[i]) {
			rr, err := s.GetBatch(ctx, q.committed[i], entry.Offsets[i])
			if err != nil {
				return nil, fmt.Errorf("%s: get batch: %w", describeSource(s), err)
			}
			for rr.Next() {
				b := rr.RecordBatch()
				b.Retain()
				batches = append(batches, b)
				held = append(held, b)
				res.inputRows[i] += b.NumRows()
			}
			err = rr.Err()
			rr.Release()
			if err != nil {
				return nil, fmt.Errorf("%s: read batch: %w", describeSource(s), err)
			}
		}
		read[i] = batches
	}
	locals := make(map[*plan.StreamingRelation]plan.Node, len(q.rels))
	for j, r := range q.rels {
		locals[r] = &plan.LocalRelation{Attrs: r.Attrs, Batches: read[q.relSource[j]], Name: r.Name}
	}
	timings["getBatch"] = clock.Now().Sub(t0)

	t0 = clock.Now()
	incremental, err := plan.Transform(q.cfg.Plan, func(n plan.Node) (plan.Node, error) {
		if r, ok := n.(*plan.StreamingRelation); ok {
			return locals[r], nil
		}
		return n, nil
	})
	if err != nil {
		return nil, err
	}
	opt, err := plan.Optimize(incremental)
	if err != nil {
		return nil, err
	}
	var late *lateRows
	if q.cfg.LateData != nil {
		late = &lateRows{}
		defer late.release()
	}
	planner := &exec.Planner{Partitions: q.cfg.ShufflePartitions,
		Override: func(n plan.Node, planChild func(plan.Node) (exec.Operator, error)) (exec.Operator, bool, error) {
			st, ok := n.(plan.Stateful)
			if !ok || !st.State().Stateful {
				return nil, false, nil
			}
			b := batchInfo{batchID: entry.BatchID, watermarkUs: entry.WatermarkMs * 1000, lateUs: entry.WatermarkMs * 1000, mode: q.cfg.Mode, late: late}
			if fedByState(n) {
				// The previous batch's watermark: the upstream operator
				// emits rows this batch's watermark has just closed.
				b.lateUs = q.batchWatermarkMs * 1000
			}
			op, err := q.stateOps[st.State().StateID].operator(n, planChild, b)
			return op, true, err
		}}
	op, err := planner.Plan(opt)
	if err != nil {
		return nil, err
	}
	timings["queryPlanning"] = clock.Now().Sub(t0)

	t0 = clock.Now()
	// current_timestamp() is fixed per batch: the batch's logged timestamp.
	tc := exec.NewTaskContext(q.cfg.Mem, time.UnixMilli(entry.TimestampMs).UTC())
	tc.BatchSize = q.cfg.BatchSize
	out, err := exec.Collect(ctx, tc, op)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, b := range out {
			b.Release()
		}
	}()
	for _, b := range out {
		res.outputRows += b.NumRows()
	}
	q.observeEventTime(tc, res)
	rr, err := array.NewRecordReader(op.Schema(), out)
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	if err := offsetsDurable(); err != nil {
		return nil, err
	}
	if late != nil {
		if err := late.deliver(ctx, q.cfg.LateData, entry.BatchID); err != nil {
			return nil, err
		}
	}
	if err := q.cfg.Sink.AddBatch(ctx, entry.BatchID, q.cfg.Mode, rr); err != nil {
		return nil, fmt.Errorf("%s: %w", describeSink(q.cfg.Sink), err)
	}
	timings["addBatch"] = clock.Now().Sub(t0)
	return res, nil
}

// backlogs asks each source with the Backlogger capability what the batch
// read and what is left; a failure leaves that source's figures out.
func (q *Query) backlogs(ctx context.Context, starts, ends []sources.Offset) []*sources.Backlog {
	out := make([]*sources.Backlog, len(q.sources))
	for i, s := range q.sources {
		if b, ok := s.(sources.Backlogger); ok {
			if bl, err := b.Backlog(ctx, starts[i], ends[i]); err == nil {
				out[i] = &bl
			}
		}
	}
	return out
}

func (q *Query) report(entry offsetEntry, starts, latest []sources.Offset, res *batchResult, timings map[string]time.Duration, start, end time.Time, backlogs []*sources.Backlog) {
	var total int64
	for _, r := range res.inputRows {
		total += r
	}
	q.mu.Lock()
	prevTrigger := q.lastTrigger
	q.lastTrigger = start
	q.mu.Unlock()
	dur := end.Sub(start).Seconds()
	rate := func(rows int64, d float64) float64 {
		if d <= 0 {
			return 0
		}
		return float64(rows) / d
	}
	var sinceLast float64
	if !prevTrigger.IsZero() {
		sinceLast = start.Sub(prevTrigger).Seconds()
	}
	p := &Progress{
		ID: q.id, RunID: q.runID, Name: q.cfg.Name, Timestamp: formatTimestamp(start), BatchID: entry.BatchID,
		BatchDuration: ms(end.Sub(start)), NumInputRows: total,
		InputRowsPerSecond: rate(total, sinceLast), ProcessedRowsPerSecond: rate(total, dur),
		DurationMs: durationMs(timings), Durations: timings, StateOperators: q.stateOperators(), EventTime: res.eventTime,
		Sink: SinkProgress{Description: describeSink(q.cfg.Sink), NumOutputRows: res.outputRows},
	}
	for i, s := range q.sources {
		p.Sources = append(p.Sources, SourceProgress{
			Description: describeSource(s), StartOffset: rawOffset(starts[i]), EndOffset: rawOffset(entry.Offsets[i]),
			LatestOffset: rawOffset(latest[i]), NumInputRows: res.inputRows[i],
			InputRowsPerSecond: rate(res.inputRows[i], sinceLast), ProcessedRowsPerSecond: rate(res.inputRows[i], dur),
			Backlog: backlogs[i],
		})
		if b := backlogs[i]; b != nil && len(b.Metrics) > 0 {
			p.Sources[i].Metrics = b.Metrics
		}
	}
	q.mu.Lock()
	q.last = p
	q.recent = append(q.recent, p)
	if len(q.recent) > 100 {
		q.recent = q.recent[len(q.recent)-100:]
	}
	q.batchesDone++
	q.notifyLocked()
	q.mu.Unlock()
	for _, l := range q.cfg.Listeners {
		l.OnQueryProgress(ProgressEvent{Progress: p})
	}
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

// durationMs rounds the phase timings down to milliseconds, as Spark
// reports them.
func durationMs(t map[string]time.Duration) map[string]int64 {
	out := make(map[string]int64, len(t))
	for k, d := range t {
		out[k] = ms(d)
	}
	return out
}

func describeSource(s sources.Source) string {
	if d, ok := s.(sources.Describer); ok {
		return d.Description()
	}
	return reflect.TypeOf(s).String()
}

func describeSink(s sinks.Sink) string {
	if d, ok := s.(sinks.Describer); ok {
		return d.Description()
	}
	return reflect.TypeOf(s).String()
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// stateOperators reports each stateful operator after a batch, resetting
// the per-batch counters.
func (q *Query) stateOperators() []StateOperator {
	out := []StateOperator{}
	for _, op := range q.stateOps {
		out = append(out, op.metrics())
	}
	return out
}
