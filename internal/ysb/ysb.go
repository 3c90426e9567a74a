// Package ysb is the Yahoo Streaming Benchmark (yahoo/streaming-benchmarks)
// for sluice: the seeded event generator (as Arrow batches and as the
// benchmark's JSON), the static ad -> campaign table, the query as a
// DataFrame chain and as SQL, and a plain-Go reference of its answer that
// does not use the engine, so a fast wrong answer fails.
//
// The data follows the benchmark's generator (data/src/setup/core.clj,
// make-kafka-event-at): 100 campaigns of 10 ads (UUIDs), 100 users and 100
// pages (UUIDs), ad_type one of 5, event_type one of view, click, purchase,
// event_time a string of epoch milliseconds, ip_address "1.2.3.4". Event i
// is a pure function of (seed, i), so any slice of the stream can be made
// on its own and the reference needs no copy of the data.
package ysb

import (
	"encoding/hex"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// The benchmark's constants.
const (
	Campaigns      = 100
	AdsPerCampaign = 10
	Ads            = Campaigns * AdsPerCampaign
	Users          = 100
	Pages          = 100
	WindowMs       = int64(10_000) // the query's tumbling event-time window
	IPAddress      = "1.2.3.4"

	// DefaultStartMs is event 0's time when Config.StartMs is 0: a round
	// second, not window-aligned, so the first window is partial.
	DefaultStartMs = int64(1_700_000_003_000)
	// DefaultRate is events per second of event time when Config.Rate is 0.
	DefaultRate = int64(100_000)
	// DefaultSeed seeds the ids and the events when Config.Seed is 0.
	DefaultSeed = uint64(0x75b)
)

// AdTypes and EventTypes are the benchmark's categorical values.
var (
	AdTypes    = [5]string{"banner", "modal", "sponsored-search", "mail", "mobile"}
	EventTypes = [3]string{"view", "click", "purchase"}
)

// Schema is the events as Arrow batches: the JSON fields with event_time
// decoded to a timestamp (what `CAST` and `timestamp_millis` make of the
// JSON string), everything else as the JSON's strings.
var Schema = arrow.NewSchema([]arrow.Field{
	{Name: "user_id", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "page_id", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ad_id", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ad_type", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "event_type", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "event_time", Type: expr.Timestamp, Nullable: true},
	{Name: "ip_address", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// JSONSchema is the DDL of the JSON events (the Kafka source's
// valueSchema): event_time is a string there, as in the benchmark.
const JSONSchema = "user_id STRING, page_id STRING, ad_id STRING, ad_type STRING, event_type STRING, event_time STRING, ip_address STRING"

// AdsSchema is the static table: ad_id -> campaign_id.
var AdsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "ad_id", Type: arrow.BinaryTypes.String, Nullable: false},
	{Name: "campaign_id", Type: arrow.BinaryTypes.String, Nullable: false},
}, nil)

// Config picks one deterministic stream. Zero values take the defaults.
type Config struct {
	Seed    uint64
	StartMs int64 // event time of event 0, epoch ms
	Rate    int64 // events per second of event time
}

func (c Config) withDefaults() Config {
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	if c.StartMs == 0 {
		c.StartMs = DefaultStartMs
	}
	if c.Rate <= 0 {
		c.Rate = DefaultRate
	}
	return c
}

// Gen makes the events of one Config. It holds the id strings; it is
// read-only after New, so goroutines may share it.
type Gen struct {
	cfg       Config
	campaigns [Campaigns]string
	ads       [Ads]string
	users     [Users]string
	pages     [Pages]string
}

// New makes the generator of cfg's stream.
func New(cfg Config) *Gen {
	g := &Gen{cfg: cfg.withDefaults()}
	k := uint64(0)
	next := func() string {
		k++
		return uuid(g.cfg.Seed, k)
	}
	for i := range g.campaigns {
		g.campaigns[i] = next()
	}
	for i := range g.ads {
		g.ads[i] = next()
	}
	for i := range g.users {
		g.users[i] = next()
	}
	for i := range g.pages {
		g.pages[i] = next()
	}
	return g
}

// Config is the generator's configuration with the defaults filled in.
func (g *Gen) Config() Config { return g.cfg }

// CampaignID is campaign c's UUID (0 <= c < Campaigns).
func (g *Gen) CampaignID(c int) string { return g.campaigns[c] }

// AdID is ad a's UUID; ad a belongs to campaign a / AdsPerCampaign.
func (g *Gen) AdID(a int) string { return g.ads[a] }

// Event is one event by indexes into the generator's tables.
type Event struct {
	User, Page, Ad, AdType, EventType int
	TimeMs                            int64
}

// Campaign is the event's campaign index (the join's answer).
func (e Event) Campaign() int { return e.Ad / AdsPerCampaign }

// Event returns event i.
func (g *Gen) Event(i int64) Event {
	h := mix(g.cfg.Seed*golden + uint64(i))
	// One 64-bit hash feeds all five choices: 100*100*1000*5*3 < 2^64.
	e := Event{TimeMs: g.TimeMs(i)}
	e.User = int(h % Users)
	h /= Users
	e.Page = int(h % Pages)
	h /= Pages
	e.Ad = int(h % Ads)
	h /= Ads
	e.AdType = int(h % uint64(len(AdTypes)))
	h /= uint64(len(AdTypes))
	e.EventType = int(h % uint64(len(EventTypes)))
	return e
}

// TimeMs is event i's event time: StartMs + i*1000/Rate (non-decreasing).
func (g *Gen) TimeMs(i int64) int64 { return g.cfg.StartMs + i*1000/g.cfg.Rate }

// AppendJSON appends event i as the benchmark's JSON (its field order and
// spacing, event_time a string of epoch ms).
func (g *Gen) AppendJSON(dst []byte, i int64) []byte {
	e := g.Event(i)
	dst = append(dst, `{"user_id": "`...)
	dst = append(dst, g.users[e.User]...)
	dst = append(dst, `", "page_id": "`...)
	dst = append(dst, g.pages[e.Page]...)
	dst = append(dst, `", "ad_id": "`...)
	dst = append(dst, g.ads[e.Ad]...)
	dst = append(dst, `", "ad_type": "`...)
	dst = append(dst, AdTypes[e.AdType]...)
	dst = append(dst, `", "event_type": "`...)
	dst = append(dst, EventTypes[e.EventType]...)
	dst = append(dst, `", "event_time": "`...)
	dst = strconv.AppendInt(dst, e.TimeMs, 10)
	dst = append(dst, `", "ip_address": "`+IPAddress+`"}`...)
	return dst
}

// Batch builds events [lo, hi) as one Arrow batch of Schema.
func (g *Gen) Batch(mem memory.Allocator, lo, hi int64) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, Schema)
	defer b.Release()
	n := int(hi - lo)
	strs := [...]int{0, 1, 2, 3, 4, 6}
	bytesPer := [...]int{36, 36, 36, 16, 8, len(IPAddress)}
	for k, f := range strs {
		sb := b.Field(f).(*array.StringBuilder)
		sb.Reserve(n)
		sb.ReserveData(n * bytesPer[k])
	}
	user := b.Field(0).(*array.StringBuilder)
	page := b.Field(1).(*array.StringBuilder)
	ad := b.Field(2).(*array.StringBuilder)
	adType := b.Field(3).(*array.StringBuilder)
	evType := b.Field(4).(*array.StringBuilder)
	ts := b.Field(5).(*array.TimestampBuilder)
	ip := b.Field(6).(*array.StringBuilder)
	ts.Reserve(n)
	for i := lo; i < hi; i++ {
		e := g.Event(i)
		user.Append(g.users[e.User])
		page.Append(g.pages[e.Page])
		ad.Append(g.ads[e.Ad])
		adType.Append(AdTypes[e.AdType])
		evType.Append(EventTypes[e.EventType])
		ts.UnsafeAppend(arrow.Timestamp(e.TimeMs * 1000))
		ip.Append(IPAddress)
	}
	return b.NewRecordBatch()
}

