package dataframe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/plan"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sources"
	"github.com/sluicehq/sluice/trigger"
	"github.com/sluicehq/sluice/wal"
)

// OutputMode is a streaming query's output mode.
type OutputMode = sinks.OutputMode

// The output modes, as in Spark.
const (
	Append   = sinks.Append
	Update   = sinks.Update
	Complete = sinks.Complete
)

// ErrStreaming marks misuse of streaming DataFrames.
var ErrStreaming = errors.New("dataframe: streaming")

// ReadStream makes a streaming DataFrame over a source: an unbounded table
// that WriteStream().Start() runs incrementally.
func (s *Session) ReadStream(src sources.Source) *DataFrame {
	if src == nil {
		return &DataFrame{s: s, err: fmt.Errorf("%w: ReadStream needs a source", ErrStreaming)}
	}
	name := describe(src)
	return &DataFrame{s: s, plan: &plan.StreamingRelation{Source: src, Attrs: plan.AttrsOf(src.Schema(), ""), Name: name}}
}

func describe(src sources.Source) string {
	if d, ok := src.(sources.Describer); ok {
		return d.Description()
	}
	return fmt.Sprintf("%T", src)
}

// IsStreaming reports whether df reads a streaming source.
func (df *DataFrame) IsStreaming() bool { return df.err == nil && plan.IsStreaming(df.plan) }

func (df *DataFrame) checkBatch() error {
	if df.err != nil {
		return df.err
	}
	if plan.IsStreaming(df.plan) {
		return fmt.Errorf("%w: queries with streaming sources must be executed with WriteStream().Start(); Collect, Show, Count and Write work on batch DataFrames (use ForeachBatch to get each micro-batch as one)", ErrStreaming)
	}
	return nil
}

// DataStreamWriter configures how a streaming DataFrame runs:
//
//	q, err := df.WriteStream().Format("console").OutputMode(dataframe.Append).
//	    Trigger(trigger.ProcessingTime(2*time.Second)).
//	    Option("checkpointLocation", "ckpt/views").Start(ctx)
type DataStreamWriter struct {
	df          *DataFrame
	format      string
	sink        sinks.Sink
	foreach     func(ctx context.Context, batch *DataFrame, batchID int64) error
	mode        OutputMode
	modeSet     bool
	modeErr     error
	trig        trigger.Trigger
	opts        map[string]string
	name        string
	partitionBy []string
	lateData    sinks.Sink
	clock       trigger.Clock
	listeners   []microbatch.Listener
}

// WriteStream starts configuring a streaming query over df.
func (df *DataFrame) WriteStream() *DataStreamWriter {
	return &DataStreamWriter{df: df, opts: map[string]string{}, mode: Append}
}

// Format picks a built-in sink by name (see Formats): console, memory, ...
func (w *DataStreamWriter) Format(name string) *DataStreamWriter {
	w.format = strings.ToLower(name)
	return w
}

// Sink uses a sink value directly (files, Kafka, your own).
func (w *DataStreamWriter) Sink(s sinks.Sink) *DataStreamWriter {
	w.sink = s
	return w
}

// ForeachBatch calls fn with each micro-batch's output as a batch
// DataFrame. fn must be idempotent per batchID: after a crash the last
// batch may be delivered again with the same id.
func (w *DataStreamWriter) ForeachBatch(fn func(ctx context.Context, batch *DataFrame, batchID int64) error) *DataStreamWriter {
	w.foreach = fn
	return w
}

// OutputMode sets append (default), update or complete.
func (w *DataStreamWriter) OutputMode(m OutputMode) *DataStreamWriter {
	w.mode, w.modeSet = m, true
	return w
}

// OutputModeString sets the output mode by name.
func (w *DataStreamWriter) OutputModeString(m string) *DataStreamWriter {
	mode, err := sinks.ParseOutputMode(m)
	w.mode, w.modeSet, w.modeErr = mode, true, err
	return w
}

// Trigger sets when batches run (default: back to back as data arrives).
func (w *DataStreamWriter) Trigger(t trigger.Trigger) *DataStreamWriter {
	w.trig = t
	return w
}

