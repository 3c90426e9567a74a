package agg

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// The harness compares exact arrays: within one accumulator the tied
// values come out in arrival order, and its two-phase cases merge the
// partials in input order, so the expected arrays are in input order.
func TestMaxByAll(t *testing.T) {
	li64 := arrow.ListOf(expr.Int64)
	xi := `[1, 2, 3, 4, 5, 6, 7, 8]`
	gids := []uint32{0, 0, 0, 1, 1, X, 0, 1}
	pair := func(ord arrow.DataType) []arrow.DataType { return []arrow.DataType{expr.Int64, ord} }
	withNull := arrow.StructOf(arrow.Field{Name: "n", Type: arrow.Null, Nullable: true}, arrow.Field{Name: "b", Type: expr.Int64, Nullable: true})
	person := arrow.StructOf(arrow.Field{Name: "name", Type: expr.String, Nullable: true}, arrow.Field{Name: "age", Type: expr.Int32, Nullable: true})
	runCases(t, []aggCase{
		{name: "bigint ties and NULL ords", fn: "max_by_all", types: pair(expr.Int64),
			args: []string{xi, `[5, null, 5, 3, 9, 100, 2, 9]`}, gids: gids, groups: 3,
			want: `[[1, 3], [5, 8], []]`, wantType: li64},
		{name: "min bigint", fn: "min_by_all", types: pair(expr.Int64),
			args: []string{xi, `[5, null, 5, 3, 9, -100, 2, 3]`}, gids: gids, groups: 3,
			want: `[[7], [4, 8], []]`},
		{name: "rising extreme drops earlier ties", fn: "max_by_all", types: pair(expr.Int32),
			args: []string{xi, `[1, 1, 2, 2, 3, 0, 3, 3]`}, gids: []uint32{0, 0, 0, 0, 0, 0, 0, 0}, groups: 1,
			want: `[[5, 7, 8]]`},
		{name: "all ords NULL", fn: "max_by_all", types: pair(expr.Int64),
			args: []string{`[1, 2]`, `[null, null]`}, gids: []uint32{0, 1}, groups: 2, want: `[[], []]`},
		{name: "no rows", fn: "min_by_all", types: pair(expr.Int64),
			args: []string{`[]`, `[]`}, gids: []uint32{}, groups: 2, want: `[[], []]`},
		{name: "NULL x at the max is kept", fn: "max_by_all", types: pair(expr.Int64),
			args: []string{`[null, 2, null]`, `[4, 4, 1]`}, gids: []uint32{0, 0, 1}, groups: 2, want: `[[null, 2], [null]]`},
		{name: "NULL ord type", fn: "max_by_all", types: pair(arrow.Null),
			args: []string{`[1, 2]`, `[null, null]`}, gids: []uint32{0, 0}, groups: 1, want: `[[]]`},
		{name: "double: NaN largest", fn: "max_by_all", types: pair(expr.Float64),
			args: []string{`[1, 2, 3, 4, 5]`, `[1e308, "NaN", "+Inf", "NaN", -1]`}, gids: []uint32{0, 0, 0, 0, 1}, groups: 2,
			want: `[[2, 4], [5]]`},
		{name: "double: -0.0 ties 0.0", fn: "min_by_all", types: pair(expr.Float64),
			args: []string{`[1, 2, 3, 4]`, `[0.0, -0.0, 1, "NaN"]`}, gids: []uint32{0, 0, 0, 0}, groups: 1,
			want: `[[1, 2]]`},
		{name: "double: negatives", fn: "min_by_all", types: pair(expr.Float64),
			args: []string{`[1, 2, 3, 4]`, `[-1.5, "-Inf", -1e300, "-Inf"]`}, gids: []uint32{0, 0, 0, 0}, groups: 1,
			want: `[[2, 4]]`},
		{name: "float", fn: "max_by_all", types: pair(expr.Float32),
			args: []string{`[1, 2, 3, 4]`, `[-2.5, 7.25, -0.0, 7.25]`}, gids: []uint32{0, 0, 1, 0}, groups: 2,
			want: `[[2, 4], [3]]`},
		{name: "tinyint", fn: "min_by_all", types: pair(expr.Int8),
			args: []string{`[1, 2, 3]`, `[-128, 127, -128]`}, gids: []uint32{0, 0, 0}, groups: 1, want: `[[1, 3]]`},
		{name: "smallint", fn: "max_by_all", types: pair(expr.Int16),
			args: []string{`[1, 2, 3]`, `[-1, 300, 300]`}, gids: []uint32{0, 0, 0}, groups: 1, want: `[[2, 3]]`},
		{name: "unsigned", fn: "max_by_all", types: pair(arrow.PrimitiveTypes.Uint64),
			args: []string{`[1, 2, 3]`, `[18446744073709551615, 1, 18446744073709551615]`}, gids: []uint32{0, 0, 0}, groups: 1, want: `[[1, 3]]`},
		{name: "boolean", fn: "min_by_all", types: pair(expr.Boolean),
			args: []string{`[1, 2, 3, 4]`, `[true, false, null, false]`}, gids: []uint32{0, 0, 0, 1}, groups: 2, want: `[[2], [4]]`},
		{name: "string", fn: "max_by_all", types: pair(expr.String),
			args: []string{`[1, 2, 3, 4, 5]`, `["b", "ab", "b", "", null]`}, gids: []uint32{0, 0, 0, 1, 1}, groups: 2,
			want: `[[1, 3], [4]]`},
		{name: "binary", fn: "min_by_all", types: pair(expr.Binary),
			args: []string{`[1, 2, 3]`, `["AQI=", "AQ==", "AQ=="]`}, gids: []uint32{0, 0, 0}, groups: 1, want: `[[2, 3]]`},
		{name: "date", fn: "max_by_all", types: pair(expr.Date),
			args: []string{`[1, 2, 3]`, `["2024-02-29", "1970-01-01", "2024-02-29"]`}, gids: []uint32{0, 0, 0}, groups: 1, want: `[[1, 3]]`},
		{name: "timestamp", fn: "min_by_all", types: pair(expr.Timestamp),
			args: []string{`[1, 2, 3]`, `["2024-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2024-01-01T00:00:00Z"]`}, gids: []uint32{0, 0, 0}, groups: 1, want: `[[2]]`},
		{name: "decimal", fn: "max_by_all", types: pair(dec(12, 2)),
			args: []string{`[1, 2, 3, 4, 5]`, `["-1.50", "12.25", "-99.99", "12.25", "-0.01"]`}, gids: []uint32{0, 0, 0, 0, 1}, groups: 2,
			want: `[[2, 4], [5]]`},
		{name: "decimal min negatives", fn: "min_by_all", types: pair(dec(12, 2)),
			args: []string{`[1, 2, 3]`, `["-1.50", "-99.99", "0.00"]`}, gids: []uint32{0, 0, 0}, groups: 1, want: `[[2]]`},
		{name: "struct x, string ord", fn: "max_by_all", types: []arrow.DataType{person, expr.String},
			args: []string{`[{"name": "ann", "age": 3}, {"name": null, "age": 4}, {"name": "bo", "age": null}]`, `["z", "a", "z"]`},
			gids: []uint32{0, 0, 0}, groups: 1,
			want: `[[{"name": "ann", "age": 3}, {"name": "bo", "age": null}]]`, wantType: arrow.ListOf(person)},
		{name: "NULL x type", fn: "max_by_all", types: []arrow.DataType{arrow.Null, expr.Int64},
			args: []string{`[null, null, null]`, `[1, 2, 2]`}, gids: []uint32{0, 0, 0}, groups: 1, want: `[[null, null]]`},
		{name: "struct x with a NULL-typed field", fn: "max_by_all", types: []arrow.DataType{withNull, expr.Int64},
			args: []string{`[{"n": null, "b": 1}, {"n": null, "b": 2}]`, `[7, 7]`}, gids: []uint32{0, 0}, groups: 1,
			want: `[[{"n": null, "b": 1}, {"n": null, "b": 2}]]`},
		{name: "string x", fn: "min_by_all", types: []arrow.DataType{expr.String, expr.Int64},
			args: []string{`["a", "bb", "", "c"]`, `[2, 1, 1, null]`}, gids: []uint32{0, 0, 0, 0}, groups: 1, want: `[["bb", ""]]`},
	})
}

