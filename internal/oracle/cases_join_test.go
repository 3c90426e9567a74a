package oracle

import (
	"math"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
)

// Stream-stream joins do not fit the grouped model of expected: a joined
// row is emitted as soon as its later input row arrives, rows need not be
// unique, and lateness is decided per input row. A join case is modelled
// as (joinModels, by case name):
//
//   - input rows at or below the watermark of the batch reading them are
//     dropped (a NULL event time is never late);
//   - the rest give the batch query's result, every row of which the
//     stream emits exactly once, in append mode, once its bound (joinBound)
//     is at or below the final watermark: at once for a joined pair, when
//     the watermark evicts it for an outer join's unmatched row;
//   - emitted rows are compared as a multiset.
//
// Every input carries WithWatermark("ts", Watermark), so both sides of a
// join are watermarked.
type joinModel struct {
	// evict[s] is how far the watermark must pass an unmatched row's event
	// time on side s (0 left, 1 right) before it is emitted padded with
	// NULLs: the row goes when ts + evict <= watermark.
	evict [2]time.Duration
	// window, when set, is the size of the tumbling window the inputs
	// carry instead of ts: a row is late when its window's end is at or
	// below the watermark.
	window time.Duration
}

var joinModels = map[string]joinModel{
	"join_inner_keys":   {},
	"join_inner_range":  {},
	"join_left_outer":   {evict: [2]time.Duration{5 * time.Second}},
	"join_right_outer":  {evict: [2]time.Duration{1: 6 * time.Second}},
	"join_full_outer":   {evict: [2]time.Duration{2 * time.Second, 4 * time.Second}},
	"join_left_semi":    {},
	"join_window_inner": {window: 5 * time.Second},
}

// joinOutput selects both sides' columns under distinct names: l_k, l_ts,
// l_v, l_s, r_k, r_ts, r_v, r_s.
func joinOutput(df *dataframe.DataFrame) *dataframe.DataFrame {
	return df.Select(
		dataframe.Col("l.k").As("l_k"), dataframe.Col("l.ts").As("l_ts"), dataframe.Col("l.v").As("l_v"), dataframe.Col("l.s").As("l_s"),
		dataframe.Col("r.k").As("r_k"), dataframe.Col("r.ts").As("r_ts"), dataframe.Col("r.v").As("r_v"), dataframe.Col("r.s").As("r_s"))
}

func joinOf(how, cond string) func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
	return func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
		return joinOutput(in[0].Alias("l").Join(in[1].Alias("r"), dataframe.Expr(cond), how))
	}
}

var appendOnly = []dataframe.OutputMode{dataframe.Append}

