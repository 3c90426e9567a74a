package exec

import (
	"context"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// The probe loop shared by the hash join and the nested-loop join.
//
// The build input is collected once per execution (tc.Shared) and shared
// read-only by all probe partitions, which run concurrently. A matcher
// proposes candidate (probe row, build row) pairs; the residual condition
// filters them; each partition records which probe rows and (when the join
// needs it) which build rows found a partner.
//
// Build rows that must be emitted after probing (unmatched rows of a
// right/full outer join with BuildRight, the left rows of a semi/anti join
// with BuildLeft) come from the last probe partition to finish: each
// partition ORs its match bits into the shared set when its input ends, and
// the one that completes the count emits them. So they appear exactly once
// per execution, provided every partition is run to the end (a consumer
// that stops early, like a LIMIT, does not need them). The build side is
// released when every partition's iterator has been closed.

// buildTable is the collected build input.
type buildTable struct {
	batch arrow.RecordBatch // every build row
	// unitOf maps a build row to the unit its matches are recorded in:
	// nil means one unit per row; otherwise a group id (NoGroup: never
	// matches). A hash join without residual condition records matches per
	// key group: one bit per probe row instead of a walk of the chain.
	unitOf []uint32
	units  int
	index  *hashIndex // nil for a nested-loop join
}

func (bt *buildTable) release() {
	if bt.batch != nil {
		bt.batch.Release()
		bt.batch = nil
	}
	if bt.index != nil {
		bt.index.release()
		bt.index = nil
	}
}

// matcher proposes candidate pairs for one probe batch at a time. One
// matcher belongs to one probe partition.
type matcher interface {
	// reset starts probe batch b (not owned).
	reset(b arrow.RecordBatch) error
	// next appends at most limit-len(pi) candidate pairs and reports
	// whether the batch has more.
	next(pi, bi []int32, limit int) ([]int32, []int32, bool)
}

// joinCore is the operator state common to both joins.
type joinCore struct {
	left, right Operator
	shape       joinShape
	cond        expr.Typed // residual condition over pairSchema, or nil
	outSchema   *arrow.Schema
	pairSchema  *arrow.Schema
	probe, bld  Operator
	err         error // construction problem, reported by Execute

	// buildIndex builds the table from the collected build rows.
	buildIndex func(ctx context.Context, tc *TaskContext, b arrow.RecordBatch) (*buildTable, error)
	// newMatcher makes a partition's matcher; firstOnly asks for at most
	// one candidate per probe row (semi/anti without condition).
	newMatcher func(tc *TaskContext, bt *buildTable, firstOnly bool) matcher
}

func (j *joinCore) init(left, right Operator, typ JoinType, build BuildSide, cond expr.Expr) {
	j.left, j.right = left, right
	j.outSchema, j.pairSchema = joinSchemas(left.Schema(), right.Schema(), typ)
	j.probe, j.bld = left, right
	if build == BuildLeft {
		j.probe, j.bld = right, left
	}
	shape, err := newJoinShape(typ, build)
	j.shape = shape
	if err != nil {
		j.err = err
		return
	}
	if cond != nil {
		t, err := typedAll("join condition", []expr.Expr{cond})
		if err != nil {
			j.err = err
			return
		}
		if t[0].DataType().ID() != arrow.BOOL {
			j.err = errorf("join condition %s is %s, not boolean", cond, expr.TypeName(t[0].DataType()))
			return
		}
		j.cond = t[0]
	}
}

func (j *joinCore) Schema() *arrow.Schema { return j.outSchema }
func (j *joinCore) Partitions() int       { return j.probe.Partitions() }
func (j *joinCore) Children() []Operator  { return []Operator{j.left, j.right} }

// joinShared is one execution's build state.
type joinShared struct {
	once sync.Once
	bt   *buildTable
	err  error

	mu       sync.Mutex
	matched  []uint64 // OR of the partitions' build match bits
	finished int      // partitions whose probe input ended
	closed   int      // partitions whose iterator closed
}

// execute starts probe partition p; key identifies the operator in tc.
func (j *joinCore) execute(ctx context.Context, tc *TaskContext, p int, key any) (Iterator, error) {
	if j.err != nil {
		return nil, j.err
	}
	if p < 0 || p >= j.Partitions() {
		return nil, errorf("join has %d partitions, asked for partition %d", j.Partitions(), p)
	}
	sh := tc.Shared(key, func() any { return &joinShared{} }).(*joinShared)
	in, err := j.probe.Execute(ctx, tc, p)
	if err != nil {
		j.closePartition(sh)
		return nil, err
	}
	return &joinIter{ctx: ctx, tc: tc, j: j, sh: sh, in: in}, nil
}

// build collects and indexes the build side once per execution.
func (j *joinCore) build(ctx context.Context, tc *TaskContext, sh *joinShared) (*buildTable, error) {
	sh.once.Do(func() {
		batches, err := collectAll(ctx, tc, j.bld)
		if err != nil {
			sh.err = err
			return
		}
		all, err := concatBatches(tc.Mem, j.bld.Schema(), batches)
		releaseBatches(batches)
		if err != nil {
			sh.err = err
			return
		}
		bt, err := j.buildIndex(ctx, tc, all)
		all.Release()
		if err != nil {
			sh.err = err
			return
		}
		sh.bt = bt
		if j.shape.trackBuild() {
			sh.matched = make([]uint64, (bt.units+63)/64)
		}
	})
	return sh.bt, sh.err
}

// closePartition counts a closed partition; the last one frees the build.
func (j *joinCore) closePartition(sh *joinShared) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.closed++
	if sh.closed == j.Partitions() && sh.bt != nil {
		sh.bt.release()
		sh.bt = nil
	}
}

