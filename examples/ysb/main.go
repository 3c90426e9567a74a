// Command ysb runs the Yahoo Streaming Benchmark query over a generated set
// of JSON event files: ad views joined with a static ads -> campaigns table,
// counted per campaign in 10-second event-time windows.
//
//	go run ./examples/ysb                      # 200k events in 8 files
//	go run ./examples/ysb -events 2000000 -files 20
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/trigger"
)

func main() {
	events := flag.Int("events", 200_000, "events to generate")
	files := flag.Int("files", 8, "files to spread them over (the stream reads 2 per micro-batch)")
	dir := flag.String("dir", "", "where to write the data (default: a temporary directory)")
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "sluice-ysb-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	gen := newGenerator(10, 10)
	if err := gen.writeFiles(*dir, *events, *files); err != nil {
		log.Fatal(err)
	}
	if _, err := run(context.Background(), dataframe.NewSession(), *dir, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// query is the benchmark's query: views per campaign and 10 s window. The
// events are a stream, ads a static table; the join needs no state.
const query = `
SELECT a.campaign_id, window.start AS window_start, count(*) AS views
FROM events e JOIN ads a ON e.ad_id = a.ad_id
WHERE e.event_type = 'view'
GROUP BY a.campaign_id, window(timestamp_millis(CAST(e.event_time AS BIGINT)), '10 seconds')`

// run streams dir/events/*.json through the query until every file is read
// (availableNow) and prints the busiest windows. It returns the counts.
func run(ctx context.Context, s *dataframe.Session, dir string, out io.Writer) (map[string]int64, error) {
	events := s.ReadStreamFormat("json").
		Schema("user_id STRING, page_id STRING, ad_id STRING, ad_type STRING, event_type STRING, event_time STRING, ip_address STRING").
		Option("maxFilesPerTrigger", "2").
		Load(filepath.Join(dir, "events"))
	ads := s.Read().Schema("ad_id STRING, campaign_id STRING").Option("header", "true").
		CSV(filepath.Join(dir, "ads.csv")).
		Cache() // read the static side once, not every micro-batch
	defer ads.Unpersist()
	if err := events.CreateOrReplaceTempView("events"); err != nil {
		return nil, err
	}
	if err := ads.CreateOrReplaceTempView("ads"); err != nil {
		return nil, err
	}
	start := time.Now()
	q, err := s.SQL(query).WriteStream().
		Format("memory").QueryName("campaign_views"). // complete mode: the whole table each batch
		OutputMode(dataframe.Complete).
		Trigger(trigger.AvailableNow()).
		Start(ctx)
	if err != nil {
		return nil, err
	}
	if err := q.AwaitTermination(ctx); err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	defer s.DropTempView("campaign_views")

	var read int64
	for _, p := range q.RecentProgress() {
		read += p.NumInputRows
	}
	fmt.Fprintf(out, "%d events in %d micro-batches, %.0f events/s\n", read, len(q.RecentProgress()), float64(read)/elapsed.Seconds())
	result := s.Table("campaign_views")
	top, err := result.OrderBy(dataframe.Col("views").Desc(), dataframe.Col("campaign_id"), dataframe.Col("window_start")).ShowString(5, false)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "busiest campaign windows:\n%s", top)
	rows, err := result.Rows()
	if err != nil {
		return nil, err
	}
	counts := make(map[string]int64, len(rows))
	for _, r := range rows {
		counts[fmt.Sprintf("%v %v", r[0], r[1].(time.Time).UTC().Format(time.RFC3339))] = r[2].(int64)
	}
	return counts, nil
}

// generator makes the benchmark's events: campaigns of adsPer ads, 100
// users and pages, ad and event types uniformly at random, event times a
// string of epoch milliseconds, as yahoo/streaming-benchmarks does.
type generator struct {
	r        *rand.Rand
	ads      []string
	campaign map[string]string // ad -> campaign
	users    []string
}

func newGenerator(campaigns, adsPer int) *generator {
	g := &generator{r: rand.New(rand.NewPCG(7, 11)), campaign: map[string]string{}}
	for c := 0; c < campaigns; c++ {
		cid := g.uuid()
		for a := 0; a < adsPer; a++ {
			ad := g.uuid()
			g.ads = append(g.ads, ad)
			g.campaign[ad] = cid
		}
	}
	for i := 0; i < 100; i++ {
		g.users = append(g.users, g.uuid())
	}
	return g
}

func (g *generator) uuid() string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

var (
	adTypes    = []string{"banner", "modal", "sponsored-search", "mail", "mobile"}
	eventTypes = []string{"view", "click", "purchase"}
)

// startMs is event 0's time; events are 1ms apart (1000 events/s of event time).
const startMs = int64(1_700_000_003_000)

// writeFiles writes dir/ads.csv and n events over files JSON files in
// dir/events, and returns nothing the query needs besides the files.
func (g *generator) writeFiles(dir string, n, files int) error {
	if err := os.MkdirAll(filepath.Join(dir, "events"), 0o755); err != nil {
		return err
	}
	ads, err := os.Create(filepath.Join(dir, "ads.csv"))
	if err != nil {
		return err
	}
	fmt.Fprintln(ads, "ad_id,campaign_id")
	for _, ad := range g.ads {
		fmt.Fprintf(ads, "%s,%s\n", ad, g.campaign[ad])
	}
	if err := ads.Close(); err != nil {
		return err
	}
	per := (n + files - 1) / files
	for f, i := 0, 0; i < n; f++ {
		file, err := os.Create(filepath.Join(dir, "events", fmt.Sprintf("part-%04d.json", f)))
		if err != nil {
			return err
		}
		w := bufio.NewWriter(file)
		for end := min(i+per, n); i < end; i++ {
			fmt.Fprintf(w, `{"user_id": "%s", "page_id": "%s", "ad_id": "%s", "ad_type": "%s", "event_type": "%s", "event_time": "%d", "ip_address": "1.2.3.4"}`+"\n",
				g.users[g.r.IntN(len(g.users))], g.users[g.r.IntN(len(g.users))], g.ads[g.r.IntN(len(g.ads))],
				adTypes[g.r.IntN(len(adTypes))], eventTypes[g.r.IntN(len(eventTypes))], startMs+int64(i))
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if err := file.Close(); err != nil {
			return err
		}
	}
	return nil
}