func init() {
	cases = append(cases,
		Case{
			// No time bound: every row stays in state.
			Name: "join_inner_keys", Inputs: 2, Watermark: "5 seconds",
			Query: joinOf("inner", "l.k = r.k AND l.g = r.g"),
			Modes: appendOnly,
		},
		Case{
			Name: "join_inner_range", Inputs: 2, Watermark: "3 seconds",
			Query: joinOf("inner", "l.k = r.k AND r.ts BETWEEN l.ts - INTERVAL 5 SECONDS AND l.ts + INTERVAL 5 SECONDS AND l.v <> r.g"),
			Modes: appendOnly,
		},
		Case{
			// A left row is done when no right row to come (ts > watermark)
			// can be within 5 s after it: l.ts + 5 s <= watermark.
			Name: "join_left_outer", Inputs: 2, Watermark: "4 seconds",
			Query: joinOf("leftouter", "l.k = r.k AND r.ts BETWEEN l.ts - INTERVAL 3 SECONDS AND l.ts + INTERVAL 5 SECONDS"),
			Modes: appendOnly,
		},
		Case{
			Name: "join_right_outer", Inputs: 2, Watermark: "2 seconds",
			Query: joinOf("rightouter", "l.k = r.k AND l.g = r.g AND l.ts >= r.ts AND l.ts <= r.ts + INTERVAL 6 SECONDS"),
			Modes: appendOnly,
		},
		Case{
			Name: "join_full_outer", Inputs: 2, Watermark: "3 seconds",
			Query: joinOf("fullouter", "l.k = r.k AND l.ts BETWEEN r.ts - INTERVAL 2 SECONDS AND r.ts + INTERVAL 4 SECONDS"),
			Modes: appendOnly,
		},
		Case{
			Name: "join_left_semi", Inputs: 2, Watermark: "3 seconds",
			Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
				return in[0].Alias("l").Join(in[1].Alias("r"),
					dataframe.Expr("l.k = r.k AND r.ts BETWEEN l.ts AND l.ts + INTERVAL 10 SECONDS"), "leftsemi")
			},
			Modes: appendOnly,
		},
		Case{
			// Keyed on a window of the event time, without ts: the window
			// carries the watermark (late when its end is at or below it).
			Name: "join_window_inner", Inputs: 2, Watermark: "2 seconds",
			Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
				side := func(df *dataframe.DataFrame, a string) *dataframe.DataFrame {
					return df.Select(dataframe.Window(dataframe.Col("ts"), "5 seconds").As("w"), dataframe.Col("k"), dataframe.Col("v")).Alias(a)
				}
				return side(in[0], "l").Join(side(in[1], "r"), dataframe.Expr("l.w = r.w AND l.k = r.k"), "inner").
					Select(dataframe.Col("l.w").As("w"), dataframe.Col("l.k").As("k"), dataframe.Col("l.v").As("l_v"), dataframe.Col("r.v").As("r_v"))
			},
			Modes: appendOnly,
		},
	)
}

func joinModelOf(c *Case) (joinModel, bool) {
	m, ok := joinModels[c.Name]
	return m, ok
}

// joinBound is when the stream emits row i of a join's output: at once
// (MinInt64) unless it is an outer join's unmatched row, which waits for
// the watermark to reach ts + evict (a NULL key goes at once, a NULL event
// time at the first eviction, with any watermark).
func (m joinModel) bound(b arrow.RecordBatch, i int) int64 {
	sc := b.Schema()
	col := func(name string) arrow.Array {
		idx := sc.FieldIndices(name)
		if len(idx) != 1 {
			return nil
		}
		return b.Column(idx[0])
	}
	for s, p := range [2]string{"l_", "r_"} {
		other := [2]string{"r_", "l_"}[s]
		ok, mk := col(other+"k"), col(p+"k")
		if ok == nil || mk == nil || !ok.IsNull(i) || mk.IsNull(i) {
			continue // matched (the other side's key is set) or no such columns
		}
		ts := col(p + "ts").(*array.Timestamp)
		if ts.IsNull(i) {
			return 1
		}
		return int64(ts.Value(i)) + m.evict[s].Microseconds()
	}
	return math.MinInt64
}

// expectedJoin is the batch result over the rows that were not late, less
// the unmatched rows the final watermark did not reach.
func (m joinModel) expected(mem memory.Allocator, c *Case, rd *renderer, sc *scenario) ([]row, error) {
	delay, err := delayOf(c)
	if err != nil {
		return nil, err
	}
	wm := sc.watermarks(delay)
	kept := make([][]event, len(sc.inputs))
	for i := range sc.inputs {
		for ch := 0; ch < sc.chunks; ch++ {
			for _, e := range sc.chunk(i, ch) {
				if e.ts != nil && wm[ch] > 0 && m.eventTime(*e.ts) <= wm[ch] {
					continue
				}
				kept[i] = append(kept[i], e)
			}
		}
	}
	rows, err := batchResult(mem, c, rd, kept)
	if err != nil {
		return nil, err
	}
	final := wm[sc.chunks]
	return slices.DeleteFunc(rows, func(r row) bool { return r.bound > final }), nil
}

// eventTime is what lateness is decided on: ts, or its window's end.
func (m joinModel) eventTime(ts int64) int64 {
	w := m.window.Microseconds()
	if w == 0 {
		return ts
	}
	start := ts - ((ts%w)+w)%w
	return start + w
}
