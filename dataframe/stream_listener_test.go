package dataframe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/sinks"
	memsrc "github.com/sluicehq/sluice/sources/memory"
)

// eventLog records listener events as short strings, in order.
type eventLog struct {
	mu     sync.Mutex
	events []string
	ids    map[string]bool // "id runId" of every event
	errs   []error         // of terminated events
}

func (l *eventLog) add(ev, id, runID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
	if l.ids == nil {
		l.ids = map[string]bool{}
	}
	l.ids[id+" "+runID] = true
}

func (l *eventLog) listener() microbatch.Listener {
	return microbatch.ListenerFuncs{
		Started: func(e microbatch.StartedEvent) { l.add("started "+e.Name, e.ID, e.RunID) },
		Progress: func(e microbatch.ProgressEvent) {
			l.add(fmt.Sprintf("progress %d", e.Progress.BatchID), e.Progress.ID, e.Progress.RunID)
		},
		Idle: func(e microbatch.IdleEvent) { l.add("idle", e.ID, e.RunID) },
		Terminated: func(e microbatch.TerminatedEvent) {
			l.add("terminated", e.ID, e.RunID)
			l.mu.Lock()
			l.errs = append(l.errs, e.Err)
			l.mu.Unlock()
		},
	}
}

// compact drops repeated idle events (their number depends on timing).
func (l *eventLog) compact() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		if e == "idle" && len(out) > 0 && out[len(out)-1] == "idle" {
			continue
		}
		out = append(out, e)
	}
	return out
}

// countSink counts rows and can be told to fail.
type countSink struct {
	mu   sync.Mutex
	rows int64
	fail error
}

func (c *countSink) AddBatch(ctx context.Context, id int64, mode sinks.OutputMode, rows array.RecordReader) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	for rows.Next() {
		c.rows += rows.RecordBatch().NumRows()
	}
	return rows.Err()
}

func (c *countSink) Close() error { return nil }

var idSchema = arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)

func addIDs(t *testing.T, mem memory.Allocator, s *memsrc.Stream, ids ...int64) {
	t.Helper()
	b := array.NewInt64Builder(mem)
	b.AppendValues(ids, nil)
	col := b.NewArray()
	b.Release()
	rb := array.NewRecordBatch(idSchema, []arrow.Array{col}, int64(len(ids)))
	col.Release()
	defer rb.Release()
	if _, err := s.AddBatch(rb); err != nil {
		t.Fatal(err)
	}
}

// Listener events come in lifecycle order: started, then progress (one
// per batch) and idle (triggers without data) interleaved as they happen,
// terminated last, all with the query's id and run id; session-wide and
// per-query listeners both hear them.
func TestStreamListenersOrder(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := NewSessionWith(Config{Allocator: mem})
	var session, own eventLog
	s.Streams().AddListener(session.listener())
	in := memsrc.NewArrowStream("in", idSchema)
	defer in.Close()
	sink := &countSink{}
	q, err := s.ReadStream(in).Filter("id > 0").WriteStream().
		Sink(sink).QueryName("events").Listener(own.listener()).
		Option("checkpointLocation", t.TempDir()).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// OnQueryStarted is delivered before Start returns.
	if got := own.compact(); len(got) == 0 || got[0] != "started events" {
		t.Fatalf("events right after Start: %v, want [started events ...]", got)
	}
	if err := q.ProcessAllAvailable(ctx); err != nil {
		t.Fatal(err)
	}
	addIDs(t, mem, in, 1, 2, -3)
	if err := q.ProcessAllAvailable(ctx); err != nil {
		t.Fatal(err)
	}
	addIDs(t, mem, in, 4)
	if err := q.ProcessAllAvailable(ctx); err != nil {
		t.Fatal(err)
	}
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"started events", "idle", "progress 0", "idle", "progress 1", "idle", "terminated"}
	for name, l := range map[string]*eventLog{"session": &session, "query": &own} {
		if got := l.compact(); !slices.Equal(got, want) {
			t.Errorf("%s listener heard %v, want %v (repeated idle events folded)", name, got, want)
		}
		if len(l.ids) != 1 || !l.ids[q.ID()+" "+q.RunID()] {
			t.Errorf("%s listener: events carry ids %v, want only %q", name, l.ids, q.ID()+" "+q.RunID())
		}
		if len(l.errs) != 1 || l.errs[0] != nil {
			t.Errorf("%s listener: terminated errors %v, want one nil (stopped)", name, l.errs)
		}
	}
	if sink.rows != 3 {
		t.Fatalf("sink got %d rows, want 3", sink.rows)
	}
}

