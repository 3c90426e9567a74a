package ysb

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe"
)

// Watermark is the events' watermark delay in the streaming query: the
// generator's event times never go back, so a window can close as soon
// as an event of a later window is seen.
const Watermark = "0 seconds"

// Query is the benchmark's query as a DataFrame chain over events
// (Schema) and the static ads table (AdsSchema):
//
//	filter event_type = 'view' -> project (ad_id, event_time)
//	-> join ad_id -> campaign_id -> count per (campaign_id, 10 s window)
//
// The output columns are campaign_id, window (struct start, end) and
// count. The watermark lets a stream run it in append mode, each window
// emitted once with its final count; a batch query ignores it.
func Query(events, ads *dataframe.DataFrame) *dataframe.DataFrame {
	col := dataframe.Col
	return events.
		Filter(col("event_type").Eq("view")).
		Select(col("ad_id"), col("event_time")).
		WithWatermark("event_time", Watermark).
		Join(ads, "ad_id").
		GroupBy(col("campaign_id"), dataframe.Window(col("event_time"), "10 seconds")).
		Agg(dataframe.Count("*").As("count"))
}

// SQL is the query as SQL over the views events and ads (see QuerySQL);
// its output matches Query's.
const SQL = `SELECT a.campaign_id, window(e.event_time, '10 seconds') AS window, count(*) AS count
FROM events e JOIN ads a ON e.ad_id = a.ad_id
WHERE e.event_type = 'view'
GROUP BY a.campaign_id, window(e.event_time, '10 seconds')`

// QuerySQL registers events (with the watermark) and ads as the session's
// temporary views events and ads and runs SQL over them.
func QuerySQL(s *dataframe.Session, events, ads *dataframe.DataFrame) (*dataframe.DataFrame, error) {
	if err := events.WithWatermark("event_time", Watermark).CreateOrReplaceTempView("events"); err != nil {
		return nil, fmt.Errorf("ysb: view events: %w", err)
	}
	if err := ads.CreateOrReplaceTempView("ads"); err != nil {
		return nil, fmt.Errorf("ysb: view ads: %w", err)
	}
	df := s.SQL(SQL)
	return df, df.Err()
}

// FromJSON turns the Kafka source's rows (value a struct of JSONSchema)
// into events of Schema: event_time, a string of epoch milliseconds in
// the benchmark's JSON, becomes a timestamp.
func FromJSON(kafkaRows *dataframe.DataFrame) *dataframe.DataFrame {
	return kafkaRows.SelectExpr(
		"value.user_id", "value.page_id", "value.ad_id", "value.ad_type", "value.event_type",
		"timestamp_millis(CAST(value.event_time AS BIGINT)) AS event_time", "value.ip_address")
}

// QueryJSONSchema is the DDL of only the JSON fields the query reads: a
// source given it skips the other four fields instead of decoding them
// (what a projection pushed into the JSON decoder would do).
const QueryJSONSchema = "ad_id STRING, event_type STRING, event_time STRING"

// FromQueryJSON is FromJSON for a source whose valueSchema is
// QueryJSONSchema: the fields not decoded are NULL.
func FromQueryJSON(kafkaRows *dataframe.DataFrame) *dataframe.DataFrame {
	return kafkaRows.SelectExpr(
		"CAST(NULL AS STRING) AS user_id", "CAST(NULL AS STRING) AS page_id", "value.ad_id",
		"CAST(NULL AS STRING) AS ad_type", "value.event_type",
		"timestamp_millis(CAST(value.event_time AS BIGINT)) AS event_time", "CAST(NULL AS STRING) AS ip_address")
}

// Key is one result row's group: a campaign index and its window's start.
type Key struct {
	Campaign      int
	WindowStartMs int64
}

// Counts is the query's answer: views per campaign and window.
type Counts map[Key]int64

// Reference counts the views of events [0, n) per campaign and window in
// plain Go, from the generator's indexes (no strings, no join table, no
// engine): the independent answer the engine's result must equal.
func (g *Gen) Reference(n int64) Counts {
	c := Counts{}
	for i := int64(0); i < n; i++ {
		e := g.Event(i)
		if e.EventType != 0 {
			continue
		}
		t := e.TimeMs
		c[Key{e.Campaign(), t - mod(t, WindowMs)}]++
	}
	return c
}

// Closed keeps the windows that end at or before watermarkMs: those a
// stream with that watermark has emitted in append mode.
func (c Counts) Closed(watermarkMs int64) Counts {
	out := Counts{}
	for k, v := range c {
		if k.WindowStartMs+WindowMs <= watermarkMs {
			out[k] = v
		}
	}
	return out
}

// Total is the sum of the counts.
func (c Counts) Total() int64 {
	var t int64
	for _, v := range c {
		t += v
	}
	return t
}

// Diff describes how got differs from c (the reference), or "" when they
// are equal: the number of differing groups and a few examples.
func (c Counts) Diff(got Counts) string {
	var bad int
	var ex string
	for k, v := range c {
		if g, ok := got[k]; !ok || g != v {
			if bad < 3 {
				ex += fmt.Sprintf(" campaign %d window %d: got %d want %d;", k.Campaign, k.WindowStartMs, g, v)
			}
			bad++
		}
	}
	for k, g := range got {
		if _, ok := c[k]; !ok {
			if bad < 3 {
				ex += fmt.Sprintf(" campaign %d window %d: got %d, not in the reference;", k.Campaign, k.WindowStartMs, g)
			}
			bad++
		}
	}
	if bad == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d groups differ (got %d groups, total %d; want total %d):%s", bad, len(c), len(got), got.Total(), c.Total(), ex)
}

// CampaignIndex maps campaign UUIDs to their indexes.
func (g *Gen) CampaignIndex() map[string]int {
	m := make(map[string]int, Campaigns)
	for i, id := range g.campaigns {
		m[id] = i
	}
	return m
}

// AddRows adds result rows (campaign_id, window, count as Query outputs
// them) into c; a group seen twice is an error (append mode emits each
// window once).
func (g *Gen) AddRows(c Counts, idx map[string]int, b arrow.RecordBatch) error {
	if b.NumRows() == 0 {
		return nil
	}
	s := b.Schema()
	ci, wi, ni := s.FieldIndices("campaign_id"), s.FieldIndices("window"), s.FieldIndices("count")
	if len(ci) != 1 || len(wi) != 1 || len(ni) != 1 {
		return fmt.Errorf("ysb: result columns %v: want campaign_id, window, count", s)
	}
	camp, ok1 := b.Column(ci[0]).(*array.String)
	win, ok2 := b.Column(wi[0]).(*array.Struct)
	cnt, ok3 := b.Column(ni[0]).(*array.Int64)
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("ysb: result types %v: want string, struct, int64", s)
	}
	start, ok := win.Field(0).(*array.Timestamp)
	if !ok {
		return fmt.Errorf("ysb: window.start is %s, want a timestamp", win.Field(0).DataType())
	}
	for i := 0; i < int(b.NumRows()); i++ {
		if camp.IsNull(i) || win.IsNull(i) || cnt.IsNull(i) {
			return fmt.Errorf("ysb: result row %d has a NULL", i)
		}
		ci, ok := idx[camp.Value(i)]
		if !ok {
			return fmt.Errorf("ysb: result row %d: unknown campaign %q", i, camp.Value(i))
		}
		k := Key{ci, int64(start.Value(i)) / 1000}
		if _, dup := c[k]; dup {
			return fmt.Errorf("ysb: campaign %d window %d emitted twice", k.Campaign, k.WindowStartMs)
		}
		c[k] = cnt.Value(i)
	}
	return nil
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
