package dataframe

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	memsrc "github.com/sluicehq/sluice/sources/memory"
	"github.com/sluicehq/sluice/trigger"
)

type paaRow struct{ V int64 }

// ProcessAllAvailable under a long ProcessingTime interval on a manual
// clock: each call must return once its data is processed. It used to poke
// the loop before taking the change channel, so a batch that finished in
// between went unnoticed and the call waited for the next interval
// (forever on a manual clock).
func TestProcessAllAvailableLongInterval(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := NewSessionWith(Config{Allocator: mem})
	src := memsrc.NewStream[paaRow](s)
	defer src.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	clock := trigger.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	q, err := s.ReadStream(src).WriteStream().Format("memory").QueryName("paa").
		Trigger(trigger.ProcessingTime(time.Hour)).Clock(clock).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.DropTempView("paa")
	defer q.Stop(context.Background())
	n := 300
	if testing.Short() {
		n = 100
	}
	for i := 0; i < n; i++ {
		if _, err := src.AddData(paaRow{V: int64(i)}); err != nil {
			t.Fatal(err)
		}
		if err := q.ProcessAllAvailable(ctx); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	got, err := s.Table("paa").Count()
	if err != nil {
		t.Fatal(err)
	}
	if got != int64(n) {
		t.Fatalf("memory table has %d rows, want %d", got, n)
	}
}
