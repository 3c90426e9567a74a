package microbatch

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/exec"
	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/plan"
	"github.com/sluicehq/sluice/microbatch/state"
	"github.com/sluicehq/sluice/sinks"
)

// dedupRig runs batches of a streaming deduplication straight through its
// operator, over local input, with a real checkpoint directory.
type dedupRig struct {
	t      *testing.T
	mem    *memory.CheckedAllocator
	dir    string
	schema *arrow.Schema
	keys   []string
	delay  time.Duration // watermark delay on ts; 0: no watermark
	within bool
	nparts int
	op     *dedupOperator
	ck     checkpointStore
	last   StateOperator // metrics after the last batch
}

func newDedupRig(t *testing.T, unit arrow.TimeUnit, keys []string, delay time.Duration, within bool) *dedupRig {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	r := &dedupRig{t: t, mem: mem, dir: t.TempDir(), keys: keys, delay: delay, within: within, nparts: 3,
		schema: arrow.NewSchema([]arrow.Field{
			{Name: "user", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "ts", Type: &arrow.TimestampType{Unit: unit, TimeZone: "UTC"}, Nullable: true},
			{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		}, nil)}
	r.open()
	t.Cleanup(func() {
		r.close()
		mem.AssertSize(t, 0)
	})
	return r
}

func (r *dedupRig) open() {
	ctx := context.Background()
	ck, err := OpenCheckpoint(ctx, r.dir)
	if err != nil {
		r.t.Fatal(err)
	}
	op, err := openDedup(ctx, opEnv{ck: ck, nparts: r.nparts, mem: r.mem}, r.node(nil))
	if err != nil {
		ck.Close()
		r.t.Fatal(err)
	}
	r.ck, r.op = ck, op.(*dedupOperator)
}

func (r *dedupRig) close() {
	if r.op != nil {
		r.op.close()
		r.ck.Close()
		r.op = nil
	}
}

// restart drops the in-memory state: the next batch restores it from the
// checkpoint.
func (r *dedupRig) restart() {
	r.close()
	r.open()
}

func (r *dedupRig) node(batches []arrow.RecordBatch) *plan.Deduplicate {
	attrs := make([]plan.Attribute, r.schema.NumFields())
	for i, f := range r.schema.Fields() {
		attrs[i] = plan.Attribute{Name: f.Name, Type: f.Type, Nullable: true}
	}
	var child plan.Node = &plan.LocalRelation{Attrs: attrs, Batches: batches, Name: "in"}
	if r.delay > 0 {
		child = &plan.EventTimeWatermark{Child: child, Column: 1, Delay: r.delay}
	}
	d := &plan.Deduplicate{Child: child, WithinWatermark: r.within, StateOp: plan.StateOp{Stateful: true}}
	for _, k := range r.keys {
		e, err := plan.Resolve(expr.Col(k), child.Output(), false, "test")
		if err != nil {
			r.t.Fatal(err)
		}
		d.Keys = append(d.Keys, e)
	}
	return d
}

// batch builds one input batch from JSON rows; "slice=lo:hi" as the first
// row keeps only those rows (an input with an offset).
func (r *dedupRig) batch(rows ...string) arrow.RecordBatch {
	lo, hi := -1, -1
	if len(rows) > 0 && strings.HasPrefix(rows[0], "slice=") {
		fmt.Sscanf(rows[0], "slice=%d:%d", &lo, &hi)
		rows = rows[1:]
	}
	text := tsText.ReplaceAllString("["+strings.Join(rows, ",")+"]", `"${1}Z"`)
	b, _, err := array.RecordFromJSON(r.mem, r.schema, strings.NewReader(text))
	if err != nil {
		r.t.Fatal(err)
	}
	if lo >= 0 {
		defer b.Release()
		return b.NewSlice(int64(lo), int64(hi))
	}
	return b
}

// tsText is a timestamp in the JSON rows, which arrow wants with a zone.
var tsText = regexp.MustCompile(`"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)"`)

// run runs batch id with the watermark at wm ("" for none), taking over
// the input batches; it returns the output rows sorted, one "user ts n"
// string each.
func (r *dedupRig) run(id int64, wm string, in ...arrow.RecordBatch) ([]string, error) {
	defer exec.ReleaseBatches(in)
	var wmUs int64
	if wm != "" {
		t, err := time.Parse(time.DateTime, wm)
		if err != nil {
			r.t.Fatal(err)
		}
		wmUs = t.UnixMicro()
	}
	pl := &exec.Planner{Partitions: 2}
	op, err := r.op.operator(r.node(in), pl.Plan, batchInfo{batchID: id, watermarkUs: wmUs, lateUs: wmUs, mode: sinks.Append})
	if err != nil {
		return nil, err
	}
	tc := exec.NewTaskContext(r.mem, time.Unix(0, 0))
	tc.BatchSize = 2 // several scans during eviction
	out, err := exec.Collect(context.Background(), tc, op)
	if err != nil {
		return nil, err
	}
	defer exec.ReleaseBatches(out)
	r.last = r.op.metrics()
	var rows []string
	for _, b := range out {
		if !b.Schema().Equal(r.schema) {
			r.t.Errorf("output schema %s, want %s", b.Schema(), r.schema)
		}
		for i := 0; i < int(b.NumRows()); i++ {
			var cells []string
			for _, c := range b.Columns() {
				cells = append(cells, c.ValueStr(i))
			}
			rows = append(rows, strings.Join(cells, " "))
		}
	}
	slices.Sort(rows)
	return rows, nil
}

func (r *dedupRig) mustRun(id int64, wm string, in ...arrow.RecordBatch) []string {
	r.t.Helper()
	rows, err := r.run(id, wm, in...)
	if err != nil {
		r.t.Fatalf("batch %d: %v", id, err)
	}
	return rows
}

func wantRows(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

type dedupCounts struct{ total, updated, removed, dropped int64 }

func (r *dedupRig) counts() dedupCounts {
	m := r.last
	return dedupCounts{m.NumRowsTotal, m.NumRowsUpdated, m.NumRowsRemoved, m.NumRowsDroppedByWatermark}
}

func TestDedupKeepsKeysAcrossBatchesAndRestarts(t *testing.T) {
	r := newDedupRig(t, arrow.Microsecond, []string{"user"}, 0, false)
	got := r.mustRun(0, "",
		r.batch(`{"user":"a","n":1}`, `{"user":"b","n":2}`),
		r.batch(`slice=1:4`, `{"user":"z","n":0}`, `{"user":"a","n":3}`, `{"user":null,"n":4}`, `{"user":"c","n":5}`, `{"user":"z","n":0}`),
		r.batch(`{"user":null,"n":6}`),
		r.batch(),
	)
	// Input partitions: batches 0 and 2, then 1 and 3: "first" is a 1,
	// NULL 6.
	wantRows(t, "batch 0", got, "a (null) 1", "b (null) 2", "(null) (null) 6", "c (null) 5")
	if c := r.counts(); c != (dedupCounts{total: 4, updated: 4}) {
		t.Errorf("batch 0 metrics %+v", c)
	}
	got = r.mustRun(1, "", r.batch(`{"user":"a","n":7}`, `{"user":"d","n":8}`, `{"user":null,"n":9}`))
	wantRows(t, "batch 1", got, "d (null) 8")
	r.restart()
	got = r.mustRun(2, "", r.batch(`{"user":"d","n":10}`, `{"user":"e","n":11}`, `{"user":"b","n":12}`))
	wantRows(t, "batch 2 after restart", got, "e (null) 11")
	if c := r.counts(); c.total != 6 || c.updated != 1 {
		t.Errorf("batch 2 metrics %+v", c)
	}
	// No-data batch.
	wantRows(t, "batch 3", r.mustRun(3, ""))
}

// A batch run again (after a crash before its commit was logged) emits and
// stores the same rows: its delta file is checked against the re-run.
func TestDedupReplayIsDeterministic(t *testing.T) {
	for _, within := range []bool{false, true} {
		t.Run(fmt.Sprint("within=", within), func(t *testing.T) {
			r := newDedupRig(t, arrow.Microsecond, []string{"user"}, 10*time.Minute, within)
			input := func() []arrow.RecordBatch {
				var bs []arrow.RecordBatch
				for i := 0; i < 6; i++ {
					bs = append(bs, r.batch(
						fmt.Sprintf(`{"user":"u%d","ts":"2026-01-01 00:%02d:00","n":%d}`, i%3, 10+i, i),
						fmt.Sprintf(`{"user":"v%d","ts":"2026-01-01 00:%02d:00","n":%d}`, i%2, 20+i, 10+i)))
				}
				return bs
			}
			r.mustRun(0, "", r.batch(`{"user":"x","ts":"2026-01-01 00:00:00","n":0}`))
			first := r.mustRun(1, "", input()...)
			if len(first) != 5 {
				t.Fatalf("batch 1: %q, want 5 rows", first)
			}
			for i := 0; i < 3; i++ {
				r.restart()
				again := r.mustRun(1, "", input()...)
				wantRows(t, "replayed batch 1", again, first...)
			}
		})
	}
}

func TestDedupWatermarkDropsLateRowsAndEvicts(t *testing.T) {
	r := newDedupRig(t, arrow.Microsecond, []string{"user", "ts"}, 10*time.Minute, false)
	got := r.mustRun(0, "",
		r.batch(`{"user":"a","ts":"2026-01-01 00:00:00","n":1}`, `{"user":"a","ts":"2026-01-01 00:00:00","n":2}`,
			`{"user":"a","ts":"2026-01-01 00:05:00","n":3}`, `{"user":"b","ts":"2026-01-01 00:20:00","n":4}`,
			`{"user":"c","ts":null,"n":5}`))
	wantRows(t, "batch 0", got, "a 2026-01-01T00:00:00Z 1", "a 2026-01-01T00:05:00Z 3", "b 2026-01-01T00:20:00Z 4", "c (null) 5")
	// Watermark 00:05: rows at or below it are late (as in Spark), and
	// (a, 00:00) and (a, 00:05) are evicted; NULL is never late.
	got = r.mustRun(1, "2026-01-01 00:05:00",
		r.batch(`{"user":"a","ts":"2026-01-01 00:00:00","n":6}`, `{"user":"a","ts":"2026-01-01 00:04:59","n":7}`,
			`{"user":"a","ts":"2026-01-01 00:05:00","n":8}`, `{"user":"c","ts":null,"n":9}`, `{"user":"d","ts":"2026-01-01 00:30:00","n":10}`))
	wantRows(t, "batch 1", got, "d 2026-01-01T00:30:00Z 10")
	if c := r.counts(); c != (dedupCounts{total: 3, updated: 1, removed: 2, dropped: 3}) {
		t.Errorf("batch 1 metrics %+v", c)
	}
	r.restart()
	// A no-data batch with a later watermark evicts what it passed.
	wantRows(t, "batch 2", r.mustRun(2, "2026-01-01 00:25:00"))
	if c := r.counts(); c != (dedupCounts{total: 2, removed: 1}) {
		t.Errorf("batch 2 metrics %+v", c)
	}
}

func TestDedupWithinWatermark(t *testing.T) {
	for _, unit := range []arrow.TimeUnit{arrow.Microsecond, arrow.Millisecond, arrow.Nanosecond} {
		t.Run(unit.String(), func(t *testing.T) {
			r := newDedupRig(t, unit, []string{"user"}, 10*time.Minute, true)
			got := r.mustRun(0, "",
				r.batch(`{"user":"a","ts":"2026-01-01 00:00:00","n":1}`, `{"user":"a","ts":"2026-01-01 00:20:00","n":2}`,
					`{"user":"b","ts":"2026-01-01 00:08:00","n":3}`, `{"user":"c","ts":null,"n":4}`))
			if len(got) != 3 || !strings.HasSuffix(got[0], " 1") {
				t.Fatalf("batch 0: %q", got)
			}
			// Watermark 00:09: a expires at 00:10, b at 00:18; the NULL
			// event time of c expires at once.
			got = r.mustRun(1, "2026-01-01 00:09:00",
				r.batch(`{"user":"a","ts":"2026-01-01 00:09:30","n":5}`, `{"user":"b","ts":"2026-01-01 00:01:00","n":6}`))
			wantRows(t, "batch 1", got)
			if c := r.counts(); c != (dedupCounts{total: 2, removed: 1, dropped: 1}) {
				t.Errorf("batch 1 metrics %+v", c)
			}
			r.restart()
			// Watermark 00:10 reaches a's expiry: a is forgotten, but (as
			// in Spark) only after the batch's rows were deduplicated.
			got = r.mustRun(2, "2026-01-01 00:10:00", r.batch(`{"user":"a","ts":"2026-01-01 00:30:00","n":7}`, `{"user":"c","ts":"2026-01-01 00:30:00","n":8}`))
			if len(got) != 1 || !strings.HasPrefix(got[0], "c ") {
				t.Errorf("batch 2: %q, want only c", got)
			}
			if c := r.counts(); c != (dedupCounts{total: 2, updated: 1, removed: 1}) {
				t.Errorf("batch 2 metrics %+v", c)
			}
			got = r.mustRun(3, "2026-01-01 00:10:00", r.batch(`{"user":"a","ts":"2026-01-01 00:30:00","n":9}`, `{"user":"b","ts":"2026-01-01 00:30:00","n":10}`))
			if len(got) != 1 || !strings.HasPrefix(got[0], "a ") || !strings.HasSuffix(got[0], " 9") {
				t.Errorf("batch 3: %q, want a's row 9 (its key expired)", got)
			}
			if c := r.counts(); c != (dedupCounts{total: 3, updated: 1}) {
				t.Errorf("batch 3 metrics %+v", c)
			}
		})
	}
}

// The event time of a window key is its end, of a timestamp key the
// timestamp (in µs, whatever the unit); NULL never expires.
func TestDedupKeyEventTime(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	win := arrow.StructOf(arrow.Field{Name: "start", Type: expr.Timestamp, Nullable: true}, arrow.Field{Name: "end", Type: expr.Timestamp, Nullable: true})
	col, _, err := array.FromJSON(mem, win, strings.NewReader(tsText.ReplaceAllString(`[{"start":"2026-01-01 00:00:00","end":"2026-01-01 00:05:00"},
		null, {"start":"2026-01-01 00:05:00","end":"2026-01-01 00:10:00"}, {"start":null,"end":null}]`, `"${1}Z"`)))
	if err != nil {
		t.Fatal(err)
	}
	defer col.Release()
	ms, _, err := array.FromJSON(mem, &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, strings.NewReader(`[null, "2026-01-01T00:05:00Z", "2026-01-01T00:10:00Z", null]`))
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Release()
	at := func(m int) int64 { return time.Date(2026, 1, 1, 0, m, 0, 0, time.UTC).UnixMicro() }
	out := make([]int64, 4)
	if err := dedupKeyTime(1)([]arrow.Array{ms, col}, nil, out); err != nil || !slices.Equal(out, []int64{at(5), state.NoEventTime, at(10), state.NoEventTime}) {
		t.Errorf("window key times %v, %v", out, err)
	}
	if err := dedupKeyTime(0)([]arrow.Array{ms, col}, nil, out); err != nil || !slices.Equal(out, []int64{state.NoEventTime, at(5), at(10), state.NoEventTime}) {
		t.Errorf("ms timestamp key times %v, %v", out, err)
	}
	if err := dedupKeyTime(0)([]arrow.Array{ms, col}, []int{2, 1}, out[:2]); err != nil || !slices.Equal(out[:2], []int64{at(10), at(5)}) {
		t.Errorf("selected rows' times %v, %v", out[:2], err)
	}
}

func TestCheckDedupWithinNeedsWatermark(t *testing.T) {
	r := &dedupRig{t: t, keys: []string{"user"}, within: true, schema: arrow.NewSchema([]arrow.Field{
		{Name: "user", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "ts", Type: expr.Timestamp, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)}
	err := checkDedup(r.node(nil), sinks.Append)
	if !errors.Is(err, plan.ErrUnsupported) || !strings.Contains(err.Error(), "WithWatermark") {
		t.Errorf("within, no watermark: %v", err)
	}
	r.delay = time.Minute
	if err := checkDedup(r.node(nil), sinks.Update); err != nil {
		t.Errorf("within, watermark: %v", err)
	}
	r.within, r.delay = false, 0
	if err := checkDedup(r.node(nil), sinks.Append); err != nil {
		t.Errorf("plain: %v", err)
	}
}

// A Deduplicate without keys compares whole rows, as the batch operator.
func TestDedupWithoutKeysUsesEveryColumn(t *testing.T) {
	r := newDedupRig(t, arrow.Microsecond, nil, 0, false)
	got := r.mustRun(0, "", r.batch(`{"user":"a","n":1}`, `{"user":"a","n":1}`, `{"user":"a","n":2}`, `{"user":null,"ts":null,"n":null}`),
		r.batch(`{"user":null,"ts":null,"n":null}`))
	wantRows(t, "batch 0", got, "a (null) 1", "a (null) 2", "(null) (null) (null)")
	got = r.mustRun(1, "", r.batch(`{"user":"a","n":2}`, `{"user":"a","ts":"2026-01-01 00:00:00","n":2}`))
	wantRows(t, "batch 1", got, "a 2026-01-01T00:00:00Z 2")
}
