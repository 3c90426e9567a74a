package fn

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Math functions. Transcendental functions compute in double like Spark;
// abs/round/bround/floor/ceil/pmod keep integer and decimal arithmetic exact.
var mathFuncs = []*expr.Function{
	{Name: "abs", MinArgs: 1, MaxArgs: 1, Usage: "abs(expr)", Bind: bindAbs},
	{Name: "round", MinArgs: 1, MaxArgs: 2, Usage: "round(expr[, scale])", Bind: bindRound("round", false)},
	{Name: "bround", MinArgs: 1, MaxArgs: 2, Usage: "bround(expr[, scale])", Bind: bindRound("bround", true)},
	{Name: "floor", MinArgs: 1, MaxArgs: 1, Usage: "floor(expr)", Bind: bindFloorCeil("floor", math.Floor)},
	{Name: "ceil", Aliases: []string{"ceiling"}, MinArgs: 1, MaxArgs: 1, Usage: "ceil(expr)", Bind: bindFloorCeil("ceil", math.Ceil)},
	unaryDouble("sqrt", math.Sqrt),
	unaryDouble("cbrt", math.Cbrt),
	unaryDouble("exp", math.Exp),
	unaryDouble("expm1", math.Expm1),
	unaryLog("ln", math.Log, 0),
	unaryLog("log10", math.Log10, 0),
	unaryLog("log2", math.Log2, 0),
	unaryLog("log1p", math.Log1p, -1),
	{Name: "log", MinArgs: 1, MaxArgs: 2, Usage: "log([base, ]expr)", Bind: bindLog},
	unaryDouble("sin", math.Sin),
	unaryDouble("cos", math.Cos),
	unaryDouble("tan", math.Tan),
	unaryDouble("asin", math.Asin),
	unaryDouble("acos", math.Acos),
	unaryDouble("atan", math.Atan),
	unaryDouble("sinh", math.Sinh),
	unaryDouble("cosh", math.Cosh),
	unaryDouble("tanh", math.Tanh),
	unaryDouble("cot", func(x float64) float64 { return 1 / math.Tan(x) }),
	unaryDouble("degrees", func(x float64) float64 { return x * (180 / math.Pi) }),
	unaryDouble("radians", func(x float64) float64 { return x * (math.Pi / 180) }),
	unaryDouble("signum", func(x float64) float64 {
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return x // 0, -0 and NaN as they are
	}, "sign"),
	binaryDouble("pow", math.Pow, "power"),
	binaryDouble("atan2", math.Atan2),
	binaryDouble("hypot", math.Hypot),
	{Name: "pmod", MinArgs: 2, MaxArgs: 2, Usage: "pmod(expr1, expr2)", Bind: bindPmod},
	{Name: "rand", Aliases: []string{"random"}, MinArgs: 0, MaxArgs: 1, Usage: "rand([seed])", Bind: bindRand(false)},
	{Name: "randn", MinArgs: 0, MaxArgs: 1, Usage: "randn([seed])", Bind: bindRand(true)},
	constDouble("pi", math.Pi),
	constDouble("e", math.E),
}

// libDoubleCast coerces a numeric (or NULL, or string, as Spark's implicit
// cast does) argument to double.
func libDoubleCast(fn string, i int, dt arrow.DataType) (arrow.DataType, error) {
	switch {
	case dt.ID() == arrow.FLOAT64:
		return nil, nil
	case expr.IsNumeric(dt), expr.IsNull(dt), expr.IsString(dt):
		return expr.Float64, nil
	}
	return nil, libTypeErr(fn, i, "a number", dt)
}

// unaryDouble defines f(double) -> double.
func unaryDouble(name string, f func(float64) float64, aliases ...string) *expr.Function {
	return &expr.Function{Name: name, Aliases: aliases, MinArgs: 1, MaxArgs: 1, Usage: name + "(expr)",
		Bind: func(args []expr.Arg) (*expr.Binding, error) {
			cast, err := libDoubleCast(name, 0, args[0].Type)
			if err != nil {
				return nil, err
			}
			b := &expr.Binding{Type: expr.Float64, Nullable: args[0].Nullable, Cast: []arrow.DataType{cast}}
			if libNullConst(args[0]) {
				b.Kernel = nullKernel(expr.Float64)
				return b, nil
			}
			b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
				return mapUnary(ec.Mem, expr.Float64, a[0], f), nil
			}
			return b, nil
		}}
}

