package dataframe

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/plan"
	"github.com/sluicehq/sluice/internal/nexmark"
	"github.com/sluicehq/sluice/sinks"
	memsrc "github.com/sluicehq/sluice/sources/memory"
	"github.com/sluicehq/sluice/trigger"
)

// TestNexmarkSQL runs q0-q8 from SQL over generated events: as a batch
// query and, where the query says so, as a stream over the same events
// split into micro-batches; both must equal the plain-Go reference
// (internal/nexmark.Reference). A query that cannot stream must fail at
// Start with plan.ErrUnsupported.
func TestNexmarkSQL(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	// 3000 events 10ms apart: 30 s of event time, so several tumbling and
	// many sliding windows; 60 people, 180 auctions, 2760 bids.
	cfg := nexmark.Config{Events: 3000, Seed: 11, InterEventDelay: 10 * time.Millisecond}
	people, auctions, bids, err := nexmark.Events(cfg, 0, cfg.Events)
	if err != nil {
		t.Fatal(err)
	}
	person, auction, bid, err := nexmark.Generate(cfg, mem, 500)
	if err != nil {
		t.Fatal(err)
	}
	defer nexmark.Release(person, auction, bid)
	tables := map[string][]arrow.RecordBatch{"person": person, "auction": auction, "bid": bid}
	// The streams also run over a second split of the same events.
	person2, auction2, bid2, err := nexmark.Generate(cfg, mem, 137)
	if err != nil {
		t.Fatal(err)
	}
	defer nexmark.Release(person2, auction2, bid2)
	tables2 := map[string][]arrow.RecordBatch{"person": person2, "auction": auction2, "bid": bid2}
	schemas := map[string]*arrow.Schema{"person": nexmark.PersonSchema, "auction": nexmark.AuctionSchema, "bid": nexmark.BidSchema}

	for _, q := range nexmark.Queries {
		t.Run(q.Name, func(t *testing.T) {
			want, err := nexmark.Reference(q.Name, people, auctions, bids)
			if err != nil {
				t.Fatal(err)
			}
			want.Sort()
			if len(want.Rows) == 0 {
				t.Fatalf("%s: the reference result is empty; the test data checks nothing", q.Name)
			}
			s := NewSessionWith(Config{Allocator: mem, ShufflePartitions: 3})
			for name, bs := range tables {
				if err := s.CreateDataFrame(schemas[name], bs...).CreateOrReplaceTempView(name); err != nil {
					t.Fatal(err)
				}
			}
			df := s.SQL(q.SQL)
			if df.Err() != nil {
				t.Fatalf("batch: %v", df.Err())
			}
			got := &resultBuilder{cols: df.Columns()}
			if err := df.Execute(func(b arrow.RecordBatch) error { got.add(b); return nil }); err != nil {
				t.Fatalf("batch: %v", err)
			}
			compareResults(t, "batch", got.result(), want)

			for _, split := range []map[string][]arrow.RecordBatch{tables, tables2} {
				streamNexmark(t, mem, q, split, schemas, want)
			}
		})
	}
}

// TestNexmarkPublishedComplete streams the published q5 and q8 (joins of
// two aggregations) in complete mode, where the join runs as a batch over
// the aggregations' complete results; q7 joins an aggregation with the raw
// stream, which no mode can run.
func TestNexmarkPublishedComplete(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cfg := nexmark.Config{Events: 3000, Seed: 3, InterEventDelay: 10 * time.Millisecond}
	people, auctions, bids, err := nexmark.Events(cfg, 0, cfg.Events)
	if err != nil {
		t.Fatal(err)
	}
	person, auction, bid, err := nexmark.Generate(cfg, mem, 700)
	if err != nil {
		t.Fatal(err)
	}
	defer nexmark.Release(person, auction, bid)
	tables := map[string][]arrow.RecordBatch{"person": person, "auction": auction, "bid": bid}
	schemas := map[string]*arrow.Schema{"person": nexmark.PersonSchema, "auction": nexmark.AuctionSchema, "bid": nexmark.BidSchema}
	for _, c := range []struct {
		name    string
		streams bool
	}{{"q5", true}, {"q8", true}, {"q7", false}} {
		t.Run(c.name, func(t *testing.T) {
			q, _ := nexmark.QueryByName(c.name)
			want, err := nexmark.Reference(q.Name, people, auctions, bids)
			if err != nil {
				t.Fatal(err)
			}
			want.Sort()
			q.StreamSQL, q.OutputMode, q.Streaming = "", "complete", c.streams
			streamNexmark(t, mem, q, tables, schemas, want)
		})
	}
}

