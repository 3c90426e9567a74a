package dataframe_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/internal/devkafka"
	"github.com/sluicehq/sluice/trigger"
)

// Kafka in, windowed counts, Kafka out, exactly once (docs/kafka.md). The
// broker is the embedded one `sluice dev kafka` runs.
func Example_kafka() {
	ctx := context.Background()
	broker, err := devkafka.Start(ctx, devkafka.Config{Partitions: 2, Topics: []string{"user-clicks", "click-counts-output"}})
	if err != nil {
		log.Fatal(err)
	}
	defer broker.Close()
	cl, _ := broker.Client(kgo.DefaultProduceTopic("user-clicks"))
	for _, v := range []string{
		`{"user_id":"u1","event_type":"view","ts":"2026-01-01T00:00:01Z"}`,
		`{"user_id":"u1","event_type":"view","ts":"2026-01-01T00:00:02Z"}`,
		`{"user_id":"u2","event_type":"click","ts":"2026-01-01T00:00:03Z"}`,
	} {
		cl.ProduceSync(ctx, &kgo.Record{Key: []byte("k"), Value: []byte(v)})
	}
	cl.Close()
	addr := broker.Addr()
	ckpt, err := os.MkdirTemp("", "sluice-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(ckpt)

	s := dataframe.NewSession()
	clicks := s.ReadStreamFormat("kafka").
		Option("kafka.bootstrap.servers", addr).
		Option("subscribe", "user-clicks").
		Option("startingOffsets", "earliest").
		Option("valueFormat", "json").
		Option("valueSchema", "user_id STRING, event_type STRING, ts TIMESTAMP").
		Load()
	counts := clicks.SelectExpr("value.user_id", "value.event_type", "value.ts").
		Filter("event_type = 'view'").
		WithWatermark("ts", "10 minutes").
		GroupBy(dataframe.Window(dataframe.Col("ts"), "5 minutes"), dataframe.Col("user_id")).
		Agg(dataframe.Count("*").As("views")).
		Select(dataframe.Col("user_id").As("key"),
			dataframe.ToJSON(dataframe.Struct(dataframe.Col("user_id"), dataframe.Col("window.start").As("start"), dataframe.Col("views"))).As("value"))
	q, err := counts.WriteStream().Format("kafka").OutputMode(dataframe.Update).
		Option("kafka.bootstrap.servers", addr).
		Option("topic", "click-counts-output").
		Option("checkpointLocation", ckpt).
		Trigger(trigger.AvailableNow()).
		Start(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if err := q.AwaitTermination(ctx); err != nil {
		log.Fatal(err)
	}

	out, err := s.Read().
		Option("kafka.bootstrap.servers", addr).
		Option("subscribe", "click-counts-output").
		Kafka().
		SelectExpr("CAST(key AS STRING) AS key", "CAST(value AS STRING) AS value").
		Rows()
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range out {
		fmt.Println(r[0], r[1])
	}
	// Output:
	// u1 {"user_id":"u1","start":"2026-01-01T00:00:00.000Z","views":2}
}
