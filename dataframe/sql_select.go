package dataframe

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/plan"
)

// selectStmt plans one SELECT and, when the query's body is this SELECT,
// its ORDER BY, which may use columns the select list drops (Spark's
// missing-reference resolution): FROM, WHERE, then a projection or an
// aggregation.
func (pl *sqlPlanner) selectStmt(sel *expr.SelectStmt, orderBy []*expr.SQLExpr, scope *cteScope) (plan.Node, error) {
	var n plan.Node
	if sel.From == nil {
		n = oneRow()
	} else {
		var err error
		if n, err = pl.from(sel.From, scope); err != nil {
			return nil, err
		}
	}
	if sel.Where != nil {
		f, err := plan.NewFilter(n, sel.Where.Expr)
		if err != nil {
			return nil, pl.exprErr(err, sel.Where, n.Output(), false, "WHERE")
		}
		n = f
	}
	items := make([]expr.Expr, len(sel.Items))
	for i, it := range sel.Items {
		items[i] = it.Expr
	}
	if sel.GroupByAll || len(sel.GroupBy) > 0 || sel.Having != nil || hasAgg(items) {
		return pl.aggregate(n, sel, orderBy)
	}
	return pl.project(n, sel, items, orderBy)
}

// project plans a select list without aggregates as DataFrame.Select
// does. A bare `SELECT *` adds no projection.
func (pl *sqlPlanner) project(n plan.Node, sel *expr.SelectStmt, items []expr.Expr, orderBy []*expr.SQLExpr) (plan.Node, error) {
	input := n.Output()
	df := &DataFrame{s: pl.s, plan: n}
	identity := len(items) == 1 && isPlainStar(items[0])
	proj := n
	if !identity {
		p, err := df.project(items)
		if err != nil {
			return nil, pl.listErr(err, sel.Items, input, false, "the select list")
		}
		proj = p
	}
	if len(orderBy) == 0 {
		if sel.Distinct {
			return pl.distinct(proj, sel.Pos)
		}
		return proj, nil
	}
	b := &binder{pl: pl, where: "ORDER BY", out: proj.Output(), input: input, allowHidden: !sel.Distinct}
	if expanded, err := plan.ExpandStars(items, input); err == nil && len(expanded) == len(b.out) {
		b.itemFP = fingerprints(expanded, input, false)
	}
	orders, err := b.bindOrders(orderBy)
	if err != nil {
		return nil, err
	}
	if len(b.hidden) == 0 {
		node := proj
		if sel.Distinct {
			if node, err = pl.distinct(node, sel.Pos); err != nil {
				return nil, err
			}
		}
		return pl.sort(node, orders, orderBy)
	}
	// Columns only ORDER BY reads are computed, sorted on, and dropped.
	wide, err := df.project(append(append([]expr.Expr(nil), items...), b.hidden...))
	if err != nil {
		return nil, pl.errAt(orderBy[0].Pos, err, "")
	}
	sorted, err := pl.sort(wide, orders, orderBy)
	if err != nil {
		return nil, err
	}
	return pl.keepFirst(sorted, len(b.out), sel.Pos)
}

func isPlainStar(e expr.Expr) bool {
	s, ok := e.(*expr.Star)
	return ok && s.Qualifier == "" && len(s.Except) == 0
}