// TestNexmarkCommaJoinStream streams q3 written as a comma join with its
// condition in WHERE: Start checks the optimised plan, where the condition
// has become the join's, so the two streams hash-join on it.
func TestNexmarkCommaJoinStream(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cfg := nexmark.Config{Events: 3000, Seed: 5, InterEventDelay: 10 * time.Millisecond}
	people, auctions, bids, err := nexmark.Events(cfg, 0, cfg.Events)
	if err != nil {
		t.Fatal(err)
	}
	person, auction, bid, err := nexmark.Generate(cfg, mem, 400)
	if err != nil {
		t.Fatal(err)
	}
	defer nexmark.Release(person, auction, bid)
	q, _ := nexmark.QueryByName("q3")
	want, err := nexmark.Reference(q.Name, people, auctions, bids)
	if err != nil {
		t.Fatal(err)
	}
	want.Sort()
	q.SQL = `SELECT P.name, P.city, P.state, A.id FROM auction AS A, person AS P
WHERE A.seller = P.id AND A.category = 10 AND (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA')`
	q.StreamSQL = ""
	tables := map[string][]arrow.RecordBatch{"person": person, "auction": auction, "bid": bid}
	schemas := map[string]*arrow.Schema{"person": nexmark.PersonSchema, "auction": nexmark.AuctionSchema, "bid": nexmark.BidSchema}
	streamNexmark(t, mem, q, tables, schemas, want)
}

// streamNexmark runs q over memory streams of its tables (watermark on
// dateTime), one micro-batch per generated chunk. Windowed queries get a
// last event an hour after the data on every stream, so the watermark
// closes every window of the data (its own windows never close).
func streamNexmark(t *testing.T, mem memory.Allocator, q nexmark.Query, tables map[string][]arrow.RecordBatch, schemas map[string]*arrow.Schema, want nexmark.Result) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := NewSessionWith(Config{Allocator: mem, ShufflePartitions: 2})
	streams := map[string]*memsrc.Stream{}
	for _, name := range q.Tables {
		st := memsrc.NewArrowStream(name, schemas[name])
		defer st.Close()
		streams[name] = st
		if err := s.ReadStream(st).WithWatermark("dateTime", nexmark.WatermarkDelay).CreateOrReplaceTempView(name); err != nil {
			t.Fatal(err)
		}
	}
	text := q.SQL
	if q.StreamSQL != "" {
		text = q.StreamSQL
	}
	df := s.SQL(text)
	if df.Err() != nil {
		t.Fatalf("stream: %v", df.Err())
	}
	mode := map[string]OutputMode{"append": Append, "complete": Complete, "update": Update}[q.OutputMode]
	if !q.Streaming {
		mode = Complete
	}
	sink := &valueSink{}
	query, err := df.WriteStream().Sink(sink).OutputMode(mode).
		Clock(trigger.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))).
		Option("checkpointLocation", t.TempDir()).Start(ctx)
	if !q.Streaming {
		if !errors.Is(err, plan.ErrUnsupported) {
			t.Fatalf("%s is documented as not streaming (%s), but Start in complete mode gave %v", q.Name, q.NotStreaming, err)
		}
		for _, m := range []OutputMode{Append, Update} {
			if _, err := df.WriteStream().Sink(&valueSink{}).OutputMode(m).Option("checkpointLocation", t.TempDir()).Start(ctx); !errors.Is(err, plan.ErrUnsupported) {
				t.Fatalf("%s in %s mode: Start gave %v, want plan.ErrUnsupported", q.Name, m, err)
			}
		}
		t.Logf("%s does not stream: %v", q.Name, err)
		return
	}
	if err != nil {
		t.Fatalf("stream %s: Start: %v", q.OutputMode, err)
	}
	defer query.Stop(ctx)
	feed := func(name string, b arrow.RecordBatch) {
		if _, err := streams[name].AddBatch(b); err != nil {
			t.Fatal(err)
		}
	}
	for i := range tables["bid"] {
		for _, name := range q.Tables {
			feed(name, tables[name][i])
		}
		if err := query.ProcessAllAvailable(ctx); err != nil {
			t.Fatalf("stream: %v", err)
		}
	}
	if strings.Contains(text, "window(") && mode != Complete { // complete mode emits open windows too
		for _, name := range q.Tables {
			b := sentinel(t, mem, name)
			feed(name, b)
			b.Release()
		}
		for i := 0; i < 2; i++ { // the data batch, then the no-data batch the watermark asks for
			if err := query.ProcessAllAvailable(ctx); err != nil {
				t.Fatalf("stream: %v", err)
			}
		}
	}
	var got nexmark.Result
	if mode == Complete {
		got = sink.last()
	} else {
		got = sink.all()
	}
	compareResults(t, fmt.Sprintf("stream %s (%d micro-batches)", q.OutputMode, len(tables["bid"])), got, want)
}

