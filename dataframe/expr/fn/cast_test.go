package fn

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// coreCast runs CastKernel over a JSON column, sliced by one row.
func coreCast(t *testing.T, mem memory.Allocator, from, to arrow.DataType, js string, try bool) ([]string, error) {
	t.Helper()
	k, err := CastKernel(from, to, try)
	if err != nil {
		return nil, err
	}
	in := coreColumn(t, mem, coreArgSpec{col: true, dt: from, js: js}, 0, true)
	defer in.Release()
	out, err := k(expr.NewEvalContext(mem, time.Time{}), []arrow.Array{in}, in.Len())
	if err != nil {
		return nil, err
	}
	defer out.Release()
	if !arrow.TypeEqual(out.DataType(), to) {
		t.Fatalf("cast %s -> %s produced %s", from, to, out.DataType())
	}
	return coreRows(out), nil
}

func TestCastDecimalTargets(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	d := func(p, s int32) arrow.DataType { return &arrow.Decimal128Type{Precision: p, Scale: s} }
	for _, tc := range []struct {
		from, to arrow.DataType
		in       string
		want     []string
	}{
		{expr.String, d(5, 2), `["1.005","-1.005","999.994","999.995","1e-2","abc",".5","5."]`,
			[]string{"1.01", "-1.01", "999.99", "NULL", "0.01", "NULL", "0.50", "5.00"}},
		{expr.String, d(38, 0), `["99999999999999999999999999999999999999","100000000000000000000000000000000000000"]`,
			[]string{"99999999999999999999999999999999999999", "NULL"}},
		{expr.String, d(38, 10), `["12345678901234567890.0123456789"]`, []string{"12345678901234567890.0123456789"}},
		{d(10, 4), d(6, 2), `["1.2345","-1.2355","9999.9949","9999.995",null]`, []string{"1.23", "-1.24", "9999.99", "NULL", "NULL"}},
		{d(6, 2), d(10, 4), `["1.23"]`, []string{"1.2300"}},
		{d(38, 2), d(38, 0), `["123456789012345678901234567890123456.50"]`, []string{"123456789012345678901234567890123457"}},
		{expr.Int64, d(5, 2), `[999,1000,-999]`, []string{"999.00", "NULL", "-999.00"}},
		{expr.Float64, d(10, 3), `[0.1,2.0005,-2.0005,1e300]`, []string{"0.100", "2.001", "-2.001", "NULL"}},
		{expr.Timestamp, d(20, 6), `["1970-01-01T00:00:01.5Z"]`, []string{"1.500000"}},
		{expr.Boolean, d(3, 1), `[true,false]`, []string{"1.0", "0.0"}},
	} {
		got, err := coreCast(t, mem, tc.from, tc.to, tc.in, true)
		if err != nil {
			t.Errorf("%s -> %s: %v", tc.from, tc.to, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s -> %s %s:\n got %v\nwant %v", tc.from, tc.to, tc.in, got, tc.want)
		}
	}
}

func TestCastStrictNamesValue(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	_, err := coreCast(t, mem, expr.String, expr.Int32, `["1","abc",null]`, false)
	if !errors.Is(err, expr.ErrType) || !strings.Contains(err.Error(), `'abc'`) || !strings.Contains(err.Error(), "to int") {
		t.Fatalf("strict cast error = %v", err)
	}
	// NULLs and valid values pass a strict cast.
	got, err := coreCast(t, mem, expr.String, expr.Int32, `["1",null]`, false)
	if err != nil || !slices.Equal(got, []string{"1", "NULL"}) {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := CastKernel(expr.Date, expr.Int32, true); !errors.Is(err, expr.ErrType) {
		t.Fatalf("date -> int should be refused, got %v", err)
	}
}

func TestCastNestedAndPhysical(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	st := arrow.StructOf(arrow.Field{Name: "a", Type: expr.Int32, Nullable: true}, arrow.Field{Name: "b", Type: expr.String, Nullable: true})
	st2 := arrow.StructOf(arrow.Field{Name: "a", Type: expr.Int64, Nullable: true}, arrow.Field{Name: "b", Type: expr.Int32, Nullable: true})
	got, err := coreCast(t, mem, st, st2, `[{"a":1,"b":"2"},null,{"a":null,"b":"x"}]`, true)
	if err != nil || !slices.Equal(got, []string{"{1, 2}", "NULL", "{NULL, NULL}"}) {
		t.Fatalf("struct cast: %v %v", got, err)
	}
	got, err = coreCast(t, mem, st, expr.String, `[{"a":1,"b":"x"},{"a":null,"b":"y"},null]`, true)
	if err != nil || !slices.Equal(got, []string{"{1, x}", "{null, y}", "NULL"}) {
		t.Fatalf("struct to string: %v %v", got, err)
	}
	got, err = coreCast(t, mem, arrow.ListOf(expr.String), arrow.ListOf(expr.Int32), `[["1","x"],null,[]]`, true)
	if err != nil || !slices.Equal(got, []string{"[1, NULL]", "NULL", "[]"}) {
		t.Fatalf("list cast: %v %v", got, err)
	}
	ms := &arrow.TimestampType{Unit: arrow.Millisecond}
	got, err = coreCast(t, mem, ms, expr.Timestamp, `[1500, -1]`, true)
	if err != nil || !slices.Equal(got, []string{"1970-01-01 00:00:01.5", "1969-12-31 23:59:59.999"}) {
		t.Fatalf("ms -> us: %v %v", got, err)
	}
	ns := &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}
	got, err = coreCast(t, mem, expr.String, ns, `["2026-01-02 03:04:05.5"]`, true)
	if err != nil || !slices.Equal(got, []string{"2026-01-02 03:04:05.5"}) {
		t.Fatalf("string -> ns: %v %v", got, err)
	}
	got, err = coreCast(t, mem, arrow.PrimitiveTypes.Uint32, expr.Int64, `[4294967295]`, true)
	if err != nil || !slices.Equal(got, []string{"4294967295"}) {
		t.Fatalf("uint32 -> bigint: %v %v", got, err)
	}
	got, err = coreCast(t, mem, expr.String, expr.Interval, `["1 day 2 hours","INTERVAL 1 month -3 seconds","3 parsecs","1 months 2 days 3.5 seconds"]`, true)
	if err != nil || !slices.Equal(got, []string{"1 days 7200 seconds", "1 months -3 seconds", "NULL", "1 months 2 days 3.5 seconds"}) {
		t.Fatalf("string -> interval: %v %v", got, err)
	}
}

func TestCastLiteral(t *testing.T) {
	l, err := castLiteral(expr.Lit("2026-01-02"), expr.Date)
	if err != nil || l.Value != arrow.Date32(20455) {
		t.Fatalf("castLiteral date = %#v, %v", l, err)
	}
	l, err = castLiteral(expr.Lit("x"), expr.Int64)
	if err != nil || l.Value != nil || !arrow.TypeEqual(l.Type, expr.Int64) {
		t.Fatalf("invalid literal should become typed NULL: %#v, %v", l, err)
	}
}

func TestJavaDoubleFormat(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{1, "1.0"}, {0.1, "0.1"}, {1e7, "1.0E7"}, {1.5e-5, "1.5E-5"}, {9999999, "9999999.0"},
		{1e21, "1.0E21"}, {math.MaxFloat64, "1.7976931348623157E308"}, {-2.5e-300, "-2.5E-300"},
	} {
		if got := string(appendJavaDouble(nil, tc.f, 64)); got != tc.want {
			t.Errorf("%v: got %s want %s", tc.f, got, tc.want)
		}
	}
}

