// Package console is the console sink: each micro-batch printed as a
// table, like Spark's console sink. For demos and debugging.
package console

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/internal/tableformat"
	"github.com/sluicehq/sluice/sinks"
)

// Options configure the console sink.
type Options struct {
	// NumRows is the most rows printed per batch. Default 20.
	NumRows int
	// Truncate cuts values longer than 20 characters. Default true.
	Truncate *bool
	// Out receives the tables. Default os.Stdout.
	Out io.Writer
}

// ParseOptions reads Spark's option names numRows and truncate.
func ParseOptions(m map[string]string) (Options, error) {
	var o Options
	if v, ok := m["numRows"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return o, fmt.Errorf("%w: console option numRows=%q must be a non-negative integer", sinks.ErrSink, v)
		}
		o.NumRows = n
	}
	if v, ok := m["truncate"]; ok {
		t, err := strconv.ParseBool(v)
		if err != nil {
			return o, fmt.Errorf("%w: console option truncate=%q must be true or false", sinks.ErrSink, v)
		}
		o.Truncate = &t
	}
	return o, nil
}

// Sink prints batches. Replaying a batch prints it again: the console is a
// debugging aid, not an exactly-once sink.
type Sink struct {
	opts Options
	mu   sync.Mutex
}

// New makes a console sink.
func New(o Options) *Sink {
	if o.NumRows == 0 {
		o.NumRows = 20
	}
	if o.Truncate == nil {
		t := true
		o.Truncate = &t
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	return &Sink{opts: o}
}

// AddBatch prints the batch under a "Batch: N" banner.
func (s *Sink) AddBatch(ctx context.Context, batchID int64, mode sinks.OutputMode, rows array.RecordReader) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var cells [][]string
	total := 0
	for rows.Next() {
		b := rows.RecordBatch()
		total += int(b.NumRows())
		cells = tableformat.Cells(b, s.opts.NumRows, *s.opts.Truncate, cells)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(s.opts.Out, "-------------------------------------------\nBatch: %d\n-------------------------------------------\n%s\n",
		batchID, tableformat.FormatAligned(tableformat.Header(rows.Schema()), cells, total > len(cells), s.opts.NumRows, *s.opts.Truncate))
	return err
}

func (s *Sink) Close() error        { return nil }
func (s *Sink) Description() string { return "ConsoleSink" }
