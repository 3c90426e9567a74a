package fn

// Arithmetic operators with Spark's (non-ANSI) semantics: integer overflow
// wraps, division and remainder by zero are NULL, `/` is fractional (double,
// or decimal for decimals), decimals follow Spark's result precision rules
// and overflow to NULL. Date/time arithmetic works in UTC.

import (
	"math"
	"math/big"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

var arithmeticFuncs = []*expr.Function{
	{Name: "+", MinArgs: 2, MaxArgs: 2, Usage: "expr1 + expr2", Bind: bindArith(opAdd)},
	{Name: "-", MinArgs: 2, MaxArgs: 2, Usage: "expr1 - expr2", Bind: bindArith(opSub)},
	{Name: "*", MinArgs: 2, MaxArgs: 2, Usage: "expr1 * expr2", Bind: bindArith(opMul)},
	{Name: "/", MinArgs: 2, MaxArgs: 2, Usage: "expr1 / expr2", Bind: bindArith(opDiv)},
	{Name: "%", Aliases: []string{"mod"}, MinArgs: 2, MaxArgs: 2, Usage: "expr1 % expr2", Bind: bindArith(opRem)},
	{Name: "div", MinArgs: 2, MaxArgs: 2, Usage: "expr1 div expr2", Bind: bindArith(opIntDiv)},
	{Name: "negative", MinArgs: 1, MaxArgs: 1, Usage: "negative(expr)", Bind: bindNegative},
	{Name: "positive", MinArgs: 1, MaxArgs: 1, Usage: "positive(expr)", Bind: bindPositive},
	{Name: "&", MinArgs: 2, MaxArgs: 2, Usage: "expr1 & expr2", Bind: bindBitwise("&")},
	{Name: "|", MinArgs: 2, MaxArgs: 2, Usage: "expr1 | expr2", Bind: bindBitwise("|")},
	{Name: "^", MinArgs: 2, MaxArgs: 2, Usage: "expr1 ^ expr2", Bind: bindBitwise("^")},
	{Name: "~", MinArgs: 1, MaxArgs: 1, Usage: "~ expr", Bind: bindBitNot},
	{Name: "||", MinArgs: 2, MaxArgs: 2, Usage: "expr1 || expr2", Bind: bindConcatOp},
}

// arithOp is a binary arithmetic operator.
type arithOp uint8

const (
	opAdd arithOp = iota
	opSub
	opMul
	opDiv    // fractional division
	opRem    // remainder, sign of the dividend
	opIntDiv // integral division (div)
)

func (op arithOp) String() string {
	return [...]string{"+", "-", "*", "/", "%", "div"}[op]
}

// bindArith binds a binary arithmetic operator.
func bindArith(op arithOp) func(args []expr.Arg) (*expr.Binding, error) {
	return func(args []expr.Arg) (*expr.Binding, error) {
		a, b := canonical(args[0].Type), canonical(args[1].Type)
		if bnd, ok, err := bindTemporalArith(op, args, a, b); ok {
			return bnd, err
		}
		ta, tb, rt, err := arithTypes(op, args, a, b)
		if err != nil {
			return nil, err
		}
		o, err := coerce(args, []arrow.DataType{ta, tb})
		if err != nil {
			return nil, err
		}
		nullable := anyNullable(args)
		if op == opDiv || op == opRem || op == opIntDiv || rt.ID() == arrow.DECIMAL128 {
			nullable = true
		}
		k, err := arithKernel(op, o, rt)
		if err != nil {
			return nil, err
		}
		return o.binding(rt, nullable, k), nil
	}
}

// arithTypes decides operand and result types with Spark's coercion:
// strings become double, integers widen, `/` is double unless decimals are
// involved, decimals get Spark's result precision and scale.
func arithTypes(op arithOp, args []expr.Arg, a, b arrow.DataType) (ta, tb, rt arrow.DataType, err error) {
	promote := func(t, other arrow.DataType) arrow.DataType {
		switch {
		case t.ID() == arrow.STRING:
			return expr.Float64
		case t.ID() == arrow.NULL:
			if other.ID() == arrow.NULL || other.ID() == arrow.STRING {
				return expr.Float64
			}
			return other
		}
		return t
	}
	a, b = promote(a, b), promote(b, a)
	if !expr.IsNumeric(a) || !expr.IsNumeric(b) {
		return nil, nil, nil, opTypeErr(op.String(), args, "both operands must be numeric (or a date/timestamp with an interval or days)")
	}
	da, aDec := asDecimal(a)
	db, bDec := asDecimal(b)
	decimals := (a.ID() == arrow.DECIMAL128 || b.ID() == arrow.DECIMAL128) && aDec && bDec
	if decimals && len(args) == 2 {
		// Spark's literalPickMinimumPrecision: an integer literal next to a
		// decimal takes the fewest digits it needs (dec / 3 divides by a
		// decimal(1,0), not a decimal(10,0)), which keeps result scales small.
		if d, ok := literalDecimal(args[0], a); ok && b.ID() == arrow.DECIMAL128 {
			da = d
		}
		if d, ok := literalDecimal(args[1], b); ok && a.ID() == arrow.DECIMAL128 {
			db = d
		}
	}
	switch op {
	case opIntDiv:
		if decimals {
			return da, db, expr.Int64, nil
		}
		return expr.Int64, expr.Int64, expr.Int64, nil
	case opDiv:
		if !decimals {
			return expr.Float64, expr.Float64, expr.Float64, nil
		}
	}
	if decimals {
		return da, db, decimalResult(op, da, db), nil
	}
	t, ok := tightestCommon(a, b)
	if !ok {
		return nil, nil, nil, opTypeErr(op.String(), args, "no common numeric type")
	}
	return t, t, t, nil
}

// decimalResult is Spark's DecimalPrecision result type for an operator
// (precision loss allowed, capped at 38).
func decimalResult(op arithOp, a, b *arrow.Decimal128Type) *arrow.Decimal128Type {
	p1, s1, p2, s2 := a.Precision, a.Scale, b.Precision, b.Scale
	switch op {
	case opAdd, opSub:
		s := max(s1, s2)
		return adjustDecimal(max(p1-s1, p2-s2)+s+1, s)
	case opMul:
		return adjustDecimal(p1+p2+1, s1+s2)
	case opDiv:
		s := max(6, s1+p2+1)
		return adjustDecimal(p1-s1+s2+s, s)
	default: // opRem
		s := max(s1, s2)
		return adjustDecimal(min(p1-s1, p2-s2)+s, s)
	}
}

// arithKernel picks the kernel for operands already coerced to o.types.
func arithKernel(op arithOp, o *operands, rt arrow.DataType) (expr.Kernel, error) {
	switch t := o.types[0].(type) {
	case *arrow.Int8Type:
		return numArith[int8](op, o, rt), nil
	case *arrow.Int16Type:
		return numArith[int16](op, o, rt), nil
	case *arrow.Int32Type:
		return numArith[int32](op, o, rt), nil
	case *arrow.Int64Type:
		return numArith[int64](op, o, rt), nil
	case *arrow.Float32Type:
		return numArith[float32](op, o, rt), nil
	case *arrow.Float64Type:
		return numArith[float64](op, o, rt), nil
	case *arrow.Decimal128Type:
		return decimalArith(op, o, t, o.types[1].(*arrow.Decimal128Type), rt), nil
	}
	return nil, opTypeErr(op.String(), []expr.Arg{{Type: o.types[0]}, {Type: o.types[1]}}, "unsupported operand type")
}

// numArith returns the kernel for ints and floats of Go type T.
func numArith[T number](op arithOp, o *operands, rt arrow.DataType) expr.Kernel {
	cx, cy := constVal[T](o, 0), constVal[T](o, 1)
	isF := isFloat[T]()
	return func(ec *expr.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		a, b := args[0], args[1]
		switch op {
		case opAdd, opSub, opMul:
			vb, out := allocFixed[T](ec.Mem, n)
			var x, y []T
			if a != nil {
				x = values[T](a)
			}
			if b != nil {
				y = values[T](b)
			}
			arithLoop(op, out, x, cx, y, cy)
			valid, nulls := andValidity(ec.Mem, n, a, b)
			return makeArray(rt, n, valid, nulls, vb), nil
		case opRem:
			if isF {
				return mapBinaryNull(ec.Mem, rt, n, a, cx, b, cy, func(x, y T) (T, bool) {
					if y == 0 {
						return 0, false
					}
					return T(math.Mod(float64(x), float64(y))), true
				}), nil
			}
			if b == nil && cy != 0 {
				return remConst(ec.Mem, rt, a, cx, cy, n), nil
			}
			return mapBinaryNull(ec.Mem, rt, n, a, cx, b, cy, func(x, y T) (T, bool) {
				if y == 0 {
					return 0, false
				}
				return remInt(x, y), true
			}), nil
		case opDiv:
			return mapBinaryNull(ec.Mem, rt, n, a, cx, b, cy, func(x, y T) (T, bool) {
				if y == 0 {
					return 0, false
				}
				return x / y, true
			}), nil
		default: // opIntDiv on int64
			return mapBinaryNull(ec.Mem, rt, n, a, cx, b, cy, func(x, y T) (T, bool) {
				if y == 0 {
					return 0, false
				}
				return divInt(x, y), true
			}), nil
		}
	}
}

// remInt is x % y for integers (y != 0); MinInt % -1 is 0, as in Java.
func remInt[T number](x, y T) T {
	if y == -1 {
		return 0
	}
	return modAny(x, y)
}

// modAny spells % for a type set that includes floats (never called with floats).
func modAny[T number](x, y T) T {
	switch v := any(x).(type) {
	case int8:
		return T(v % int8(y))
	case int16:
		return T(v % int16(y))
	case int32:
		return T(v % int32(y))
	case int64:
		return T(v % int64(y))
	}
	return T(math.Mod(float64(x), float64(y)))
}

// divInt is integral division truncating toward zero; MinInt div -1 wraps.
func divInt[T number](x, y T) T {
	if y == -1 {
		return -x
	}
	if isFloat[T]() {
		return T(math.Trunc(float64(x) / float64(y)))
	}
	return x / y
}

// remConst is x % c for a non-zero constant divisor: no NULLs beyond the input's.
func remConst[T number](mem memory.Allocator, rt arrow.DataType, a arrow.Array, cx, c T, n int) arrow.Array {
	vb, out := allocFixed[T](mem, n)
	if a == nil {
		r := remInt(cx, c)
		for i := range out {
			out[i] = r
		}
		return makeArray(rt, n, nil, 0, vb)
	}
	x := values[T](a)
	switch {
	case c == -1:
		clear(out)
	default:
		if xs, ok := any(x).([]int64); ok {
			remInt64Const(any(out).([]int64), xs, int64(any(c).(int64)))
		} else {
			for i, v := range x {
				out[i] = modAny(v, c)
			}
		}
	}
	valid, nulls := andValidity(mem, n, a)
	return makeArray(rt, n, valid, nulls, vb)
}

// remInt64Const computes x % c for c not 0 or -1; hoisting the divisor
// checks out of the loop leaves one hardware divide per row (measured faster
// than multiply-by-reciprocal schemes on the reference machine).
func remInt64Const(out, x []int64, c int64) {
	out = out[:len(x)]
	if c > 0 && c&(c-1) == 0 { // power of two: mask the magnitude
		m := c - 1
		for i, v := range x {
			if v >= 0 {
				out[i] = v & m
			} else {
				out[i] = -(-v & m)
			}
		}
		return
	}
	for i, v := range x {
		out[i] = v % c
	}
}

// arithLoop fills out with x op y for + - *; a nil slice stands for its constant.
func arithLoop[T number](op arithOp, out, x []T, cx T, y []T, cy T) {
	switch {
	case x != nil && y != nil:
		y = y[:len(x)]
		out = out[:len(x)]
		switch op {
		case opAdd:
			for i := range x {
				out[i] = x[i] + y[i]
			}
		case opSub:
			for i := range x {
				out[i] = x[i] - y[i]
			}
		case opMul:
			for i := range x {
				out[i] = x[i] * y[i]
			}
		}
	case x != nil:
		out = out[:len(x)]
		switch op {
		case opAdd:
			for i, v := range x {
				out[i] = v + cy
			}
		case opSub:
			for i, v := range x {
				out[i] = v - cy
			}
		case opMul:
			for i, v := range x {
				out[i] = v * cy
			}
		}
	case y != nil:
		out = out[:len(y)]
		switch op {
		case opAdd:
			for i, v := range y {
				out[i] = cx + v
			}
		case opSub:
			for i, v := range y {
				out[i] = cx - v
			}
		case opMul:
			for i, v := range y {
				out[i] = cx * v
			}
		}
	default:
		var r T
		switch op {
		case opAdd:
			r = cx + cy
		case opSub:
			r = cx - cy
		case opMul:
			r = cx * cy
		}
		for i := range out {
			out[i] = r
		}
	}
}

// ---- decimals ----

// decimalArith computes a decimal operator exactly and rounds HALF_UP to the
// result type; results that do not fit are NULL. div returns bigint.
func decimalArith(op arithOp, o *operands, ta, tb *arrow.Decimal128Type, rt arrow.DataType) expr.Kernel {
	s1, s2 := ta.Scale, tb.Scale
	ca, cb := constVal[decimal128.Num](o, 0), constVal[decimal128.Num](o, 1)
	return func(ec *expr.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		var x, y, q, r, t big.Int
		ten := big.NewInt(10)
		pow := func(k int32) *big.Int { return new(big.Int).Exp(ten, big.NewInt(int64(k)), nil) }
		if op == opIntDiv {
			// Bring both to the same scale, then truncate the quotient.
			mx, my := pow(max(s2-s1, 0)), pow(max(s1-s2, 0))
			return mapBinaryNull(ec.Mem, rt, n, args[0], ca, args[1], cb, func(a, b decimal128.Num) (int64, bool) {
				if b.Sign() == 0 {
					return 0, false
				}
				x.Mul(bigOf(a), mx)
				y.Mul(bigOf(b), my)
				q.Quo(&x, &y)
				return q.Int64(), true // low 64 bits, wrapping like BigDecimal.longValue
			}), nil
		}
		res := rt.(*arrow.Decimal128Type)
		p, s := res.Precision, res.Scale
		return mapBinaryNull(ec.Mem, rt, n, args[0], ca, args[1], cb, func(a, b decimal128.Num) (decimal128.Num, bool) {
			if fast, ok := decimalFast(op, a, b, s1, s2, s); ok {
				if fast.FitsInPrecision(p) {
					return fast, true
				}
				return decimal128.Num{}, false
			}
			x.Set(bigOf(a))
			y.Set(bigOf(b))
			var exactScale int32
			switch op {
			case opAdd, opSub, opRem:
				exactScale = max(s1, s2)
				x.Mul(&x, pow(exactScale-s1))
				y.Mul(&y, pow(exactScale-s2))
				switch op {
				case opAdd:
					r.Add(&x, &y)
				case opSub:
					r.Sub(&x, &y)
				default:
					if y.Sign() == 0 {
						return decimal128.Num{}, false
					}
					r.Rem(&x, &y)
				}
			case opMul:
				exactScale = s1 + s2
				r.Mul(&x, &y)
			case opDiv:
				if y.Sign() == 0 {
					return decimal128.Num{}, false
				}
				// r = round(x * 10^(s + s2 - s1) / y) at scale s.
				k := s + s2 - s1
				if k >= 0 {
					x.Mul(&x, pow(k))
				} else {
					y.Mul(&y, pow(-k))
				}
				q.QuoRem(&x, &y, &t)
				t.Abs(&t)
				t.Lsh(&t, 1)
				if t.CmpAbs(&y) >= 0 {
					if (x.Sign() < 0) != (y.Sign() < 0) {
						q.Sub(&q, big.NewInt(1))
					} else {
						q.Add(&q, big.NewInt(1))
					}
				}
				return decimalOfBig(&q, p)
			}
			if exactScale > s {
				// round HALF_UP (away from zero on .5)
				d := pow(exactScale - s)
				q.QuoRem(&r, d, &t)
				t.Abs(&t)
				t.Lsh(&t, 1)
				if t.Cmp(d) >= 0 {
					if r.Sign() < 0 {
						q.Sub(&q, big.NewInt(1))
					} else {
						q.Add(&q, big.NewInt(1))
					}
				}
				r.Set(&q)
			} else if exactScale < s {
				r.Mul(&r, pow(s-exactScale))
			}
			return decimalOfBig(&r, p)
		}), nil
	}
}

// decimalFast handles + - * on values that fit in int64 without rescaling
// beyond the result scale; ok is false when the exact path is needed.
func decimalFast(op arithOp, a, b decimal128.Num, s1, s2, s int32) (decimal128.Num, bool) {
	x, ok1 := int64Of(a)
	y, ok2 := int64Of(b)
	if !ok1 || !ok2 {
		return decimal128.Num{}, false
	}
	switch op {
	case opAdd, opSub:
		if s1 != s2 || s != s1 {
			return decimal128.Num{}, false
		}
		var r int64
		if op == opAdd {
			r = x + y
			if (x >= 0) == (y >= 0) && (r >= 0) != (x >= 0) {
				return decimal128.Num{}, false
			}
		} else {
			r = x - y
			if (x >= 0) != (y >= 0) && (r >= 0) != (x >= 0) {
				return decimal128.Num{}, false
			}
		}
		return decimal128.FromI64(r), true
	case opMul:
		if s != s1+s2 {
			return decimal128.Num{}, false
		}
		hi, lo := bits.Mul64(uint64(abs64(x)), uint64(abs64(y)))
		if hi != 0 || lo > math.MaxInt64 || x == math.MinInt64 || y == math.MinInt64 {
			return decimal128.Num{}, false
		}
		r := int64(lo)
		if (x < 0) != (y < 0) {
			r = -r
		}
		return decimal128.FromI64(r), true
	}
	return decimal128.Num{}, false
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// ---- date and time arithmetic ----

// bindTemporalArith handles date/timestamp/interval operands; ok is false
// when neither operand is temporal.
func bindTemporalArith(op arithOp, args []expr.Arg, a, b arrow.DataType) (*expr.Binding, bool, error) {
	ts, date, iv := expr.Timestamp, expr.Date, expr.Interval
	temporal := func(t arrow.DataType) bool {
		return isTimestamp(t) || isDate(t) || t.ID() == arrow.INTERVAL_MONTH_DAY_NANO
	}
	if !temporal(a) && !temporal(b) {
		return nil, false, nil
	}
	bind := func(ta, tb, rt arrow.DataType, f func(o *operands) expr.Kernel) (*expr.Binding, bool, error) {
		o, err := coerce(args, []arrow.DataType{ta, tb})
		if err != nil {
			return nil, true, err
		}
		return o.binding(rt, anyNullable(args), f(o)), true, nil
	}
	sub := op == opSub
	isIv := func(t arrow.DataType) bool { return t.ID() == arrow.INTERVAL_MONTH_DAY_NANO }
	switch {
	case (op == opAdd || sub) && isTimestamp(a) && isIv(b):
		return bind(ts, iv, ts, func(o *operands) expr.Kernel {
			return binaryFixed(o, ts, func(us int64, v arrow.MonthDayNanoInterval) int64 {
				if sub {
					v = negInterval(v)
				}
				return timestampAddInterval(us, v)
			})
		})
	case op == opAdd && isIv(a) && isTimestamp(b):
		return bind(iv, ts, ts, func(o *operands) expr.Kernel {
			return binaryFixed(o, ts, func(v arrow.MonthDayNanoInterval, us int64) int64 { return timestampAddInterval(us, v) })
		})
	case (op == opAdd || sub) && isDate(a) && isIv(b):
		return bind(date, iv, date, func(o *operands) expr.Kernel {
			return binaryFixed(o, date, func(d int32, v arrow.MonthDayNanoInterval) int32 {
				if sub {
					v = negInterval(v)
				}
				return dateAddInterval(d, v)
			})
		})
	case op == opAdd && isIv(a) && isDate(b):
		return bind(iv, date, date, func(o *operands) expr.Kernel {
			return binaryFixed(o, date, func(v arrow.MonthDayNanoInterval, d int32) int32 { return dateAddInterval(d, v) })
		})
	case (op == opAdd || sub) && isDate(a) && (expr.IsInteger(b) || b.ID() == arrow.NULL):
		return bind(date, expr.Int32, date, func(o *operands) expr.Kernel {
			return binaryFixed(o, date, func(d, k int32) int32 {
				if sub {
					return d - k
				}
				return d + k
			})
		})
	case op == opAdd && expr.IsInteger(a) && isDate(b):
		return bind(expr.Int32, date, date, func(o *operands) expr.Kernel {
			return binaryFixed(o, date, func(k, d int32) int32 { return d + k })
		})
	case sub && isDate(a) && isDate(b):
		return bind(date, date, expr.Int32, func(o *operands) expr.Kernel {
			return binaryFixed(o, expr.Int32, func(x, y int32) int32 { return x - y })
		})
	case sub && (isTimestamp(a) || isDate(a)) && (isTimestamp(b) || isDate(b)):
		return bind(ts, ts, iv, func(o *operands) expr.Kernel {
			return binaryFixed(o, iv, func(x, y int64) arrow.MonthDayNanoInterval {
				return arrow.MonthDayNanoInterval{Nanoseconds: (x - y) * 1000}
			})
		})
	case (op == opAdd || sub) && isIv(a) && isIv(b):
		return bind(iv, iv, iv, func(o *operands) expr.Kernel {
			return binaryFixed(o, iv, func(x, y arrow.MonthDayNanoInterval) arrow.MonthDayNanoInterval {
				if sub {
					y = negInterval(y)
				}
				return arrow.MonthDayNanoInterval{Months: x.Months + y.Months, Days: x.Days + y.Days, Nanoseconds: x.Nanoseconds + y.Nanoseconds}
			})
		})
	case (op == opAdd || sub) && (isTimestamp(a) || isDate(a) || isIv(a)) && b.ID() == arrow.NULL:
		return bind(a, a, a, func(o *operands) expr.Kernel { return nullKernel(a) })
	case op == opAdd && a.ID() == arrow.NULL && (isTimestamp(b) || isDate(b) || isIv(b)):
		return bind(b, b, b, func(o *operands) expr.Kernel { return nullKernel(b) })
	}
	return nil, true, opTypeErr(op.String(), args,
		"supported are timestamp/date ± interval, date ± int days, date - date, timestamp - timestamp and interval ± interval")
}

// binaryFixed makes a NULL-propagating kernel from a scalar function of two
// fixed-width operands, using the captured constants of o.
func binaryFixed[A, B, O fixed](o *operands, rt arrow.DataType, f func(A, B) O) expr.Kernel {
	ca, cb := constVal[A](o, 0), constVal[B](o, 1)
	return func(ec *expr.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		return mapBinary(ec.Mem, rt, n, args[0], ca, args[1], cb, f), nil
	}
}

func negInterval(v arrow.MonthDayNanoInterval) arrow.MonthDayNanoInterval {
	return arrow.MonthDayNanoInterval{Months: -v.Months, Days: -v.Days, Nanoseconds: -v.Nanoseconds}
}

// timestampAddInterval adds months (clamping the day of month, like Java's
// plusMonths), then days, then the time part, in UTC.
func timestampAddInterval(us int64, v arrow.MonthDayNanoInterval) int64 {
	if v.Months != 0 || v.Days != 0 {
		days := floorDiv(us, microsPerDay)
		tod := us - days*microsPerDay
		days = addMonthsDays(days, v.Months, v.Days)
		us = days*microsPerDay + tod
	}
	return us + v.Nanoseconds/1000
}

// dateAddInterval adds an interval to a date; a time part moves through
// midnight and is then dropped, as Spark's DateAddInterval does.
func dateAddInterval(d int32, v arrow.MonthDayNanoInterval) int32 {
	days := addMonthsDays(int64(d), v.Months, v.Days)
	if v.Nanoseconds != 0 {
		days = floorDiv(days*microsPerDay+v.Nanoseconds/1000, microsPerDay)
	}
	return int32(days)
}

// addMonthsDays adds months (day clamped to the month's length) then days.
func addMonthsDays(days int64, months, plusDays int32) int64 {
	if months != 0 {
		y, m, d := civil(days)
		total := y*12 + int64(m-1) + int64(months)
		ny, nm := floorDiv(total, 12), int(floorMod(total, 12))+1
		days = daysFromCivil(ny, nm, min(d, daysIn(ny, nm)))
	}
	return days + int64(plusDays)
}

// ---- unary ----

func bindNegative(args []expr.Arg) (*expr.Binding, error) {
	t := canonical(args[0].Type)
	if t.ID() == arrow.STRING || t.ID() == arrow.NULL {
		t = expr.Float64
	}
	o, err := coerce(args, []arrow.DataType{t})
	if err != nil {
		return nil, err
	}
	var k expr.Kernel
	switch t.(type) {
	case *arrow.Int8Type:
		k = unaryFixed(o, t, func(v int8) int8 { return -v })
	case *arrow.Int16Type:
		k = unaryFixed(o, t, func(v int16) int16 { return -v })
	case *arrow.Int32Type:
		k = unaryFixed(o, t, func(v int32) int32 { return -v })
	case *arrow.Int64Type:
		k = unaryFixed(o, t, func(v int64) int64 { return -v })
	case *arrow.Float32Type:
		k = unaryFixed(o, t, func(v float32) float32 { return -v })
	case *arrow.Float64Type:
		k = unaryFixed(o, t, func(v float64) float64 { return -v })
	case *arrow.Decimal128Type:
		k = unaryFixed(o, t, func(v decimal128.Num) decimal128.Num { return v.Negate() })
	case *arrow.MonthDayNanoIntervalType:
		k = unaryFixed(o, t, negInterval)
	default:
		return nil, opTypeErr("negative", args, "needs a numeric or interval operand")
	}
	return o.binding(t, anyNullable(args), k), nil
}

func bindPositive(args []expr.Arg) (*expr.Binding, error) {
	t := canonical(args[0].Type)
	if !expr.IsNumeric(t) && t.ID() != arrow.INTERVAL_MONTH_DAY_NANO {
		return nil, opTypeErr("positive", args, "needs a numeric or interval operand")
	}
	o, err := coerce(args, []arrow.DataType{t})
	if err != nil {
		return nil, err
	}
	lit := o.consts[0]
	return o.binding(t, anyNullable(args), func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		if a[0] == nil {
			return expr.ConstArray(ec.Mem, lit.Value, t, n)
		}
		a[0].Retain()
		return a[0], nil
	}), nil
}

// unaryFixed makes a NULL-propagating unary kernel (a literal operand is
// materialised once).
func unaryFixed[I, O fixed](o *operands, rt arrow.DataType, f func(I) O) expr.Kernel {
	c := constVal[I](o, 0)
	return func(ec *expr.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		if args[0] == nil {
			return mapBinary(ec.Mem, rt, n, nil, c, nil, c, func(x, _ I) O { return f(x) }), nil
		}
		return mapUnary(ec.Mem, rt, args[0], f), nil
	}
}

// ---- bitwise ----

func bindBitwise(op string) func(args []expr.Arg) (*expr.Binding, error) {
	return func(args []expr.Arg) (*expr.Binding, error) {
		a, b := canonical(args[0].Type), canonical(args[1].Type)
		t, ok := tightestCommon(a, b)
		if !ok || (!expr.IsInteger(t) && t.ID() != arrow.NULL) {
			return nil, opTypeErr(op, args, "both operands must be integers")
		}
		if t.ID() == arrow.NULL {
			t = expr.Int32
		}
		o, err := coerce(args, []arrow.DataType{t, t})
		if err != nil {
			return nil, err
		}
		var k expr.Kernel
		switch t.ID() {
		case arrow.INT8:
			k = bitwiseKernel[int8](op, o, t)
		case arrow.INT16:
			k = bitwiseKernel[int16](op, o, t)
		case arrow.INT32:
			k = bitwiseKernel[int32](op, o, t)
		default:
			k = bitwiseKernel[int64](op, o, t)
		}
		return o.binding(t, anyNullable(args), k), nil
	}
}

func bitwiseKernel[T ~int8 | ~int16 | ~int32 | ~int64](op string, o *operands, t arrow.DataType) expr.Kernel {
	switch op {
	case "&":
		return binaryFixed(o, t, func(x, y T) T { return x & y })
	case "|":
		return binaryFixed(o, t, func(x, y T) T { return x | y })
	}
	return binaryFixed(o, t, func(x, y T) T { return x ^ y })
}

func bindBitNot(args []expr.Arg) (*expr.Binding, error) {
	t := canonical(args[0].Type)
	if t.ID() == arrow.NULL {
		t = expr.Int32
	}
	o, err := coerce(args, []arrow.DataType{t})
	if err != nil {
		return nil, err
	}
	var k expr.Kernel
	switch t.ID() {
	case arrow.INT8:
		k = unaryFixed(o, t, func(v int8) int8 { return ^v })
	case arrow.INT16:
		k = unaryFixed(o, t, func(v int16) int16 { return ^v })
	case arrow.INT32:
		k = unaryFixed(o, t, func(v int32) int32 { return ^v })
	case arrow.INT64:
		k = unaryFixed(o, t, func(v int64) int64 { return ^v })
	default:
		return nil, opTypeErr("~", args, "needs an integer operand")
	}
	return o.binding(t, anyNullable(args), k), nil
}

// ---- string concatenation ----

// bindConcatOp binds `a || b`: binary when both are binary, else both are
// cast to string (Spark's implicit cast); NULL if either is NULL.
func bindConcatOp(args []expr.Arg) (*expr.Binding, error) {
	a, b := canonical(args[0].Type), canonical(args[1].Type)
	rt := expr.String
	if isBinary(a) && (isBinary(b) || b.ID() == arrow.NULL) || isBinary(b) && a.ID() == arrow.NULL {
		rt = expr.Binary
	}
	for _, t := range []arrow.DataType{a, b} {
		if !CanCast(t, rt) {
			return nil, opTypeErr("||", args, "operands must be strings, binary or castable to string")
		}
	}
	o, err := coerce(args, []arrow.DataType{rt, rt})
	if err != nil {
		return nil, err
	}
	var cx, cy []byte
	if l := o.consts[0]; l != nil && l.Value != nil {
		cx = litBytes(l.Value)
	}
	if l := o.consts[1]; l != nil && l.Value != nil {
		cy = litBytes(l.Value)
	}
	return o.binding(rt, anyNullable(args), func(ec *expr.EvalContext, arrs []arrow.Array, n int) (arrow.Array, error) {
		return concat2(ec.Mem, rt, n, arrs[0], cx, arrs[1], cy)
	}), nil
}

// litBytes returns a string or binary literal's bytes.
func litBytes(v any) []byte {
	switch x := v.(type) {
	case string:
		return []byte(x)
	case []byte:
		return x
	}
	return nil
}

// concat2 concatenates two string/binary operands row by row (nil array =
// constant).
func concat2(mem memory.Allocator, rt arrow.DataType, n int, a arrow.Array, ca []byte, b arrow.Array, cb []byte) (arrow.Array, error) {
	var ao, bo []int32
	var ad, bd []byte
	hint := n * (len(ca) + len(cb))
	if a != nil {
		ao, ad = stringData(a)
		hint += int(ao[n] - ao[0])
	}
	if b != nil {
		bo, bd = stringData(b)
		hint += int(bo[n] - bo[0])
	}
	w := newStringWriter(mem, rt, n, hint)
	valid, _ := andValidity(mem, n, a, b)
	var vb []byte
	if valid != nil {
		defer valid.Release()
		vb = valid.Bytes()
	}
	for i := 0; i < n; i++ {
		if vb != nil && vb[i>>3]&(1<<(i&7)) == 0 {
			w.appendNull()
			continue
		}
		x, y := ca, cb
		if a != nil {
			x = ad[ao[i]:ao[i+1]]
		}
		if b != nil {
			y = bd[bo[i]:bo[i+1]]
		}
		w.reserve(len(x) + len(y))
		w.dv = append(append(w.dv, x...), y...)
		w.endRow()
	}
	return w.finish()
}

// literalDecimal is Spark's DecimalType.fromLiteral for a smallint, int or
// bigint literal: decimal(digits, 0).
func literalDecimal(a expr.Arg, t arrow.DataType) (*arrow.Decimal128Type, bool) {
	if a.Const == nil || a.Const.Value == nil {
		return nil, false
	}
	var v int64
	switch x := a.Const.Value.(type) {
	case int16:
		v = int64(x)
	case int32:
		v = int64(x)
	case int64:
		v = x
	default:
		return nil, false
	}
	if !arrow.TypeEqual(a.Const.Type, t) {
		return nil, false
	}
	digits := int32(1)
	for u := uint64(max(v, -v)) / 10; u > 0; u /= 10 {
		digits++
	}
	if v == math.MinInt64 {
		digits = 19
	}
	return &arrow.Decimal128Type{Precision: digits, Scale: 0}, true
}
