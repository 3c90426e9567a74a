package kafka

import (
	"context"
	"testing"

	"github.com/sluicehq/sluice/sources"
)

// TestBacklog: offsets a batch read and left behind, per Spark's
// OffsetsBehindLatest metrics, with a read limit and under an AvailableNow
// snapshot; a fresh source (a replayed batch) asks Kafka itself.
func TestBacklog(t *testing.T) {
	b := startBroker(t, 2, "t")
	cl := producer(t, b)
	produce(t, cl, "t", 0, "a", "b", "c", "d", "e", "f")
	produce(t, cl, "t", 1, "g", "h")
	ctx := context.Background()
	mem := checkedMem(t)
	s := newSource(t, Options{BootstrapServers: b.Addr(), Subscribe: "t", StartingOffsets: "earliest", MaxOffsetsPerTrigger: 4, Mem: mem})
	check := func(what string, got sources.Backlog, processed, remaining int64, lo, hi, avg string) {
		t.Helper()
		if got.Unit != "offsets" || got.Processed != processed || got.Remaining != remaining {
			t.Errorf("%s: %+v, want %d processed, %d remaining", what, got, processed, remaining)
		}
		m := got.Metrics
		if m["minOffsetsBehindLatest"] != lo || m["maxOffsetsBehindLatest"] != hi || m["avgOffsetsBehindLatest"] != avg {
			t.Errorf("%s: metrics %v, want min %s max %s avg %s", what, m, lo, hi, avg)
		}
	}
	// No start: the first batch from the earliest offsets, 4 of 8.
	end, err := s.LatestOffset(ctx, nil, s.DefaultReadLimit())
	if err != nil {
		t.Fatal(err)
	}
	if string(end) != `{"t":{"0":3,"1":1}}` {
		t.Fatalf("end %s", end)
	}
	bl, err := s.Backlog(ctx, nil, end)
	if err != nil {
		t.Fatal(err)
	}
	check("first batch", bl, 4, 4, "1", "3", "2.0")
	if err := s.PrepareForAvailableNow(ctx); err != nil {
		t.Fatal(err)
	}
	produce(t, cl, "t", 1, "late") // after the snapshot: not counted
	end2, err := s.LatestOffset(ctx, end, s.DefaultReadLimit())
	if err != nil {
		t.Fatal(err)
	}
	if bl, err = s.Backlog(ctx, end, end2); err != nil {
		t.Fatal(err)
	}
	check("second batch", bl, 4, 0, "0", "0", "0.0")
	// A fresh source has listed nothing: it asks Kafka (no snapshot, so
	// the late record counts).
	s2 := newSource(t, Options{BootstrapServers: b.Addr(), Subscribe: "t", Mem: mem})
	if bl, err = s2.Backlog(ctx, end, end2); err != nil {
		t.Fatal(err)
	}
	check("replay", bl, 4, 1, "0", "1", "0.5")
	if _, err := s2.Backlog(ctx, sources.Offset("[1]"), end2); err == nil {
		t.Error("a bad offset was accepted")
	}
}
