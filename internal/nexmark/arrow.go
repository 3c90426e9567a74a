package nexmark

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Timestamp is the type of the dateTime and expires columns: the engine's
// timestamp (microseconds, UTC).
var Timestamp = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

func field(name string, t arrow.DataType) arrow.Field {
	return arrow.Field{Name: name, Type: t, Nullable: true}
}

var (
	i64 = arrow.PrimitiveTypes.Int64
	str = arrow.BinaryTypes.String
)

// Schemas of the three tables, with Nexmark's column names.
var (
	PersonSchema = arrow.NewSchema([]arrow.Field{
		field("id", i64), field("name", str), field("emailAddress", str), field("creditCard", str),
		field("city", str), field("state", str), field("dateTime", Timestamp), field("extra", str),
	}, nil)
	AuctionSchema = arrow.NewSchema([]arrow.Field{
		field("id", i64), field("itemName", str), field("description", str), field("initialBid", i64),
		field("reserve", i64), field("dateTime", Timestamp), field("expires", Timestamp),
		field("seller", i64), field("category", i64), field("extra", str),
	}, nil)
	BidSchema = arrow.NewSchema([]arrow.Field{
		field("auction", i64), field("bidder", i64), field("price", i64), field("channel", str),
		field("url", str), field("dateTime", Timestamp), field("extra", str),
	}, nil)
)

func ts(t time.Time) arrow.Timestamp { return arrow.Timestamp(t.UnixMicro()) }

// PersonBatch, AuctionBatch and BidBatch build one record batch of rows.
func PersonBatch(mem memory.Allocator, rows []Person) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, PersonSchema)
	defer b.Release()
	b.Reserve(len(rows))
	reserveStrings(b, rows, func(p Person) [3]int { return [3]int{len(p.Name), len(p.EmailAddress), len(p.Extra)} }, 1, 2, 7)
	for _, p := range rows {
		b.Field(0).(*array.Int64Builder).Append(p.ID)
		b.Field(1).(*array.StringBuilder).Append(p.Name)
		b.Field(2).(*array.StringBuilder).Append(p.EmailAddress)
		b.Field(3).(*array.StringBuilder).Append(p.CreditCard)
		b.Field(4).(*array.StringBuilder).Append(p.City)
		b.Field(5).(*array.StringBuilder).Append(p.State)
		b.Field(6).(*array.TimestampBuilder).Append(ts(p.DateTime))
		b.Field(7).(*array.StringBuilder).Append(p.Extra)
	}
	return b.NewRecordBatch()
}

// AuctionBatch builds one batch of auctions.
func AuctionBatch(mem memory.Allocator, rows []Auction) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, AuctionSchema)
	defer b.Release()
	b.Reserve(len(rows))
	reserveStrings(b, rows, func(a Auction) [3]int { return [3]int{len(a.ItemName), len(a.Description), len(a.Extra)} }, 1, 2, 9)
	for _, a := range rows {
		b.Field(0).(*array.Int64Builder).Append(a.ID)
		b.Field(1).(*array.StringBuilder).Append(a.ItemName)
		b.Field(2).(*array.StringBuilder).Append(a.Description)
		b.Field(3).(*array.Int64Builder).Append(a.InitialBid)
		b.Field(4).(*array.Int64Builder).Append(a.Reserve)
		b.Field(5).(*array.TimestampBuilder).Append(ts(a.DateTime))
		b.Field(6).(*array.TimestampBuilder).Append(ts(a.Expires))
		b.Field(7).(*array.Int64Builder).Append(a.Seller)
		b.Field(8).(*array.Int64Builder).Append(a.Category)
		b.Field(9).(*array.StringBuilder).Append(a.Extra)
	}
	return b.NewRecordBatch()
}

// BidBatch builds one batch of bids.
func BidBatch(mem memory.Allocator, rows []Bid) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, BidSchema)
	defer b.Release()
	b.Reserve(len(rows))
	reserveStrings(b, rows, func(x Bid) [3]int { return [3]int{len(x.Channel), len(x.URL), len(x.Extra)} }, 3, 4, 6)
	for _, x := range rows {
		b.Field(0).(*array.Int64Builder).Append(x.Auction)
		b.Field(1).(*array.Int64Builder).Append(x.Bidder)
		b.Field(2).(*array.Int64Builder).Append(x.Price)
		b.Field(3).(*array.StringBuilder).Append(x.Channel)
		b.Field(4).(*array.StringBuilder).Append(x.URL)
		b.Field(5).(*array.TimestampBuilder).Append(ts(x.DateTime))
		b.Field(6).(*array.StringBuilder).Append(x.Extra)
	}
	return b.NewRecordBatch()
}

// reserveStrings sizes the data buffers of three string columns (fields
// at the given indices) for rows, so appending does not regrow them.
func reserveStrings[T any](b *array.RecordBuilder, rows []T, lens func(T) [3]int, fields ...int) {
	var total [3]int
	for _, r := range rows {
		l := lens(r)
		for i := range total {
			total[i] += l[i]
		}
	}
	for i, f := range fields {
		b.Field(f).(*array.StringBuilder).ReserveData(total[i])
	}
}

// GenerateRange generates events [from, to) (clamped to [0, cfg.Events))
// as one batch per table; a table with no event in the range gets an empty
// batch. The caller releases the three batches. The same range always gives
// the same rows, so a source can use event numbers as offsets.
func GenerateRange(cfg Config, mem memory.Allocator, from, to int64) (person, auction, bid arrow.RecordBatch, err error) {
	ps, as, bs, err := Events(cfg, from, to)
	if err != nil {
		return nil, nil, nil, err
	}
	return PersonBatch(mem, ps), AuctionBatch(mem, as), BidBatch(mem, bs), nil
}

// Generate generates all cfg.Events events, in chunks of batchRows events
// (default 4096 when <= 0): person[i], auction[i] and bid[i] hold the
// events of chunk i, so the three slices have the same length and a chunk
// may give a table an empty batch. The caller releases every batch.
func Generate(cfg Config, mem memory.Allocator, batchRows int) (person, auction, bid []arrow.RecordBatch, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, nil, err
	}
	cfg = cfg.WithDefaults()
	if batchRows <= 0 {
		batchRows = 4096
	}
	for from := int64(0); from < cfg.Events; from += int64(batchRows) {
		p, a, b, err := GenerateRange(cfg, mem, from, from+int64(batchRows))
		if err != nil {
			Release(person, auction, bid)
			return nil, nil, nil, err
		}
		person, auction, bid = append(person, p), append(auction, a), append(bid, b)
	}
	return person, auction, bid, nil
}

// Release releases every batch of the slices.
func Release(batches ...[]arrow.RecordBatch) {
	for _, bs := range batches {
		for _, b := range bs {
			b.Release()
		}
	}
}
