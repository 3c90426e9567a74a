package oracle

import (
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
)

// Session windows do not fit the grouped model of expected: a session is
// made by its rows, so lateness cannot be decided per group. The stream
// decides it per input row (microbatch/statefulsession.go): in append
// mode a row whose ts is at or below the watermark of the batch reading
// it is late and dropped; rows in no session (NULL ts, NULL or
// non-positive gap) are not counted. So a session case (sessionCases, by
// name) expects the batch query over the rows that are not late; append
// keeps the sessions the final watermark closed (end <= watermark), each
// emitted once. Complete mode drops nothing and evicts nothing: the batch
// query over all rows (those cases leave EventTime empty).
var sessionCases = map[string]bool{
	"session_append_keyed":      true,
	"session_append_row_gap":    true,
	"session_complete_row_gap":  true,
	"session_complete_filtered": true,
}

// sessionGap is a per-row gap over the input: g picks 1, 3 or 8 seconds,
// or no session at all (g = 3: NULL every other row, else 0 seconds).
const sessionGap = "CASE g WHEN 0 THEN INTERVAL 1 SECOND WHEN 1 THEN INTERVAL 3 SECONDS WHEN 2 THEN INTERVAL 8 SECONDS " +
	"ELSE CASE WHEN v % 2 = 0 THEN NULL ELSE INTERVAL 0 SECONDS END END"

func init() {
	cases = append(cases,
		Case{
			Name:      "session_append_keyed",
			Watermark: "5 seconds",
			Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
				return in[0].GroupBy(dataframe.Col("k"), dataframe.SessionWindow(dataframe.Col("ts"), "3 seconds")).
					Agg(dataframe.Count("*").As("n"), dataframe.Sum("v").As("sum"), dataframe.Max("s").As("max_s"), dataframe.Min("ts").As("first"))
			},
			Modes:     []dataframe.OutputMode{dataframe.Append},
			Key:       []string{"k", "session_window"},
			EventTime: "session_window",
			Count:     "n",
		},
		Case{
			Name:      "session_append_row_gap",
			Watermark: "4 seconds",
			Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
				return in[0].GroupBy(dataframe.SessionWindow(dataframe.Col("ts"), dataframe.Expr(sessionGap))).
					Agg(dataframe.Count("*").As("n"), dataframe.Avg("v").As("avg"), dataframe.ApproxCountDistinct("s").As("approx"),
						dataframe.CollectSet("k").As("keys"))
			},
			Modes:     []dataframe.OutputMode{dataframe.Append},
			Key:       []string{"session_window"},
			EventTime: "session_window",
			Sets:      []string{"keys"},
			Count:     "n",
		},
		Case{
			// Complete keeps every session: rows behind the watermark
			// still join theirs.
			Name:      "session_complete_row_gap",
			Watermark: "2 seconds",
			Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
				return in[0].GroupBy(dataframe.Col("k"), dataframe.SessionWindow(dataframe.Col("ts"), dataframe.Expr(sessionGap)).As("sw")).
					Agg(dataframe.Count("*").As("n"), dataframe.Sum("v").As("sum"), dataframe.CollectList("s").As("list"))
			},
			Modes: []dataframe.OutputMode{dataframe.Complete},
			Key:   []string{"k", "sw"},
			Sets:  []string{"list"},
		},
		Case{
			Name: "session_complete_filtered",
			Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
				return in[0].Filter("v IS NULL OR v > -20").
					GroupBy(dataframe.Col("g"), dataframe.SessionWindow(dataframe.Col("ts"), "2 seconds")).
					Agg(dataframe.Count("v").As("nv"), dataframe.Max("v").As("max"))
			},
			Modes: []dataframe.OutputMode{dataframe.Complete},
			Key:   []string{"g", "session_window"},
		},
	)
}

// expectedSession is expected for a session case.
func expectedSession(mem memory.Allocator, c *Case, rd *renderer, sc *scenario, mode dataframe.OutputMode) ([]row, error) {
	if mode == dataframe.Complete || c.Watermark == "" {
		return batchResult(mem, c, rd, sc.inputs)
	}
	delay, err := delayOf(c)
	if err != nil {
		return nil, err
	}
	wm := sc.watermarks(delay)
	kept := make([][]event, len(sc.inputs))
	for i := range sc.inputs {
		for ch := 0; ch < sc.chunks; ch++ {
			for _, e := range sc.chunk(i, ch) {
				if wm[ch] > 0 && e.ts != nil && *e.ts <= wm[ch] {
					continue
				}
				kept[i] = append(kept[i], e)
			}
		}
	}
	rows, err := batchResult(mem, c, rd, kept)
	if err != nil || mode != dataframe.Append {
		return rows, err
	}
	final := wm[sc.chunks]
	var out []row
	for _, r := range rows {
		if r.bound <= final {
			out = append(out, r)
		}
	}
	return out, nil
}
