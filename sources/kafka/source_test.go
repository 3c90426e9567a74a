package kafka

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/sources"
	"github.com/sluicehq/sluice/trigger"
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
}

func TestStartingOffsets(t *testing.T) {
	b := startBroker(t, 2, "t")
	cl := producer(t, b)
	produce(t, cl, "t", 0, "a", "b", "c")
	produce(t, cl, "t", 1, "d")
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		o    Options
		want string // initial offset, or error text
	}{
		{"default latest", Options{}, `{"t":{"0":3,"1":1}}`},
		{"earliest", Options{StartingOffsets: "earliest"}, `{"t":{"0":0,"1":0}}`},
		{"latest", Options{StartingOffsets: "latest"}, `{"t":{"0":3,"1":1}}`},
		{"json", Options{StartingOffsets: `{"t":{"0":1,"1":-2}}`}, `{"t":{"0":1,"1":0}}`},
		{"json latest", Options{StartingOffsets: `{"t":{"0":-1,"1":0}}`}, `{"t":{"0":3,"1":0}}`},
		{"json missing partition", Options{StartingOffsets: `{"t":{"0":1}}`}, "missing: t-1"},
		{"json unknown partition", Options{StartingOffsets: `{"t":{"0":1,"1":0,"7":0}}`}, "not found in Kafka: t-7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.BootstrapServers, tc.o.Subscribe = b.Addr(), "t"
			s := newSource(t, tc.o)
			got, err := s.InitialOffset(ctx)
			if strings.HasPrefix(tc.want, "{") {
				if err != nil || string(got) != tc.want {
					t.Fatalf("got %s, %v; want %s", got, err, tc.want)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %s, %v; want error %q", got, err, tc.want)
			}
		})
	}
}

