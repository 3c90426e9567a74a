package dataframe

import (
	"context"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/exec"
	"github.com/sluicehq/sluice/dataframe/plan"
)

// Cache returns a DataFrame over df's rows kept in memory: the first query
// that reads it computes them, later queries reuse them. A stream-static
// join over a cached static side reads it once instead of every
// micro-batch (Spark: df.cache()); without Cache the static side is read
// again each batch. The rows are what that first run saw (files added
// later are not picked up); Unpersist frees them, and the next use
// computes them again.
func (df *DataFrame) Cache() *DataFrame {
	if df.err != nil {
		return df
	}
	if plan.IsStreaming(df.plan) {
		return df.fail(fmt.Errorf("%w: Cache works on batch DataFrames; a stream keeps state through its operators instead", ErrStreaming))
	}
	c := &cached{df: df}
	out := df.derive(&plan.LocalRelation{Attrs: df.plan.Output(), Name: "InMemoryRelation", Open: c.open}, nil)
	out.cache = c
	return out
}

// Unpersist frees the rows of a DataFrame returned by Cache (a no-op for
// others). Queries running on it keep the rows they already read.
func (df *DataFrame) Unpersist() {
	if df.cache != nil {
		df.cache.release()
	}
}

type cached struct {
	df      *DataFrame
	mu      sync.Mutex
	schema  *arrow.Schema
	batches []arrow.RecordBatch
	filled  bool
}

func (c *cached) open(ctx context.Context, _ memory.Allocator) (array.RecordReader, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.filled {
		_, op, err := c.df.physical()
		if err != nil {
			return nil, err
		}
		bs, err := exec.Collect(ctx, c.df.taskContext(), op)
		if err != nil {
			return nil, err
		}
		c.schema, c.batches, c.filled = op.Schema(), bs, true
	}
	// The reader retains the batches it hands out.
	return array.NewRecordReader(c.schema, c.batches)
}

func (c *cached) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	exec.ReleaseBatches(c.batches)
	c.batches, c.filled = nil, false
}
