package fn

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// TestStringEqConstRandom checks the 8-byte-load equality path against a
// plain comparison on random, sliced columns (the golden tests are too
// short to reach it).
func TestStringEqConstRandom(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(5, 6))
	words := []string{"", "v", "vi", "view", "views", "viewview", "viewview1", "click", "purchase", "VIEW", "vie\x00"}
	for round := 0; round < 50; round++ {
		bld := array.NewStringBuilder(mem)
		n := r.IntN(300)
		for i := 0; i < n; i++ {
			if r.IntN(10) == 0 {
				bld.AppendNull()
			} else {
				bld.Append(words[r.IntN(len(words))])
			}
		}
		a := bld.NewArray()
		bld.Release()
		if n > 3 {
			a = coreSlice(a, r.IntN(3), n-r.IntN(3))
		}
		for _, c := range words {
			for _, op := range []cmpOp{opEq, opNe, opLt, opGe} {
				out := compareBytes(mem, a.Len(), a, nil, nil, []byte(c), op)
				s := a.(*array.String)
				for i := 0; i < a.Len(); i++ {
					if s.IsNull(i) {
						if out.IsValid(i) {
							t.Fatalf("row %d: NULL in, valid out", i)
						}
						continue
					}
					var want bool
					switch op {
					case opEq:
						want = s.Value(i) == c
					case opNe:
						want = s.Value(i) != c
					case opLt:
						want = s.Value(i) < c
					case opGe:
						want = s.Value(i) >= c
					}
					if got := out.(*array.Boolean).Value(i); got != want {
						t.Fatalf("round %d op %d %q vs %q: got %v", round, op, s.Value(i), c, got)
					}
				}
				out.Release()
			}
		}
		a.Release()
	}
}

// TestCompareDictNullEntries covers NULLs inside the dictionary itself.
func TestCompareDictNullEntries(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dict := coreArr(t, mem, expr.String, `["view", null, "click"]`)
	defer dict.Release()
	idx := coreArr(t, mem, arrow.PrimitiveTypes.Int8, `[0, 1, 2, null, 0]`)
	defer idx.Release()
	d := array.NewDictionaryArray(&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: expr.String}, idx, dict)
	defer d.Release()
	out, err := compareDict(mem, d, []byte("view"), opEq)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	got := coreRows(out)
	want := []string{"true", "NULL", "false", "NULL", "true"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v want %v", got, want)
		}
	}
}
