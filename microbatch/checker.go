package microbatch

import (
	"fmt"

	"github.com/sluicehq/sluice/dataframe/plan"
	"github.com/sluicehq/sluice/sinks"
)

// Check refuses, at Start(), the plans a micro-batch stream cannot run
// correctly in the given output mode, saying what to do instead. It is the
// streaming "unsupported operation" checker of Spark.
func Check(n plan.Node, mode sinks.OutputMode) error {
	if !plan.IsStreaming(n) {
		return fmt.Errorf("%w: the query has no streaming source; run it with an action (Collect, Show, Write) instead of WriteStream", plan.ErrUnsupported)
	}
	// A WHERE over a comma join of two streams is the join's condition
	// once pushed down, as Start sets up the join's state.
	if p, err := plan.PushDownPredicates(n); err == nil {
		n = p
	}
	aggregated := false
	stateful := 0
	var err error
	var walk func(n plan.Node, m sinks.OutputMode)
	walk = func(n plan.Node, m sinks.OutputMode) {
		if err != nil {
			return
		}
		// In complete mode a streaming aggregation takes its input as
		// appended rows and drops none as late: what feeds it (a
		// stream-stream join, a deduplication) is checked as in append
		// mode, and needs no append mode of its own.
		completeAgg := m == sinks.Complete && aggregates(n) && !overComplete(n, m)
		cm := m
		if completeAgg {
			cm = sinks.Append
		}
		for _, c := range n.Children() {
			walk(c, cm)
		}
		if err != nil || !plan.IsStreaming(n) {
			return
		}
		if k := kindOf(n); k != nil && !overComplete(n, m) {
			if stateful > 0 && m != sinks.Append && !completeAgg {
				err = fmt.Errorf("%w: chained stateful operators (an aggregation, deduplication or stream-stream join feeding another) need append output mode, as in Spark: in %s mode the first operator emits rows that it changes later, which the second cannot take back. Use append with a watermark, grouping the second aggregation by window_time(window) of the first; or complete mode; or run the second level in ForeachBatch", plan.ErrUnsupported, m)
				return
			}
			if streamJoinBelow(n) && !completeAgg {
				err = fmt.Errorf("%w: a stateful operator after a stream-stream join is not supported in %s mode: the join emits matches older than the watermark (its time-range condition lets them through), which the next operator would drop as late. Aggregate the join in complete output mode (nothing is late there), write the join's output to a sink and read it back as a stream, or aggregate it in ForeachBatch", plan.ErrUnsupported, m)
				return
			}
			stateful++
			if _, ok := n.(*plan.Aggregate); ok {
				aggregated = true
			}
			if k.check != nil {
				err = k.check(n, m)
			}
			return
		}
		switch t := n.(type) {
		case *plan.Sort:
			if !(aggregated && mode == sinks.Complete) {
				err = fmt.Errorf("%w: sorting is not supported on streaming DataFrames unless it is on an aggregated DataFrame in complete output mode; sort inside ForeachBatch, or sort when reading the sink's output", plan.ErrUnsupported)
			}
		case *plan.Union:
			for _, in := range t.Inputs {
				if !plan.IsStreaming(in) {
					err = fmt.Errorf("%w: a union of a streaming and a static DataFrame is not supported: the static rows would be emitted again in every micro-batch; union streams with streams, or join the static data instead", plan.ErrUnsupported)
					return
				}
			}
		case *plan.Limit:
			err = fmt.Errorf("%w: Limit is not supported on streaming DataFrames: a stream has no end to count from; limit inside ForeachBatch or when reading the sink's output", plan.ErrUnsupported)
		case *plan.Join:
			ls, rs := plan.IsStreaming(t.Left), plan.IsStreaming(t.Right)
			switch {
			case ls && !rs:
				if t.Type != plan.InnerJoin && t.Type != plan.CrossJoin && t.Type != plan.LeftOuterJoin && t.Type != plan.LeftSemiJoin && t.Type != plan.LeftAntiJoin {
					err = fmt.Errorf("%w: a %s join with the stream on the left and a static DataFrame on the right would have to remember which static rows never matched; use inner, left outer, left semi or left anti", plan.ErrUnsupported, t.Type)
				}
			case rs && !ls:
				if t.Type != plan.InnerJoin && t.Type != plan.CrossJoin && t.Type != plan.RightOuterJoin {
					err = fmt.Errorf("%w: a %s join with a static DataFrame on the left and the stream on the right is not supported; put the stream on the left, or use an inner or right outer join", plan.ErrUnsupported, t.Type)
				}
			}
		}
	}
	walk(n, mode)
	if err != nil {
		return err
	}
	if mode == sinks.Complete && !aggregated {
		return fmt.Errorf("%w: complete output mode is not supported when there are no streaming aggregations: without one the result table grows forever; use append (or update) output mode", plan.ErrUnsupported)
	}
	return nil
}

func checkAggregate(n plan.Node, mode sinks.OutputMode) error {
	if n.(*plan.Aggregate).Session != nil {
		return fmt.Errorf("%w: session_window on a stream needs sessions merged across batches, which this build does not run yet; group by window(ts, size) instead, or sessionize each micro-batch in ForeachBatch", plan.ErrUnsupported)
	}
	if mode == sinks.Append && !hasEventTimeKey(n.(*plan.Aggregate)) {
		return fmt.Errorf("%w: append output mode is not supported for a streaming aggregation without a watermark on a grouping key: append emits a group only once it can no longer change, which only a watermark can tell. Add WithWatermark(\"<event-time column>\", \"<delay>\") and group by a window over that column (or by the column), or use update or complete output mode", plan.ErrUnsupported)
	}
	return nil
}

// hasEventTimeKey reports whether an aggregation groups by a column (or a
// window over a column) that carries a watermark.
func hasEventTimeKey(a *plan.Aggregate) bool {
	for _, b := range a.BufferAttrs()[:len(a.Groups)] {
		if b.EventTime {
			return true
		}
	}
	return false
}

// aggregates reports whether n is a streaming aggregation (windowed or
// session).
func aggregates(n plan.Node) bool {
	return plan.IsStreaming(n) && (wantsAggregate(n) || wantsSession(n))
}

// streamJoinBelow reports whether n reads the output of a stream-stream
// join.
func streamJoinBelow(n plan.Node) bool {
	return plan.Below(n, func(x plan.Node) bool {
		j, ok := x.(*plan.Join)
		return ok && plan.IsStreaming(j.Left) && plan.IsStreaming(j.Right)
	})
}
