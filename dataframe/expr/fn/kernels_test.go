package fn

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

func TestKernelsMapUnarySlicedNulls(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := coreSlice(coreArr(t, mem, expr.Int64, `[1, 2, null, 4, 5, null, 7, 8, 9, 10, 11]`), 1, 10)
	defer a.Release()
	out := mapUnary(mem, expr.Int64, a, func(v int64) int64 { return v * 10 })
	defer out.Release()
	want := []string{"20", "NULL", "40", "50", "NULL", "70", "80", "90", "100"}
	if got := coreRows(out); !slices.Equal(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	empty := coreArr(t, mem, expr.Int64, `[]`)
	defer empty.Release()
	e := mapUnary(mem, expr.Float64, empty, func(v int64) float64 { return float64(v) })
	defer e.Release()
	if e.Len() != 0 {
		t.Fatal("empty in, non-empty out")
	}
}

func TestKernelsMapBinaryConsts(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := coreSlice(coreArr(t, mem, expr.Int32, `[0, 10, null, 30]`), 1, 4)
	defer a.Release()
	b := coreArr(t, mem, expr.Int32, `[1, 2, 3]`)
	defer b.Release()
	sub := func(x, y int32) int32 { return x - y }
	for _, tc := range []struct {
		name string
		x, y arrow.Array
		want []string
	}{
		{"aa", a, b, []string{"9", "NULL", "27"}},
		{"ac", a, nil, []string{"5", "NULL", "25"}},
		{"ca", nil, b, []string{"4", "3", "2"}},
		{"cc", nil, nil, []string{"0", "0", "0"}},
	} {
		out := mapBinary(mem, expr.Int32, 3, tc.x, 5, tc.y, 5, sub)
		if got := coreRows(out); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v want %v", tc.name, got, tc.want)
		}
		out.Release()
	}
	div := func(x, y int32) (int32, bool) {
		if y == 0 {
			return 0, false
		}
		return x / y, true
	}
	z := coreArr(t, mem, expr.Int32, `[2, 0, null]`)
	defer z.Release()
	out := mapBinaryNull(mem, expr.Int32, 3, a, 0, z, 0, div)
	defer out.Release()
	if got, want := coreRows(out), []string{"5", "NULL", "NULL"}; !slices.Equal(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
}

func TestKernelsCompareFixed(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	// 19 rows so the 8-at-a-time loop and the tail both run; sliced by 1.
	js := `[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, null, 12, 13, 14, 15, 16, 17, 18, 19]`
	a := coreSlice(coreArr(t, mem, expr.Int64, js), 1, 20)
	defer a.Release()
	ops := map[cmpOp]func(x, y int64) bool{
		opEq: func(x, y int64) bool { return x == y }, opNe: func(x, y int64) bool { return x != y },
		opLt: func(x, y int64) bool { return x < y }, opLe: func(x, y int64) bool { return x <= y },
		opGt: func(x, y int64) bool { return x > y }, opGe: func(x, y int64) bool { return x >= y },
	}
	vals := values[int64](a)
	for op, ref := range ops {
		for _, side := range []string{"ac", "ca", "aa"} {
			var out arrow.Array
			switch side {
			case "ac":
				out = compareFixed(mem, a.Len(), a, 0, nil, int64(9), op)
			case "ca":
				out = compareFixed(mem, a.Len(), nil, int64(9), a, 0, op)
			case "aa":
				out = compareFixed(mem, a.Len(), a, int64(0), a, 0, op)
			}
			for i := 0; i < a.Len(); i++ {
				if a.IsNull(i) {
					if out.IsValid(i) {
						t.Errorf("op %d %s row %d: NULL in, non-NULL out", op, side, i)
					}
					continue
				}
				var want bool
				switch side {
				case "ac":
					want = ref(vals[i], 9)
				case "ca":
					want = ref(9, vals[i])
				case "aa":
					want = ref(vals[i], vals[i])
				}
				if got := out.(*array.Boolean).Value(i); got != want {
					t.Errorf("op %d %s row %d (%d): got %v want %v", op, side, i, vals[i], got, want)
				}
			}
			out.Release()
		}
	}
}

func TestKernelsCompareNaN(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := coreArr(t, mem, expr.Float64, `[1, 2, 3]`)
	defer a.Release()
	// Overwrite row 1 with NaN (JSON has no NaN).
	values[float64](a)[1] = math.NaN()
	nan := math.NaN()
	check := func(name string, out arrow.Array, want []string) {
		t.Helper()
		defer out.Release()
		if got := coreRows(out); !slices.Equal(got, want) {
			t.Errorf("%s: got %v want %v", name, got, want)
		}
	}
	check("x = NaN", compareFixed(mem, 3, a, 0, nil, nan, opEq), []string{"false", "true", "false"})
	check("x < NaN", compareFixed(mem, 3, a, 0, nil, nan, opLt), []string{"true", "false", "true"})
	check("x > 2", compareFixed(mem, 3, a, 0, nil, 2.0, opGt), []string{"false", "true", "true"})
	check("x = x", compareFixed(mem, 3, a, 0.0, a, 0, opEq), []string{"true", "true", "true"})
	check("NaN >= x", compareFixed(mem, 3, nil, nan, a, 0, opGe), []string{"true", "true", "true"})
}

func TestKernelsStringWriterGrowsAndNulls(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	w := newStringWriter(mem, expr.String, 2, 1) // tiny hints force growth
	var want []string
	for i := 0; i < 300; i++ {
		switch {
		case i%7 == 3:
			w.appendNull()
			want = append(want, "NULL")
		case i%5 == 0:
			s := strings.Repeat("x", i)
			w.appendWith(func(dst []byte) ([]byte, bool) { return append(dst, s...), true })
			want = append(want, s)
		case i%11 == 0:
			w.appendWith(func(dst []byte) ([]byte, bool) { return append(dst, "dropped"...), false })
			want = append(want, "NULL")
		default:
			w.appendString("r")
			want = append(want, "r")
		}
	}
	out, err := w.finish()
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if err := out.(*array.String).ValidateFull(); err != nil {
		t.Fatal(err)
	}
	if got := coreRows(out); !slices.Equal(got, want) {
		t.Fatalf("rows differ:\n got %v\nwant %v", got, want)
	}
}

func TestKernelsMapString(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := coreSlice(coreArr(t, mem, expr.String, `["skip", "ab", null, "", "xyz"]`), 1, 5)
	defer a.Release()
	up, err := mapString(mem, expr.String, a, func(dst, s []byte) ([]byte, bool) {
		if len(s) == 0 {
			return dst, false
		}
		return append(dst, bytes.ToUpper(s)...), true
	})
	if err != nil {
		t.Fatal(err)
	}
	defer up.Release()
	if got, want := coreRows(up), []string{"AB", "NULL", "NULL", "XYZ"}; !slices.Equal(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	ln := mapStringToFixed(mem, expr.Int32, a, func(s []byte) (int32, bool) { return int32(len(s)), true })
	defer ln.Release()
	if got, want := coreRows(ln), []string{"2", "NULL", "0", "3"}; !slices.Equal(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	p := stringPredicate(mem, a, func(s []byte) bool { return len(s) > 1 })
	defer p.Release()
	if got, want := coreRows(p), []string{"true", "NULL", "false", "true"}; !slices.Equal(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	n := coreSlice(coreArr(t, mem, expr.Int64, `[9, 1, null, -3]`), 1, 4)
	defer n.Release()
	s, err := mapFixedToString(mem, expr.String, n, func(dst []byte, v int64) []byte { return append(dst, byte('0'+v%10)) })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	if s.Len() != 3 || s.IsValid(1) || s.(*array.String).Value(0) != "1" {
		t.Fatalf("got %v", coreRows(s))
	}
}

func TestKernelsAndValidityNullType(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := coreArr(t, mem, expr.Int64, `[1, 2, 3]`)
	defer a.Release()
	nulls := array.MakeArrayOfNull(mem, arrow.Null, 3)
	defer nulls.Release()
	buf, n := andValidity(mem, 3, a, nulls)
	if buf == nil || n != 3 {
		t.Fatalf("NULL-typed input should null every row, got %d nulls", n)
	}
	buf.Release()
	if buf, n := andValidity(mem, 3, a, nil); buf != nil || n != 0 {
		t.Fatal("no NULLs should give no bitmap")
	}
}
