package nexmark

// Query is one Nexmark query in sluice's SQL dialect (Spark SQL).
type Query struct {
	// Name is "q0".."q8".
	Name string
	// Title is the query's name in the Nexmark suite.
	Title string
	// SQL reads the views person, auction and bid.
	SQL string
	// Adapted says what differs from the SQL published in the nexmark
	// repository (nexmark-flink/src/main/resources/queries) and why; ""
	// when the text is the published one.
	Adapted string
	// Tables are the views the query reads.
	Tables []string
	// Streaming reports whether the query runs as a stream: every table in
	// Tables is then a stream with WithWatermark("dateTime", WatermarkDelay).
	Streaming bool
	// StreamSQL, when not "", is what runs as a stream instead of SQL: a
	// rewrite with the same result that the streaming rules allow (Adapted
	// says why the published form does not stream).
	StreamSQL string
	// OutputMode is the streaming output mode ("append", "update" or
	// "complete"); "" when Streaming is false.
	OutputMode string
	// NotStreaming, when Streaming is false, says why and quotes the
	// error the engine gives at Start.
	NotStreaming string
}

// WatermarkDelay is the watermark delay declared on each stream's dateTime.
// The generator's event times never decrease, so no delay is needed.
const WatermarkDelay = "0 seconds"

// Queries are q0..q8 in order.
var Queries = []Query{
	{
		Name: "q0", Title: "Pass Through", Tables: []string{"bid"}, Streaming: true, OutputMode: "append",
		SQL: `SELECT auction, bidder, price, dateTime, extra FROM bid`,
	},
	{
		Name: "q1", Title: "Currency Conversion", Tables: []string{"bid"}, Streaming: true, OutputMode: "append",
		SQL: `SELECT auction, bidder, 0.908 * price as price, dateTime, extra FROM bid`,
	},
	{
		Name: "q2", Title: "Selection", Tables: []string{"bid"}, Streaming: true, OutputMode: "append",
		SQL: `SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0`,
	},
	{
		Name: "q3", Title: "Local Item Suggestion", Tables: []string{"auction", "person"}, Streaming: true, OutputMode: "append",
		SQL: `SELECT
    P.name, P.city, P.state, A.id
FROM
    auction AS A INNER JOIN person AS P on A.seller = P.id
WHERE
    A.category = 10 and (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA')`,
	},
	{
		Name: "q4", Title: "Average Price for a Category", Tables: []string{"auction", "bid"},
		Adapted: "none in the text; AVG of a BIGINT is a DOUBLE in Spark (Flink truncates to BIGINT)",
		SQL: `SELECT
    Q.category,
    AVG(Q.final)
FROM (
    SELECT MAX(B.price) AS final, A.category
    FROM auction A, bid B
    WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
    GROUP BY A.id, A.category
) Q
GROUP BY Q.category`,
		// Two aggregations over a stream-stream join: Spark refuses it in
		// every mode; sluice runs it in complete mode, the second
		// aggregation as a batch over the first's complete result.
		Streaming: true, OutputMode: "complete",
	},
	{
		Name: "q5", Title: "Hot Items", Tables: []string{"bid"}, Streaming: true, OutputMode: "append",
		Adapted: "Flink's HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND) " +
			"with window_start/window_end is Spark's GROUP BY window(dateTime, '10 seconds', '2 seconds') " +
			"with window.start/window.end. As a stream, the published form (two aggregations joined) " +
			"is refused at Start: \"a join of two streams after a streaming aggregation ... is not " +
			"supported\" (sluice's rule; Spark 3.5 chains window aggregations, and a time-interval " +
			"join followed by an aggregation, but not an aggregation followed by a join). StreamSQL " +
			"chains the two aggregations instead, in append mode: the second groups the first's rows " +
			"by window_time(window) and keeps the (auction, count) pairs tied at the window's largest " +
			"count (max_by_all, a sluice extension), which explode turns into rows. (In complete mode " +
			"the published form streams as it is.)",
		StreamSQL: `SELECT b.auction, b.num
FROM (
  SELECT explode(bids) AS b
  FROM (
    SELECT max_by_all(named_struct('auction', auction, 'num', num), num) AS bids
    FROM (
      SELECT auction, count(*) AS num, window
      FROM bid
      GROUP BY auction, window(dateTime, '10 seconds', '2 seconds')
    ) AS CountBids
    GROUP BY window_time(window)
  ) AS MaxBids
) AS HotBids`,
		SQL: `SELECT AuctionBids.auction, AuctionBids.num
 FROM (
   SELECT
     auction,
     count(*) AS num,
     window.start AS starttime,
     window.end AS endtime
   FROM bid
   GROUP BY auction, window(dateTime, '10 seconds', '2 seconds')
 ) AS AuctionBids
 JOIN (
   SELECT
     max(CountBids.num) AS maxn,
     CountBids.starttime,
     CountBids.endtime
   FROM (
     SELECT
       count(*) AS num,
       window.start AS starttime,
       window.end AS endtime
     FROM bid
     GROUP BY auction, window(dateTime, '10 seconds', '2 seconds')
   ) AS CountBids
   GROUP BY CountBids.starttime, CountBids.endtime
 ) AS MaxBids
 ON AuctionBids.starttime = MaxBids.starttime AND
    AuctionBids.endtime = MaxBids.endtime AND
    AuctionBids.num >= MaxBids.maxn`,
	},
	{
		Name: "q6", Title: "Average Selling Price by Seller", Tables: []string{"auction", "bid"},
		Adapted: "the published q6 averages each seller's last 10 closing prices with " +
			"AVG(...) OVER (PARTITION BY seller ORDER BY dateTime ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) " +
			"over a ROW_NUMBER() filter; sluice has no OVER windows (and the nexmark repository marks q6 " +
			"as unsupported by Flink SQL too), so this is the average of all closing prices per seller, " +
			"with q4's closing-price core",
		SQL: `SELECT
    Q.seller,
    AVG(Q.final) AS avg_price
FROM (
    SELECT MAX(B.price) AS final, A.seller
    FROM auction AS A, bid AS B
    WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
    GROUP BY A.id, A.seller
) Q
GROUP BY Q.seller`,
		Streaming: true, OutputMode: "complete", // as q4
	},
	{
		Name: "q7", Title: "Highest Bid", Tables: []string{"bid"}, Streaming: true, OutputMode: "append",
		Adapted: "Flink's TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND) grouped by " +
			"window_start, window_end is Spark's GROUP BY window(dateTime, '10 seconds'); window_end is window.end. " +
			"As a stream, the published form (an aggregation joined back to its input) is refused at Start " +
			"as q5's is. StreamSQL is one window aggregation in append mode with max_by_all (a sluice " +
			"extension: every bid at the window's largest price, so the state is those bids, not all of " +
			"them), exploded; it differs from the published form only for a bid whose time is exactly " +
			"a window's end, which the published BETWEEN also matches with the window before",
		StreamSQL: `SELECT b.auction, b.bidder, b.price, b.dateTime, b.extra
FROM (
  SELECT explode(bids) AS b
  FROM (
    SELECT max_by_all(named_struct('auction', auction, 'bidder', bidder, 'price', price,
                                   'dateTime', dateTime, 'extra', extra), price) AS bids
    FROM bid
    GROUP BY window(dateTime, '10 seconds')
  ) AS B1
) AS B`,
		SQL: `SELECT B.auction, B.bidder, B.price, B.dateTime, B.extra
from bid B
JOIN (
  SELECT MAX(price) AS maxprice, window.end as dateTime
  FROM bid
  GROUP BY window(dateTime, '10 seconds')
) B1
ON B.price = B1.maxprice
WHERE B.dateTime BETWEEN B1.dateTime - INTERVAL '10' SECOND AND B1.dateTime`,
	},
	{
		Name: "q8", Title: "Monitor New Users", Tables: []string{"person", "auction"}, Streaming: true, OutputMode: "append",
		Adapted: "Flink's TUMBLE(TABLE t, DESCRIPTOR(dateTime), INTERVAL '10' SECOND) with " +
			"window_start/window_end is Spark's GROUP BY window(dateTime, '10 seconds') with window.start/window.end. " +
			"As a stream, the published form (two aggregations joined) is refused at Start as q5's is. " +
			"StreamSQL is a stream-stream LEFT SEMI join of each person with the auctions it sells in " +
			"its window, in append mode; it equals the published form when no two person rows share " +
			"(id, name, window), which Nexmark's unique person ids guarantee",
		StreamSQL: `SELECT P.id, P.name, P.starttime
FROM (
  SELECT id, name,
         window(dateTime, '10 seconds').start AS starttime,
         window(dateTime, '10 seconds').end AS endtime
  FROM person
) P
LEFT SEMI JOIN auction A
ON P.id = A.seller AND A.dateTime >= P.starttime AND A.dateTime < P.endtime`,
		SQL: `SELECT P.id, P.name, P.starttime
FROM (
  SELECT id, name,
         window.start AS starttime,
         window.end AS endtime
  FROM person
  GROUP BY id, name, window(dateTime, '10 seconds')
) P
JOIN (
  SELECT seller,
         window.start AS starttime,
         window.end AS endtime
  FROM auction
  GROUP BY seller, window(dateTime, '10 seconds')
) A
ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime`,
	},
}

// QueryByName returns the query named name ("q0".."q8").
func QueryByName(name string) (Query, bool) {
	for _, q := range Queries {
		if q.Name == name {
			return q, true
		}
	}
	return Query{}, false
}