// finishPartition merges a partition's build match bits and reports
// whether it was the last partition to finish.
func (j *joinCore) finishPartition(sh *joinShared, local []uint64) bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for i, w := range local {
		sh.matched[i] |= w
	}
	sh.finished++
	return sh.finished == j.Partitions()
}

type joinPhase int

const (
	phaseNextBatch joinPhase = iota // read the next probe batch
	phasePairs                      // candidate pairs of the current batch
	phaseBatchEnd                   // probe rows by match status (outer/semi/anti)
	phaseBuildEnd                   // build rows by match status (last partition)
	phaseDone
)

type joinIter struct {
	ctx context.Context
	tc  *TaskContext
	j   *joinCore
	sh  *joinShared
	in  Iterator

	bt      *buildTable
	m       matcher
	phase   joinPhase
	cur     arrow.RecordBatch // current probe batch
	matched []bool            // per row of cur: found a partner
	local   []uint64          // build units matched by this partition
	pi, bi  []int32           // scratch pair buffers
	sel     []int32
	rows    []int32 // rows to emit in phaseBatchEnd/phaseBuildEnd
	pos     int
	closed  bool
}

func (it *joinIter) Next() (arrow.RecordBatch, error) {
	if it.closed {
		return nil, io.EOF
	}
	if it.bt == nil {
		bt, err := it.j.build(it.ctx, it.tc, it.sh)
		if err != nil {
			return nil, err
		}
		it.bt = bt
		s := it.j.shape
		firstOnly := !s.pairs && it.j.cond == nil && (!s.trackBuild() || bt.unitOf != nil)
		it.m = it.j.newMatcher(it.tc, bt, firstOnly)
		if s.trackBuild() {
			it.local = make([]uint64, (bt.units+63)/64)
		}
	}
	limit := batchSize(it.tc)
	s := it.j.shape
	for {
		if err := it.ctx.Err(); err != nil {
			return nil, err
		}
		switch it.phase {
		case phaseNextBatch:
			it.dropCur()
			b, err := it.in.Next()
			if err == io.EOF {
				it.phase = phaseDone
				if s.trackBuild() && it.j.finishPartition(it.sh, it.local) {
					it.planBuildEnd()
				}
				continue
			}
			if err != nil {
				return nil, err
			}
			if err := it.m.reset(b); err != nil {
				b.Release()
				return nil, err
			}
			it.cur = b
			n := int(b.NumRows())
			if cap(it.matched) < n {
				it.matched = make([]bool, n)
			}
			it.matched = it.matched[:n]
			clear(it.matched)
			it.phase = phasePairs

		case phasePairs:
			pi, bi, more := it.m.next(it.pi[:0], it.bi[:0], limit)
			it.pi, it.bi = pi, bi
			var out arrow.RecordBatch
			if len(pi) > 0 {
				var err error
				if out, err = it.pairs(pi, bi); err != nil {
					return nil, err
				}
			}
			if !more {
				it.planBatchEnd() // after this chunk's matches are recorded
			}
			if out != nil {
				return out, nil
			}

		case phaseBatchEnd, phaseBuildEnd:
			if it.pos >= len(it.rows) {
				if it.phase == phaseBatchEnd {
					it.phase = phaseNextBatch
				} else {
					it.phase = phaseDone
				}
				continue
			}
			end := min(it.pos+limit, len(it.rows))
			rows := it.rows[it.pos:end]
			it.pos = end
			if it.phase == phaseBatchEnd {
				return it.emitProbeRows(rows)
			}
			return it.emitBuildRows(rows)

		case phaseDone:
			it.dropCur()
			return nil, io.EOF
		}
	}
}

