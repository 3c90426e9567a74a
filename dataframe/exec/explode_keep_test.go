package exec

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/plan"
)

// An explode whose parents do not read the list carries only the columns
// they do: the list is not copied into each element's row (Nexmark q7's
// rewrite explodes a window's whole bid list, which was quadratic).
func TestExplodeKeepsOnlyReadColumns(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	b := mkBatch(t, mem, explodeSchema, [][]any{
		{int64(1), []any{"a", "b"}}, {int64(2), nil}, {int64(3), []any{"c"}},
	})
	defer b.Release()

	for _, c := range []struct {
		keep []int
		want [][]any
	}{
		{[]int{0}, [][]any{{int64(1), "a"}, {int64(1), "b"}, {int64(3), "c"}}},
		{[]int{}, [][]any{{"a"}, {"b"}, {"c"}}},
		{nil, [][]any{{int64(1), []any{"a", "b"}, "a"}, {int64(1), []any{"a", "b"}, "b"}, {int64(3), []any{"c"}, "c"}}},
	} {
		b.Retain() // the source releases its batches
		src := newBatchesOp(explodeSchema, [][]arrow.RecordBatch{{b}})
		op := NewExplodeKeeping(src, c.keep, ref(explodeSchema, "tags"), false, false, nil)
		if got := run(t, mem, op, 2); !equalRows(got, c.want) {
			t.Errorf("keep %v: got %v, want %v", c.keep, got, c.want)
		}
		if op.Schema().NumFields() != len(c.want[0]) {
			t.Errorf("keep %v: schema %v", c.keep, op.Schema())
		}
		src.release()
	}

	// The optimizer drops the list from a Generate under a projection
	// that does not read it, and the planned query gives the same rows.
	rel := &plan.LocalRelation{Attrs: plan.AttrsOf(explodeSchema, ""), Batches: []arrow.RecordBatch{b}}
	gen, err := plan.NewGenerate(rel, expr.Col("tags"), false, false, []string{"tag"})
	if err != nil {
		t.Fatal(err)
	}
	out := gen.Output()
	proj := &plan.Project{Child: gen, Exprs: []expr.Expr{plan.RefOf(out[2], 2), plan.RefOf(out[0], 0)}}
	opt, err := plan.Optimize(proj)
	if err != nil {
		t.Fatal(err)
	}
	var g *plan.Generate
	plan.Any(opt, func(n plan.Node) bool {
		g, _ = n.(*plan.Generate)
		return g != nil
	})
	if g == nil || len(g.KeepChild) != 1 || len(g.Output()) != 2 {
		t.Fatalf("optimized plan keeps the list:\n%s", plan.Explain(opt))
	}
	phys, err := (&Planner{Partitions: 1}).Plan(opt)
	if err != nil {
		t.Fatal(err)
	}
	if s := phys.String(); !strings.Contains(s, "Project") {
		t.Fatalf("physical plan %s", s)
	}
	got := run(t, mem, phys, 0)
	want := [][]any{{"a", int64(1)}, {"b", int64(1)}, {"c", int64(3)}}
	if !equalRows(got, want) {
		t.Errorf("planned: got %v, want %v", got, want)
	}
}