// A failing batch ends the query: OnQueryTerminated carries the error,
// which names the batch, and so do Exception and AwaitTermination.
func TestStreamListenerTerminatedWithError(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := NewSessionWith(Config{Allocator: mem})
	var l eventLog
	in := memsrc.NewArrowStream("in", idSchema)
	defer in.Close()
	boom := errors.New("disk full")
	sink := &countSink{fail: boom}
	addIDs(t, mem, in, 1)
	q, err := s.ReadStream(in).WriteStream().Sink(sink).Listener(l.listener()).
		Option("checkpointLocation", t.TempDir()).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = q.AwaitTermination(ctx)
	if !errors.Is(err, boom) || !errors.Is(err, microbatch.ErrQuery) || !strings.Contains(err.Error(), "batch 0") {
		t.Fatalf("AwaitTermination: %v; want the sink's error, wrapped with ErrQuery, naming batch 0", err)
	}
	if !errors.Is(q.Exception(), boom) || q.IsActive() {
		t.Fatalf("Exception %v, IsActive %v", q.Exception(), q.IsActive())
	}
	if got := l.compact(); !slices.Equal(got, []string{"started ", "terminated"}) {
		t.Fatalf("events %v, want [started  terminated]", got)
	}
	if len(l.errs) != 1 || !errors.Is(l.errs[0], boom) {
		t.Fatalf("terminated errors %v", l.errs)
	}
}

// Streams() lists the active queries, finds them by id, and
// AwaitAnyTermination returns as soon as any query of the session has
// terminated (with its error), until ResetTerminated forgets them.
func TestStreamsManager(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := NewSessionWith(Config{Allocator: mem})
	m := s.Streams()
	if got := m.Active(); len(got) != 0 {
		t.Fatalf("Active before any start: %v", got)
	}
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	if err := m.AwaitAnyTermination(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AwaitAnyTermination with no queries: %v, want the context's deadline", err)
	}
	cancelShort()

	start := func(name string, sink sinks.Sink, in *memsrc.Stream) *StreamingQuery {
		t.Helper()
		q, err := s.ReadStream(in).WriteStream().Sink(sink).QueryName(name).
			Option("checkpointLocation", t.TempDir()).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	inA := memsrc.NewArrowStream("a", idSchema)
	defer inA.Close()
	inB := memsrc.NewArrowStream("b", idSchema)
	defer inB.Close()
	qb := start("b", &countSink{}, inB)
	qa := start("a", &countSink{}, inA)
	names := func() []string {
		var out []string
		for _, q := range m.Active() {
			out = append(out, q.Name())
		}
		return out
	}
	if got := names(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("Active names %v, want [a b] (sorted by name)", got)
	}
	if m.Get(qa.ID()) != qa || m.Get(qb.ID()) != qb || m.Get("no-such-id") != nil {
		t.Fatal("Get does not find the queries by id")
	}
	if qa.ID() == qb.ID() || qa.RunID() == qb.RunID() {
		t.Fatal("two queries share an id")
	}
	short, cancelShort = context.WithTimeout(ctx, 50*time.Millisecond)
	if err := m.AwaitAnyTermination(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AwaitAnyTermination while both run: %v", err)
	}
	cancelShort()

	if err := qa.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.AwaitAnyTermination(ctx); err != nil {
		t.Fatalf("AwaitAnyTermination after a Stop: %v, want nil", err)
	}
	if got := names(); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("Active after stopping a: %v", got)
	}
	if m.Get(qa.ID()) != qa {
		t.Fatal("a terminated query is still found by Get until ResetTerminated")
	}
	m.ResetTerminated()
	if m.Get(qa.ID()) != nil {
		t.Fatal("ResetTerminated kept the stopped query")
	}

	// b fails: AwaitAnyTermination wakes up with its error.
	done := make(chan error, 1)
	go func() { done <- m.AwaitAnyTermination(ctx) }()
	boom := errors.New("sink down")
	inC := memsrc.NewArrowStream("c", idSchema)
	defer inC.Close()
	qc := start("c", &countSink{fail: boom}, inC)
	addIDs(t, mem, inC, 7)
	select {
	case err := <-done:
		if !errors.Is(err, boom) {
			t.Fatalf("AwaitAnyTermination: %v, want the failed query's error", err)
		}
	case <-ctx.Done():
		t.Fatal("AwaitAnyTermination did not return when a query failed")
	}
	if qc.IsActive() {
		t.Fatal("the failed query is still active")
	}
	if err := qb.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if got := m.Active(); len(got) != 0 {
		t.Fatalf("Active after all stopped: %d queries", len(got))
	}
}

