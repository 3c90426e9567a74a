package exec

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// testCond is a test-only resolved boolean expression over a joined row:
// every pair in eq must hold (non-NULL and equal) and, if less is set,
// column less[0] < column less[1] (NULL when either is NULL). It stands in
// for the planner's residual conditions, which need the function registry.
type testCond struct {
	eq   [][2]int
	less *[2]int
}

func (c *testCond) String() string {
	var parts []string
	for _, e := range c.eq {
		parts = append(parts, fmt.Sprintf("#%d = #%d", e[0], e[1]))
	}
	if c.less != nil {
		parts = append(parts, fmt.Sprintf("#%d < #%d", c.less[0], c.less[1]))
	}
	return strings.Join(parts, " AND ")
}
func (c *testCond) Children() []expr.Expr              { return nil }
func (c *testCond) WithChildren([]expr.Expr) expr.Expr { return c }
func (c *testCond) DataType() arrow.DataType           { return arrow.FixedWidthTypes.Boolean }
func (c *testCond) Nullable() bool                     { return true }

// eval is the row-level truth: true, false or nil (NULL).
func (c *testCond) eval(row []any) any {
	for _, e := range c.eq {
		x, y := row[e[0]], row[e[1]]
		if x == nil || y == nil || oracleCompare(x, y) != 0 {
			return false
		}
	}
	if c.less != nil {
		x, y := row[c.less[0]], row[c.less[1]]
		if x == nil || y == nil {
			return nil
		}
		return oracleCompare(x, y) < 0
	}
	return true
}

func (c *testCond) Eval(ec *expr.EvalContext, b arrow.RecordBatch) (arrow.Array, error) {
	bld := array.NewBooleanBuilder(ec.Mem)
	defer bld.Release()
	row := make([]any, b.NumCols())
	for i := 0; i < int(b.NumRows()); i++ {
		for k := range row {
			row[k] = expr.ValueAt(b.Column(k), i)
		}
		if err := expr.AppendValue(bld, c.eval(row)); err != nil {
			return nil, err
		}
	}
	return bld.NewArray(), nil
}

// oracleJoin is the reference: a plain nested loop over rows.
func oracleJoin(left, right [][]any, typ JoinType, lk, rk []int, cond *testCond) [][]any {
	nl, nr := joinLeftSchema.NumFields(), joinRightSchema.NumFields()
	match := func(l, r []any) bool {
		for i := range lk {
			x, y := l[lk[i]], r[rk[i]]
			if x == nil || y == nil || oracleCompare(x, y) != 0 {
				return false
			}
		}
		if cond == nil {
			return true
		}
		return cond.eval(slices.Concat(l, r)) == true
	}
	var out [][]any
	rightMatched := make([]bool, len(right))
	for _, l := range left {
		found := false
		for j, r := range right {
			if match(l, r) {
				found = true
				rightMatched[j] = true
				if typ != LeftSemi && typ != LeftAnti {
					out = append(out, slices.Concat(l, r))
				}
			}
		}
		switch {
		case typ == LeftSemi && found, typ == LeftAnti && !found:
			out = append(out, l)
		case !found && (typ == LeftOuter || typ == FullOuter):
			out = append(out, slices.Concat(l, make([]any, nr)))
		}
	}
	if typ == RightOuter || typ == FullOuter {
		for j, r := range right {
			if !rightMatched[j] {
				out = append(out, slices.Concat(make([]any, nl), r))
			}
		}
	}
	return out
}

// sortedRows renders rows and sorts them: join output order is not defined.
func sortedRows(rows [][]any) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprintf("%v", r)
	}
	slices.Sort(out)
	return out
}