// Option sets a writer option: checkpointLocation, minBatchesToRetain,
// multipleWatermarkPolicy (min or max, as Spark's conf of that name), and
// the sink format's own options.
func (w *DataStreamWriter) Option(key, value string) *DataStreamWriter {
	w.opts[key] = value
	return w
}

// PartitionBy lays the output out in Hive-style directories by these
// columns (file sinks).
func (w *DataStreamWriter) PartitionBy(cols ...string) *DataStreamWriter {
	w.partitionBy = cols
	return w
}

// LateData routes the rows a streaming aggregation drops as late (its
// event-time window already closed by the watermark) to sink, instead of
// only counting them: each batch's late rows arrive as an append batch
// with the batch's id, before the main sink gets the batch. The rows are
// the aggregation's input rows (after the filters and projections before
// it).
// An exactly-once sink (files, Kafka) gets them exactly once.
func (w *DataStreamWriter) LateData(sink sinks.Sink) *DataStreamWriter {
	w.lateData = sink
	return w
}

// QueryName names the query (and the memory sink's table).
func (w *DataStreamWriter) QueryName(name string) *DataStreamWriter {
	w.name = name
	return w
}

// Clock replaces the system clock (tests use trigger.NewManualClock).
func (w *DataStreamWriter) Clock(c trigger.Clock) *DataStreamWriter {
	w.clock = c
	return w
}

// Listener adds a listener for this query only (see Session.Streams() for
// session-wide listeners).
func (w *DataStreamWriter) Listener(l microbatch.Listener) *DataStreamWriter {
	w.listeners = append(w.listeners, l)
	return w
}

// Validate checks what Start would, without side effects: the DataFrame,
// the output mode against the plan (Spark's unsupported-operation rules),
// and the sink's format. Start still checks the checkpoint and the sink's
// options.
func (w *DataStreamWriter) Validate() error {
	if w.df.err != nil {
		return w.df.err
	}
	if w.modeErr != nil {
		return w.modeErr
	}
	if _, err := w.sinkFormat(); err != nil {
		return err
	}
	return microbatch.Check(w.df.plan, w.mode)
}

// sinkFormat is the format Format named (zero for Sink and ForeachBatch).
func (w *DataStreamWriter) sinkFormat() (Format, error) {
	if w.sink != nil || w.foreach != nil {
		return Format{}, nil
	}
	if w.format == "" {
		return Format{}, fmt.Errorf("%w: no sink: set Format(%s), Sink(...) or ForeachBatch(...)", ErrStreaming, FormatNames(true))
	}
	f, ok := LookupFormat(w.format)
	if !ok || f.Sink == nil {
		return Format{}, fmt.Errorf("%w: unknown sink format %q; formats: %s; or use Sink(...) for your own", ErrStreaming, w.format, FormatNames(true))
	}
	return f, nil
}