func TestStartingTimestamps(t *testing.T) {
	b := startBroker(t, 2, "t")
	cl := producer(t, b)
	ctx := context.Background()
	for i, ts := range []int64{1000, 2000, 3000} {
		r := &kgo.Record{Topic: "t", Partition: 0, Value: []byte{byte('a' + i)}, Timestamp: time.UnixMilli(ts)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	r := &kgo.Record{Topic: "t", Partition: 1, Value: []byte("z"), Timestamp: time.UnixMilli(500)}
	if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
		t.Fatal(err)
	}
	ts := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"startingTimestamp", Options{StartingTimestamp: ts(1500), StartingOffsetsByTimestampStrategy: "latest"}, `{"t":{"0":1,"1":1}}`},
		{"no record after: error", Options{StartingTimestamp: ts(1500)}, "t-1 has no record at or after timestamp 1500"},
		{"per partition", Options{StartingOffsetsByTimestamp: `{"t":{"0":2500,"1":0}}`}, `{"t":{"0":2,"1":0}}`},
		{"timestamp wins over offsets", Options{StartingOffsets: "earliest", StartingTimestamp: ts(3000), StartingOffsetsByTimestampStrategy: "latest"}, `{"t":{"0":2,"1":1}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.BootstrapServers, tc.o.Subscribe = b.Addr(), "t"
			s := newSource(t, tc.o)
			got, err := s.InitialOffset(ctx)
			if strings.HasPrefix(tc.want, "{") {
				if err != nil || string(got) != tc.want {
					t.Fatalf("got %s, %v; want %s", got, err, tc.want)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %s, %v; want error %q", got, err, tc.want)
			}
		})
	}
	// The record timestamps come through as microseconds, CreateTime (0).
	mem := checkedMem(t)
	rr, err := Read(ctx, Options{BootstrapServers: b.Addr(), Assign: `{"t":[0]}`, EndingTimestamp: ts(3000), Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	n := 0
	for rr.Next() {
		rec := rr.RecordBatch()
		tsc := rec.Column(colTimestamp).(*array.Timestamp)
		tt := rec.Column(colTimestampType).(*array.Int32)
		for i := 0; i < int(rec.NumRows()); i++ {
			if int64(tsc.Value(i)) != int64(1000*(n+1))*1000 || tt.Value(i) != 0 {
				t.Fatalf("row %d: timestamp %d type %d", n, tsc.Value(i), tt.Value(i))
			}
			n++
		}
	}
	if rr.Err() != nil || n != 2 {
		t.Fatalf("endingTimestamp read %d rows, %v; want 2", n, rr.Err())
	}
	// endingOffsetsByTimestamp: per partition, before the first record at
	// or after the timestamp (t-1's only record is at 500: nothing of it).
	rr2, err := Read(ctx, Options{BootstrapServers: b.Addr(), Subscribe: "t", EndingOffsetsByTimestamp: `{"t":{"0":2500,"1":500}}`, Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	if got := rows(t, rr2); !slices.Equal(got, []string{"t/0/0=a", "t/0/1=b"}) {
		t.Fatalf("endingOffsetsByTimestamp read %v", got)
	}
	// A timestamp past the last record ends at the partition's end.
	rr3, err := Read(ctx, Options{BootstrapServers: b.Addr(), Subscribe: "t", EndingOffsetsByTimestamp: `{"t":{"0":9999,"1":9999}}`, Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	if got := rows(t, rr3); len(got) != 4 {
		t.Fatalf("endingOffsetsByTimestamp past the end read %v", got)
	}
}

func TestBatchRead(t *testing.T) {
	b := startBroker(t, 2, "t")
	cl := producer(t, b)
	produce(t, cl, "t", 0, "a", "b", "c")
	produce(t, cl, "t", 1, "d", "e")
	ctx := context.Background()
	mem := checkedMem(t)
	read := func(o Options) ([]string, error) {
		o.BootstrapServers, o.Subscribe, o.Mem = b.Addr(), "t", mem
		rr, err := Read(ctx, o)
		if err != nil {
			return nil, err
		}
		return rows(t, rr), nil
	}
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"everything", Options{}, "t/0/0=a t/0/1=b t/0/2=c t/1/0=d t/1/1=e"},
		{"json range", Options{StartingOffsets: `{"t":{"0":1,"1":-2}}`, EndingOffsets: `{"t":{"0":2,"1":-1}}`}, "t/0/1=b t/1/0=d t/1/1=e"},
		{"empty range", Options{StartingOffsets: `{"t":{"0":3,"1":2}}`}, ""},
		{"latest start", Options{StartingOffsets: "latest"}, "error: not allowed in a batch read"},
		{"earliest end", Options{EndingOffsets: "earliest"}, "error: not allowed in a batch read"},
		{"end past the log", Options{EndingOffsets: `{"t":{"0":9,"1":-1}}`}, "error: the partition ends at 3"},
		{"end before start", Options{StartingOffsets: `{"t":{"0":2,"1":0}}`, EndingOffsets: `{"t":{"0":1,"1":-1}}`}, "error: is before startingOffsets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := read(tc.o)
			if want, ok := strings.CutPrefix(tc.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("got %v, %v; want error %q", got, err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("got %v, want %s", got, tc.want)
			}
		})
	}
}

// TestBatchAndStreamAgree reads the same log in one batch read and in many
// small stream batches.
func TestBatchAndStreamAgree(t *testing.T) {
	b := startBroker(t, 3, "t")
	cl := producer(t, b)
	for p := int32(0); p < 3; p++ {
		var vs []string
		for i := 0; i < 50+int(p)*20; i++ {
			vs = append(vs, fmt.Sprintf("p%d-%d", p, i))
		}
		produce(t, cl, "t", p, vs...)
	}
	ctx := context.Background()
	mem := checkedMem(t)
	rr, err := Read(ctx, Options{BootstrapServers: b.Addr(), Subscribe: "t", Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	all := rows(t, rr)
	s := newSource(t, Options{BootstrapServers: b.Addr(), Subscribe: "t", StartingOffsets: "earliest", MaxOffsetsPerTrigger: 17, Mem: mem})
	start, err := s.InitialOffset(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var streamed []string
	batches := 0
	for {
		end, got := batch(t, s, start, s.DefaultReadLimit())
		if string(end) == string(start) {
			break
		}
		if n, ok := s.RowsBetween(start, end); !ok || n != int64(len(got)) || n > 17+2 {
			t.Fatalf("batch %d: RowsBetween %d %v, rows %d", batches, n, ok, len(got))
		}
		streamed = append(streamed, got...)
		start = end
		batches++
	}
	sort.Strings(streamed)
	if len(all) != 210 || !slices.Equal(all, streamed) {
		t.Fatalf("batch read %d rows, stream %d rows in %d batches", len(all), len(streamed), batches)
	}
	if batches < 210/19 {
		t.Fatalf("maxOffsetsPerTrigger=17 made only %d batches", batches)
	}
}

func TestNewPartitionsAndTopics(t *testing.T) {
	b := startBroker(t, 1, "clicks-a", "other")
	cl := producer(t, b)
	produce(t, cl, "clicks-a", 0, "a0")
	produce(t, cl, "other", 0, "x")
	ctx := context.Background()
	mem := checkedMem(t)
	s := newSource(t, Options{BootstrapServers: b.Addr(), SubscribePattern: "clicks-.*", StartingOffsets: "earliest", Mem: mem})
	start, err := s.InitialOffset(ctx)
	if err != nil {
		t.Fatal(err)
	}
	end, got := batch(t, s, start, sources.ReadLimit{})
	if !slices.Equal(got, []string{"clicks-a/0/0=a0"}) {
		t.Fatalf("batch 0: %v", got)
	}
	// A new partition and a new matching topic: both start at earliest.
	adm := kadm.NewClient(cl)
	if _, err := adm.CreatePartitions(ctx, 1, "clicks-a"); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateTopics(ctx, 1, "clicks-b"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "metadata", func() bool {
		ps, err := s.partitions(ctx)
		return err == nil && len(ps) == 3
	})
	cl = producer(t, b) // knows the new partitions
	produce(t, cl, "clicks-a", 1, "a1")
	produce(t, cl, "clicks-b", 0, "b0")
	produce(t, cl, "other", 0, "y")
	end2, got := batch(t, s, end, sources.ReadLimit{})
	if want := []string{"clicks-a/1/0=a1", "clicks-b/0/0=b0"}; !slices.Equal(got, want) {
		t.Fatalf("batch 1: %v, want %v", got, want)
	}
	if want := `{"clicks-a":{"0":1,"1":1},"clicks-b":{"0":1}}`; string(end2) != want {
		t.Fatalf("end %s, want %s", end2, want)
	}
}

func TestAssign(t *testing.T) {
	b := startBroker(t, 3, "t")
	cl := producer(t, b)
	for p := int32(0); p < 3; p++ {
		produce(t, cl, "t", p, fmt.Sprint("v", p))
	}
	mem := checkedMem(t)
	s := newSource(t, Options{BootstrapServers: b.Addr(), Assign: `{"t":[2,0]}`, StartingOffsets: "earliest", Mem: mem})
	start, err := s.InitialOffset(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, got := batch(t, s, start, sources.ReadLimit{}); !slices.Equal(got, []string{"t/0/0=v0", "t/2/0=v2"}) {
		t.Fatalf("assign read %v", got)
	}
}

func TestMinOffsetsPerTrigger(t *testing.T) {
	b := startBroker(t, 1, "t")
	cl := producer(t, b)
	clock := trigger.NewManualClock(time.UnixMilli(1_000_000))
	mem := checkedMem(t)
	s := newSource(t, Options{BootstrapServers: b.Addr(), Subscribe: "t", StartingOffsets: "earliest",
		MinOffsetsPerTrigger: 3, MaxTriggerDelay: time.Minute, Clock: clock, Mem: mem})
	ctx := context.Background()
	start, _ := s.InitialOffset(ctx)
	// The first trigger always runs (Spark: the delay counts from the last batch).
	produce(t, cl, "t", 0, "a")
	end, got := batch(t, s, start, sources.ReadLimit{})
	if len(got) != 1 {
		t.Fatalf("first trigger: %v", got)
	}
	produce(t, cl, "t", 0, "b")
	if again, _ := batch(t, s, end, sources.ReadLimit{}); string(again) != string(end) {
		t.Fatal("one waiting offset should not trigger a batch yet")
	}
	produce(t, cl, "t", 0, "c", "d")
	end2, got := batch(t, s, end, sources.ReadLimit{})
	if len(got) != 3 {
		t.Fatalf("three waiting offsets: %v", got)
	}
	produce(t, cl, "t", 0, "e")
	if again, _ := batch(t, s, end2, sources.ReadLimit{}); string(again) != string(end2) {
		t.Fatal("delayed batch ran early")
	}
	clock.Advance(time.Minute)
	if _, got := batch(t, s, end2, sources.ReadLimit{}); len(got) != 1 {
		t.Fatalf("after maxTriggerDelay: %v", got)
	}
}

func TestAvailableNow(t *testing.T) {
	b := startBroker(t, 2, "t")
	cl := producer(t, b)
	for i := 0; i < 10; i++ {
		produce(t, cl, "t", int32(i%2), fmt.Sprint(i))
	}
	ctx := context.Background()
	mem := checkedMem(t)
	s := newSource(t, Options{BootstrapServers: b.Addr(), Subscribe: "t", StartingOffsets: "earliest", MaxOffsetsPerTrigger: 4, Mem: mem})
	start, _ := s.InitialOffset(ctx)
	if err := s.PrepareForAvailableNow(ctx); err != nil {
		t.Fatal(err)
	}
	produce(t, cl, "t", 0, "late") // after the snapshot: not read
	var all []string
	batches := 0
	for {
		end, got := batch(t, s, start, s.DefaultReadLimit())
		if string(end) == string(start) {
			break
		}
		if len(got) > 4 {
			t.Fatalf("batch of %d rows over the limit", len(got))
		}
		all = append(all, got...)
		start = end
		batches++
	}
	if len(all) != 10 || batches != 3 || slices.ContainsFunc(all, func(s string) bool { return strings.HasSuffix(s, "late") }) {
		t.Fatalf("AvailableNow read %d rows in %d batches: %v", len(all), batches, all)
	}
}

func TestHeaders(t *testing.T) {
	b := startBroker(t, 1, "t")
	cl := producer(t, b)
	ctx := context.Background()
	recs := []*kgo.Record{
		{Topic: "t", Value: []byte("v"), Headers: []kgo.RecordHeader{{Key: "h1", Value: []byte("x")}, {Key: "h2", Value: nil}}},
		{Topic: "t", Value: nil, Key: nil},
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	mem := checkedMem(t)
	rr, err := Read(ctx, Options{BootstrapServers: b.Addr(), Subscribe: "t", IncludeHeaders: true, Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	if !rr.Next() {
		t.Fatal(rr.Err())
	}
	rec := rr.RecordBatch()
	if got := rec.Column(colHeaders).String(); got != `[{["h1" "h2"] ["x" (null)]} {[] []}]` {
		t.Fatalf("headers %s", got)
	}
	if !rec.Column(colKey).IsNull(0) || !rec.Column(colValue).IsNull(1) || rec.Column(colValue).IsNull(0) {
		t.Fatal("null key/value handling")
	}
}

func TestKcatInput(t *testing.T) {
	b := startBroker(t, 2, "in")
	kcatProduce(t, b.Addr(), "in", 1, "k1:hello", "k2:world")
	mem := checkedMem(t)
	rr, err := Read(context.Background(), Options{BootstrapServers: b.Addr(), Subscribe: "in", Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	var got []string
	for rr.Next() {
		rec := rr.RecordBatch()
		k, v := rec.Column(colKey).(*array.Binary), rec.Column(colValue).(*array.Binary)
		for i := 0; i < int(rec.NumRows()); i++ {
			got = append(got, string(k.Value(i))+":"+string(v.Value(i)))
		}
	}
	if rr.Err() != nil || !slices.Equal(got, []string{"k1:hello", "k2:world"}) {
		t.Fatalf("read %v, %v", got, rr.Err())
	}
}
