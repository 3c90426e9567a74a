package oracle

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/internal/tableformat"
)

// row is one output row, rendered for comparison.
type row struct {
	cells []string
	key   string
	// bound is the event time the watermark closes the row's group at (a
	// window's end, or the event time itself), µs; math.MaxInt64 when the
	// case has no event-time key or the key is NULL.
	bound int64
}

func (r row) String() string { return strings.Join(r.cells, " | ") }

// renderer turns output batches into rows the same way for the stream and
// the batch run.
type renderer struct {
	c      *Case
	header []string
}

// rows renders b's rows.
func (rd *renderer) rows(b arrow.RecordBatch) ([]row, error) {
	sc := b.Schema()
	if rd.header == nil {
		rd.header = tableformat.Header(sc)
	}
	keyIdx := make([]int, len(rd.c.Key))
	for i, k := range rd.c.Key {
		idx := sc.FieldIndices(k)
		if len(idx) != 1 {
			return nil, fmt.Errorf("case %s: key column %q is not (once) in the output %s", rd.c.Name, k, sc)
		}
		keyIdx[i] = idx[0]
	}
	var bounds func(i int) int64
	if rd.c.EventTime != "" {
		idx := sc.FieldIndices(rd.c.EventTime)
		if len(idx) != 1 {
			return nil, fmt.Errorf("case %s: event-time column %q is not (once) in the output %s", rd.c.Name, rd.c.EventTime, sc)
		}
		var err error
		if bounds, err = boundsOf(b.Column(idx[0])); err != nil {
			return nil, fmt.Errorf("case %s: %w", rd.c.Name, err)
		}
	}
	out := make([]row, b.NumRows())
	for i := range out {
		cells := make([]string, b.NumCols())
		for c := range cells {
			if slices.Contains(rd.c.Sets, sc.Field(c).Name) {
				cells[c] = setCell(b.Column(c), i)
			} else {
				cells[c] = tableformat.Cell(b.Column(c), i, false)
			}
		}
		keys := make([]string, len(keyIdx))
		for j, k := range keyIdx {
			keys[j] = cells[k]
		}
		r := row{cells: cells, key: strings.Join(keys, " | "), bound: math.MaxInt64}
		if bounds != nil {
			r.bound = bounds(i)
		}
		if jm, ok := joinModelOf(rd.c); ok { // cases_join_test.go
			r.bound = jm.bound(b, i)
		}
		out[i] = r
	}
	return out, nil
}

// boundsOf reads the watermark bound of each row of an event-time key: a
// window struct's end, or the timestamp itself; NULL is never closed.
func boundsOf(col arrow.Array) (func(int) int64, error) {
	switch c := col.(type) {
	case *array.Struct:
		st := c.DataType().(*arrow.StructType)
		idx, ok := st.FieldIdx("end")
		if !ok {
			return nil, fmt.Errorf("event-time key %s has no end field", st)
		}
		end, ok := c.Field(idx).(*array.Timestamp)
		if !ok {
			return nil, fmt.Errorf("event-time key %s: end is not a timestamp", st)
		}
		return func(i int) int64 {
			if c.IsNull(i) || end.IsNull(i) {
				return math.MaxInt64
			}
			return int64(end.Value(i))
		}, nil
	case *array.Timestamp:
		return func(i int) int64 {
			if c.IsNull(i) {
				return math.MaxInt64
			}
			return int64(c.Value(i))
		}, nil
	}
	return nil, fmt.Errorf("event-time key of type %s: want a window struct or a timestamp", col.DataType())
}

// setCell renders a list as its elements sorted.
func setCell(col arrow.Array, i int) string {
	if col.IsNull(i) {
		return "NULL"
	}
	l, ok := col.(array.ListLike)
	if !ok {
		return tableformat.Cell(col, i, false)
	}
	lo, hi := l.ValueOffsets(i)
	child := l.ListValues()
	var elems []string
	for j := lo; j < hi; j++ {
		elems = append(elems, tableformat.Cell(child, int(j), false))
	}
	slices.Sort(elems)
	return "[" + strings.Join(elems, ", ") + "]"
}

