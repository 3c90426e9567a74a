package dataframe

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/plan"
)

// DataFrame is a lazy, immutable query. Each transformation returns a new
// DataFrame; the first error (bad column, bad SQL text, type mismatch) is
// kept and returned by every action, Err and Explain.
type DataFrame struct {
	s    *Session
	plan plan.Node
	err  error
	ctx  context.Context
	// cache is set on a DataFrame returned by Cache, for Unpersist.
	cache *cached
}

func (df *DataFrame) derive(n plan.Node, err error) *DataFrame {
	if df.err != nil {
		return df
	}
	if err != nil {
		return &DataFrame{s: df.s, err: err, ctx: df.ctx}
	}
	return &DataFrame{s: df.s, plan: n, ctx: df.ctx}
}

func (df *DataFrame) fail(err error) *DataFrame {
	if df.err != nil {
		return df
	}
	return &DataFrame{s: df.s, err: err, ctx: df.ctx}
}

// Err returns the first error of the chain that built df, or nil.
func (df *DataFrame) Err() error { return df.err }

// Session returns the session df belongs to.
func (df *DataFrame) Session() *Session { return df.s }

// Plan returns the analysed logical plan (nil after an error).
func (df *DataFrame) Plan() plan.Node { return df.plan }

// WithContext makes actions on the result (and on DataFrames derived from
// it) stop when ctx is done.
func (df *DataFrame) WithContext(ctx context.Context) *DataFrame {
	c := *df
	c.ctx = ctx
	return &c
}

func (df *DataFrame) context() context.Context {
	if df.ctx != nil {
		return df.ctx
	}
	return context.Background()
}

// Columns lists the output column names.
func (df *DataFrame) Columns() []string {
	if df.err != nil {
		return nil
	}
	out := df.plan.Output()
	names := make([]string, len(out))
	for i, a := range out {
		names[i] = a.Name
	}
	return names
}

// Schema is the output schema (nil after an error).
func (df *DataFrame) Schema() *arrow.Schema {
	if df.err != nil {
		return nil
	}
	return plan.SchemaOf(df.plan)
}

// columns converts Select-style arguments (Column or column name string).
func columnsOf(cols []any) ([]expr.Expr, error) {
	out := make([]expr.Expr, 0, len(cols))
	for _, c := range cols {
		col := toColumn(c)
		if col.err != nil {
			return nil, col.err
		}
		out = append(out, col.e)
	}
	return out, nil
}

// Select computes the given columns (Column values or names; "*" for all).
// A generator (Explode) may appear once among them.
func (df *DataFrame) Select(cols ...any) *DataFrame {
	if df.err != nil {
		return df
	}
	es, err := columnsOf(cols)
	if err != nil {
		return df.fail(err)
	}
	return df.derive(df.project(es))
}

// SelectExpr is Select over SQL expression strings: SelectExpr("a", "b * 2 AS c").
func (df *DataFrame) SelectExpr(exprs ...string) *DataFrame {
	if df.err != nil {
		return df
	}
	es := make([]expr.Expr, len(exprs))
	for i, s := range exprs {
		e, err := expr.ParseExpr(s)
		if err != nil {
			return df.fail(err)
		}
		es[i] = e
	}
	return df.derive(df.project(es))
}

// project plans a select list: aggregates make it a global aggregation,
// a generator makes it a Generate under a Project.
func (df *DataFrame) project(es []expr.Expr) (plan.Node, error) {
	if hasAgg(es) {
		return plan.NewAggregate(df.plan, nil, es)
	}
	// Stars expand over the input, before a generator adds its columns.
	es, err := plan.ExpandStars(es, df.plan.Output())
	if err != nil {
		return nil, err
	}
	for i, e := range es {
		name, c, outer, pos, ok := generator(e)
		if !ok {
			continue
		}
		var names []string
		if name != "" {
			names = []string{name}
		}
		if pos && name != "" {
			names = []string{"pos", name}
		}
		g, err := plan.NewGenerate(df.plan, c, outer, pos, names)
		if err != nil {
			return nil, err
		}
		// Replace the generator with its output column(s).
		nIn := len(df.plan.Output())
		rest := make([]expr.Expr, 0, len(es)+1)
		rest = append(rest, es[:i]...)
		out := g.Output()
		for k := nIn; k < len(out); k++ {
			rest = append(rest, plan.RefOf(out[k], k))
		}
		rest = append(rest, es[i+1:]...)
		return plan.NewProject(g, rest)
	}
	return plan.NewProject(df.plan, es)
}