// pairs filters candidate pairs by the residual condition, records matches
// and returns the output batch for them (nil when there is none to emit).
func (it *joinIter) pairs(pi, bi []int32) (arrow.RecordBatch, error) {
	s := it.j.shape
	var passed arrow.RecordBatch // the passing pairs in pairSchema, when already gathered
	if it.j.cond != nil {
		cand, err := it.assemble(it.j.pairSchema, pi, bi, false)
		if err != nil {
			return nil, err
		}
		sel, err := it.evalCond(cand)
		if err != nil {
			cand.Release()
			return nil, err
		}
		if len(sel) == len(pi) {
			passed = cand
		} else {
			for k, i := range sel {
				pi[k], bi[k] = pi[i], bi[i]
			}
			pi, bi = pi[:len(sel)], bi[:len(sel)]
			if s.pairs && len(sel) > 0 {
				passed, err = TakeBatch(it.tc.Mem, cand, sel)
			}
			cand.Release()
			if err != nil {
				return nil, err
			}
		}
	}
	for _, i := range pi {
		it.matched[i] = true
	}
	if it.local != nil {
		unitOf := it.bt.unitOf
		for _, r := range bi {
			u := uint32(r)
			if unitOf != nil {
				u = unitOf[r]
			}
			it.local[u>>6] |= 1 << (u & 63)
		}
	}
	if !s.pairs || len(pi) == 0 {
		if passed != nil {
			passed.Release()
		}
		return nil, nil
	}
	if passed != nil {
		defer passed.Release()
		return array.NewRecordBatch(it.j.outSchema, passed.Columns(), passed.NumRows()), nil
	}
	return it.assemble(it.j.outSchema, pi, bi, false)
}

// evalCond returns the rows of cand where the residual condition is true
// (NULL counts as false).
func (it *joinIter) evalCond(cand arrow.RecordBatch) ([]int32, error) {
	mask, err := it.j.cond.Eval(it.tc.EvalContext(), cand)
	if err != nil {
		return nil, err
	}
	defer mask.Release()
	bm, ok := mask.(*array.Boolean)
	if !ok {
		return nil, errorf("join condition %s produced %s, not boolean", it.j.cond, expr.TypeName(mask.DataType()))
	}
	it.sel = SelectionFromMask(bm, it.sel)
	return it.sel, nil
}

// planBatchEnd lists the probe rows to emit by match status.
func (it *joinIter) planBatchEnd() {
	s := it.j.shape
	it.phase = phaseNextBatch
	if !s.probeOuter && !s.probeSemi && !s.probeAnti {
		return
	}
	want := s.probeSemi
	it.rows, it.pos = it.rows[:0], 0
	for i, m := range it.matched {
		if m == want {
			it.rows = append(it.rows, int32(i))
		}
	}
	it.phase = phaseBatchEnd
}

// planBuildEnd lists the build rows to emit by match status (this is the
// last partition to finish; every partition's bits are merged).
func (it *joinIter) planBuildEnd() {
	s := it.j.shape
	it.sh.mu.Lock()
	matched := it.sh.matched
	it.sh.mu.Unlock()
	want := s.buildSemi
	n := int(it.bt.batch.NumRows())
	it.rows, it.pos = make([]int32, 0, n/4), 0
	unitOf := it.bt.unitOf
	for r := 0; r < n; r++ {
		u := uint32(r)
		if unitOf != nil {
			u = unitOf[r]
		}
		m := u != expr.NoGroup && matched[u>>6]&(1<<(u&63)) != 0
		if m == want {
			it.rows = append(it.rows, int32(r))
		}
	}
	it.phase = phaseBuildEnd
}

