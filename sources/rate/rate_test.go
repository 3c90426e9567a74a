package rate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/sources"
	"github.com/sluicehq/sluice/trigger"
)

func collect(t *testing.T, s *Source, a, b sources.Offset) (vals, ts []int64) {
	t.Helper()
	rr, err := s.GetBatch(context.Background(), a, b)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	for rr.Next() {
		rb := rr.RecordBatch()
		for i := 0; i < int(rb.NumRows()); i++ {
			vals = append(vals, rb.Column(1).(*array.Int64).Value(i))
			ts = append(ts, int64(rb.Column(0).(*array.Timestamp).Value(i)))
		}
	}
	return
}

func TestRateFollowsClockAndIsDeterministic(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	clock := trigger.NewManualClock(time.UnixMilli(1_000_000))
	s, err := New(Options{RowsPerSecond: 10, NumPartitions: 3, Clock: clock, Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start, _ := s.InitialOffset(ctx)
	if o, _ := s.LatestOffset(ctx, start, sources.ReadLimit{}); string(o) != string(start) {
		t.Fatalf("no time passed, yet offset moved: %s", o)
	}
	clock.Advance(1500 * time.Millisecond)
	end, err := s.LatestOffset(ctx, start, sources.ReadLimit{})
	if err != nil {
		t.Fatal(err)
	}
	vals, ts := collect(t, s, start, end)
	if len(vals) != 15 || vals[0] != 0 || vals[14] != 14 {
		t.Fatalf("values %v", vals)
	}
	if ts[10] != 1_001_000*1000 {
		t.Fatalf("row 10 timestamp %d, want one second after start", ts[10])
	}
	again, _ := collect(t, s, start, end)
	for i := range vals {
		if vals[i] != again[i] {
			t.Fatal("replay differs")
		}
	}
	capped, _ := s.LatestOffset(ctx, start, sources.ReadLimit{MaxRows: 4})
	if v, _ := collect(t, s, start, capped); len(v) != 4 {
		t.Fatalf("limit: %d rows", len(v))
	}
}

func TestRatePerMicroBatch(t *testing.T) {
	s, err := New(Options{RowsPerBatch: 5, StartTimestamp: 1000, AdvanceMillisPerBatch: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	o1, _ := s.LatestOffset(ctx, nil, sources.ReadLimit{})
	o2, _ := s.LatestOffset(ctx, o1, sources.ReadLimit{})
	vals, ts := collect(t, s, o1, o2)
	if len(vals) != 5 || vals[0] != 5 || ts[0] != 1100*1000 {
		t.Fatalf("second batch: vals %v ts %v", vals, ts)
	}
}

func TestRateOptionsValidate(t *testing.T) {
	_, err := New(Options{RowsPerSecond: -1, NumPartitions: -2})
	if err == nil || !strings.Contains(err.Error(), "rowsPerSecond") || !strings.Contains(err.Error(), "numPartitions") {
		t.Fatalf("want both problems reported, got %v", err)
	}
}
