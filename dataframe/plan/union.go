package plan

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Union concatenates children with the same column types (UNION ALL).
type Union struct {
	Inputs []Node
}

// NewUnion checks column counts and types by position, inserting casts to
// the wider type where Spark would.
func NewUnion(inputs ...Node) (*Union, error) {
	first := inputs[0].Output()
	for i, in := range inputs[1:] {
		if n := len(in.Output()); n != len(first) {
			return nil, fmt.Errorf("%w: union needs the same number of columns: input 1 has %d (%s), input %d has %d (%s); use UnionByName to match by name",
				ErrAnalysis, len(first), attrNames(first), i+2, n, attrNames(in.Output()))
		}
	}
	types := make([]arrow.DataType, len(first))
	for c := range first {
		types[c] = first[c].Type
		for i, in := range inputs[1:] {
			t := in.Output()[c].Type
			w, ok := wider(types[c], t)
			if !ok {
				return nil, fmt.Errorf("%w: union column %d (%s) has incompatible types %s and %s (input %d)",
					ErrAnalysis, c+1, first[c].Name, expr.TypeName(types[c]), expr.TypeName(t), i+2)
			}
			types[c] = w
		}
	}
	out := make([]Node, len(inputs))
	for i, in := range inputs {
		attrs := in.Output()
		needCast := false
		exprs := make([]expr.Expr, len(attrs))
		for c, a := range attrs {
			var e expr.Expr = &expr.BoundRef{Index: c, Name: first[c].Name, Type: a.Type, Null: a.Nullable}
			if !arrow.TypeEqual(a.Type, types[c]) {
				ce, err := NewCast(e, types[c], true)
				if err != nil {
					return nil, err
				}
				e = &expr.Alias{Child: ce, Name: first[c].Name}
				needCast = true
			}
			exprs[c] = e
		}
		if needCast {
			out[i] = &Project{Child: in, Exprs: exprs}
		} else {
			out[i] = in
		}
	}
	return &Union{Inputs: out}, nil
}

// NewUnionByName aligns the inputs' columns by name to the first input.
// With allowMissing, a column missing from an input is filled with NULLs
// and columns only later inputs have are appended, as Spark's
// unionByName(other, allowMissingColumns = true) does.
func NewUnionByName(allowMissing bool, inputs ...Node) (*Union, error) {
	find := func(attrs []Attribute, name string) int {
		for j, a := range attrs {
			if strings.EqualFold(a.Name, name) {
				return j
			}
		}
		return -1
	}
	all := append([]Attribute(nil), inputs[0].Output()...)
	for i, in := range inputs[1:] {
		attrs := in.Output()
		for _, f := range all {
			if find(attrs, f.Name) < 0 && !allowMissing {
				return nil, fmt.Errorf("%w: UnionByName: input %d has no column %s; its columns are %s (pass allowMissingColumns to fill NULLs)", ErrAnalysis, i+2, quoteName(f.Name), attrNames(attrs))
			}
		}
		for _, a := range attrs {
			if find(all, a.Name) >= 0 {
				continue
			}
			if !allowMissing {
				return nil, fmt.Errorf("%w: UnionByName: input %d has column %s that input 1 lacks; its columns are %s, input 1 has %s (pass allowMissingColumns to fill NULLs)",
					ErrAnalysis, i+2, quoteName(a.Name), attrNames(attrs), attrNames(inputs[0].Output()))
			}
			all = append(all, Attribute{Name: a.Name, Type: a.Type, Nullable: true})
		}
	}
	aligned := make([]Node, len(inputs))
	for i, in := range inputs {
		attrs := in.Output()
		exprs := make([]expr.Expr, len(all))
		identity := len(attrs) == len(all)
		for c, f := range all {
			idx := find(attrs, f.Name)
			if idx < 0 {
				exprs[c] = &expr.Alias{Child: expr.TypedNull(f.Type), Name: f.Name}
				identity = false
				continue
			}
			a := attrs[idx]
			identity = identity && idx == c
			exprs[c] = RefOf(a, idx)
		}
		if identity {
			aligned[i] = in
		} else {
			aligned[i] = &Project{Child: in, Exprs: exprs}
		}
	}
	return NewUnion(aligned...)
}

func wider(a, b arrow.DataType) (arrow.DataType, bool) {
	if arrow.TypeEqual(a, b) {
		return a, true
	}
	return commonType(a, b)
}

func (u *Union) Output() []Attribute {
	out := append([]Attribute(nil), u.Inputs[0].Output()...)
	for _, in := range u.Inputs[1:] {
		for i, a := range in.Output() {
			out[i].Nullable = out[i].Nullable || a.Nullable
			out[i].Qualifier = ""
		}
	}
	return out
}
func (u *Union) Children() []Node { return u.Inputs }
func (u *Union) WithChildren(ch []Node) Node {
	return &Union{Inputs: ch}
}
func (u *Union) String() string { return "Union" }