// Batches builds events [0, n) in batches of batchSize rows.
func (g *Gen) Batches(mem memory.Allocator, n int64, batchSize int) []arrow.RecordBatch {
	batchSize = max(batchSize, 1)
	var out []arrow.RecordBatch
	for lo := int64(0); lo < n; lo += int64(batchSize) {
		out = append(out, g.Batch(mem, lo, min(lo+int64(batchSize), n)))
	}
	return out
}

// AdsBatch is the static table: every ad with its campaign.
func (g *Gen) AdsBatch(mem memory.Allocator) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, AdsSchema)
	defer b.Release()
	ad := b.Field(0).(*array.StringBuilder)
	camp := b.Field(1).(*array.StringBuilder)
	for a := range g.ads {
		ad.Append(g.ads[a])
		camp.Append(g.campaigns[a/AdsPerCampaign])
	}
	return b.NewRecordBatch()
}

const golden = uint64(0x9e3779b97f4a7c15)

// mix is splitmix64's finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// uuid is the k-th id of a seed, in the 8-4-4-4-12 hex layout.
func uuid(seed, k uint64) string {
	var raw [16]byte
	a, b := mix(seed^(k*golden)), mix(seed+k*golden+1)
	for i := 0; i < 8; i++ {
		raw[i], raw[8+i] = byte(a>>(8*i)), byte(b>>(8*i))
	}
	var out [36]byte
	hex.Encode(out[0:8], raw[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], raw[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], raw[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], raw[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], raw[10:16])
	return string(out[:])
}
