package exec

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
)

// limitOp keeps the first n rows.
//
// The global form (NewLimit) has one partition and reads the child's
// partitions one after another, in order, so the rows it keeps are
// deterministic for a deterministic child, and it stops pulling (and never
// executes the remaining partitions) once it has n rows. The local form
// (NewLocalLimit) keeps n rows of each partition, in parallel; the planner
// can put it under a global limit to cut each partition early.
type limitOp struct {
	child Operator
	n     int64
	local bool
}

// NewLimit keeps the first n rows of child (partition 0 first), in one
// output partition. n <= 0 yields nothing without running child.
func NewLimit(child Operator, n int64) Operator { return &limitOp{child: child, n: n} }

// NewLocalLimit keeps the first n rows of every partition of child.
func NewLocalLimit(child Operator, n int64) Operator {
	return &limitOp{child: child, n: n, local: true}
}

func (l *limitOp) Schema() *arrow.Schema { return l.child.Schema() }
func (l *limitOp) Children() []Operator  { return []Operator{l.child} }
func (l *limitOp) Partitions() int {
	if l.local {
		return l.child.Partitions()
	}
	return 1
}

func (l *limitOp) String() string {
	if l.local {
		return fmt.Sprintf("LocalLimit %d", l.n)
	}
	return fmt.Sprintf("GlobalLimit %d", l.n)
}

func (l *limitOp) Execute(ctx context.Context, tc *TaskContext, p int) (Iterator, error) {
	if p < 0 || p >= l.Partitions() {
		return nil, errorf("%s has %d partitions, asked for partition %d", l, l.Partitions(), p)
	}
	it := &limitIter{ctx: ctx, tc: tc, child: l.child, left: l.n, next: 0, last: l.child.Partitions()}
	if l.local {
		it.next, it.last = p, p+1
	}
	return it, nil
}

type limitIter struct {
	ctx        context.Context
	tc         *TaskContext
	child      Operator
	left       int64 // rows still wanted
	next, last int   // child partitions still to read: [next, last)
	cur        Iterator
}

func (it *limitIter) Next() (arrow.RecordBatch, error) {
	for it.left > 0 {
		if err := it.ctx.Err(); err != nil {
			return nil, err
		}
		if it.cur == nil {
			if it.next >= it.last {
				break
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
		n := b.NumRows()
		if n == 0 {
			b.Release()
			continue
		}
		if n > it.left {
			s := b.NewSlice(0, it.left)
			b.Release()
			b = s
			n = it.left
		}
		it.left -= n
		if it.left == 0 {
			it.closeChild() // stop the child as early as possible
		}
		return b, nil
	}
	it.Close()
	return nil, io.EOF
}

func (it *limitIter) closeChild() {
	if it.cur != nil {
		it.cur.Close()
		it.cur = nil
	}
}

func (it *limitIter) Close() {
	it.closeChild()
	it.left = 0
}