// Start validates everything (plan, output mode, sink, checkpoint) and
// starts the query. Problems are reported here, not at batch 37.
func (w *DataStreamWriter) Start(ctx context.Context) (*StreamingQuery, error) {
	df := w.df
	if df.err != nil {
		return nil, df.err
	}
	if w.modeErr != nil {
		return nil, w.modeErr
	}
	s := df.s
	format, err := w.sinkFormat()
	if err != nil {
		return nil, err
	}
	loc := w.opts["checkpointLocation"]
	temp := false
	if loc == "" {
		if format.Name != "console" && format.Name != "memory" {
			return nil, fmt.Errorf("%w: option checkpointLocation is required for this sink: it is where the query remembers what it processed (console and memory sinks use a temporary one)", ErrStreaming)
		}
		dir, err := os.MkdirTemp("", "sluice-checkpoint-")
		if err != nil {
			return nil, err
		}
		loc, temp = dir, true
	}
	retain := 0
	if v := w.opts["minBatchesToRetain"]; v != "" {
		if _, err := fmt.Sscan(v, &retain); err != nil || retain < 1 {
			return nil, fmt.Errorf("%w: option minBatchesToRetain=%q must be a positive integer", ErrStreaming, v)
		}
	}
	maxWatermark := false
	switch v := strings.ToLower(w.opts["multipleWatermarkPolicy"]); v {
	case "", "min":
	case "max":
		maxWatermark = true
	default:
		return nil, fmt.Errorf("%w: option multipleWatermarkPolicy=%q must be min (default: the slowest input decides, no input's on-time rows are dropped) or max (the fastest input decides)", ErrStreaming, v)
	}
	ck, err := microbatch.OpenCheckpointWith(ctx, loc, wal.Options{MinBatchesToRetain: retain})
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*StreamingQuery, error) {
		ck.Close()
		if temp {
			os.RemoveAll(loc)
		}
		return nil, err
	}
	sink := w.sink
	switch {
	case sink != nil:
	case w.foreach != nil:
		sink = &foreachBatchSink{s: s, schema: df.Schema(), fn: w.foreach}
	default:
		opts := make(map[string]string, len(w.opts))
		for k, v := range w.opts {
			if k != "checkpointLocation" && k != "minBatchesToRetain" && k != "multipleWatermarkPolicy" {
				opts[k] = v
			}
		}
		var paths []string
		if p := opts["path"]; p != "" {
			paths = []string{p}
		}
		sink, err = format.Sink(ctx, s, FormatOptions{Options: opts, Paths: paths, Input: df.Schema(),
			QueryID: ck.QueryID(), QueryName: w.name, PartitionBy: w.partitionBy})
		if err != nil {
			return fail(fmt.Errorf("%w: %s sink: %w", ErrStreaming, format.Name, err))
		}
	}
	mem, _ := sink.(*memorySinkTable)
	conf := s.conf
	clock := w.clock
	if clock == nil {
		clock = trigger.System
	}
	listeners := append(append([]microbatch.Listener(nil), s.streams().listenerList()...), w.listeners...)
	q, err := microbatch.Start(ctx, microbatch.Config{
		Name: w.name, Plan: df.plan, Sink: sink, Mode: w.mode, Trigger: w.trig, Checkpoint: ck,
		Clock: clock, Mem: conf.Allocator, ShufflePartitions: conf.ShufflePartitions, BatchSize: conf.BatchSize,
		Listeners: listeners, LateData: w.lateData, MaxWatermark: maxWatermark,
	})
	if err != nil {
		if w.sink == nil {
			sink.Close()
		}
		return fail(err)
	}
	sq := &StreamingQuery{Query: q, session: s, tempCheckpoint: temp, checkpoint: loc}
	if w.sink == nil {
		// Sinks made here belong to the query; a Sink(...) value belongs to
		// its caller.
		go func() {
			<-q.Done()
			sink.Close()
		}()
	}
	if mem != nil {
		s.registerView(w.name, mem)
	}
	s.streams().add(sq)
	return sq, nil
}

// StreamingQuery is a handle on a running query. Its methods (ID, RunID,
// Name, IsActive, Exception, Status, LastProgress, RecentProgress,
// AwaitTermination, ProcessAllAvailable, Stop) come from microbatch.Query.
type StreamingQuery struct {
	*microbatch.Query
	session        *Session
	tempCheckpoint bool
	checkpoint     string
}

// Stop stops the query; a temporary checkpoint is removed.
func (q *StreamingQuery) Stop(ctx context.Context) error {
	err := q.Query.Stop(ctx)
	if q.tempCheckpoint {
		os.RemoveAll(q.checkpoint)
	}
	return err
}

// StreamingQueryManager tracks a session's streaming queries (Spark's
// spark.streams).
type StreamingQueryManager struct {
	mu        sync.Mutex
	queries   map[string]*StreamingQuery
	listeners []microbatch.Listener
	changed   chan struct{}
}

// Streams returns the session's query manager.
func (s *Session) Streams() *StreamingQueryManager { return s.streams() }

func (s *Session) streams() *StreamingQueryManager {
	s.once.Do(func() {
		s.manager = &StreamingQueryManager{queries: map[string]*StreamingQuery{}, changed: make(chan struct{})}
	})
	return s.manager
}

