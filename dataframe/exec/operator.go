// Package exec holds sluice's physical operators: partitioned producers of
// arrow.RecordBatch (scan, project, filter, hash aggregate, hash join, sort,
// limit, union, exchange) and the planner that builds them from an
// optimised logical plan.
//
// Execution is pull-based per partition, like Spark's RDD partitions: the
// driver asks each of an operator's Partitions() for an Iterator and runs
// them concurrently. An Exchange re-partitions by hash of key columns; with
// one partition (GOMAXPROCS=1) the planner leaves exchanges out.
package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// ErrExec is the sentinel for execution failures callers test for.
var ErrExec = errors.New("exec")

// Operator is a physical operator.
//
// Contract: Execute(p) may be called once per partition per execution, and
// the iterators of different partitions may run on different goroutines at
// the same time; an operator that shares state across partitions (exchange,
// broadcast build side) synchronises it. Operators are reusable: a new
// execution calls Execute again.
type Operator interface {
	// Schema of every batch the operator yields.
	Schema() *arrow.Schema
	// Partitions is the number of output partitions (>= 1).
	Partitions() int
	// Execute starts partition p.
	Execute(ctx context.Context, tc *TaskContext, p int) (Iterator, error)
	Children() []Operator
	// String is one line for EXPLAIN: name and arguments, no children.
	String() string
}

// Iterator yields the batches of one partition.
type Iterator interface {
	// Next returns the next batch, owned by the caller (who Releases it), or
	// (nil, io.EOF) after the last one. A batch may have zero rows.
	Next() (arrow.RecordBatch, error)
	// Close releases resources; safe after an error and more than once.
	Close()
}

// TaskContext carries query-wide settings to operators.
type TaskContext struct {
	Mem memory.Allocator
	// Now is current_timestamp() for this execution.
	Now time.Time
	// BatchSize caps rows per produced batch where an operator chooses it.
	BatchSize int

	shared sync.Map
}

// Shared returns the value stored under key for this execution, creating
// it with init on first use. Operators whose partitions share work (an
// exchange's shuffle, a broadcast join's build side) keep it here, so a
// second execution of the same operator tree starts fresh.
func (tc *TaskContext) Shared(key any, init func() any) any {
	v, _ := tc.shared.LoadOrStore(key, &sharedCell{})
	c := v.(*sharedCell)
	c.once.Do(func() { c.v = init() })
	return c.v
}

// releaseShared frees what shared work still holds for tasks that never
// ran; it is called once an execution failed and all its tasks ended.
func (tc *TaskContext) releaseShared() {
	tc.shared.Range(func(_, v any) bool {
		c := v.(*sharedCell)
		c.once.Do(func() {}) // waits for an init in flight
		if r, ok := c.v.(interface{ releaseUntaken() }); ok {
			r.releaseUntaken()
		}
		return true
	})
}

type sharedCell struct {
	once sync.Once
	v    any
}

// NewTaskContext fills defaults: Go allocator, 64Ki-row batches.
func NewTaskContext(mem memory.Allocator, now time.Time) *TaskContext {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &TaskContext{Mem: mem, Now: now, BatchSize: 64 * 1024}
}

// EvalContext returns an expression evaluation context for this task.
func (tc *TaskContext) EvalContext() *expr.EvalContext {
	return &expr.EvalContext{Mem: tc.Mem, Now: tc.Now}
}

// Explain renders an operator tree, one operator per line, children
// indented, Spark style.
func Explain(op Operator) string {
	var b strings.Builder
	var walk func(o Operator, depth int)
	walk = func(o Operator, depth int) {
		if depth > 0 {
			b.WriteString(strings.Repeat("   ", depth-1))
			b.WriteString("+- ")
		}
		b.WriteString(o.String())
		b.WriteByte('\n')
		for _, c := range o.Children() {
			walk(c, depth+1)
		}
	}
	walk(op, 0)
	return b.String()
}

// Drain runs every partition of op (concurrently) and calls fn with each
// batch, from one goroutine at a time. fn does not own the batch; it must
// Retain to keep it.
func Drain(ctx context.Context, tc *TaskContext, op Operator, fn func(arrow.RecordBatch) error) error {
	n := op.Partitions()
	if n == 1 {
		return drainPartition(ctx, tc, op, 0, fn)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type item struct {
		b   arrow.RecordBatch
		err error
	}
	ch := make(chan item, n)
	for p := 0; p < n; p++ {
		go func(p int) {
			err := drainPartition(ctx, tc, op, p, func(b arrow.RecordBatch) error {
				b.Retain()
				select {
				case ch <- item{b: b}:
					return nil
				case <-ctx.Done():
					b.Release()
					return ctx.Err()
				}
			})
			// The final report is always delivered: the loop below reads
			// until every partition has reported.
			ch <- item{err: err}
		}(p)
	}
	var first error
	for finished := 0; finished < n; {
		it := <-ch
		if it.b != nil {
			if first == nil {
				if err := fn(it.b); err != nil {
					first = err
					cancel()
				}
			}
			it.b.Release()
			continue
		}
		finished++
		if it.err != nil && first == nil {
			first = it.err
			cancel()
		}
	}
	return first
}

func drainPartition(ctx context.Context, tc *TaskContext, op Operator, p int, fn func(arrow.RecordBatch) error) error {
	it, err := op.Execute(ctx, tc, p)
	if err != nil {
		return err
	}
	defer it.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := it.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		err = fn(b)
		b.Release()
		if err != nil {
			return err
		}
	}
}

// Collect runs op and returns all batches (caller releases each).
func Collect(ctx context.Context, tc *TaskContext, op Operator) ([]arrow.RecordBatch, error) {
	var out []arrow.RecordBatch
	err := Drain(ctx, tc, op, func(b arrow.RecordBatch) error {
		b.Retain()
		out = append(out, b)
		return nil
	})
	if err != nil {
		for _, b := range out {
			b.Release()
		}
		tc.releaseShared()
		return nil, err
	}
	return out, nil
}

// exprList renders expressions for String().
func exprList(es []expr.Expr) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.String()
	}
	return strings.Join(parts, ", ")
}

func errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrExec, fmt.Sprintf(format, args...))
}