// aggregate plans a SELECT with GROUP BY, HAVING or aggregates as
// GroupBy().Agg() does: one Aggregate whose outputs are the select list,
// then HAVING as a Filter and ORDER BY as a Sort over it. Aggregates and
// grouping expressions that HAVING or ORDER BY use but the select list
// does not are extra outputs of the Aggregate, dropped by a final Project.
func (pl *sqlPlanner) aggregate(n plan.Node, sel *expr.SelectStmt, orderBy []*expr.SQLExpr) (plan.Node, error) {
	input := n.Output()
	// Stars expand first, so ordinals count the expanded columns; each
	// expanded item keeps the position of its star for errors.
	var items []expr.Expr
	var srcs []*expr.SQLExpr
	for _, it := range sel.Items {
		ex, err := plan.ExpandStars([]expr.Expr{it.Expr}, input)
		if err != nil {
			return nil, pl.errAt(it.Pos, err, "")
		}
		for _, x := range ex {
			items = append(items, x)
			srcs = append(srcs, it)
		}
	}
	groups, gsrcs, err := pl.groupBy(sel, items, srcs, input)
	if err != nil {
		return nil, err
	}
	items = windowColumnRefs(items, groups, input)
	agg0, err := plan.NewAggregate(n, groups, items)
	if err != nil {
		return nil, pl.aggregateErr(err, n, sel, groups, gsrcs, items, srcs)
	}
	// Grouping expressions as the binder compares them; an event-time
	// window that NewAggregate expands does not resolve over the input and
	// is left out.
	groupFP := map[string]bool{}
	for _, g := range groups {
		if r, err := plan.Resolve(g, input, false, "GROUP BY"); err == nil {
			groupFP[plan.Fingerprint(r)] = true
		}
	}
	b := &binder{pl: pl, out: agg0.Output(), input: input, agg: true, groupFP: groupFP,
		itemFP: fingerprints(items, input, true), allowHidden: true}
	var having expr.Expr
	if sel.Having != nil {
		b.where = "HAVING"
		if having, err = b.bind(sel.Having.Expr, sel.Having); err != nil {
			return nil, err
		}
	}
	var orders []expr.Expr
	if len(orderBy) > 0 {
		b.where, b.allowHidden = "ORDER BY", !sel.Distinct
		if orders, err = b.bindOrders(orderBy); err != nil {
			return nil, err
		}
	}
	var node plan.Node = agg0
	if len(b.hidden) > 0 {
		all := append(append([]expr.Expr(nil), items...), b.hidden...)
		if node, err = plan.NewAggregate(n, groups, all); err != nil {
			return nil, pl.errAt(sel.Pos, err, "")
		}
	}
	if having != nil {
		f, err := plan.NewFilter(node, bindOut(having, node.Output()))
		if err != nil {
			return nil, pl.errAt(sel.Having.Pos, err, "")
		}
		node = f
	}
	if sel.Distinct {
		if len(b.hidden) > 0 {
			if node, err = pl.keepFirst(node, len(b.out), sel.Pos); err != nil {
				return nil, err
			}
		}
		if node, err = pl.distinct(node, sel.Pos); err != nil {
			return nil, err
		}
		if len(orders) > 0 {
			return pl.sort(node, orders, orderBy)
		}
		return node, nil
	}
	if len(orders) > 0 {
		if node, err = pl.sort(node, orders, orderBy); err != nil {
			return nil, err
		}
	}
	if len(b.hidden) > 0 {
		return pl.keepFirst(node, len(b.out), sel.Pos)
	}
	return node, nil
}

// aggregateErr places an error of NewAggregate: at an unknown name or an
// aggregate in GROUP BY, at a column outside GROUP BY, or at the first
// select item that fails on its own.
func (pl *sqlPlanner) aggregateErr(err error, n plan.Node, sel *expr.SelectStmt, groups []expr.Expr, gsrcs []*expr.SQLExpr, items []expr.Expr, srcs []*expr.SQLExpr) error {
	input := n.Output()
	for i, g := range groups {
		if node, nerr := culprit(g, input, false, "GROUP BY"); node != nil {
			return pl.exprErrFor(nerr, g, gsrcs[i], input, false, "GROUP BY")
		}
	}
	groupFP := map[string]bool{}
	for i, g := range groups {
		r, gerr := plan.Resolve(g, input, false, "GROUP BY")
		if gerr != nil {
			if _, ierr := plan.NewAggregate(n, []expr.Expr{g}, nil); ierr != nil {
				return pl.errAt(gsrcs[i].Pos, ierr, "")
			}
			continue
		}
		groupFP[plan.Fingerprint(r)] = true
	}
	for i, it := range items {
		if u := ungrouped(it, input, groupFP); u != nil {
			if _, ierr := plan.NewAggregate(n, groups, []expr.Expr{it}); ierr != nil {
				return pl.ungroupedErr(u, srcs[i])
			}
		}
	}
	for i, it := range items {
		if _, ierr := plan.NewAggregate(n, groups, []expr.Expr{it}); ierr != nil {
			return pl.exprErrFor(ierr, it, srcs[i], input, true, "the select list")
		}
	}
	return pl.errAt(sel.Pos, err, "")
}

