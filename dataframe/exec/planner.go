package exec

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/expr/fn"
	"github.com/sluicehq/sluice/dataframe/plan"
	"github.com/sluicehq/sluice/internal/fileformat"
)

// Planner turns an optimised logical plan into physical operators.
type Planner struct {
	// Partitions is the shuffle partition count (Spark's
	// spark.sql.shuffle.partitions); 1 plans no exchanges at all.
	Partitions int
	// BroadcastRows: a join side estimated under this many rows is built
	// once and shared by every probe partition.
	BroadcastRows int64
	// Override lets the stream engine plan the nodes it owns (stateful
	// operators): it returns ok=false for nodes the planner should plan.
	Override func(n plan.Node, planChild func(plan.Node) (Operator, error)) (op Operator, ok bool, err error)
}

// Plan builds the operator tree for n.
func (pl *Planner) Plan(n plan.Node) (Operator, error) {
	if pl.Override != nil {
		if op, ok, err := pl.Override(n, pl.Plan); ok || err != nil {
			return op, err
		}
	}
	parts := max(1, pl.Partitions)
	switch t := n.(type) {
	case *plan.LocalRelation:
		if t.Open != nil {
			return NewReaderScan(plan.SchemaOf(t), t.Open, t.Name), nil
		}
		if t.Snapshot != nil {
			return NewSnapshotScan(plan.SchemaOf(t), t.Snapshot, t.Name), nil
		}
		return NewLocalScan(plan.SchemaOf(t), t.Batches, parts, t.Name), nil
	case *plan.FileScan:
		f, ok := fileformat.Lookup(t.Format)
		if !ok {
			return nil, fmt.Errorf("%w: unknown format %q", ErrExec, t.Format)
		}
		return (&FileScan{Format: f, Files: t.Files, DataSchema: t.DataSchema, PartitionSchema: t.PartitionSchema,
			Columns: t.Columns, Filters: t.PushedFilters, Options: t.Options, Parts: parts}).Init(), nil
	case *plan.SubqueryAlias:
		return pl.Plan(t.Child)
	case *plan.EventTimeWatermark:
		child, err := pl.Plan(t.Child)
		if err != nil {
			return nil, err
		}
		return NewEventTimeWatermark(child, t.Column, t.ID), nil
	case *plan.Project:
		// Project over Filter: the filter gathers only the columns the
		// projection reads.
		if f, ok := t.Child.(*plan.Filter); ok {
			child, err := pl.Plan(f.Child)
			if err != nil {
				return nil, err
			}
			keep, m := usedColumns(t.Exprs, len(f.Child.Output()))
			exprs := make([]expr.Expr, len(t.Exprs))
			for i, e := range t.Exprs {
				exprs[i] = plan.Remap(e, m)
			}
			return NewProject(NewFilter(child, f.Cond, keep), exprs, plan.SchemaOf(t)), nil
		}
		child, err := pl.Plan(t.Child)
		if err != nil {
			return nil, err
		}
		return NewProject(child, t.Exprs, plan.SchemaOf(t)), nil
	case *plan.Filter:
		child, err := pl.Plan(t.Child)
		if err != nil {
			return nil, err
		}
		return NewFilter(child, t.Cond, nil), nil
	case *plan.Aggregate:
		return pl.planAggregate(t)
	case *plan.Sort:
		child, err := pl.Plan(t.Child)
		if err != nil {
			return nil, err
		}
		return NewSort(child, t.Orders), nil
	case *plan.Limit:
		if s, ok := t.Child.(*plan.Sort); ok {
			child, err := pl.Plan(s.Child)
			if err != nil {
				return nil, err
			}
			return NewTopN(child, s.Orders, t.N), nil
		}
		child, err := pl.Plan(t.Child)
		if err != nil {
			return nil, err
		}
		return NewLimit(child, t.N), nil
	case *plan.Union:
		ops := make([]Operator, len(t.Inputs))
		schema := plan.SchemaOf(t)
		for i, in := range t.Inputs {
			op, err := pl.Plan(in)
			if err != nil {
				return nil, err
			}
			if !sameFields(op.Schema(), schema) {
				op = relabel(op, schema)
			}
			ops[i] = op
		}
		return NewUnion(ops...), nil
	case *plan.Join:
		return pl.planJoin(t)
	case *plan.Generate:
		child, err := pl.Plan(t.Child)
		if err != nil {
			return nil, err
		}
		return NewExplodeKeeping(child, t.KeepChild, t.Gen, t.Outer, t.Pos, t.Names), nil
	case *plan.Sample:
		child, err := pl.Plan(t.Child)
		if err != nil {
			return nil, err
		}
		return NewSample(child, t.Fraction, t.WithReplacement, t.Seed), nil
	case *plan.Deduplicate:
		child, err := pl.Plan(t.Child)
		if err != nil {
			return nil, err
		}
		if child.Partitions() > 1 {
			child = NewHashExchange(child, t.Keys, child.Partitions())
			return NewDedup(child, t.Keys, true), nil
		}
		return NewDedup(child, t.Keys, false), nil
	}
	return nil, fmt.Errorf("%w: no physical plan for %T", ErrExec, n)
}

// usedColumns lists the input columns exprs read (sorted) and the mapping
// from input index to position in that list.
func usedColumns(exprs []expr.Expr, n int) ([]int, []int) {
	used := map[int]bool{}
	for _, e := range exprs {
		plan.Refs(e, used)
	}
	m := make([]int, n)
	var keep []int
	for i := 0; i < n; i++ {
		m[i] = -1
		if used[i] {
			m[i] = len(keep)
			keep = append(keep, i)
		}
	}
	return keep, m
}