func TestTimestampRenderMatchesExpr(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 10000; i++ {
		us := r.Int64N(400*365*microsPerDay) - 200*365*microsPerDay
		if i%3 == 0 {
			us -= us % 1_000_000
		}
		if got, want := string(appendTimestamp(nil, us)), expr.FormatTimestamp(us); got != want {
			t.Fatalf("%d: got %s want %s", us, got, want)
		}
		back, ok := parseTimestamp([]byte(expr.FormatTimestamp(us)))
		if !ok || back != us {
			t.Fatalf("round trip %d: %d %v", us, back, ok)
		}
	}
}

func TestRemInt64ConstMatchesHardware(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	divisors := []int64{3, 7, 10, 300000, 1<<31 - 1, 1 << 33, 1<<62 + 1, math.MaxInt64, -3, -300000, math.MinInt64 + 1, 64}
	xs := []int64{0, 1, -1, math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
	for i := 0; i < 5000; i++ {
		xs = append(xs, int64(r.Uint64()), r.Int64N(1<<40)-1<<39)
	}
	out := make([]int64, len(xs))
	for _, d := range divisors {
		remInt64Const(out, xs, d)
		for i, x := range xs {
			if out[i] != x%d {
				t.Fatalf("%d %% %d: got %d want %d", x, d, out[i], x%d)
			}
		}
	}
}

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"2026-01-02", "2026-01-02 03:04:05.123456", "2026-01-02T03:04:05+01:00", "2026-1-2 3:4", "+12345-01-01", "2026-01-02 03:04:05 Europe/Paris", "", "T", "2026-01-02 03:04:05.1234567890"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		us, ok := parseTimestamp([]byte(s))
		if d, dok := parseDate([]byte(s)); dok && !ok && !strings.ContainsAny(s, ":") {
			_ = d // a date with trailing junk may parse as date but not timestamp
		}
		if ok && us > -200*365*microsPerDay && us < 8000*365*microsPerDay {
			back, ok2 := parseTimestamp(appendTimestamp(nil, us))
			if !ok2 || back != us {
				t.Fatalf("%q -> %d does not round-trip (%d %v)", s, us, back, ok2)
			}
		}
	})
}

