package plan

import (
	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/expr/fn"
)

// windowGroups prepares event-time window grouping keys, as Spark does:
// an unnamed window(...) key is named "window"; a sliding window (slide <
// size), which puts a row in several windows, becomes an explode of
// window_array(...) below the aggregation, grouped by the exploded column.
// Outputs that repeat the window call are pointed at that column.
func windowGroups(child Node, groups, outputs []expr.Expr) (Node, []expr.Expr, []expr.Expr, error) {
	groups = append([]expr.Expr(nil), groups...)
	outputs = append([]expr.Expr(nil), outputs...)
	for i, g := range groups {
		call, ok := expr.Unalias(g).(*expr.Call)
		// window() without arguments is left to resolution, which reports
		// its arity.
		if !ok || call.Name != "window" || len(call.Args) == 0 {
			continue
		}
		name := "window"
		if a, isAlias := g.(*expr.Alias); isAlias {
			name = a.Name
		}
		// Rows without an event time belong to no window (Spark drops them).
		ts, err := Resolve(call.Args[0], child.Output(), false, "GROUP BY")
		if err != nil {
			return nil, nil, nil, err
		}
		notNull, err := NewFilter(child, expr.NewCall("isnotnull", ts))
		if err != nil {
			return nil, nil, nil, err
		}
		child = notNull
		if len(call.Args) < 3 {
			if _, isAlias := g.(*expr.Alias); !isAlias {
				groups[i] = &expr.Alias{Child: call, Name: name}
				for j, o := range outputs {
					if o.String() == call.String() {
						outputs[j] = groups[i]
					}
				}
			}
			continue
		}
		args, err := ResolveAll(call.Args, child.Output(), false, "GROUP BY")
		if err != nil {
			return nil, nil, nil, err
		}
		if !fn.IsSliding(argsOf(args)) {
			continue
		}
		spec := append([]expr.Expr(nil), call.Args...)
		for len(spec) < 4 {
			spec = append(spec, expr.Lit("0 seconds"))
		}
		gen, err := NewGenerate(child, expr.NewCall("window_array", spec...), false, false, []string{name})
		if err != nil {
			return nil, nil, nil, err
		}
		out := gen.Output()
		last := len(out) - 1
		ref := RefOf(out[last], last)
		text := call.String()
		replace := func(e expr.Expr) expr.Expr {
			r, _ := expr.Transform(e, func(n expr.Expr) (expr.Expr, error) {
				if c, ok := n.(*expr.Call); ok && c.String() == text {
					return ref, nil
				}
				return n, nil
			})
			return r
		}
		groups[i] = ref
		for j, o := range outputs {
			outputs[j] = replace(o)
		}
		for k := range groups {
			if k != i {
				groups[k] = replace(groups[k])
			}
		}
		child = gen
	}
	return child, groups, outputs, nil
}
