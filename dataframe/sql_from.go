package dataframe

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/plan"
)

// from plans a FROM clause: views, subqueries and joins, built as the
// DataFrame API builds them (Table, Alias, Join).
func (pl *sqlPlanner) from(f expr.FromItem, scope *cteScope) (plan.Node, error) {
	switch t := f.(type) {
	case *expr.TableRef:
		n, err := pl.table(t.Name, scope)
		if err != nil {
			return nil, err
		}
		return pl.alias(n, t.Alias)
	case *expr.SubqueryRef:
		n, err := pl.query(t.Query, scope)
		if err != nil {
			return nil, err
		}
		return pl.alias(n, t.Alias)
	case *expr.JoinExpr:
		return pl.join(t, scope)
	}
	return nil, fmt.Errorf("dataframe: SQL: unexpected FROM item %T", f)
}

// table reads a CTE or a view by name, as Session.Table does: a
// SubqueryAlias named as written, so t.col resolves.
func (pl *sqlPlanner) table(id expr.Ident, scope *cteScope) (plan.Node, error) {
	if n, ok := scope.lookup(id.Name); ok {
		return &plan.SubqueryAlias{Child: n, Alias: id.Name}, nil
	}
	df := pl.s.Table(id.Name)
	if df.err == nil {
		return df.plan, nil
	}
	var names []string
	for sc := scope; sc != nil; sc = sc.parent {
		for k := range sc.names {
			names = append(names, k)
		}
	}
	for _, t := range pl.s.Catalog().ListTables() {
		names = append(names, t.Name)
	}
	sort.Strings(names)
	msg := fmt.Sprintf("table or view %s not found", quoted(id.Name))
	hint := "register a DataFrame with df.CreateOrReplaceTempView(" + fmt.Sprintf("%q", id.Name) + ")"
	if len(names) > 0 {
		msg += "; known: " + strings.Join(names, ", ")
		if best := closest(id.Name, names); best != "" {
			hint = "did you mean " + quoted(best) + "?"
		}
	}
	return nil, pl.errAt(id.Pos, fmt.Errorf("%w: %s", plan.ErrAnalysis, msg), hint)
}

// alias applies `AS name [(cols)]`, as DataFrame.Alias does.
func (pl *sqlPlanner) alias(n plan.Node, a *expr.TableAlias) (plan.Node, error) {
	if a == nil {
		return n, nil
	}
	if len(a.Columns) > 0 {
		var err error
		if n, err = pl.renameColumns(n, a.Columns, a.Name); err != nil {
			return nil, err
		}
	}
	return &plan.SubqueryAlias{Child: n, Alias: a.Name.Name}, nil
}

var joinTypes = map[expr.JoinKind]plan.JoinType{
	expr.JoinInner: plan.InnerJoin, expr.JoinLeft: plan.LeftOuterJoin, expr.JoinRight: plan.RightOuterJoin,
	expr.JoinFull: plan.FullOuterJoin, expr.JoinLeftSemi: plan.LeftSemiJoin, expr.JoinLeftAnti: plan.LeftAntiJoin,
	expr.JoinCross: plan.CrossJoin,
}

// join plans a join as DataFrame.Join does: ON is a condition over both
// sides, USING and NATURAL join on named columns that appear once.
func (pl *sqlPlanner) join(j *expr.JoinExpr, scope *cteScope) (plan.Node, error) {
	l, err := pl.from(j.Left, scope)
	if err != nil {
		return nil, err
	}
	r, err := pl.from(j.Right, scope)
	if err != nil {
		return nil, err
	}
	typ := joinTypes[j.Kind]
	switch {
	case j.Natural:
		var names []string
		for _, a := range l.Output() {
			for _, b := range r.Output() {
				if strings.EqualFold(a.Name, b.Name) {
					names = append(names, a.Name)
					break
				}
			}
		}
		if len(names) == 0 && typ != plan.InnerJoin {
			return nil, pl.errAt(j.Pos, fmt.Errorf("%w: the sides of this NATURAL %s JOIN share no column names", plan.ErrAnalysis, j.Kind),
				"join with ON, or rename the columns so the keys match")
		}
		return pl.joinUsing(l, r, names, typ, j)
	case len(j.Using) > 0:
		names := make([]string, len(j.Using))
		for i, id := range j.Using {
			if err := pl.checkUsing(id, l, "left"); err != nil {
				return nil, err
			}
			if err := pl.checkUsing(id, r, "right"); err != nil {
				return nil, err
			}
			names[i] = id.Name
		}
		return pl.joinUsing(l, r, names, typ, j)
	case j.On != nil:
		in := append(append([]plan.Attribute(nil), l.Output()...), r.Output()...)
		n, err := plan.NewJoin(l, r, typ, j.On.Expr)
		if err != nil {
			return nil, pl.exprErr(err, j.On, in, false, "the join condition")
		}
		return n, nil
	}
	n, err := plan.NewJoin(l, r, typ, nil)
	if err != nil {
		return nil, pl.errAt(j.Pos, err, "")
	}
	return n, nil
}

func (pl *sqlPlanner) joinUsing(l, r plan.Node, names []string, typ plan.JoinType, j *expr.JoinExpr) (plan.Node, error) {
	d := (&DataFrame{s: pl.s, plan: l}).joinUsing(&DataFrame{s: pl.s, plan: r}, names, typ)
	if d.err != nil {
		return nil, pl.errAt(j.Pos, d.err, "")
	}
	return keepKeyQualifiers(d.plan, len(names)), nil
}

// keepKeyQualifiers unwraps the keys of a USING join that are a side's
// column under its own name (every join type but FULL, whose keys are
// coalesced), so they keep that side's qualifier and `a.k` still
// resolves after `a JOIN b USING (k)`, as in Spark. joinUsing names them
// with an Alias, which drops the qualifier.
func keepKeyQualifiers(n plan.Node, keys int) plan.Node {
	p, ok := n.(*plan.Project)
	if !ok || len(p.Exprs) < keys {
		return n
	}
	es := append([]expr.Expr(nil), p.Exprs...)
	changed := false
	for i := 0; i < keys; i++ {
		if a, ok := es[i].(*expr.Alias); ok {
			if r, ok := a.Child.(*expr.BoundRef); ok && r.Name == a.Name {
				es[i] = r
				changed = true
			}
		}
	}
	if !changed {
		return n
	}
	return &plan.Project{Child: p.Child, Exprs: es}
}

// checkUsing reports a USING column missing on one side, at its name.
func (pl *sqlPlanner) checkUsing(id expr.Ident, n plan.Node, side string) error {
	out := n.Output()
	names := make([]string, len(out))
	for i, a := range out {
		if strings.EqualFold(a.Name, id.Name) {
			return nil
		}
		names[i] = a.Name
	}
	hint := ""
	if best := closest(id.Name, names); best != "" {
		hint = "did you mean " + quoted(best) + "?"
	}
	return pl.errAt(id.Pos, fmt.Errorf("%w: USING column %s is not on the %s side of the join; its columns are %s",
		plan.ErrAnalysis, quoted(id.Name), side, strings.Join(names, ", ")), hint)
}

// closest returns the candidate nearest to name by edit distance, if it
// is near enough to be a likely typo.
func closest(name string, candidates []string) string {
	best, bestD := "", 0
	ln := strings.ToLower(name)
	for _, c := range candidates {
		d := editDistance(ln, strings.ToLower(c))
		if d <= max(2, len(name)/3) && (best == "" || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
