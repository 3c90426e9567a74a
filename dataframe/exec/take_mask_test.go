package exec

import (
	"math/rand"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// SelectionFromMask walks words; compare with a per-row oracle over sliced
// masks with and without NULLs.
func TestSelectionFromMask(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewSource(7))
	for iter := 0; iter < 200; iter++ {
		n := rng.Intn(300)
		b := array.NewBooleanBuilder(mem)
		for i := 0; i < n; i++ {
			if rng.Intn(5) == 0 {
				b.AppendNull()
			} else {
				b.Append(rng.Intn(2) == 0)
			}
		}
		arr := b.NewBooleanArray()
		b.Release()
		lo := 0
		if n > 0 {
			lo = rng.Intn(n + 1)
		}
		hi := lo + rng.Intn(n-lo+1)
		sl := array.NewSlice(arr, int64(lo), int64(hi)).(*array.Boolean)
		got := SelectionFromMask(sl, nil)
		var want []int32
		for i := 0; i < sl.Len(); i++ {
			if sl.IsValid(i) && sl.Value(i) {
				want = append(want, int32(i))
			}
		}
		if len(got) != len(want) {
			t.Fatalf("iter %d [%d:%d]: got %v want %v", iter, lo, hi, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("iter %d: got %v want %v", iter, got, want)
			}
		}
		sl.Release()
		arr.Release()
	}
}
