package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/expr/agg"
	"github.com/sluicehq/sluice/dataframe/expr/fn"
)

// Resolve turns an unresolved expression into a resolved one against the
// given input columns. allowAgg permits aggregate calls (SELECT lists of
// aggregations); where names the clause for error messages.
func Resolve(e expr.Expr, input []Attribute, allowAgg bool, where string) (expr.Expr, error) {
	r := &resolver{input: input, allowAgg: allowAgg, where: where}
	return r.resolve(e, false)
}

// ResolveAll resolves a list; it reports every failure at once.
func ResolveAll(es []expr.Expr, input []Attribute, allowAgg bool, where string) ([]expr.Expr, error) {
	out := make([]expr.Expr, len(es))
	var errs []error
	for i, e := range es {
		r, err := Resolve(e, input, allowAgg, where)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[i] = r
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	if len(errs) > 1 {
		return nil, joinErrors(errs)
	}
	return out, nil
}

type resolver struct {
	input    []Attribute
	allowAgg bool
	where    string
}

func (r *resolver) resolve(e expr.Expr, insideAgg bool) (expr.Expr, error) {
	switch t := e.(type) {
	case *expr.Literal, *expr.BoundRef:
		return e, nil
	case *expr.ScalarCall, *expr.AggCall:
		return e, nil
	case *expr.Column:
		return r.column(t)
	case *expr.Star:
		return nil, fmt.Errorf("%w: %s is only allowed in a select list or count(*)", ErrAnalysis, t)
	case *expr.Alias:
		c, err := r.resolve(t.Child, insideAgg)
		if err != nil {
			return nil, err
		}
		return &expr.Alias{Child: c, Name: t.Name}, nil
	case *expr.SortOrder:
		c, err := r.resolve(t.Child, insideAgg)
		if err != nil {
			return nil, err
		}
		return &expr.SortOrder{Child: c, Desc: t.Desc, NullsFirst: t.NullsFirst}, nil
	case *expr.Field:
		c, err := r.resolve(t.Child, insideAgg)
		if err != nil {
			return nil, err
		}
		return fieldOf(c, t.Name)
	case *expr.Cast:
		c, err := r.resolve(t.Child, insideAgg)
		if err != nil {
			return nil, err
		}
		return NewCast(c, t.To, t.Try)
	case *expr.Call:
		return r.call(t, insideAgg)
	}
	return nil, fmt.Errorf("%w: cannot resolve %T %s", ErrAnalysis, e, e)
}

// NewCast builds a resolved cast (a no-op when the types already match).
func NewCast(c expr.Expr, to arrow.DataType, try bool) (expr.Expr, error) {
	from := c.(expr.Typed).DataType()
	if arrow.TypeEqual(from, to) {
		return c, nil
	}
	k, err := fn.CastKernel(from, to, try)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot cast %s from %s to %s: %v", ErrAnalysis, c, expr.TypeName(from), expr.TypeName(to), err)
	}
	return &expr.Cast{Child: c, To: to, Kernel: k, Try: try}, nil
}

func fieldOf(c expr.Expr, name string) (expr.Expr, error) {
	st, ok := c.(expr.Typed).DataType().(*arrow.StructType)
	if !ok {
		return nil, fmt.Errorf("%w: cannot read field %q of %s: it is %s, not a struct", ErrAnalysis, name, c, expr.TypeName(c.(expr.Typed).DataType()))
	}
	for i, f := range st.Fields() {
		if strings.EqualFold(f.Name, name) {
			return &expr.Field{Child: c, Name: f.Name, Index: i, Type: f.Type}, nil
		}
	}
	names := make([]string, st.NumFields())
	for i, f := range st.Fields() {
		names[i] = f.Name
	}
	return nil, fmt.Errorf("%w: struct %s has no field %q; fields: %s%s", ErrAnalysis, c, name, strings.Join(names, ", "), suggest(name, names))
}

