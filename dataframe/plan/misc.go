package plan

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/expr/fn"
)

func commonType(a, b arrow.DataType) (arrow.DataType, bool) { return fn.CommonType(a, b) }

// SubqueryAlias renames the qualifier of its child's columns (FROM t AS x,
// df.Alias("x")).
type SubqueryAlias struct {
	Child Node
	Alias string
}

func (s *SubqueryAlias) Output() []Attribute {
	out := append([]Attribute(nil), s.Child.Output()...)
	for i := range out {
		out[i].Qualifier = s.Alias
	}
	return out
}
func (s *SubqueryAlias) Children() []Node { return []Node{s.Child} }
func (s *SubqueryAlias) WithChildren(ch []Node) Node {
	return &SubqueryAlias{Child: ch[0], Alias: s.Alias}
}
func (s *SubqueryAlias) String() string { return "SubqueryAlias " + s.Alias }

// Generate explodes a list-typed expression into one row per element:
// output is the child's columns, then pos (when Pos), then the element.
type Generate struct {
	Child Node
	Gen   expr.Expr // resolved list-typed expression over Child
	Outer bool      // keep rows with NULL or empty lists (explode_outer)
	Pos   bool      // posexplode
	Names []string  // output names: [pos,] element
	// KeepChild lists the child columns the output carries, in order
	// (nil: all of them). Column pruning drops the ones no parent reads,
	// as Spark's requiredChildOutput: exploding a list must not copy the
	// list itself into each of its element rows (quadratic in its length).
	KeepChild []int
}

// NewGenerate resolves gen; it must be an array.
func NewGenerate(child Node, gen expr.Expr, outer, pos bool, names []string) (*Generate, error) {
	g, err := Resolve(gen, child.Output(), false, "explode")
	if err != nil {
		return nil, err
	}
	if _, ok := g.(expr.Typed).DataType().(*arrow.ListType); !ok {
		return nil, fmt.Errorf("%w: explode needs an array, %s is %s", ErrAnalysis, g, expr.TypeName(g.(expr.Typed).DataType()))
	}
	want := 1
	if pos {
		want = 2
	}
	if len(names) == 0 {
		names = []string{"col"}
		if pos {
			names = []string{"pos", "col"}
		}
	}
	if len(names) != want {
		return nil, fmt.Errorf("%w: explode produces %d column(s), got %d names", ErrAnalysis, want, len(names))
	}
	return &Generate{Child: child, Gen: g, Outer: outer, Pos: pos, Names: names}, nil
}

func (g *Generate) Output() []Attribute {
	out := append([]Attribute(nil), g.Child.Output()...)
	if g.KeepChild != nil {
		in := out
		out = make([]Attribute, len(g.KeepChild))
		for i, c := range g.KeepChild {
			out[i] = in[c]
		}
	}
	i := 0
	if g.Pos {
		out = append(out, Attribute{Name: g.Names[0], Type: expr.Int32, Nullable: g.Outer})
		i = 1
	}
	elem := g.Gen.(expr.Typed).DataType().(*arrow.ListType).Elem()
	return append(out, Attribute{Name: g.Names[i], Type: elem, Nullable: true, EventTime: IsEventTime(g.Gen)})
}
func (g *Generate) Children() []Node { return []Node{g.Child} }
func (g *Generate) WithChildren(ch []Node) Node {
	n := *g
	n.Child = ch[0]
	return &n
}
func (g *Generate) String() string {
	name := "explode"
	if g.Pos {
		name = "posexplode"
	}
	if g.Outer {
		name += "_outer"
	}
	return fmt.Sprintf("Generate %s(%s)", name, g.Gen)
}

// Sample keeps a random fraction of rows.
type Sample struct {
	Child           Node
	Fraction        float64
	WithReplacement bool
	Seed            int64
}

func (s *Sample) Output() []Attribute { return s.Child.Output() }
func (s *Sample) Children() []Node    { return []Node{s.Child} }
func (s *Sample) WithChildren(ch []Node) Node {
	n := *s
	n.Child = ch[0]
	return &n
}
func (s *Sample) String() string {
	return fmt.Sprintf("Sample %g, withReplacement=%v, seed=%d", s.Fraction, s.WithReplacement, s.Seed)
}

// Deduplicate keeps the first row per key (dropDuplicates(cols)).
// WithinWatermark (dropDuplicatesWithinWatermark) keeps a key's state only
// until the watermark passes its first row's event time plus the delay.
type Deduplicate struct {
	Child           Node
	Keys            []expr.Expr // BoundRefs over Child
	WithinWatermark bool
	StateOp         // set by the stream engine when Child is a stream
}

func (d *Deduplicate) Output() []Attribute { return d.Child.Output() }
func (d *Deduplicate) Children() []Node    { return []Node{d.Child} }
func (d *Deduplicate) WithChildren(ch []Node) Node {
	n := *d
	n.Child = ch[0]
	return &n
}
func (d *Deduplicate) String() string { return "Deduplicate [" + exprStrings(d.Keys) + "]" }

func lookupAnd() (*expr.Function, bool) { return fn.Lookup("and") }