// groupBy returns the grouping expressions: GROUP BY ALL takes the
// select items without aggregates; an integer is a position in the select
// list; a name that is not an input column but a select-list alias
// stands for the aliased expression (Spark's groupByOrdinal and
// groupByAliases). gsrcs says where each one is written.
func (pl *sqlPlanner) groupBy(sel *expr.SelectStmt, items []expr.Expr, srcs []*expr.SQLExpr, input []plan.Attribute) ([]expr.Expr, []*expr.SQLExpr, error) {
	var groups []expr.Expr
	var gsrcs []*expr.SQLExpr
	if sel.GroupByAll {
		for i, it := range items {
			u := expr.Unalias(it)
			if !hasAgg([]expr.Expr{u}) && hasColumns(u) {
				groups = append(groups, u)
				gsrcs = append(gsrcs, srcs[i])
			}
		}
		return groups, gsrcs, nil
	}
	aliases := map[string]int{}
	for i, it := range items {
		if a, ok := it.(*expr.Alias); ok {
			if _, dup := aliases[strings.ToLower(a.Name)]; !dup {
				aliases[strings.ToLower(a.Name)] = i
			}
		}
	}
	for _, g := range sel.GroupBy {
		if k, ok := expr.Ordinal(g.Expr); ok {
			if k < 1 || k > int64(len(items)) {
				return nil, nil, pl.errAt(g.Pos, fmt.Errorf("%w: GROUP BY position %d is not in the select list (valid positions are 1 to %d)",
					plan.ErrAnalysis, k, len(items)), "")
			}
			it := expr.Unalias(items[k-1])
			if hasAgg([]expr.Expr{it}) {
				return nil, nil, pl.errAt(g.Pos, fmt.Errorf("%w: GROUP BY position %d refers to %s, which contains an aggregate function",
					plan.ErrAnalysis, k, it), "group by the columns the aggregate is computed per")
			}
			groups = append(groups, it)
			gsrcs = append(gsrcs, srcs[k-1])
			continue
		}
		ge, _ := expr.Transform(g.Expr, func(x expr.Expr) (expr.Expr, error) {
			c, ok := x.(*expr.Column)
			if !ok || len(c.Parts) != 1 {
				return x, nil
			}
			if _, err := plan.Resolve(c, input, false, "GROUP BY"); err == nil {
				return x, nil // input columns win over aliases, as in Spark
			}
			if i, ok := aliases[strings.ToLower(c.Parts[0])]; ok && !hasAgg([]expr.Expr{items[i]}) {
				return expr.Unalias(items[i]), nil
			}
			return x, nil
		})
		groups = append(groups, ge)
		gsrcs = append(gsrcs, g)
	}
	return groups, gsrcs, nil
}

// ungrouped returns a column of e (a select item over input) that is
// neither grouped nor inside an aggregate, mirroring NewAggregate's check
// so the error can point at it; nil when there is none.
func ungrouped(e expr.Expr, input []plan.Attribute, groupFP map[string]bool) expr.Expr {
	switch t := e.(type) {
	case *expr.Literal, *expr.Star:
		return nil
	case *expr.Alias:
		return ungrouped(t.Child, input, groupFP)
	case *expr.Call:
		if isAggName(t.Name) {
			return nil
		}
	}
	r, err := plan.Resolve(e, input, true, "")
	if err == nil && grouped(r, groupFP) {
		return nil
	}
	switch e.(type) {
	case *expr.Column:
		if err != nil {
			return nil // unknown: the analyzer reports it
		}
		return e
	case *expr.BoundRef:
		return e
	}
	for _, c := range e.Children() {
		if u := ungrouped(c, input, groupFP); u != nil {
			return u
		}
	}
	return nil
}

