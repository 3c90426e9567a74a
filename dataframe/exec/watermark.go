package exec

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// EventTimeStats is the largest and smallest event time (microseconds) an
// EventTimeWatermark operator saw in one execution, and how many rows.
type EventTimeStats struct {
	Max, Min, Sum, Count atomic.Int64
}

type eventTimeKey struct{ id int }

// EventTimes returns the stats of watermark node id for this execution.
func (tc *TaskContext) EventTimes(id int) *EventTimeStats {
	return tc.Shared(eventTimeKey{id}, func() any {
		s := &EventTimeStats{}
		s.Max.Store(minInt64)
		s.Min.Store(maxInt64)
		return s
	}).(*EventTimeStats)
}

const (
	minInt64 = -1 << 63
	maxInt64 = 1<<63 - 1
)

// EventTimeWatermark passes rows through and records the range of its
// event-time column, which the stream engine turns into the next watermark.
type EventTimeWatermark struct {
	child  Operator
	column int
	id     int
}

// NewEventTimeWatermark watches column (a timestamp) of child as node id.
func NewEventTimeWatermark(child Operator, column, id int) *EventTimeWatermark {
	return &EventTimeWatermark{child: child, column: column, id: id}
}

func (w *EventTimeWatermark) Schema() *arrow.Schema { return w.child.Schema() }
func (w *EventTimeWatermark) Partitions() int       { return w.child.Partitions() }
func (w *EventTimeWatermark) Children() []Operator  { return []Operator{w.child} }
func (w *EventTimeWatermark) String() string {
	return fmt.Sprintf("EventTimeWatermark %s", w.child.Schema().Field(w.column).Name)
}

func (w *EventTimeWatermark) Execute(ctx context.Context, tc *TaskContext, p int) (Iterator, error) {
	in, err := w.child.Execute(ctx, tc, p)
	if err != nil {
		return nil, err
	}
	stats := tc.EventTimes(w.id)
	return &mapIter{in: in, fn: func(b arrow.RecordBatch) (arrow.RecordBatch, error) {
		col, ok := b.Column(w.column).(*array.Timestamp)
		if !ok {
			return nil, fmt.Errorf("%w: event-time column %d is %s, not a timestamp", ErrExec, w.column, b.Column(w.column).DataType())
		}
		lo, hi, sum, n := int64(maxInt64), int64(minInt64), int64(0), int64(0)
		vals := col.TimestampValues()
		for i, v := range vals {
			if col.IsNull(i) {
				continue
			}
			x := int64(v)
			lo, hi = min(lo, x), max(hi, x)
			sum += x / 1000
			n++
		}
		if n > 0 {
			for {
				cur := stats.Max.Load()
				if hi <= cur || stats.Max.CompareAndSwap(cur, hi) {
					break
				}
			}
			for {
				cur := stats.Min.Load()
				if lo >= cur || stats.Min.CompareAndSwap(cur, lo) {
					break
				}
			}
			stats.Sum.Add(sum)
			stats.Count.Add(n)
		}
		b.Retain()
		return b, nil
	}}, nil
}
