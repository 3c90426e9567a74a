package kafka

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/sluicehq/sluice/sources"
)

func TestStreamBatches(t *testing.T) {
	b := startBroker(t, 2, "clicks")
	cl := producer(t, b)
	produce(t, cl, "clicks", 0, "a", "b")
	produce(t, cl, "clicks", 1, "c")
	mem := checkedMem(t)
	s := newSource(t, Options{BootstrapServers: b.Addr(), Subscribe: "clicks", StartingOffsets: "earliest", Mem: mem})
	ctx := context.Background()
	start, err := s.InitialOffset(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(start), `{"clicks":{"0":0,"1":0}}`; got != want {
		t.Fatalf("initial offset %s, want %s", got, want)
	}
	end, got := batch(t, s, start, sources.ReadLimit{})
	if want := []string{"clicks/0/0=a", "clicks/0/1=b", "clicks/1/0=c"}; !slices.Equal(got, want) {
		t.Fatalf("batch 0: %v, want %v", got, want)
	}
	if string(end) != `{"clicks":{"0":2,"1":1}}` {
		t.Fatalf("end %s", end)
	}
	// No new data: the same offset comes back.
	if again, _ := batch(t, s, end, sources.ReadLimit{}); string(again) != string(end) {
		t.Fatalf("no data moved the offset to %s", again)
	}
	produce(t, cl, "clicks", 1, "d")
	end2, got := batch(t, s, end, sources.ReadLimit{})
	if want := []string{"clicks/1/1=d"}; !slices.Equal(got, want) {
		t.Fatalf("batch 1: %v", got)
	}
	// Replay of a logged batch from a fresh source reads the same rows.
	s2 := newSource(t, Options{BootstrapServers: b.Addr(), Subscribe: "clicks", Mem: mem})
	rr, err := s2.GetBatch(ctx, start, end2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rows(t, rr), []string{"clicks/0/0=a", "clicks/0/1=b", "clicks/1/0=c", "clicks/1/1=d"}; !slices.Equal(got, want) {
		t.Fatalf("replay: %v", got)
	}
	_ = errors.New
}