// grouped reports whether r, or the struct it reads a field of, is a
// grouping expression.
func grouped(r expr.Expr, groupFP map[string]bool) bool {
	for {
		if groupFP[plan.Fingerprint(r)] {
			return true
		}
		f, ok := r.(*expr.Field)
		if !ok {
			return false
		}
		r = f.Child
	}
}

func (pl *sqlPlanner) ungroupedErr(u expr.Expr, src *expr.SQLExpr) error {
	name := expr.Name(u)
	if c, ok := u.(*expr.Column); ok {
		name = c.String()
	}
	pos := src.Pos
	if p, ok := src.FindInText(pl.text, u); ok {
		pos = p
	}
	return pl.errAt(pos, fmt.Errorf("%w: column %s is neither in the GROUP BY nor inside an aggregate function", plan.ErrAnalysis, quoted(strings.ReplaceAll(name, "`", ""))),
		fmt.Sprintf("add %s to the GROUP BY, or aggregate it, for example first(%s) or any_value(%s)", u, u, u))
}

// exprErrFor is exprErr for a node x written in src (x may be a rewritten
// form of src.Expr).
func (pl *sqlPlanner) exprErrFor(err error, x expr.Expr, src *expr.SQLExpr, input []plan.Attribute, allowAgg bool, where string) error {
	return pl.exprErr(err, &expr.SQLExpr{Expr: x, Pos: src.Pos, End: src.End}, input, allowAgg, where)
}

// fingerprints maps each select item, resolved over input, to its
// position, so ORDER BY and HAVING reuse a column the select list
// already computes.
func fingerprints(items []expr.Expr, input []plan.Attribute, allowAgg bool) map[string]int {
	out := map[string]int{}
	for i, it := range items {
		r, err := plan.Resolve(expr.Unalias(it), input, allowAgg, "")
		if err != nil {
			continue
		}
		if _, dup := out[plan.Fingerprint(r)]; !dup {
			out[plan.Fingerprint(r)] = i
		}
	}
	return out
}

func hasColumns(e expr.Expr) bool {
	found := false
	expr.Walk(e, func(n expr.Expr) bool {
		switch n.(type) {
		case *expr.Column, *expr.BoundRef, *expr.Star:
			found = true
		}
		return !found
	})
	return found
}

func hasAggCall(e expr.Expr) bool {
	found := false
	expr.Walk(e, func(n expr.Expr) bool {
		_, found = n.(*expr.AggCall)
		return !found
	})
	return found
}

// outRef stands for column i of a node that is not built yet (an
// aggregation or projection that grows by the columns ORDER BY and HAVING
// need); bindOut replaces it once the node exists.
type outRef struct{ i int }

func (o *outRef) String() string                     { return "#" + strconv.Itoa(o.i) }
func (o *outRef) Children() []expr.Expr              { return nil }
func (o *outRef) WithChildren([]expr.Expr) expr.Expr { return o }

// bindOut replaces outRefs with references to attrs.
func bindOut(e expr.Expr, attrs []plan.Attribute) expr.Expr {
	out, _ := expr.Transform(e, func(n expr.Expr) (expr.Expr, error) {
		if o, ok := n.(*outRef); ok {
			return ref(attrs, o.i, 0), nil
		}
		return n, nil
	})
	return out
}

// binder resolves ORDER BY and HAVING expressions the way Spark does:
// names of the select list first (aliases included), then the input —
// for an aggregation only through aggregates and grouping expressions. What
// the select list does not compute becomes a hidden column.
type binder struct {
	pl    *sqlPlanner
	where string
	// out is the select list's output; input what it is computed over.
	out   []plan.Attribute
	input []plan.Attribute
	agg   bool
	// groupFP holds the grouping expressions, itemFP the select items
	// (both resolved over input).
	groupFP     map[string]bool
	itemFP      map[string]int
	allowHidden bool
	hidden      []expr.Expr
	hiddenFP    map[string]int
}

