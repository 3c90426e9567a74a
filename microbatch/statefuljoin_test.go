package microbatch

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
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

// joinRig runs batches of a stream-stream join straight through its
// operator, over local input, with a real checkpoint directory. Both sides
// are (k STRING, ts TIMESTAMP, v BIGINT), aliased l and r; ts carries a
// watermark when wm is set.
type joinRig struct {
	t      testing.TB
	mem    *memory.CheckedAllocator
	dir    string
	schema *arrow.Schema
	typ    plan.JoinType
	cond   string
	wm     [2]bool
	nparts int
	op     *joinOperator
	ck     checkpointStore
	last   StateOperator
	quiet  bool // run renders no rows (benchmarks)
	// batchSize is the task's batch size; small by default, so scans and
	// probes go in several pieces.
	batchSize int
}

func newJoinRig(t testing.TB, typ plan.JoinType, cond string, wm [2]bool, nparts int) *joinRig {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	r := &joinRig{t: t, mem: mem, dir: t.TempDir(), typ: typ, cond: cond, wm: wm, nparts: nparts,
		schema: arrow.NewSchema([]arrow.Field{
			{Name: "k", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "ts", Type: expr.Timestamp, Nullable: true},
			{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		}, nil)}
	r.open()
	t.Cleanup(func() {
		r.close()
		mem.AssertSize(t, 0)
	})
	return r
}

func (r *joinRig) open() {
	ctx := context.Background()
	ck, err := OpenCheckpoint(ctx, r.dir)
	if err != nil {
		r.t.Fatal(err)
	}
	n, err := r.node(nil, nil, true)
	if err != nil {
		r.t.Fatal(err)
	}
	op, err := openJoin(ctx, opEnv{ck: ck, nparts: r.nparts, mem: r.mem}, n)
	if err != nil {
		ck.Close()
		r.t.Fatal(err)
	}
	r.ck, r.op = ck, op.(*joinOperator)
}

func (r *joinRig) close() {
	if r.op != nil {
		r.op.close()
		r.ck.Close()
		r.op = nil
	}
}

func (r *joinRig) restart() {
	r.close()
	r.open()
}

// node builds the join over local batches (streaming: over streaming
// relations, for the checker).
func (r *joinRig) node(left, right []arrow.RecordBatch, streaming bool) (*plan.Join, error) {
	side := func(s int, batches []arrow.RecordBatch) plan.Node {
		attrs := make([]plan.Attribute, r.schema.NumFields())
		for i, f := range r.schema.Fields() {
			attrs[i] = plan.Attribute{Name: f.Name, Type: f.Type, Nullable: true}
		}
		var n plan.Node = &plan.LocalRelation{Attrs: attrs, Batches: batches, Name: sideName(s)}
		if streaming {
			n = &plan.StreamingRelation{Attrs: attrs, Name: sideName(s)}
		}
		if r.wm[s] {
			n = &plan.EventTimeWatermark{Child: n, Column: 1, Delay: time.Minute, ID: s}
		}
		return &plan.SubqueryAlias{Child: n, Alias: sideName(s)[:1]}
	}
	c, err := expr.ParseExpr(r.cond)
	if err != nil {
		return nil, err
	}
	j, err := plan.NewJoin(side(0, left), side(1, right), r.typ, c)
	if err != nil {
		return nil, err
	}
	j.StateOp = plan.StateOp{Stateful: true}
	return j, nil
}

// batch builds one input batch from rows "k ts-minutes v" ("-" is NULL).
func (r *joinRig) batch(rows ...string) arrow.RecordBatch {
	var js []string
	for _, row := range rows {
		f := strings.Fields(row)
		cell := func(s string, quote bool) string {
			if s == "-" {
				return "null"
			}
			if quote {
				return `"` + s + `"`
			}
			return s
		}
		ts := "null"
		if f[1] != "-" {
			var m int
			fmt.Sscan(f[1], &m)
			ts = `"` + minute(m).Format("2006-01-02T15:04:05Z") + `"`
		}
		js = append(js, fmt.Sprintf(`{"k":%s,"ts":%s,"v":%s}`, cell(f[0], true), ts, cell(f[2], false)))
	}
	b, _, err := array.RecordFromJSON(r.mem, r.schema, strings.NewReader("["+strings.Join(js, ",")+"]"))
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

func minute(m int) time.Time {
	return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(m) * time.Minute)
}

// run runs batch id with the watermark at minute wm (< 0: none), taking
// over the input; it returns the output rows sorted, cells space-separated,
// timestamps as minutes.
func (r *joinRig) run(id int64, wm int, left, right []arrow.RecordBatch) ([]string, error) {
	defer exec.ReleaseBatches(left)
	defer exec.ReleaseBatches(right)
	var wmUs int64
	if wm >= 0 {
		wmUs = minute(wm).UnixMicro()
	}
	n, err := r.node(left, right, false)
	if err != nil {
		return nil, err
	}
	opt, err := plan.Optimize(n)
	if err != nil {
		return nil, err
	}
	pl := &exec.Planner{Partitions: 2}
	op, err := r.op.operator(opt, pl.Plan, batchInfo{batchID: id, watermarkUs: wmUs, lateUs: wmUs, mode: sinks.Append})
	if err != nil {
		return nil, err
	}
	tc := exec.NewTaskContext(r.mem, time.Unix(0, 0))
	tc.BatchSize = 2
	if r.batchSize > 0 {
		tc.BatchSize = r.batchSize
	}
	out, err := exec.Collect(context.Background(), tc, op)
	if err != nil {
		return nil, err
	}
	defer exec.ReleaseBatches(out)
	r.last = r.op.metrics()
	if r.quiet {
		return nil, nil
	}
	return joinRowStrings(out), nil
}

func joinRowStrings(out []arrow.RecordBatch) []string {
	var rows []string
	for _, b := range out {
		for i := 0; i < int(b.NumRows()); i++ {
			var cells []string
			for _, c := range b.Columns() {
				s := c.ValueStr(i)
				if ts, ok := c.(*array.Timestamp); ok && ts.IsValid(i) {
					s = fmt.Sprint(int(ts.Value(i).ToTime(arrow.Microsecond).Sub(minute(0)) / time.Minute))
				}
				cells = append(cells, s)
			}
			rows = append(rows, strings.Join(cells, " "))
		}
	}
	slices.Sort(rows)
	return rows
}

func (r *joinRig) mustRun(id int64, wm int, left, right []arrow.RecordBatch) []string {
	r.t.Helper()
	rows, err := r.run(id, wm, left, right)
	if err != nil {
		r.t.Fatalf("batch %d: %v", id, err)
	}
	return rows
}

func (r *joinRig) bs(rows ...string) []arrow.RecordBatch {
	if len(rows) == 0 {
		return nil
	}
	return []arrow.RecordBatch{r.batch(rows...)}
}

func TestJoinInnerAcrossBatchesAndRestart(t *testing.T) {
	r := newJoinRig(t, plan.InnerJoin, "l.k = r.k", [2]bool{}, 3)
	got := r.mustRun(0, -1, r.bs("a 0 1", "b 0 2", "- 0 3", "a 1 4"), r.bs("a 5 10", "c 5 11", "- 5 12"))
	wantRows(t, "batch 0", got, "a 0 1 a 5 10", "a 1 4 a 5 10")
	if r.last.NumRowsTotal != 5 || r.last.NumRowsUpdated != 5 {
		t.Errorf("batch 0 metrics %+v: want 5 rows buffered (NULL keys are not)", r.last)
	}
	got = r.mustRun(1, -1, r.bs("c 2 5"), r.bs("b 6 13", "a 6 14"))
	wantRows(t, "batch 1", got, "c 2 5 c 5 11", "b 0 2 b 6 13", "a 0 1 a 6 14", "a 1 4 a 6 14")
	r.restart()
	got = r.mustRun(2, -1, r.bs("a 3 6"), nil)
	wantRows(t, "batch 2 after restart", got, "a 3 6 a 5 10", "a 3 6 a 6 14")
	// Empty batches and a no-data batch.
	wantRows(t, "batch 3", r.mustRun(3, -1, []arrow.RecordBatch{r.batch()}, nil))
	if r.last.NumRowsTotal != 9 {
		t.Errorf("after batch 3: %d rows buffered, want 9", r.last.NumRowsTotal)
	}
}

// A left outer join emits a left row with NULLs once the watermark shows
// no right row can match it, and never a match afterwards.
func TestJoinLeftOuterEmitsUnmatchedOnEviction(t *testing.T) {
	r := newJoinRig(t, plan.LeftOuterJoin, "l.k = r.k AND r.ts BETWEEN l.ts AND l.ts + INTERVAL 10 MINUTES", [2]bool{true, true}, 2)
	got := r.mustRun(0, -1, r.bs("a 0 1", "b 0 2", "- 0 3"), r.bs("a 5 10"))
	// The NULL-key row can never match: out at once.
	wantRows(t, "batch 0", got, "a 0 1 a 5 10", "(null) 0 3 (null) (null) (null)")
	// Watermark 10: a right row to come has ts > 10 (late is at or below
	// the watermark, as in Spark), so left rows with ts <= 0 are done: b 0
	// never matched. Right rows with ts <= 10 are done too.
	got = r.mustRun(1, 10, nil, r.bs("c 12 11"))
	wantRows(t, "batch 1", got, "b 0 2 (null) (null) (null)")
	if r.last.NumRowsRemoved != 3 {
		t.Errorf("batch 1 metrics %+v: want a 0, b 0 and the right a 5 evicted", r.last)
	}
	// c 9 is late (watermark 11) and dropped; c 12 meets r.ts 12.
	got = r.mustRun(2, 11, r.bs("c 9 3", "c 12 4"), nil)
	wantRows(t, "batch 2", got, "c 12 4 c 12 11")
	r.restart()
	// A late right row (ts 5 <= watermark 11) is dropped, not matched.
	got = r.mustRun(3, 11, nil, r.bs("c 5 12", "c 11 13"))
	wantRows(t, "batch 3", got)
	if r.last.NumRowsDroppedByWatermark != 2 {
		t.Errorf("batch 3 metrics %+v: want 2 late rows", r.last)
	}
	got = r.mustRun(4, 100, nil, nil)
	wantRows(t, "batch 4", got)
	if r.last.NumRowsTotal != 0 {
		t.Errorf("batch 4: %d rows still buffered", r.last.NumRowsTotal)
	}
}

func TestJoinRightAndFullOuter(t *testing.T) {
	cond := "l.k = r.k AND l.ts >= r.ts AND l.ts <= r.ts + INTERVAL 1 HOUR"
	r := newJoinRig(t, plan.RightOuterJoin, cond, [2]bool{true, true}, 2)
	wantRows(t, "right 0", r.mustRun(0, -1, r.bs("a 30 1"), r.bs("a 0 10", "b 0 11", "a 40 12")), "a 30 1 a 0 10")
	wantRows(t, "right 1", r.mustRun(1, 101, nil, nil), "(null) (null) (null) b 0 11", "(null) (null) (null) a 40 12")

	f := newJoinRig(t, plan.FullOuterJoin, cond, [2]bool{true, true}, 1)
	wantRows(t, "full 0", f.mustRun(0, -1, f.bs("a 30 1", "c 30 2"), f.bs("a 0 10", "b 0 11")), "a 30 1 a 0 10")
	wantRows(t, "full 1", f.mustRun(1, 1000, nil, nil), "c 30 2 (null) (null) (null)", "(null) (null) (null) b 0 11")
	if f.last.NumRowsTotal != 0 {
		t.Errorf("full: %d rows still buffered", f.last.NumRowsTotal)
	}
}

// Left semi emits each left row once, when it first finds a match.
func TestJoinLeftSemi(t *testing.T) {
	r := newJoinRig(t, plan.LeftSemiJoin, "l.k = r.k", [2]bool{}, 2)
	wantRows(t, "batch 0", r.mustRun(0, -1, r.bs("a 0 1", "a 0 2", "b 0 3"), r.bs("a 0 10", "a 0 11")), "a 0 1", "a 0 2")
	wantRows(t, "batch 1", r.mustRun(1, -1, r.bs("a 0 4"), r.bs("b 0 12", "b 0 13")), "a 0 4", "b 0 3")
	wantRows(t, "batch 2", r.mustRun(2, -1, nil, r.bs("b 0 14", "a 0 15")))
	if r.last.NumRowsTotal != 6 {
		t.Errorf("semi: %d rows buffered, want the 6 right rows (matched left rows are dropped)", r.last.NumRowsTotal)
	}
}

// A window key on the watermarked column bounds both sides: rows of a
// window the watermark closed are evicted.
func TestJoinWindowKeyEviction(t *testing.T) {
	r := newJoinRig(t, plan.InnerJoin, "l.k = r.k AND window(l.ts, '10 minutes') = window(r.ts, '10 minutes')", [2]bool{true, true}, 2)
	wantRows(t, "batch 0", r.mustRun(0, -1, r.bs("a 1 1", "a 12 2"), r.bs("a 5 10")), "a 1 1 a 5 10")
	wantRows(t, "batch 1", r.mustRun(1, 10, nil, r.bs("a 15 11")), "a 12 2 a 15 11")
	if r.last.NumRowsTotal != 2 || r.last.NumRowsRemoved != 2 {
		t.Errorf("batch 1 metrics %+v: want the [0, 10) window's 2 rows evicted", r.last)
	}
}

// Many rows of one key, removed out of order, keep the key's indexes
// dense: later probes still find every row.
func TestJoinCompactionKeepsEveryRow(t *testing.T) {
	r := newJoinRig(t, plan.InnerJoin, "l.k = r.k AND r.ts BETWEEN l.ts AND l.ts + INTERVAL 100 MINUTES", [2]bool{true, true}, 1)
	var rows []string
	for i := 0; i < 40; i++ {
		// Event times out of order, so eviction leaves holes anywhere.
		rows = append(rows, fmt.Sprintf("a %d %d", (i*17)%40, i))
	}
	r.mustRun(0, -1, r.bs(rows...), nil)
	// Watermark 120: left rows with ts <= 120 - 100 go.
	r.mustRun(1, 120, nil, nil)
	if r.last.NumRowsTotal != 19 || r.last.NumRowsRemoved != 21 {
		t.Fatalf("metrics %+v: want 21 of 40 rows evicted", r.last)
	}
	r.restart()
	got := r.mustRun(2, 120, nil, r.bs("a 121 0"))
	if len(got) != 19 {
		t.Fatalf("a probe found %d rows, want the 19 left rows with ts in [21, 40): %q", len(got), got)
	}
}

func TestJoinRules(t *testing.T) {
	for _, c := range []struct {
		cond        string
		left, right string
	}{
		{"l.k = r.k", "", ""},
		{"l.k = r.k AND r.ts BETWEEN l.ts - INTERVAL 5 MINUTES AND l.ts + INTERVAL 10 MINUTES",
			"ts <= watermark - 10m0s", "ts <= watermark - 5m0s"},
		{"l.k = r.k AND l.ts >= r.ts AND l.ts <= r.ts + INTERVAL 1 HOUR", "ts <= watermark", "ts <= watermark - 1h0m0s"},
		// Strict: one microsecond more.
		{"l.k = r.k AND l.ts > r.ts + INTERVAL 1 DAY", "ts <= watermark + 24h0m0.000001s", ""},
		{"l.k = r.k AND r.ts + INTERVAL '30' SECONDS < l.ts", "ts <= watermark + 30.000001s", ""},
		{"l.k = r.k AND l.ts = r.ts", "ts <= watermark; ts <= watermark", "ts <= watermark; ts <= watermark"},
		// Months have no fixed length: no bound.
		{"l.k = r.k AND l.ts >= r.ts - INTERVAL 1 MONTH", "", ""},
	} {
		r := newJoinRig(t, plan.InnerJoin, c.cond, [2]bool{true, true}, 1)
		n, err := r.node(nil, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		jc, err := analyzeJoin(n)
		if err != nil {
			t.Fatalf("%s: %v", c.cond, err)
		}
		for s, want := range []string{c.left, c.right} {
			var got []string
			for _, rule := range jc.rules[s] {
				got = append(got, rule.desc)
			}
			if g := strings.Join(got, "; "); g != want {
				t.Errorf("%s: %s rules %q, want %q", c.cond, sideName(s), g, want)
			}
		}
	}
}

func TestJoinCheckRefuses(t *testing.T) {
	rangeCond := "l.k = r.k AND r.ts BETWEEN l.ts AND l.ts + INTERVAL 10 MINUTES"
	for _, c := range []struct {
		typ  plan.JoinType
		cond string
		wm   [2]bool
		mode sinks.OutputMode
		want string // "" accepted
	}{
		{plan.InnerJoin, "l.k = r.k", [2]bool{}, sinks.Append, ""},
		{plan.InnerJoin, "l.k = r.k", [2]bool{}, sinks.Update, "update output mode is not supported for a join of two streams"},
		{plan.InnerJoin, "l.v < r.v", [2]bool{}, sinks.Append, "no equality between a left and a right column"},
		{plan.LeftAntiJoin, "l.k = r.k", [2]bool{}, sinks.Append, "LeftAnti join of two streams is not supported"},
		{plan.LeftOuterJoin, "l.k = r.k", [2]bool{true, true}, sinks.Append, "LeftOuter join of two streams emits a left row padded with NULLs only once"},
		{plan.LeftOuterJoin, rangeCond, [2]bool{true, false}, sinks.Append, "add WithWatermark on the right stream"},
		{plan.LeftOuterJoin, rangeCond, [2]bool{false, true}, sinks.Append, ""},
		{plan.RightOuterJoin, rangeCond, [2]bool{true, false}, sinks.Append, ""},
		{plan.FullOuterJoin, rangeCond, [2]bool{true, false}, sinks.Append, "FullOuter join of two streams emits a left row"},
		{plan.FullOuterJoin, rangeCond, [2]bool{true, true}, sinks.Append, ""},
		{plan.LeftSemiJoin, "l.k = r.k", [2]bool{}, sinks.Append, ""},
	} {
		r := &joinRig{t: t, typ: c.typ, cond: c.cond, wm: c.wm, schema: arrow.NewSchema([]arrow.Field{
			{Name: "k", Type: arrow.BinaryTypes.String}, {Name: "ts", Type: expr.Timestamp}, {Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)}
		n, err := r.node(nil, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		err = Check(n, c.mode)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s %s %v: %v", c.typ, c.cond, c.wm, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, plan.ErrUnsupported)):
			t.Errorf("%s %s %v: error %v, want %q", c.typ, c.cond, c.wm, err, c.want)
		}
	}
}

// joinModel is the batch answer: every pair of all input rows that
// satisfies the condition, plus unmatched rows of an outer side.
func joinModel(typ plan.JoinType, left, right [][3]int, match func(l, r [3]int) bool) []string {
	row := func(x *[3]int) []string {
		if x == nil {
			return []string{"(null)", "(null)", "(null)"}
		}
		return []string{fmt.Sprintf("k%d", x[0]), fmt.Sprint(x[1]), fmt.Sprint(x[2])}
	}
	var out []string
	rm := make([]bool, len(right))
	for _, l := range left {
		hit := false
		for j, r := range right {
			if l[0] == r[0] && match(l, r) {
				hit, rm[j] = true, true
				if typ != plan.LeftSemiJoin {
					out = append(out, strings.Join(append(row(&l), row(&r)...), " "))
				}
			}
		}
		switch {
		case typ == plan.LeftSemiJoin && hit:
			out = append(out, strings.Join(row(&l), " "))
		case !hit && (typ == plan.LeftOuterJoin || typ == plan.FullOuterJoin):
			out = append(out, strings.Join(append(row(&l), row(nil)...), " "))
		}
	}
	if typ == plan.RightOuterJoin || typ == plan.FullOuterJoin {
		for j, r := range right {
			if !rm[j] {
				out = append(out, strings.Join(append(row(nil), row(&r)...), " "))
			}
		}
	}
	slices.Sort(out)
	return out
}

// The stream's output over random batches, with restarts and eviction,
// equals the batch join over all input once the watermark passed it all.
func TestJoinMatchesBatchJoin(t *testing.T) {
	cases := []struct {
		typ   plan.JoinType
		cond  string
		match func(l, r [3]int) bool
	}{
		{plan.InnerJoin, "l.k = r.k", func(l, r [3]int) bool { return true }},
		{plan.InnerJoin, "l.k = r.k AND r.ts BETWEEN l.ts - INTERVAL 5 MINUTES AND l.ts + INTERVAL 10 MINUTES AND l.v <> r.v",
			func(l, r [3]int) bool { return r[1] >= l[1]-5 && r[1] <= l[1]+10 && l[2] != r[2] }},
		{plan.LeftOuterJoin, "l.k = r.k AND r.ts BETWEEN l.ts - INTERVAL 5 MINUTES AND l.ts + INTERVAL 10 MINUTES",
			func(l, r [3]int) bool { return r[1] >= l[1]-5 && r[1] <= l[1]+10 }},
		{plan.RightOuterJoin, "l.k = r.k AND l.ts >= r.ts AND l.ts <= r.ts + INTERVAL 20 MINUTES",
			func(l, r [3]int) bool { return l[1] >= r[1] && l[1] <= r[1]+20 }},
		{plan.FullOuterJoin, "l.k = r.k AND l.ts > r.ts - INTERVAL 3 MINUTES AND l.ts < r.ts + INTERVAL 3 MINUTES",
			func(l, r [3]int) bool { return l[1] > r[1]-3 && l[1] < r[1]+3 }},
		{plan.LeftSemiJoin, "l.k = r.k AND r.ts BETWEEN l.ts AND l.ts + INTERVAL 10 MINUTES",
			func(l, r [3]int) bool { return r[1] >= l[1] && r[1] <= l[1]+10 }},
	}
	for ci, c := range cases {
		for seed := int64(0); seed < 3; seed++ {
			t.Run(fmt.Sprintf("%s/%d/seed%d", c.typ, ci, seed), func(t *testing.T) {
				t.Parallel() // the time goes to fsyncs
				rng := rand.New(rand.NewSource(seed*100 + int64(ci)))
				r := newJoinRig(t, c.typ, c.cond, [2]bool{true, true}, 1+int(seed%3))
				var all [2][][3]int
				var got []string
				wm := -1
				v := 0
				nb := 6 + rng.Intn(6)
				for id := 0; id < nb; id++ {
					// Rows of batch id have ts in [id*5, id*5+20); the
					// watermark trails them, so none is late.
					var in [2][]arrow.RecordBatch
					for s := 0; s < 2; s++ {
						var rows []string
						for k := rng.Intn(8); k > 0; k-- {
							x := [3]int{rng.Intn(4), id*5 + rng.Intn(20), v}
							v++
							all[s] = append(all[s], x)
							rows = append(rows, fmt.Sprintf("k%d %d %d", x[0], x[1], x[2]))
						}
						if len(rows) > 0 {
							in[s] = append(in[s], r.batch(rows...))
						}
					}
					got = append(got, r.mustRun(int64(id), wm, in[0], in[1])...)
					wm = id*5 + 4 // the next batch's rows are above it
					if rng.Intn(3) == 0 {
						r.restart()
					}
				}
				got = append(got, r.mustRun(int64(nb), 10000, nil, nil)...)
				slices.Sort(got)
				want := joinModel(c.typ, all[0], all[1], c.match)
				if !slices.Equal(got, want) {
					t.Errorf("stream output differs from the batch join:\n got %q\nwant %q", got, want)
				}
				if c.typ != plan.InnerJoin || ci > 0 {
					if r.last.NumRowsTotal != 0 {
						t.Errorf("%d rows still buffered after the final watermark", r.last.NumRowsTotal)
					}
				}
			})
		}
	}
}

// BenchmarkStreamJoin runs batches of 20k rows a side through an inner
// join with a range condition and a moving watermark (about 60k rows
// stay buffered), reporting input rows per second.
func BenchmarkStreamJoin(b *testing.B) {
	r := newJoinRig(b, plan.InnerJoin, "l.k = r.k AND r.ts BETWEEN l.ts AND l.ts + INTERVAL 10 MINUTES", [2]bool{true, true}, 1)
	r.quiet, r.batchSize = true, 1<<16
	const n = 20000
	mk := func(id int) arrow.RecordBatch {
		kb := array.NewStringBuilder(r.mem)
		tb := array.NewTimestampBuilder(r.mem, expr.Timestamp)
		vb := array.NewInt64Builder(r.mem)
		for i := 0; i < n; i++ {
			kb.Append(fmt.Sprintf("k%d", (i*7919+id)%5000))
			tb.Append(arrow.Timestamp(minute(id*10).UnixMicro() + int64(i)*30_000))
			vb.Append(int64(i))
		}
		cols := []arrow.Array{kb.NewArray(), tb.NewArray(), vb.NewArray()}
		kb.Release()
		tb.Release()
		vb.Release()
		defer exec.ReleaseArrays(cols)
		return array.NewRecordBatch(r.schema, cols, n)
	}
	b.ResetTimer()
	rows := 0
	for it := 0; it < b.N; it++ {
		id := it
		if _, err := r.run(int64(id), id*10-15, []arrow.RecordBatch{mk(id)}, []arrow.RecordBatch{mk(id + 1)}); err != nil {
			b.Fatal(err)
		}
		rows += 2 * n
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// A query whose buffered columns or partition count changed is refused
// when its state is opened (at Start), naming the store and column.
func TestJoinStateShapeIsChecked(t *testing.T) {
	r := newJoinRig(t, plan.InnerJoin, "l.k = r.k", [2]bool{}, 2)
	r.mustRun(0, -1, r.bs("a 0 1"), r.bs("a 0 2"))
	r.close()
	ctx := context.Background()
	reopen := func(r *joinRig) error {
		ck, err := OpenCheckpoint(ctx, r.dir)
		if err != nil {
			t.Fatal(err)
		}
		defer ck.Close()
		n, err := r.node(nil, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		op, err := openJoin(ctx, opEnv{ck: ck, nparts: r.nparts, mem: r.mem}, n)
		if err == nil {
			op.close()
		}
		return err
	}
	r2 := *r
	r2.schema = arrow.NewSchema([]arrow.Field{
		{Name: "k", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "ts", Type: expr.Timestamp, Nullable: true},
		{Name: "v", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	if err := reopen(&r2); !errors.Is(err, state.ErrSchemaChanged) || !strings.Contains(err.Error(), "keyWithIndexToValue") {
		t.Errorf("changed column type: %v, want ErrSchemaChanged naming the store", err)
	}
	r3 := *r
	r3.nparts = 3
	if err := reopen(&r3); !errors.Is(err, state.ErrPartitionsChanged) {
		t.Errorf("changed partitions: %v, want ErrPartitionsChanged", err)
	}
	r.open() // for the cleanup
}
