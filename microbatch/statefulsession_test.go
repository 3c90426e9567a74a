package microbatch

import (
	"context"
	"fmt"
	"math/rand/v2"
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
	"github.com/sluicehq/sluice/sinks"
)

// sessionRig runs batches of a streaming session-window aggregation
// straight through its operator, over local input, with a real
// checkpoint directory and a checked allocator.
type sessionRig struct {
	t      *testing.T
	mem    *memory.CheckedAllocator
	dir    string
	schema *arrow.Schema
	// keyed groups by user besides the session; gap is the session gap
	// expression (SQL), per row or literal.
	keyed  bool
	gap    string
	mode   sinks.OutputMode
	nparts int
	op     *sessionOperator
	ck     checkpointStore
	last   StateOperator
}

func newSessionRig(t *testing.T, keyed bool, gap string, mode sinks.OutputMode, nparts int) *sessionRig {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	r := &sessionRig{t: t, mem: mem, dir: t.TempDir(), keyed: keyed, gap: gap, mode: mode, nparts: nparts,
		schema: arrow.NewSchema([]arrow.Field{
			{Name: "user", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "ts", Type: expr.Timestamp, Nullable: true},
			{Name: "gap", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		}, nil)}
	r.open()
	t.Cleanup(func() {
		r.close()
		mem.AssertSize(t, 0)
	})
	return r
}

func (r *sessionRig) open() {
	ctx := context.Background()
	ck, err := OpenCheckpoint(ctx, r.dir)
	if err != nil {
		r.t.Fatal(err)
	}
	op, err := openSession(ctx, opEnv{ck: ck, nparts: r.nparts, mem: r.mem}, r.node(nil))
	if err != nil {
		ck.Close()
		r.t.Fatal(err)
	}
	r.ck, r.op = ck, op.(*sessionOperator)
}

func (r *sessionRig) close() {
	if r.op != nil {
		r.op.close()
		r.ck.Close()
		r.op = nil
	}
}

// restart drops the in-memory state: the next batch restores it.
func (r *sessionRig) restart() {
	r.close()
	r.open()
}

// node is the aggregation over batches: GROUP BY [user,] session_window(ts,
// gap) with count, sum, min(ts) and max(v).
func (r *sessionRig) node(batches []arrow.RecordBatch) *plan.Aggregate {
	attrs := make([]plan.Attribute, r.schema.NumFields())
	for i, f := range r.schema.Fields() {
		attrs[i] = plan.Attribute{Name: f.Name, Type: f.Type, Nullable: true}
	}
	var child plan.Node = &plan.LocalRelation{Attrs: attrs, Batches: batches, Name: "in"}
	child = &plan.EventTimeWatermark{Child: child, Column: 1, Delay: time.Minute}
	parse := func(s string) expr.Expr {
		e, err := expr.ParseExpr(s)
		if err != nil {
			r.t.Fatal(err)
		}
		return e
	}
	var groups []expr.Expr
	if r.keyed {
		groups = append(groups, parse("user"))
	}
	groups = append(groups, parse("session_window(ts, "+r.gap+")"))
	outs := append(append([]expr.Expr(nil), groups...),
		parse("count(*) AS n"), parse("sum(v) AS s"), parse("min(ts) AS first"), parse("max(v) AS mx"))
	a, err := plan.NewAggregate(child, groups, outs)
	if err != nil {
		r.t.Fatal(err)
	}
	if a.Session == nil {
		r.t.Fatal("no session window in the aggregation")
	}
	a.StateOp = plan.StateOp{Stateful: true}
	return a
}

func (r *sessionRig) batch(rows ...string) arrow.RecordBatch {
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

// run runs batch id at watermark wmUs (0: none), taking over the input;
// it returns the output rows sorted, "user start end n s first mx" each.
func (r *sessionRig) run(id int64, wmUs int64, in ...arrow.RecordBatch) ([]string, error) {
	defer exec.ReleaseBatches(in)
	pl := &exec.Planner{Partitions: 2}
	op, err := r.op.operator(r.node(in), pl.Plan, batchInfo{batchID: id, watermarkUs: wmUs, lateUs: wmUs, mode: r.mode})
	if err != nil {
		return nil, err
	}
	tc := exec.NewTaskContext(r.mem, time.Unix(0, 0))
	tc.BatchSize = 3 // several scans and slices
	out, err := exec.Collect(context.Background(), tc, op)
	if err != nil {
		return nil, err
	}
	defer exec.ReleaseBatches(out)
	r.last = r.op.metrics()
	var rows []string
	for _, b := range out {
		for i := 0; i < int(b.NumRows()); i++ {
			var cells []string
			if !r.keyed {
				cells = append(cells, "-")
			}
			for _, col := range b.Columns() {
				if s, ok := col.(*array.Struct); ok {
					cells = append(cells, s.Field(0).ValueStr(i), s.Field(1).ValueStr(i))
					continue
				}
				cells = append(cells, col.ValueStr(i))
			}
			rows = append(rows, strings.Join(cells, " "))
		}
	}
	slices.Sort(rows)
	return rows, nil
}

func (r *sessionRig) mustRun(id int64, wmUs int64, in ...arrow.RecordBatch) []string {
	r.t.Helper()
	rows, err := r.run(id, wmUs, in...)
	if err != nil {
		r.t.Fatalf("batch %d: %v", id, err)
	}
	return rows
}

func at(s string) int64 {
	t, err := time.Parse(time.DateTime, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMicro()
}

func TestSessionMergesAcrossBatchesAndRestarts(t *testing.T) {
	r := newSessionRig(t, true, "'30 seconds'", sinks.Append, 3)
	got := r.mustRun(0, 0,
		r.batch(`{"user":"a","ts":"2026-01-01 00:00:00","v":1}`, `{"user":"a","ts":"2026-01-01 00:00:50","v":2}`),
		r.batch(`slice=1:3`, `{"user":"z","ts":"2026-01-01 00:00:00","v":0}`, `{"user":"b","ts":"2026-01-01 00:00:10","v":3}`,
			`{"user":null,"ts":"2026-01-01 00:00:10","v":4}`, `{"user":"z","ts":"2026-01-01 00:00:00","v":0}`),
		r.batch(`{"user":"c","ts":null,"v":5}`),
	)
	wantRows(t, "batch 0", got)
	if m := r.last; m.NumRowsTotal != 4 || m.NumRowsUpdated != 4 {
		t.Errorf("batch 0 metrics %+v", m)
	}
	r.restart()
	// 00:00:25 joins a's two sessions.
	got = r.mustRun(1, at("2026-01-01 00:00:20"), r.batch(`{"user":"a","ts":"2026-01-01 00:00:25","v":10}`,
		`{"user":"b","ts":"2026-01-01 00:00:19","v":100}`)) // late: ts <= watermark
	wantRows(t, "batch 1", got)
	if m := r.last; m.NumRowsTotal != 3 || m.NumRowsUpdated != 1 || m.NumRowsRemoved != 1 || m.NumRowsDroppedByWatermark != 1 {
		t.Errorf("batch 1 metrics %+v", m)
	}
	r.restart()
	got = r.mustRun(2, at("2026-01-01 00:01:00"))
	wantRows(t, "batch 2", got,
		"(null) 2026-01-01T00:00:10Z 2026-01-01T00:00:40Z 1 4 2026-01-01T00:00:10Z 4",
		"b 2026-01-01T00:00:10Z 2026-01-01T00:00:40Z 1 3 2026-01-01T00:00:10Z 3")
	got = r.mustRun(3, at("2026-01-01 00:01:20"))
	wantRows(t, "batch 3", got, "a 2026-01-01T00:00:00Z 2026-01-01T00:01:20Z 3 13 2026-01-01T00:00:00Z 10")
	if m := r.last; m.NumRowsTotal != 0 || m.NumRowsRemoved != 1 {
		t.Errorf("batch 3 metrics %+v", m)
	}
}

// A batch run again after a restart (a crash before its commit) emits
// and stores the same rows.
func TestSessionReplayIsDeterministic(t *testing.T) {
	r := newSessionRig(t, true, "gap", sinks.Append, 3)
	input := func() []arrow.RecordBatch {
		var bs []arrow.RecordBatch
		for i := 0; i < 5; i++ {
			bs = append(bs, r.batch(
				fmt.Sprintf(`{"user":"u%d","ts":"2026-01-01 00:00:%02d","gap":"%d seconds","v":%d}`, i%3, 10*i, 5+i, i),
				fmt.Sprintf(`{"user":"u%d","ts":"2026-01-01 00:01:%02d","gap":"1 minute","v":%d}`, i%2, 5*i, 10+i)))
		}
		return bs
	}
	r.mustRun(0, 0, r.batch(`{"user":"u0","ts":"2026-01-01 00:00:00","gap":"1 minute","v":0}`))
	first := r.mustRun(1, at("2026-01-01 00:01:00"), input()...)
	for i := 0; i < 3; i++ {
		r.restart()
		again := r.mustRun(1, at("2026-01-01 00:01:00"), input()...)
		wantRows(t, "replayed batch 1", again, first...)
	}
	if len(first) == 0 {
		t.Fatal("batch 1 emitted nothing; the test wants a closed session")
	}
}

// The randomised model: rows with random users, times, and per-row gaps
// (some NULL or not positive), split into batches, late rows among them,
// restarts between batches. Each batch must emit exactly the sessions of
// the accepted rows that its watermark closed and no earlier batch
// emitted (append), or all sessions of all rows (complete).
func TestSessionAgainstModel(t *testing.T) {
	for _, tc := range []struct {
		name  string
		keyed bool
		gap   string
		mode  sinks.OutputMode
	}{
		{"append_keyed_row_gap", true, "gap", sinks.Append},
		{"append_global_row_gap", false, "gap", sinks.Append},
		{"append_keyed_literal", true, "'7 seconds'", sinks.Append},
		{"complete_keyed_row_gap", true, "gap", sinks.Complete},
		{"complete_global_literal", false, "INTERVAL 4 SECONDS", sinks.Complete},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := uint64(1); seed <= 3; seed++ {
				runSessionModel(t, seed, tc.keyed, tc.gap, tc.mode)
				if t.Failed() {
					t.Fatalf("seed %d", seed)
				}
			}
		})
	}
}

type modelRow struct {
	user  string // "" is NULL
	ts    int64  // seconds after base; -1 is NULL
	gap   int64  // seconds; -999 is NULL
	v     int64
	batch int
}

func runSessionModel(t *testing.T, seed uint64, keyed bool, gapExpr string, mode sinks.OutputMode) {
	rng := rand.New(rand.NewPCG(seed, 7))
	nparts := 1 + int(seed%3)
	r := newSessionRig(t, keyed, gapExpr, mode, nparts)
	literal := map[string]int64{"'7 seconds'": 7, "INTERVAL 4 SECONDS": 4}[gapExpr]
	base := at("2026-01-01 00:00:00")
	users := []string{"a", "b", "c", ""}
	gaps := []int64{1, 3, 5, 10, 0, -2, -999}
	var rows []modelRow
	var wms []int64 // watermark (µs) of each batch; 0: none
	maxTs := int64(-1)
	emitted := map[string]bool{}
	clock := int64(0)
	for b := 0; b < 12; b++ {
		wm := int64(0)
		if maxTs >= 0 {
			wm = base + (maxTs-5)*1_000_000 // delay 5 s
			if len(wms) > 0 && wms[len(wms)-1] > wm {
				wm = wms[len(wms)-1]
			}
		}
		wms = append(wms, wm)
		var in []string
		for i := rng.IntN(6); i > 0; i-- {
			clock += int64(rng.IntN(4))
			m := modelRow{user: users[rng.IntN(len(users))], ts: clock - int64(rng.IntN(9)), gap: gaps[rng.IntN(len(gaps))], v: int64(rng.IntN(100)), batch: b}
			if m.ts < 0 {
				m.ts = 0
			}
			if rng.IntN(15) == 0 {
				m.ts = -1
			}
			if literal > 0 {
				m.gap = literal
			}
			rows = append(rows, m)
			in = append(in, m.json())
			if m.ts > maxTs {
				maxTs = m.ts
			}
		}
		var batches []arrow.RecordBatch
		if len(in) > 0 {
			batches = append(batches, r.batch(in...))
		}
		got := r.mustRun(int64(b), wm, batches...)
		// The expected output.
		var accepted []modelRow
		for _, m := range rows {
			late := mode == sinks.Append && wms[m.batch] > 0 && m.ts >= 0 && base+m.ts*1_000_000 <= wms[m.batch]
			if !late {
				accepted = append(accepted, m)
			}
		}
		var want []string
		for _, s := range modelSessions(accepted, keyed, base) {
			if mode == sinks.Complete {
				want = append(want, s.text)
				continue
			}
			if wm > 0 && s.end <= wm && !emitted[s.text] {
				want = append(want, s.text)
			}
		}
		wantRows(t, fmt.Sprintf("seed %d batch %d (wm %d)", seed, b, wm), got, want...)
		for _, s := range want {
			emitted[s] = true
		}
		if rng.IntN(4) == 0 {
			r.restart()
		}
	}
}

func (m modelRow) json() string {
	var parts []string
	if m.user != "" {
		parts = append(parts, fmt.Sprintf(`"user":%q`, m.user))
	}
	if m.ts >= 0 {
		parts = append(parts, `"ts":"`+time.UnixMicro(at("2026-01-01 00:00:00")+m.ts*1_000_000).UTC().Format(time.DateTime)+`"`)
	}
	if m.gap != -999 {
		parts = append(parts, fmt.Sprintf(`"gap":"%d seconds"`, m.gap))
	}
	parts = append(parts, fmt.Sprintf(`"v":%d`, m.v))
	return "{" + strings.Join(parts, ",") + "}"
}

type modelSession struct {
	end  int64
	text string
}

// modelSessions sessionizes rows the slow way: per user, sort by ts, merge
// while the next start is at or before the running end.
func modelSessions(rows []modelRow, keyed bool, base int64) []modelSession {
	by := map[string][]modelRow{}
	for _, m := range rows {
		if m.ts < 0 || m.gap == -999 || m.gap <= 0 {
			continue
		}
		k := "-"
		if keyed {
			k = m.user
			if k == "" {
				k = "(null)"
			}
		}
		by[k] = append(by[k], m)
	}
	us := func(sec int64) int64 { return base + sec*1_000_000 }
	ts := func(sec int64) string { return time.UnixMicro(us(sec)).UTC().Format(time.RFC3339) }
	var out []modelSession
	for k, rs := range by {
		slices.SortStableFunc(rs, func(a, b modelRow) int { return int(a.ts - b.ts) })
		for i := 0; i < len(rs); {
			start, end := rs[i].ts, rs[i].ts+rs[i].gap
			n, sum, mx := 0, int64(0), int64(-1)
			j := i
			for ; j < len(rs) && rs[j].ts <= end; j++ {
				end = max(end, rs[j].ts+rs[j].gap)
				n++
				sum += rs[j].v
				mx = max(mx, rs[j].v)
			}
			out = append(out, modelSession{end: us(end),
				text: fmt.Sprintf("%s %s %s %d %d %s %d", k, ts(start), ts(end), n, sum, ts(start), mx)})
			i = j
		}
	}
	return out
}
