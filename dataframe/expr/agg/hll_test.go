package agg

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

func TestHLLPrecisionLikeSpark(t *testing.T) {
	for _, c := range []struct {
		rsd float64
		p   int
	}{{0.05, 9}, {0.01, 14}, {0.1, 7}, {0.3, 4}, {0.0025, 18}} {
		p, err := hllPrecision(c.rsd)
		if err != nil || p != c.p {
			t.Errorf("rsd %v: p %d (%v), want %d", c.rsd, p, err, c.p)
		}
	}
	for _, rsd := range []float64{0.5, 0.001, 0, -1, math.NaN()} {
		if _, err := hllPrecision(rsd); !errors.Is(err, expr.ErrType) {
			t.Errorf("rsd %v: err %v, want ErrType", rsd, err)
		}
	}
}

// hllFeed feeds values [lo, hi) (each twice, as int64 or strings) into
// group g of acc.
func hllFeed(t *testing.T, mem memory.Allocator, acc expr.Accumulator, strs bool, lo, hi int, g uint32) {
	t.Helper()
	var arr arrow.Array
	if strs {
		b := array.NewStringBuilder(mem)
		for i := lo; i < hi; i++ {
			b.Append(fmt.Sprintf("user-%d", i))
			b.Append(fmt.Sprintf("user-%d", i))
		}
		b.AppendNull()
		arr = b.NewArray()
		b.Release()
	} else {
		b := array.NewInt64Builder(mem)
		for i := lo; i < hi; i++ {
			b.Append(int64(i))
			b.Append(int64(i))
		}
		b.AppendNull()
		arr = b.NewArray()
		b.Release()
	}
	defer arr.Release()
	gids := make([]uint32, arr.Len())
	for i := range gids {
		gids[i] = g
	}
	if err := acc.Update([]arrow.Array{arr}, gids); err != nil {
		t.Fatal(err)
	}
}

func hllResults(t *testing.T, mem memory.Allocator, acc expr.Accumulator, n int) []int64 {
	t.Helper()
	r := result(t, mem, acc, n, nil)
	defer r.Release()
	return append([]int64(nil), r.(*array.Int64).Int64Values()...)
}

