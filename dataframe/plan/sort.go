package plan

import (
	"fmt"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Sort orders all rows (a global sort).
type Sort struct {
	Child  Node
	Orders []*expr.SortOrder
}

// NewSort resolves orders over child; bare expressions sort ascending.
func NewSort(child Node, orders []expr.Expr) (*Sort, error) {
	s := &Sort{Child: child}
	for _, o := range orders {
		so, ok := o.(*expr.SortOrder)
		if !ok {
			so = expr.NewSortOrder(o, false)
		}
		r, err := Resolve(so, child.Output(), false, "ORDER BY")
		if err != nil {
			return nil, err
		}
		ro := r.(*expr.SortOrder)
		if t := ro.Child.(expr.Typed).DataType(); !orderable(t) {
			return nil, fmt.Errorf("%w: cannot sort by %s of type %s", ErrAnalysis, ro.Child, expr.TypeName(t))
		}
		s.Orders = append(s.Orders, ro)
	}
	return s, nil
}

func orderable(t interface{ Name() string }) bool {
	switch t.Name() {
	case "struct", "list", "map", "month_day_nano_interval":
		return false
	}
	return true
}

func (s *Sort) Output() []Attribute { return s.Child.Output() }
func (s *Sort) Children() []Node    { return []Node{s.Child} }
func (s *Sort) WithChildren(ch []Node) Node {
	return &Sort{Child: ch[0], Orders: s.Orders}
}
func (s *Sort) String() string {
	es := make([]expr.Expr, len(s.Orders))
	for i, o := range s.Orders {
		es[i] = o
	}
	return "Sort [" + exprStrings(es) + "]"
}

// Limit keeps the first N rows.
type Limit struct {
	Child Node
	N     int64
}

func (l *Limit) Output() []Attribute { return l.Child.Output() }
func (l *Limit) Children() []Node    { return []Node{l.Child} }
func (l *Limit) WithChildren(ch []Node) Node {
	return &Limit{Child: ch[0], N: l.N}
}
func (l *Limit) String() string { return fmt.Sprintf("Limit %d", l.N) }