func (r *resolver) column(c *expr.Column) (expr.Expr, error) {
	parts := c.Parts
	type match struct {
		idx  int
		rest []string
	}
	var matches []match
	if len(parts) >= 2 {
		for i, a := range r.input {
			if a.Qualifier != "" && strings.EqualFold(a.Qualifier, parts[0]) && strings.EqualFold(a.Name, parts[1]) {
				matches = append(matches, match{i, parts[2:]})
			}
		}
	}
	if len(matches) == 0 {
		for i, a := range r.input {
			if strings.EqualFold(a.Name, parts[0]) {
				matches = append(matches, match{i, parts[1:]})
			}
		}
	}
	switch {
	case len(matches) == 0:
		names := make([]string, len(r.input))
		for i, a := range r.input {
			names[i] = a.Name
		}
		return nil, fmt.Errorf("%w: column %s does not exist in %s. Available columns: %s%s",
			ErrAnalysis, quoteName(c.String()), r.where, strings.Join(quoteAll(names), ", "), suggest(c.String(), names))
	case len(matches) > 1:
		var quals []string
		for _, m := range matches {
			a := r.input[m.idx]
			if a.Qualifier != "" {
				quals = append(quals, a.Qualifier+"."+a.Name)
			} else {
				quals = append(quals, a.Name)
			}
		}
		return nil, fmt.Errorf("%w: column %s is ambiguous in %s: it could be %s. Qualify it with a table alias",
			ErrAnalysis, quoteName(c.String()), r.where, strings.Join(quals, " or "))
	}
	m := matches[0]
	a := r.input[m.idx]
	var out expr.Expr = &expr.BoundRef{Index: m.idx, Name: a.Name, Type: a.Type, Null: a.Nullable, Qualifier: a.Qualifier, EventTime: a.EventTime}
	for _, f := range m.rest {
		var err error
		if out, err = fieldOf(out, f); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (r *resolver) call(c *expr.Call, insideAgg bool) (expr.Expr, error) {
	af, isAgg := agg.Lookup(c.Name)
	if isAgg {
		if !r.allowAgg {
			return nil, fmt.Errorf("%w: aggregate function %s is not allowed in %s; use it in GroupBy().Agg() or a SELECT with GROUP BY", ErrAnalysis, c, r.where)
		}
		if insideAgg {
			return nil, fmt.Errorf("%w: aggregate function %s is nested inside another aggregate; compute it in a subquery first", ErrAnalysis, c)
		}
	}
	args := make([]expr.Expr, 0, len(c.Args))
	for _, a := range c.Args {
		if _, star := a.(*expr.Star); star && isAgg && c.Name == "count" {
			continue
		}
		ra, err := r.resolve(a, insideAgg || isAgg)
		if err != nil {
			return nil, err
		}
		args = append(args, ra)
	}
	star := c.Star || (isAgg && c.Name == "count" && len(c.Args) == 1 && len(args) == 0)
	if isAgg {
		return BindAgg(af, args, c.Distinct, star)
	}
	f, ok := fn.Lookup(c.Name)
	if !ok {
		names := append(fn.Names(), aggNames()...)
		return nil, fmt.Errorf("%w: %w: %s is not a function%s", ErrAnalysis, expr.ErrUnknownFunction, quoteName(c.Name), suggest(c.Name, names))
	}
	if c.Distinct {
		return nil, fmt.Errorf("%w: DISTINCT is only allowed in aggregate functions, not in %s", ErrAnalysis, c)
	}
	return BindScalar(f, args)
}

// BindScalar resolves a scalar call over resolved arguments, inserting the
// casts the function asks for.
func BindScalar(f *expr.Function, args []expr.Expr) (expr.Expr, error) {
	if err := checkArity(f.Name, f.Usage, f.MinArgs, f.MaxArgs, len(args)); err != nil {
		return nil, err
	}
	b, err := f.Bind(argsOf(args))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrAnalysis, expr.FormatCall(f.Name, args, false, false), err)
	}
	if needsCast(args, b.Cast) {
		// Bind again over the coerced arguments, so a kernel specialised on
		// a literal captured the literal of the type it will compute in.
		if args, err = applyCasts(args, b.Cast); err != nil {
			return nil, err
		}
		if b, err = f.Bind(argsOf(args)); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrAnalysis, expr.FormatCall(f.Name, args, false, false), err)
		}
		if needsCast(args, b.Cast) {
			return nil, fmt.Errorf("%w: %s: internal error: coerced arguments still need casts", ErrAnalysis, expr.FormatCall(f.Name, args, false, false))
		}
	}
	return expr.NewScalarCall(f, args, b), nil
}

