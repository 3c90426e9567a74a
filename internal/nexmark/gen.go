package nexmark

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Person is a row of the person table.
type Person struct {
	ID           int64
	Name         string
	EmailAddress string
	CreditCard   string
	City         string
	State        string
	DateTime     time.Time
	Extra        string
}

// Auction is a row of the auction table.
type Auction struct {
	ID          int64
	ItemName    string
	Description string
	InitialBid  int64
	Reserve     int64
	DateTime    time.Time
	Expires     time.Time
	Seller      int64
	Category    int64
	Extra       string
}

// Bid is a row of the bid table.
type Bid struct {
	Auction  int64
	Bidder   int64
	Price    int64
	Channel  string
	URL      string
	DateTime time.Time
	Extra    string
}

// Kind is the type of an event.
type Kind int

// The event kinds.
const (
	KindPerson Kind = iota
	KindAuction
	KindBid
)

// KindOf returns the kind of event n (cfg with defaults applied).
func KindOf(cfg Config, n int64) Kind {
	cfg = cfg.WithDefaults()
	return cfg.kind(n)
}

func (c *Config) kind(n int64) Kind {
	rem := n % c.total()
	switch {
	case rem < int64(c.PersonProportion):
		return KindPerson
	case rem < int64(c.PersonProportion+c.AuctionProportion):
		return KindAuction
	}
	return KindBid
}

// EventTime returns the event time of event n, truncated to milliseconds.
func EventTime(cfg Config, n int64) time.Time {
	cfg = cfg.WithDefaults()
	return cfg.eventTime(n)
}

func (c *Config) eventTime(n int64) time.Time {
	return c.FirstEventTime.Add(time.Duration(n) * c.InterEventDelay).Truncate(time.Millisecond)
}

// Events generates events [from, to) (clamped to [0, cfg.Events)) as Go
// values, in event order. Any split of a range gives the same rows.
func Events(cfg Config, from, to int64) (people []Person, auctions []Auction, bids []Bid, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, nil, err
	}
	cfg = cfg.WithDefaults()
	from, to = max(from, 0), min(to, cfg.Events)
	g := newGen(&cfg)
	for n := from; n < to; n++ {
		switch cfg.kind(n) {
		case KindPerson:
			people = append(people, g.person(n))
		case KindAuction:
			auctions = append(auctions, g.auction(n))
		default:
			bids = append(bids, g.bid(n))
		}
	}
	return people, auctions, bids, nil
}

// gen holds the per-config state: the PRNG reseeded per event and the
// channel URLs.
type gen struct {
	c       *Config
	pcg     *rand.PCG
	r       *rand.Rand
	hotURLs [4]string
}

var hotChannels = [4]string{"Google", "Facebook", "Baidu", "Apple"}

func newGen(c *Config) *gen {
	g := &gen{c: c, pcg: rand.NewPCG(0, 0)}
	g.r = rand.New(g.pcg)
	for i := range g.hotURLs {
		g.seed(-1 - int64(i))
		g.hotURLs[i] = g.baseURL()
	}
	return g
}

// seed makes the PRNG the one of event n (or of a negative stream id).
func (g *gen) seed(n int64) {
	g.pcg.Seed(g.c.Seed, uint64(n)*0x9e3779b97f4a7c15+0x632be59bd9b4e019)
}

func (c *Config) lastBase0PersonID(n int64) int64 {
	epoch, off := n/c.total(), n%c.total()
	if off >= int64(c.PersonProportion) {
		off = int64(c.PersonProportion) - 1
	}
	return epoch*int64(c.PersonProportion) + off
}

func (c *Config) lastBase0AuctionID(n int64) int64 {
	epoch, off := n/c.total(), n%c.total()
	p, a := int64(c.PersonProportion), int64(c.AuctionProportion)
	switch {
	case off < p:
		epoch--
		off = a - 1
	case off >= p+a:
		off = a - 1
	default:
		off -= p
	}
	return epoch*a + off
}

func (g *gen) nextBase0PersonID(n int64) int64 {
	num := g.c.lastBase0PersonID(n) + 1
	active := min(num, int64(g.c.NumActivePeople))
	return num - active + g.r.Int64N(active+personIDLead)
}

func (g *gen) nextBase0AuctionID(n int64) int64 {
	last := g.c.lastBase0AuctionID(n)
	lo := max(last-int64(g.c.NumInFlightAuctions), 0)
	return lo + g.r.Int64N(last-lo+1+auctionIDLead)
}

// nextPrice is the reference's round(10^(6u) * 100): cents, heavy-tailed.
func (g *gen) nextPrice() int64 {
	return int64(math.Round(math.Pow(10, g.r.Float64()*6) * 100))
}

// nextString is a string of 3..maxLen-1 lowercase letters, about one in 13
// replaced by special, trimmed of spaces.
func (g *gen) nextString(maxLen int, special byte) string {
	n := minStringLength + g.r.IntN(maxLen-minStringLength)
	b := make([]byte, n)
	for i := range b {
		if g.r.IntN(13) == 0 {
			b[i] = special
		} else {
			b[i] = byte('a' + g.r.IntN(26))
		}
	}
	return strings.TrimSpace(string(b))
}

// exactString is n random lowercase letters, 13 from each 64-bit draw (as
// the reference takes 6 from each 31-bit one).
func (g *gen) exactString(n int) string {
	b := make([]byte, n)
	var u uint64
	for i := range b {
		if i%13 == 0 {
			u = g.pcg.Uint64()
		}
		b[i] = byte('a' + u%26)
		u /= 26
	}
	return string(b)
}

