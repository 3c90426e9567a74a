package microbatch

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/expr/fn"
	"github.com/sluicehq/sluice/dataframe/plan"
)

// joinCond is a stream-stream join's condition taken apart: the equi-keys
// the state is hashed on, the rest (evaluated on every candidate pair) and,
// per side, the rules that tell when a buffered row can no longer match a
// row of the other side that has not arrived yet (Spark's
// StreamingSymmetricHashJoinHelper).
type joinCond struct {
	nl           int
	lkeys, rkeys []expr.Expr // bound to the left / right child
	// residual is the conjuncts that are not equi-keys, bound to
	// left ++ right; nil when there are none.
	residual expr.Expr
	// rules[0] evicts left rows, rules[1] right rows. A row is evicted when
	// any rule says so (all conjuncts must hold for a match).
	rules [2][]evictRule
}

// evictRule says a buffered row of one side can be dropped: no row of the
// other side still to come can satisfy one conjunct with it. Rows to come
// are not late (Spark's rule: late is at or below the watermark W), so
// each event-time column of theirs is above W (a window's end too).
type evictRule struct {
	// onKey: col is an equi-key index (the key stored with the row);
	// otherwise a column of the side's child.
	onKey bool
	col   int
	// col holds a timestamp, or a window struct whose end is used. The
	// row is dropped when it is NULL or <= W + offUs.
	window bool
	offUs  int64
	desc   string
}

// limit is the event time (µs) at or below which the rule drops rows,
// given the watermark.
func (r evictRule) limit(watermarkUs int64) int64 { return watermarkUs + r.offUs }

func (r evictRule) String() string { return r.desc }

// sideName is "left" or "right".
func sideName(s int) string { return [...]string{"left", "right"}[s] }

// analyzeJoin splits j's condition. It fails when there is no equi-key: a
// stream-stream join keeps its state hashed on one.
func analyzeJoin(j *plan.Join) (*joinCond, error) {
	lout, rout := j.Left.Output(), j.Right.Output()
	nl := len(lout)
	jc := &joinCond{nl: nl}
	if j.Cond == nil {
		return nil, fmt.Errorf("%w: a join of two streams needs a condition with at least one equality between a left and a right column (an equi-join key); a cross join of two streams would buffer every row forever", plan.ErrUnsupported)
	}
	attrs := append(append([]plan.Attribute(nil), lout...), rout...)
	var rest []expr.Expr
	for _, c := range plan.Conjuncts(j.Cond) {
		if l, r, ok := equiKey(c, nl); ok {
			jc.lkeys = append(jc.lkeys, l)
			jc.rkeys = append(jc.rkeys, r)
		} else {
			rest = append(rest, c)
		}
		jc.rangeRules(c, attrs)
	}
	if len(jc.lkeys) == 0 {
		return nil, fmt.Errorf("%w: the join condition %s of two streams has no equality between a left and a right column; a stream-stream join keeps both sides' rows hashed on such equi-join keys: add one (e.g. l.id = r.id)", plan.ErrUnsupported, j.Cond)
	}
	// An equi-key on an event-time column (or a window over one) of the
	// other side bounds this side's key the same way: equal keys.
	for i := range jc.lkeys {
		keys := [2]expr.Expr{jc.lkeys[i], jc.rkeys[i]}
		for s := 0; s < 2; s++ {
			other := keys[1-s]
			if !plan.IsEventTime(other) {
				continue
			}
			switch t := other.(expr.Typed).DataType().(type) {
			case *arrow.StructType:
				if t.NumFields() == 0 {
					continue
				}
				if _, ok := t.Field(t.NumFields() - 1).Type.(*arrow.TimestampType); !ok {
					continue
				}
				jc.rules[s] = append(jc.rules[s], evictRule{onKey: true, col: i, window: true,
					desc: fmt.Sprintf("%s.end <= watermark", keys[s])})
			case *arrow.TimestampType:
				jc.rules[s] = append(jc.rules[s], evictRule{onKey: true, col: i,
					desc: fmt.Sprintf("%s <= watermark", keys[s])})
			}
		}
	}
	for s := range jc.rules {
		sort.SliceStable(jc.rules[s], func(a, b int) bool { return jc.rules[s][a].desc < jc.rules[s][b].desc })
	}
	for _, r := range rest {
		if jc.residual == nil {
			jc.residual = r
			continue
		}
		and, _ := fn.Lookup("and")
		e, err := plan.BindScalar(and, []expr.Expr{jc.residual, r})
		if err != nil {
			return nil, err
		}
		jc.residual = e
	}
	return jc, nil
}

// equiKey recognises left = right (either order) where each side reads
// only its own input, with equal types, and returns them bound to their
// child.
func equiKey(c expr.Expr, nl int) (expr.Expr, expr.Expr, bool) {
	call, ok := c.(*expr.ScalarCall)
	if !ok || call.Fn.Name != "=" || len(call.Args) != 2 {
		return nil, nil, false
	}
	a, b := call.Args[0], call.Args[1]
	sa, sb := sideOf(a, nl), sideOf(b, nl)
	if sa == 1 && sb == 0 {
		a, b, sa, sb = b, a, sb, sa
	}
	if sa != 0 || sb != 1 {
		return nil, nil, false
	}
	if !arrow.TypeEqual(a.(expr.Typed).DataType(), b.(expr.Typed).DataType()) {
		return nil, nil, false
	}
	return a, plan.Shift(b, -nl), true
}

