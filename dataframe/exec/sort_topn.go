package exec

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// topNOp is ORDER BY ... LIMIT n without a full sort (Spark's
// TakeOrderedAndProject): every child partition keeps its best n rows in
// parallel, then the partitions' winners are merged into one output
// partition.
//
// A partition buffers incoming rows and compacts (sorts, keeps n) whenever
// the buffer outgrows max(n, BatchSize); once it holds n rows, each new
// batch is first filtered against the current n-th row with one typed
// comparison per row, so most rows of a large input are dropped on arrival.
// Memory is O(n + BatchSize) per partition. Ties keep the earlier row
// (partition order, then arrival order), as the stable Sort does.
type topNOp struct {
	child  Operator
	orders []*expr.SortOrder
	n      int64
}

// NewTopN returns the first n rows of child in orders' order, in one
// partition. n <= 0 yields nothing without running child.
func NewTopN(child Operator, orders []*expr.SortOrder, n int64) Operator {
	return &topNOp{child: child, orders: orders, n: n}
}

func (t *topNOp) Schema() *arrow.Schema { return t.child.Schema() }
func (t *topNOp) Partitions() int       { return 1 }
func (t *topNOp) Children() []Operator  { return []Operator{t.child} }
func (t *topNOp) String() string {
	names := make([]string, t.child.Schema().NumFields())
	for i, f := range t.child.Schema().Fields() {
		names[i] = expr.QuoteIdent(f.Name)
	}
	return fmt.Sprintf("TakeOrderedAndProject(limit=%d, orderBy=[%s], output=[%s])", t.n, ordersString(t.orders), strings.Join(names, ", "))
}

func (t *topNOp) Execute(ctx context.Context, tc *TaskContext, p int) (Iterator, error) {
	if p != 0 {
		return nil, errorf("TakeOrderedAndProject has 1 partition, asked for partition %d", p)
	}
	keys, orders, err := sortSpec(t.orders)
	if err != nil {
		return nil, err
	}
	return &topNIter{ctx: ctx, tc: tc, op: t, keys: keys, orders: orders}, nil
}

type topNIter struct {
	ctx    context.Context
	tc     *TaskContext
	op     *topNOp
	keys   []expr.Typed
	orders []keyOrder

	started bool
	out     arrow.RecordBatch // the final n rows, in order
	pos     int64
}

func (it *topNIter) Next() (arrow.RecordBatch, error) {
	if !it.started {
		it.started = true
		if err := it.load(); err != nil {
			return nil, err
		}
	}
	if it.out == nil || it.pos >= it.out.NumRows() {
		it.Close()
		return nil, io.EOF
	}
	end := min(it.pos+int64(batchSize(it.tc)), it.out.NumRows())
	if it.pos == 0 && end == it.out.NumRows() {
		it.out.Retain()
		it.pos = end
		return it.out, nil
	}
	b := it.out.NewSlice(it.pos, end)
	it.pos = end
	return b, nil
}

func (it *topNIter) load() error {
	if it.op.n <= 0 {
		return nil
	}
	n := int(min(it.op.n, math.MaxInt32))
	child := it.op.child
	bests := make([]*topKeeper, child.Partitions())
	defer func() {
		for _, k := range bests {
			if k != nil {
				k.release()
			}
		}
	}()
	err := runPartitions(it.ctx, len(bests), func(ctx context.Context, p int) error {
		k := &topKeeper{ctx: ctx, tc: it.tc, keys: it.keys, orders: it.orders, n: n, schema: child.Schema()}
		bests[p] = k
		if err := forEachBatch(ctx, it.tc, child, p, k.add); err != nil {
			return err
		}
		return k.compact()
	})
	if err != nil {
		return err
	}
	// Merge: the winners of every partition, in partition order, compacted
	// once more.
	final := &topKeeper{ctx: it.ctx, tc: it.tc, keys: it.keys, orders: it.orders, n: n, schema: child.Schema()}
	defer final.release()
	for _, k := range bests {
		if k.best != nil {
			k.best.Retain()
			final.pending = append(final.pending, k.best)
		}
	}
	if err := final.compact(); err != nil {
		return err
	}
	if final.best != nil {
		final.best.Retain()
		it.out = final.best
	}
	return nil
}

func (it *topNIter) Close() {
	if it.out != nil {
		it.out.Release()
		it.out = nil
	}
}

// topKeeper holds the best n rows seen so far in one partition.
type topKeeper struct {
	ctx    context.Context
	tc     *TaskContext
	keys   []expr.Typed
	orders []keyOrder
	n      int
	schema *arrow.Schema

	best     arrow.RecordBatch // sorted, at most n rows; nil before the first compaction
	bestKeys []arrow.Array     // keys evaluated over best
	pending  []arrow.RecordBatch
	rows     int // rows in pending
}

// add takes a batch it does not own.
func (k *topKeeper) add(b arrow.RecordBatch) error {
	if b.NumRows() == 0 {
		return nil
	}
	if k.best != nil && int(k.best.NumRows()) == k.n {
		kept, err := k.beatThreshold(b)
		if err != nil || kept == nil {
			return err
		}
		b = kept
	} else {
		b.Retain()
	}
	k.pending = append(k.pending, b)
	k.rows += int(b.NumRows())
	if k.rows >= max(k.n, batchSize(k.tc)) {
		return k.compact()
	}
	return nil
}

// beatThreshold returns the rows of b that sort strictly before the n-th
// best row (nil when none does), owned by the caller.
func (k *topKeeper) beatThreshold(b arrow.RecordBatch) (arrow.RecordBatch, error) {
	cols, err := evalAll(k.tc, k.keys, b)
	if err != nil {
		return nil, err
	}
	defer releaseArrays(cols)
	c, err := newRowCmp(cols, k.bestKeys, k.orders)
	if err != nil {
		return nil, err
	}
	last := k.n - 1
	rows := int(b.NumRows())
	sel := make([]int32, 0, 64)
	for i := 0; i < rows; i++ {
		if c.cmp(i, last) < 0 {
			sel = append(sel, int32(i))
		}
	}
	switch len(sel) {
	case 0:
		return nil, nil
	case rows:
		b.Retain()
		return b, nil
	}
	return TakeBatch(k.tc.Mem, b, sel)
}

// compact sorts best and pending together and keeps the first n rows.
func (k *topKeeper) compact() error {
	if len(k.pending) == 0 {
		return nil
	}
	all := k.pending
	if k.best != nil {
		all = append([]arrow.RecordBatch{k.best}, all...)
	}
	merged, err := concatBatches(k.tc.Mem, k.schema, all)
	if err != nil {
		return err
	}
	defer merged.Release()
	releaseBatches(k.pending)
	k.pending, k.rows = k.pending[:0], 0
	k.dropBest()
	perm, err := sortBatch(k.ctx, k.tc, merged, k.keys, k.orders)
	if err != nil {
		return err
	}
	if len(perm) > k.n {
		perm = perm[:k.n]
	}
	best, err := TakeBatch(k.tc.Mem, merged, perm)
	if err != nil {
		return err
	}
	k.best = best
	k.bestKeys, err = evalAll(k.tc, k.keys, best)
	return err
}

func (k *topKeeper) dropBest() {
	if k.best != nil {
		k.best.Release()
		k.best = nil
	}
	releaseArrays(k.bestKeys)
	k.bestKeys = nil
}

func (k *topKeeper) release() {
	k.dropBest()
	releaseBatches(k.pending)
	k.pending = nil
}
