package hashtab

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Struct values arrive plain, dictionary-encoded (with NULL indices and
// NULL dictionary entries) and sliced; equal values share a group, NULL
// structs one group of their own, distinct from a struct of NULL fields.
func TestStructCodesDictionary(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	st := arrow.StructOf(arrow.Field{Name: "a", Type: i64, Nullable: true}, arrow.Field{Name: "b", Type: str, Nullable: true})
	dictType := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: st}
	g, err := New([]arrow.DataType{dictType}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	structs := func(js string) arrow.Array {
		a, _, err := array.FromJSON(mem, st, strings.NewReader(js))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	dict := structs(`[{"a": 1, "b": "x"}, null, {"a": null, "b": null}, {"a": 2, "b": "y"}]`)
	defer dict.Release()
	ib := array.NewInt8Builder(mem)
	ib.AppendValues([]int8{3, 0, 1, 2, 0, 0}, []bool{true, true, true, true, false, true})
	idx := ib.NewArray()
	ib.Release()
	defer idx.Release()
	d := array.NewDictionaryArray(dictType, idx, dict)
	defer d.Release()
	plain := structs(`[{"a": 9, "b": "z"}, {"a": 1, "b": "x"}, null, {"a": null, "b": null}, {"a": 2, "b": "y"}]`)
	defer plain.Release()
	sliced := array.NewSlice(plain, 1, 5)
	defer sliced.Release()

	want := [][]uint32{{0, 1, 2, 3, 2, 1}, {4, 1, 2, 3, 0}, {1, 2, 3, 0}}
	for i, arr := range []arrow.Array{d, plain, sliced} {
		gids := make([]uint32, arr.Len())
		if err := g.Insert([]arrow.Array{arr}, gids); err != nil {
			t.Fatal(err)
		}
		for j := range gids {
			if gids[j] != want[i][j] {
				t.Fatalf("batch %d: gids %v, want %v", i, gids, want[i])
			}
		}
	}
	keys, err := g.Keys(mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAll(keys)
	if got := keys[0].String(); got != `{[2 1 (null) (null) 9] ["y" "x" (null) (null) "z"]}` {
		t.Fatalf("keys %s", got)
	}
	if keys[0].IsNull(2) != true || keys[0].IsNull(3) != false {
		t.Fatalf("group 2 must be the NULL struct, group 3 the struct of NULLs: %s", keys[0])
	}
	// Lookup of an unknown struct value finds nothing and creates nothing.
	unknown := structs(`[{"a": 5, "b": "x"}, {"a": 2, "b": "y"}]`)
	defer unknown.Release()
	gids := make([]uint32, 2)
	if err := g.Lookup([]arrow.Array{unknown}, gids); err != nil {
		t.Fatal(err)
	}
	if gids[0] != NoGroup || gids[1] != 0 || g.Len() != 5 {
		t.Fatalf("lookup %v, Len %d", gids, g.Len())
	}
}

// Only NULL structs: Keys still builds a struct column.
func TestStructCodesAllNull(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	g, err := New([]arrow.DataType{windowType, i64}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	w := array.MakeArrayOfNull(mem, windowType, 3)
	defer w.Release()
	u := int64sMem(mem, []int64{1, 1, 2})
	defer u.Release()
	gids := make([]uint32, 3)
	if err := g.Insert([]arrow.Array{w, u}, gids); err != nil {
		t.Fatal(err)
	}
	keys, err := g.Keys(mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAll(keys)
	if keys[0].Len() != 2 || keys[0].NullN() != 2 || !arrow.TypeEqual(keys[0].DataType(), windowType) {
		t.Fatalf("keys %s", keys[0])
	}
}

// GROUP BY (window, user) over time-ordered rows takes the pair table's
// partitioned mode, as GROUP BY (window start, user) does.
func TestStructCodesWindowsPartitioned(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	g, err := New([]arrow.DataType{windowType, i64}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	rng := rand.New(rand.NewPCG(5, 6))
	o := newOracle()
	for b := range 4 {
		const n = 20000
		sb := array.NewStructBuilder(mem, windowType)
		ub := array.NewInt64Builder(mem)
		for i := range n {
			w := int64((b*n + i) / 7000)
			sb.Append(true)
			sb.FieldBuilder(0).(*array.TimestampBuilder).Append(arrow.Timestamp(w * 300_000))
			sb.FieldBuilder(1).(*array.TimestampBuilder).Append(arrow.Timestamp((w + 1) * 300_000))
			ub.Append(rng.Int64N(5000))
		}
		cols := []arrow.Array{sb.NewArray(), ub.NewArray()}
		sb.Release()
		ub.Release()
		gids := make([]uint32, n)
		if err := g.Insert(cols, gids); err != nil {
			t.Fatal(err)
		}
		o.check(t, cols, gids, true)
		releaseAll(cols)
	}
	if p := g.impl.(*pairImpl); p.mode != pairParted || p.pp.pcol != 0 {
		t.Fatalf("mode %d, partition column %d; want partitioned by the window", p.mode, p.pp.pcol)
	}
	checkKeys(t, mem, g, o, rng)
	// Lookup of runs of windows, one of them never seen.
	sb := array.NewStructBuilder(mem, windowType)
	ub := array.NewInt64Builder(mem)
	for i := range 3000 {
		w := int64(i / 1000 * 6) // windows 0, 6 and 12 (not inserted)
		sb.Append(true)
		sb.FieldBuilder(0).(*array.TimestampBuilder).Append(arrow.Timestamp(w * 300_000))
		sb.FieldBuilder(1).(*array.TimestampBuilder).Append(arrow.Timestamp((w + 1) * 300_000))
		ub.Append(rng.Int64N(5000))
	}
	cols := []arrow.Array{sb.NewArray(), ub.NewArray()}
	sb.Release()
	ub.Release()
	defer releaseAll(cols)
	gids := make([]uint32, 3000)
	if err := g.Lookup(cols, gids); err != nil {
		t.Fatal(err)
	}
	o.check(t, cols, gids, false)
	if gids[2999] != NoGroup {
		t.Fatalf("a window never inserted found group %d", gids[2999])
	}
}

func int64sMem(mem memory.Allocator, v []int64) arrow.Array {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.AppendValues(v, nil)
	return b.NewArray()
}
