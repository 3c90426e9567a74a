package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/devkafka"
	"github.com/sluicehq/sluice/sources"
)

// txnProduce writes values in one transaction, committed or aborted.
func txnProduce(t testing.TB, b *devkafka.Broker, id string, commit bool, topic string, values ...string) {
	t.Helper()
	ctx := context.Background()
	cl, err := b.Client(kgo.TransactionalID(id), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatal(err)
	}
}

// TestReadCommitted: aborted records and transaction markers are skipped,
// batch ends that point past them are reached without waiting, and open
// transactions hold back the end offset.
func TestReadCommitted(t *testing.T) {
	b := startBroker(t, 1, "t")
	txnProduce(t, b, "w1", true, "t", "c1", "c2")  // offsets 0,1 + marker 2
	txnProduce(t, b, "w1", false, "t", "a1", "a2") // offsets 3,4 + marker 5
	txnProduce(t, b, "w1", true, "t", "c3")        // offset 6 + marker 7
	txnProduce(t, b, "w1", false, "t", "a3", "a4") // 8,9 + marker 10: the batch ends after an abort
	ctx := context.Background()
	mem := checkedMem(t)
	s := newSource(t, Options{BootstrapServers: b.Addr(), Subscribe: "t", StartingOffsets: "earliest", PollTimeoutMs: 5000, Mem: mem})
	start, _ := s.InitialOffset(ctx)
	t0 := time.Now()
	end, got := batch(t, s, start, sources.ReadLimit{})
	if want := []string{"t/0/0=c1", "t/0/1=c2", "t/0/6=c3"}; !slices.Equal(got, want) {
		t.Fatalf("read_committed: %v, want %v", got, want)
	}
	if string(end) != `{"t":{"0":11}}` {
		t.Fatalf("end %s", end)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Fatalf("reading up to a marker took %s", d)
	}
	// Every split of the range reads the same records, including ends
	// inside aborted runs and on markers.
	for cut := int64(1); cut < 11; cut++ {
		mid := offsets{{"t", 0}: cut}.encode()
		rr1, err := s.GetBatch(ctx, start, mid)
		if err != nil {
			t.Fatal(err)
		}
		rr2, err := s.GetBatch(ctx, mid, end)
		if err != nil {
			t.Fatal(err)
		}
		both := append(rows(t, rr1), rows(t, rr2)...)
		slices.Sort(both)
		if !slices.Equal(both, got) {
			t.Fatalf("split at %d: %v", cut, both)
		}
	}
	// An open transaction holds the end back (last stable offset).
	open, err := b.Client(kgo.TransactionalID("w2"))
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	if err := open.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := open.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("pending")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	produce(t, producer(t, b), "t", 0, "plain") // after the open transaction
	if again, _ := batch(t, s, end, sources.ReadLimit{}); string(again) != string(end) {
		t.Fatalf("moved past an open transaction: %s", again)
	}
	if err := open.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	if _, got := batch(t, s, end, sources.ReadLimit{}); !slices.Equal(got, []string{"t/0/11=pending", "t/0/12=plain"}) {
		t.Fatalf("after commit: %v", got)
	}
	// read_uncommitted sees the aborted records too.
	ru := newSource(t, Options{BootstrapServers: b.Addr(), Subscribe: "t", IsolationLevel: "read_uncommitted", Mem: mem})
	rr, err := ru.GetBatch(ctx, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if got := rows(t, rr); len(got) != 7 {
		t.Fatalf("read_uncommitted: %v", got)
	}
}

func TestDataLoss(t *testing.T) {
	b := startBroker(t, 1, "t")
	cl := producer(t, b)
	var vs []string
	for i := 0; i < 10; i++ {
		vs = append(vs, fmt.Sprint(i))
	}
	produce(t, cl, "t", 0, vs...)
	ctx := context.Background()
	mem := checkedMem(t)
	s := newSource(t, Options{BootstrapServers: b.Addr(), Subscribe: "t", StartingOffsets: "earliest", Mem: mem})
	start, _ := s.InitialOffset(ctx)
	end, err := s.LatestOffset(ctx, start, sources.ReadLimit{MaxRows: 8})
	if err != nil {
		t.Fatal(err)
	}
	// Retention deletes offsets 0..5 before the batch is read.
	adm := kadm.NewClient(cl)
	if _, err := adm.DeleteRecords(ctx, kadm.Offsets{"t": {0: {Topic: "t", Partition: 0, At: 6}}}); err != nil {
		t.Fatal(err)
	}
	rr, err := s.GetBatch(ctx, start, end)
	if err == nil {
		for rr.Next() {
		}
		err = rr.Err()
		rr.Release()
	}
	if !errors.Is(err, ErrDataLoss) || !strings.Contains(err.Error(), "t-0: offsets 0..5 were deleted") || !strings.Contains(err.Error(), "failOnDataLoss") {
		t.Fatalf("want data loss naming t-0 0..5, got %v", err)
	}
	f := false
	skip := newSource(t, Options{BootstrapServers: b.Addr(), Subscribe: "t", FailOnDataLoss: &f, Mem: mem})
	rr, err = skip.GetBatch(ctx, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if got := rows(t, rr); !slices.Equal(got, []string{"t/0/6=6", "t/0/7=7"}) {
		t.Fatalf("failOnDataLoss=false: %v", got)
	}
	// A deleted topic is data loss too.
	if _, err := adm.DeleteTopics(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "topic deletion", func() bool {
		ps, err := s.partitions(ctx)
		return err == nil && len(ps) == 0
	})
	if _, err := s.LatestOffset(ctx, end, sources.ReadLimit{}); !errors.Is(err, ErrDataLoss) || !strings.Contains(err.Error(), "t-0 is gone") {
		t.Fatalf("deleted topic: %v", err)
	}
	if off, err := skip.LatestOffset(ctx, end, sources.ReadLimit{}); err != nil || string(off) != "{}" {
		t.Fatalf("deleted topic, failOnDataLoss=false: %s %v", off, err)
	}
}

// TestBrokerRestart: a broker with a data dir restarts mid-stream; the
// source carries on from its offsets.
func TestBrokerRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	b, err := devkafka.Start(ctx, devkafka.Config{DataDir: dir, Topics: []string{"t"}})
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	cl, _ := b.Client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produce(t, cl, "t", 0, "a", "b")
	cl.Close()
	mem := checkedMem(t)
	s := newSource(t, Options{BootstrapServers: addr, Subscribe: "t", StartingOffsets: "earliest", Mem: mem})
	start, _ := s.InitialOffset(ctx)
	end, got := batch(t, s, start, sources.ReadLimit{})
	if len(got) != 2 {
		t.Fatalf("before restart: %v", got)
	}
	b.Close()
	b2, err := devkafka.Start(ctx, devkafka.Config{DataDir: dir, Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	cl2, _ := b2.Client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	defer cl2.Close()
	produce(t, cl2, "t", 0, "c")
	_, got = batch(t, s, end, sources.ReadLimit{})
	if !slices.Equal(got, []string{"t/0/2=c"}) {
		t.Fatalf("after restart: %v", got)
	}
}