// TestMaxByAllCompaction: a rising extreme drops entries; once the dropped
// ones dominate the heap is rewritten, keeping every group's live chain in
// order.
func TestMaxByAllCompaction(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	f, _ := Lookup("max_by_all")
	b, err := f.Bind([]expr.Arg{{Type: expr.Int64}, {Type: expr.Int64}}, false)
	if err != nil {
		t.Fatal(err)
	}
	acc := b.New(mem)
	defer acc.Release()
	acc.Resize(2)
	const n = 20000
	var want1 []int64
	for lo := 0; lo < n; lo += 7 {
		hi := min(n, lo+7)
		xb, ob := array.NewInt64Builder(mem), array.NewInt64Builder(mem)
		var gids []uint32
		for i := lo; i < hi; i++ {
			xb.Append(int64(i))
			if i%2 == 0 { // group 0: rising, one live entry
				ob.Append(int64(i))
				gids = append(gids, 0)
			} else { // group 1: ties at 7 for the first 3000 rows, then lower
				o := int64(7)
				if i > 6000 {
					o = 1
				} else {
					want1 = append(want1, int64(i))
				}
				ob.Append(o)
				gids = append(gids, 1)
			}
		}
		x, o := xb.NewArray(), ob.NewArray()
		xb.Release()
		ob.Release()
		if err := acc.Update([]arrow.Array{x, o}, gids); err != nil {
			t.Fatal(err)
		}
		x.Release()
		o.Release()
	}
	a := acc.(*byAllAcc[int64])
	if len(a.next) > 3*a.live+4096 {
		t.Fatalf("%d entries held for %d live: no compaction", len(a.next), a.live)
	}
	r := result(t, mem, acc, 2, nil)
	defer r.Release()
	got0, got1 := expr.ValueAt(r, 0), expr.ValueAt(r, 1)
	if fmt.Sprint(got0) != fmt.Sprint([]any{int64(n - 2)}) {
		t.Errorf("group 0: %v", got0)
	}
	w1 := make([]any, len(want1))
	for i, v := range want1 {
		w1[i] = v
	}
	if fmt.Sprint(got1) != fmt.Sprint(w1) {
		t.Errorf("group 1: %d values, want %d", len(got1.([]any)), len(w1))
	}
}

