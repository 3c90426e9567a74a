package memory

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/sources"
)

type alloc struct{ m memory.Allocator }

func (a alloc) Allocator() memory.Allocator { return a.m }

type click struct {
	UserID    string
	EventType string
	TS        time.Time `sluice:"ts"`
	Amount    *int64
}

func TestTypedStreamOffsetsAndCommit(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := NewStream[click](alloc{mem})
	defer s.Close()
	if got := s.Schema().String(); !strings.Contains(got, "user_id: type=utf8") || !strings.Contains(got, "ts: type=timestamp[us, tz=UTC]") || !strings.Contains(got, "amount: type=int64, nullable") {
		t.Fatalf("schema %s", got)
	}
	ctx := context.Background()
	n := int64(3)
	if _, err := s.AddData(click{UserID: "a", EventType: "view", TS: time.Unix(1, 0), Amount: &n}, click{UserID: "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddData(click{UserID: "c"}); err != nil {
		t.Fatal(err)
	}
	end, _ := s.LatestOffset(ctx, nil, sources.ReadLimit{})
	if string(end) != `{"offset":1}` {
		t.Fatalf("latest %s", end)
	}
	one, _ := s.LatestOffset(ctx, nil, sources.ReadLimit{MaxRows: 2})
	if string(one) != `{"offset":0}` {
		t.Fatalf("limited %s", one)
	}
	rr, err := s.GetBatch(ctx, one, end)
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for rr.Next() {
		rows += int(rr.RecordBatch().NumRows())
	}
	rr.Release()
	if rows != 1 {
		t.Fatalf("rows %d", rows)
	}
	if err := s.Commit(ctx, one); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetBatch(ctx, nil, end); err == nil {
		t.Fatal("reading committed-and-dropped data must fail")
	}
}