func generator(e expr.Expr) (name string, child expr.Expr, outer, pos, ok bool) {
	if a, isAlias := e.(*expr.Alias); isAlias {
		name = a.Name
		e = a.Child
	}
	c, isCall := e.(*expr.Call)
	if !isCall || len(c.Args) != 1 {
		return "", nil, false, false, false
	}
	switch c.Name {
	case "explode":
		return name, c.Args[0], false, false, true
	case "explode_outer":
		return name, c.Args[0], true, false, true
	case "posexplode":
		return name, c.Args[0], false, true, true
	case "posexplode_outer":
		return name, c.Args[0], true, true, true
	}
	return "", nil, false, false, false
}

func hasAgg(es []expr.Expr) bool {
	found := false
	for _, e := range es {
		expr.Walk(e, func(n expr.Expr) bool {
			if c, ok := n.(*expr.Call); ok && isAggName(c.Name) {
				found = true
			}
			return !found
		})
	}
	return found
}

// Filter keeps rows where cond is true: a Column or a SQL string
// ("event_type = 'view' AND ts > TIMESTAMP '2026-01-01 00:00:00'").
func (df *DataFrame) Filter(cond any) *DataFrame {
	if df.err != nil {
		return df
	}
	var c Column
	switch x := cond.(type) {
	case string:
		c = Expr(x)
	case Column:
		c = x
	default:
		return df.fail(fmt.Errorf("dataframe: Filter takes a Column or a SQL string, got %T", cond))
	}
	if c.err != nil {
		return df.fail(c.err)
	}
	return df.derive(plan.NewFilter(df.plan, c.e))
}

// Where is Filter.
func (df *DataFrame) Where(cond any) *DataFrame { return df.Filter(cond) }

// WithColumn adds a column, or replaces the one with that name.
func (df *DataFrame) WithColumn(name string, c Column) *DataFrame {
	return df.WithColumns(map[string]Column{name: c}, name)
}

// WithColumns adds or replaces several columns. order fixes the order new
// columns are appended in (map order is random); names missing from order
// are appended sorted.
func (df *DataFrame) WithColumns(cols map[string]Column, order ...string) *DataFrame {
	if df.err != nil {
		return df
	}
	names := append([]string(nil), order...)
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	var extra []string
	for n := range cols {
		if !seen[n] {
			extra = append(extra, n)
		}
	}
	sortStrings(extra)
	names = append(names, extra...)
	out := df.plan.Output()
	es := make([]expr.Expr, 0, len(out)+len(names))
	replaced := map[string]bool{}
	for i, a := range out {
		var repl *Column
		for _, n := range names {
			if strings.EqualFold(n, a.Name) {
				c := cols[n]
				repl = &c
				replaced[n] = true
			}
		}
		if repl != nil {
			if repl.err != nil {
				return df.fail(repl.err)
			}
			es = append(es, &expr.Alias{Child: expr.Unalias(repl.e), Name: a.Name})
			continue
		}
		es = append(es, plan.RefOf(a, i))
	}
	for _, n := range names {
		if replaced[n] {
			continue
		}
		c := cols[n]
		if c.err != nil {
			return df.fail(c.err)
		}
		es = append(es, &expr.Alias{Child: expr.Unalias(c.e), Name: n})
	}
	return df.derive(df.project(es))
}

