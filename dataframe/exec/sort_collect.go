package exec

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Helpers shared by the operators that consume a whole child (sort, TopN,
// the build side of joins).

// runPartitions calls fn for partitions 0..n-1 concurrently and waits for
// all of them. The first error cancels the others' context and is returned.
func runPartitions(ctx context.Context, n int, fn func(ctx context.Context, p int) error) error {
	if n == 1 {
		return fn(ctx, 0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for p := 0; p < n; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			if err := fn(ctx, p); err != nil {
				mu.Lock()
				if first == nil {
					first = err
					cancel()
				}
				mu.Unlock()
			}
		}(p)
	}
	wg.Wait()
	return first
}

// forEachBatch runs partition p of op and calls fn with each batch; fn does
// not own the batch.
func forEachBatch(ctx context.Context, tc *TaskContext, op Operator, p int, fn func(arrow.RecordBatch) error) error {
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

// collectAll runs every partition of op concurrently and returns the
// non-empty batches in partition order (then arrival order within a
// partition), so the result does not depend on goroutine timing. The caller
// releases them.
func collectAll(ctx context.Context, tc *TaskContext, op Operator) ([]arrow.RecordBatch, error) {
	parts := make([][]arrow.RecordBatch, op.Partitions())
	err := runPartitions(ctx, len(parts), func(ctx context.Context, p int) error {
		return forEachBatch(ctx, tc, op, p, func(b arrow.RecordBatch) error {
			if b.NumRows() > 0 {
				b.Retain()
				parts[p] = append(parts[p], b)
			}
			return nil
		})
	})
	var out []arrow.RecordBatch
	for _, bs := range parts {
		out = append(out, bs...)
	}
	if err != nil {
		releaseBatches(out)
		return nil, err
	}
	return out, nil
}

func releaseBatches(bs []arrow.RecordBatch) {
	for _, b := range bs {
		if b != nil {
			b.Release()
		}
	}
}

func releaseArrays(as []arrow.Array) {
	for _, a := range as {
		if a != nil {
			a.Release()
		}
	}
}

// concatBatches joins batches into one batch of schema (a zero-row batch
// when there are none). The inputs stay owned by the caller.
func concatBatches(mem memory.Allocator, schema *arrow.Schema, batches []arrow.RecordBatch) (arrow.RecordBatch, error) {
	switch len(batches) {
	case 0:
		return emptyBatch(mem, schema), nil
	case 1:
		if batches[0].Schema().Equal(schema) {
			batches[0].Retain()
			return batches[0], nil
		}
	}
	cols := make([]arrow.Array, schema.NumFields())
	var rows int64
	for _, b := range batches {
		rows += b.NumRows()
	}
	parts := make([]arrow.Array, len(batches))
	for c := range cols {
		for i, b := range batches {
			parts[i] = b.Column(c)
		}
		col, err := array.Concatenate(parts, mem)
		if err != nil {
			releaseArrays(cols[:c])
			return nil, errorf("concatenate column %q: %v", schema.Field(c).Name, err)
		}
		cols[c] = col
	}
	out := array.NewRecordBatch(schema, cols, rows)
	releaseArrays(cols)
	return out, nil
}

// emptyBatch is a zero-row batch of schema.
func emptyBatch(mem memory.Allocator, schema *arrow.Schema) arrow.RecordBatch {
	cols := make([]arrow.Array, schema.NumFields())
	for i, f := range schema.Fields() {
		cols[i] = array.MakeArrayOfNull(mem, f.Type, 0)
	}
	out := array.NewRecordBatch(schema, cols, 0)
	releaseArrays(cols)
	return out
}

// evalAll evaluates resolved expressions over b; the caller releases the
// arrays.
func evalAll(tc *TaskContext, es []expr.Typed, b arrow.RecordBatch) ([]arrow.Array, error) {
	ec := tc.EvalContext()
	out := make([]arrow.Array, 0, len(es))
	for _, e := range es {
		a, err := e.Eval(ec, b)
		if err != nil {
			releaseArrays(out)
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// typedAll checks that expressions are resolved. what names them in the
// error ("sort key", "join key").
func typedAll(what string, es []expr.Expr) ([]expr.Typed, error) {
	out := make([]expr.Typed, len(es))
	for i, e := range es {
		t, ok := e.(expr.Typed)
		if !ok {
			return nil, fmt.Errorf("%w: %s %s is not resolved; the planner must bind it to the input schema first: %w", ErrExec, what, e, expr.ErrUnresolved)
		}
		out[i] = t
	}
	return out, nil
}

// ReleaseBatches and ReleaseArrays release every non-nil element; for
// operators outside this package that own Arrow slices.
func ReleaseBatches(bs []arrow.RecordBatch) { releaseBatches(bs) }
func ReleaseArrays(as []arrow.Array)        { releaseArrays(as) }
