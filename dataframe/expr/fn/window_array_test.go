package fn

import (
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// windowArray lists each row's sliding windows (those that contain it),
// a NULL list for a NULL time, and reads sliced input at its offset.
func TestWindowArray(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const sec = int64(1_000_000)
	b := array.NewTimestampBuilder(mem, expr.Timestamp)
	defer b.Release()
	b.Append(99 * arrow.Timestamp(sec)) // sliced away
	for _, v := range []int64{0, 5 * sec, -1, 12 * sec, -3 * sec} {
		if v == -1 {
			b.AppendNull()
			continue
		}
		b.Append(arrow.Timestamp(v))
	}
	full := b.NewArray()
	defer full.Release()
	ts := array.NewSlice(full, 1, 6)
	defer ts.Release()

	tests := []struct {
		spec WindowSpec
		want string
	}{
		{WindowSpec{Size: 10 * sec, Slide: 5 * sec}, "[-5,5 0,10] [0,10 5,15] NULL [5,15 10,20] [-10,0 -5,5]"},
		{WindowSpec{Size: 10 * sec, Slide: 10 * sec}, "[0,10] [0,10] NULL [10,20] [-10,0]"},
		{WindowSpec{Size: 10 * sec, Slide: 4 * sec, Start: 1 * sec}, "[-7,3 -3,7] [-3,7 1,11 5,15] NULL [5,15 9,19] [-11,-1 -7,3 -3,7]"},
	}
	for _, tt := range tests {
		got, err := windowArray(mem, ts, tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		l := got.(*array.List)
		st := l.ListValues().(*array.Struct)
		starts, ends := st.Field(0).(*array.Timestamp), st.Field(1).(*array.Timestamp)
		var rows []string
		for i := 0; i < l.Len(); i++ {
			if l.IsNull(i) {
				rows = append(rows, "NULL")
				continue
			}
			lo, hi := l.ValueOffsets(i)
			var ws []string
			for j := lo; j < hi; j++ {
				ws = append(ws, fmt.Sprintf("%d,%d", int64(starts.Value(int(j)))/sec, int64(ends.Value(int(j)))/sec))
			}
			rows = append(rows, "["+strings.Join(ws, " ")+"]")
		}
		if s := strings.Join(rows, " "); s != tt.want {
			t.Errorf("%+v: got %s, want %s", tt.spec, s, tt.want)
		}
		got.Release()
	}
	empty := array.NewSlice(full, 0, 0)
	defer empty.Release()
	got, err := windowArray(mem, empty, tests[0].spec)
	if err != nil || got.Len() != 0 {
		t.Fatalf("empty input: %v %v", got, err)
	}
	got.Release()
}