// The progress JSON has every key of Spark's StreamingQueryProgress that
// the engine reports, with Spark's types; eventTime appears with a
// watermark only (Spark omits an empty map).
func TestStreamProgressJSON(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := NewSessionWith(Config{Allocator: mem})
	in := memsrc.NewArrowStream("clicks", idSchema)
	defer in.Close()
	q, err := s.ReadStream(in).Filter("id > 1").WriteStream().Sink(&countSink{}).QueryName("shape").
		Option("checkpointLocation", t.TempDir()).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	addIDs(t, mem, in, 1, 2, 3)
	if err := q.ProcessAllAvailable(ctx); err != nil {
		t.Fatal(err)
	}
	p := q.LastProgress()
	if p == nil {
		t.Fatal("no progress after a batch")
	}
	for name, text := range map[string]string{"JSON": p.JSON(), "PrettyJSON": p.PrettyJSON()} {
		var m map[string]any
		if err := json.Unmarshal([]byte(text), &m); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, text)
		}
		want := map[string]string{
			"id": "string", "runId": "string", "name": "string", "timestamp": "string",
			"batchId": "number", "batchDuration": "number", "numInputRows": "number",
			"inputRowsPerSecond": "number", "processedRowsPerSecond": "number",
			"durationMs": "object", "stateOperators": "array", "sources": "array", "sink": "object",
		}
		checkKeys(t, name, m, want, "eventTime")
		if m["id"] != q.ID() || m["runId"] != q.RunID() || m["name"] != "shape" || m["batchId"] != 0.0 || m["numInputRows"] != 3.0 {
			t.Errorf("%s: values %v", name, m)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", m["timestamp"].(string)); err != nil {
			t.Errorf("%s: timestamp %q is not Spark's ISO-8601 UTC with milliseconds", name, m["timestamp"])
		}
		dur := m["durationMs"].(map[string]any)
		for _, k := range []string{"latestOffset", "getBatch", "queryPlanning", "addBatch", "walCommit", "commitOffsets", "triggerExecution"} {
			if _, ok := dur[k].(float64); !ok {
				t.Errorf("%s: durationMs.%s missing or not a number: %v", name, k, dur)
			}
		}
		srcs := m["sources"].([]any)
		if len(srcs) != 1 {
			t.Fatalf("%s: sources %v", name, srcs)
		}
		checkKeys(t, name+" sources[0]", srcs[0].(map[string]any), map[string]string{
			"description": "string", "startOffset": "null", "endOffset": "object", "latestOffset": "object",
			"numInputRows": "number", "inputRowsPerSecond": "number", "processedRowsPerSecond": "number",
		}, "metrics", "backlog")
		checkKeys(t, name+" sink", m["sink"].(map[string]any), map[string]string{"description": "string", "numOutputRows": "number"}, "metrics")
		if n := m["sink"].(map[string]any)["numOutputRows"]; n != 2.0 {
			t.Errorf("%s: sink.numOutputRows %v, want 2", name, n)
		}
	}

	// With a watermark the report has eventTime, as Spark's.
	ts := arrow.NewSchema([]arrow.Field{{Name: "ts", Type: arrow.FixedWidthTypes.Timestamp_us}}, nil)
	in2 := memsrc.NewArrowStream("events", ts)
	defer in2.Close()
	q2, err := s.ReadStream(in2).WithWatermark("ts", "10 seconds").WriteStream().Sink(&countSink{}).
		Option("checkpointLocation", t.TempDir()).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Stop(ctx)
	b := array.NewTimestampBuilder(mem, arrow.FixedWidthTypes.Timestamp_us.(*arrow.TimestampType))
	b.Append(arrow.Timestamp(time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC).UnixMicro()))
	col := b.NewArray()
	b.Release()
	rb := array.NewRecordBatch(ts, []arrow.Array{col}, 1)
	col.Release()
	if _, err := in2.AddBatch(rb); err != nil {
		t.Fatal(err)
	}
	rb.Release()
	if err := q2.ProcessAllAvailable(ctx); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(q2.LastProgress().JSON()), &m); err != nil {
		t.Fatal(err)
	}
	et, ok := m["eventTime"].(map[string]any)
	if !ok {
		t.Fatalf("no eventTime with a watermark: %s", q2.LastProgress().PrettyJSON())
	}
	for _, k := range []string{"min", "max", "avg", "watermark"} {
		if _, ok := et[k].(string); !ok {
			t.Errorf("eventTime.%s missing: %v", k, et)
		}
	}
}

// checkKeys says which of want's keys are missing from m or have another
// JSON type, and which keys m has beyond want and optional.
func checkKeys(t *testing.T, what string, m map[string]any, want map[string]string, optional ...string) {
	t.Helper()
	kind := func(v any) string {
		switch v.(type) {
		case nil:
			return "null"
		case string:
			return "string"
		case float64:
			return "number"
		case bool:
			return "bool"
		case []any:
			return "array"
		case map[string]any:
			return "object"
		}
		return fmt.Sprintf("%T", v)
	}
	for k, typ := range want {
		v, ok := m[k]
		if !ok {
			t.Errorf("%s: key %q missing", what, k)
			continue
		}
		if got := kind(v); got != typ {
			t.Errorf("%s: %q is a %s, want a %s", what, k, got, typ)
		}
	}
	for k := range m {
		if _, ok := want[k]; !ok && !slices.Contains(optional, k) {
			t.Errorf("%s: unexpected key %q", what, k)
		}
	}
}
