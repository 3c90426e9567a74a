package dataframe

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/sinks/console"
	memsrc "github.com/sluicehq/sluice/sources/memory"
	"github.com/sluicehq/sluice/sources/rate"
	"github.com/sluicehq/sluice/trigger"
)

type ev struct {
	ID   int64
	Kind string
}

// The memory sink is a table other queries read while the stream runs;
// batch actions on a streaming DataFrame are refused with the reason.
func TestMemorySinkIsQueryableAsTable(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	s := NewSessionWith(Config{Allocator: mem})
	in := memsrc.NewStream[ev](s)
	defer in.Close()
	stream := s.ReadStream(in).Filter("kind = 'a'")
	if _, err := stream.Count(); !errors.Is(err, ErrStreaming) {
		t.Fatalf("Count on a stream: %v", err)
	}
	q, err := stream.WriteStream().Format("memory").QueryName("as").Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	in.AddData(ev{1, "a"}, ev{2, "b"})
	if err := q.ProcessAllAvailable(ctx); err != nil {
		t.Fatal(err)
	}
	in.AddData(ev{3, "a"})
	if err := q.ProcessAllAvailable(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := s.Table("as").Count()
	if err != nil || n != 2 {
		t.Fatalf("table rows %d, %v", n, err)
	}
	got, err := s.Table("as").Agg(Sum("id").As("s")).Rows()
	if err != nil || got[0][0] != int64(4) {
		t.Fatalf("sum %v %v", got, err)
	}
	if got := len(s.Streams().Active()); got != 1 {
		t.Fatalf("active queries %d", got)
	}
	if s.Streams().Get(q.ID()) == nil {
		t.Fatal("Get by id")
	}
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Streams().AwaitAnyTermination(ctx); err != nil {
		t.Fatal(err)
	}
	if q.IsActive() {
		t.Fatal("still active after Stop")
	}
	if n, err := s.Table("as").Count(); err != nil || n != 2 {
		t.Fatalf("table after stop: %d %v", n, err)
	}
	if !s.DropTempView("as") {
		t.Fatal("DropTempView")
	}
}

// Console prints each batch under a banner; a rate-micro-batch source is
// deterministic, so the output is exact. With ProcessingTime(1h) on a manual
// clock exactly one batch runs.
func TestConsoleSinkAndRateSource(t *testing.T) {
	ctx := context.Background()
	s := NewSession()
	src, err := rate.New(rate.Options{RowsPerBatch: 3})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	q, err := s.ReadStream(src).Select("value").WriteStream().Sink(consoleTo(&out)).
		Option("checkpointLocation", t.TempDir()).Trigger(trigger.ProcessingTime(time.Hour)).
		Clock(trigger.NewManualClock(time.Unix(0, 0))).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for q.LastProgress() == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	want := "-------------------------------------------\nBatch: 0\n-------------------------------------------\n+-----+\n|value|\n+-----+\n|    0|\n|    1|\n|    2|\n+-----+\n\n"
	if out.String() != want {
		t.Fatalf("console output:\n%q\nwant\n%q", out.String(), want)
	}
}

func consoleTo(w *strings.Builder) *console.Sink { return console.New(console.Options{Out: w}) }