func (pl *Planner) planAggregate(a *plan.Aggregate) (Operator, error) {
	if a.Session != nil {
		return pl.planSessionAggregate(a)
	}
	child, err := pl.Plan(a.Child)
	if err != nil {
		return nil, err
	}
	buf := plan.AttrSchema(a.BufferAttrs())
	var agg Operator
	if child.Partitions() == 1 {
		agg = NewHashAggregate(child, a.Groups, a.Aggs, AggComplete, buf)
	} else {
		keyFields := buf.Fields()[:len(a.Groups)]
		pschema := PartialSchema(keyFields, a.Aggs)
		partial := NewHashAggregate(child, a.Groups, a.Aggs, AggPartial, pschema)
		var ex Operator
		keys := make([]expr.Expr, len(a.Groups))
		for i, f := range keyFields {
			keys[i] = &expr.BoundRef{Index: i, Name: f.Name, Type: f.Type, Null: f.Nullable}
		}
		if len(keys) == 0 {
			ex = NewGather(partial)
		} else {
			ex = NewHashExchange(partial, keys, child.Partitions())
		}
		agg = NewHashAggregate(ex, keys, a.Aggs, AggFinal, buf)
	}
	return NewProject(agg, a.Out, plan.SchemaOf(a)), nil
}

func (pl *Planner) planJoin(j *plan.Join) (Operator, error) {
	left, err := pl.Plan(j.Left)
	if err != nil {
		return nil, err
	}
	right, err := pl.Plan(j.Right)
	if err != nil {
		return nil, err
	}
	typ := joinTypes[j.Type]
	if j.Cond == nil {
		return NewNestedLoopJoin(left, right, typ, nil), nil
	}
	nl := len(j.Left.Output())
	var lk, rk, rest []expr.Expr
	for _, c := range plan.Conjuncts(j.Cond) {
		if l, r, ok := equiKeys(c, nl); ok {
			lk = append(lk, l)
			rk = append(rk, r)
			continue
		}
		rest = append(rest, c)
	}
	if len(lk) == 0 {
		return NewNestedLoopJoin(left, right, typ, j.Cond), nil
	}
	var residual expr.Expr
	for _, r := range rest {
		if residual == nil {
			residual = r
		} else {
			residual, err = plan.BindScalar(andFn(), []expr.Expr{residual, r})
			if err != nil {
				return nil, err
			}
		}
	}
	build := BuildRight
	if j.Type == RightOuterJoin && pl.smaller(j.Left, j.Right) {
		build = BuildLeft
	}
	return NewHashJoin(left, right, typ, lk, rk, residual, build), nil
}

// smaller reports whether a is estimated smaller than b.
func (pl *Planner) smaller(a, b plan.Node) bool { return estimateRows(a) < estimateRows(b) }

func estimateRows(n plan.Node) int64 {
	switch t := n.(type) {
	case *plan.LocalRelation:
		var r int64
		for _, b := range t.Batches {
			r += b.NumRows()
		}
		return r
	case *plan.FileScan:
		var s int64
		for _, f := range t.Files {
			s += f.Size
		}
		return s / 16
	}
	var r int64
	for _, c := range n.Children() {
		r += estimateRows(c)
	}
	return r
}

// equiKeys recognises left.col = right.col (either order, after casts) and
// returns the left key bound to the left input and the right key bound to
// the right input.
func equiKeys(c expr.Expr, nl int) (expr.Expr, expr.Expr, bool) {
	call, ok := c.(*expr.ScalarCall)
	if !ok || call.Fn.Name != "=" || len(call.Args) != 2 {
		return nil, nil, false
	}
	side := func(e expr.Expr) int { // 0 left, 1 right, -1 mixed/none
		refs := plan.Refs(e, nil)
		if len(refs) == 0 {
			return -1
		}
		s := -2
		for r := range refs {
			cur := 0
			if r >= nl {
				cur = 1
			}
			if s == -2 {
				s = cur
			} else if s != cur {
				return -1
			}
		}
		return s
	}
	a, b := call.Args[0], call.Args[1]
	sa, sb := side(a), side(b)
	if sa == 1 && sb == 0 {
		a, b = b, a
		sa, sb = sb, sa
	}
	if sa != 0 || sb != 1 {
		return nil, nil, false
	}
	if !arrow.TypeEqual(a.(expr.Typed).DataType(), b.(expr.Typed).DataType()) {
		return nil, nil, false
	}
	return a, plan.Shift(b, -nl), true
}

var joinTypes = map[plan.JoinType]JoinType{
	plan.InnerJoin: Inner, plan.CrossJoin: Inner, plan.LeftOuterJoin: LeftOuter, plan.RightOuterJoin: RightOuter,
	plan.FullOuterJoin: FullOuter, plan.LeftSemiJoin: LeftSemi, plan.LeftAntiJoin: LeftAnti,
}

const RightOuterJoin = plan.RightOuterJoin

func sameFields(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := range a.Fields() {
		if a.Field(i).Name != b.Field(i).Name || !arrow.TypeEqual(a.Field(i).Type, b.Field(i).Type) {
			return false
		}
	}
	return true
}

// relabel renames an operator's output columns (same types).
func relabel(op Operator, schema *arrow.Schema) Operator {
	exprs := make([]expr.Expr, schema.NumFields())
	for i, f := range op.Schema().Fields() {
		exprs[i] = &expr.BoundRef{Index: i, Name: f.Name, Type: f.Type, Null: f.Nullable}
	}
	return NewProject(op, exprs, schema)
}

func andFn() *expr.Function {
	f, _ := fn.Lookup("and")
	return f
}
