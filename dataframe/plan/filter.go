package plan

import (
	"fmt"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Filter keeps rows where Cond is true (NULL drops the row).
type Filter struct {
	Child Node
	Cond  expr.Expr
}

// NewFilter resolves cond over child; it must be boolean.
func NewFilter(child Node, cond expr.Expr) (*Filter, error) {
	c, err := Resolve(cond, child.Output(), false, "the filter condition")
	if err != nil {
		return nil, err
	}
	if t := c.(expr.Typed).DataType(); !expr.IsNull(t) && t.ID() != expr.Boolean.ID() {
		return nil, fmt.Errorf("%w: filter condition %s must be boolean, it is %s", ErrAnalysis, c, expr.TypeName(t))
	}
	return &Filter{Child: child, Cond: c}, nil
}

func (f *Filter) Output() []Attribute { return f.Child.Output() }
func (f *Filter) Children() []Node    { return []Node{f.Child} }
func (f *Filter) WithChildren(ch []Node) Node {
	return &Filter{Child: ch[0], Cond: f.Cond}
}
func (f *Filter) String() string { return "Filter " + f.Cond.String() }
