package fn

import (
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Expectations follow Spark's math function reference examples, plus
// HALF_UP on negative numbers, decimal-string rounding of doubles, integer
// rounding to negative scales, and NULL/NaN handling.
func TestMathFunctions(t *testing.T) {
	dbl := func(js string) libCol { return libCol{T: expr.Float64, JS: js} }
	i32 := func(js string) libCol { return libCol{T: expr.Int32, JS: js} }
	i64 := func(js string) libCol { return libCol{T: expr.Int64, JS: js} }
	dec := func(p, s int32, js string) libCol {
		return libCol{T: &arrow.Decimal128Type{Precision: p, Scale: s}, JS: js}
	}
	libRunCases(t, []libCase{
		{fn: "abs", args: []any{i32(`[-1, 2, null, -2147483648]`)}, want: "1 | 2 | NULL | -2147483648"},
		{fn: "abs", args: []any{dbl(`[-1.5, 0]`)}, want: "1.5 | 0.0"},
		{fn: "abs", args: []any{dec(5, 2, `["-1.25"]`)}, want: "1.25"},

		{fn: "round", args: []any{dbl(`[2.5, -2.5, 2.675, -0.5, 1.005, 0.0001, null]`)}, want: "3.0 | -3.0 | 3.0 | -1.0 | 1.0 | 0.0 | NULL"},
		{fn: "round", args: []any{dbl(`[2.675, 1.005, -1.005, 123.456, 1e-20]`), libI(2)}, want: "2.68 | 1.01 | -1.01 | 123.46 | 0.0"},
		{fn: "round", args: []any{dbl(`[1234.5, 1250, 15, -15]`), libI(-2)}, want: "1200.0 | 1300.0 | 0.0 | 0.0"},
		{fn: "round", args: []any{i32(`[25, -25, 24, null]`), libI(-1)}, want: "30 | -30 | 20 | NULL"},
		{fn: "round", args: []any{i64(`[125]`), libI(2)}, want: "125"},
		{fn: "round", args: []any{dec(5, 3, `["2.675", "-2.675"]`), libI(2)}, want: "2.68 | -2.68"},
		{fn: "round", args: []any{dec(5, 1, `["125.5"]`), libI(-1)}, want: "130"},
		{fn: "round", args: []any{dbl(`["NaN", "Inf"]`)}, want: "NaN | Infinity"},
		{fn: "bround", args: []any{dbl(`[2.5, 3.5, -2.5, 2.675]`)}, want: "2.0 | 4.0 | -2.0 | 3.0"},
		{fn: "bround", args: []any{i32(`[25, 35]`), libI(-1)}, want: "20 | 40"},
		{fn: "bround", args: []any{dbl(`[2.665, 2.675]`), libI(2)}, want: "2.66 | 2.68"},
		{fn: "bround", args: []any{dec(5, 3, `["2.665"]`), libI(2)}, want: "2.66"},
		{fn: "round", args: []any{dbl(`[1.5]`), i32(`[1]`)}, err: ErrInvalidArgument},

		{fn: "floor", args: []any{dbl(`[-0.1, 5, 1e300, "NaN", null]`)}, want: "-1 | 5 | 9223372036854775807 | 0 | NULL"},
		{fn: "floor", args: []any{i64(`[5]`)}, want: "5"},
		{fn: "ceil", args: []any{dbl(`[-0.1, 5, 5.000001]`)}, want: "0 | 5 | 6"},
		{fn: "ceiling", args: []any{dec(5, 2, `["-1.25", "1.25", "2.00"]`)}, want: "-1 | 2 | 2"},
		{fn: "floor", args: []any{dec(5, 2, `["-1.25", "1.25"]`)}, want: "-2 | 1"},

		{fn: "sqrt", args: []any{dbl(`[4, -1, null]`)}, want: "2.0 | NaN | NULL"},
		{fn: "exp", args: []any{dbl(`[0]`)}, want: "1.0"},
		{fn: "ln", args: []any{dbl(`[1, 0, -1]`)}, want: "0.0 | NULL | NULL"},
		{fn: "log", args: []any{dbl(`[1]`)}, want: "0.0"},
		{fn: "log", args: []any{libD(10), dbl(`[100, 0]`)}, want: "2.0 | NULL"},
		{fn: "log10", args: []any{dbl(`[10]`)}, want: "1.0"},
		{fn: "log2", args: []any{dbl(`[2]`)}, want: "1.0"},
		{fn: "log1p", args: []any{dbl(`[0, -1]`)}, want: "0.0 | NULL"},
		{fn: "pow", args: []any{dbl(`[2, null]`), libD(3)}, want: "8.0 | NULL"},
		{fn: "power", args: []any{dbl(`[2]`), dbl(`[0.5]`)}, want: "1.4142135623730951"},
		{fn: "signum", args: []any{dbl(`[40, -3, 0, "NaN"]`)}, want: "1.0 | -1.0 | 0.0 | NaN"},
		{fn: "sign", args: []any{dbl(`[-0.5]`)}, want: "-1.0"},
		{fn: "degrees", args: []any{dbl(`[3.141592653589793]`)}, want: "180.0"},
		{fn: "radians", args: []any{dbl(`[180]`)}, want: "3.141592653589793"},
		{fn: "atan2", args: []any{dbl(`[0]`), dbl(`[0]`)}, want: "0.0"},
		{fn: "cos", args: []any{dbl(`[0]`)}, want: "1.0"},
		{fn: "pi", want: "3.141592653589793"},
		{fn: "e", want: "2.718281828459045"},

		{fn: "pmod", args: []any{i32(`[10, -10, 7, null, -7]`), i32(`[3, 3, 0, 1, -3]`)}, want: "1 | 2 | NULL | NULL | -1"},
		{fn: "pmod", args: []any{dbl(`[-7.5]`), dbl(`[2]`)}, want: "0.5"},
		{fn: "pmod", args: []any{i64(`[-9223372036854775808]`), i64(`[-1]`)}, want: "0"},
		{fn: "sqrt", args: []any{libS("x")}, want: "NULL"}, // the string cast fails to NULL
	})
}

func TestRandDeterministic(t *testing.T) {
	f, _ := Lookup("rand")
	draw := func() []float64 {
		b, err := f.Bind([]expr.Arg{{Type: expr.Int64, Const: libL(42)}})
		if err != nil {
			t.Fatal(err)
		}
		if !b.Volatile {
			t.Fatal("rand must be volatile")
		}
		ec := expr.NewEvalContext(nil, libNow)
		var out []float64
		for k := 0; k < 2; k++ {
			arr, err := b.Kernel(ec, []arrow.Array{nil}, 5)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < arr.Len(); i++ {
				out = append(out, expr.ValueAt(arr, i).(float64))
			}
			arr.Release()
		}
		return out
	}
	a, b := draw(), draw()
	for i := range a {
		if a[i] != b[i] || a[i] < 0 || a[i] >= 1 {
			t.Fatalf("rand(42) not reproducible or out of [0,1): %v vs %v", a, b)
		}
		if i > 0 && a[i] == a[i-1] {
			t.Fatalf("repeated value %v", a)
		}
	}
	nf, _ := Lookup("randn")
	nb, _ := nf.Bind(nil)
	arr, _ := nb.Kernel(expr.NewEvalContext(nil, libNow), nil, 1000)
	defer arr.Release()
	sum := 0.0
	for i := 0; i < arr.Len(); i++ {
		sum += expr.ValueAt(arr, i).(float64)
	}
	if m := sum / 1000; math.Abs(m) > 0.2 {
		t.Fatalf("randn mean %v", m)
	}
}
