package expr

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Expr is a node of an expression tree. Trees are immutable: rewrites build
// new nodes with WithChildren.
//
// A tree starts unresolved (Column, Call, Star name things by text) and the
// analyzer turns it into a resolved tree whose nodes implement Typed. Only
// resolved trees are evaluated.
type Expr interface {
	// String renders the expression in Spark SQL syntax. It names output
	// columns that have no alias, and appears in EXPLAIN and errors.
	String() string
	Children() []Expr
	WithChildren(children []Expr) Expr
}

// Typed is a resolved expression: its type is known and it can be evaluated.
type Typed interface {
	Expr
	DataType() arrow.DataType
	Nullable() bool
	// Eval computes the expression for every row of b. The returned array has
	// b.NumRows() rows and is owned by the caller.
	Eval(ec *EvalContext, b arrow.RecordBatch) (arrow.Array, error)
}

// ---- unresolved nodes ----

// Column names a column, optionally qualified (t.col) or a struct field
// path (s.a.b). The analyzer decides which parts are qualifiers and fields.
type Column struct {
	Parts []string
}

// Col parses a dotted name; backquoted parts (`a.b`) keep their dots.
func Col(name string) *Column { return &Column{Parts: SplitName(name)} }

func (c *Column) String() string {
	out := make([]string, len(c.Parts))
	for i, p := range c.Parts {
		out[i] = QuoteIdent(p)
	}
	return strings.Join(out, ".")
}
func (c *Column) Children() []Expr         { return nil }
func (c *Column) WithChildren([]Expr) Expr { return c }

// Star is `*`, `t.*` or `* EXCEPT (a, b)` in a select list.
type Star struct {
	Qualifier string
	Except    []string
}

func (s *Star) String() string {
	out := "*"
	if s.Qualifier != "" {
		out = QuoteIdent(s.Qualifier) + ".*"
	}
	if len(s.Except) > 0 {
		out += " EXCEPT (" + strings.Join(s.Except, ", ") + ")"
	}
	return out
}
func (s *Star) Children() []Expr         { return nil }
func (s *Star) WithChildren([]Expr) Expr { return s }

// Call is a function or operator applied to arguments, by name. Operators
// use their symbol or keyword as the name ("+", "=", "and", "not", "like",
// "in", "isnull", "casewhen", ...); the registry decides whether the name is
// a scalar function or an aggregate.
type Call struct {
	Name     string // lower case
	Args     []Expr
	Distinct bool // count(DISTINCT x)
	Star     bool // count(*)
}

// NewCall builds a call; the name is lower-cased.
func NewCall(name string, args ...Expr) *Call {
	return &Call{Name: strings.ToLower(name), Args: args}
}

func (c *Call) String() string   { return FormatCall(c.Name, c.Args, c.Distinct, c.Star) }
func (c *Call) Children() []Expr { return c.Args }
func (c *Call) WithChildren(ch []Expr) Expr {
	n := *c
	n.Args = ch
	return &n
}

// Field extracts a named field of a struct-typed child. The analyzer
// produces it from a dotted Column; users get it from Column.Field.
type Field struct {
	Child Expr
	Name  string
	// Resolved form:
	Index int
	Type  arrow.DataType
}

func (f *Field) String() string   { return f.Child.String() + "." + QuoteIdent(f.Name) }
func (f *Field) Children() []Expr { return []Expr{f.Child} }
func (f *Field) WithChildren(ch []Expr) Expr {
	n := *f
	n.Child = ch[0]
	return &n
}

// ---- nodes that are both ----

// Alias names its child's output column.
type Alias struct {
	Child Expr
	Name  string
}

func (a *Alias) String() string   { return a.Child.String() + " AS " + QuoteIdent(a.Name) }
func (a *Alias) Children() []Expr { return []Expr{a.Child} }
func (a *Alias) WithChildren(ch []Expr) Expr {
	return &Alias{Child: ch[0], Name: a.Name}
}

// Cast converts its child to type To. Kernel is set by the analyzer.
type Cast struct {
	Child  Expr
	To     arrow.DataType
	Kernel Kernel
	// Try makes failures NULL (Spark's non-ANSI cast); false raises an error.
	Try bool
}