func FuzzParseNumbers(f *testing.F) {
	for _, s := range []string{"1", "-1.5", "1e10", "  12 ", "9223372036854775808", ".5", "1.", "NaN", "-inf", "1.5d", "0x1p3", "1_0", "99999999999999999999999999999999999999.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		if v, ok := parseSparkInt(b, 32); ok && (v > math.MaxInt32 || v < math.MinInt32) {
			t.Fatalf("%q parsed to out-of-range int %d", s, v)
		}
		parseSparkFloat(b, 64)
		if v, ok := parseDecimal(b, 10, 2); ok && !v.FitsInPrecision(10) {
			t.Fatalf("%q parsed to a decimal beyond precision 10", s)
		}
		parseDecimal(b, 38, 38)
		parseSparkBool(b)
		parseInterval(b)
		parseDate(b)
	})
}

func FuzzLikePattern(f *testing.F) {
	for _, s := range []string{"a%", "%b", "%c%", "a_c", `a\%`, "%%", "_", `\`, "a%b%c", "(", "ñ_"} {
		f.Add(s, "abc")
	}
	f.Fuzz(func(t *testing.T, pat, in string) {
		m, err := compileLike(pat, '\\', false)
		if err != nil {
			return
		}
		got := m([]byte(in))
		// Cross-check the fast paths against the regexp form.
		if !strings.ContainsAny(pat, `_\`) && utf8Valid(pat) {
			rx := likeRegexpForTest(pat)
			if want := rx.MatchString(in); got != want && utf8Valid(in) {
				t.Fatalf("LIKE %q on %q: fast path %v, regexp %v", pat, in, got, want)
			}
		}
	})
}

func TestCastArrayInputsUntouched(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := coreArr(t, mem, expr.String, `["a","b"]`)
	defer in.Release()
	k, err := CastKernel(expr.String, expr.Binary, true)
	if err != nil {
		t.Fatal(err)
	}
	out, err := k(expr.NewEvalContext(mem, time.Time{}), []arrow.Array{in}, 2)
	if err != nil {
		t.Fatal(err)
	}
	out.Release()
	if in.(*array.String).Value(1) != "b" {
		t.Fatal("input changed")
	}
}
