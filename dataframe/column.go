package dataframe

import (
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Column is an expression over a DataFrame's columns, built with Col, Lit,
// Expr and the functions of this package. It is resolved when used in a
// transformation; a Column made from bad SQL text carries its error there.
type Column struct {
	e   expr.Expr
	err error
}

// Col refers to a column by name; "a.b" reads field b of struct column a
// (or column b of the table aliased a). Backquote names with dots. "*" is
// every column, "t.*" every column of table t or every field of struct
// column t.
func Col(name string) Column {
	if name == "*" {
		return Column{e: &expr.Star{}}
	}
	if q, ok := strings.CutSuffix(name, ".*"); ok && q != "" && !strings.ContainsAny(q, ".`") {
		return Column{e: &expr.Star{Qualifier: q}}
	}
	return Column{e: expr.Col(name)}
}

// Lit makes a literal from a Go value (int, int64, float64, string, bool,
// []byte, time.Time, time.Duration, nil, ...). A Column is returned as is.
func Lit(v any) (c Column) {
	if col, ok := v.(Column); ok {
		return col
	}
	defer func() {
		if r := recover(); r != nil {
			c = Column{err: fmt.Errorf("dataframe: Lit(%v): %v", v, r)}
		}
	}()
	return Column{e: expr.Lit(v)}
}

// Expr parses a Spark SQL expression: Expr("date_trunc('minute', ts)").
func Expr(sql string) Column {
	e, err := expr.ParseExpr(sql)
	if err != nil {
		return Column{err: err}
	}
	return Column{e: e}
}

// String renders the expression in SQL.
func (c Column) String() string {
	if c.err != nil {
		return "<error: " + c.err.Error() + ">"
	}
	return c.e.String()
}

// Expr exposes the unresolved expression tree.
func (c Column) Expr() expr.Expr { return c.e }

// Err is the error building this column, if any.
func (c Column) Err() error { return c.err }

func toColumn(v any) Column {
	switch x := v.(type) {
	case Column:
		return x
	case string:
		return Col(x)
	}
	return Lit(v)
}

// call builds a function call, keeping the first argument error.
func call(name string, args ...any) Column {
	es := make([]expr.Expr, len(args))
	for i, a := range args {
		c := toLitColumn(a)
		if c.err != nil {
			return Column{err: c.err}
		}
		es[i] = c.e
	}
	return Column{e: expr.NewCall(name, es...)}
}

// toLitColumn treats plain Go values as literals (unlike toColumn, where a
// string names a column).
func toLitColumn(v any) Column {
	if c, ok := v.(Column); ok {
		return c
	}
	return Lit(v)
}

func (c Column) bin(op string, other any) Column {
	if c.err != nil {
		return c
	}
	return call(op, c, other)
}

// Operators. Arguments that are not Columns are literals.
func (c Column) Plus(o any) Column     { return c.bin("+", o) }
func (c Column) Minus(o any) Column    { return c.bin("-", o) }
func (c Column) Multiply(o any) Column { return c.bin("*", o) }
func (c Column) Divide(o any) Column   { return c.bin("/", o) }
func (c Column) Mod(o any) Column      { return c.bin("%", o) }
func (c Column) Eq(o any) Column       { return c.bin("=", o) }
func (c Column) EqNullSafe(o any) Column {
	return c.bin("<=>", o)
}
func (c Column) NotEq(o any) Column { return c.bin("!=", o) }
func (c Column) Lt(o any) Column    { return c.bin("<", o) }
func (c Column) Le(o any) Column    { return c.bin("<=", o) }
func (c Column) Gt(o any) Column    { return c.bin(">", o) }
func (c Column) Ge(o any) Column    { return c.bin(">=", o) }
func (c Column) And(o any) Column   { return c.bin("and", o) }
func (c Column) Or(o any) Column    { return c.bin("or", o) }
func (c Column) Not() Column        { return call("not", c) }
func (c Column) Negate() Column     { return call("negative", c) }
func (c Column) IsNull() Column     { return call("isnull", c) }
func (c Column) IsNotNull() Column  { return call("isnotnull", c) }
func (c Column) Like(pattern string) Column {
	return c.bin("like", pattern)
}
func (c Column) RLike(pattern string) Column { return c.bin("rlike", pattern) }
func (c Column) StartsWith(p any) Column     { return call("startswith", c, p) }
func (c Column) EndsWith(p any) Column       { return call("endswith", c, p) }
func (c Column) Contains(p any) Column       { return call("contains", c, p) }

// IsIn is `c IN (values...)`.
func (c Column) IsIn(values ...any) Column { return call("in", append([]any{c}, values...)...) }

// Between is `lo <= c AND c <= hi`.
func (c Column) Between(lo, hi any) Column { return c.Ge(lo).And(c.Le(hi)) }

// Cast converts to a type given in DDL syntax: "int", "timestamp",
// "decimal(10,2)". An unknown type name is an error at use.
func (c Column) Cast(typ string) Column {
	if c.err != nil {
		return c
	}
	t, err := expr.ParseType(typ)
	if err != nil {
		return Column{err: err}
	}
	return Column{e: &expr.Cast{Child: c.e, To: t, Try: true}}
}

// As names the column (Spark's alias).
func (c Column) As(name string) Column {
	if c.err != nil {
		return c
	}
	return Column{e: &expr.Alias{Child: expr.Unalias(c.e), Name: name}}
}

// Alias is As.
func (c Column) Alias(name string) Column { return c.As(name) }

// Field reads a field of a struct column.
func (c Column) Field(name string) Column {
	if c.err != nil {
		return c
	}
	return Column{e: &expr.Field{Child: c.e, Name: name}}
}

// Sort orders for OrderBy.
func (c Column) Asc() Column { return c.order(false, true) }
func (c Column) Desc() Column {
	return c.order(true, false)
}
func (c Column) AscNullsLast() Column   { return c.order(false, false) }
func (c Column) DescNullsFirst() Column { return c.order(true, true) }

func (c Column) order(desc, nullsFirst bool) Column {
	if c.err != nil {
		return c
	}
	return Column{e: &expr.SortOrder{Child: c.e, Desc: desc, NullsFirst: nullsFirst}}
}

// When starts or continues CASE WHEN: When(cond, v).When(cond2, v2).Otherwise(x).
func When(cond Column, value any) Column {
	return call("casewhen", cond, value)
}

// When adds a branch to a CASE built with the package-level When.
func (c Column) When(cond Column, value any) Column {
	if c.err != nil {
		return c
	}
	cw, ok := c.e.(*expr.Call)
	if !ok || cw.Name != "casewhen" || len(cw.Args)%2 != 0 {
		return Column{err: fmt.Errorf("dataframe: When() can only follow When(); got %s", c)}
	}
	n := call("casewhen", append(exprArgs(cw.Args), cond, value)...)
	return n
}

// Otherwise sets the ELSE value of a CASE built with When.
func (c Column) Otherwise(value any) Column {
	if c.err != nil {
		return c
	}
	cw, ok := c.e.(*expr.Call)
	if !ok || cw.Name != "casewhen" || len(cw.Args)%2 != 0 {
		return Column{err: fmt.Errorf("dataframe: Otherwise() can only follow When(); got %s", c)}
	}
	return call("casewhen", append(exprArgs(cw.Args), value)...)
}

func exprArgs(es []expr.Expr) []any {
	out := make([]any, len(es))
	for i, e := range es {
		out[i] = Column{e: e}
	}
	return out
}