func (b *binder) bindOrders(items []*expr.SQLExpr) ([]expr.Expr, error) {
	out := make([]expr.Expr, len(items))
	for i, it := range items {
		so := it.Expr.(*expr.SortOrder)
		var child expr.Expr
		if k, ok := expr.Ordinal(so.Child); ok {
			if k < 1 || k > int64(len(b.out)) {
				return nil, b.pl.errAt(it.Pos, fmt.Errorf("%w: ORDER BY position %d is not in the select list (valid positions are 1 to %d)",
					plan.ErrAnalysis, k, len(b.out)), "")
			}
			child = &outRef{int(k - 1)}
		} else {
			var err error
			if child, err = b.bind(so.Child, it); err != nil {
				return nil, err
			}
		}
		out[i] = &expr.SortOrder{Child: child, Desc: so.Desc, NullsFirst: so.NullsFirst}
	}
	return out, nil
}

func (b *binder) bind(e expr.Expr, src *expr.SQLExpr) (expr.Expr, error) {
	switch t := e.(type) {
	case *expr.Literal, *expr.BoundRef, *outRef:
		return e, nil
	case *expr.Star:
		return nil, b.pl.errAt(src.Pos, fmt.Errorf("%w: %s is not allowed in %s", plan.ErrAnalysis, t, b.where), "")
	case *expr.Column:
		return b.column(t, src)
	case *expr.Call:
		if b.agg && isAggName(t.Name) {
			return b.hide(t, src)
		}
	}
	if hasColumns(e) {
		if r, err := plan.Resolve(e, b.input, b.agg, b.where); err == nil {
			fp := plan.Fingerprint(r)
			if i, ok := b.itemFP[fp]; ok {
				return &outRef{i}, nil
			}
			if b.agg && b.groupFP[fp] && !hasAggCall(r) {
				return b.hide(e, src)
			}
		}
	}
	ch := e.Children()
	if len(ch) == 0 {
		return e, nil
	}
	nc := make([]expr.Expr, len(ch))
	for i, c := range ch {
		x, err := b.bind(c, src)
		if err != nil {
			return nil, err
		}
		nc[i] = x
	}
	return e.WithChildren(nc), nil
}

// column binds a name: to the select list's column of that name, else to
// the input column, computed as a hidden column.
func (b *binder) column(c *expr.Column, src *expr.SQLExpr) (expr.Expr, error) {
	r, err := plan.Resolve(c, b.out, false, b.where)
	if err == nil {
		return r, nil
	}
	if strings.Contains(err.Error(), "is ambiguous") {
		return nil, b.pl.exprErrFor(err, c, src, b.out, false, b.where)
	}
	if _, ierr := plan.Resolve(c, b.input, false, b.where); ierr != nil {
		return nil, b.pl.exprErrFor(ierr, c, src, b.input, false, b.where)
	}
	return b.hide(c, src)
}

// hide returns a reference to the column computing e (an expression over
// the input): a select item, a hidden column already added, or a new one.
func (b *binder) hide(e expr.Expr, src *expr.SQLExpr) (expr.Expr, error) {
	r, err := plan.Resolve(e, b.input, b.agg, b.where)
	if err != nil {
		return nil, b.pl.exprErrFor(err, e, src, b.input, b.agg, b.where)
	}
	fp := plan.Fingerprint(r)
	if i, ok := b.itemFP[fp]; ok {
		return &outRef{i}, nil
	}
	if j, ok := b.hiddenFP[fp]; ok {
		return &outRef{len(b.out) + j}, nil
	}
	if b.agg && !hasAggCall(r) && !grouped(r, b.groupFP) {
		if u := ungrouped(e, b.input, b.groupFP); u != nil {
			return nil, b.pl.ungroupedErr(u, src)
		}
		return nil, b.pl.ungroupedErr(e, src)
	}
	if !b.allowHidden {
		pos := src.Pos
		if p, ok := src.FindInText(b.pl.text, e); ok {
			pos = p
		}
		return nil, b.pl.errAt(pos, fmt.Errorf("%w: %s is not in the select list; with SELECT DISTINCT, ORDER BY can only use selected columns",
			plan.ErrAnalysis, e), fmt.Sprintf("add %s to the select list", e))
	}
	if b.hiddenFP == nil {
		b.hiddenFP = map[string]int{}
	}
	b.hiddenFP[fp] = len(b.hidden)
	b.hidden = append(b.hidden, e)
	return &outRef{len(b.out) + len(b.hidden) - 1}, nil
}

