package exec

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Sliced string/binary arrays have absolute offsets but relative value bytes;
// Take must gather the right bytes (regression).
func TestTakeSlicedStringAndBinary(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	for _, dt := range []arrow.DataType{arrow.BinaryTypes.String, arrow.BinaryTypes.Binary} {
		bld := array.NewBuilder(mem, dt)
		for i, v := range []string{"aaaa", "bb", "c", "dd", "eee"} {
			if i == 3 {
				bld.AppendNull()
				continue
			}
			switch b := bld.(type) {
			case *array.StringBuilder:
				b.Append(v)
			case *array.BinaryBuilder:
				b.AppendString(v)
			}
		}
		full := bld.NewArray()
		bld.Release()
		sl := array.NewSlice(full, 2, 5) // "c", NULL, "eee"
		out, err := Take(mem, sl, []int32{2, 0, 1, 0})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"eee", "c", "", "c"}
		for i, w := range want {
			if i == 2 {
				if !out.IsNull(i) {
					t.Errorf("%s row %d: want NULL", dt, i)
				}
				continue
			}
			var got string
			switch a := out.(type) {
			case *array.String:
				got = a.Value(i)
			case *array.Binary:
				got = string(a.Value(i))
			}
			if got != w {
				t.Errorf("%s row %d: got %q, want %q", dt, i, got, w)
			}
		}
		out.Release()
		sl.Release()
		full.Release()
	}
}