func TestMaxByAllBind(t *testing.T) {
	f, _ := Lookup("MAX_BY_ALL")
	for _, args := range [][]expr.Arg{
		{{Type: expr.Int64}},
		{{Type: expr.Int64}, {Type: arrow.ListOf(expr.Int64)}},
		{{Type: expr.Int64}, {Type: arrow.StructOf(arrow.Field{Name: "a", Type: expr.Int64})}},
		{{Type: expr.Int64}, {Type: arrow.FixedWidthTypes.MonthInterval}},
	} {
		if _, err := f.Bind(args, false); !errors.Is(err, expr.ErrType) {
			t.Errorf("max_by_all%v: %v, want a type error", args, err)
		}
	}
	// Large strings are cast to string, as for max.
	b, err := f.Bind([]expr.Arg{{Type: arrow.BinaryTypes.LargeString}, {Type: arrow.BinaryTypes.LargeString}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Cast) != 2 || !arrow.TypeEqual(b.Cast[0], expr.String) || !arrow.TypeEqual(b.Cast[1], expr.String) {
		t.Errorf("casts %v", b.Cast)
	}
}

// TestMaxByAllOracle compares with a naive implementation over random
// ords of every orderable type (NULLs, NaN, -0.0, few distinct values so
// ties are common), random batches, partials and merges, as sets.
func TestMaxByAllOracle(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(20261121, 7))
	for iter := 0; iter < 2*len(oracleTypes); iter++ {
		dt := oracleTypes[iter%len(oracleTypes)]
		n := rng.IntN(300)
		groups := 1 + rng.IntN(8)
		ord := randomColumn(mem, rng, dt, n, []float64{0, 0.3, 1}[rng.IntN(3)])
		xb := array.NewInt64Builder(mem)
		for i := 0; i < n; i++ {
			xb.Append(int64(i))
		}
		x := xb.NewArray()
		xb.Release()
		gids := make([]uint32, n)
		for i := range gids {
			gids[i] = uint32(rng.IntN(groups))
			if rng.IntN(20) == 0 {
				gids[i] = expr.NoGroup
			}
		}
		for _, fn := range []string{"max_by_all", "min_by_all"} {
			// the naive answer
			want := make([][]int64, groups)
			best := make([]any, groups)
			for i, g := range gids {
				if g == expr.NoGroup || ord.IsNull(i) {
					continue
				}
				v := expr.ValueAt(ord, i)
				c := 1
				if best[g] != nil {
					c = oracleCompare(v, best[g])
					if fn == "min_by_all" {
						c = -c
					}
				}
				switch {
				case c > 0:
					best[g], want[g] = v, []int64{int64(i)}
				case c == 0:
					want[g] = append(want[g], int64(i))
				}
			}
			got := runByAll(t, rng, fn, x, ord, gids, groups)
			for g := range want {
				slices.Sort(got[g])
				if !slices.Equal(want[g], got[g]) && !(len(want[g]) == 0 && len(got[g]) == 0) {
					t.Fatalf("%s(x, %s) n=%d group %d: got %v, want %v", fn, expr.TypeName(dt), n, g, got[g], want[g])
				}
			}
		}
		x.Release()
		ord.Release()
	}
}