func needsCast(args []expr.Expr, casts []arrow.DataType) bool {
	for i, to := range casts {
		if to != nil && i < len(args) && !arrow.TypeEqual(args[i].(expr.Typed).DataType(), to) {
			return true
		}
	}
	return false
}

// BindAgg resolves an aggregate call over resolved arguments.
func BindAgg(f *expr.AggFunction, args []expr.Expr, distinct, star bool) (expr.Expr, error) {
	if !star {
		if err := checkArity(f.Name, f.Usage, f.MinArgs, f.MaxArgs, len(args)); err != nil {
			return nil, err
		}
	}
	b, err := f.Bind(argsOf(args), distinct)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrAnalysis, expr.FormatCall(f.Name, args, distinct, star), err)
	}
	args, err = applyCasts(args, b.Cast)
	if err != nil {
		return nil, err
	}
	return &expr.AggCall{Fn: f, Args: args, Distinct: distinct, Star: star, Binding: b}, nil
}

func checkArity(name, usage string, min, max, n int) error {
	if n >= min && (max < 0 || n <= max) {
		return nil
	}
	want := fmt.Sprintf("%d", min)
	switch {
	case max < 0:
		want = fmt.Sprintf("at least %d", min)
	case max != min:
		want = fmt.Sprintf("%d to %d", min, max)
	}
	hint := ""
	if usage != "" {
		hint = "; usage: " + usage
	}
	return fmt.Errorf("%w: %s takes %s argument(s), got %d%s", ErrAnalysis, name, want, n, hint)
}

func argsOf(args []expr.Expr) []expr.Arg {
	out := make([]expr.Arg, len(args))
	for i, a := range args {
		t := a.(expr.Typed)
		out[i] = expr.Arg{Type: t.DataType(), Nullable: t.Nullable()}
		switch a.(type) {
		case *expr.BoundRef, *expr.Alias, *expr.Field:
			out[i].Name = expr.Name(a)
		}
		if l, ok := a.(*expr.Literal); ok {
			out[i].Const = l
		}
	}
	return out
}

func applyCasts(args []expr.Expr, casts []arrow.DataType) ([]expr.Expr, error) {
	if len(casts) == 0 {
		return args, nil
	}
	out := append([]expr.Expr(nil), args...)
	for i, to := range casts {
		if to == nil || i >= len(out) {
			continue
		}
		if l, ok := out[i].(*expr.Literal); ok && l.Value == nil {
			out[i] = expr.TypedNull(to)
			continue
		}
		c, err := NewCast(out[i], to, true)
		if err != nil {
			return nil, err
		}
		// A cast literal stays a literal, so kernels can specialise on it.
		if lit, ok, ferr := expr.FoldConstant(expr.NewEvalContext(nil, zeroTime), c); ferr == nil && ok {
			c = lit
		}
		out[i] = c
	}
	return out, nil
}

func aggNames() []string {
	var out []string
	for _, f := range agg.Builtins {
		out = append(out, f.Name)
		out = append(out, f.Aliases...)
	}
	return out
}

func quoteName(s string) string { return "`" + strings.Trim(s, "`") + "`" }

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = quoteName(s)
	}
	return out
}

// suggest returns `. Did you mean "x"?` for the closest names, or "".
func suggest(name string, candidates []string) string {
	type c struct {
		s string
		d int
	}
	var best []c
	ln := strings.ToLower(name)
	for _, cand := range candidates {
		d := levenshtein(ln, strings.ToLower(cand))
		if d <= max(2, len(name)/3) {
			best = append(best, c{cand, d})
		}
	}
	if len(best) == 0 {
		return ""
	}
	sort.SliceStable(best, func(i, j int) bool { return best[i].d < best[j].d })
	var names []string
	seen := map[string]bool{}
	for _, b := range best {
		if !seen[b.s] && len(names) < 3 {
			seen[b.s] = true
			names = append(names, quoteName(b.s))
		}
	}
	return ". Did you mean " + strings.Join(names, " or ") + "?"
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func joinErrors(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("%w; %s", errs[0], strings.Join(msgs[1:], "; "))
}
