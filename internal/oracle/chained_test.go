package oracle

import (
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/dataframe/exec"
)

// expectedChained is expected for a case with a second stateful operator
// (Case.Then), in Append mode. Input is late only at the first operator:
// the second one gets a first-level group in the batch where the
// watermark closes it, and that group's second-level window ends at or
// after it, above the previous batch's watermark that the second operator
// checks against. So the first level's result is built as expected
// builds a grouped case's (by FirstEventTime), Then runs as a batch over
// it, and Append keeps the groups the final watermark closed.
func expectedChained(mem memory.Allocator, c *Case, rd *renderer, sc *scenario, mode dataframe.OutputMode) ([]row, error) {
	if mode == dataframe.Complete {
		// Complete mode keeps every group of both levels: the batch query.
		return batchResult(mem, c, rd, sc.inputs)
	}
	if mode != dataframe.Append {
		return nil, fmt.Errorf("case %s: chained operators run in append or complete mode only", c.Name)
	}
	delay, err := delayOf(c)
	if err != nil {
		return nil, err
	}
	wm := sc.watermarks(delay)
	classes := slices.Compact(slices.Sorted(slices.Values(wm[:sc.chunks])))
	var kept []arrow.RecordBatch
	defer func() {
		for _, b := range kept {
			b.Release()
		}
	}()
	var schema *arrow.Schema
	for j, w := range classes {
		next := int64(math.MaxInt64)
		if j+1 < len(classes) {
			next = classes[j+1]
		}
		prefix := make([][]event, len(sc.inputs))
		for i := range sc.inputs {
			for ch := 0; ch < sc.chunks; ch++ {
				if wm[ch] <= w {
					prefix[i] = append(prefix[i], sc.chunk(i, ch)...)
				}
			}
		}
		bs, err := firstLevel(mem, c, prefix)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			schema = b.Schema()
			if err == nil {
				var sel arrow.RecordBatch
				if sel, err = closedBetween(mem, c, b, w, next); err == nil && sel != nil {
					kept = append(kept, sel)
				}
			}
			b.Release()
		}
		if err != nil {
			return nil, err
		}
	}
	if schema == nil {
		return nil, nil // no input at all
	}
	s := dataframe.NewSessionWith(dataframe.Config{Allocator: mem, ShufflePartitions: 2})
	out, err := c.Then(s.CreateDataFrame(schema, kept...)).Collect()
	if err != nil {
		return nil, fmt.Errorf("batch query over the first level: %w", err)
	}
	defer func() {
		for _, b := range out {
			b.Release()
		}
	}()
	final := wm[sc.chunks]
	var rows []row
	for _, b := range out {
		rs, err := rd.rows(b)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if r.bound <= final {
				rows = append(rows, r)
			}
		}
	}
	return rows, nil
}

// firstLevel runs Query (without Then) as a batch over the rows.
func firstLevel(mem memory.Allocator, c *Case, inputs [][]event) ([]arrow.RecordBatch, error) {
	s := dataframe.NewSessionWith(dataframe.Config{Allocator: mem, ShufflePartitions: 2})
	dfs := make([]*dataframe.DataFrame, len(inputs))
	for i, rows := range inputs {
		b := record(mem, rows)
		defer b.Release()
		dfs[i] = withWatermark(c, s.CreateDataFrame(inputSchema, b))
	}
	bs, err := c.Query(dfs...).Collect()
	if err != nil {
		return nil, fmt.Errorf("batch query (first level): %w", err)
	}
	return bs, nil
}

// closedBetween selects the rows of b whose FirstEventTime bound e has
// w < e <= next; nil when there are none.
func closedBetween(mem memory.Allocator, c *Case, b arrow.RecordBatch, w, next int64) (arrow.RecordBatch, error) {
	idx := b.Schema().FieldIndices(c.FirstEventTime)
	if len(idx) != 1 {
		return nil, fmt.Errorf("case %s: first-level event-time column %q is not (once) in %s", c.Name, c.FirstEventTime, b.Schema())
	}
	bound, err := boundsOf(b.Column(idx[0]))
	if err != nil {
		return nil, fmt.Errorf("case %s: %w", c.Name, err)
	}
	var sel []int32
	for i := 0; i < int(b.NumRows()); i++ {
		if e := bound(i); w < e && e <= next {
			sel = append(sel, int32(i))
		}
	}
	if len(sel) == 0 {
		return nil, nil
	}
	return exec.TakeBatch(mem, b, sel)
}