var joinLeftSchema = arrow.NewSchema([]arrow.Field{
	{Name: "k1", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "k2", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
}, nil)

var joinRightSchema = arrow.NewSchema([]arrow.Field{
	{Name: "k1", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "k2", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "w", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
}, nil)

func randJoinRows(r *rand.Rand, n, domain int) [][]any {
	rows := make([][]any, n)
	for i := range rows {
		var k1, k2, v any
		if r.IntN(8) != 0 {
			k1 = int64(r.IntN(domain))
		}
		if r.IntN(8) != 0 {
			k2 = []string{"a", "b"}[r.IntN(2)]
		}
		if r.IntN(6) != 0 {
			v = int64(r.IntN(10))
		}
		rows[i] = []any{k1, k2, v}
	}
	return rows
}

var allJoinTypes = []JoinType{Inner, LeftOuter, RightOuter, FullOuter, LeftSemi, LeftAnti}

// TestJoinRandom compares hash and nested-loop joins with the oracle over
// random inputs: every join type and build side, one or two keys, with and
// without a residual condition, NULL keys, duplicates on both sides, empty
// sides, several probe partitions and small batches.
func TestJoinRandom(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(42, 1))
	for iter := 0; iter < 24; iter++ {
		nl, nr := r.IntN(60), r.IntN(40)
		if iter%10 == 0 {
			nl = 0
		}
		if iter%10 == 1 {
			nr = 0
		}
		domain := 1 + r.IntN(12)
		lrows, rrows := randJoinRows(r, nl, domain), randJoinRows(r, nr, domain)
		nkeys := 1 + r.IntN(2)
		lk, rk := []int{0, 1}[:nkeys], []int{0, 1}[:nkeys]
		var cond *testCond
		if r.IntN(2) == 0 {
			cond = &testCond{less: &[2]int{2, 5}} // left.v < right.w
		}
		lsrc := newBatchesOp(joinLeftSchema, splitRows(t, mem, joinLeftSchema, lrows, 1+r.IntN(3), 1+r.IntN(9)))
		rsrc := newBatchesOp(joinRightSchema, splitRows(t, mem, joinRightSchema, rrows, 1+r.IntN(3), 1+r.IntN(9)))
		bs := []int{1, 3, 16, 1000}[r.IntN(4)]
		for _, typ := range allJoinTypes {
			want := sortedRows(oracleJoin(lrows, rrows, typ, lk, rk, cond))
			for _, build := range []BuildSide{BuildRight, BuildLeft} {
				var lkeys, rkeys []expr.Expr
				for i := range lk {
					lkeys = append(lkeys, ref(joinLeftSchema, joinLeftSchema.Field(lk[i]).Name))
					rkeys = append(rkeys, ref(joinRightSchema, joinRightSchema.Field(rk[i]).Name))
				}
				var c expr.Expr
				if cond != nil {
					c = cond
				}
				op := NewHashJoin(lsrc, rsrc, typ, lkeys, rkeys, c, build)
				got := sortedRows(run(t, mem, op, bs))
				if !slices.Equal(got, want) {
					t.Fatalf("iter %d %s: got %d rows, want %d\ngot  %v\nwant %v", iter, op, len(got), len(want), got, want)
				}
			}
			// The same join as a nested loop over the whole condition.
			full := &testCond{}
			for i := range lk {
				full.eq = append(full.eq, [2]int{lk[i], 3 + rk[i]})
			}
			if cond != nil {
				full.less = cond.less
			}
			op := NewNestedLoopJoin(lsrc, rsrc, typ, full)
			got := sortedRows(run(t, mem, op, bs))
			if !slices.Equal(got, want) {
				t.Fatalf("iter %d %s: got %d rows, want %d\ngot  %v\nwant %v", iter, op, len(got), len(want), got, want)
			}
		}
		lsrc.release()
		rsrc.release()
	}
}

func TestCrossJoin(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(3, 3))
	lrows, rrows := randJoinRows(r, 13, 5), randJoinRows(r, 7, 5)
	lsrc := newBatchesOp(joinLeftSchema, splitRows(t, mem, joinLeftSchema, lrows, 2, 4))
	rsrc := newBatchesOp(joinRightSchema, splitRows(t, mem, joinRightSchema, rrows, 2, 3))
	defer lsrc.release()
	defer rsrc.release()
	for _, typ := range allJoinTypes {
		want := sortedRows(oracleJoin(lrows, rrows, typ, nil, nil, nil))
		got := sortedRows(run(t, mem, NewNestedLoopJoin(lsrc, rsrc, typ, nil), 5))
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %d rows, want %d", typ, len(got), len(want))
		}
	}
	if len(oracleJoin(lrows, rrows, Inner, nil, nil, nil)) != 13*7 {
		t.Fatal("oracle cross join size")
	}
}

