package ysb

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/internal/fileformat"
	memsrc "github.com/sluicehq/sluice/sources/memory"
	"github.com/sluicehq/sluice/trigger"
)

// small is a stream of a few partial and whole windows: 1000 events per
// second of event time from a start that is not window-aligned.
var small = Config{Seed: 7, StartMs: 1_700_000_003_500, Rate: 1000}

const smallN = 34_567

func TestGeneratorDeterministic(t *testing.T) {
	a, b := New(small), New(small)
	if a.CampaignID(3) != b.CampaignID(3) || a.AdID(999) != b.AdID(999) || len(a.AdID(0)) != 36 {
		t.Fatalf("ids differ or are not UUIDs: %q %q", a.AdID(0), b.AdID(0))
	}
	if New(Config{Seed: 8}).AdID(0) == a.AdID(0) {
		t.Fatal("another seed gave the same ids")
	}
	seen := map[string]bool{}
	for i := range Ads {
		seen[a.AdID(i)] = true
	}
	for i := range Campaigns {
		seen[a.CampaignID(i)] = true
	}
	if len(seen) != Ads+Campaigns {
		t.Fatalf("%d distinct ids, want %d", len(seen), Ads+Campaigns)
	}
	var types [3]int
	for i := int64(0); i < 30000; i++ {
		if a.Event(i) != b.Event(i) {
			t.Fatalf("event %d differs", i)
		}
		types[a.Event(i).EventType]++
	}
	for ty, n := range types {
		if n < 9000 || n > 11000 {
			t.Fatalf("event type %s: %d of 30000, want about a third", EventTypes[ty], n)
		}
	}
	if a.TimeMs(0) != small.StartMs || a.TimeMs(1000) != small.StartMs+1000 || a.TimeMs(999) != small.StartMs+999 {
		t.Fatalf("event times %d %d", a.TimeMs(0), a.TimeMs(1000))
	}
}

