package exec

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/plan"
)

var sessionSchema = arrow.NewSchema([]arrow.Field{
	{Name: "k", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "ts", Type: expr.Timestamp, Nullable: true},
	{Name: "gap", Type: expr.Interval, Nullable: true},
	{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
}, nil)

// oracleSessions sessionizes rows the slow way: per key, sort by ts, and
// extend the session while the next row starts at or before its end.
// Output rows: k, start, end, count(*), sum(v), max(v).
func oracleSessions(rows [][]any, keyed bool) [][]any {
	type item struct {
		ts, end int64
		v       any
	}
	by := map[any][]item{}
	var keys []any
	for _, r := range rows {
		if r[1] == nil || r[2] == nil {
			continue
		}
		ts := int64(r[1].(arrow.Timestamp))
		g := r[2].(arrow.MonthDayNanoInterval)
		end := ts + int64(g.Days)*86_400_000_000 + g.Nanoseconds/1000
		if end <= ts {
			continue
		}
		var k any
		if keyed {
			k = r[0]
		}
		if _, ok := by[k]; !ok {
			keys = append(keys, k)
		}
		by[k] = append(by[k], item{ts, end, r[3]})
	}
	var out [][]any
	for _, k := range keys {
		its := by[k]
		slices.SortStableFunc(its, func(a, b item) int { return cmp.Compare(a.ts, b.ts) })
		for i := 0; i < len(its); {
			start, end := its[i].ts, its[i].end
			n, sum, mx := int64(0), int64(0), int64(0)
			seen := false
			j := i
			for ; j < len(its) && its[j].ts <= end; j++ {
				end = max(end, its[j].end)
				n++
				if v, ok := its[j].v.(int64); ok {
					sum += v
					if !seen || v > mx {
						mx = v
					}
					seen = true
				}
			}
			var s, m any
			if seen {
				s, m = sum, mx
			}
			row := []any{arrow.Timestamp(start), arrow.Timestamp(end), n, s, m}
			if keyed {
				row = append([]any{k}, row...)
			}
			out = append(out, row)
			i = j
		}
	}
	return out
}

func randSessionRows(r *rand.Rand, n int) [][]any {
	rows := make([][]any, n)
	clock := int64(0)
	for i := range rows {
		clock += int64(r.IntN(3)) * 1_000_000
		var k, ts, gap, v any
		if r.IntN(8) > 0 {
			k = int64(r.IntN(4))
		}
		if r.IntN(12) > 0 {
			ts = arrow.Timestamp(clock - int64(r.IntN(6))*1_000_000)
		}
		switch x := r.IntN(10); {
		case x == 0:
		case x == 1:
			gap = arrow.MonthDayNanoInterval{Nanoseconds: -int64(r.IntN(3)) * 1e9}
		default:
			gap = arrow.MonthDayNanoInterval{Nanoseconds: int64(1+r.IntN(5)) * 1e9}
		}
		if r.IntN(6) > 0 {
			v = int64(r.IntN(100))
		}
		rows[i] = []any{k, ts, gap, v}
	}
	return rows
}

// sessionPlan plans GROUP BY [k,] session_window(ts, gap) over the
// partitions, with count(*), sum(v), max(v).
func sessionPlan(t *testing.T, parts [][]arrow.RecordBatch, keyed bool, shuffle int) Operator {
	t.Helper()
	attrs := make([]plan.Attribute, sessionSchema.NumFields())
	for i, f := range sessionSchema.Fields() {
		attrs[i] = plan.Attribute{Name: f.Name, Type: f.Type, Nullable: true}
	}
	var all []arrow.RecordBatch
	for _, p := range parts {
		all = append(all, p...)
	}
	rel := &plan.LocalRelation{Attrs: attrs, Batches: all, Name: "in"}
	parse := func(s string) expr.Expr {
		e, err := expr.ParseExpr(s)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	var groups []expr.Expr
	if keyed {
		groups = append(groups, parse("k"))
	}
	groups = append(groups, parse("session_window(ts, gap)"))
	outs := append(append([]expr.Expr(nil), groups...), parse("count(*)"), parse("sum(v)"), parse("max(v)"))
	a, err := plan.NewAggregate(rel, groups, outs)
	if err != nil {
		t.Fatal(err)
	}
	// Flatten the session struct for comparison.
	var flat []expr.Expr
	out := a.Output()
	for i, at := range out {
		r := plan.RefOf(at, i)
		if at.Name == "session_window" {
			flat = append(flat, parse("session_window.start"), parse("session_window.end"))
			continue
		}
		flat = append(flat, r)
	}
	p, err := plan.NewProject(a, flat)
	if err != nil {
		t.Fatal(err)
	}
	op, err := (&Planner{Partitions: shuffle}).Plan(p)
	if err != nil {
		t.Fatal(err)
	}
	return op
}

func sortRows(rows [][]any) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprint(r...)
	}
	slices.Sort(out)
	return out
}

