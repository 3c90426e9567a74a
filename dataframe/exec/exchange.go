package exec

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Exchange repartitions its child: by hash of key expressions into n
// partitions, or (no keys) gathers everything into one partition.
//
// It runs every child partition concurrently on first use and buffers the
// routed batches; each output partition then replays its share. Simple and
// allocation-light; spilling is left for when batch jobs outgrow memory.
type Exchange struct {
	child Operator
	keys  []expr.Expr
	n     int
}

// NewHashExchange partitions child rows by hash of keys into n partitions.
func NewHashExchange(child Operator, keys []expr.Expr, n int) *Exchange {
	return &Exchange{child: child, keys: keys, n: n}
}

// NewGather merges all child partitions into one.
func NewGather(child Operator) *Exchange { return &Exchange{child: child, n: 1} }

func (e *Exchange) Schema() *arrow.Schema { return e.child.Schema() }
func (e *Exchange) Partitions() int       { return e.n }
func (e *Exchange) Children() []Operator  { return []Operator{e.child} }
func (e *Exchange) String() string {
	if len(e.keys) == 0 {
		return "Exchange SinglePartition"
	}
	return fmt.Sprintf("Exchange hashpartitioning(%s, %d)", exprList(e.keys), e.n)
}

type shuffled struct {
	mu    sync.Mutex
	parts [][]arrow.RecordBatch
	taken []bool
	err   error
}

func (e *Exchange) Execute(ctx context.Context, tc *TaskContext, p int) (Iterator, error) {
	sh := tc.Shared(e, func() any { return e.run(ctx, tc) }).(*shuffled)
	if sh.err != nil {
		return nil, sh.err
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.taken[p] {
		return nil, fmt.Errorf("%w: exchange partition %d executed twice in one run", ErrExec, p)
	}
	sh.taken[p] = true
	mine := sh.parts[p]
	sh.parts[p] = nil
	return &ownedIter{batches: mine}, nil
}

func (e *Exchange) run(ctx context.Context, tc *TaskContext) *shuffled {
	sh := &shuffled{parts: make([][]arrow.RecordBatch, e.n), taken: make([]bool, e.n)}
	ec := tc.EvalContext()
	err := Drain(ctx, tc, e.child, func(b arrow.RecordBatch) error {
		if e.n == 1 || len(e.keys) == 0 {
			b.Retain()
			sh.parts[0] = append(sh.parts[0], b)
			return nil
		}
		keys := make([]arrow.Array, len(e.keys))
		defer releaseArrays(keys)
		for i, k := range e.keys {
			c, err := expr.Eval(ec, k, b)
			if err != nil {
				return err
			}
			keys[i] = c
		}
		hashes := make([]uint64, b.NumRows())
		if err := HashColumns(keys, hashes); err != nil {
			return err
		}
		idx := make([][]int32, e.n)
		for i, h := range hashes {
			t := int(h % uint64(e.n))
			idx[t] = append(idx[t], int32(i))
		}
		for t, rows := range idx {
			if len(rows) == 0 {
				continue
			}
			out, err := TakeBatch(tc.Mem, b, rows)
			if err != nil {
				return err
			}
			sh.parts[t] = append(sh.parts[t], out)
		}
		return nil
	})
	if err != nil {
		for _, p := range sh.parts {
			for _, b := range p {
				b.Release()
			}
		}
		sh.parts = nil
		sh.err = err
	}
	return sh
}

// releaseUntaken frees the partitions no task took: an execution cut
// short (a cancelled batch) would otherwise hold them for good.
func (sh *shuffled) releaseUntaken() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for p, bs := range sh.parts {
		ReleaseBatches(bs)
		sh.parts[p] = nil
	}
}

// ownedIter yields batches it owns; Close releases the rest.
type ownedIter struct {
	batches []arrow.RecordBatch
	i       int
}

func (it *ownedIter) Next() (arrow.RecordBatch, error) {
	if it.i >= len(it.batches) {
		return nil, io.EOF
	}
	b := it.batches[it.i]
	it.batches[it.i] = nil
	it.i++
	return b, nil
}

func (it *ownedIter) Close() {
	for ; it.i < len(it.batches); it.i++ {
		it.batches[it.i].Release()
		it.batches[it.i] = nil
	}
}

// NewOwnedIterator yields batches the caller hands over; Close releases
// the ones not taken. Operators outside this package (the stream engine's
// stateful operators) return their results through it.
func NewOwnedIterator(batches []arrow.RecordBatch) Iterator { return &ownedIter{batches: batches} }
