package files

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/sources"
)

// TestBacklog: files a batch read and files left (logged or only listed)
// with their bytes, under maxFilesPerTrigger and an AvailableNow
// snapshot; a fresh source knows only the logged ones.
func TestBacklog(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	w := newWorld(t)
	w.put("/in/a.json", 10, `{"id":1}`)   // 8 bytes
	w.put("/in/b.json", 20, `{"id":22}`)  // 9
	w.put("/in/c.json", 30, `{"id":333}`) // 10
	s := newJSONSource(t, w, Options{MaxFilesPerTrigger: 2, Mem: mem})
	ctx := context.Background()
	if err := s.PrepareForAvailableNow(ctx); err != nil {
		t.Fatal(err)
	}
	w.put("/in/d.json", 40, `{"id":4}`) // after the snapshot: not counted
	type want struct {
		processed, remaining, bytes int64
	}
	check := func(what string, start, end sources.Offset, wt want) {
		t.Helper()
		b, err := s.Backlog(ctx, start, end)
		if err != nil {
			t.Fatal(err)
		}
		if b.Unit != "files" || b.Processed != wt.processed || b.Remaining != wt.remaining || b.RemainingBytes != wt.bytes {
			t.Errorf("%s: %+v, want %+v", what, b, wt)
		}
		if b.Metrics["numFilesOutstanding"] == "" {
			t.Errorf("%s: no numFilesOutstanding in %v", what, b.Metrics)
		}
	}
	e := &engine{t: t, s: s}
	end1, _ := e.step()
	check("first batch", nil, sources.Offset(end1), want{2, 1, 10})
	end2, _ := e.step()
	check("second batch", sources.Offset(end1), sources.Offset(end2), want{1, 0, 0})
	// Seen from the first batch's end, the second batch is logged and left.
	check("logged entry left", nil, sources.Offset(end1), want{2, 1, 10})
	fresh := newJSONSource(t, w, Options{Mem: mem})
	b, err := fresh.Backlog(ctx, nil, sources.Offset(end1))
	if err != nil {
		t.Fatal(err)
	}
	if b.Processed != 2 || b.Remaining != 1 || b.RemainingBytes != 10 {
		t.Errorf("fresh source: %+v, want the logged entry only", b)
	}
	if _, err := s.Backlog(ctx, sources.Offset(`{"logOffset":9}`), nil); err == nil {
		t.Error("an offset past the log was accepted")
	}
}
