package plan

import (
	"fmt"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Aggregate groups its child by Groups and computes Aggs per group; Output
// is then computed from the aggregation buffer, whose columns are the
// groups followed by the aggregate results. So `count(*) + 1 AS n` is an
// AggCall in Aggs and `#1 + 1 AS n` in Output.
//
// Keeping the buffer explicit makes the physical and the streaming
// aggregation the same shape: state is keyed by Groups and holds Aggs.
type Aggregate struct {
	Child  Node
	Groups []expr.Expr     // resolved over Child
	Aggs   []*expr.AggCall // resolved over Child
	Out    []expr.Expr     // resolved over BufferAttrs()
	// Session is set when a grouping key is session_window(ts, gap): the
	// aggregation merges sessions (see SessionWindow).
	Session *SessionWindow
	StateOp // set by the stream engine on a streaming aggregation
}

// NewAggregate resolves grouping expressions and output expressions (which
// may mix aggregates, grouping expressions and literals) over child.
func NewAggregate(child Node, groups, outputs []expr.Expr) (*Aggregate, error) {
	child, groups, outputs, err := windowGroups(child, groups, outputs)
	if err != nil {
		return nil, err
	}
	groups, outputs, sessionKey, err := sessionGroups(groups, outputs)
	if err != nil {
		return nil, err
	}
	in := child.Output()
	g, err := ResolveAll(groups, in, false, "GROUP BY")
	if err != nil {
		return nil, err
	}
	if outputs, err = ExpandStars(outputs, in); err != nil {
		return nil, err
	}
	o, err := ResolveAll(outputs, in, true, "the aggregation")
	if err != nil {
		return nil, err
	}
	a := &Aggregate{Child: child, Groups: g}
	if sessionKey >= 0 {
		if err := checkSessionKey(g[sessionKey]); err != nil {
			return nil, err
		}
		a.Session = &SessionWindow{Key: sessionKey}
	}
	groupKeys := make(map[string]int, len(g))
	for i, ge := range g {
		groupKeys[Fingerprint(ge)] = i
	}
	aggKeys := map[string]int{}
	var rewrite func(e expr.Expr) (expr.Expr, error)
	rewrite = func(e expr.Expr) (expr.Expr, error) {
		if _, isAlias := e.(*expr.Alias); !isAlias {
			if _, isLit := e.(*expr.Literal); !isLit {
				if i, ok := groupKeys[Fingerprint(e)]; ok {
					return a.bufferRef(i), nil
				}
			}
		}
		switch t := e.(type) {
		case *expr.AggCall:
			k := Fingerprint(t)
			j, ok := aggKeys[k]
			if !ok {
				j = len(a.Aggs)
				aggKeys[k] = j
				a.Aggs = append(a.Aggs, t)
			}
			return a.bufferRef(len(g) + j), nil
		case *expr.BoundRef:
			return nil, fmt.Errorf("%w: column %s is neither in the GROUP BY nor inside an aggregate function; add it to GroupBy or wrap it in first(%s) or any_value(%s)",
				ErrAnalysis, quoteName(t.Name), t.Name, t.Name)
		}
		ch := e.Children()
		if len(ch) == 0 {
			return e, nil
		}
		nc := make([]expr.Expr, len(ch))
		for i, c := range ch {
			r, err := rewrite(c)
			if err != nil {
				return nil, err
			}
			nc[i] = r
		}
		return e.WithChildren(nc), nil
	}
	for _, oe := range o {
		r, err := rewrite(oe)
		if err != nil {
			return nil, err
		}
		// Keep the user's column name when rewriting changed the text.
		if _, ok := r.(*expr.Alias); !ok && expr.Name(r) != expr.Name(oe) {
			r = &expr.Alias{Child: r, Name: expr.Name(oe)}
		}
		a.Out = append(a.Out, r)
	}
	return a, nil
}

// bufferRef points at column i of the aggregation buffer.
func (a *Aggregate) bufferRef(i int) expr.Expr {
	attr := a.BufferAttrs()[i]
	return &expr.BoundRef{Index: i, Name: attr.Name, Type: attr.Type, Null: attr.Nullable, Qualifier: attr.Qualifier, EventTime: attr.EventTime}
}

// BufferAttrs are the columns of the aggregation buffer: groups, then one
// per aggregate.
func (a *Aggregate) BufferAttrs() []Attribute {
	out := make([]Attribute, 0, len(a.Groups)+len(a.Aggs))
	for _, g := range a.Groups {
		out = append(out, attrOf(g))
	}
	for _, ag := range a.Aggs {
		out = append(out, Attribute{Name: ag.String(), Type: ag.DataType(), Nullable: ag.Nullable()})
	}
	return out
}

func (a *Aggregate) Output() []Attribute {
	out := make([]Attribute, len(a.Out))
	for i, e := range a.Out {
		out[i] = attrOf(e)
	}
	return out
}
func (a *Aggregate) Children() []Node { return []Node{a.Child} }
func (a *Aggregate) WithChildren(ch []Node) Node {
	n := *a
	n.Child = ch[0]
	return &n
}
func (a *Aggregate) String() string {
	aggs := make([]expr.Expr, len(a.Aggs))
	for i, x := range a.Aggs {
		aggs[i] = x
	}
	s := fmt.Sprintf("Aggregate [%s], [%s], [%s]", exprStrings(a.Groups), exprStrings(aggs), exprStrings(a.Out))
	if a.Session != nil {
		s += fmt.Sprintf(", session window %s", a.Groups[a.Session.Key])
	}
	return s
}
