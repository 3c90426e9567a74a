package plan

import (
	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/internal/fileformat"
)

// Rule is one optimizer rewrite.
type Rule struct {
	Name  string
	Apply func(Node) (Node, error)
}

// Rules is the optimizer's one list, applied in order.
var Rules = []Rule{
	{"ConstantFolding", foldConstants},
	{"PushDownPredicates", pushDownPredicates},
	{"ColumnPruning", pruneColumns},
	{"CollapseProject", collapseProjects},
}

// PushDownPredicates is the optimizer's predicate push-down alone. A
// stream's stateful operators are set up from the plan after it, since it
// is what turns a WHERE over a comma join into the join's condition.
func PushDownPredicates(n Node) (Node, error) { return pushDownPredicates(n) }

// Optimize applies every rule once, in order.
func Optimize(n Node) (Node, error) {
	var err error
	for _, r := range Rules {
		if n, err = r.Apply(n); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// ---- constant folding ----

var foldCtx = expr.NewEvalContext(nil, zeroTime)

// FoldExpr folds constant subexpressions of a resolved expression, and
// re-binds calls whose arguments became literals so kernels specialise.
func FoldExpr(e expr.Expr) (expr.Expr, error) {
	return expr.Transform(e, func(n expr.Expr) (expr.Expr, error) {
		switch t := n.(type) {
		case *expr.Literal, *expr.BoundRef, *expr.Alias, *expr.SortOrder, *expr.AggCall:
			return n, nil
		case *expr.ScalarCall:
			// Children may have become literals: bind again so the kernel
			// sees them as constants, then fold if nothing is left to read.
			if rebound, err := BindScalar(t.Fn, t.Args); err == nil {
				t = rebound.(*expr.ScalarCall)
			}
			if lit, ok, err := expr.FoldConstant(foldCtx, t); err == nil && ok {
				return lit, nil
			}
			return simplifyBoolean(t), nil
		}
		if lit, ok, err := expr.FoldConstant(foldCtx, n); err == nil && ok {
			return lit, nil
		}
		return n, nil
	})
}

func foldConstants(n Node) (Node, error) {
	return Transform(n, func(n Node) (Node, error) {
		switch t := n.(type) {
		case *Project:
			es, err := foldAll(t.Exprs)
			if err != nil {
				return nil, err
			}
			for i, e := range es {
				if expr.Name(e) != expr.Name(t.Exprs[i]) {
					es[i] = &expr.Alias{Child: e, Name: expr.Name(t.Exprs[i])}
				}
			}
			return &Project{Child: t.Child, Exprs: es}, nil
		case *Filter:
			c, err := FoldExpr(t.Cond)
			if err != nil {
				return nil, err
			}
			if l, ok := c.(*expr.Literal); ok && l.Value == true {
				return t.Child, nil
			}
			return &Filter{Child: t.Child, Cond: c}, nil
		}
		return n, nil
	})
}

func foldAll(es []expr.Expr) ([]expr.Expr, error) {
	out := make([]expr.Expr, len(es))
	for i, e := range es {
		f, err := FoldExpr(e)
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

// ---- predicate pushdown ----

func pushDownPredicates(n Node) (Node, error) {
	return Transform(n, func(n Node) (Node, error) {
		f, ok := n.(*Filter)
		if !ok {
			return n, nil
		}
		return pushFilter(f.Child, f.Cond), nil
	})
}

// pushFilter places cond as deep below child as it can go.
func pushFilter(child Node, cond expr.Expr) Node {
	switch c := child.(type) {
	case *Filter:
		return pushFilter(c.Child, and(c.Cond, cond))
	case *Project:
		// Substitute the projection's expressions into the condition when
		// each referenced output is deterministic.
		ok := true
		sub, _ := expr.Transform(cond, func(e expr.Expr) (expr.Expr, error) {
			r, isRef := e.(*expr.BoundRef)
			if !isRef {
				return e, nil
			}
			pe := expr.Unalias(c.Exprs[r.Index])
			if !deterministic(pe) {
				ok = false
			}
			return pe, nil
		})
		if ok {
			return &Project{Child: pushFilter(c.Child, sub), Exprs: c.Exprs}
		}
	case *Join:
		nl := len(c.Left.Output())
		inner := c.Type == InnerJoin || c.Type == CrossJoin
		var left, right, both, keep []expr.Expr
		for _, p := range Conjuncts(cond) {
			refs := Refs(p, nil)
			onlyLeft, onlyRight := true, true
			for i := range refs {
				if i < nl {
					onlyRight = false
				} else {
					onlyLeft = false
				}
			}
			switch {
			case onlyLeft && len(refs) > 0 && (c.Type == InnerJoin || c.Type == CrossJoin || c.Type == LeftOuterJoin || c.Type == LeftSemiJoin || c.Type == LeftAntiJoin):
				left = append(left, p)
			case onlyRight && len(refs) > 0 && (c.Type == InnerJoin || c.Type == CrossJoin || c.Type == RightOuterJoin):
				right = append(right, Shift(p, -nl))
			case inner && len(refs) > 0 && deterministic(p):
				// A predicate over both sides of an inner join is a join
				// condition (Spark's PushPredicateThroughJoin): FROM a, b
				// WHERE a.k = b.k hash-joins on k instead of pairing
				// every row, and a stream-stream join finds its keys.
				both = append(both, p)
			default:
				keep = append(keep, p)
			}
		}
		if len(left) == 0 && len(right) == 0 && len(both) == 0 {
			break
		}
		j := *c
		if len(both) > 0 {
			if c.Cond != nil {
				both = append([]expr.Expr{c.Cond}, both...)
			}
			j.Cond, j.Type = andAll(both), InnerJoin
		}
		if len(left) > 0 {
			j.Left = pushFilter(c.Left, andAll(left))
		}
		if len(right) > 0 {
			j.Right = pushFilter(c.Right, andAll(right))
		}
		if len(keep) == 0 {
			return &j
		}
		return &Filter{Child: &j, Cond: andAll(keep)}
	case *FileScan:
		s := *c
		attrs := c.Output()
		for _, p := range Conjuncts(cond) {
			if pf, ok := toFileFilter(p, attrs); ok {
				s.PushedFilters = append(append([]fileformat.Filter(nil), s.PushedFilters...), pf)
			}
		}
		// The scan only skips data that cannot match; the filter stays.
		return &Filter{Child: &s, Cond: cond}
	}
	return &Filter{Child: child, Cond: cond}
}

func deterministic(e expr.Expr) bool {
	ok := true
	expr.Walk(e, func(n expr.Expr) bool {
		if c, isCall := n.(*expr.ScalarCall); isCall && c.Binding.Volatile {
			ok = false
		}
		if _, isAgg := n.(*expr.AggCall); isAgg {
			ok = false
		}
		return ok
	})
	return ok
}

var fileOps = map[string]string{"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
var flipped = map[string]string{"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

// toFileFilter turns `col op literal` (either way round), IS [NOT] NULL and
// IN lists into a fileformat.Filter.
func toFileFilter(p expr.Expr, attrs []Attribute) (fileformat.Filter, bool) {
	c, ok := p.(*expr.ScalarCall)
	if !ok {
		return fileformat.Filter{}, false
	}
	ref := func(e expr.Expr) (string, bool) {
		r, ok := e.(*expr.BoundRef)
		if !ok {
			return "", false
		}
		return attrs[r.Index].Name, true
	}
	switch c.Fn.Name {
	case "isnull", "isnotnull":
		if name, ok := ref(c.Args[0]); ok {
			return fileformat.Filter{Column: name, Op: c.Fn.Name}, true
		}
	case "in":
		name, ok := ref(c.Args[0])
		if !ok {
			return fileformat.Filter{}, false
		}
		vals := make([]any, 0, len(c.Args)-1)
		for _, a := range c.Args[1:] {
			l, ok := a.(*expr.Literal)
			if !ok {
				return fileformat.Filter{}, false
			}
			vals = append(vals, l.Value)
		}
		return fileformat.Filter{Column: name, Op: "in", Value: vals}, true
	}
	op, isCmp := fileOps[c.Fn.Name]
	if !isCmp || len(c.Args) != 2 {
		return fileformat.Filter{}, false
	}
	if name, ok := ref(c.Args[0]); ok {
		if l, ok := c.Args[1].(*expr.Literal); ok && l.Value != nil {
			return fileformat.Filter{Column: name, Op: op, Value: l.Value}, true
		}
	}
	if name, ok := ref(c.Args[1]); ok {
		if l, ok := c.Args[0].(*expr.Literal); ok && l.Value != nil {
			return fileformat.Filter{Column: name, Op: flipped[op], Value: l.Value}, true
		}
	}
	return fileformat.Filter{}, false
}

func and(a, b expr.Expr) expr.Expr {
	f, _ := lookupAnd()
	out, err := BindScalar(f, []expr.Expr{a, b})
	if err != nil {
		panic("plan: binding AND of two booleans failed: " + err.Error())
	}
	return out
}

func andAll(es []expr.Expr) expr.Expr {
	out := es[0]
	for _, e := range es[1:] {
		out = and(out, e)
	}
	return out
}

// ---- column pruning ----

// pruneColumns narrows every node to the columns its parents use, so file
// scans read only the needed columns.
func pruneColumns(n Node) (Node, error) {
	need := make([]bool, len(n.Output()))
	for i := range need {
		need[i] = true
	}
	out, _ := prune(n, need)
	return out, nil
}

// prune rebuilds n producing at least the needed outputs. It returns the
// new node and the mapping from old output index to new (-1: dropped).
func prune(n Node, need []bool) (Node, []int) {
	identity := func(k int) []int {
		m := make([]int, k)
		for i := range m {
			m[i] = i
		}
		return m
	}
	switch t := n.(type) {
	case *FileScan:
		all := t.Output()
		var cols []int
		m := make([]int, len(all))
		for i := range all {
			m[i] = -1
			if need[i] {
				m[i] = len(cols)
				src := i
				if t.Columns != nil {
					src = t.Columns[i]
				}
				cols = append(cols, src)
			}
		}
		if len(cols) == 0 && len(all) > 0 {
			// count(*) still needs row counts: read the cheapest column.
			m[0] = 0
			src := 0
			if t.Columns != nil {
				src = t.Columns[0]
			}
			cols = []int{src}
		}
		s := *t
		s.Columns = cols
		return &s, m
	case *Project:
		childNeed := make([]bool, len(t.Child.Output()))
		var kept []expr.Expr
		m := make([]int, len(t.Exprs))
		for i, e := range t.Exprs {
			m[i] = -1
			if need[i] {
				m[i] = len(kept)
				kept = append(kept, e)
				for r := range Refs(e, nil) {
					childNeed[r] = true
				}
			}
		}
		child, cm := prune(t.Child, childNeed)
		for i, e := range kept {
			kept[i] = Remap(e, cm)
		}
		return &Project{Child: child, Exprs: kept}, m
	case *Filter:
		childNeed := append([]bool(nil), need...)
		for r := range Refs(t.Cond, nil) {
			childNeed[r] = true
		}
		child, cm := prune(t.Child, childNeed)
		f := &Filter{Child: child, Cond: Remap(t.Cond, cm)}
		// Columns only the condition reads are dropped right after the
		// filter, so it never gathers them.
		extra := false
		for i, x := range childNeed {
			if x && !need[i] {
				extra = true
			}
		}
		if !extra {
			return f, cm
		}
		attrs := child.Output()
		var exprs []expr.Expr
		m := make([]int, len(cm))
		for i := range m {
			m[i] = -1
			if need[i] && cm[i] >= 0 {
				a := attrs[cm[i]]
				m[i] = len(exprs)
				exprs = append(exprs, RefOf(a, cm[i]))
			}
		}
		return &Project{Child: f, Exprs: exprs}, m
	case *Aggregate:
		childNeed := make([]bool, len(t.Child.Output()))
		for _, g := range t.Groups {
			for r := range Refs(g, nil) {
				childNeed[r] = true
			}
		}
		for _, a := range t.Aggs {
			for r := range Refs(a, nil) {
				childNeed[r] = true
			}
		}
		child, cm := prune(t.Child, childNeed)
		a := *t
		a.Child = child
		a.Groups = make([]expr.Expr, len(t.Groups))
		for i, g := range t.Groups {
			a.Groups[i] = Remap(g, cm)
		}
		a.Aggs = make([]*expr.AggCall, len(t.Aggs))
		for i, ag := range t.Aggs {
			a.Aggs[i] = Remap(ag, cm).(*expr.AggCall)
		}
		return &a, identity(len(t.Out))
	case *Join:
		nl := len(t.Left.Output())
		nr := len(t.Right.Output())
		ln, rn := make([]bool, nl), make([]bool, nr)
		for i, x := range need {
			if !x {
				continue
			}
			if i < nl {
				ln[i] = true
			} else {
				rn[i-nl] = true
			}
		}
		if t.Cond != nil {
			for r := range Refs(t.Cond, nil) {
				if r < nl {
					ln[r] = true
				} else {
					rn[r-nl] = true
				}
			}
		}
		l, lm := prune(t.Left, ln)
		r, rm := prune(t.Right, rn)
		newL := len(l.Output())
		m := make([]int, nl+nr)
		for i := 0; i < nl; i++ {
			m[i] = lm[i]
		}
		for i := 0; i < nr; i++ {
			m[nl+i] = -1
			if rm[i] >= 0 {
				m[nl+i] = newL + rm[i]
			}
		}
		j := *t
		j.Left, j.Right = l, r
		if t.Cond != nil {
			j.Cond = Remap(t.Cond, m)
		}
		if t.Type == LeftSemiJoin || t.Type == LeftAntiJoin {
			return &j, lm
		}
		return &j, m
	case *Sort:
		childNeed := append([]bool(nil), need...)
		for _, o := range t.Orders {
			for r := range Refs(o, nil) {
				childNeed[r] = true
			}
		}
		child, cm := prune(t.Child, childNeed)
		s := &Sort{Child: child}
		for _, o := range t.Orders {
			s.Orders = append(s.Orders, Remap(o, cm).(*expr.SortOrder))
		}
		return s, cm
	case *Limit:
		child, cm := prune(t.Child, need)
		return &Limit{Child: child, N: t.N}, cm
	case *EventTimeWatermark:
		childNeed := append([]bool(nil), need...)
		childNeed[t.Column] = true
		child, cm := prune(t.Child, childNeed)
		w := *t
		w.Child = child
		w.Column = cm[t.Column]
		return &w, cm
	case *Sample:
		child, cm := prune(t.Child, need)
		s := *t
		s.Child = child
		return &s, cm
	case *SubqueryAlias:
		child, cm := prune(t.Child, need)
		return &SubqueryAlias{Child: child, Alias: t.Alias}, cm
	case *Generate:
		// The output carries only the child columns a parent reads; the
		// generator's own inputs are read from the child, not carried.
		keep := t.KeepChild
		if keep == nil {
			keep = identity(len(t.Child.Output()))
		}
		childNeed := make([]bool, len(t.Child.Output()))
		for j, c := range keep {
			if need[j] {
				childNeed[c] = true
			}
		}
		for r := range Refs(t.Gen, nil) {
			childNeed[r] = true
		}
		child, cm := prune(t.Child, childNeed)
		g := *t
		g.Child = child
		g.Gen = Remap(t.Gen, cm)
		kept := []int{}
		m := make([]int, len(need))
		for j, c := range keep {
			m[j] = -1
			if need[j] {
				m[j] = len(kept)
				kept = append(kept, cm[c])
			}
		}
		for i := len(keep); i < len(need); i++ {
			m[i] = len(kept) + (i - len(keep))
		}
		g.KeepChild = kept
		if len(kept) == len(child.Output()) && isIdentity(kept) {
			g.KeepChild = nil
		}
		return &g, m
	}
	// Union, Deduplicate, relations without projection, unknown nodes:
	// every column of every child is kept.
	ch := n.Children()
	if len(ch) > 0 {
		out := make([]Node, len(ch))
		for i, c := range ch {
			all := make([]bool, len(c.Output()))
			for k := range all {
				all[k] = true
			}
			pc, cm := prune(c, all)
			if !isIdentity(cm) {
				// Keep the child's shape: project back to all columns.
				pc = restore(c, pc, cm)
			}
			out[i] = pc
		}
		n = n.WithChildren(out)
	}
	return n, identity(len(n.Output()))
}

func isIdentity(m []int) bool {
	for i, v := range m {
		if v != i {
			return false
		}
	}
	return true
}

// restore projects a pruned node back to the full column list of old.
func restore(old, pruned Node, m []int) Node {
	attrs := old.Output()
	exprs := make([]expr.Expr, len(attrs))
	for i, a := range attrs {
		exprs[i] = RefOf(a, m[i])
	}
	return &Project{Child: pruned, Exprs: exprs}
}

// simplifyBoolean is Spark's BooleanSimplification for a known operand:
// true AND x = x, false AND x = false, true OR x = true, false OR x = x
// (either order). A NULL literal is left alone (NULL AND x is not x).
func simplifyBoolean(c *expr.ScalarCall) expr.Expr {
	if (c.Fn.Name != "and" && c.Fn.Name != "or") || len(c.Args) != 2 {
		return c
	}
	for i, a := range c.Args {
		l, ok := a.(*expr.Literal)
		if !ok {
			continue
		}
		v, ok := l.Value.(bool)
		if !ok {
			continue
		}
		other := c.Args[1-i]
		switch {
		case c.Fn.Name == "and" && v, c.Fn.Name == "or" && !v:
			return other
		default:
			return l
		}
	}
	return c
}

// ---- collapse projections ----

// collapseProjects merges a projection into a projection below it that
// only selects columns (as column pruning leaves them), so a query does
// not copy its columns twice.
func collapseProjects(n Node) (Node, error) {
	return Transform(n, func(n Node) (Node, error) {
		p, ok := n.(*Project)
		if !ok {
			return n, nil
		}
		if a, isAgg := p.Child.(*Aggregate); isAgg {
			return collapseIntoAggregate(p, a)
		}
		child, ok := p.Child.(*Project)
		if !ok {
			return n, nil
		}
		for _, e := range child.Exprs {
			if _, isRef := e.(*expr.BoundRef); !isRef {
				return n, nil
			}
		}
		exprs := make([]expr.Expr, len(p.Exprs))
		for i, e := range p.Exprs {
			sub, err := expr.Transform(e, func(x expr.Expr) (expr.Expr, error) {
				if r, isRef := x.(*expr.BoundRef); isRef {
					return child.Exprs[r.Index], nil
				}
				return x, nil
			})
			if err != nil {
				return nil, err
			}
			if expr.Name(sub) != expr.Name(e) {
				sub = &expr.Alias{Child: expr.Unalias(sub), Name: expr.Name(e)}
			}
			exprs[i] = sub
		}
		return &Project{Child: child.Child, Exprs: exprs}, nil
	})
}

// collapseIntoAggregate folds a projection into the aggregation below it
// (Spark's CollapseProject), so groupBy(...).agg(...).select(...) plans as
// SQL's SELECT ... GROUP BY does. It keeps the projection when that would
// evaluate a non-trivial output expression more than once, move a
// non-deterministic one, or rename a column inside an expression (struct
// takes its field names from its arguments' names).
func collapseIntoAggregate(p *Project, a *Aggregate) (Node, error) {
	uses := make([]int, len(a.Out))
	for _, e := range p.Exprs {
		if !deterministic(e) {
			return p, nil
		}
		for i := range Refs(e, nil) {
			uses[i]++
		}
		if _, top := expr.Unalias(e).(*expr.BoundRef); top {
			continue
		}
		renamed := false
		expr.Walk(e, func(x expr.Expr) bool {
			if r, isRef := x.(*expr.BoundRef); isRef && expr.Name(expr.Unalias(a.Out[r.Index])) != expr.Name(r) {
				renamed = true
			}
			return !renamed
		})
		if renamed {
			return p, nil
		}
	}
	for i, n := range uses {
		if n > 1 {
			if _, isRef := expr.Unalias(a.Out[i]).(*expr.BoundRef); !isRef {
				return p, nil
			}
		}
	}
	out := make([]expr.Expr, len(p.Exprs))
	for i, e := range p.Exprs {
		sub, err := expr.Transform(e, func(x expr.Expr) (expr.Expr, error) {
			if r, isRef := x.(*expr.BoundRef); isRef {
				return expr.Unalias(a.Out[r.Index]), nil
			}
			return x, nil
		})
		if err != nil {
			return nil, err
		}
		if expr.Name(sub) != expr.Name(e) {
			sub = &expr.Alias{Child: expr.Unalias(sub), Name: expr.Name(e)}
		}
		out[i] = sub
	}
	na := *a
	na.Out = out
	return &na, nil
}
