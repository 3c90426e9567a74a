package dataframe

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/plan"
	"github.com/sluicehq/sluice/internal/datadriven"
	"github.com/sluicehq/sluice/internal/tableformat"
	memsrc "github.com/sluicehq/sluice/sources/memory"
	"github.com/sluicehq/sluice/trigger"
)

// TestSQL runs the SQL corpus under testdata/sql (see its README). Every
// query runs as a batch with 1 and 3 shuffle partitions; a query that is
// legal on a stream also runs as a stream over its first table, split
// into micro-batches twice (by the table's batches and one row per
// batch), and must give the batch result (the batch == stream oracle).
func TestSQL(t *testing.T) {
	files, _ := filepath.Glob("testdata/sql/*.txt")
	if len(files) == 0 {
		t.Fatal("no testdata/sql files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			h := &sqlHarness{harness: harness{mem: mem, tables: map[string]*tableData{}}}
			defer h.release()
			datadriven.RunFile(t, f, h.run)
		})
	}
}

type sqlHarness struct {
	harness
	// streamed counts queries checked as streams, so a file that expects
	// streaming coverage can assert it.
	streamed int
}

// session registers every table as a view.
func (h *sqlHarness) session(parts int) *Session {
	s := h.harness.session(parts)
	for name, td := range h.tables {
		if err := s.CreateDataFrame(td.schema, td.batches...).CreateOrReplaceTempView(name); err != nil {
			panic(err)
		}
	}
	return s
}

func (h *sqlHarness) run(t *testing.T, c *datadriven.Case) string {
	switch c.Cmd {
	case "table":
		return h.table(t, c)
	case "query":
		ordered := c.Arg("ordered", "false") == "true"
		var outs []string
		for _, parts := range []int{1, 3} {
			outs = append(outs, renderSQL(h.session(parts).SQL(c.Input), c.Input, ordered))
		}
		if outs[0] != outs[1] {
			t.Errorf("%s: 1 and 3 partitions disagree:\n%s\nvs\n%s", c.Pos, outs[0], outs[1])
		}
		h.checkStream(t, c)
		return outs[0]
	case "plan":
		return h.samePlan(t, c)
	case "catalog":
		s := h.session(1)
		var lines []string
		for _, ti := range s.Catalog().ListTables() {
			cols := make([]string, ti.Schema.NumFields())
			for i, f := range ti.Schema.Fields() {
				cols[i] = f.Name + " " + expr.TypeName(f.Type)
			}
			lines = append(lines, fmt.Sprintf("%s streaming=%v (%s)", ti.Name, ti.IsStreaming, strings.Join(cols, ", ")))
		}
		return strings.Join(lines, "\n")
	case "streamed":
		// streamed: how many queries of this file ran as streams so far.
		return fmt.Sprintf("%d", h.streamed)
	}
	c.Fatalf(t, "unknown command %q", c.Cmd)
	return ""
}

// renderSQL renders a result table, or EXPLAIN's text as is.
func renderSQL(df *DataFrame, text string, ordered bool) string {
	if df.Err() == nil && strings.HasPrefix(strings.ToUpper(strings.TrimSpace(text)), "EXPLAIN") {
		rows, err := df.Rows()
		if err != nil {
			return "error: " + err.Error()
		}
		// Blank lines would end the expected output: they are dropped.
		var lines []string
		for _, r := range rows {
			for _, l := range strings.Split(fmt.Sprint(r[0]), "\n") {
				if strings.TrimSpace(l) != "" {
					lines = append(lines, l)
				}
			}
		}
		return strings.Join(lines, "\n")
	}
	return renderResult(df, ordered)
}

