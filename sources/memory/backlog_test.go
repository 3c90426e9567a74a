package memory

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/sources"
)

type row struct{ V int64 }

// TestBacklog: rows read by a batch and left after it, also under an
// AvailableNow snapshot and after a commit dropped earlier additions.
func TestBacklog(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := NewStream[row](alloc{mem})
	defer s.Close()
	ctx := context.Background()
	off := func(n int) sources.Offset {
		if n < 0 {
			return nil
		}
		return format(int64(n))
	}
	add := func(n int) {
		rows := make([]row, n)
		if _, err := s.AddData(rows...); err != nil {
			t.Fatal(err)
		}
	}
	add(2) // offset 0
	add(3) // offset 1
	add(5) // offset 2
	cases := []struct {
		name                 string
		start, end           int
		processed, remaining int64
	}{
		{"first batch", -1, 0, 2, 8},
		{"middle", 0, 1, 3, 5},
		{"all", -1, 2, 10, 0},
		{"empty batch", 2, 2, 0, 0},
	}
	for _, c := range cases {
		b, err := s.Backlog(ctx, off(c.start), off(c.end))
		if err != nil {
			t.Fatal(err)
		}
		if b.Unit != "rows" || b.Processed != c.processed || b.Remaining != c.remaining {
			t.Errorf("%s: got %+v, want processed %d remaining %d", c.name, b, c.processed, c.remaining)
		}
	}
	if err := s.PrepareForAvailableNow(ctx); err != nil {
		t.Fatal(err)
	}
	add(7) // offset 3: after the snapshot, not counted
	if err := s.Commit(ctx, off(0)); err != nil {
		t.Fatal(err)
	}
	b, err := s.Backlog(ctx, off(0), off(1))
	if err != nil {
		t.Fatal(err)
	}
	if b.Processed != 3 || b.Remaining != 5 {
		t.Errorf("after snapshot and commit: %+v, want processed 3 remaining 5", b)
	}
	if _, err := s.Backlog(ctx, sources.Offset(`{"x":1}`), off(1)); err == nil {
		t.Error("a foreign offset was accepted")
	}
}
