package exec

import (
	"context"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// sortOp is a global ORDER BY: it reads every partition of its child (all
// at once, concurrently), sorts the rows in memory and yields them in
// BatchSize chunks from its single partition.
//
// The sort is stable with respect to the child's partition order then row
// order. Everything is held in memory; spilling to disk is not implemented.
type sortOp struct {
	child  Operator
	orders []*expr.SortOrder
}

// NewSort sorts all rows of child by orders (resolved against child's
// schema) into one output partition.
func NewSort(child Operator, orders []*expr.SortOrder) Operator {
	return &sortOp{child: child, orders: orders}
}

func (s *sortOp) Schema() *arrow.Schema { return s.child.Schema() }
func (s *sortOp) Partitions() int       { return 1 }
func (s *sortOp) Children() []Operator  { return []Operator{s.child} }
func (s *sortOp) String() string        { return "Sort [" + ordersString(s.orders) + "]" }
func (s *sortOp) Execute(ctx context.Context, tc *TaskContext, p int) (Iterator, error) {
	if p != 0 {
		return nil, errorf("Sort has 1 partition, asked for partition %d", p)
	}
	keys, orders, err := sortSpec(s.orders)
	if err != nil {
		return nil, err
	}
	return &sortIter{ctx: ctx, tc: tc, op: s, keys: keys, orders: orders}, nil
}

func ordersString(orders []*expr.SortOrder) string {
	parts := make([]string, len(orders))
	for i, o := range orders {
		parts[i] = o.String()
	}
	return strings.Join(parts, ", ")
}

// sortSpec splits sort orders into key expressions and directions.
func sortSpec(orders []*expr.SortOrder) ([]expr.Typed, []keyOrder, error) {
	if len(orders) == 0 {
		return nil, nil, errorf("sort needs at least one sort order")
	}
	es := make([]expr.Expr, len(orders))
	ko := make([]keyOrder, len(orders))
	for i, o := range orders {
		es[i] = o.Child
		ko[i] = keyOrder{desc: o.Desc, nullsFirst: o.NullsFirst}
	}
	keys, err := typedAll("sort key", es)
	return keys, ko, err
}

// sortBatch returns b's row order under the sort keys.
func sortBatch(ctx context.Context, tc *TaskContext, b arrow.RecordBatch, keys []expr.Typed, orders []keyOrder) ([]int32, error) {
	cols, err := evalAll(tc, keys, b)
	if err != nil {
		return nil, err
	}
	defer releaseArrays(cols)
	return sortPermutation(ctx, cols, orders)
}

type sortIter struct {
	ctx    context.Context
	tc     *TaskContext
	op     *sortOp
	keys   []expr.Typed
	orders []keyOrder

	started bool
	all     arrow.RecordBatch // every input row, concatenated
	perm    []int32
	pos     int
}

func (it *sortIter) Next() (arrow.RecordBatch, error) {
	if !it.started {
		it.started = true
		if err := it.load(); err != nil {
			return nil, err
		}
	}
	if it.all == nil || it.pos >= len(it.perm) {
		it.Close()
		return nil, io.EOF
	}
	if err := it.ctx.Err(); err != nil {
		return nil, err
	}
	end := min(it.pos+batchSize(it.tc), len(it.perm))
	out, err := TakeBatch(it.tc.Mem, it.all, it.perm[it.pos:end])
	if err != nil {
		return nil, err
	}
	it.pos = end
	return out, nil
}

func (it *sortIter) load() error {
	batches, err := collectAll(it.ctx, it.tc, it.op.child)
	if err != nil {
		return err
	}
	if len(batches) == 0 {
		return nil
	}
	all, err := concatBatches(it.tc.Mem, it.op.Schema(), batches)
	releaseBatches(batches)
	if err != nil {
		return err
	}
	it.all = all
	it.perm, err = sortBatch(it.ctx, it.tc, all, it.keys, it.orders)
	return err
}

func (it *sortIter) Close() {
	if it.all != nil {
		it.all.Release()
		it.all = nil
	}
	it.perm = nil
}

// batchSize is tc.BatchSize with a floor of 1.
func batchSize(tc *TaskContext) int {
	if tc.BatchSize <= 0 {
		return 64 * 1024
	}
	return tc.BatchSize
}