// emitted is what the sink got for one batch id (its last attempt; the
// harness checks that replays were identical).
type emitted struct {
	id   int64
	rows []row
}

// batchResult runs the case's query as a batch over the given rows of each
// input and renders the result.
func batchResult(mem memory.Allocator, c *Case, rd *renderer, inputs [][]event) ([]row, error) {
	s := dataframe.NewSessionWith(dataframe.Config{Allocator: mem, ShufflePartitions: 2})
	dfs := make([]*dataframe.DataFrame, len(inputs))
	for i, rows := range inputs {
		b := record(mem, rows)
		defer b.Release()
		dfs[i] = withWatermark(c, s.CreateDataFrame(inputSchema, b))
	}
	df := c.query(dfs...)
	bs, err := df.Collect()
	if err != nil {
		return nil, fmt.Errorf("batch query: %w", err)
	}
	defer func() {
		for _, b := range bs {
			b.Release()
		}
	}()
	var out []row
	for _, b := range bs {
		rs, err := rd.rows(b)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

// query is the whole query of the case: Query, then Then when set.
func (c *Case) query(in ...*dataframe.DataFrame) *dataframe.DataFrame {
	df := c.Query(in...)
	if c.Then != nil {
		df = c.Then(df)
	}
	return df
}

func withWatermark(c *Case, df *dataframe.DataFrame) *dataframe.DataFrame {
	if c.Watermark == "" {
		return df
	}
	return df.WithWatermark("ts", c.Watermark)
}

// delayOf parses the case's watermark delay as the engine does.
func delayOf(c *Case) (time.Duration, error) {
	if c.Watermark == "" {
		return 0, nil
	}
	if d, err := time.ParseDuration(c.Watermark); err == nil {
		return d, nil
	}
	iv, err := expr.ParseInterval(c.Watermark)
	if err != nil {
		return 0, fmt.Errorf("case %s: watermark %q: %w", c.Name, c.Watermark, err)
	}
	return time.Duration(iv.Days)*24*time.Hour + time.Duration(iv.Nanoseconds), nil
}

// expected computes the result the stream must end with in mode, from
// batch queries over the scenario's rows.
//
// Complete keeps every group (Spark keeps all state in complete mode), so
// it is the batch query over all rows. Otherwise, when the watermark
// bounds a key, a row's contribution to a group is dropped when the
// group's bound is at or below the watermark of the micro-batch that read
// the row. Watermarks only grow, so the rows that count for a group with
// bound e are a prefix of the arrival classes: those read under a
// watermark below e. With the distinct watermarks w0 < w1 < ... of the
// run, the groups with wj < e <= wj+1 are taken from the batch query over
// the rows read under a watermark <= wj. Append keeps the groups the final
// watermark closed.
func expected(mem memory.Allocator, c *Case, rd *renderer, sc *scenario, mode dataframe.OutputMode) ([]row, error) {
	if sessionCases[c.Name] { // cases_session_test.go
		return expectedSession(mem, c, rd, sc, mode)
	}
	if jm, ok := joinModelOf(c); ok { // cases_join_test.go
		return jm.expected(mem, c, rd, sc)
	}
	if c.Then != nil { // chained_test.go
		return expectedChained(mem, c, rd, sc, mode)
	}
	all := sc.inputs
	if mode == dataframe.Complete || c.Watermark == "" || c.EventTime == "" {
		return batchResult(mem, c, rd, all)
	}
	delay, err := delayOf(c)
	if err != nil {
		return nil, err
	}
	wm := sc.watermarks(delay)
	classes := slices.Compact(slices.Sorted(slices.Values(wm[:sc.chunks])))
	final := wm[sc.chunks]
	var out []row
	for j, w := range classes {
		next := int64(math.MaxInt64)
		if j+1 < len(classes) {
			next = classes[j+1]
		}
		prefix := make([][]event, len(all))
		for i := range all {
			for ch := 0; ch < sc.chunks; ch++ {
				if wm[ch] <= w {
					prefix[i] = append(prefix[i], sc.chunk(i, ch)...)
				}
			}
		}
		rows, err := batchResult(mem, c, rd, prefix)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if w < r.bound && r.bound <= next {
				if mode == dataframe.Append && !(r.bound <= final) {
					continue
				}
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// lateRows is how many input rows (of the aggregation: after the filters,
// projections and sliding-window expansion before it) the watermark drops
// in a run: the count(*) of the batch result over all rows minus that of
// the groups the stream keeps (the Update result).
func lateRows(mem memory.Allocator, c *Case, rd *renderer, sc *scenario) (int64, error) {
	all, err := batchResult(mem, c, rd, sc.inputs)
	if err != nil {
		return 0, err
	}
	kept, err := expected(mem, c, rd, sc, dataframe.Update)
	if err != nil {
		return 0, err
	}
	idx := slices.Index(rd.header, c.Count)
	if idx < 0 {
		return 0, fmt.Errorf("case %s: count column %q is not in the output %v", c.Name, c.Count, rd.header)
	}
	sum := func(rs []row) (int64, error) {
		var n int64
		for _, r := range rs {
			v, err := strconv.ParseInt(r.cells[idx], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("case %s: count column %q holds %q", c.Name, c.Count, r.cells[idx])
			}
			n += v
		}
		return n, nil
	}
	a, err := sum(all)
	if err != nil {
		return 0, err
	}
	k, err := sum(kept)
	return a - k, err
}

// check compares what the stream emitted (by batch id, ascending) with
// the expected rows; the error says what differs.
func check(c *Case, mode dataframe.OutputMode, out []emitted, want []row) error {
	var got []row
	switch mode {
	case dataframe.Complete:
		if len(out) > 0 {
			got = out[len(out)-1].rows
		}
	case dataframe.Update:
		latest := map[string]row{}
		for _, e := range out {
			seen := map[string]bool{}
			for _, r := range e.rows {
				if seen[r.key] {
					return fmt.Errorf("update mode: batch %d emitted key %q twice", e.id, r.key)
				}
				seen[r.key] = true
				latest[r.key] = r
			}
		}
		for _, r := range latest {
			got = append(got, r)
		}
	case dataframe.Append:
		if _, ok := joinModelOf(c); ok {
			// Joined rows need not be unique: a multiset.
			for _, e := range out {
				for _, r := range e.rows {
					got = append(got, r)
				}
			}
			break
		}
		first := map[string]int64{}
		for _, e := range out {
			for _, r := range e.rows {
				if b, dup := first[r.key]; dup {
					return fmt.Errorf("append mode: key %q emitted twice, by batches %d and %d", r.key, b, e.id)
				}
				first[r.key] = e.id
				got = append(got, r)
			}
		}
	}
	return diff(got, want)
}

// diff compares two row sets regardless of order.
func diff(got, want []row) error {
	g, w := sortedStrings(got), sortedStrings(want)
	if slices.Equal(g, w) {
		return nil
	}
	var sb strings.Builder
	missing, extra := subtract(w, g), subtract(g, w)
	fmt.Fprintf(&sb, "stream result (%d rows) differs from the batch oracle (%d rows)", len(g), len(w))
	if len(missing) > 0 {
		fmt.Fprintf(&sb, "\n  missing from the stream:\n    %s", strings.Join(limit(missing, 20), "\n    "))
	}
	if len(extra) > 0 {
		fmt.Fprintf(&sb, "\n  not in the batch result:\n    %s", strings.Join(limit(extra, 20), "\n    "))
	}
	return fmt.Errorf("%s", sb.String())
}

func sortedStrings(rs []row) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	slices.Sort(out)
	return out
}

// subtract returns the elements of a (sorted) not matched in b (sorted),
// as multisets.
func subtract(a, b []string) []string {
	var out []string
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j < len(b) && b[j] == x {
			j++
			continue
		}
		out = append(out, x)
	}
	return out
}

func limit(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], fmt.Sprintf("... and %d more", len(s)-n))
}
