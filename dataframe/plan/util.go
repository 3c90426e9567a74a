package plan

import (
	"strings"
	"time"

	"github.com/sluicehq/sluice/dataframe/expr"
)

var zeroTime time.Time

// attrOf describes the output column of a resolved expression.
func attrOf(e expr.Expr) Attribute {
	t := e.(expr.Typed)
	a := Attribute{Name: expr.Name(e), Type: t.DataType(), Nullable: t.Nullable()}
	if r, ok := expr.Unalias(e).(*expr.BoundRef); ok {
		if _, aliased := e.(*expr.Alias); !aliased {
			a.Qualifier = r.Qualifier
		}
	}
	a.EventTime = IsEventTime(e)
	return a
}

// IsEventTime reports whether e is an event-time column or a window over
// one (Spark carries the watermark to window columns the same way).
func IsEventTime(e expr.Expr) bool {
	switch t := expr.Unalias(e).(type) {
	case *expr.BoundRef:
		return t.EventTime
	case *expr.ScalarCall:
		// window_time(window) carries an aggregation's window on to the
		// next stateful operator (chained aggregations).
		switch t.Fn.Name {
		case "window", "window_array", "window_time", "session_window":
			if len(t.Args) == 0 {
				return false
			}
			return IsEventTime(stripCast(t.Args[0]))
		}
	}
	return false
}

func stripCast(e expr.Expr) expr.Expr {
	if c, ok := e.(*expr.Cast); ok {
		return c.Child
	}
	return e
}

func exprStrings(es []expr.Expr) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.String()
	}
	return strings.Join(parts, ", ")
}

// Fingerprint renders a resolved expression with column references by
// position, so two expressions compare equal only when they compute the
// same thing over the same input.
func Fingerprint(e expr.Expr) string {
	out, _ := expr.Transform(e, func(n expr.Expr) (expr.Expr, error) {
		if r, ok := n.(*expr.BoundRef); ok {
			return &expr.Column{Parts: []string{"#" + itoa(r.Index)}}, nil
		}
		return n, nil
	})
	return expr.Unalias(out).String()
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	p := len(b)
	neg := i < 0
	if neg {
		i = -i
	}
	for i > 0 {
		p--
		b[p] = byte('0' + i%10)
		i /= 10
	}
	if neg {
		p--
		b[p] = '-'
	}
	return string(b[p:])
}

// Refs returns the set of input column indexes e reads.
func Refs(e expr.Expr, into map[int]bool) map[int]bool {
	if into == nil {
		into = map[int]bool{}
	}
	expr.Walk(e, func(n expr.Expr) bool {
		if r, ok := n.(*expr.BoundRef); ok {
			into[r.Index] = true
		}
		return true
	})
	return into
}

// Remap rewrites column references through m (old index -> new index).
func Remap(e expr.Expr, m []int) expr.Expr {
	out, _ := expr.Transform(e, func(n expr.Expr) (expr.Expr, error) {
		if r, ok := n.(*expr.BoundRef); ok {
			c := *r
			c.Index = m[r.Index]
			return &c, nil
		}
		return n, nil
	})
	return out
}

// Shift moves column references by delta (right side of a join).
func Shift(e expr.Expr, delta int) expr.Expr {
	out, _ := expr.Transform(e, func(n expr.Expr) (expr.Expr, error) {
		if r, ok := n.(*expr.BoundRef); ok {
			c := *r
			c.Index += delta
			return &c, nil
		}
		return n, nil
	})
	return out
}

// Conjuncts splits a predicate on AND.
func Conjuncts(e expr.Expr) []expr.Expr {
	if c, ok := e.(*expr.ScalarCall); ok && c.Fn.Name == "and" && len(c.Args) == 2 {
		return append(Conjuncts(c.Args[0]), Conjuncts(c.Args[1])...)
	}
	return []expr.Expr{e}
}

// RefOf references input column i, described by a.
func RefOf(a Attribute, i int) *expr.BoundRef {
	return &expr.BoundRef{Index: i, Name: a.Name, Type: a.Type, Null: a.Nullable, Qualifier: a.Qualifier, EventTime: a.EventTime}
}
