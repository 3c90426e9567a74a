package microbatch_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/sinks"
	memsrc "github.com/sluicehq/sluice/sources/memory"
	"github.com/sluicehq/sluice/trigger"
)

// TestProgressReportsBacklog: an AvailableNow backfill split by a read
// limit reports, per batch, what it read and what is left, in the Go
// progress and its JSON.
func TestProgressReportsBacklog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	src, err := memsrc.NewArrowStreamWith("nums", schema, memsrc.Options{MaxRowsPerTrigger: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for i := 0; i < 3; i++ {
		b := array.NewRecordBuilder(mem, schema)
		b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
		rb := b.NewRecordBatch()
		b.Release()
		if _, err := src.AddBatch(rb); err != nil {
			t.Fatal(err)
		}
		rb.Release()
	}
	s := dataframe.NewSessionWith(dataframe.Config{Allocator: mem})
	ck, err := microbatch.OpenCheckpoint(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var got []*microbatch.Progress
	q, err := microbatch.Start(ctx, microbatch.Config{Plan: s.ReadStream(src).Plan(), Sink: &discardSink{}, Mode: sinks.Append,
		Checkpoint: ck, Mem: mem, Trigger: trigger.AvailableNow(),
		Listeners: []microbatch.Listener{microbatch.ListenerFuncs{Progress: func(e microbatch.ProgressEvent) { got = append(got, e.Progress) }}}})
	if err != nil {
		ck.Close()
		t.Fatal(err)
	}
	if err := q.AwaitTermination(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`"backlog":{"unit":"rows","processed":2,"remaining":4}`,
		`"backlog":{"unit":"rows","processed":2,"remaining":2}`,
		`"backlog":{"unit":"rows","processed":2,"remaining":0}`,
	}
	if len(got) != len(want) {
		t.Fatalf("%d batches, want %d", len(got), len(want))
	}
	for i, p := range got {
		if js := p.JSON(); !strings.Contains(js, want[i]) {
			t.Errorf("batch %d: %s\nwant it to contain %s", i, js, want[i])
		}
		if b := p.Sources[0].Backlog; b == nil || b.Remaining != int64(4-2*i) {
			t.Errorf("batch %d: backlog %+v", i, b)
		}
	}
}