// sort plans ORDER BY over n as DataFrame.OrderBy does; orders may hold
// outRefs over n's columns.
func (pl *sqlPlanner) sort(n plan.Node, orders []expr.Expr, items []*expr.SQLExpr) (plan.Node, error) {
	attrs := n.Output()
	bound := make([]expr.Expr, len(orders))
	for i, o := range orders {
		bound[i] = bindOut(o, attrs)
	}
	s, err := plan.NewSort(n, bound)
	if err != nil {
		for i, o := range bound {
			if _, ierr := plan.NewSort(n, []expr.Expr{o}); ierr != nil {
				return nil, pl.exprErrFor(ierr, items[i].Expr, items[i], attrs, false, "ORDER BY")
			}
		}
		return nil, pl.errAt(items[0].Pos, err, "")
	}
	return s, nil
}

// sortOutput plans the ORDER BY of a set operation or a parenthesised
// query: it sees only the output columns.
func (pl *sqlPlanner) sortOutput(n plan.Node, items []*expr.SQLExpr) (plan.Node, error) {
	out := n.Output()
	b := &binder{pl: pl, where: "ORDER BY", out: out, input: out}
	orders, err := b.bindOrders(items)
	if err != nil {
		return nil, err
	}
	return pl.sort(n, orders, items)
}

// keepFirst projects n to its first k columns (dropping hidden ones).
func (pl *sqlPlanner) keepFirst(n plan.Node, k int, pos expr.Pos) (plan.Node, error) {
	attrs := n.Output()
	es := make([]expr.Expr, k)
	for i := range es {
		es[i] = ref(attrs, i, 0)
	}
	p, err := plan.NewProject(n, es)
	if err != nil {
		return nil, pl.errAt(pos, err, "")
	}
	return p, nil
}

// windowColumnRefs lets the select list name an event-time window key by
// its column name, as Spark does: with GROUP BY window(ts, '5 minutes'),
// "window" is that window and "window.end" its end. A real input column of
// that name wins.
func windowColumnRefs(items, groups []expr.Expr, input []plan.Attribute) []expr.Expr {
	keys := map[string]expr.Expr{}
	for _, g := range groups {
		call, ok := expr.Unalias(g).(*expr.Call)
		if !ok || (call.Name != "window" && call.Name != "session_window") {
			continue
		}
		name := call.Name
		if a, ok := g.(*expr.Alias); ok {
			name = a.Name
		}
		keys[strings.ToLower(name)] = call
	}
	if len(keys) == 0 {
		return items
	}
	for _, a := range input {
		delete(keys, strings.ToLower(a.Name))
	}
	sub := func(c *expr.Column) (expr.Expr, bool) {
		call, ok := keys[strings.ToLower(c.Parts[0])]
		if !ok {
			return nil, false
		}
		var r expr.Expr = call
		for _, f := range c.Parts[1:] {
			r = &expr.Field{Child: r, Name: f}
		}
		return r, true
	}
	out := make([]expr.Expr, len(items))
	for i, it := range items {
		if a, ok := it.(*expr.Alias); ok {
			if c, ok := a.Child.(*expr.Column); ok {
				if r, ok := sub(c); ok {
					out[i] = &expr.Alias{Child: r, Name: a.Name}
					continue
				}
			}
		}
		out[i], _ = expr.Transform(it, func(e expr.Expr) (expr.Expr, error) {
			c, ok := e.(*expr.Column)
			if !ok {
				return e, nil
			}
			r, ok := sub(c)
			if !ok {
				return e, nil
			}
			if len(c.Parts) > 1 && e == it {
				// Keep Spark's column name: "window.end" is named "end".
				r = &expr.Alias{Child: r, Name: c.Parts[len(c.Parts)-1]}
			}
			return r, nil
		})
	}
	return out
}
