package exec

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// dedupOp is dropDuplicates(keys): it keeps the first row seen for each
// distinct key tuple (NULLs equal to each other, as in GROUP BY). A hash
// table gives each key tuple a dense id; a row is new when its id is at
// least the table's size before the batch, and is the first row of the
// batch with that id.
//
// Unpartitioned, it has one partition that reads the child's partitions
// one after another in order, so "first" is deterministic for a
// deterministic child. When the child is already hash-partitioned by the
// keys (partitioned = true) every partition deduplicates on its own, in
// parallel.
type dedupOp struct {
	child       Operator
	keys        []expr.Expr
	partitioned bool
}

// NewDedup drops rows whose keys (bound to child; empty means every
// column) repeat an earlier row's. partitioned says child is
// hash-partitioned by keys.
func NewDedup(child Operator, keys []expr.Expr, partitioned bool) Operator {
	if len(keys) == 0 {
		for i, f := range child.Schema().Fields() {
			keys = append(keys, &expr.BoundRef{Index: i, Name: f.Name, Type: f.Type, Null: f.Nullable})
		}
	}
	return &dedupOp{child: child, keys: keys, partitioned: partitioned}
}

func (d *dedupOp) Schema() *arrow.Schema { return d.child.Schema() }
func (d *dedupOp) Children() []Operator  { return []Operator{d.child} }
func (d *dedupOp) String() string        { return fmt.Sprintf("Deduplicate [%s]", exprList(d.keys)) }
func (d *dedupOp) Partitions() int {
	if d.partitioned {
		return d.child.Partitions()
	}
	return 1
}

func (d *dedupOp) Execute(ctx context.Context, tc *TaskContext, p int) (Iterator, error) {
	if p < 0 || p >= d.Partitions() {
		return nil, errorf("%s has %d partitions, asked for partition %d", d, d.Partitions(), p)
	}
	keys, err := typedAll("deduplication key", d.keys)
	if err != nil {
		return nil, err
	}
	types := make([]arrow.DataType, len(keys))
	for i, k := range keys {
		types[i] = k.DataType()
	}
	table, err := newKeyTable(types, tc.Mem)
	if err != nil {
		return nil, err
	}
	it := &dedupIter{ctx: ctx, tc: tc, child: d.child, keys: keys, table: table, next: 0, last: d.child.Partitions()}
	if d.partitioned {
		it.next, it.last = p, p+1
	}
	return it, nil
}

type dedupIter struct {
	ctx        context.Context
	tc         *TaskContext
	child      Operator
	keys       []expr.Typed
	table      keyTable
	next, last int // child partitions still to read: [next, last)
	cur        Iterator

	gids []uint32
	seen []bool
	sel  []int32
}

func (it *dedupIter) Next() (arrow.RecordBatch, error) {
	for {
		if err := it.ctx.Err(); err != nil {
			return nil, err
		}
		if it.table == nil {
			return nil, io.EOF
		}
		if it.cur == nil {
			if it.next >= it.last {
				it.Close()
				return nil, io.EOF
			}
			cur, err := it.child.Execute(it.ctx, it.tc, it.next)
			if err != nil {
				return nil, err
			}
			it.cur = cur
			it.next++
		}
		b, err := it.cur.Next()
		if err == io.EOF {
			it.cur.Close()
			it.cur = nil
			continue
		}
		if err != nil {
			return nil, err
		}
		out, err := it.fresh(b)
		b.Release()
		if err != nil {
			return nil, err
		}
		if out != nil {
			return out, nil
		}
	}
}

// fresh returns the rows of b (not owned) with unseen keys, or nil.
func (it *dedupIter) fresh(b arrow.RecordBatch) (arrow.RecordBatch, error) {
	n := int(b.NumRows())
	if n == 0 {
		return nil, nil
	}
	cols, err := evalAll(it.tc, it.keys, b)
	if err != nil {
		return nil, err
	}
	defer releaseArrays(cols)
	if cap(it.gids) < n {
		it.gids = make([]uint32, n)
	}
	gids := it.gids[:n]
	before := uint32(it.table.Len())
	if err := it.table.Insert(cols, gids); err != nil {
		return nil, err
	}
	added := it.table.Len() - int(before)
	if added == 0 {
		return nil, nil
	}
	if cap(it.seen) < added {
		it.seen = make([]bool, added)
	}
	seen := it.seen[:added]
	clear(seen)
	sel := it.sel[:0]
	for i, g := range gids {
		if g >= before && !seen[g-before] {
			seen[g-before] = true
			sel = append(sel, int32(i))
		}
	}
	it.sel = sel
	if len(sel) == n {
		b.Retain()
		return b, nil
	}
	return TakeBatch(it.tc.Mem, b, sel)
}

func (it *dedupIter) Close() {
	if it.cur != nil {
		it.cur.Close()
		it.cur = nil
	}
	if it.table != nil {
		it.table.Release()
		it.table = nil
	}
}
