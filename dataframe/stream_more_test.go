package dataframe

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/internal/datadriven"
	"github.com/sluicehq/sluice/sinks"
	memsrc "github.com/sluicehq/sluice/sources/memory"
)

// moreHarness holds the state of the stream-script commands of this file
// (testdata/stream/README lists them):
//
//	limited-stream NAME maxRowsPerTrigger=N   a memory stream with a row cap per batch
//	wait-idle        wait until the query sleeps on the manual clock; output: the batches the sink got
//	slow-next DUR    the next batch's sink advances the manual clock by DUR (a batch that overruns)
//	progress-log     the batch id and trigger time of each progress report not shown yet
//	view NAME        input: a stream script; "from NAME" and "join NAME" then read it
type moreHarness struct {
	slow   time.Duration // pending clock advance for the next sink call
	logged map[string]bool
	views  map[string]string // name -> stream script
}

// view builds the DataFrame of a view, nil when there is no view name.
func (h *streamHarness) view(s *Session, name string) *DataFrame {
	text, ok := h.more.views[name]
	if !ok {
		return nil
	}
	return h.streamScript(s, text)
}

// runMore runs the commands of this file; ok is false for others.
func (h *streamHarness) runMore(t *testing.T, c *datadriven.Case) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch c.Cmd {
	case "limited-stream":
		lines := datadriven.Lines(c.Input)
		schema, err := expr.ParseDDL(strings.TrimPrefix(lines[0], "schema:"))
		if err != nil {
			return "error: " + err.Error(), true
		}
		n, _ := strconv.ParseInt(c.KV["maxRowsPerTrigger"], 10, 64)
		s, err := memsrc.NewArrowStreamWith(c.Args[0], schema, memsrc.Options{MaxRowsPerTrigger: n})
		if err != nil {
			return "error: " + err.Error(), true
		}
		if old := h.streams[c.Args[0]]; old != nil {
			old.Close()
		}
		h.streams[c.Args[0]] = s
		return "ok", true
	case "view":
		if h.more.views == nil {
			h.more.views = map[string]string{}
		}
		h.more.views[c.Args[0]] = c.Input
		return "ok", true
	case "wait-idle":
		if err := h.clock.WaitForWaiters(ctx, 1); err != nil {
			c.Fatalf(t, "the query never slept on the clock: %v", err)
		}
		return h.sink.drainLog(), true
	case "slow-next":
		d, err := time.ParseDuration(c.Args[0])
		if err != nil {
			c.Fatalf(t, "%v", err)
		}
		h.sink.mu.Lock()
		h.more.slow = d
		h.sink.mu.Unlock()
		return "ok", true
	case "progress-log":
		if h.more.logged == nil {
			h.more.logged = map[string]bool{}
		}
		var out []string
		for _, p := range h.q.RecentProgress() {
			key := p.RunID + "/" + strconv.FormatInt(p.BatchID, 10)
			if h.more.logged[key] {
				continue
			}
			h.more.logged[key] = true
			ts, err := time.Parse("2006-01-02T15:04:05.000Z", p.Timestamp)
			if err != nil {
				c.Fatalf(t, "progress timestamp %q: %v", p.Timestamp, err)
			}
			out = append(out, fmt.Sprintf("batch %d at %s, %d input rows", p.BatchID, ts.Format("15:04:05"), p.NumInputRows))
		}
		if len(out) == 0 {
			return "no new progress", true
		}
		return strings.Join(out, "\n"), true
	}
	return "", false
}

// configureMore lets this file's commands reach into a query being
// started: the sink is wrapped so slow-next can stretch a batch.
func (h *streamHarness) configureMore(w *DataStreamWriter) *DataStreamWriter {
	return w.Sink(&slowSink{recordingSink: h.sink, h: h})
}

// slowSink advances the manual clock inside AddBatch when slow-next asked.
type slowSink struct {
	*recordingSink
	h *streamHarness
}

func (s *slowSink) AddBatch(ctx context.Context, id int64, mode sinks.OutputMode, rows array.RecordReader) error {
	s.mu.Lock()
	d := s.h.more.slow
	s.h.more.slow = 0
	s.mu.Unlock()
	if d > 0 {
		s.h.clock.Advance(d)
	}
	return s.recordingSink.AddBatch(ctx, id, mode, rows)
}
