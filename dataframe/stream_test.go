package dataframe

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/internal/datadriven"
	"github.com/sluicehq/sluice/internal/tableformat"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/sinks"
	memsrc "github.com/sluicehq/sluice/sources/memory"
	"github.com/sluicehq/sluice/trigger"
)

// TestStreams runs the stream scripts under testdata/stream, Spark
// testStream style: add data, process, check the answer, stop, restart,
// fail at chosen points, with a manual clock. See testdata/stream/README.
func TestStreams(t *testing.T) {
	files, _ := filepath.Glob("testdata/stream/*.txt")
	if len(files) == 0 {
		t.Fatal("no testdata/stream files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			h := &streamHarness{harness: harness{mem: mem, tables: map[string]*tableData{}}, streams: map[string]*memsrc.Stream{},
				dir: t.TempDir(), clock: trigger.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
			defer h.close(t)
			datadriven.RunFile(t, f, h.run)
		})
	}
}

type streamHarness struct {
	harness
	streams   map[string]*memsrc.Stream
	dir       string
	clock     *trigger.ManualClock
	sink      *recordingSink
	q         *StreamingQuery
	queryText string
	opts      map[string]string
	runs      int
	more      moreHarness // stream_more_test.go
	late      *recordingSink
}

func (h *streamHarness) close(t *testing.T) {
	if h.q != nil {
		h.q.Stop(context.Background())
	}
	if h.sink != nil {
		h.sink.Close()
	}
	for _, s := range h.streams {
		s.Close()
	}
	h.release()
}

func (h *streamHarness) session() *Session {
	return NewSessionWith(Config{ShufflePartitions: 2, Allocator: h.mem, BatchSize: 4, Clock: h.clock})
}

func (h *streamHarness) run(t *testing.T, c *datadriven.Case) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch c.Cmd {
	case "table":
		return h.table(t, c)
	case "stream":
		// stream NAME / schema: DDL
		lines := datadriven.Lines(c.Input)
		schema, err := expr.ParseDDL(strings.TrimPrefix(lines[0], "schema:"))
		if err != nil {
			return "error: " + err.Error()
		}
		h.streams[c.Args[0]] = memsrc.NewArrowStream(c.Args[0], schema)
		return "ok"
	case "add-data":
		s := h.streams[c.Args[0]]
		b, err := rowsFromJSON(h.mem, s.Schema(), datadriven.Lines(c.Input))
		if err != nil {
			c.Fatalf(t, "%v", err)
		}
		defer b.Release()
		off, err := s.AddBatch(b)
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("offset %d", off)
	case "start":
		h.queryText = c.Input
		h.opts = c.KV
		h.sink = &recordingSink{}
		return h.start(ctx)
	case "restart":
		return h.start(ctx)
	case "process":
		if err := h.q.ProcessAllAvailable(ctx); err != nil {
			return "error: " + err.Error()
		}
		return h.sink.drainLog()
	case "advance":
		d, err := time.ParseDuration(c.Args[0])
		if err != nil {
			c.Fatalf(t, "%v", err)
		}
		h.clock.Advance(d)
		return "ok"
	case "fail-next":
		// fail-next sink|commit: the next batch fails at that point.
		h.sink.setFail(c.Args[0])
		return "ok"
	case "await":
		err := h.q.AwaitTermination(ctx)
		out := h.sink.drainLog()
		if out == "no new batches" {
			out = ""
		}
		if err != nil {
			return strings.TrimSpace(out + "\nterminated: " + err.Error())
		}
		return strings.TrimSpace(out + "\nterminated")
	case "stop":
		if err := h.q.Stop(ctx); err != nil {
			return "error: " + err.Error()
		}
		return "stopped"
	case "check-answer":
		return h.sink.table()
	case "late-rows":
		if h.late == nil {
			return "no late-data sink"
		}
		return h.late.drainLog() + "\n" + h.late.table()
	case "progress":
		p := h.q.LastProgress()
		if p == nil {
			return "no progress"
		}
		var src []string
		for _, s := range p.Sources {
			src = append(src, fmt.Sprintf("%s %s -> %s (%d rows)", s.Description, s.StartOffset, s.EndOffset, s.NumInputRows))
		}
		out := fmt.Sprintf("batch %d: input %d rows, output %d rows\n%s", p.BatchID, p.NumInputRows, p.Sink.NumOutputRows, strings.Join(src, "\n"))
		for _, so := range p.StateOperators {
			out += fmt.Sprintf("\nstate: total %d updated %d removed %d droppedByWatermark %d partitions %d",
				so.NumRowsTotal, so.NumRowsUpdated, so.NumRowsRemoved, so.NumRowsDroppedByWatermark, so.NumShufflePartitions)
		}
		if p.EventTime != nil {
			out += fmt.Sprintf("\nevent time: min %s max %s watermark %s", p.EventTime["min"], p.EventTime["max"], p.EventTime["watermark"])
		}
		return out
	}
	if out, ok := h.runMore(t, c); ok { // stream_more_test.go
		return out
	}
	c.Fatalf(t, "unknown command %q", c.Cmd)
	return ""
}