// sentinel is one row an hour after the generated events, with ids that
// join nothing.
func sentinel(t *testing.T, mem memory.Allocator, table string) arrow.RecordBatch {
	at := nexmark.DefaultFirstEventTime.Add(time.Hour)
	switch table {
	case "person":
		return nexmark.PersonBatch(mem, []nexmark.Person{{ID: -1, DateTime: at}})
	case "auction":
		return nexmark.AuctionBatch(mem, []nexmark.Auction{{ID: -1, Seller: -2, DateTime: at, Expires: at}})
	case "bid":
		return nexmark.BidBatch(mem, []nexmark.Bid{{Auction: -1, Bidder: -1, Price: -1, DateTime: at}})
	}
	t.Fatalf("no table %s", table)
	return nil
}

// resultBuilder turns engine batches into a nexmark.Result.
type resultBuilder struct {
	cols []string
	rows [][]any
}

func (r *resultBuilder) add(b arrow.RecordBatch) {
	for i := 0; i < int(b.NumRows()); i++ {
		row := make([]any, b.NumCols())
		for c := range row {
			row[c] = nexmark.Value(b.Column(c), i)
		}
		r.rows = append(r.rows, row)
	}
}

func (r *resultBuilder) result() nexmark.Result {
	res := nexmark.Result{Columns: r.cols, Rows: r.rows}
	res.Sort()
	return res
}

func compareResults(t *testing.T, what string, got, want nexmark.Result) {
	t.Helper()
	same := len(got.Rows) == len(want.Rows)
	for i := 0; same && i < len(got.Rows); i++ {
		same = len(got.Rows[i]) == len(want.Rows[i])
		for c := 0; same && c < len(got.Rows[i]); c++ {
			g, w := got.Rows[i][c], want.Rows[i][c]
			if gf, ok := g.(float64); ok {
				wf, ok := w.(float64)
				same = ok && math.Abs(gf-wf) <= 1e-9*math.Max(1, math.Abs(wf))
				continue
			}
			if gt, ok := g.(time.Time); ok {
				wt, ok := w.(time.Time)
				same = ok && gt.Equal(wt)
				continue
			}
			same = g == w
		}
	}
	if !same {
		t.Errorf("%s: %d rows differ from the reference's %d:\n--- got:\n%s\n--- want:\n%s", what, len(got.Rows), len(want.Rows), head(got.String()), head(want.String()))
	}
}

func head(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > 30 {
		return strings.Join(lines[:30], "\n") + fmt.Sprintf("\n... %d more", len(lines)-30)
	}
	return s
}

// valueSink keeps every micro-batch's rows as Go values.
type valueSink struct {
	mu      sync.Mutex
	cols    []string
	batches [][][]any
}

func (v *valueSink) AddBatch(_ context.Context, id int64, _ sinks.OutputMode, rows array.RecordReader) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	r := &resultBuilder{}
	for rows.Next() {
		r.add(rows.RecordBatch())
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for int64(len(v.batches)) <= id {
		v.batches = append(v.batches, nil)
	}
	v.batches[id] = r.rows
	return nil
}

func (v *valueSink) Close() error { return nil }

func (v *valueSink) all() nexmark.Result {
	v.mu.Lock()
	defer v.mu.Unlock()
	var res nexmark.Result
	for _, b := range v.batches {
		res.Rows = append(res.Rows, b...)
	}
	res.Sort()
	return res
}

func (v *valueSink) last() nexmark.Result {
	v.mu.Lock()
	defer v.mu.Unlock()
	var res nexmark.Result
	if len(v.batches) > 0 {
		res.Rows = v.batches[len(v.batches)-1]
	}
	res.Sort()
	return res
}
