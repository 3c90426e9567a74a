package dataframe

import (
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/expr/fn"
	"github.com/sluicehq/sluice/dataframe/plan"
)

// SQL runs a query in Spark's SQL dialect over the session's temporary
// views (CreateOrReplaceTempView) and returns it as a DataFrame:
//
//	s.SQL("SELECT user_id, count(*) AS views FROM clicks WHERE event_type = 'view' GROUP BY user_id")
//
// The query is planned into the same logical plan the DataFrame API
// builds, so a view over a streaming DataFrame makes the result streaming,
// and everything else (EXPLAIN, output-mode checks, state) works the same.
// `EXPLAIN [EXTENDED] SELECT ...` returns one row with the plan text in a
// column named plan.
//
// Errors are kept in the DataFrame, as for every transformation: a
// *expr.ParseError for a syntax error, a *expr.SQLError (wrapping
// plan.ErrAnalysis) for an unknown name or a type error; both show the
// text with a caret under the position. See docs/sql.md for the dialect.
func (s *Session) SQL(query string) *DataFrame {
	st, err := expr.ParseSQL(query)
	if err != nil {
		return &DataFrame{s: s, err: err}
	}
	pl := &sqlPlanner{s: s, text: query}
	switch t := st.(type) {
	case *expr.ExplainStmt:
		n, err := pl.query(t.Query, nil)
		if err != nil {
			return &DataFrame{s: s, err: err}
		}
		return s.textFrame("plan", (&DataFrame{s: s, plan: n}).Explain(t.Extended))
	case *expr.Query:
		n, err := pl.query(t, nil)
		if err != nil {
			return &DataFrame{s: s, err: err}
		}
		return &DataFrame{s: s, plan: n}
	}
	return &DataFrame{s: s, err: fmt.Errorf("dataframe: SQL: unexpected statement %T", st)}
}

// textFrame is a one-row, one-column DataFrame holding text (EXPLAIN's
// result). The batch is built when the frame runs and released after, so
// the plan owns no Arrow memory.
func (s *Session) textFrame(name, text string) *DataFrame {
	schema := arrow.NewSchema([]arrow.Field{{Name: name, Type: arrow.BinaryTypes.String}}, nil)
	alloc := s.conf.Allocator
	rel := &plan.LocalRelation{Attrs: plan.AttrsOf(schema, ""), Name: "CommandResult",
		Snapshot: func() ([]arrow.RecordBatch, func()) {
			b := array.NewStringBuilder(alloc)
			defer b.Release()
			b.Append(text)
			col := b.NewArray()
			defer col.Release()
			rec := array.NewRecordBatch(schema, []arrow.Array{col}, 1)
			return []arrow.RecordBatch{rec}, rec.Release
		}}
	return &DataFrame{s: s, plan: rel}
}

// oneRow is the input of a SELECT without FROM: one row, no columns. The
// batch has no buffers, so nothing needs releasing.
func oneRow() plan.Node {
	b := array.NewRecordBatch(arrow.NewSchema(nil, nil), nil, 1)
	return &plan.LocalRelation{Batches: []arrow.RecordBatch{b}, Name: "OneRowRelation"}
}

// sqlPlanner turns a parsed statement into plan nodes. Errors leave it as
// *expr.SQLError, positioned in text.
type sqlPlanner struct {
	s    *Session
	text string
}

// cteScope holds the queries of a WITH clause; inner scopes shadow outer
// ones, and all of them shadow the session's views.
type cteScope struct {
	parent *cteScope
	names  map[string]plan.Node
}

func (c *cteScope) lookup(name string) (plan.Node, bool) {
	for sc := c; sc != nil; sc = sc.parent {
		if n, ok := sc.names[strings.ToLower(name)]; ok {
			return n, true
		}
	}
	return nil, false
}