func bindHLL(t *testing.T, dt arrow.DataType, rsd float64) *expr.AggBinding {
	t.Helper()
	args := []expr.Arg{{Type: dt, Nullable: true}}
	if rsd > 0 {
		args = append(args, expr.Arg{Type: expr.Float64, Const: expr.Lit(rsd)})
	}
	b, err := approxCountDistinctFunc.Bind(args, false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHLLAccuracy(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	cards := []int{0, 1, 10, 1000, 100000}
	// rsd 0 binds without the second argument (Spark's default 0.05).
	for _, rsd := range []float64{0, 0.01} {
		for _, strs := range []bool{false, true} {
			dt := arrow.DataType(expr.Int64)
			if strs {
				dt = expr.String
			}
			var acc expr.Accumulator = bindHLL(t, dt, rsd).New(mem)
			if rsd != 0 {
				acc = &withConstArg{Accumulator: acc, mem: mem, v: rsd}
			}
			acc.Resize(len(cards))
			// One group per cardinality; groups do not share values.
			for g, n := range cards {
				hllFeed(t, mem, acc, strs, g*1_000_000, g*1_000_000+n, uint32(g))
			}
			got := hllResults(t, mem, acc, len(cards))
			tol := 3 * max(rsd, hllDefaultRSD)
			if rsd != 0 {
				tol = 3 * rsd
			}
			for g, n := range cards {
				err := math.Abs(float64(got[g]-int64(n))) / math.Max(float64(n), 1)
				if err > tol {
					t.Errorf("rsd %v strings %v: cardinality %d estimated %d (error %.3f > %.3f)", rsd, strs, n, got[g], err, tol)
				}
			}
			if got[0] != 0 || got[1] != 1 || got[2] != 10 {
				t.Errorf("small cardinalities must be exact: 0 -> %d, 1 -> %d, 10 -> %d", got[0], got[1], got[2])
			}
			acc.Release()
		}
	}
}

// withConstArg appends the evaluated literal column the operator passes
// for a literal second argument.
type withConstArg struct {
	expr.Accumulator
	mem memory.Allocator
	v   float64
}

func (w *withConstArg) Update(args []arrow.Array, gids []uint32) error {
	c, err := expr.ConstArray(w.mem, w.v, expr.Float64, len(gids))
	if err != nil {
		return err
	}
	defer c.Release()
	return w.Accumulator.Update(append(args, c), gids)
}

func TestHLLMergeIsUnion(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	b := bindHLL(t, expr.Int64, 0)
	a1, a2, all, fin := b.New(mem), b.New(mem), b.New(mem), b.New(mem)
	defer func() {
		for _, a := range []expr.Accumulator{a1, a2, all, fin} {
			a.Release()
		}
	}()
	for _, a := range []expr.Accumulator{a1, a2, all, fin} {
		a.Resize(3)
	}
	// group 0: overlapping ranges; group 1: only in a2; group 2: empty.
	hllFeed(t, mem, a1, false, 0, 6000, 0)
	hllFeed(t, mem, a2, false, 3000, 9000, 0)
	hllFeed(t, mem, a2, false, 50, 70, 1)
	hllFeed(t, mem, all, false, 0, 9000, 0)
	hllFeed(t, mem, all, false, 50, 70, 1)
	mergeInto(t, mem, b, a1, fin, 3, nil)
	mergeInto(t, mem, b, a2, fin, 3, []uint32{2, 1, 0})
	want, got := hllResults(t, mem, all, 3), hllResults(t, mem, fin, 3)
	if fmt.Sprint(want) != fmt.Sprint(got) {
		t.Fatalf("merged %v, one sketch over the union %v", got, want)
	}
	// The states are identical byte for byte, not just the estimates.
	s1, err := all.State(mem, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAll(s1)
	s2, err := fin.State(mem, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAll(s2)
	if !array.Equal(s1[0], s2[0]) {
		t.Fatal("merged registers differ from the union's")
	}
	if math.Abs(float64(want[0]-9000))/9000 > 0.15 || want[2] != 0 {
		t.Fatalf("estimates %v", want)
	}
}

func TestHLLRejectsForeignState(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	acc := bindHLL(t, expr.Int64, 0).New(mem)
	defer acc.Release()
	acc.Resize(1)
	other := bindHLL(t, expr.Int64, 0.01).New(mem)
	defer other.Release()
	other.Resize(1)
	st, err := other.State(mem, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAll(st)
	if err := acc.MergeState(st, []uint32{0}); !errors.Is(err, expr.ErrType) {
		t.Fatalf("merging a precision-14 sketch into a precision-9 one: %v", err)
	}
}

func TestHLLTypes(t *testing.T) {
	nested := arrow.ListOf(expr.Int64)
	runCases(t, []aggCase{
		{name: "doubles normalise", fn: "approx_count_distinct", types: f64, args: []string{`[0.0, -0.0, "NaN", "NaN", 1.5, null]`},
			gids: []uint32{0, 0, 0, 0, 0, 1}, groups: 3, want: `[3, 0, 0]`, wantType: expr.Int64},
		{name: "bools", fn: "approx_count_distinct", types: bl, args: []string{`[true, false, true]`},
			gids: []uint32{0, 0, 1}, groups: 2, want: `[2, 1]`},
		{name: "decimals", fn: "approx_count_distinct", types: []arrow.DataType{dec(10, 2)}, args: []string{`["1", "2", "1", "3"]`},
			gids: []uint32{0, 0, 0, 1}, groups: 2, want: `[2, 1]`},
		{name: "arrays", fn: "approx_count_distinct", types: []arrow.DataType{nested}, args: []string{`[[1], [1, 2], [1], null]`},
			gids: []uint32{0, 0, 0, 0}, groups: 1, want: `[2]`},
		{name: "null type", fn: "approx_count_distinct", types: []arrow.DataType{expr.Null}, args: []string{`[null]`},
			gids: []uint32{0}, groups: 1, want: `[0]`},
		{name: "empty", fn: "approx_count_distinct", types: str, args: []string{`[]`}, gids: []uint32{}, groups: 1, want: `[0]`},
	})
}
