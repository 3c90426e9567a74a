package dataframe_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/sources/memory"
	"github.com/sluicehq/sluice/trigger"
)

// A batch query: read CSV, filter, aggregate, sort, show.
func Example_batch() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "clicks.csv"), []byte(
		"user_id,event_type,ts\nu1,view,2026-01-01 00:00:01\nu2,view,2026-01-01 00:00:02\nu1,view,2026-01-01 00:05:00\nu1,click,2026-01-01 00:06:00\n"), 0o644)

	s := dataframe.NewSession()
	clicks := s.Read().Schema("user_id STRING, event_type STRING, ts TIMESTAMP").
		Option("header", "true").CSV(filepath.Join(dir, "*.csv"))
	views := clicks.Filter(dataframe.Col("event_type").Eq(dataframe.Lit("view")))
	perUser := views.GroupBy(dataframe.Col("user_id")).
		Agg(dataframe.Count("*").As("views"), dataframe.Max(dataframe.Col("ts")).As("last_seen"))
	if err := perUser.OrderBy(dataframe.Col("views").Desc()).Show(20); err != nil {
		fmt.Println(err)
	}
	// Output:
	// +-------+-----+-------------------+
	// |user_id|views|          last_seen|
	// +-------+-----+-------------------+
	// |     u1|    2|2026-01-01 00:05:00|
	// |     u2|    1|2026-01-01 00:00:02|
	// +-------+-----+-------------------+
}

// Click is a row of the example stream.
type Click struct {
	UserID    string
	EventType string
	TS        time.Time `sluice:"ts"`
}

// A streaming query over a memory stream, printed by the console sink.
func Example_streaming() {
	ctx := context.Background()
	ckpt, _ := os.MkdirTemp("", "ckpt")
	defer os.RemoveAll(ckpt)

	s := dataframe.NewSession()
	in := memory.NewStream[Click](s)
	q, err := s.ReadStream(in).
		Filter("event_type = 'view'").
		WithColumn("minute", dataframe.Expr("date_trunc('minute', ts)")).
		WriteStream().
		Format("console").
		OutputMode(dataframe.Append).
		Trigger(trigger.ProcessingTime(2*time.Second)).
		Option("checkpointLocation", ckpt).
		Start(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC)
	in.AddData(Click{"u1", "view", t0}, Click{"u2", "click", t0})
	if err := q.ProcessAllAvailable(ctx); err != nil {
		fmt.Println(err)
	}
	p := q.LastProgress()
	fmt.Println("batch", p.BatchID, "input rows", p.NumInputRows, "output rows", p.Sink.NumOutputRows)
	q.Stop(ctx)
	// Output:
	// -------------------------------------------
	// Batch: 0
	// -------------------------------------------
	// +-------+----------+-------------------+-------------------+
	// |user_id|event_type|                 ts|             minute|
	// +-------+----------+-------------------+-------------------+
	// |     u1|      view|2026-01-01 00:00:30|2026-01-01 00:00:00|
	// +-------+----------+-------------------+-------------------+
	//
	// batch 0 input rows 2 output rows 1
}