// nextExtra pads a row of currentSize bytes to avg bytes on average (±20%).
func (g *gen) nextExtra(currentSize, avg int) string {
	if currentSize > avg {
		return ""
	}
	avg -= currentSize
	delta := int(math.Round(float64(avg) * 0.2))
	size := avg - delta
	if delta != 0 {
		size += g.r.IntN(2 * delta)
	}
	return g.exactString(size)
}

func (g *gen) baseURL() string {
	return "https://www.nexmark.com/" + g.nextString(5, '_') + "/" + g.nextString(5, '_') + "/" + g.nextString(5, '_') + "/item.htm?query=1"
}

var (
	usStates   = []string{"AZ", "CA", "ID", "OR", "WA", "WY"}
	usCities   = []string{"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"}
	firstNames = []string{"Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"}
	lastNames  = []string{"Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"}
)

func (g *gen) person(n int64) Person {
	g.seed(n)
	r := g.r
	p := Person{ID: g.c.lastBase0PersonID(n) + FirstPersonID, DateTime: g.c.eventTime(n)}
	p.Name = firstNames[r.IntN(len(firstNames))] + " " + lastNames[r.IntN(len(lastNames))]
	p.EmailAddress = g.nextString(7, ' ') + "@" + g.nextString(5, ' ') + ".com"
	var cc strings.Builder
	for i := 0; i < 4; i++ {
		if i > 0 {
			cc.WriteByte(' ')
		}
		s := strconv.Itoa(r.IntN(10000))
		cc.WriteString(strings.Repeat("0", 4-len(s)) + s)
	}
	p.CreditCard = cc.String()
	p.City = usCities[r.IntN(len(usCities))]
	p.State = usStates[r.IntN(len(usStates))]
	size := 8 + len(p.Name) + len(p.EmailAddress) + len(p.CreditCard) + len(p.City) + len(p.State)
	p.Extra = g.nextExtra(size, g.c.AvgPersonByteSize)
	return p
}

func (g *gen) auction(n int64) Auction {
	g.seed(n)
	r := g.r
	a := Auction{ID: g.c.lastBase0AuctionID(n) + FirstAuctionID, DateTime: g.c.eventTime(n)}
	if r.IntN(g.c.HotSellersRatio) > 0 {
		a.Seller = g.c.lastBase0PersonID(n) / hotSellerBatch * hotSellerBatch
	} else {
		a.Seller = g.nextBase0PersonID(n)
	}
	a.Seller += FirstPersonID
	a.Category = FirstCategoryID + int64(r.IntN(NumCategories))
	a.InitialBid = g.nextPrice()
	// The auction lasts twice, on average, the time until NumInFlightAuctions
	// more auctions have been generated.
	ahead := int64(g.c.NumInFlightAuctions) * g.c.total() / int64(g.c.AuctionProportion)
	horizonMs := g.c.eventTime(n + ahead).Sub(a.DateTime).Milliseconds()
	a.Expires = a.DateTime.Add(time.Duration(1+r.Int64N(max(horizonMs*2, 1))) * time.Millisecond)
	a.ItemName = g.nextString(20, ' ')
	a.Description = g.nextString(100, ' ')
	a.Reserve = a.InitialBid + g.nextPrice()
	size := 8 + len(a.ItemName) + len(a.Description) + 8 + 8 + 8 + 8 + 8
	a.Extra = g.nextExtra(size, g.c.AvgAuctionByteSize)
	return a
}

func (g *gen) bid(n int64) Bid {
	g.seed(n)
	r := g.r
	b := Bid{DateTime: g.c.eventTime(n)}
	if r.IntN(g.c.HotAuctionRatio) > 0 {
		b.Auction = g.c.lastBase0AuctionID(n) / hotAuctionBatch * hotAuctionBatch
	} else {
		b.Auction = g.nextBase0AuctionID(n)
	}
	b.Auction += FirstAuctionID
	if r.IntN(g.c.HotBiddersRatio) > 0 {
		// The second person of the batch, so hot bidders are not hot sellers.
		b.Bidder = g.c.lastBase0PersonID(n)/hotBidderBatch*hotBidderBatch + 1
	} else {
		b.Bidder = g.nextBase0PersonID(n)
	}
	b.Bidder += FirstPersonID
	b.Price = g.nextPrice()
	if r.IntN(hotChannelsRatio) > 0 {
		i := r.IntN(len(hotChannels))
		b.Channel, b.URL = hotChannels[i], g.hotURLs[i]
	} else {
		b.Channel, b.URL = g.channel(r.IntN(channelsNumber))
	}
	b.Extra = g.nextExtra(8+8+8+8, g.c.AvgBidByteSize)
	return b
}

// channel returns channel k's name and URL, a function of (Seed, k) only.
// It draws from its own PRNG and leaves the event's untouched.
func (g *gen) channel(k int) (string, string) {
	saved := *g.pcg
	g.seed(-100 - int64(k))
	url := g.baseURL()
	if g.r.IntN(10) > 0 {
		url += "&channel_id=" + strconv.FormatInt(int64(reverse32(int32(k))), 10)
	}
	*g.pcg = saved
	return "channel-" + strconv.Itoa(k), url
}

// reverse32 is Java's Math.abs(Integer.reverse(k)).
func reverse32(k int32) int64 {
	var v uint32
	u := uint32(k)
	for i := 0; i < 32; i++ {
		v = v<<1 | u&1
		u >>= 1
	}
	r := int64(int32(v))
	if r < 0 {
		r = -r
	}
	return r
}