func (pl *sqlPlanner) query(q *expr.Query, scope *cteScope) (plan.Node, error) {
	if len(q.With) > 0 {
		scope = &cteScope{parent: scope, names: map[string]plan.Node{}}
		for _, c := range q.With {
			n, err := pl.query(c.Query, scope)
			if err != nil {
				return nil, err
			}
			if len(c.Columns) > 0 {
				if n, err = pl.renameColumns(n, c.Columns, c.Name); err != nil {
					return nil, err
				}
			}
			scope.names[strings.ToLower(c.Name.Name)] = n
		}
	}
	var n plan.Node
	var err error
	if sel, ok := q.Body.(*expr.SelectStmt); ok {
		// ORDER BY of a single SELECT may use columns the select list
		// drops, so it is planned with the SELECT.
		n, err = pl.selectStmt(sel, q.OrderBy, scope)
	} else {
		n, err = pl.body(q.Body, scope)
		if err == nil && len(q.OrderBy) > 0 {
			n, err = pl.sortOutput(n, q.OrderBy)
		}
	}
	if err != nil {
		return nil, err
	}
	if q.Limit != nil {
		return pl.limit(n, q.Limit)
	}
	return n, nil
}

func (pl *sqlPlanner) body(b expr.QueryBody, scope *cteScope) (plan.Node, error) {
	switch t := b.(type) {
	case *expr.SelectStmt:
		return pl.selectStmt(t, nil, scope)
	case *expr.ParenQuery:
		return pl.query(t.Query, scope)
	case *expr.SetOp:
		return pl.setOp(t, scope)
	}
	return nil, fmt.Errorf("dataframe: SQL: unexpected query body %T", b)
}

// setOp plans UNION [ALL] as the DataFrame API's Union (then Distinct),
// and INTERSECT / EXCEPT as Spark rewrites them: a left semi / anti join
// on null-safe equality of every column, then Distinct.
func (pl *sqlPlanner) setOp(op *expr.SetOp, scope *cteScope) (plan.Node, error) {
	l, err := pl.body(op.Left, scope)
	if err != nil {
		return nil, err
	}
	r, err := pl.body(op.Right, scope)
	if err != nil {
		return nil, err
	}
	name := op.Op.String()
	lo, ro := l.Output(), r.Output()
	if len(lo) != len(ro) {
		return nil, pl.errAt(op.Pos, fmt.Errorf("%w: %s needs the same number of columns on both sides: the left has %d (%s), the right %d (%s)",
			plan.ErrAnalysis, name, len(lo), attrList(lo), len(ro), attrList(ro)), "")
	}
	if op.Op == expr.SetUnion {
		u, err := plan.NewUnion(l, r)
		if err != nil {
			return nil, pl.errAt(op.Pos, err, "")
		}
		if op.All {
			return u, nil
		}
		return pl.distinct(u, op.Pos)
	}
	if op.All {
		return nil, pl.errAt(op.Pos, fmt.Errorf("%w: %s ALL is not supported", plan.ErrAnalysis, name),
			"use "+name+" (which removes duplicates), or express it with a join")
	}
	var cond expr.Expr
	for i := range lo {
		eq := expr.NewCall("<=>", ref(lo, i, 0), ref(ro, i, len(lo)))
		if cond == nil {
			cond = eq
		} else {
			cond = expr.NewCall("and", cond, eq)
		}
	}
	typ := plan.LeftSemiJoin
	if op.Op == expr.SetExcept {
		typ = plan.LeftAntiJoin
	}
	j, err := plan.NewJoin(l, r, typ, cond)
	if err != nil {
		return nil, pl.errAt(op.Pos, err, "")
	}
	return pl.distinct(j, op.Pos)
}

// distinct is DataFrame.Distinct; an error is placed at pos.
func (pl *sqlPlanner) distinct(n plan.Node, pos expr.Pos) (plan.Node, error) {
	d := (&DataFrame{s: pl.s, plan: n}).Distinct()
	if d.err != nil {
		return nil, pl.errAt(pos, d.err, "")
	}
	return d.plan, nil
}