// unaryLog defines a logarithm: NULL at or below its asymptote (Spark).
func unaryLog(name string, f func(float64) float64, asymptote float64) *expr.Function {
	return &expr.Function{Name: name, MinArgs: 1, MaxArgs: 1, Usage: name + "(expr)",
		Bind: func(args []expr.Arg) (*expr.Binding, error) {
			cast, err := libDoubleCast(name, 0, args[0].Type)
			if err != nil {
				return nil, err
			}
			b := &expr.Binding{Type: expr.Float64, Nullable: true, Cast: []arrow.DataType{cast}}
			if libNullConst(args[0]) {
				b.Kernel = nullKernel(expr.Float64)
				return b, nil
			}
			b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
				return mapUnaryNull(ec.Mem, expr.Float64, a[0], func(x float64) (float64, bool) {
					if x <= asymptote {
						return 0, false
					}
					return f(x), true
				}), nil
			}
			return b, nil
		}}
}

// bindLog binds log(x) (natural) and log(base, x); a non-positive base or x
// gives NULL.
func bindLog(args []expr.Arg) (*expr.Binding, error) {
	if len(args) == 1 {
		return unaryLog("log", math.Log, 0).Bind(args)
	}
	return binaryDoubleNull("log", args, func(base, x float64) (float64, bool) {
		if base <= 0 || x <= 0 {
			return 0, false
		}
		return math.Log(x) / math.Log(base), true
	})
}

func binaryDouble(name string, f func(x, y float64) float64, aliases ...string) *expr.Function {
	return &expr.Function{Name: name, Aliases: aliases, MinArgs: 2, MaxArgs: 2, Usage: name + "(expr1, expr2)",
		Bind: func(args []expr.Arg) (*expr.Binding, error) {
			return binaryDoubleNull(name, args, func(x, y float64) (float64, bool) { return f(x, y), true })
		}}
}

// binaryDoubleNull binds f(double, double) with literal operands captured.
func binaryDoubleNull(name string, args []expr.Arg, f func(x, y float64) (float64, bool)) (*expr.Binding, error) {
	cast := make([]arrow.DataType, 2)
	for i := range cast {
		c, err := libDoubleCast(name, i, args[i].Type)
		if err != nil {
			return nil, err
		}
		cast[i] = c
	}
	b := &expr.Binding{Type: expr.Float64, Nullable: true, Cast: cast}
	if libAnyNullConst(args) {
		b.Kernel = nullKernel(expr.Float64)
		return b, nil
	}
	var c0, c1 float64
	if args[0].Const == nil && args[1].Const != nil {
		c1, _ = constOf[float64](args[1].Const.Value)
		b.ConstArgs = true
	} else if args[1].Const == nil && args[0].Const != nil {
		c0, _ = constOf[float64](args[0].Const.Value)
		b.ConstArgs = true
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		return mapBinaryNull(ec.Mem, expr.Float64, n, a[0], c0, a[1], c1, f), nil
	}
	return b, nil
}

func constDouble(name string, v float64) *expr.Function {
	return &expr.Function{Name: name, MinArgs: 0, MaxArgs: 0, Usage: name + "()",
		Bind: func([]expr.Arg) (*expr.Binding, error) {
			return &expr.Binding{Type: expr.Float64, Kernel: func(ec *expr.EvalContext, _ []arrow.Array, n int) (arrow.Array, error) {
				buf, out := allocFixed[float64](ec.Mem, n)
				for i := range out {
					out[i] = v
				}
				return makeArray(expr.Float64, n, nil, 0, buf), nil
			}}, nil
		}}
}

// ---- abs ----

func bindAbs(args []expr.Arg) (*expr.Binding, error) {
	dt := args[0].Type
	var cast arrow.DataType
	switch {
	case expr.IsNumeric(dt):
	case expr.IsNull(dt), expr.IsString(dt):
		cast, dt = expr.Float64, expr.Float64
	default:
		return nil, libTypeErr("abs", 0, "a number", dt)
	}
	b := &expr.Binding{Type: dt, Nullable: args[0].Nullable, Cast: []arrow.DataType{cast}}
	if libNullConst(args[0]) {
		b.Kernel = nullKernel(dt)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		m := ec.Mem
		switch dt.ID() {
		case arrow.INT8:
			return mapUnary(m, dt, a[0], absInt[int8]), nil
		case arrow.INT16:
			return mapUnary(m, dt, a[0], absInt[int16]), nil
		case arrow.INT32:
			return mapUnary(m, dt, a[0], absInt[int32]), nil
		case arrow.INT64:
			return mapUnary(m, dt, a[0], absInt[int64]), nil
		case arrow.FLOAT32:
			return mapUnary(m, dt, a[0], func(x float32) float32 { return float32(math.Abs(float64(x))) }), nil
		case arrow.FLOAT64:
			return mapUnary(m, dt, a[0], math.Abs), nil
		}
		return mapUnary(m, dt, a[0], func(x decimal128.Num) decimal128.Num { return x.Abs() }), nil
	}
	return b, nil
}

// absInt wraps at the minimum like Java (non-ANSI Spark).
func absInt[T int8 | int16 | int32 | int64](x T) T {
	if x < 0 {
		return -x
	}
	return x
}

// ---- floor / ceil ----

