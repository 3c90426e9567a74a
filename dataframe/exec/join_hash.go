package exec

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/internal/hashtab"
)

// hashJoin is Spark's BroadcastHashJoin: the build side is collected once
// per execution, its keys are given dense group ids by a hash table and
// rows with equal keys are chained in flat arrays (first per group, next
// per row); every probe partition looks its keys up in batches and walks
// the chains. SQL equi-join semantics: a NULL in any key column never
// matches. The residual condition, if any, filters candidate pairs; an
// outer row whose candidates all fail it is emitted NULL-padded.
//
// All six join types work with either build side; rows of the build side
// that only show up after probing (unmatched rows of the outer build side,
// semi/anti with BuildLeft) are emitted by the last probe partition to
// finish (see join_probe.go).
type hashJoin struct {
	joinCore
	leftKeys, rightKeys []expr.Expr
}

// NewHashJoin joins left and right where leftKeys (bound to left) equal
// rightKeys (bound to right), pairwise, with equal types; cond is a
// residual condition bound to left ++ right, or nil. The output has left's
// columns then right's (semi/anti: left's only) and as many partitions as
// the probe (non-build) side.
func NewHashJoin(left, right Operator, typ JoinType, leftKeys, rightKeys []expr.Expr, cond expr.Expr, build BuildSide) Operator {
	j := &hashJoin{leftKeys: leftKeys, rightKeys: rightKeys}
	j.init(left, right, typ, build, cond)
	if j.err != nil {
		return j
	}
	lk, err := typedAll("left join key", leftKeys)
	if err != nil {
		j.err = err
		return j
	}
	rk, err := typedAll("right join key", rightKeys)
	if err != nil {
		j.err = err
		return j
	}
	if len(lk) != len(rk) || len(lk) == 0 {
		j.err = errorf("hash join needs as many left keys as right keys, at least one; got %d and %d", len(lk), len(rk))
		return j
	}
	for i := range lk {
		if !arrow.TypeEqual(lk[i].DataType(), rk[i].DataType()) {
			j.err = errorf("join keys %s and %s have types %s and %s; the planner must cast them to one type", lk[i], rk[i], expr.TypeName(lk[i].DataType()), expr.TypeName(rk[i].DataType()))
			return j
		}
	}
	probeKeys, buildKeys := lk, rk
	if build == BuildLeft {
		probeKeys, buildKeys = rk, lk
	}
	keyTypes := make([]arrow.DataType, len(lk))
	for i, k := range lk {
		keyTypes[i] = k.DataType()
	}
	groupUnits := j.cond == nil
	j.buildIndex = func(ctx context.Context, tc *TaskContext, b arrow.RecordBatch) (*buildTable, error) {
		ix, err := newHashIndex(tc, keyTypes, buildKeys, b)
		if err != nil {
			return nil, err
		}
		b.Retain()
		bt := &buildTable{batch: b, index: ix, units: int(b.NumRows())}
		if groupUnits {
			bt.unitOf, bt.units = ix.gid, ix.groups
		}
		return bt, nil
	}
	j.newMatcher = func(tc *TaskContext, bt *buildTable, firstOnly bool) matcher {
		return &chainMatcher{tc: tc, keys: probeKeys, ix: bt.index, firstOnly: firstOnly}
	}
	return j
}

// String follows Spark: BroadcastHashJoin [k], [k], Inner, BuildRight[, (cond)].
func (j *hashJoin) String() string {
	return fmt.Sprintf("BroadcastHashJoin [%s], [%s], %s, %s%s", exprList(j.leftKeys), exprList(j.rightKeys), j.shape.typ, j.shape.build, condString(j.cond))
}

func (j *hashJoin) Execute(ctx context.Context, tc *TaskContext, p int) (Iterator, error) {
	return j.execute(ctx, tc, p, j)
}

// hashIndex maps build keys to their rows.
type hashIndex struct {
	table  sharedLookup
	groups int
	gid    []uint32 // per build row: its key group, NoGroup when a key is NULL
	first  []int32  // per group: first build row, -1 for none
	next   []int32  // per build row: next row of its group, -1 at the end
}

func newHashIndex(tc *TaskContext, keyTypes []arrow.DataType, keys []expr.Typed, b arrow.RecordBatch) (*hashIndex, error) {
	cols, err := evalAll(tc, keys, b)
	if err != nil {
		return nil, err
	}
	defer releaseArrays(cols)
	t, err := newKeyTable(keyTypes, tc.Mem)
	if err != nil {
		return nil, err
	}
	n := int(b.NumRows())
	ix := &hashIndex{table: sharedLookup{t: t}, gid: make([]uint32, n), next: make([]int32, n)}
	if n > 0 {
		t.Reserve(n)
		if err := t.Insert(cols, ix.gid); err != nil {
			t.Release()
			return nil, fmt.Errorf("%w: build side of the join: %w", ErrExec, err)
		}
	}
	ix.groups = t.Len()
	ix.first = make([]int32, ix.groups)
	for g := range ix.first {
		ix.first[g] = -1
	}
	// NULL keys never match: such rows get no group. Chains are built
	// back to front so a walk yields build rows in input order.
	nulls := make([]bool, n)
	if k, err := hashtab.NullRows(cols, nulls); err != nil {
		t.Release()
		return nil, fmt.Errorf("%w: build side of the join: %w", ErrExec, err)
	} else if k > 0 {
		for r, isNull := range nulls {
			if isNull {
				ix.gid[r] = expr.NoGroup
			}
		}
	}
	for r := n - 1; r >= 0; r-- {
		g := ix.gid[r]
		if g == expr.NoGroup {
			ix.next[r] = -1
			continue
		}
		ix.next[r] = ix.first[g]
		ix.first[g] = int32(r)
	}
	return ix, nil
}

func (ix *hashIndex) release() {
	if ix.table.t != nil {
		ix.table.t.Release()
		ix.table.t = nil
	}
}

// chainMatcher proposes, for each probe row, the build rows with its key.
type chainMatcher struct {
	tc        *TaskContext
	keys      []expr.Typed
	ix        *hashIndex
	firstOnly bool

	gids []uint32
	row  int   // probe row being expanded
	r    int32 // next build row of its chain; -1: start the row
}

func (m *chainMatcher) reset(b arrow.RecordBatch) error {
	n := int(b.NumRows())
	if cap(m.gids) < n {
		m.gids = make([]uint32, n)
	}
	m.gids = m.gids[:n]
	m.row, m.r = 0, -1
	if n == 0 {
		return nil
	}
	cols, err := evalAll(m.tc, m.keys, b)
	if err != nil {
		return err
	}
	defer releaseArrays(cols)
	return m.ix.table.Lookup(cols, m.gids)
}

func (m *chainMatcher) next(pi, bi []int32, limit int) ([]int32, []int32, bool) {
	gids, first, next := m.gids, m.ix.first, m.ix.next
	row, r := m.row, m.r
	for row < len(gids) && len(pi) < limit {
		if r < 0 {
			g := gids[row]
			if g == expr.NoGroup || int(g) >= len(first) {
				row++
				continue
			}
			if r = first[g]; r < 0 {
				row++
				continue
			}
		}
		pi = append(pi, int32(row))
		bi = append(bi, r)
		if m.firstOnly {
			r = -1
		} else {
			r = next[r]
		}
		if r < 0 {
			row++
		}
	}
	m.row, m.r = row, r
	return pi, bi, row < len(gids)
}