// sideOf is 0 when e reads only left columns, 1 only right, -1 otherwise.
func sideOf(e expr.Expr, nl int) int {
	s := -1
	for r := range plan.Refs(e, nil) {
		cur := 0
		if r >= nl {
			cur = 1
		}
		if s == -1 {
			s = cur
		} else if s != cur {
			return -1
		}
	}
	return s
}

// timeTerm is a timestamp column (index into left ++ right) plus a
// constant (µs).
type timeTerm struct {
	col int
	off int64
}

// asTimeTerm recognises col, col + interval, col - interval and
// interval + col, for day-time intervals (a month has no fixed length).
func asTimeTerm(e expr.Expr) (timeTerm, bool) {
	switch t := e.(type) {
	case *expr.Alias:
		return asTimeTerm(t.Child)
	case *expr.BoundRef:
		if _, ok := t.Type.(*arrow.TimestampType); ok {
			return timeTerm{col: t.Index}, true
		}
	case *expr.ScalarCall:
		if len(t.Args) != 2 || (t.Fn.Name != "+" && t.Fn.Name != "-") {
			return timeTerm{}, false
		}
		if iv, ok := intervalUs(t.Args[1]); ok {
			if tt, ok := asTimeTerm(t.Args[0]); ok {
				if t.Fn.Name == "-" {
					iv = -iv
				}
				tt.off += iv
				return tt, true
			}
		}
		if iv, ok := intervalUs(t.Args[0]); ok && t.Fn.Name == "+" {
			if tt, ok := asTimeTerm(t.Args[1]); ok {
				tt.off += iv
				return tt, true
			}
		}
	}
	return timeTerm{}, false
}

// intervalUs is a day-time interval literal in microseconds.
func intervalUs(e expr.Expr) (int64, bool) {
	l, ok := e.(*expr.Literal)
	if !ok {
		return 0, false
	}
	switch v := l.Value.(type) {
	case arrow.MonthDayNanoInterval:
		if v.Months != 0 || v.Nanoseconds%1000 != 0 {
			return 0, false
		}
		return int64(v.Days)*86_400_000_000 + v.Nanoseconds/1000, true
	case time.Duration:
		if v%time.Microsecond != 0 {
			return 0, false
		}
		return v.Microseconds(), true
	}
	return 0, false
}

// rangeRules derives eviction rules from one conjunct comparing a left and
// a right time term: written as L - R op c, a lower bound on L (op >=, >,
// =) drops left rows once R's watermark passes, an upper bound (<=, <, =)
// drops right rows once L's does.
func (jc *joinCond) rangeRules(c expr.Expr, attrs []plan.Attribute) {
	call, ok := c.(*expr.ScalarCall)
	if !ok || len(call.Args) != 2 {
		return
	}
	op := call.Fn.Name
	switch op {
	case "<", "<=", ">", ">=", "=":
	default:
		return
	}
	x, ok1 := asTimeTerm(call.Args[0])
	y, ok2 := asTimeTerm(call.Args[1])
	if !ok1 || !ok2 {
		return
	}
	xs, ys := 0, 0
	if x.col >= jc.nl {
		xs = 1
	}
	if y.col >= jc.nl {
		ys = 1
	}
	if xs == ys {
		return
	}
	// x op y  <=>  X - Y op (y.off - x.off).
	l, r, cst := x, y, y.off-x.off
	if xs == 1 {
		// R - L op c  <=>  L - R flip(op) -c.
		l, r, cst = y, x, -cst
		op = map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}[op]
	}
	lname, rname := attrs[l.col].Name, attrs[r.col].Name
	// Future rows have R, L >= W + 1µs. A strict bound adds 1µs more.
	strict := int64(0)
	if op == ">" || op == "<" {
		strict = 1
	}
	if op == ">=" || op == ">" || op == "=" {
		// L >= R + c > W + c: left rows with L <= W + c are done.
		if attrs[r.col].EventTime {
			jc.rules[0] = append(jc.rules[0], evictRule{col: l.col, offUs: cst + strict, desc: limitDesc(lname, cst+strict)})
		}
	}
	if op == "<=" || op == "<" || op == "=" {
		// R >= L - c > W - c: right rows with R <= W - c are done.
		if attrs[l.col].EventTime {
			jc.rules[1] = append(jc.rules[1], evictRule{col: r.col - jc.nl, offUs: strict - cst, desc: limitDesc(rname, strict-cst)})
		}
	}
}

func limitDesc(col string, off int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s <= watermark", col)
	switch {
	case off > 0:
		fmt.Fprintf(&b, " + %s", time.Duration(off)*time.Microsecond)
	case off < 0:
		fmt.Fprintf(&b, " - %s", time.Duration(-off)*time.Microsecond)
	}
	return b.String()
}