func (c *Cast) String() string {
	return "CAST(" + c.Child.String() + " AS " + strings.ToUpper(TypeName(c.To)) + ")"
}
func (c *Cast) Children() []Expr { return []Expr{c.Child} }
func (c *Cast) WithChildren(ch []Expr) Expr {
	n := *c
	n.Child = ch[0]
	return &n
}

// SortOrder wraps an expression with a direction for ORDER BY.
type SortOrder struct {
	Child      Expr
	Desc       bool
	NullsFirst bool // Spark default: nulls first for ASC, last for DESC
}

// NewSortOrder applies Spark's default null ordering for the direction.
func NewSortOrder(e Expr, desc bool) *SortOrder {
	return &SortOrder{Child: e, Desc: desc, NullsFirst: !desc}
}

func (s *SortOrder) String() string {
	out := s.Child.String()
	if s.Desc {
		out += " DESC"
	} else {
		out += " ASC"
	}
	if s.NullsFirst {
		out += " NULLS FIRST"
	} else {
		out += " NULLS LAST"
	}
	return out
}
func (s *SortOrder) Children() []Expr { return []Expr{s.Child} }
func (s *SortOrder) WithChildren(ch []Expr) Expr {
	n := *s
	n.Child = ch[0]
	return &n
}

// ---- resolved nodes ----

// BoundRef reads column Index of the input batch.
type BoundRef struct {
	Index int
	Name  string
	Type  arrow.DataType
	Null  bool
	// Qualifier is the table alias the column came from, for EXPLAIN.
	Qualifier string
	// EventTime: the column carries a watermark (see plan.Attribute).
	EventTime bool
}

func (r *BoundRef) String() string           { return QuoteIdent(r.Name) }
func (r *BoundRef) Children() []Expr         { return nil }
func (r *BoundRef) WithChildren([]Expr) Expr { return r }
func (r *BoundRef) DataType() arrow.DataType { return r.Type }
func (r *BoundRef) Nullable() bool           { return r.Null }

// ScalarCall is a resolved scalar function with its kernel.
type ScalarCall struct {
	Fn      *Function
	Args    []Expr // Typed after resolution
	Binding *Binding
	// constArg marks the arguments that were literals when Binding was
	// made: only those are passed as nil to a ConstArgs kernel.
	constArg []bool
}

// NewScalarCall records a bound call; args must be the ones Bind saw.
func NewScalarCall(f *Function, args []Expr, b *Binding) *ScalarCall {
	c := &ScalarCall{Fn: f, Args: args, Binding: b}
	if b.ConstArgs {
		c.constArg = make([]bool, len(args))
		for i, a := range args {
			_, c.constArg[i] = a.(*Literal)
		}
	}
	return c
}

func (c *ScalarCall) String() string   { return FormatCall(c.Fn.Name, c.Args, false, false) }
func (c *ScalarCall) Children() []Expr { return c.Args }
func (c *ScalarCall) WithChildren(ch []Expr) Expr {
	n := *c
	n.Args = ch
	return &n
}
func (c *ScalarCall) DataType() arrow.DataType { return c.Binding.Type }
func (c *ScalarCall) Nullable() bool           { return c.Binding.Nullable }

// AggCall is a resolved aggregate. It is not evaluated row by row: the
// aggregation operator feeds its argument columns to an Accumulator.
type AggCall struct {
	Fn       *AggFunction
	Args     []Expr
	Distinct bool
	Star     bool
	Binding  *AggBinding
}

func (c *AggCall) String() string   { return FormatCall(c.Fn.Name, c.Args, c.Distinct, c.Star) }
func (c *AggCall) Children() []Expr { return c.Args }
func (c *AggCall) WithChildren(ch []Expr) Expr {
	n := *c
	n.Args = ch
	return &n
}
func (c *AggCall) DataType() arrow.DataType { return c.Binding.Type }
func (c *AggCall) Nullable() bool           { return c.Binding.Nullable }

// ---- helpers ----

// Name returns the output column name of e: the alias, the column name, or
// the expression text (Spark's default naming).
func Name(e Expr) string {
	switch t := e.(type) {
	case *Alias:
		return t.Name
	case *Column:
		return t.Parts[len(t.Parts)-1]
	case *BoundRef:
		return t.Name
	case *Field:
		return t.Name
	}
	return e.String()
}