// WithColumnRenamed renames a column; an unknown name is a no-op, as in Spark.
func (df *DataFrame) WithColumnRenamed(from, to string) *DataFrame {
	if df.err != nil {
		return df
	}
	out := df.plan.Output()
	es := make([]expr.Expr, len(out))
	for i, a := range out {
		var e expr.Expr = plan.RefOf(a, i)
		if strings.EqualFold(a.Name, from) {
			e = &expr.Alias{Child: e, Name: to}
		}
		es[i] = e
	}
	return df.derive(plan.NewProject(df.plan, es))
}

// Drop removes columns by name; unknown names are ignored, as in Spark.
func (df *DataFrame) Drop(names ...string) *DataFrame {
	if df.err != nil {
		return df
	}
	out := df.plan.Output()
	var es []expr.Expr
	for i, a := range out {
		drop := false
		for _, n := range names {
			if strings.EqualFold(n, a.Name) {
				drop = true
			}
		}
		if !drop {
			es = append(es, plan.RefOf(a, i))
		}
	}
	return df.derive(plan.NewProject(df.plan, es))
}

// Alias names the DataFrame for qualified column references (t.col) in joins.
func (df *DataFrame) Alias(name string) *DataFrame {
	if df.err != nil {
		return df
	}
	return df.derive(&plan.SubqueryAlias{Child: df.plan, Alias: name}, nil)
}

// OrderBy sorts by columns (names or Columns with Asc/Desc).
func (df *DataFrame) OrderBy(cols ...any) *DataFrame {
	if df.err != nil {
		return df
	}
	es, err := columnsOf(cols)
	if err != nil {
		return df.fail(err)
	}
	return df.derive(plan.NewSort(df.plan, es))
}

// Sort is OrderBy.
func (df *DataFrame) Sort(cols ...any) *DataFrame { return df.OrderBy(cols...) }

// Limit keeps the first n rows.
func (df *DataFrame) Limit(n int) *DataFrame {
	if df.err != nil {
		return df
	}
	if n < 0 {
		return df.fail(fmt.Errorf("dataframe: Limit(%d): the limit must be zero or more", n))
	}
	return df.derive(&plan.Limit{Child: df.plan, N: int64(n)}, nil)
}

// Distinct removes duplicate rows.
func (df *DataFrame) Distinct() *DataFrame {
	if df.err != nil {
		return df
	}
	out := df.plan.Output()
	es := make([]expr.Expr, len(out))
	for i, a := range out {
		es[i] = plan.RefOf(a, i)
	}
	return df.derive(plan.NewAggregate(df.plan, es, es))
}

// DropDuplicates keeps the first row per combination of the named columns
// (all columns when none are named).
func (df *DataFrame) DropDuplicates(cols ...string) *DataFrame {
	if df.err != nil {
		return df
	}
	if len(cols) == 0 && !plan.IsStreaming(df.plan) {
		return df.Distinct()
	}
	// On a stream, no columns means whole rows: a deduplication (state of
	// the rows seen), not an aggregation, so append mode works as in Spark.
	keys := make([]expr.Expr, len(cols))
	for i, c := range cols {
		k, err := plan.Resolve(expr.Col(c), df.plan.Output(), false, "DropDuplicates")
		if err != nil {
			return df.fail(err)
		}
		keys[i] = k
	}
	return df.derive(&plan.Deduplicate{Child: df.plan, Keys: keys}, nil)
}

// DropDuplicatesWithinWatermark keeps the first row per combination of the
// named columns (all columns when none are named), as Spark's
// dropDuplicatesWithinWatermark. On a stream it needs a watermark
// (WithWatermark) and remembers a key only until the watermark reaches the
// event time of the key's first row plus the watermark delay, so its state
// stays bounded even when the keys do not hold the event time; a duplicate
// arriving later than that is kept. In a batch query it is DropDuplicates.
func (df *DataFrame) DropDuplicatesWithinWatermark(cols ...string) *DataFrame {
	if df.err != nil {
		return df
	}
	out := df.plan.Output()
	var keys []expr.Expr
	for _, c := range cols {
		k, err := plan.Resolve(expr.Col(c), out, false, "DropDuplicatesWithinWatermark")
		if err != nil {
			return df.fail(err)
		}
		keys = append(keys, k)
	}
	if len(cols) == 0 {
		for i, a := range out {
			keys = append(keys, plan.RefOf(a, i))
		}
	}
	return df.derive(&plan.Deduplicate{Child: df.plan, Keys: keys, WithinWatermark: true}, nil)
}