// TestJoinSchema checks nullability of outer sides and semi/anti shape.
func TestJoinSchema(t *testing.T) {
	nonNull := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}}, nil)
	other := arrow.NewSchema([]arrow.Field{{Name: "b", Type: arrow.PrimitiveTypes.Int64}}, nil)
	l, r := newBatchesOp(nonNull, nil), newBatchesOp(other, nil)
	lk, rk := []expr.Expr{ref(nonNull, "a")}, []expr.Expr{ref(other, "b")}
	cases := []struct {
		typ  JoinType
		want string
	}{
		{Inner, "a:false b:false"},
		{LeftOuter, "a:false b:true"},
		{RightOuter, "a:true b:false"},
		{FullOuter, "a:true b:true"},
		{LeftSemi, "a:false"},
		{LeftAnti, "a:false"},
	}
	for _, c := range cases {
		s := NewHashJoin(l, r, c.typ, lk, rk, nil, BuildRight).Schema()
		var parts []string
		for _, f := range s.Fields() {
			parts = append(parts, fmt.Sprintf("%s:%v", f.Name, f.Nullable))
		}
		if got := strings.Join(parts, " "); got != c.want {
			t.Errorf("%s: got %s, want %s", c.typ, got, c.want)
		}
	}
}

func TestJoinExplain(t *testing.T) {
	l := newBatchesOp(arrow.NewSchema([]arrow.Field{{Name: "user_id", Type: arrow.PrimitiveTypes.Int64}}, nil), nil)
	r := newBatchesOp(arrow.NewSchema([]arrow.Field{{Name: "user_id", Type: arrow.PrimitiveTypes.Int64}}, nil), nil)
	j := NewHashJoin(l, r, Inner, []expr.Expr{ref(l.schema, "user_id")}, []expr.Expr{ref(r.schema, "user_id")}, nil, BuildRight)
	if got, want := j.String(), "BroadcastHashJoin [user_id], [user_id], Inner, BuildRight"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := NewNestedLoopJoin(l, r, LeftOuter, nil).String(), "BroadcastNestedLoopJoin BuildRight, LeftOuter"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := Explain(j); !strings.Contains(got, "+- Batches") {
		t.Errorf("explain tree: %q", got)
	}
}

func TestJoinErrors(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	l := newBatchesOp(joinLeftSchema, splitRows(t, mem, joinLeftSchema, [][]any{{int64(1), "a", int64(1)}}, 1, 1))
	r := newBatchesOp(joinRightSchema, splitRows(t, mem, joinRightSchema, [][]any{{int64(1), "a", int64(2)}, {int64(1), "a", int64(3)}}, 2, 1))
	defer l.release()
	defer r.release()
	// Mismatched key types.
	_, err := runErr(mem, NewHashJoin(l, r, Inner, []expr.Expr{ref(joinLeftSchema, "k1")}, []expr.Expr{ref(joinRightSchema, "k2")}, nil, BuildRight), 0)
	if !errors.Is(err, ErrExec) || !strings.Contains(err.Error(), "cast") {
		t.Errorf("key types: %v", err)
	}
	// Unresolved key.
	_, err = runErr(mem, NewHashJoin(l, r, Inner, []expr.Expr{expr.Col("k1")}, []expr.Expr{ref(joinRightSchema, "k1")}, nil, BuildRight), 0)
	if !errors.Is(err, expr.ErrUnresolved) {
		t.Errorf("unresolved key: %v", err)
	}
	// A failing build side reaches every probe partition and leaks nothing.
	r.failAt = 2
	_, err = runErr(mem, NewHashJoin(l, r, FullOuter, []expr.Expr{ref(joinLeftSchema, "k1")}, []expr.Expr{ref(joinRightSchema, "k1")}, nil, BuildRight), 0)
	if !errors.Is(err, errInjected) {
		t.Errorf("build failure: %v", err)
	}
	r.failAt = 0
	// A failing probe side.
	l.failAt = 1
	_, err = runErr(mem, NewHashJoin(l, r, Inner, []expr.Expr{ref(joinLeftSchema, "k1")}, []expr.Expr{ref(joinRightSchema, "k1")}, nil, BuildRight), 0)
	if !errors.Is(err, errInjected) {
		t.Errorf("probe failure: %v", err)
	}
	l.failAt = 0
}