// Unalias strips any Alias wrappers.
func Unalias(e Expr) Expr {
	for {
		a, ok := e.(*Alias)
		if !ok {
			return e
		}
		e = a.Child
	}
}

// Walk calls fn for e and each descendant, pre-order, while fn returns true.
func Walk(e Expr, fn func(Expr) bool) {
	if !fn(e) {
		return
	}
	for _, c := range e.Children() {
		Walk(c, fn)
	}
}

// Transform rewrites e bottom-up: children first, then fn on the rebuilt node.
func Transform(e Expr, fn func(Expr) (Expr, error)) (Expr, error) {
	ch := e.Children()
	if len(ch) > 0 {
		out := make([]Expr, len(ch))
		changed := false
		for i, c := range ch {
			n, err := Transform(c, fn)
			if err != nil {
				return nil, err
			}
			out[i] = n
			changed = changed || n != c
		}
		if changed {
			e = e.WithChildren(out)
		}
	}
	return fn(e)
}

// infix maps operator call names to their SQL rendering.
var infix = map[string]string{
	"+": "+", "-": "-", "*": "*", "/": "/", "%": "%", "div": "div",
	"=": "=", "<=>": "<=>", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
	"and": "AND", "or": "OR", "||": "||", "&": "&", "|": "|", "^": "^",
}

// FormatCall renders a call in Spark SQL: infix operators, keyword forms
// (IS NULL, IN, LIKE, CASE) and plain function calls.
func FormatCall(name string, args []Expr, distinct, star bool) string {
	s := func(i int) string {
		str := args[i].String()
		if needsParens(args[i]) {
			return "(" + str + ")"
		}
		return str
	}
	if op, ok := infix[name]; ok && len(args) == 2 {
		return s(0) + " " + op + " " + s(1)
	}
	switch name {
	case "not":
		if len(args) == 1 {
			return "NOT " + s(0)
		}
	case "negative":
		if len(args) == 1 {
			return "-" + s(0)
		}
	case "isnull":
		if len(args) == 1 {
			return s(0) + " IS NULL"
		}
	case "isnotnull":
		if len(args) == 1 {
			return s(0) + " IS NOT NULL"
		}
	case "like", "ilike", "rlike":
		if len(args) == 2 {
			return s(0) + " " + strings.ToUpper(name) + " " + s(1)
		}
	case "in":
		if len(args) >= 1 {
			parts := make([]string, len(args)-1)
			for i := range parts {
				parts[i] = args[i+1].String()
			}
			return s(0) + " IN (" + strings.Join(parts, ", ") + ")"
		}
	case "casewhen":
		var b strings.Builder
		b.WriteString("CASE")
		i := 0
		for ; i+1 < len(args); i += 2 {
			fmt.Fprintf(&b, " WHEN %s THEN %s", args[i], args[i+1])
		}
		if i < len(args) {
			fmt.Fprintf(&b, " ELSE %s", args[i])
		}
		b.WriteString(" END")
		return b.String()
	}
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('(')
	if distinct {
		b.WriteString("DISTINCT ")
	}
	if star {
		b.WriteByte('*')
	}
	for i, a := range args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.String())
	}
	b.WriteByte(')')
	return b.String()
}

func needsParens(e Expr) bool {
	var name string
	var n int
	switch t := e.(type) {
	case *Call:
		name, n = t.Name, len(t.Args)
	case *ScalarCall:
		name, n = t.Fn.Name, len(t.Args)
	default:
		return false
	}
	if _, ok := infix[name]; ok && n == 2 {
		return true
	}
	switch name {
	case "not", "isnull", "isnotnull", "like", "ilike", "rlike", "in":
		return true
	}
	return false
}

// QuoteIdent backquotes an identifier when it is not a plain name.
func QuoteIdent(s string) string {
	if s == "" {
		return "``"
	}
	plain := true
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

// SplitName splits a dotted column name; backquoted parts keep their dots
// and “ is a literal backquote.
func SplitName(name string) []string {
	var parts []string
	var cur strings.Builder
	inQuote := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '`' && inQuote && i+1 < len(name) && name[i+1] == '`':
			cur.WriteByte('`')
			i++
		case c == '`':
			inQuote = !inQuote
		case c == '.' && !inQuote:
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(parts, cur.String())
}
