// Command files-to-parquet prints what job.yaml wrote: the Parquet dataset
// under out/orders, read back with the day=... directories as a column.
// Only files of committed batches are read (the sink's _sluice_log).
//
//	go run ./cmd/sluice run examples/files-to-parquet/job.yaml
//	go run ./examples/files-to-parquet
package main

import (
	"fmt"
	"io"
	"log"
	"os"

	"github.com/sluicehq/sluice/dataframe"
)

func main() {
	if err := show(dataframe.NewSession(), "examples/files-to-parquet/out/orders", os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// show prints the dataset at dir, ordered by order_id, and rows per day.
func show(s *dataframe.Session, dir string, out io.Writer) error {
	orders := s.Read().Parquet(dir)
	table, err := orders.OrderBy("order_id").ShowString(20, false)
	if err != nil {
		return fmt.Errorf("read %s (run the job first): %w", dir, err)
	}
	perDay, err := orders.GroupBy("day").Count().OrderBy("day").ShowString(20, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s\n%s", table, perDay)
	return nil
}
