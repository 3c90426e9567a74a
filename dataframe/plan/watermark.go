package plan

import (
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// EventTimeWatermark declares Column as the event time of its child's rows
// and Delay as how late they may arrive. In a batch query it passes rows
// through; in a stream the engine tracks the column's maximum per batch and
// sets the watermark for the next batch to max - Delay.
type EventTimeWatermark struct {
	Child  Node
	Column int // index into Child's output
	Delay  time.Duration
	// ID numbers watermark nodes within a query, left to right.
	ID int
}

// NewEventTimeWatermark resolves the event-time column; it must be a
// timestamp.
func NewEventTimeWatermark(child Node, column string, delay time.Duration) (*EventTimeWatermark, error) {
	e, err := Resolve(expr.Col(column), child.Output(), false, "WithWatermark")
	if err != nil {
		return nil, err
	}
	r, ok := e.(*expr.BoundRef)
	if !ok {
		return nil, fmt.Errorf("%w: WithWatermark needs a top-level column, not %s", ErrAnalysis, e)
	}
	if r.Type.ID() != arrow.TIMESTAMP {
		return nil, fmt.Errorf("%w: WithWatermark column %s is %s; it must be a timestamp (cast it first, e.g. to_timestamp(%s))",
			ErrAnalysis, quoteName(r.Name), expr.TypeName(r.Type), r.Name)
	}
	if delay < 0 {
		return nil, fmt.Errorf("%w: WithWatermark delay %s must not be negative", ErrAnalysis, delay)
	}
	return &EventTimeWatermark{Child: child, Column: r.Index, Delay: delay}, nil
}

func (w *EventTimeWatermark) Output() []Attribute {
	out := append([]Attribute(nil), w.Child.Output()...)
	out[w.Column].EventTime = true
	return out
}
func (w *EventTimeWatermark) Children() []Node { return []Node{w.Child} }
func (w *EventTimeWatermark) WithChildren(ch []Node) Node {
	n := *w
	n.Child = ch[0]
	return &n
}
func (w *EventTimeWatermark) String() string {
	return fmt.Sprintf("EventTimeWatermark %s, %s", w.Child.Output()[w.Column].Name, w.Delay)
}

// Watermarks lists a plan's watermark nodes, numbering them by position.
func Watermarks(n Node) []*EventTimeWatermark {
	var out []*EventTimeWatermark
	var walk func(Node)
	walk = func(n Node) {
		for _, c := range n.Children() {
			walk(c)
		}
		if w, ok := n.(*EventTimeWatermark); ok {
			out = append(out, w)
		}
	}
	walk(n)
	return out
}
