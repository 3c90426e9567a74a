// Command scheduled prints what job.yaml collected so far: the server
// errors under out/server-errors (committed batches only).
//
//	go run ./cmd/sluice schedule examples/scheduled/job.yaml
//	go run ./examples/scheduled
package main

import (
	"fmt"
	"io"
	"log"
	"os"

	"github.com/sluicehq/sluice/dataframe"
)

func main() {
	if err := show(dataframe.NewSession(), "examples/scheduled/out/server-errors", os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func show(s *dataframe.Session, dir string, out io.Writer) error {
	table, err := s.Read().Parquet(dir).OrderBy("ts", "host").ShowString(20, false)
	if err != nil {
		return fmt.Errorf("read %s (wait for a firing, or sluice run the job once): %w", dir, err)
	}
	_, err = fmt.Fprint(out, table)
	return err
}
