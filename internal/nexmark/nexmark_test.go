package nexmark

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestProportionsAndIDs(t *testing.T) {
	cfg := Config{Events: 5000, Seed: 7}
	ps, as, bs, err := Events(cfg, 0, 5000)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 100 || len(as) != 300 || len(bs) != 4600 {
		t.Fatalf("people/auctions/bids = %d/%d/%d, want 100/300/4600", len(ps), len(as), len(bs))
	}
	for i, p := range ps {
		if p.ID != FirstPersonID+int64(i) {
			t.Fatalf("person %d has id %d", i, p.ID)
		}
		if p.State == "" || p.City == "" || !strings.Contains(p.EmailAddress, "@") || len(p.CreditCard) != 19 {
			t.Fatalf("person %+v", p)
		}
	}
	hotAuction, hotBidder := 0, 0
	for i, a := range as {
		if a.ID != FirstAuctionID+int64(i) {
			t.Fatalf("auction %d has id %d", i, a.ID)
		}
		if !a.Expires.After(a.DateTime) || a.Category < 10 || a.Category >= 15 || a.Reserve < a.InitialBid {
			t.Fatalf("auction %+v", a)
		}
		if a.Seller < FirstPersonID || a.Seller > FirstPersonID+int64(len(ps))+personIDLead {
			t.Fatalf("auction %d seller %d out of range", a.ID, a.Seller)
		}
	}
	for _, b := range bs {
		if b.Auction%100 == 0 {
			hotAuction++
		}
		if b.Bidder%100 == 1 {
			hotBidder++
		}
		if b.Channel == "" || !strings.HasPrefix(b.URL, "https://www.nexmark.com/") {
			t.Fatalf("bid %+v", b)
		}
	}
	// Hot auction: P = 1/2 + a little; hot bidder: P = 3/4 + a little.
	if f := float64(hotAuction) / float64(len(bs)); f < 0.45 || f > 0.6 {
		t.Errorf("hot auction share %.2f, want about 0.5", f)
	}
	if f := float64(hotBidder) / float64(len(bs)); f < 0.7 || f > 0.85 {
		t.Errorf("hot bidder share %.2f, want about 0.75", f)
	}
	// Bid extra pads a bid to 100 bytes on average.
	total := 0
	for _, b := range bs {
		total += len(b.Extra)
	}
	if avg := total / len(bs); avg < 60 || avg > 76 {
		t.Errorf("average bid extra %d bytes, want about 68", avg)
	}
}

func TestDeterministicAndSplittable(t *testing.T) {
	cfg := Config{Events: 3000, Seed: 42, InterEventDelay: time.Millisecond}
	p1, a1, b1, _ := Events(cfg, 0, 3000)
	var p2 []Person
	var a2 []Auction
	var b2 []Bid
	for from := int64(0); from < 3000; from += 77 {
		p, a, b, _ := Events(cfg, from, from+77)
		p2, a2, b2 = append(p2, p...), append(a2, a...), append(b2, b...)
	}
	if !reflect.DeepEqual(p1, p2) || !reflect.DeepEqual(a1, a2) || !reflect.DeepEqual(b1, b2) {
		t.Fatal("generating in chunks differs from generating at once")
	}
	_, _, b3, _ := Events(Config{Events: 3000, Seed: 43, InterEventDelay: time.Millisecond}, 0, 3000)
	if reflect.DeepEqual(b1, b3) {
		t.Fatal("seed does not change the bids")
	}
	if got, want := b1[len(b1)-1].DateTime, DefaultFirstEventTime.Add(2999*time.Millisecond); !got.Equal(want) {
		t.Fatalf("last event at %v, want %v", got, want)
	}
}