// javaDoubleToLong is Java's (long) cast: NaN -> 0, saturating at the ends.
func javaDoubleToLong(x float64) int64 {
	switch {
	case x != x:
		return 0
	case x >= 9.223372036854775807e18:
		return math.MaxInt64
	case x <= -9.223372036854775808e18:
		return math.MinInt64
	}
	return int64(x)
}

// bindFloorCeil binds floor/ceil: bigint for integers and doubles (Spark),
// decimal(p-s+1, 0) for decimals.
func bindFloorCeil(name string, f func(float64) float64) func(args []expr.Arg) (*expr.Binding, error) {
	return func(args []expr.Arg) (*expr.Binding, error) {
		dt := args[0].Type
		if d, ok := dt.(*arrow.Decimal128Type); ok {
			out := &arrow.Decimal128Type{Precision: min(max(d.Precision-d.Scale+1, 1), 38), Scale: 0}
			b := &expr.Binding{Type: out, Nullable: args[0].Nullable, Cast: []arrow.DataType{nil}}
			up := name == "ceil"
			b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
				return mapUnary(ec.Mem, out, a[0], func(x decimal128.Num) decimal128.Num {
					return decimalRound(x, d.Scale, 0, roundFloor(up))
				}), nil
			}
			return b, nil
		}
		var cast arrow.DataType
		switch {
		case dt.ID() == arrow.INT64, dt.ID() == arrow.FLOAT64:
		case expr.IsInteger(dt):
			cast = expr.Int64
		case expr.IsNumeric(dt), expr.IsNull(dt), expr.IsString(dt):
			cast = expr.Float64
		default:
			return nil, libTypeErr(name, 0, "a number", dt)
		}
		b := &expr.Binding{Type: expr.Int64, Nullable: args[0].Nullable, Cast: []arrow.DataType{cast}}
		if libNullConst(args[0]) {
			b.Kernel = nullKernel(expr.Int64)
			return b, nil
		}
		b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
			if a[0].DataType().ID() == arrow.INT64 {
				a[0].Retain()
				return a[0], nil
			}
			return mapUnary(ec.Mem, expr.Int64, a[0], func(x float64) int64 { return javaDoubleToLong(f(x)) }), nil
		}
		return b, nil
	}
}

// ---- pmod ----

// bindPmod binds pmod(a, b): the positive remainder; b = 0 gives NULL.
// Both operands take their wider type (integers, else double).
func bindPmod(args []expr.Arg) (*expr.Binding, error) {
	for i, a := range args {
		if !expr.IsNumeric(a.Type) && !expr.IsNull(a.Type) {
			return nil, libTypeErr("pmod", i, "a number", a.Type)
		}
	}
	var dt arrow.DataType = expr.Float64
	if w, ok := libWiderType(args[0].Type, args[1].Type); ok && (expr.IsInteger(w) || expr.IsFloating(w)) {
		dt = w
	} else if ok && expr.IsNull(w) {
		dt = expr.Int32
	}
	cast := make([]arrow.DataType, 2)
	for i, a := range args {
		if !arrow.TypeEqual(a.Type, dt) {
			cast[i] = dt
		}
	}
	b := &expr.Binding{Type: dt, Nullable: true, Cast: cast}
	if libAnyNullConst(args) {
		b.Kernel = nullKernel(dt)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		m := ec.Mem
		switch dt.ID() {
		case arrow.INT8:
			return mapBinaryNull(m, dt, n, a[0], int8(0), a[1], int8(0), pmodInt[int8]), nil
		case arrow.INT16:
			return mapBinaryNull(m, dt, n, a[0], int16(0), a[1], int16(0), pmodInt[int16]), nil
		case arrow.INT32:
			return mapBinaryNull(m, dt, n, a[0], int32(0), a[1], int32(0), pmodInt[int32]), nil
		case arrow.INT64:
			return mapBinaryNull(m, dt, n, a[0], int64(0), a[1], int64(0), pmodInt[int64]), nil
		case arrow.FLOAT32:
			return mapBinaryNull(m, dt, n, a[0], float32(0), a[1], float32(0), func(x, y float32) (float32, bool) {
				v, ok := pmodFloat(float64(x), float64(y))
				return float32(v), ok
			}), nil
		}
		return mapBinaryNull(m, dt, n, a[0], 0.0, a[1], 0.0, pmodFloat), nil
	}
	return b, nil
}

func pmodInt[T int8 | int16 | int32 | int64](x, y T) (T, bool) {
	if y == 0 {
		return 0, false
	}
	if y == -1 {
		return 0, true // avoids MinInt % -1 overflow traps
	}
	r := x % y
	if r < 0 {
		r = (r + y) % y
	}
	return r, true
}

func pmodFloat(x, y float64) (float64, bool) {
	if y == 0 {
		return 0, false
	}
	r := math.Mod(x, y)
	if r < 0 {
		r = math.Mod(r+y, y)
	}
	return r, true
}
