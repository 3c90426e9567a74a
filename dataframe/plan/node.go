// Package plan holds sluice's logical plan: one node type per file, the
// analyzer that resolves names and types as nodes are built (errors surface
// at the transformation, like Spark's eager analysis), the optimizer rules,
// and the EXPLAIN printer.
//
// Every node's expressions are resolved: BoundRefs index the output of the
// node's child (for joins, left output followed by right output).
package plan

import (
	"errors"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Sentinels callers test with errors.Is.
var (
	// ErrAnalysis: a name, type or structure problem found while building a plan.
	ErrAnalysis = errors.New("analysis")
	// ErrUnsupported: an operation that is valid SQL but not supported in
	// this context (streaming restrictions use it too).
	ErrUnsupported = errors.New("unsupported operation")
)

// Attribute is one output column of a node.
type Attribute struct {
	Name      string
	Type      arrow.DataType
	Nullable  bool
	Qualifier string // table alias, for t.col resolution
	// EventTime marks a column a watermark applies to: the column named
	// by WithWatermark, and windows and grouping keys derived from it.
	EventTime bool
}

// Node is a logical plan node.
type Node interface {
	// Output lists the node's columns in order.
	Output() []Attribute
	Children() []Node
	// WithChildren returns a copy with new children whose outputs have the
	// same shape as the old ones.
	WithChildren(children []Node) Node
	// String is one line for EXPLAIN: the node name and its arguments.
	String() string
}

// SchemaOf builds the arrow schema of a node's output.
func SchemaOf(n Node) *arrow.Schema { return AttrSchema(n.Output()) }

// AttrSchema builds an arrow schema from attributes.
func AttrSchema(attrs []Attribute) *arrow.Schema {
	fields := make([]arrow.Field, len(attrs))
	for i, a := range attrs {
		fields[i] = arrow.Field{Name: a.Name, Type: a.Type, Nullable: a.Nullable}
	}
	return arrow.NewSchema(fields, nil)
}

// AttrsOf makes attributes from an arrow schema.
func AttrsOf(s *arrow.Schema, qualifier string) []Attribute {
	out := make([]Attribute, s.NumFields())
	for i, f := range s.Fields() {
		out[i] = Attribute{Name: f.Name, Type: f.Type, Nullable: f.Nullable, Qualifier: qualifier}
	}
	return out
}

// Explain renders a plan tree, Spark style.
func Explain(n Node) string {
	var b strings.Builder
	var walk func(n Node, prefix string, last, root bool)
	walk = func(n Node, prefix string, last, root bool) {
		if root {
			b.WriteString(n.String())
		} else {
			b.WriteString(prefix)
			b.WriteString("+- ")
			b.WriteString(n.String())
		}
		b.WriteByte('\n')
		ch := n.Children()
		for i, c := range ch {
			p := prefix
			if !root {
				if last {
					p += "   "
				} else {
					p += ":  "
				}
			}
			walk(c, p, i == len(ch)-1, false)
		}
	}
	walk(n, "", true, true)
	return b.String()
}

// Any reports whether pred holds for n or a node under it.
func Any(n Node, pred func(Node) bool) bool {
	if pred(n) {
		return true
	}
	for _, c := range n.Children() {
		if Any(c, pred) {
			return true
		}
	}
	return false
}

// Below reports whether pred holds for a node strictly under n.
func Below(n Node, pred func(Node) bool) bool {
	for _, c := range n.Children() {
		if Any(c, pred) {
			return true
		}
	}
	return false
}

// Transform rewrites a plan bottom-up.
func Transform(n Node, fn func(Node) (Node, error)) (Node, error) {
	ch := n.Children()
	if len(ch) > 0 {
		out := make([]Node, len(ch))
		changed := false
		for i, c := range ch {
			nc, err := Transform(c, fn)
			if err != nil {
				return nil, err
			}
			out[i] = nc
			changed = changed || nc != c
		}
		if changed {
			n = n.WithChildren(out)
		}
	}
	return fn(n)
}