// runByAll feeds 1-3 partials in random sliced batches, merges their
// states (random group orders) into a final one and returns its lists.
func runByAll(t *testing.T, rng *rand.Rand, fn string, x, ord arrow.Array, gids []uint32, groups int) [][]int64 {
	t.Helper()
	mem := newMem()
	defer mem.AssertSize(t, 0)
	f, _ := Lookup(fn)
	b, err := f.Bind([]expr.Arg{{Type: x.DataType(), Nullable: true}, {Type: ord.DataType(), Nullable: true}}, false)
	if err != nil {
		t.Fatalf("%s: bind: %v", fn, err)
	}
	n := x.Len()
	feed := func(acc expr.Accumulator, lo, hi int) {
		acc.Resize(groups)
		for lo < hi {
			e := min(hi, lo+1+rng.IntN(50))
			cols := []arrow.Array{array.NewSlice(x, int64(lo), int64(e)), array.NewSlice(ord, int64(lo), int64(e))}
			err := acc.Update(cols, gids[lo:e])
			releaseAll(cols)
			if err != nil {
				t.Fatalf("%s: update: %v", fn, err)
			}
			lo = e
		}
	}
	final := b.New(mem)
	defer final.Release()
	final.Resize(groups)
	k := 1 + rng.IntN(3)
	cuts := []int{0}
	for i := 1; i < k; i++ {
		cuts = append(cuts, rng.IntN(n+1))
	}
	slices.Sort(cuts)
	cuts = append(cuts, n)
	for i := 0; i < k; i++ {
		p := b.New(mem)
		feed(p, cuts[i], cuts[i+1])
		sel := make([]uint32, groups)
		for j, g := range rng.Perm(groups) {
			sel[j] = uint32(g)
		}
		mergeInto(t, mem, b, p, final, groups, sel)
		p.Release()
	}
	r := result(t, mem, final, groups, nil)
	defer r.Release()
	l := r.(*array.List)
	vals := l.ListValues().(*array.Int64)
	out := make([][]int64, groups)
	for g := 0; g < groups; g++ {
		s, e := l.ValueOffsets(g)
		for j := s; j < e; j++ {
			out[g] = append(out[g], vals.Value(int(j)))
		}
	}
	return out
}
