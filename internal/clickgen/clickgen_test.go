package clickgen

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The peers' README gives the answer for one million events.
func TestExpectedMatchesPeers(t *testing.T) {
	g, tot, _ := Expected(1_000_000)
	if g != 293218 || tot != 334087 {
		t.Fatalf("Expected(1M) = groups %d total %d, want 293218 334087", g, tot)
	}
}

func TestBatches(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	bs := Batches(mem, 1000, 300)
	var rows int64
	for _, b := range bs {
		rows += b.NumRows()
		b.Release()
	}
	if len(bs) != 4 || rows != 1000 {
		t.Fatalf("got %d batches, %d rows", len(bs), rows)
	}
}
