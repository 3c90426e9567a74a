package plan

import "fmt"

// StreamingRelation is a leaf over a streaming source. The engine replaces
// it, batch by batch, with a LocalRelation holding that batch's rows; the
// rest of the plan is the same one a batch query would run.
type StreamingRelation struct {
	// Source is the sources.Source (kept opaque here: plan does not depend
	// on the stream engine).
	Source any
	Attrs  []Attribute
	Name   string
}

func (r *StreamingRelation) Output() []Attribute      { return r.Attrs }
func (r *StreamingRelation) Children() []Node         { return nil }
func (r *StreamingRelation) WithChildren([]Node) Node { return r }
func (r *StreamingRelation) String() string {
	return fmt.Sprintf("StreamingRelation %s [%s]", r.Name, attrNames(r.Attrs))
}

// IsStreaming reports whether n reads a streaming source anywhere.
func IsStreaming(n Node) bool {
	return Any(n, func(x Node) bool { _, ok := x.(*StreamingRelation); return ok })
}

// StreamingRelations lists the streaming leaves of n, left to right; their
// positions are the source indexes of the offset log.
func StreamingRelations(n Node) []*StreamingRelation {
	var out []*StreamingRelation
	var walk func(Node)
	walk = func(n Node) {
		if s, ok := n.(*StreamingRelation); ok {
			out = append(out, s)
			return
		}
		for _, c := range n.Children() {
			walk(c)
		}
	}
	walk(n)
	return out
}