// The JSON events decode (with the Kafka source's decoder and schema) to
// the fields the Arrow batches hold.
func TestJSONMatchesBatches(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	g := New(small)
	schema, err := expr.ParseDDL(JSONSchema)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := fileformat.NewJSONDecoder(schema, mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Release()
	const n = 500
	var line []byte
	for i := int64(0); i < n; i++ {
		line = g.AppendJSON(line[:0], i)
		if err := dec.Append(line); err != nil {
			t.Fatalf("event %d: %v\n%s", i, err, line)
		}
	}
	got := dec.NewBatch()
	defer got.Release()
	want := g.Batch(mem, 0, n)
	defer want.Release()
	if !strings.Contains(string(g.AppendJSON(nil, 5)), `"event_time": "`) {
		t.Fatalf("event_time is not a JSON string: %s", g.AppendJSON(nil, 5))
	}
	for c := 0; c < 7; c++ {
		for i := 0; i < n; i++ {
			gv := got.Column(c).ValueStr(i)
			wv := want.Column(c).ValueStr(i)
			if c == 5 {
				wv = strconv.FormatInt(g.TimeMs(int64(i)), 10)
			}
			if gv != wv {
				t.Fatalf("row %d column %s: JSON %q, batch %q", i, Schema.Field(c).Name, gv, wv)
			}
		}
	}
}

func TestReference(t *testing.T) {
	g := New(small)
	ref := g.Reference(smallN)
	var views int64
	for i := int64(0); i < smallN; i++ {
		if g.Event(i).EventType == 0 {
			views++
		}
	}
	if ref.Total() != views {
		t.Fatalf("reference total %d, views %d", ref.Total(), views)
	}
	// 34.567 s from xx3.5 s: windows 0, 10, 20, 30 s (the first and last partial).
	wins := map[int64]bool{}
	for k := range ref {
		wins[k.WindowStartMs] = true
		if k.WindowStartMs%WindowMs != 0 {
			t.Fatalf("window start %d not aligned", k.WindowStartMs)
		}
	}
	if len(wins) != 4 {
		t.Fatalf("%d windows, want 4", len(wins))
	}
	last := g.TimeMs(smallN - 1)
	closed := ref.Closed(last)
	if len(closed) == 0 || len(closed) >= len(ref) {
		t.Fatalf("closed %d of %d groups", len(closed), len(ref))
	}
	if d := ref.Diff(ref); d != "" {
		t.Fatal(d)
	}
	bad := Counts{}
	for k, v := range ref {
		bad[k] = v
	}
	for k := range bad {
		bad[k]++
		break
	}
	if ref.Diff(bad) == "" {
		t.Fatal("Diff missed a wrong count")
	}
}

func collect(t *testing.T, g *Gen, df *dataframe.DataFrame) Counts {
	t.Helper()
	got := Counts{}
	idx := g.CampaignIndex()
	err := df.Execute(func(b arrow.RecordBatch) error { return g.AddRows(got, idx, b) })
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// The batch query (DataFrame chain and SQL) equals the reference.
func TestBatchQueryMatchesReference(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	g := New(small)
	events := g.Batches(mem, smallN, 4096)
	defer release(events)
	ads := g.AdsBatch(mem)
	defer ads.Release()
	s := dataframe.NewSessionWith(dataframe.Config{Allocator: mem})
	ref := g.Reference(smallN)
	ev, ad := s.CreateDataFrame(Schema, events...), s.CreateDataFrame(AdsSchema, ads)
	if d := ref.Diff(collect(t, g, Query(ev, ad))); d != "" {
		t.Fatalf("DataFrame query: %s", d)
	}
	sq, err := QuerySQL(s, ev, ad)
	if err != nil {
		t.Fatal(err)
	}
	if d := ref.Diff(collect(t, g, sq)); d != "" {
		t.Fatalf("SQL query: %s", d)
	}
	empty := s.CreateDataFrame(Schema)
	if got := collect(t, g, Query(empty, ad)); len(got) != 0 {
		t.Fatalf("empty input: %d groups", len(got))
	}
}

// The streaming query over several micro-batches, with a checkpoint,
// emits each closed window once with the reference's count.
func TestStreamMatchesReference(t *testing.T) {
	for _, useSQL := range []bool{false, true} {
		name := "dataframe"
		if useSQL {
			name = "sql"
		}
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			g := New(small)
			ads := g.AdsBatch(mem)
			defer ads.Release()
			s := dataframe.NewSessionWith(dataframe.Config{Allocator: mem})
			src, err := memsrc.NewArrowStreamWith("ysb", Schema, memsrc.Options{MaxRowsPerTrigger: 5000})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			for lo := int64(0); lo < smallN; lo += 5000 {
				b := g.Batch(mem, lo, min(lo+5000, smallN))
				_, err := src.AddBatch(b)
				b.Release()
				if err != nil {
					t.Fatal(err)
				}
			}
			ev, ad := s.ReadStream(src), s.CreateDataFrame(AdsSchema, ads)
			q := Query(ev, ad)
			if useSQL {
				if q, err = QuerySQL(s, ev, ad); err != nil {
					t.Fatal(err)
				}
			}
			var mu sync.Mutex
			got := Counts{}
			idx := g.CampaignIndex()
			ctx := context.Background()
			run, err := q.WriteStream().OutputMode(dataframe.Append).
				ForeachBatch(func(ctx context.Context, batch *dataframe.DataFrame, id int64) error {
					mu.Lock()
					defer mu.Unlock()
					return batch.Execute(func(b arrow.RecordBatch) error { return g.AddRows(got, idx, b) })
				}).
				Trigger(trigger.AvailableNow()).
				Option("checkpointLocation", t.TempDir()).
				Start(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := run.AwaitTermination(ctx); err != nil {
				t.Fatal(err)
			}
			want := g.Reference(smallN).Closed(g.TimeMs(smallN - 1))
			if d := want.Diff(got); d != "" {
				t.Fatal(d)
			}
		})
	}
}

func release(bs []arrow.RecordBatch) {
	for _, b := range bs {
		b.Release()
	}
}