// start (re)starts the query of the last "start" on the same checkpoint.
func (h *streamHarness) start(ctx context.Context) string {
	if h.q != nil {
		h.q.Stop(ctx)
		h.q = nil
	}
	s := h.session()
	df := h.streamScript(s, h.queryText)
	w := df.WriteStream().Sink(h.sink).Clock(h.clock).Option("checkpointLocation", filepath.Join(h.dir, "ckpt"))
	w = h.configureMore(w)
	if v, ok := h.opts["watermarkpolicy"]; ok {
		w = w.Option("multipleWatermarkPolicy", v)
	}
	if h.opts["late"] == "true" {
		if h.late == nil {
			h.late = &recordingSink{}
		}
		w = w.LateData(h.late)
	}
	if m, ok := h.opts["mode"]; ok {
		w = w.OutputModeString(m)
	}
	switch tr := h.opts["trigger"]; {
	case tr == "once":
		w = w.Trigger(trigger.Once())
	case tr == "availablenow":
		w = w.Trigger(trigger.AvailableNow())
	case strings.HasPrefix(tr, "every:"):
		d, _ := time.ParseDuration(strings.TrimPrefix(tr, "every:"))
		w = w.Trigger(trigger.ProcessingTime(d))
	}
	q, err := w.Start(ctx)
	if err != nil {
		return "error: " + err.Error()
	}
	h.q = q
	h.runs++
	return "started"
}

// streamScript is the batch script language where "from NAME" prefers a
// stream of that name.
func (h *streamHarness) streamScript(s *Session, text string) *DataFrame {
	lines := datadriven.Lines(text)
	if len(lines) > 0 && strings.HasPrefix(lines[0], "from ") {
		if df := h.view(s, strings.TrimSpace(strings.TrimPrefix(lines[0], "from "))); df != nil {
			return h.continueScript(s, df, strings.Join(lines[1:], "\n"))
		}
		if st, ok := h.streams[strings.TrimSpace(strings.TrimPrefix(lines[0], "from "))]; ok {
			df := s.ReadStream(st)
			return h.continueScript(s, df, strings.Join(lines[1:], "\n"))
		}
	}
	return h.harness.script(s, text)
}

func (h *streamHarness) continueScript(s *Session, df *DataFrame, rest string) *DataFrame {
	name := fmt.Sprintf("__stream%d", len(h.tables))
	_ = name
	// Reuse the batch step interpreter by seeding it with df.
	return h.harness.scriptFrom(s, df, rest, func(n string) *DataFrame {
		if v := h.view(s, n); v != nil {
			return v
		}
		if st, ok := h.streams[n]; ok {
			return s.ReadStream(st)
		}
		return nil
	})
}

// recordingSink keeps every batch's rows, idempotent per batch id, and can
// fail a batch on request (before or after writing it).
type recordingSink struct {
	mu      sync.Mutex
	schema  *arrow.Schema
	batches map[int64][][]string // batch id -> rows
	order   []int64
	log     []string
	fail    string
	mode    sinks.OutputMode
}

func (r *recordingSink) setFail(where string) {
	r.mu.Lock()
	r.fail = where
	r.mu.Unlock()
}

func (r *recordingSink) AddBatch(ctx context.Context, id int64, mode sinks.OutputMode, rows array.RecordReader) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail == "sink" {
		r.fail = ""
		r.log = append(r.log, fmt.Sprintf("batch %d: sink failed", id))
		return fmt.Errorf("injected sink failure")
	}
	var cells [][]string
	for rows.Next() {
		cells = tableformat.Cells(rows.RecordBatch(), -1, false, cells)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	sort.Slice(cells, func(i, j int) bool { return strings.Join(cells[i], "\x00") < strings.Join(cells[j], "\x00") })
	if r.batches == nil {
		r.batches = map[int64][][]string{}
	}
	if prev, dup := r.batches[id]; dup {
		same := fmt.Sprint(prev) == fmt.Sprint(cells)
		r.log = append(r.log, fmt.Sprintf("batch %d: replayed, same rows: %v", id, same))
	} else {
		r.order = append(r.order, id)
		r.log = append(r.log, fmt.Sprintf("batch %d: %d rows", id, len(cells)))
	}
	r.batches[id] = cells
	r.schema = rows.Schema()
	r.mode = mode
	if r.fail == "commit" {
		r.fail = ""
		r.log = append(r.log, fmt.Sprintf("batch %d: failing after the sink wrote it", id))
		return fmt.Errorf("injected failure after the sink")
	}
	return nil
}

func (r *recordingSink) Close() error        { return nil }
func (r *recordingSink) Description() string { return "RecordingSink" }

func (r *recordingSink) drainLog() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := strings.Join(r.log, "\n")
	r.log = nil
	if out == "" {
		return "no new batches"
	}
	return out
}

// table renders the result table: all appended rows (append/update), or
// the last batch (complete).
func (r *recordingSink) table() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.schema == nil {
		return "empty"
	}
	var cells [][]string
	if r.mode == sinks.Complete && len(r.order) > 0 {
		cells = r.batches[r.order[len(r.order)-1]]
	} else {
		for _, id := range r.order {
			cells = append(cells, r.batches[id]...)
		}
	}
	sort.Slice(cells, func(i, j int) bool { return strings.Join(cells[i], "\x00") < strings.Join(cells[j], "\x00") })
	return tableformat.Format(tableformat.Header(r.schema), cells, false, 0)
}

var _ = microbatch.ErrQuery
