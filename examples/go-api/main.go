// Command go-api shows the DataFrame API: a batch query over CSV files
// written out as Parquet, then the same kind of aggregation over a stream.
//
//	go run ./examples/go-api
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/sources/memory"
)

func main() {
	dir, err := os.MkdirTemp("", "sluice-go-api-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := run(context.Background(), dataframe.NewSession(), os.Stdout, dir); err != nil {
		log.Fatal(err)
	}
}

const salesCSV = `order_id,customer,region,amount,ts
1,ann,eu,30,2026-03-01 09:15:00
2,bob,us,12,2026-03-01 09:20:00
3,ann,eu,45,2026-03-01 10:05:00
4,cid,us,,2026-03-01 10:30:00
5,dan,apac,99,2026-03-02 08:00:00
6,bob,us,18,2026-03-02 08:45:00
`

// run does the whole tour in s, printing to out and writing under dir.
func run(ctx context.Context, s *dataframe.Session, out io.Writer, dir string) error {
	if err := batch(s, out, dir); err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	if err := stream(ctx, s, out, dir); err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	return nil
}

// batch: read CSV, aggregate, show, write partitioned Parquet, read it back.
func batch(s *dataframe.Session, out io.Writer, dir string) error {
	in := filepath.Join(dir, "sales")
	if err := os.MkdirAll(in, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(in, "2026-03.csv"), []byte(salesCSV), 0o644); err != nil {
		return err
	}
	sales := s.Read().
		Schema("order_id BIGINT, customer STRING, region STRING, amount INT, ts TIMESTAMP").
		Option("header", "true").
		CSV(in)

	// Transformations are lazy; an error (say, a misspelt column) is kept
	// and returned by the first action.
	perRegion := sales.
		Where("amount IS NOT NULL").
		GroupBy(dataframe.Col("region")).
		Agg(dataframe.Count("*").As("orders"), dataframe.Sum(dataframe.Col("amount")).As("revenue")).
		OrderBy(dataframe.Col("revenue").Desc())
	table, err := perRegion.ShowString(10, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Revenue per region (batch):\n%s\n", table)

	// The same in SQL, over a temporary view.
	if err := sales.CreateOrReplaceTempView("sales"); err != nil {
		return err
	}
	daily := s.SQL(`SELECT to_date(ts) AS day, count(*) AS orders, sum(amount) AS revenue
	                FROM sales GROUP BY to_date(ts) ORDER BY day`)
	if table, err = daily.ShowString(10, false); err != nil {
		return err
	}
	fmt.Fprintf(out, "Revenue per day (SQL):\n%s\n", table)

	// Parquet, one directory per region; reading it back sees region again.
	pq := filepath.Join(dir, "sales_parquet")
	if err := sales.Write().Mode("overwrite").PartitionBy("region").Parquet(pq); err != nil {
		return err
	}
	n, err := s.Read().Parquet(pq).Where("region = 'us'").Count()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Parquet written to region=.../ directories; %d orders in region=us\n\n", n)
	return nil
}

// Click is one row of the stream: fields map to columns by their sluice tag.
type Click struct {
	User string    `sluice:"user_id"`
	Page string    `sluice:"page"`
	TS   time.Time `sluice:"ts"`
}

// stream: clicks per user in 5-minute windows, updated as data arrives.
func stream(ctx context.Context, s *dataframe.Session, out io.Writer, dir string) error {
	clicks := memory.NewStream[Click](s) // sources/kafka, files and rate work the same way
	defer clicks.Close()                 // a source passed to ReadStream belongs to its caller
	counts := s.ReadStream(clicks).
		GroupBy(dataframe.Col("user_id"), dataframe.Window(dataframe.Col("ts"), "5 minutes")).
		Agg(dataframe.Count("*").As("clicks")).
		Select(dataframe.Col("user_id"), dataframe.Col("window.start").As("window_start"), dataframe.Col("clicks"))
	q, err := counts.WriteStream().
		Format("memory").QueryName("click_counts"). // a table to query with s.Table
		OutputMode(dataframe.Complete).
		Option("checkpointLocation", filepath.Join(dir, "checkpoint")).
		Start(ctx)
	if err != nil {
		return err
	}
	defer q.Stop(ctx)

	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	steps := [][]Click{
		{{"ann", "/", t0}, {"bob", "/", t0.Add(time.Minute)}, {"ann", "/cart", t0.Add(2 * time.Minute)}},
		{{"ann", "/pay", t0.Add(6 * time.Minute)}, {"bob", "/cart", t0.Add(3 * time.Minute)}},
	}
	for i, rows := range steps {
		if _, err := clicks.AddData(rows...); err != nil {
			return err
		}
		if err := q.ProcessAllAvailable(ctx); err != nil {
			return err
		}
		table, err := s.Table("click_counts").OrderBy("user_id", "window_start").ShowString(20, false)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "Clicks per user and 5-minute window after micro-batch %d (stream):\n%s\n", i, table)
	}
	return nil
}