// limit plans LIMIT n; n must fold to a non-negative integer.
func (pl *sqlPlanner) limit(n plan.Node, e *expr.SQLExpr) (plan.Node, error) {
	if hasColumns(e.Expr) {
		return nil, pl.errAt(e.Pos, fmt.Errorf("%w: LIMIT takes a constant integer, not %s", plan.ErrAnalysis, e.Expr), "write LIMIT 10")
	}
	r, err := plan.Resolve(e.Expr, nil, false, "LIMIT")
	if err != nil {
		return nil, pl.exprErr(err, e, nil, false, "LIMIT")
	}
	f, err := plan.FoldExpr(r)
	if err != nil {
		return nil, pl.errAt(e.Pos, err, "")
	}
	v, ok := expr.Ordinal(f)
	if !ok {
		return nil, pl.errAt(e.Pos, fmt.Errorf("%w: LIMIT takes a constant integer, not %s", plan.ErrAnalysis, e.Expr), "write LIMIT 10")
	}
	if v < 0 {
		return nil, pl.errAt(e.Pos, fmt.Errorf("%w: LIMIT must not be negative, got %d", plan.ErrAnalysis, v), "")
	}
	return &plan.Limit{Child: n, N: v}, nil
}

// renameColumns gives n's columns new names (WITH t(a, b), FROM x AS
// t(a, b)).
func (pl *sqlPlanner) renameColumns(n plan.Node, cols []expr.Ident, owner expr.Ident) (plan.Node, error) {
	out := n.Output()
	if len(cols) != len(out) {
		return nil, pl.errAt(owner.Pos, fmt.Errorf("%w: %s names %d columns, but its query has %d (%s)",
			plan.ErrAnalysis, quoted(owner.Name), len(cols), len(out), attrList(out)), "name every column, in order")
	}
	es := make([]expr.Expr, len(out))
	for i := range out {
		es[i] = &expr.Alias{Child: ref(out, i, 0), Name: cols[i].Name}
	}
	p, err := plan.NewProject(n, es)
	if err != nil {
		return nil, pl.errAt(owner.Pos, err, "")
	}
	return p, nil
}

// errAt places err at pos, splitting the analyzer's "Did you mean"
// suggestion into the hint.
func (pl *sqlPlanner) errAt(pos expr.Pos, err error, hint string) error {
	var se *expr.SQLError
	var pe *expr.ParseError
	if errors.As(err, &se) || errors.As(err, &pe) {
		return err
	}
	msg := err.Error()
	kind := "error"
	for _, k := range []struct{ prefix, kind string }{
		{plan.ErrAnalysis.Error() + ": ", "analysis error"},
		{plan.ErrUnsupported.Error() + ": ", "unsupported operation"},
	} {
		if strings.HasPrefix(msg, k.prefix) {
			msg, kind = strings.TrimPrefix(msg, k.prefix), k.kind
			break
		}
	}
	msg = strings.TrimPrefix(msg, expr.ErrUnknownFunction.Error()+": ")
	if i := strings.Index(msg, ". Did you mean "); i >= 0 {
		if hint == "" {
			hint = "did you mean " + msg[i+len(". Did you mean "):]
		}
		msg = msg[:i]
	}
	return &expr.SQLError{Text: pl.text, Pos: pos, Kind: kind, Msg: msg, Hint: hint, Err: err}
}

// exprErr places an analyzer error about e (resolved over input): at the
// column that does not resolve or the function that does not exist when
// there is one (with that node's own error), else at e.
func (pl *sqlPlanner) exprErr(err error, e *expr.SQLExpr, input []plan.Attribute, allowAgg bool, where string) error {
	if node, nerr := culprit(e.Expr, input, allowAgg, where); node != nil {
		pos, ok := e.FindInText(pl.text, node)
		if !ok {
			pos = e.Pos
		}
		return pl.errAt(pos, nerr, qualifierHint(node, input))
	}
	return pl.errAt(e.Pos, err, "")
}

// listErr places an error from resolving several expressions at the
// first one that fails on its own.
func (pl *sqlPlanner) listErr(err error, items []*expr.SQLExpr, input []plan.Attribute, allowAgg bool, where string) error {
	for _, it := range items {
		if node, nerr := culprit(it.Expr, input, allowAgg, where); node != nil {
			return pl.exprErr(nerr, it, input, allowAgg, where)
		}
	}
	for _, it := range items {
		e, _ := plan.ExpandStars([]expr.Expr{it.Expr}, input)
		for _, x := range e {
			if _, ierr := plan.Resolve(x, input, allowAgg, where); ierr != nil {
				return pl.errAt(it.Pos, ierr, "")
			}
		}
	}
	if len(items) > 0 {
		return pl.errAt(items[0].Pos, err, "")
	}
	return err
}