// Union appends other's rows by column position (UNION ALL, as Spark's union).
func (df *DataFrame) Union(other *DataFrame) *DataFrame {
	if df.err != nil {
		return df
	}
	if other.err != nil {
		return df.fail(other.err)
	}
	return df.derive(plan.NewUnion(df.plan, other.plan))
}

// UnionByName appends other's rows matching columns by name.
func (df *DataFrame) UnionByName(other *DataFrame, allowMissingColumns ...bool) *DataFrame {
	if df.err != nil {
		return df
	}
	if other.err != nil {
		return df.fail(other.err)
	}
	allow := len(allowMissingColumns) > 0 && allowMissingColumns[0]
	return df.derive(plan.NewUnionByName(allow, df.plan, other.plan))
}

// Join joins with other. on is a column name, a []string of names (an
// equi-join whose key columns appear once in the output), or a Column
// condition. how is a Spark join type: inner (default), left, right,
// full, left_semi, left_anti, cross.
func (df *DataFrame) Join(other *DataFrame, on any, how ...string) *DataFrame {
	if df.err != nil {
		return df
	}
	if other.err != nil {
		return df.fail(other.err)
	}
	typ := plan.InnerJoin
	if len(how) > 0 {
		t, err := plan.ParseJoinType(how[0])
		if err != nil {
			return df.fail(err)
		}
		typ = t
	}
	switch x := on.(type) {
	case string:
		return df.joinUsing(other, []string{x}, typ)
	case []string:
		return df.joinUsing(other, x, typ)
	case Column:
		if x.err != nil {
			return df.fail(x.err)
		}
		return df.derive(plan.NewJoin(df.plan, other.plan, typ, x.e))
	case nil:
		return df.derive(plan.NewJoin(df.plan, other.plan, typ, nil))
	}
	return df.fail(fmt.Errorf("dataframe: Join on must be a column name, []string or a Column, got %T", on))
}

// CrossJoin is the Cartesian product.
func (df *DataFrame) CrossJoin(other *DataFrame) *DataFrame {
	return df.Join(other, nil, "cross")
}

// joinUsing joins on equal named columns, which appear once in the output
// (coalesced for outer joins), then the remaining left and right columns.
func (df *DataFrame) joinUsing(other *DataFrame, names []string, typ plan.JoinType) *DataFrame {
	lo, ro := df.plan.Output(), other.plan.Output()
	find := func(attrs []Attribute, n string, side string) (int, error) {
		for i, a := range attrs {
			if strings.EqualFold(a.Name, n) {
				return i, nil
			}
		}
		cols := make([]string, len(attrs))
		for i, a := range attrs {
			cols[i] = a.Name
		}
		return -1, fmt.Errorf("%w: join column %q is not in the %s side; its columns are %s", plan.ErrAnalysis, n, side, strings.Join(cols, ", "))
	}
	var cond expr.Expr
	li := make([]int, len(names))
	ri := make([]int, len(names))
	for k, n := range names {
		l, err := find(lo, n, "left")
		if err != nil {
			return df.fail(err)
		}
		r, err := find(ro, n, "right")
		if err != nil {
			return df.fail(err)
		}
		li[k], ri[k] = l, r
		eq := expr.NewCall("=", ref(lo, l, 0), ref(ro, r, len(lo)))
		if cond == nil {
			cond = eq
		} else {
			cond = expr.NewCall("and", cond, eq)
		}
	}
	j, err := plan.NewJoin(df.plan, other.plan, typ, cond)
	if err != nil {
		return df.fail(err)
	}
	if typ == plan.LeftSemiJoin || typ == plan.LeftAntiJoin {
		return df.derive(j, nil)
	}
	var es []expr.Expr
	isKey := func(idx []int, i int) bool {
		for _, x := range idx {
			if x == i {
				return true
			}
		}
		return false
	}
	for k, n := range names {
		var e expr.Expr
		switch typ {
		case plan.RightOuterJoin:
			e = ref(ro, ri[k], len(lo))
		case plan.FullOuterJoin:
			e = expr.NewCall("coalesce", ref(lo, li[k], 0), ref(ro, ri[k], len(lo)))
		default:
			e = ref(lo, li[k], 0)
		}
		es = append(es, &expr.Alias{Child: e, Name: lo[li[k]].Name})
		_ = n
	}
	for i := range lo {
		if !isKey(li, i) {
			es = append(es, ref(lo, i, 0))
		}
	}
	for i := range ro {
		if !isKey(ri, i) {
			es = append(es, ref(ro, i, len(lo)))
		}
	}
	return df.derive(plan.NewProject(j, es))
}