func TestGenerateBatches(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cfg := Config{Events: 1000, Seed: 1}
	person, auction, bid, err := Generate(cfg, mem, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer Release(person, auction, bid)
	if len(person) != 16 || len(auction) != 16 || len(bid) != 16 {
		t.Fatalf("%d/%d/%d batches, want 16 each", len(person), len(auction), len(bid))
	}
	var np, na, nb int64
	for i := range person {
		np, na, nb = np+person[i].NumRows(), na+auction[i].NumRows(), nb+bid[i].NumRows()
	}
	if np != 20 || na != 60 || nb != 920 {
		t.Fatalf("rows %d/%d/%d, want 20/60/920", np, na, nb)
	}
	_, _, bs, _ := Events(cfg, 0, 64)
	got := bid[0].Column(2).(*array.Int64).Int64Values()
	for i, b := range bs {
		if got[i] != b.Price {
			t.Fatalf("bid %d price %d, want %d", i, got[i], b.Price)
		}
	}
	if ts := bid[0].Column(5).(*array.Timestamp).Value(0); int64(ts) != bs[0].DateTime.UnixMicro() {
		t.Fatalf("dateTime %d, want %d", ts, bs[0].DateTime.UnixMicro())
	}
	// An empty range gives empty batches.
	p, a, b, err := GenerateRange(cfg, mem, 2000, 3000)
	if err != nil || p.NumRows()+a.NumRows()+b.NumRows() != 0 {
		t.Fatalf("out-of-range events: %v", err)
	}
	p.Release()
	a.Release()
	b.Release()
}

func TestValidate(t *testing.T) {
	err := Config{Events: -1, HotAuctionRatio: -2}.Validate()
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "Events") || !strings.Contains(err.Error(), "HotAuctionRatio") {
		t.Fatalf("got %v", err)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestReferenceSmall(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sec := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	people := []Person{{ID: 1, Name: "Ann", State: "OR", City: "Portland", DateTime: sec(1)}, {ID: 2, Name: "Bo", State: "WA", DateTime: sec(12)}}
	auctions := []Auction{
		{ID: 10, Seller: 1, Category: 10, DateTime: sec(2), Expires: sec(8)},
		{ID: 11, Seller: 2, Category: 10, DateTime: sec(3), Expires: sec(30)},
		{ID: 12, Seller: 2, Category: 11, DateTime: sec(13), Expires: sec(30)},
	}
	bids := []Bid{
		{Auction: 10, Price: 5, DateTime: sec(3)},
		{Auction: 10, Price: 9, DateTime: sec(9)}, // after expiry
		{Auction: 11, Price: 7, DateTime: sec(4)},
		{Auction: 246, Price: 9, DateTime: sec(10)}, // max of [10,20), and on [0,10]'s closing edge
	}
	cases := map[string]string{
		"q1": "auction|bidder|price|dateTime|extra\n10|0|4.540|2026-01-01 00:00:03|\n10|0|8.172|2026-01-01 00:00:09|\n11|0|6.356|2026-01-01 00:00:04|\n246|0|8.172|2026-01-01 00:00:10|",
		"q2": "auction|price\n246|9",
		"q3": "name|city|state|id\nAnn|Portland|OR|10",
		"q4": "category|avg(final)\n10|6",
		"q6": "seller|avg_price\n1|5\n2|7",
		"q7": "auction|bidder|price|dateTime|extra\n10|0|9|2026-01-01 00:00:09|\n246|0|9|2026-01-01 00:00:10|\n246|0|9|2026-01-01 00:00:10|",
		"q8": "id|name|starttime\n1|Ann|2026-01-01 00:00:00\n2|Bo|2026-01-01 00:00:10",
	}
	for q, want := range cases {
		r, err := Reference(q, people, auctions, bids)
		if err != nil {
			t.Fatal(err)
		}
		r.Sort()
		if got := r.String(); got != want {
			t.Errorf("%s:\n%s\nwant\n%s", q, got, want)
		}
	}
	// q5: windows [2,12) .. [10,20) hold bid 246 at 10s alone in [10,20);
	// every window's top auctions.
	r, _ := Reference("q5", nil, nil, bids)
	if len(r.Rows) == 0 {
		t.Fatal("q5 is empty")
	}
	if _, err := Reference("q9", nil, nil, nil); err == nil {
		t.Fatal("q9 should be unknown")
	}
	for _, q := range Queries {
		if _, err := Reference(q.Name, nil, nil, nil); err != nil {
			t.Errorf("%s has no reference: %v", q.Name, err)
		}
	}
}