// samePlan: input is a SQL query, a line "==", then DataFrame steps (the
// testdata/query script language; "from T" reads view T). Both must
// EXPLAIN EXTENDED the same optimised and physical plans; the output is
// the optimised plan.
func (h *sqlHarness) samePlan(t *testing.T, c *datadriven.Case) string {
	sqlText, script, ok := strings.Cut(c.Input, "\n==\n")
	if !ok {
		c.Fatalf(t, "plan: separate the SQL from the DataFrame steps with a line ==")
	}
	s := h.session(1)
	q := s.SQL(sqlText)
	if q.Err() != nil {
		return "error: " + q.Err().Error()
	}
	df := h.scriptFrom(s, nil, script, func(name string) *DataFrame { return s.Table(name) })
	if df.Err() != nil {
		c.Fatalf(t, "DataFrame steps: %v", df.Err())
	}
	// The optimised and physical plans must be the same; the analysed
	// plans may differ in shape (a projection the DataFrame chain puts
	// over an aggregation is in the SQL aggregation's output), as in
	// Spark.
	const head = "== Optimized Logical Plan ==\n"
	got, want := q.Explain(true), df.Explain(true)
	optimised := func(s string) string {
		if i := strings.Index(s, head); i >= 0 {
			return s[i:]
		}
		return s
	}
	if optimised(got) != optimised(want) {
		t.Errorf("%s: SQL and DataFrame plans differ:\n--- SQL:\n%s\n--- DataFrame:\n%s", c.Pos, got, want)
	}
	i := strings.Index(got, head)
	j := strings.Index(got, "\n\n== Physical Plan ==")
	if i < 0 || j < i {
		return got
	}
	return got[i+len(head) : j]
}

// checkStream runs the query as a stream over one of its tables and
// compares the rows with the batch result: in append mode for a query
// without aggregation (the rows the sink got, over all micro-batches), in
// complete mode for an aggregation (the last micro-batch's rows). The
// stream is the query's first table unless stream=NAME names another;
// stream=off skips the check. A query the stream engine refuses
// (plan.ErrUnsupported at Start) is skipped unless stream=NAME asked for
// it; each file's "streamed" count keeps the coverage from shrinking
// unnoticed.
func (h *sqlHarness) checkStream(t *testing.T, c *datadriven.Case) {
	mode := c.Arg("stream", "auto")
	if mode == "off" {
		return
	}
	st, err := expr.ParseSQL(c.Input)
	if err != nil {
		return
	}
	q, ok := st.(*expr.Query)
	if !ok {
		return
	}
	var tables []string
	for _, n := range expr.Tables(q) {
		if _, ok := h.tables[n]; ok {
			tables = append(tables, n)
		}
	}
	name := mode
	if mode == "auto" {
		if len(tables) == 0 {
			return
		}
		name = tables[0]
	}
	td, ok := h.tables[name]
	if !ok {
		c.Fatalf(t, "stream=%s: no such table", name)
	}
	rows := int64(0)
	for _, b := range td.batches {
		rows += b.NumRows()
	}
	if rows == 0 {
		return // an empty stream runs no micro-batch
	}
	batch := h.session(2).SQL(c.Input)
	if batch.Err() != nil {
		return
	}
	want, err := collectCells(batch)
	if err != nil {
		return
	}
	outMode := Append
	if hasAggregate(batch.Plan()) {
		outMode = Complete
	}
	switch m := c.Arg("mode", ""); m {
	case "":
	case "append", "complete":
		outMode = map[string]OutputMode{"append": Append, "complete": Complete}[m]
	default:
		c.Fatalf(t, "mode=%s: use append or complete", m)
	}
	wm := streamWatermark{col: c.Arg("watermark", ""), delay: c.Arg("delay", "0 seconds")}
	// Split once by the table's batches, once one row per batch (sliced
	// arrays, so offsets are exercised too).
	var rowSplit []arrow.RecordBatch
	for _, b := range td.batches {
		for i := int64(0); i < b.NumRows(); i++ {
			rowSplit = append(rowSplit, b.NewSlice(i, i+1))
		}
	}
	defer func() {
		for _, b := range rowSplit {
			b.Release()
		}
	}()
	for _, split := range [][]arrow.RecordBatch{td.batches, rowSplit} {
		got, err := h.runStream(t, c.Input, name, split, outMode, wm)
		if err != nil {
			if mode == "auto" && (errors.Is(err, plan.ErrUnsupported) || errors.Is(err, errNotStreamable)) {
				return
			}
			t.Errorf("%s: as a stream over %s: %v", c.Pos, name, err)
			return
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: stream over %s (%d batches, %s) differs from batch:\n--- stream:\n%v\n--- batch:\n%v", c.Pos, name, len(split), outMode, got, want)
		}
	}
	h.streamed++
}

