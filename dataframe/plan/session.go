package plan

import (
	"fmt"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// SessionWindow marks an Aggregate grouped by session_window(ts, gap), as
// Spark's session windows: Groups[Key] gives each row its own session
// [ts, ts + gap) (NULL when ts or the gap is NULL or the gap is not
// positive: such rows are in no session and dropped). The aggregation
// groups rows by the other keys, then merges each group's sessions that
// overlap or touch (start <= end of the session so far) into one session
// [min start, max end), and aggregates per merged session; the key
// column holds the merged session.
//
// The physical operator is exec.SessionAggregate; a stream keeps the
// open sessions of each group in state (microbatch, kind "session").
type SessionWindow struct {
	Key int
}

// sessionGroups names an unnamed session_window(...) grouping key
// "session_window" (Spark's column name) and points outputs that repeat
// the call at it. It returns the key's index, or -1 when there is none.
// One session window per aggregation, and not together with window():
// both would multiply rows (Spark refuses the same).
func sessionGroups(groups, outputs []expr.Expr) ([]expr.Expr, []expr.Expr, int, error) {
	groups = append([]expr.Expr(nil), groups...)
	outputs = append([]expr.Expr(nil), outputs...)
	key := -1
	tumbling := false
	for i, g := range groups {
		call, ok := expr.Unalias(g).(*expr.Call)
		if !ok {
			continue
		}
		switch call.Name {
		case "window":
			tumbling = true
			continue
		case "session_window":
		default:
			continue
		}
		if key >= 0 {
			return nil, nil, -1, fmt.Errorf("%w: GROUP BY has two session windows (%s and %s); group by one session_window", ErrAnalysis, expr.Unalias(groups[key]), call)
		}
		key = i
		if _, isAlias := g.(*expr.Alias); isAlias {
			continue
		}
		groups[i] = &expr.Alias{Child: call, Name: "session_window"}
		for j, o := range outputs {
			if o.String() == call.String() {
				outputs[j] = groups[i]
			}
		}
	}
	if key >= 0 && tumbling {
		return nil, nil, -1, fmt.Errorf("%w: GROUP BY has both window(...) and session_window(...); a row would be in a tumbling window and a session at once: group by one of them", ErrAnalysis)
	}
	return groups, outputs, key, nil
}

// checkSessionKey makes sure the resolved session key is the call (a
// struct<start, end> per row).
func checkSessionKey(g expr.Expr) error {
	c, ok := expr.Unalias(g).(*expr.ScalarCall)
	if !ok || c.Fn.Name != "session_window" {
		return fmt.Errorf("%w: internal error: session window key resolved to %s", ErrAnalysis, g)
	}
	return nil
}