func (m *StreamingQueryManager) add(q *StreamingQuery) {
	m.mu.Lock()
	m.queries[q.ID()] = q
	m.mu.Unlock()
	go func() {
		<-q.Done()
		m.mu.Lock()
		close(m.changed)
		m.changed = make(chan struct{})
		m.mu.Unlock()
	}()
}

func (m *StreamingQueryManager) listenerList() []microbatch.Listener {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]microbatch.Listener(nil), m.listeners...)
}

// AddListener registers a listener for queries started after this call.
func (m *StreamingQueryManager) AddListener(l microbatch.Listener) {
	m.mu.Lock()
	m.listeners = append(m.listeners, l)
	m.mu.Unlock()
}

// Active lists the running queries, by name then id.
func (m *StreamingQueryManager) Active() []*StreamingQuery {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*StreamingQuery
	for _, q := range m.queries {
		if q.IsActive() {
			out = append(out, q)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name() != out[j].Name() {
			return out[i].Name() < out[j].Name()
		}
		return out[i].ID() < out[j].ID()
	})
	return out
}

// Get returns the query with this id, or nil.
func (m *StreamingQueryManager) Get(id string) *StreamingQuery {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.queries[id]
}

// AwaitAnyTermination waits until any query of the session terminates
// (including ones that already have), returning its error.
func (m *StreamingQueryManager) AwaitAnyTermination(ctx context.Context) error {
	for {
		m.mu.Lock()
		ch := m.changed
		for _, q := range m.queries {
			if !q.IsActive() {
				m.mu.Unlock()
				return q.Exception()
			}
		}
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ResetTerminated forgets terminated queries, so AwaitAnyTermination waits
// for a new termination.
func (m *StreamingQueryManager) ResetTerminated() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, q := range m.queries {
		if !q.IsActive() {
			delete(m.queries, id)
		}
	}
}

// foreachBatchSink hands each micro-batch to a user function as a batch
// DataFrame.
type foreachBatchSink struct {
	s      *Session
	schema *arrow.Schema
	fn     func(ctx context.Context, batch *DataFrame, batchID int64) error
}

func (f *foreachBatchSink) AddBatch(ctx context.Context, batchID int64, mode sinks.OutputMode, rows array.RecordReader) error {
	var batches []arrow.RecordBatch
	for rows.Next() {
		b := rows.RecordBatch()
		b.Retain()
		batches = append(batches, b)
	}
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	if err := rows.Err(); err != nil {
		return err
	}
	df := f.s.CreateDataFrame(rows.Schema(), batches...).WithContext(ctx)
	return f.fn(ctx, df, batchID)
}

func (f *foreachBatchSink) Close() error        { return nil }
func (f *foreachBatchSink) Description() string { return "ForeachBatchSink" }

// WithWatermark declares column as the event time of df's rows and delay
// ("10 minutes", "5s") as how late rows may arrive. Stateful operators use
// the watermark (max event time seen - delay) to finalise windows and drop
// state; in a batch query it changes nothing.
func (df *DataFrame) WithWatermark(column, delay string) *DataFrame {
	if df.err != nil {
		return df
	}
	d, err := parseDelay(delay)
	if err != nil {
		return df.fail(fmt.Errorf("%w: WithWatermark(%q, %q): %v", plan.ErrAnalysis, column, delay, err))
	}
	return df.derive(plan.NewEventTimeWatermark(df.plan, column, d))
}

// ParseDuration reads a delay or interval as WithWatermark and job specs
// take it: Go durations ("10s") or Spark interval text ("10 minutes").
func ParseDuration(s string) (time.Duration, error) { return parseDelay(s) }

// parseDelay accepts Go durations ("10s") and Spark interval text
// ("10 minutes").
func parseDelay(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	iv, err := expr.ParseInterval(s)
	if err != nil {
		return 0, fmt.Errorf("not a duration like \"10 minutes\" or \"10s\"")
	}
	if iv.Months != 0 {
		return 0, fmt.Errorf("a delay of months has no fixed length; use days")
	}
	return time.Duration(iv.Days)*24*time.Hour + time.Duration(iv.Nanoseconds), nil
}
