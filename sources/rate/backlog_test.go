package rate

import (
	"context"
	"testing"
	"time"

	"github.com/sluicehq/sluice/sources"
	"github.com/sluicehq/sluice/trigger"
)

// TestBacklog: rows a rate source is behind its clock after a capped
// batch; none in rate-micro-batch mode.
func TestBacklog(t *testing.T) {
	clock := trigger.NewManualClock(time.UnixMilli(1_000_000))
	s, err := New(Options{RowsPerSecond: 100, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start, _ := s.InitialOffset(ctx)
	clock.Advance(2 * time.Second) // 200 rows due
	end, err := s.LatestOffset(ctx, start, sources.ReadLimit{MaxRows: 50})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Backlog(ctx, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if b.Unit != "rows" || b.Processed != 50 || b.Remaining != 150 {
		t.Fatalf("rate: %+v, want 50 processed, 150 remaining", b)
	}
	mb, err := New(Options{RowsPerBatch: 10, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	end, _ = mb.LatestOffset(ctx, nil, sources.ReadLimit{})
	if b, err = mb.Backlog(ctx, nil, end); err != nil || b.Processed != 10 || b.Remaining != 0 {
		t.Fatalf("rate-micro-batch: %+v %v, want 10 processed, none remaining", b, err)
	}
	if _, err := s.Backlog(ctx, sources.Offset("nope"), end); err == nil {
		t.Fatal("a bad offset was accepted")
	}
}