// TestJoinBuildOnce checks the build side runs once per execution however
// many probe partitions there are, and again for a new execution.
func TestJoinBuildOnce(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(5, 5))
	lsrc := newBatchesOp(joinLeftSchema, splitRows(t, mem, joinLeftSchema, randJoinRows(r, 50, 4), 4, 3))
	rsrc := newBatchesOp(joinRightSchema, splitRows(t, mem, joinRightSchema, randJoinRows(r, 20, 4), 2, 3))
	defer lsrc.release()
	defer rsrc.release()
	op := NewHashJoin(lsrc, rsrc, RightOuter, []expr.Expr{ref(joinLeftSchema, "k1")}, []expr.Expr{ref(joinRightSchema, "k1")}, nil, BuildRight)
	first := sortedRows(run(t, mem, op, 7))
	if got := rsrc.executed.Load(); got != 2 {
		t.Errorf("build partitions executed %d times, want 2 (once each)", got)
	}
	second := sortedRows(run(t, mem, op, 7))
	if !slices.Equal(first, second) {
		t.Errorf("second execution differs")
	}
	if got := rsrc.executed.Load(); got != 4 {
		t.Errorf("after two executions: %d, want 4", got)
	}
}

// TestJoinSequentialPartitions runs probe partitions one after another (as
// a global limit does): unmatched build rows still come out exactly once.
func TestJoinSequentialPartitions(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(6, 6))
	lrows, rrows := randJoinRows(r, 40, 6), randJoinRows(r, 30, 6)
	lsrc := newBatchesOp(joinLeftSchema, splitRows(t, mem, joinLeftSchema, lrows, 3, 4))
	rsrc := newBatchesOp(joinRightSchema, splitRows(t, mem, joinRightSchema, rrows, 1, 4))
	defer lsrc.release()
	defer rsrc.release()
	op := NewHashJoin(lsrc, rsrc, FullOuter, []expr.Expr{ref(joinLeftSchema, "k1")}, []expr.Expr{ref(joinRightSchema, "k1")}, nil, BuildRight)
	got := sortedRows(run(t, mem, NewLimit(op, 1<<40), 5))
	want := sortedRows(oracleJoin(lrows, rrows, FullOuter, []int{0}, []int{0}, nil))
	if !slices.Equal(got, want) {
		t.Fatalf("got %d rows, want %d", len(got), len(want))
	}
}

func BenchmarkHashJoinInt64(b *testing.B) {
	const probeN, buildN = 1 << 20, 100_000
	mem := newMem()
	ls := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int64}, {Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	rs := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int64}, {Name: "w", Type: arrow.PrimitiveTypes.Int64}}, nil)
	r := rand.New(rand.NewPCG(1, 2))
	mk := func(schema *arrow.Schema, n int, key func(i int) int64) []arrow.RecordBatch {
		var out []arrow.RecordBatch
		for start := 0; start < n; start += 64 * 1024 {
			end := min(start+64*1024, n)
			kb := array.NewInt64Builder(mem)
			vb := array.NewInt64Builder(mem)
			for i := start; i < end; i++ {
				kb.Append(key(i))
				vb.Append(int64(i))
			}
			k, v := kb.NewArray(), vb.NewArray()
			out = append(out, array.NewRecordBatch(schema, []arrow.Array{k, v}, int64(end-start)))
			k.Release()
			v.Release()
			kb.Release()
			vb.Release()
		}
		return out
	}
	lsrc := newBatchesOp(ls, [][]arrow.RecordBatch{mk(ls, probeN, func(int) int64 { return int64(r.IntN(buildN)) })})
	rsrc := newBatchesOp(rs, [][]arrow.RecordBatch{mk(rs, buildN, func(i int) int64 { return int64(i) })})
	defer lsrc.release()
	defer rsrc.release()
	op := NewHashJoin(lsrc, rsrc, Inner, []expr.Expr{ref(ls, "k")}, []expr.Expr{ref(rs, "k")}, nil, BuildRight)
	tc := NewTaskContext(mem, time.Unix(0, 0))
	b.ResetTimer()
	cpu0 := cpuTime()
	rows := 0
	for i := 0; i < b.N; i++ {
		rows = 0
		err := Drain(context.Background(), tc, op, func(b arrow.RecordBatch) error {
			rows += int(b.NumRows())
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		tc = NewTaskContext(mem, time.Unix(0, 0))
	}
	if rows != probeN {
		b.Fatalf("joined %d rows, want %d", rows, probeN)
	}
	reportPerRow(b, probeN, cpu0)
}