func (it *joinIter) emitProbeRows(rows []int32) (arrow.RecordBatch, error) {
	if it.j.shape.probeOuter {
		none := it.nones(len(rows))
		return it.assemble(it.j.outSchema, rows, none, false)
	}
	b, err := TakeBatch(it.tc.Mem, it.cur, rows)
	if err != nil {
		return nil, err
	}
	defer b.Release()
	return array.NewRecordBatch(it.j.outSchema, b.Columns(), b.NumRows()), nil
}

func (it *joinIter) emitBuildRows(rows []int32) (arrow.RecordBatch, error) {
	if it.j.shape.buildOuter {
		none := it.nones(len(rows))
		return it.assemble(it.j.outSchema, none, rows, true)
	}
	b, err := TakeBatch(it.tc.Mem, it.bt.batch, rows)
	if err != nil {
		return nil, err
	}
	defer b.Release()
	return array.NewRecordBatch(it.j.outSchema, b.Columns(), b.NumRows()), nil
}

// nones is n copies of -1 (a NULL-padded side).
func (it *joinIter) nones(n int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = -1
	}
	return out
}

// assemble gathers probe rows pi and build rows bi (-1: NULL) side by side
// in left ++ right order, as schema. noProbe says the probe side is all
// NULL (there may be no current probe batch).
func (it *joinIter) assemble(schema *arrow.Schema, pi, bi []int32, noProbe bool) (arrow.RecordBatch, error) {
	mem := it.tc.Mem
	probeCols := it.j.probe.Schema().NumFields()
	buildCols := it.j.bld.Schema().NumFields()
	cols := make([]arrow.Array, 0, probeCols+buildCols)
	defer func() { releaseArrays(cols) }()
	lo, contiguous := contiguousRange(pi)
	gatherProbe := func() error {
		for c := 0; c < probeCols; c++ {
			if noProbe {
				cols = append(cols, array.MakeArrayOfNull(mem, it.j.probe.Schema().Field(c).Type, len(pi)))
				continue
			}
			if contiguous {
				// Consecutive probe rows (a 1:1 join): share, do not copy.
				cols = append(cols, array.NewSlice(it.cur.Column(c), int64(lo), int64(lo+len(pi))))
				continue
			}
			a, err := takeOrNull(mem, it.cur.Column(c), pi)
			if err != nil {
				return err
			}
			cols = append(cols, a)
		}
		return nil
	}
	gatherBuild := func() error {
		for c := 0; c < buildCols; c++ {
			a, err := takeOrNull(mem, it.bt.batch.Column(c), bi)
			if err != nil {
				return err
			}
			cols = append(cols, a)
		}
		return nil
	}
	first, second := gatherProbe, gatherBuild
	if it.j.shape.build == BuildLeft {
		first, second = gatherBuild, gatherProbe
	}
	if err := first(); err != nil {
		return nil, err
	}
	if err := second(); err != nil {
		return nil, err
	}
	return array.NewRecordBatch(schema, cols, int64(len(pi))), nil
}

// contiguousRange reports whether idx is lo, lo+1, ..., lo+len(idx)-1.
func contiguousRange(idx []int32) (lo int, ok bool) {
	if len(idx) == 0 || idx[0] < 0 {
		return 0, false
	}
	first := idx[0]
	if int(idx[len(idx)-1]-first) != len(idx)-1 {
		return 0, false
	}
	for k, i := range idx {
		if i != first+int32(k) {
			return 0, false
		}
	}
	return int(first), true
}

func (it *joinIter) dropCur() {
	if it.cur != nil {
		it.cur.Release()
		it.cur = nil
	}
}

func (it *joinIter) Close() {
	if it.closed {
		return
	}
	it.closed = true
	it.dropCur()
	it.in.Close()
	it.j.closePartition(it.sh)
	it.bt = nil
}
