// Package nexmark generates the Nexmark benchmark's events (people,
// auctions and bids) as Arrow record batches, holds the SQL of queries q0-q8
// in sluice's Spark dialect, and computes each query's result in plain Go
// for checking the engine.
//
// The generator follows the reference generator of the nexmark repository
// (nexmark/nexmark, nexmark-flink's generator package): event n is a person,
// an auction or a bid by n modulo the proportions (1:3:46), ids are derived
// from n, hot auctions/bidders/sellers are chosen with the same ratios,
// strings have the same lengths, and event n's time is FirstEventTime +
// n*InterEventDelay. Each event draws its random values from its own PRNG
// seeded by (Seed, n), so any range of events can be generated on its own,
// in any order, and always gives the same rows.
//
// Deviations from the reference, on purpose:
//   - the reference seeds java.util.Random with the event id; we use PCG
//     seeded by (Seed, n): same distributions, different values;
//   - the reference adds FIRST_PERSON_ID to a bid's bidder twice (bidders
//     are 1000 above every person id); we add it once, so bidders are people;
//   - the reference's hot-channel URLs are drawn from an unseeded Random at
//     start-up; ours are derived from Seed, so runs repeat.
package nexmark

import (
	"errors"
	"fmt"
	"time"
)

// ErrConfig is wrapped by every Config.Validate error.
var ErrConfig = errors.New("nexmark: invalid config")

// Config parameterises the generator. Zero values take the documented
// default (the reference generator's defaults); call WithDefaults or rely on
// the functions of this package, which apply them.
type Config struct {
	// Events is the number of events (people + auctions + bids) to
	// generate. Default 100_000.
	Events int64
	// Seed selects the random values; 0 is a valid seed.
	Seed uint64
	// FirstEventTime is the event time of event 0. Default
	// 2015-07-15T00:00:00Z (the Beam Nexmark base time).
	FirstEventTime time.Time
	// InterEventDelay is the event-time distance between consecutive
	// events. Default 100µs (the reference's 10,000 events/s).
	// Event times are truncated to milliseconds, as Nexmark's TIMESTAMP(3).
	InterEventDelay time.Duration

	// Proportions of people, auctions and bids. Default 1, 3, 46.
	PersonProportion, AuctionProportion, BidProportion int
	// A bid is for a hot auction with probability 1-1/HotAuctionRatio
	// (default 2), by a hot bidder with 1-1/HotBiddersRatio (default 4);
	// an auction is by a hot seller with 1-1/HotSellersRatio (default 4).
	HotAuctionRatio, HotBiddersRatio, HotSellersRatio int
	// NumActivePeople bounds the people a random bidder or seller is
	// drawn from (default 1000); NumInFlightAuctions the auctions a random
	// bid is for (default 100).
	NumActivePeople, NumInFlightAuctions int
	// Average sizes in bytes the extra column pads rows to. Default 200,
	// 500, 100.
	AvgPersonByteSize, AvgAuctionByteSize, AvgBidByteSize int
}

// Defaults of Config.
const (
	DefaultEvents          = 100_000
	DefaultInterEventDelay = 100 * time.Microsecond
)

// DefaultFirstEventTime is the default Config.FirstEventTime.
var DefaultFirstEventTime = time.Date(2015, 7, 15, 0, 0, 0, 0, time.UTC)

// Constants of the reference generator.
const (
	FirstPersonID   = 1000
	FirstAuctionID  = 1000
	FirstCategoryID = 10
	NumCategories   = 5

	personIDLead     = 10
	auctionIDLead    = 10
	hotSellerBatch   = 100 // HOT_SELLER_RATIO of AuctionGenerator
	hotAuctionBatch  = 100 // HOT_AUCTION_RATIO of BidGenerator
	hotBidderBatch   = 100 // HOT_BIDDER_RATIO of BidGenerator
	hotChannelsRatio = 2
	channelsNumber   = 10_000
	minStringLength  = 3
)

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	if c.Events == 0 {
		c.Events = DefaultEvents
	}
	if c.FirstEventTime.IsZero() {
		c.FirstEventTime = DefaultFirstEventTime
	}
	if c.InterEventDelay == 0 {
		c.InterEventDelay = DefaultInterEventDelay
	}
	if c.PersonProportion == 0 && c.AuctionProportion == 0 && c.BidProportion == 0 {
		c.PersonProportion, c.AuctionProportion, c.BidProportion = 1, 3, 46
	}
	def(&c.HotAuctionRatio, 2)
	def(&c.HotBiddersRatio, 4)
	def(&c.HotSellersRatio, 4)
	def(&c.NumActivePeople, 1000)
	def(&c.NumInFlightAuctions, 100)
	def(&c.AvgPersonByteSize, 200)
	def(&c.AvgAuctionByteSize, 500)
	def(&c.AvgBidByteSize, 100)
	return c
}

// Validate reports every problem of c (after defaults) at once.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...))
	}
	if c.Events < 0 {
		bad("Events is %d; give a count >= 0", c.Events)
	}
	if c.InterEventDelay < 0 {
		bad("InterEventDelay is %s; give a delay >= 0", c.InterEventDelay)
	}
	if c.PersonProportion < 1 || c.AuctionProportion < 1 || c.BidProportion < 1 {
		bad("proportions %d:%d:%d; each must be >= 1", c.PersonProportion, c.AuctionProportion, c.BidProportion)
	}
	for _, r := range []struct {
		name string
		v    int
	}{{"HotAuctionRatio", c.HotAuctionRatio}, {"HotBiddersRatio", c.HotBiddersRatio}, {"HotSellersRatio", c.HotSellersRatio},
		{"NumActivePeople", c.NumActivePeople}, {"NumInFlightAuctions", c.NumInFlightAuctions}} {
		if r.v < 1 {
			bad("%s is %d; it must be >= 1", r.name, r.v)
		}
	}
	if c.AvgPersonByteSize < 0 || c.AvgAuctionByteSize < 0 || c.AvgBidByteSize < 0 {
		bad("average byte sizes must be >= 0")
	}
	return errors.Join(errs...)
}

func (c *Config) total() int64 {
	return int64(c.PersonProportion + c.AuctionProportion + c.BidProportion)
}