func hasAggregate(n plan.Node) bool {
	if _, ok := n.(*plan.Aggregate); ok {
		return true
	}
	for _, c := range n.Children() {
		if hasAggregate(c) {
			return true
		}
	}
	return false
}

// streamWatermark is the watermark a corpus query declares on its stream
// (watermark=COL delay=D): col "" declares none.
type streamWatermark struct{ col, delay string }

// runStream registers table name as a memory stream (the others as
// static views), runs query over it one micro-batch per batch and
// returns the sorted result: every row the sink got (append), or the
// last micro-batch's rows (complete). With a watermark, a last no-data
// micro-batch lets the final watermark close what it can.
func (h *sqlHarness) runStream(t *testing.T, query, name string, batches []arrow.RecordBatch, mode OutputMode, wm streamWatermark) ([][]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := h.session(2)
	stream := memsrc.NewArrowStream(name, h.tables[name].schema)
	defer stream.Close()
	src := s.ReadStream(stream)
	if wm.col != "" {
		src = src.WithWatermark(wm.col, wm.delay)
	}
	if err := src.CreateOrReplaceTempView(name); err != nil {
		return nil, err
	}
	df := s.SQL(query)
	if df.Err() != nil {
		return nil, df.Err()
	}
	if !df.IsStreaming() {
		return nil, fmt.Errorf("%w: it does not read %s", errNotStreamable, name)
	}
	if mixedUnion(df.Plan()) {
		// The engine does not reject a union of a stream and a static
		// table yet (Spark does): it would emit the static rows again in
		// every micro-batch.
		return nil, fmt.Errorf("%w: a union of a stream and a static table", errNotStreamable)
	}
	sink := &recordingSink{}
	defer sink.Close()
	clock := trigger.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	q, err := df.WriteStream().Sink(sink).Clock(clock).OutputMode(mode).Option("checkpointLocation", t.TempDir()).Start(ctx)
	if err != nil {
		return nil, err
	}
	defer q.Stop(ctx)
	for _, b := range batches {
		if _, err := stream.AddBatch(b); err != nil {
			return nil, err
		}
		if err := q.ProcessAllAvailable(ctx); err != nil {
			return nil, err
		}
	}
	if wm.col != "" {
		if err := q.ProcessAllAvailable(ctx); err != nil {
			return nil, err
		}
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	var rows [][]string
	if mode == Complete {
		if len(sink.order) > 0 {
			rows = append(rows, sink.batches[sink.order[len(sink.order)-1]]...)
		}
	} else {
		for _, id := range sink.order {
			rows = append(rows, sink.batches[id]...)
		}
	}
	sortCells(rows)
	return rows, nil
}

func collectCells(df *DataFrame) ([][]string, error) {
	var cells [][]string
	err := df.Execute(func(b arrow.RecordBatch) error {
		cells = tableformat.Cells(b, -1, false, cells)
		return nil
	})
	sortCells(cells)
	return cells, err
}

func sortCells(cells [][]string) {
	sort.Slice(cells, func(i, j int) bool { return strings.Join(cells[i], "\x00") < strings.Join(cells[j], "\x00") })
}

var errNotStreamable = errors.New("not a streaming query")

// mixedUnion reports whether n unions streaming and static inputs.
func mixedUnion(n plan.Node) bool {
	if u, ok := n.(*plan.Union); ok {
		streaming := 0
		for _, in := range u.Inputs {
			if plan.IsStreaming(in) {
				streaming++
			}
		}
		if streaming > 0 && streaming < len(u.Inputs) {
			return true
		}
	}
	for _, c := range n.Children() {
		if mixedUnion(c) {
			return true
		}
	}
	return false
}