// Attribute is an output column of a plan.
type Attribute = plan.Attribute

func ref(attrs []Attribute, i, offset int) expr.Expr {
	a := attrs[i]
	return plan.RefOf(a, i+offset)
}

// Sample keeps about fraction of the rows, deterministically for a seed.
func (df *DataFrame) Sample(fraction float64, seed int64, withReplacement ...bool) *DataFrame {
	if df.err != nil {
		return df
	}
	if fraction < 0 || (fraction > 1 && !(len(withReplacement) > 0 && withReplacement[0])) {
		return df.fail(fmt.Errorf("dataframe: Sample fraction %g must be in [0, 1] without replacement", fraction))
	}
	wr := len(withReplacement) > 0 && withReplacement[0]
	return df.derive(&plan.Sample{Child: df.plan, Fraction: fraction, WithReplacement: wr, Seed: seed}, nil)
}

// GroupBy groups rows for Agg, Count and friends.
func (df *DataFrame) GroupBy(cols ...any) *GroupedData {
	es, err := columnsOf(cols)
	return &GroupedData{df: df, keys: es, err: err}
}

// Agg computes aggregates over all rows (a global aggregation).
func (df *DataFrame) Agg(aggs ...Column) *DataFrame { return df.GroupBy().Agg(aggs...) }

// GroupedData is a DataFrame grouped by key columns.
type GroupedData struct {
	df   *DataFrame
	keys []expr.Expr
	err  error
}

// Agg computes the aggregates per group; the output is the keys then the
// aggregates.
func (g *GroupedData) Agg(aggs ...Column) *DataFrame {
	df := g.df
	if df.err != nil {
		return df
	}
	if g.err != nil {
		return df.fail(g.err)
	}
	outs := append([]expr.Expr(nil), g.keys...)
	for _, a := range aggs {
		if a.err != nil {
			return df.fail(a.err)
		}
		outs = append(outs, a.e)
	}
	return df.derive(plan.NewAggregate(df.plan, g.keys, outs))
}

// Count counts rows per group into a column named count.
func (g *GroupedData) Count() *DataFrame { return g.Agg(Count("*").As("count")) }

// Sum, Avg, Min and Max aggregate the named columns per group.
func (g *GroupedData) Sum(cols ...string) *DataFrame { return g.each("sum", cols) }
func (g *GroupedData) Avg(cols ...string) *DataFrame { return g.each("avg", cols) }
func (g *GroupedData) Min(cols ...string) *DataFrame { return g.each("min", cols) }
func (g *GroupedData) Max(cols ...string) *DataFrame { return g.each("max", cols) }

func (g *GroupedData) each(fn string, cols []string) *DataFrame {
	aggs := make([]Column, len(cols))
	for i, c := range cols {
		aggs[i] = call(fn, Col(c))
	}
	return g.Agg(aggs...)
}

var errNoPlan = errors.New("dataframe: empty DataFrame")
