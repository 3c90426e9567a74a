package exec

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// nestedLoopJoin is Spark's BroadcastNestedLoopJoin: the right side is
// collected once and every left row is paired with every right row, the
// condition (if any) deciding which pairs match. It serves CROSS JOIN and
// joins without an equality between the two sides; cost is |left| x |right|
// condition evaluations, in BatchSize chunks of pairs.
type nestedLoopJoin struct {
	joinCore
}

// NewNestedLoopJoin joins left and right on cond (bound to left ++ right;
// nil pairs every row: a cross join), for every join type. The right side
// is the one collected in memory.
func NewNestedLoopJoin(left, right Operator, typ JoinType, cond expr.Expr) Operator {
	j := &nestedLoopJoin{}
	j.init(left, right, typ, BuildRight, cond)
	j.buildIndex = func(_ context.Context, _ *TaskContext, b arrow.RecordBatch) (*buildTable, error) {
		b.Retain()
		return &buildTable{batch: b, units: int(b.NumRows())}, nil
	}
	j.newMatcher = func(_ *TaskContext, bt *buildTable, firstOnly bool) matcher {
		return &allPairs{n: int32(bt.batch.NumRows()), firstOnly: firstOnly}
	}
	return j
}

func (j *nestedLoopJoin) String() string {
	return fmt.Sprintf("BroadcastNestedLoopJoin %s, %s%s", j.shape.build, j.shape.typ, condString(j.cond))
}

func (j *nestedLoopJoin) Execute(ctx context.Context, tc *TaskContext, p int) (Iterator, error) {
	return j.execute(ctx, tc, p, j)
}

// allPairs proposes every (probe row, build row) pair, row-major.
type allPairs struct {
	n         int32 // build rows
	firstOnly bool
	rows      int32 // probe rows
	row, col  int32
}

func (m *allPairs) reset(b arrow.RecordBatch) error {
	m.rows, m.row, m.col = int32(b.NumRows()), 0, 0
	return nil
}

func (m *allPairs) next(pi, bi []int32, limit int) ([]int32, []int32, bool) {
	if m.n == 0 {
		m.row = m.rows
	}
	for m.row < m.rows && len(pi) < limit {
		pi = append(pi, m.row)
		bi = append(bi, m.col)
		m.col++
		if m.firstOnly || m.col == m.n {
			m.col = 0
			m.row++
		}
	}
	return pi, bi, m.row < m.rows
}