func TestSessionAggregateRandom(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		r := rand.New(rand.NewPCG(seed, 3))
		rows := randSessionRows(r, r.IntN(60))
		for _, keyed := range []bool{true, false} {
			want := sortRows(oracleSessions(rows, keyed))
			for _, shuffle := range []int{1, 3} {
				mem := newMem()
				parts := splitRows(t, mem, sessionSchema, rows, 1+r.IntN(3), 1+r.IntN(5))
				op := sessionPlan(t, parts, keyed, shuffle)
				got := sortRows(run(t, mem, op, 1+r.IntN(4)))
				for _, p := range parts {
					releaseBatches(p)
				}
				mem.AssertSize(t, 0)
				if !slices.Equal(got, want) {
					t.Fatalf("seed %d keyed=%v shuffle=%d:\n got %s\nwant %s\nplan:\n%s", seed, keyed, shuffle,
						strings.Join(got, "\n     "), strings.Join(want, "\n     "), Explain(op))
				}
			}
		}
	}
}

// The merger reads sliced inputs (offsets in the struct and its fields)
// and keeps NULL sessions out.
func TestSessionMergerSlicedStates(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	aggs := sessionAggs(t)
	m, err := NewSessionMerger(mem, []arrow.DataType{arrow.PrimitiveTypes.Int64}, aggs)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release()
	keys := mkInt64(mem, []any{int64(9), int64(1), int64(1), int64(2), int64(1)})
	defer keys.Release()
	sess := SessionArray(mem, []arrow.Timestamp{0, 10, 25, 10, 5}, []arrow.Timestamp{0, 20, 30, 15, 12})
	defer sess.Release()
	counts := mkInt64(mem, []any{int64(100), int64(1), int64(2), int64(3), int64(4)})
	defer counts.Release()
	// Rows 1..4: key 1 [10,20) [25,30) [5,12): [5,20) and [25,30); key 2 [10,15).
	ks, ss, cs := array.NewSlice(keys, 1, 5), array.NewSlice(sess, 1, 5), array.NewSlice(counts, 1, 5)
	defer ks.Release()
	defer ss.Release()
	defer cs.Release()
	if err := m.AddStates([]arrow.Array{ks}, ss, []arrow.Array{cs}); err != nil {
		t.Fatal(err)
	}
	if err := m.Merge(); err != nil {
		t.Fatal(err)
	}
	k, s, a, err := m.Emit(mem, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	cols := append(append(k, s), a...)
	defer releaseArrays(cols)
	var got []string
	for i := 0; i < s.Len(); i++ {
		st := s.(*array.Struct)
		got = append(got, fmt.Sprintf("%v [%v,%v) %v", expr.ValueAt(k[0], i), st.Field(0).(*array.Timestamp).Value(i),
			st.Field(1).(*array.Timestamp).Value(i), expr.ValueAt(a[0], i)))
	}
	want := []string{"1 [5,20) 5", "1 [25,30) 2", "2 [10,15) 3"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// sessionAggs is count(*) bound for the merger tests.
func sessionAggs(t *testing.T) []*expr.AggCall {
	t.Helper()
	e, err := plan.Resolve(&expr.Call{Name: "count", Star: true}, nil, true, "test")
	if err != nil {
		t.Fatal(err)
	}
	return []*expr.AggCall{e.(*expr.AggCall)}
}

func mkInt64(mem memory.Allocator, vals []any) arrow.Array {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	for _, v := range vals {
		if v == nil {
			b.AppendNull()
		} else {
			b.Append(v.(int64))
		}
	}
	return b.NewArray()
}

func TestSessionAggregateEmptyAndAllNull(t *testing.T) {
	for _, rows := range [][][]any{
		nil,
		{{int64(1), nil, arrow.MonthDayNanoInterval{Nanoseconds: 1e9}, int64(1)}, {int64(1), arrow.Timestamp(5), nil, int64(2)}},
	} {
		for _, keyed := range []bool{true, false} {
			mem := newMem()
			parts := splitRows(t, mem, sessionSchema, rows, 2, 1)
			if len(rows) == 0 {
				parts = [][]arrow.RecordBatch{{mkBatch(t, mem, sessionSchema, nil)}}
			}
			got := run(t, mem, sessionPlan(t, parts, keyed, 3), 0)
			for _, p := range parts {
				releaseBatches(p)
			}
			if len(got) != 0 {
				t.Errorf("keyed=%v rows %v: got %v, want no sessions", keyed, rows, got)
			}
			mem.AssertSize(t, 0)
		}
	}
}

// BenchmarkSessionAggregate: 1M rows in event-time order, 10K users,
// count and sum per session, one partition.
func BenchmarkSessionAggregate(b *testing.B) {
	const n, users = 1 << 20, 10_000
	mem := memory.NewGoAllocator()
	r := rand.New(rand.NewPCG(1, 2))
	kb := array.NewInt64Builder(mem)
	tb := array.NewTimestampBuilder(mem, expr.Timestamp)
	gb := array.NewMonthDayNanoIntervalBuilder(mem)
	vb := array.NewInt64Builder(mem)
	for i := 0; i < n; i++ {
		kb.Append(int64(r.IntN(users)))
		tb.Append(arrow.Timestamp(int64(i) * 10_000))
		gb.AppendNull()
		vb.Append(int64(i))
	}
	cols := []arrow.Array{kb.NewArray(), tb.NewArray(), gb.NewArray(), vb.NewArray()}
	batch := array.NewRecordBatch(sessionSchema, cols, n)
	var parts [][]arrow.RecordBatch
	for lo := int64(0); lo < n; lo += 65536 {
		parts = append(parts, []arrow.RecordBatch{batch.NewSlice(lo, lo+65536)})
	}
	attrs := make([]plan.Attribute, sessionSchema.NumFields())
	for i, f := range sessionSchema.Fields() {
		attrs[i] = plan.Attribute{Name: f.Name, Type: f.Type, Nullable: true}
	}
	var all []arrow.RecordBatch
	for _, p := range parts {
		all = append(all, p...)
	}
	rel := &plan.LocalRelation{Attrs: attrs, Batches: all, Name: "in"}
	groups := []expr.Expr{expr.Col("k"), expr.NewCall("session_window", expr.Col("ts"), expr.Lit("5 seconds"))}
	outs := append(append([]expr.Expr(nil), groups...), &expr.Call{Name: "count", Star: true}, expr.NewCall("sum", expr.Col("v")))
	a, err := plan.NewAggregate(rel, groups, outs)
	if err != nil {
		b.Fatal(err)
	}
	op, err := (&Planner{Partitions: 1}).Plan(a)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		countRows(b, mem, op)
	}
	reportPerRow(b, n, cpu0)
}
