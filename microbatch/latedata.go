package microbatch

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe/exec"
	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/plan"
	"github.com/sluicehq/sluice/sinks"
)

// Spark drops rows the watermark closed and only counts them. With
// Config.LateData set, a streaming aggregation instead sets those input
// rows aside, before partial aggregation, and the batch hands them to the
// late-data sink under its own batch id, before the main sink: so a
// replayed batch gives an exactly-once late sink the same rows again.

// lateRows collects one batch's late rows across partitions.
type lateRows struct {
	mu      sync.Mutex
	schema  *arrow.Schema
	batches []arrow.RecordBatch
}

func (l *lateRows) add(b arrow.RecordBatch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.schema == nil {
		l.schema = b.Schema()
	}
	l.batches = append(l.batches, b)
}

func (l *lateRows) release() { exec.ReleaseBatches(l.batches) }

// deliver hands the late rows to sink; a batch without late rows sends
// nothing.
func (l *lateRows) deliver(ctx context.Context, sink sinks.Sink, batchID int64) error {
	if len(l.batches) == 0 {
		return nil
	}
	rr, err := array.NewRecordReader(l.schema, l.batches)
	if err != nil {
		return err
	}
	defer rr.Release()
	if err := sink.AddBatch(ctx, batchID, sinks.Append, rr); err != nil {
		return fmt.Errorf("late-data sink %s: %w", describeSink(sink), err)
	}
	return nil
}

// lateSplit passes on the rows whose event-time key (a window struct or a
// timestamp) the watermark has not closed and gives the others to late.
type lateSplit struct {
	child   exec.Operator
	key     expr.Expr // over child
	lateUs  int64
	late    *lateRows
	dropped *atomic.Int64
}

func (l *lateSplit) Schema() *arrow.Schema     { return l.child.Schema() }
func (l *lateSplit) Partitions() int           { return l.child.Partitions() }
func (l *lateSplit) Children() []exec.Operator { return []exec.Operator{l.child} }
func (l *lateSplit) String() string {
	return fmt.Sprintf("LateRowsSplit [%s, watermark=%d]", l.key, l.lateUs/1000)
}

func (l *lateSplit) Execute(ctx context.Context, tc *exec.TaskContext, p int) (exec.Iterator, error) {
	in, err := l.child.Execute(ctx, tc, p)
	if err != nil {
		return nil, err
	}
	return &lateIter{l: l, in: in, tc: tc}, nil
}

type lateIter struct {
	l  *lateSplit
	in exec.Iterator
	tc *exec.TaskContext
}

func (it *lateIter) Close() { it.in.Close() }

func (it *lateIter) Next() (arrow.RecordBatch, error) {
	b, err := it.in.Next()
	if err != nil || it.l.lateUs <= 0 {
		return b, err
	}
	defer b.Release()
	k, err := expr.Eval(it.tc.EvalContext(), it.l.key, b)
	if err != nil {
		return nil, err
	}
	defer k.Release()
	live, late, err := splitClosed(k, it.l.lateUs)
	if err != nil {
		return nil, err
	}
	if len(late) > 0 {
		lb, err := exec.TakeBatch(it.tc.Mem, b, late)
		if err != nil {
			return nil, err
		}
		it.l.late.add(lb)
		it.l.dropped.Add(int64(len(late)))
	}
	if len(late) == 0 {
		b.Retain()
		return b, nil
	}
	return exec.TakeBatch(it.tc.Mem, b, live)
}

// splitClosed returns the rows whose event-time key is open and those the
// watermark closed: a window is closed when its end <= wm, a timestamp
// when it is <= wm (Spark's rule); NULL is never closed.
func splitClosed(key arrow.Array, wmUs int64) (live, late []int32, err error) {
	ends, parent, err := eventEnds(key)
	if err != nil {
		return nil, nil, err
	}
	for i := 0; i < key.Len(); i++ {
		closed := false
		if !(parent != nil && parent.IsNull(i)) && !ends.IsNull(i) {
			closed = int64(ends.Value(i)) <= wmUs
		}
		if closed {
			late = append(late, int32(i))
		} else {
			live = append(live, int32(i))
		}
	}
	return live, late, nil
}

// hasEventTimeAggregate reports whether p has a streaming aggregation
// grouped by an event-time key, the operator that routes late rows.
func hasEventTimeAggregate(p plan.Node) bool {
	return plan.Any(p, func(n plan.Node) bool {
		a, ok := n.(*plan.Aggregate)
		return ok && a.Stateful && hasEventTimeKey(a)
	})
}