// culprit finds the first node of e the analyzer rejects on its own: a
// column that does not resolve over input, a function that does not
// exist, or an aggregate where none is allowed. It returns the node and
// its error, or nil.
func culprit(e expr.Expr, input []plan.Attribute, allowAgg bool, where string) (expr.Expr, error) {
	var node expr.Expr
	var err error
	var walk func(e expr.Expr, insideAgg bool)
	walk = func(e expr.Expr, insideAgg bool) {
		if node != nil {
			return
		}
		switch t := e.(type) {
		case *expr.Column:
			if _, rerr := plan.Resolve(t, input, false, where); rerr != nil {
				node, err = t, rerr
			}
			return
		case *expr.Star:
			if _, serr := plan.ExpandStars([]expr.Expr{t}, input); serr != nil {
				node, err = t, serr
			}
			return
		case *expr.Call:
			isAgg := isAggName(t.Name)
			if isAgg && (!allowAgg || insideAgg) {
				if !allowAgg {
					err = fmt.Errorf("%w: aggregate functions such as %s are not allowed in %s", plan.ErrAnalysis, t, where)
					if where == "WHERE" {
						err = fmt.Errorf("%w; filter on aggregates with HAVING", err)
					}
				} else {
					err = fmt.Errorf("%w: aggregate function %s is nested inside another aggregate; compute it in a subquery first", plan.ErrAnalysis, t)
				}
				node = t
				return
			}
			if !isAgg && !isFunction(t.Name) && !generators[t.Name] {
				// Resolving the bare name gives the analyzer's error with
				// its suggestions.
				node = t
				if _, err = plan.Resolve(&expr.Call{Name: t.Name}, nil, true, where); err == nil {
					err = fmt.Errorf("%w: %w: %s is not a function", plan.ErrAnalysis, expr.ErrUnknownFunction, quoted(t.Name))
				}
				return
			}
			for _, a := range t.Args {
				walk(a, insideAgg || isAgg)
			}
			return
		}
		for _, c := range e.Children() {
			walk(c, insideAgg)
		}
	}
	walk(e, false)
	return node, err
}

// qualifierHint explains a t.col whose qualifier names no table of the
// FROM clause (often: the table was aliased).
func qualifierHint(node expr.Expr, input []plan.Attribute) string {
	var parts []string
	switch t := node.(type) {
	case *expr.Column:
		parts = t.Parts
	case *expr.Star:
		parts = []string{t.Qualifier, ""}
	}
	if len(parts) < 2 {
		return ""
	}
	c := &expr.Column{Parts: parts}
	quals := map[string]bool{}
	var list []string
	for _, a := range input {
		if a.Qualifier != "" && !quals[strings.ToLower(a.Qualifier)] {
			quals[strings.ToLower(a.Qualifier)] = true
			list = append(list, quoted(a.Qualifier))
		}
	}
	if quals[strings.ToLower(c.Parts[0])] {
		return ""
	}
	for _, a := range input {
		if strings.EqualFold(a.Name, c.Parts[0]) {
			return "" // a struct column's field
		}
	}
	for _, a := range input {
		if strings.EqualFold(a.Name, c.Parts[1]) && a.Qualifier != "" {
			return fmt.Sprintf("no table in FROM is called %s (a table's alias replaces its name); write %s.%s",
				quoted(c.Parts[0]), expr.QuoteIdent(a.Qualifier), expr.QuoteIdent(a.Name))
		}
	}
	if len(list) > 0 {
		return fmt.Sprintf("no table in FROM is called %s; the tables here are %s", quoted(c.Parts[0]), strings.Join(list, ", "))
	}
	return ""
}

// generators are the select-list calls that are not functions (see
// DataFrame.project).
var generators = map[string]bool{"explode": true, "explode_outer": true, "posexplode": true, "posexplode_outer": true}

func isFunction(name string) bool {
	_, ok := fn.Lookup(name)
	return ok
}

func quoted(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

func attrList(as []plan.Attribute) string {
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = a.Name
	}
	return strings.Join(names, ", ")
}
