package plan

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Project computes one output column per expression.
type Project struct {
	Child Node
	Exprs []expr.Expr
}

// NewProject resolves exprs (which may contain * and t.*) over child.
func NewProject(child Node, exprs []expr.Expr) (*Project, error) {
	expanded, err := ExpandStars(exprs, child.Output())
	if err != nil {
		return nil, err
	}
	resolved, err := ResolveAll(expanded, child.Output(), false, "the select list")
	if err != nil {
		return nil, err
	}
	return &Project{Child: child, Exprs: resolved}, nil
}

// ExpandStars replaces * / t.* / * EXCEPT (...) with column references.
func ExpandStars(exprs []expr.Expr, input []Attribute) ([]expr.Expr, error) {
	var out []expr.Expr
	for _, e := range exprs {
		s, ok := e.(*expr.Star)
		if !ok {
			out = append(out, e)
			continue
		}
		except := map[string]bool{}
		for _, x := range s.Except {
			except[lowerASCII(x)] = true
		}
		matched := false
		for i, a := range input {
			if s.Qualifier != "" && !equalFold(a.Qualifier, s.Qualifier) {
				continue
			}
			matched = true
			if except[lowerASCII(a.Name)] {
				continue
			}
			out = append(out, RefOf(a, i))
		}
		if !matched && s.Qualifier != "" {
			fields, ok := structStar(s, input, except)
			if !ok {
				return nil, fmt.Errorf("%w: %s: no table, alias or struct column named %q", ErrAnalysis, s, s.Qualifier)
			}
			out = append(out, fields...)
		}
	}
	return out, nil
}

// structStar expands s.* where s names a struct column (Spark's
// "value.*"): one column per field, named by the field.
func structStar(s *expr.Star, input []Attribute, except map[string]bool) ([]expr.Expr, bool) {
	col := -1
	for i, a := range input {
		if equalFold(a.Name, s.Qualifier) {
			if col >= 0 {
				return nil, false // ambiguous: name the table too
			}
			col = i
		}
	}
	if col < 0 {
		return nil, false
	}
	st, ok := input[col].Type.(*arrow.StructType)
	if !ok {
		return nil, false
	}
	var out []expr.Expr
	for j, f := range st.Fields() {
		if except[lowerASCII(f.Name)] {
			continue
		}
		out = append(out, &expr.Alias{Name: f.Name, Child: &expr.Field{Child: RefOf(input[col], col), Name: f.Name, Index: j, Type: f.Type}})
	}
	return out, true
}

func (p *Project) Output() []Attribute {
	out := make([]Attribute, len(p.Exprs))
	for i, e := range p.Exprs {
		out[i] = attrOf(e)
	}
	return out
}
func (p *Project) Children() []Node { return []Node{p.Child} }
func (p *Project) WithChildren(ch []Node) Node {
	return &Project{Child: ch[0], Exprs: p.Exprs}
}
func (p *Project) String() string { return "Project [" + exprStrings(p.Exprs) + "]" }
