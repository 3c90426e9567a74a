// Command clickcount is job.yaml written in Go: clicks per user in 5-minute
// tumbling windows, read from the Kafka topic user-clicks and written
// exactly once to click-counts-output. It can also write sample clicks.
//
//	go run ./cmd/sluice dev kafka               # another shell: a broker on 127.0.0.1:9092
//	go run ./examples/clickcount -produce 200   # 200 sample clicks into user-clicks
//	go run ./examples/clickcount                # the pipeline, until Ctrl-C
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/trigger"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.Brokers, "brokers", "127.0.0.1:9092", "Kafka bootstrap servers")
	flag.StringVar(&cfg.Output, "topic", "click-counts-output", "output topic")
	flag.StringVar(&cfg.Checkpoint, "checkpoint", "examples/clickcount/out/checkpoint-go", "checkpoint directory")
	flag.BoolVar(&cfg.Once, "once", false, "process what user-clicks holds now, then stop (AvailableNow)")
	produce := flag.Int("produce", 0, "write this many sample clicks to user-clicks and exit")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *produce > 0 {
		if err := produceClicks(ctx, cfg.Brokers, sampleClicks(*produce, time.Now())); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("wrote %d clicks to user-clicks\n", *produce)
		return
	}
	if err := run(ctx, dataframe.NewSession(), cfg, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

type config struct {
	Brokers, Output, Checkpoint string
	Once                        bool
}

// clickCounts is the pipeline: the same plan job.yaml's SQL builds.
func clickCounts(s *dataframe.Session, cfg config) *dataframe.DataStreamWriter {
	clicks := s.ReadStreamFormat("kafka").
		Option("kafka.bootstrap.servers", cfg.Brokers).
		Option("subscribe", "user-clicks").
		Option("startingOffsets", "earliest").
		Option("valueFormat", "json"). // value becomes a struct of these fields
		Option("valueSchema", "user_id STRING, event_type STRING, timestamp TIMESTAMP").
		Load().
		SelectExpr("value.user_id AS user_id", "value.event_type AS event_type", "value.timestamp AS timestamp")
	counts := clicks.
		WithWatermark("timestamp", "10 seconds").
		GroupBy(dataframe.Col("user_id"), dataframe.Window(dataframe.Col("timestamp"), "5 minutes")).
		Agg(dataframe.Count("*").As("clicks")).
		Select(
			dataframe.Col("user_id").As("key"), // one partition per user: updates stay in order
			dataframe.ToJSON(dataframe.Struct(
				dataframe.Col("user_id"),
				dataframe.Col("window.start").As("window_start"),
				dataframe.Col("window.end").As("window_end"),
				dataframe.Col("clicks"))).As("value"))
	t := trigger.ProcessingTime(2 * time.Second)
	if cfg.Once {
		t = trigger.AvailableNow()
	}
	return counts.WriteStream().
		Format("kafka").
		Option("kafka.bootstrap.servers", cfg.Brokers).
		Option("topic", cfg.Output). // exactly-once: one Kafka transaction per micro-batch
		OutputMode(dataframe.Update).
		Trigger(t).
		Option("checkpointLocation", cfg.Checkpoint).
		QueryName("click-counts-go")
}

// run runs the pipeline until ctx is done (or, with Once, the backlog is
// processed), printing one line per micro-batch.
func run(ctx context.Context, s *dataframe.Session, cfg config, out io.Writer) error {
	q, err := clickCounts(s, cfg).
		Listener(microbatch.ListenerFuncs{Progress: func(e microbatch.ProgressEvent) {
			p := e.Progress
			fmt.Fprintf(out, "batch %d: %d clicks in, %d counts out to %s\n", p.BatchID, p.NumInputRows, p.Sink.NumOutputRows, cfg.Output)
		}}).
		Start(ctx)
	if err != nil {
		return err
	}
	select {
	case <-q.Done():
	case <-ctx.Done():
		q.Stop(context.Background())
	}
	return q.Exception()
}

type click struct {
	UserID    string    `json:"user_id"`
	EventType string    `json:"event_type"`
	Timestamp time.Time `json:"timestamp"`
}

// sampleClicks makes n clicks of five users, 100ms apart from t0.
func sampleClicks(n int, t0 time.Time) []click {
	users := []string{"ann", "bob", "cid", "dan", "eve"}
	types := []string{"view", "view", "click", "purchase"}
	out := make([]click, n)
	for i := range out {
		out[i] = click{users[(i*7)%len(users)], types[i%len(types)], t0.Add(time.Duration(i) * 100 * time.Millisecond).UTC()}
	}
	return out
}

// produceClicks writes clicks to user-clicks as JSON, keyed by user.
func produceClicks(ctx context.Context, brokers string, clicks []click) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.DefaultProduceTopic("user-clicks"), kgo.AllowAutoTopicCreation())
	if err != nil {
		return err
	}
	defer cl.Close()
	recs := make([]*kgo.Record, len(clicks))
	for i, c := range clicks {
		v, err := json.Marshal(c)
		if err != nil {
			return err
		}
		recs[i] = &kgo.Record{Key: []byte(c.UserID), Value: v}
	}
	return cl.ProduceSync(ctx, recs...).FirstErr()
}
