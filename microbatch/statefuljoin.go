package microbatch

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/exec"
	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/plan"
	"github.com/sluicehq/sluice/microbatch/state"
	"github.com/sluicehq/sluice/sinks"
)

// joinOperator is a stream-stream join (Spark's
// StreamingSymmetricHashJoinExec): both sides' rows are buffered in state,
// hashed on the equi-join keys into the shuffle partitions. In a batch the
// new left rows probe the buffered right rows and are buffered; then the
// new right rows probe the buffered left rows (the new ones included) and
// are buffered. Every matching pair is so emitted exactly once, in the
// batch where its later row arrives. At the end of the batch the
// watermark evicts the rows no future row can match (evictRule); an outer
// join emits its evicted rows that never matched, padded with NULLs.
type joinOperator struct {
	// join is the node as opened: the full outputs of its children are
	// the columns of the buffered rows (a batch's optimised plan may
	// prune some; those are buffered as NULL).
	join     *plan.Join
	cond     *joinCond
	store    *state.Operator
	nparts   int
	keyTypes []arrow.DataType
	// rowsTotal is the buffered rows per partition after its last batch.
	rowsTotal []atomic.Int64
	stats     joinStats
}

type joinStats struct {
	dropped atomic.Int64 // late input rows dropped
	updated atomic.Int64 // rows buffered
	removed atomic.Int64 // rows evicted (or matched, left semi)
}

func wantsJoin(n plan.Node) bool {
	j, ok := n.(*plan.Join)
	return ok && plan.IsStreaming(j.Left) && plan.IsStreaming(j.Right)
}

// checkJoin refuses at Start what a stream-stream join cannot run.
func checkJoin(n plan.Node, mode sinks.OutputMode) error {
	j := n.(*plan.Join)
	switch j.Type {
	case plan.InnerJoin, plan.CrossJoin, plan.LeftOuterJoin, plan.RightOuterJoin, plan.FullOuterJoin, plan.LeftSemiJoin:
	default:
		return fmt.Errorf("%w: a %s join of two streams is not supported (nor in Spark); for an anti join use a left outer join with watermarks and an event-time range condition and keep the rows whose right columns are NULL. Stream-stream joins run inner, left/right/full outer and left semi", plan.ErrUnsupported, j.Type)
	}
	if mode != sinks.Append {
		return fmt.Errorf("%w: %s output mode is not supported for a join of two streams: a joined row is final once emitted, so there is nothing to update or to re-emit (Spark's rule: stream-stream joins run in append mode only); use append output mode", plan.ErrUnsupported, mode)
	}
	for _, c := range j.Children() {
		if statefulBelow(c) {
			return fmt.Errorf("%w: a join of two streams after a streaming aggregation, deduplication or another stream-stream join is not supported: the rows it reads would be emitted later than their event time says, and the join could drop or never match them; join the streams first and aggregate the joined stream, or write the first result to a sink and read it back as a stream", plan.ErrUnsupported)
		}
	}
	jc, err := analyzeJoin(j)
	if err != nil {
		return err
	}
	for s := 0; s < 2; s++ {
		if !keepsUnmatched(j.Type, s) || len(jc.rules[s]) > 0 {
			continue
		}
		o := sideName(1 - s)
		return fmt.Errorf("%w: a %s join of two streams emits a %s row padded with NULLs only once no %s row can match it any more, which only a watermark can tell: add WithWatermark on the %s stream's event-time column and bound the %s event time by it in the join condition (e.g. %s), or join on a window over a watermarked column; or use an inner join",
			plan.ErrUnsupported, j.Type, sideName(s), o, o, sideName(s), rangeExample(s))
	}
	return nil
}

func rangeExample(s int) string {
	if s == 0 {
		return "r.ts BETWEEN l.ts - INTERVAL 5 MINUTES AND l.ts + INTERVAL 10 MINUTES"
	}
	return "l.ts BETWEEN r.ts - INTERVAL 5 MINUTES AND r.ts + INTERVAL 10 MINUTES"
}

// keepsUnmatched reports whether side s's rows without a match are emitted
// (padded with NULLs) in a join of this type.
func keepsUnmatched(t plan.JoinType, s int) bool {
	switch t {
	case plan.LeftOuterJoin:
		return s == 0
	case plan.RightOuterJoin:
		return s == 1
	case plan.FullOuterJoin:
		return true
	}
	return false
}

// kindOfNode is kindOf, set in init: checkJoin, listed in statefulKinds,
// cannot refer to it directly (an initialisation cycle).
var kindOfNode func(plan.Node) *statefulKind

func init() { kindOfNode = kindOf }

// statefulBelow reports whether n or a node under it keeps state.
func statefulBelow(n plan.Node) bool {
	if plan.IsStreaming(n) && kindOfNode(n) != nil {
		return true
	}
	for _, c := range n.Children() {
		if statefulBelow(c) {
			return true
		}
	}
	return false
}

func openJoin(ctx context.Context, env opEnv, n plan.Node) (statefulOp, error) {
	j := n.(*plan.Join)
	jc, err := analyzeJoin(j)
	if err != nil {
		return nil, err
	}
	op := &joinOperator{join: j, cond: jc, nparts: env.nparts, rowsTotal: make([]atomic.Int64, env.nparts)}
	var keyFields []arrow.Field
	for i, k := range jc.lkeys {
		t := k.(expr.Typed).DataType()
		op.keyTypes = append(op.keyTypes, t)
		keyFields = append(keyFields, arrow.Field{Name: fmt.Sprintf("key%d", i), Type: t, Nullable: true})
	}
	countSchema := arrow.NewSchema([]arrow.Field{{Name: "count", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	keyIdx := arrow.NewSchema(append(append([]arrow.Field(nil), keyFields...), arrow.Field{Name: "index", Type: arrow.PrimitiveTypes.Int64, Nullable: true}), nil)
	var stores []state.StoreSpec
	for s, child := range j.Children() {
		var vf []arrow.Field
		for _, a := range child.Output() {
			vf = append(vf, arrow.Field{Name: a.Name, Type: a.Type, Nullable: true})
		}
		vf = append(vf, arrow.Field{Name: "matched", Type: arrow.FixedWidthTypes.Boolean, Nullable: true})
		stores = append(stores,
			state.StoreSpec{Name: joinStoreNames[s][0], Key: arrow.NewSchema(keyFields, nil), Value: countSchema},
			state.StoreSpec{Name: joinStoreNames[s][1], Key: keyIdx, Value: arrow.NewSchema(vf, nil)})
	}
	fsys, dir := env.ck.StateLocation()
	so, err := state.OpenOperator(ctx, fsys, dir, state.OperatorSpec{
		ID: j.StateID, Name: "join", NumPartitions: env.nparts, Stores: stores,
	}, state.Options{Mem: env.mem, Clock: env.clock,
		// The exchange does not fix the order of a partition's rows, so a
		// replayed batch may number a key's rows differently: the same
		// rows, the same output; keep the first run's files.
		OnReplayMismatch: state.ReplayKeepFile})
	if err != nil {
		return nil, err
	}
	op.store = so
	return op, nil
}

func (op *joinOperator) metrics() StateOperator {
	m := op.store.Metrics()
	var total int64
	for i := range op.rowsTotal {
		total += op.rowsTotal[i].Load()
	}
	return StateOperator{
		OperatorName: "symmetricHashJoin", NumRowsTotal: total,
		NumRowsUpdated: op.stats.updated.Swap(0), NumRowsRemoved: op.stats.removed.Swap(0),
		MemoryUsedBytes: m.MemoryUsedBytes, CommitTimeMs: m.CommitTimeMs,
		NumRowsDroppedByWatermark: op.stats.dropped.Swap(0), NumShufflePartitions: op.nparts,
	}
}

func (op *joinOperator) close() { op.store.Close() }

// joinInput is what a batch knows about one side of the join.
type joinInput struct {
	side int
	keys []expr.Expr // bound to the side's child
	// stored[c] is the buffered column of the child's column c; nstored
	// buffered columns precede the matched flag.
	stored  []int
	nstored int
	types   []arrow.DataType // buffered column types
	// childTypes are the child's column types in this batch's plan.
	childTypes []arrow.DataType
	late       []lateCol
	rules      []evictRule // value rules' col is a buffered column
	// keep: rows that never matched are emitted padded with NULLs.
	keep bool
}

// lateCol is an event-time column of a side's input: a row whose value (a
// window's end) is at or below the watermark is late.
type lateCol struct {
	col    int
	window bool
}

func (op *joinOperator) operator(n plan.Node, planChild func(plan.Node) (exec.Operator, error), b batchInfo) (exec.Operator, error) {
	j := n.(*plan.Join)
	jc, err := analyzeJoin(j)
	if err != nil {
		return nil, err
	}
	if len(jc.lkeys) != len(op.keyTypes) {
		return nil, fmt.Errorf("%w: stream-stream join %d: the optimised plan has %d join keys, the state %d", ErrQuery, op.join.StateID, len(jc.lkeys), len(op.keyTypes))
	}
	for i, k := range jc.lkeys {
		if !arrow.TypeEqual(k.(expr.Typed).DataType(), op.keyTypes[i]) {
			return nil, fmt.Errorf("%w: stream-stream join %d: join key %d is %s in this batch's plan, %s in the state", ErrQuery, op.join.StateID, i, k.(expr.Typed).DataType(), op.keyTypes[i])
		}
	}
	sj := &streamJoin{op: op, typ: j.Type, b: b, residual: jc.residual, out: plan.SchemaOf(j), cond: j.Cond}
	pair := append(append([]plan.Attribute(nil), j.Left.Output()...), j.Right.Output()...)
	sj.pair = plan.AttrSchema(pair)
	full := [2][]plan.Attribute{op.join.Left.Output(), op.join.Right.Output()}
	for s, child := range j.Children() {
		in := joinInput{side: s, keep: keepsUnmatched(j.Type, s), nstored: len(full[s])}
		in.keys = jc.lkeys
		if s == 1 {
			in.keys = jc.rkeys
		}
		attrs := child.Output()
		if in.stored, err = mapColumns(full[s], attrs); err != nil {
			return nil, fmt.Errorf("%w: stream-stream join %d, %s side: %w", ErrQuery, op.join.StateID, sideName(s), err)
		}
		for _, a := range full[s] {
			in.types = append(in.types, a.Type)
		}
		for _, a := range attrs {
			in.childTypes = append(in.childTypes, a.Type)
		}
		for c, a := range attrs {
			if !a.EventTime {
				continue
			}
			switch t := a.Type.(type) {
			case *arrow.TimestampType:
				in.late = append(in.late, lateCol{col: c})
			case *arrow.StructType:
				if t.NumFields() > 0 {
					if _, ok := t.Field(t.NumFields() - 1).Type.(*arrow.TimestampType); ok {
						in.late = append(in.late, lateCol{col: c, window: true})
					}
				}
			}
		}
		for _, r := range jc.rules[s] {
			if !r.onKey {
				r.col = in.stored[r.col]
			}
			in.rules = append(in.rules, r)
		}
		sj.in[s] = in
		cop, err := planChild(child)
		if err != nil {
			return nil, err
		}
		switch {
		case op.nparts > 1:
			cop = exec.NewHashExchange(cop, in.keys, op.nparts)
		case cop.Partitions() > 1:
			cop = exec.NewGather(cop)
		}
		sj.child[s] = cop
	}
	return sj, nil
}

// mapColumns maps the columns of a pruned child (a batch's optimised
// plan) to those of the full child: pruning keeps the order, so each
// pruned column is the next full column of its name and type.
func mapColumns(full, pruned []plan.Attribute) ([]int, error) {
	out := make([]int, len(pruned))
	f := 0
	for i, a := range pruned {
		for f < len(full) && !(strings.EqualFold(full[f].Name, a.Name) && arrow.TypeEqual(full[f].Type, a.Type)) {
			f++
		}
		if f == len(full) {
			return nil, fmt.Errorf("column %s (%s) of this batch's plan is not among the buffered columns", a.Name, expr.TypeName(a.Type))
		}
		out[i] = f
		f++
	}
	return out, nil
}

// streamJoin is one batch of a stream-stream join.
type streamJoin struct {
	op       *joinOperator
	typ      plan.JoinType
	b        batchInfo
	in       [2]joinInput
	child    [2]exec.Operator
	residual expr.Expr
	cond     expr.Expr
	pair     *arrow.Schema // left ++ right child columns
	out      *arrow.Schema
}

func (sj *streamJoin) Schema() *arrow.Schema     { return sj.out }
func (sj *streamJoin) Partitions() int           { return sj.op.nparts }
func (sj *streamJoin) Children() []exec.Operator { return []exec.Operator{sj.child[0], sj.child[1]} }
func (sj *streamJoin) String() string {
	var rules []string
	for s := 0; s < 2; s++ {
		for _, r := range sj.in[s].rules {
			rules = append(rules, sideName(s)+": "+r.desc)
		}
	}
	ev := ""
	if len(rules) > 0 {
		ev = ", evict [" + strings.Join(rules, "; ") + "]"
	}
	return fmt.Sprintf("StreamingSymmetricHashJoin [%s], [%s], %s, %s [op=%d, batch=%d, watermark=%d%s]",
		exprStrings(sj.in[0].keys), exprStrings(sj.in[1].keys), sj.typ, sj.cond, sj.op.join.StateID, sj.b.batchID, sj.b.watermarkUs/1000, ev)
}

func exprStrings(es []expr.Expr) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.String()
	}
	return strings.Join(s, ", ")
}

func (sj *streamJoin) Execute(ctx context.Context, tc *exec.TaskContext, p int) (exec.Iterator, error) {
	var in [2][]arrow.RecordBatch
	defer func() {
		exec.ReleaseBatches(in[0])
		exec.ReleaseBatches(in[1])
	}()
	for s := 0; s < 2; s++ {
		if p >= sj.child[s].Partitions() {
			continue
		}
		it, err := sj.child[s].Execute(ctx, tc, p)
		if err != nil {
			return nil, err
		}
		for {
			b, err := it.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				it.Close()
				return nil, err
			}
			in[s] = append(in[s], b)
		}
		it.Close()
	}
	r := &joinRun{sj: sj, tc: tc, mem: tc.Mem, ec: tc.EvalContext(), chunk: max(tc.BatchSize, 1024)}
	out, err := r.run(ctx, p, in)
	if err != nil {
		return nil, err
	}
	return exec.NewOwnedIterator(out), nil
}

// joinRun is the work of one partition in one batch.
type joinRun struct {
	sj    *streamJoin
	tc    *exec.TaskContext
	mem   memory.Allocator
	ec    *expr.EvalContext
	chunk int
	bufs  [2]*joinBuffer
	out   []arrow.RecordBatch
}

// sideRows are new rows of one side that may match: not late, no NULL key.
type sideRows struct {
	b    arrow.RecordBatch
	keys []arrow.Array
}

func (sr *sideRows) release() {
	sr.b.Release()
	exec.ReleaseArrays(sr.keys)
}

func (r *joinRun) run(ctx context.Context, p int, in [2][]arrow.RecordBatch) (_ []arrow.RecordBatch, err error) {
	sj := r.sj
	op := sj.op
	var fresh [2][]sideRows
	defer func() {
		for s := range fresh {
			for i := range fresh[s] {
				fresh[s][i].release()
			}
		}
		if err != nil {
			exec.ReleaseBatches(r.out)
			r.out = nil
			for _, b := range r.bufs {
				if b != nil {
					b.abort()
				}
			}
		}
	}()
	for s := 0; s < 2; s++ {
		if r.bufs[s], err = openJoinBuffer(ctx, op.store, s, p, len(op.keyTypes), sj.b.batchID, r.mem); err != nil {
			return nil, err
		}
	}
	// 1. Drop late rows; rows with a NULL key never match.
	for s := 0; s < 2; s++ {
		for _, b := range in[s] {
			sr, ok, err := r.prepare(s, b)
			if err != nil {
				return nil, err
			}
			if ok {
				fresh[s] = append(fresh[s], sr)
			}
		}
	}
	// 2. New left rows probe the buffered right rows, then are buffered;
	//    new right rows probe the buffered left rows, the new ones too.
	for s := 0; s < 2; s++ {
		for _, sr := range fresh[s] {
			matched, err := r.probe(s, sr)
			if err != nil {
				return nil, err
			}
			if err := r.buffer(s, sr, matched); err != nil {
				return nil, err
			}
		}
	}
	// 3. Evict what the watermark closed.
	if w := sj.b.watermarkUs; w > 0 {
		for s := 0; s < 2; s++ {
			if err := r.evict(s, w); err != nil {
				return nil, err
			}
		}
	}
	for s := 0; s < 2; s++ {
		if err := r.bufs[s].commit(ctx); err != nil {
			return nil, err
		}
		if s == 0 {
			// rowsTotal counts both sides: set after the right commits.
			continue
		}
		op.rowsTotal[p].Store(int64(r.bufs[0].rows.Len() + r.bufs[1].rows.Len()))
	}
	out := r.out
	r.out = nil
	return out, nil
}

// prepare drops the late rows of a new batch of side s and evaluates its
// join keys; rows with a NULL key are emitted at once (outer side) or
// dropped. ok is false when no row is left.
func (r *joinRun) prepare(s int, b arrow.RecordBatch) (sideRows, bool, error) {
	in := &r.sj.in[s]
	n := int(b.NumRows())
	if n == 0 {
		return sideRows{}, false, nil
	}
	keep := make([]bool, n)
	for i := range keep {
		keep[i] = true
	}
	if lu := r.sj.b.lateUs; lu > 0 && len(in.late) > 0 {
		dropped := 0
		for _, lc := range in.late {
			if err := markLate(b.Column(lc.col), lc.window, lu, keep, &dropped); err != nil {
				return sideRows{}, false, err
			}
		}
		r.sj.op.stats.dropped.Add(int64(dropped))
	}
	keys := make([]arrow.Array, 0, len(in.keys))
	for _, k := range in.keys {
		a, err := expr.Eval(r.ec, k, b)
		if err != nil {
			exec.ReleaseArrays(keys)
			return sideRows{}, false, err
		}
		keys = append(keys, a)
	}
	var nullKey []int32
	for i := 0; i < n; i++ {
		if !keep[i] {
			continue
		}
		for _, k := range keys {
			if k.IsNull(i) {
				keep[i] = false
				nullKey = append(nullKey, int32(i))
				break
			}
		}
	}
	if in.keep && len(nullKey) > 0 {
		if err := r.emitPadded(s, b.Columns(), nullKey); err != nil {
			exec.ReleaseArrays(keys)
			return sideRows{}, false, err
		}
	}
	var sel []int32
	for i, k := range keep {
		if k {
			sel = append(sel, int32(i))
		}
	}
	if len(sel) == 0 {
		exec.ReleaseArrays(keys)
		return sideRows{}, false, nil
	}
	if len(sel) == n {
		b.Retain()
		return sideRows{b: b, keys: keys}, true, nil
	}
	nb, err := exec.TakeBatch(r.mem, b, sel)
	if err != nil {
		exec.ReleaseArrays(keys)
		return sideRows{}, false, err
	}
	nk, err := takeAll(r.mem, keys, sel)
	exec.ReleaseArrays(keys)
	if err != nil {
		nb.Release()
		return sideRows{}, false, err
	}
	return sideRows{b: nb, keys: nk}, true, nil
}

// markLate clears keep for the rows whose event time (a window's end) is
// at or below the watermark lateUs (Spark's rule), counting them.
func markLate(col arrow.Array, window bool, lateUs int64, keep []bool, dropped *int) error {
	ts, parent, err := eventTimes(col, window)
	if err != nil {
		return err
	}
	mul, div := microsPer(ts.DataType().(*arrow.TimestampType).Unit)
	vals := ts.TimestampValues()
	for i, v := range vals {
		if !keep[i] || ts.IsNull(i) || (parent != nil && parent.IsNull(i)) {
			continue
		}
		us := toMicros(int64(v), mul, div)
		if us <= lateUs {
			keep[i] = false
			*dropped++
		}
	}
	return nil
}

// eventTimes returns the timestamps of an event-time column: the column,
// or a window's end (with the window, whose NULLs count too).
func eventTimes(col arrow.Array, window bool) (*array.Timestamp, arrow.Array, error) {
	ts, parent, err := eventEnds(col)
	if err != nil {
		return nil, nil, fmt.Errorf("stream-stream join: %w", err)
	}
	if (parent != nil) != window {
		want := "timestamp"
		if window {
			want = "window"
		}
		return nil, nil, fmt.Errorf("%w: stream-stream join: event-time column is %s, not a %s", ErrQuery, col.DataType(), want)
	}
	return ts, parent, nil
}

func toMicros(v, mul, div int64) int64 {
	if div == 1 {
		return v * mul
	}
	q := v / div
	if v%div < 0 {
		q--
	}
	return q
}

// probe joins new rows of side s with the buffered rows of the other side
// and reports which new rows matched. It emits the joined pairs (left
// semi: the matched left rows, once) and marks the buffered rows that
// matched.
func (r *joinRun) probe(s int, sr sideRows) ([]bool, error) {
	sj := r.sj
	o := 1 - s
	other := r.bufs[o]
	oin := &sj.in[o]
	n := int(sr.b.NumRows())
	matched := make([]bool, n)
	semi := sj.typ == plan.LeftSemiJoin
	var seen map[uint32]bool
	if semi && s == 1 {
		seen = map[uint32]bool{}
	}
	err := other.candidates(sr.keys, n, r.chunk, func(pi []int32, slots []uint32, kcols, vals []arrow.Array) error {
		pair, err := r.pairBatch(s, sr.b, pi, vals)
		if err != nil {
			return err
		}
		defer pair.Release()
		sel, err := r.filter(pair)
		if err != nil {
			return err
		}
		if len(sel) == 0 {
			return nil
		}
		for _, i := range sel {
			matched[pi[i]] = true
		}
		switch {
		case semi && s == 0:
			// The caller emits the matched new left rows.
		case semi && s == 1:
			// Buffered left rows matched: emit each once and forget it.
			var first []int32
			for _, i := range sel {
				if !seen[slots[i]] {
					seen[slots[i]] = true
					first = append(first, i)
				}
			}
			if len(first) == 0 {
				return nil
			}
			if err := r.emitStored(o, vals, first); err != nil {
				return err
			}
			ki, err := takeAll(r.mem, kcols, first)
			if err != nil {
				return err
			}
			rm := make([]uint32, len(first))
			for k, i := range first {
				rm[k] = slots[i]
			}
			nr, err := other.remove(rm, ki)
			sj.op.stats.removed.Add(int64(nr))
			return err
		default:
			if err := r.emitPairs(pair, sel); err != nil {
				return err
			}
		}
		if oin.keep {
			return r.markMatched(other, oin, slots, vals, sel)
		}
		return nil
	})
	return matched, err
}

// pairBatch puts probing rows pi of b (side s) beside the buffered rows
// vals of the other side, as left ++ right child columns.
func (r *joinRun) pairBatch(s int, b arrow.RecordBatch, pi []int32, vals []arrow.Array) (arrow.RecordBatch, error) {
	probe, err := takeAll(r.mem, b.Columns(), pi)
	if err != nil {
		return nil, err
	}
	stored := r.storedColumns(1-s, vals)
	cols := append(probe, stored...)
	if s == 1 {
		cols = append(stored, probe...)
	}
	defer exec.ReleaseArrays(cols)
	return array.NewRecordBatch(r.sj.pair, cols, int64(len(pi))), nil
}

// storedColumns picks side s's child columns out of buffered value
// columns, retained.
func (r *joinRun) storedColumns(s int, vals []arrow.Array) []arrow.Array {
	in := &r.sj.in[s]
	out := make([]arrow.Array, len(in.stored))
	for c, f := range in.stored {
		out[c] = vals[f]
		out[c].Retain()
	}
	return out
}

// filter returns the pairs that satisfy the non-key conjuncts.
func (r *joinRun) filter(pair arrow.RecordBatch) ([]int32, error) {
	n := int(pair.NumRows())
	if r.sj.residual == nil {
		sel := make([]int32, n)
		for i := range sel {
			sel[i] = int32(i)
		}
		return sel, nil
	}
	m, err := expr.Eval(r.ec, r.sj.residual, pair)
	if err != nil {
		return nil, err
	}
	defer m.Release()
	mask, ok := m.(*array.Boolean)
	if !ok {
		return nil, fmt.Errorf("%w: stream-stream join condition gave %s, not booleans", ErrQuery, m.DataType())
	}
	return exec.SelectionFromMask(mask, nil), nil
}

func (r *joinRun) emitPairs(pair arrow.RecordBatch, sel []int32) error {
	var cols []arrow.Array
	if len(sel) == int(pair.NumRows()) {
		cols = pair.Columns()
		for _, c := range cols {
			c.Retain()
		}
	} else {
		var err error
		if cols, err = takeAll(r.mem, pair.Columns(), sel); err != nil {
			return err
		}
	}
	r.emit(cols, len(sel))
	return nil
}

// emit appends an output batch of cols (taken over).
func (r *joinRun) emit(cols []arrow.Array, n int) {
	r.out = append(r.out, array.NewRecordBatch(r.sj.out, cols, int64(n)))
	exec.ReleaseArrays(cols)
}

// emitPadded emits rows idx of side s's child columns, the other side's
// columns NULL (an outer join's unmatched rows).
func (r *joinRun) emitPadded(s int, cols []arrow.Array, idx []int32) error {
	mine, err := takeAll(r.mem, cols, idx)
	if err != nil {
		return err
	}
	n := len(idx)
	if r.sj.typ == plan.LeftSemiJoin {
		r.emit(mine, n)
		return nil
	}
	var nulls []arrow.Array
	for _, t := range r.sj.in[1-s].childTypes {
		nulls = append(nulls, array.MakeArrayOfNull(r.mem, t, n))
	}
	if s == 0 {
		r.emit(append(mine, nulls...), n)
	} else {
		r.emit(append(nulls, mine...), n)
	}
	return nil
}

// emitStored emits buffered rows (positions idx of vals) of side s:
// padded with NULLs for an outer join, alone for left semi.
func (r *joinRun) emitStored(s int, vals []arrow.Array, idx []int32) error {
	cols := r.storedColumns(s, vals)
	defer exec.ReleaseArrays(cols)
	return r.emitPadded(s, cols, idx)
}

// markMatched sets the matched flag of the buffered rows in sel that did
// not have it.
func (r *joinRun) markMatched(buf *joinBuffer, in *joinInput, slots []uint32, vals []arrow.Array, sel []int32) error {
	flags := vals[in.nstored].(*array.Boolean)
	var upd []int32
	for _, i := range sel {
		if flags.IsNull(int(i)) || !flags.Value(int(i)) {
			upd = append(upd, i)
		}
	}
	if len(upd) == 0 {
		return nil
	}
	cols, err := takeAll(r.mem, vals[:in.nstored], upd)
	if err != nil {
		return err
	}
	cols = append(cols, constBools(r.mem, true, len(upd)))
	defer exec.ReleaseArrays(cols)
	us := make([]uint32, len(upd))
	for k, i := range upd {
		us[k] = slots[i]
	}
	return buf.rows.Set(us, cols)
}

func constBools(mem memory.Allocator, v bool, n int) arrow.Array {
	bb := array.NewBooleanBuilder(mem)
	defer bb.Release()
	bb.Reserve(n)
	for i := 0; i < n; i++ {
		bb.UnsafeAppend(v)
	}
	return bb.NewArray()
}

// buffer adds the new rows of side s to its buffer. Left semi emits the
// new left rows that matched and buffers only the others.
func (r *joinRun) buffer(s int, sr sideRows, matched []bool) error {
	sj := r.sj
	in := &sj.in[s]
	b, keys := sr.b, sr.keys
	n := int(b.NumRows())
	if sj.typ == plan.LeftSemiJoin && s == 0 {
		var hit, miss []int32
		for i, m := range matched {
			if m {
				hit = append(hit, int32(i))
			} else {
				miss = append(miss, int32(i))
			}
		}
		if len(hit) > 0 {
			cols, err := takeAll(r.mem, b.Columns(), hit)
			if err != nil {
				return err
			}
			r.emit(cols, len(hit))
		}
		if len(miss) == 0 {
			return nil
		}
		if len(miss) < n {
			nb, err := exec.TakeBatch(r.mem, b, miss)
			if err != nil {
				return err
			}
			defer nb.Release()
			nk, err := takeAll(r.mem, keys, miss)
			if err != nil {
				return err
			}
			defer exec.ReleaseArrays(nk)
			b, keys, n = nb, nk, len(miss)
			matched = make([]bool, n)
		}
	}
	vals := make([]arrow.Array, in.nstored+1)
	defer exec.ReleaseArrays(vals)
	for c, f := range in.stored {
		vals[f] = b.Column(c)
		vals[f].Retain()
	}
	for f := range vals[:in.nstored] {
		if vals[f] == nil {
			vals[f] = array.MakeArrayOfNull(r.mem, in.types[f], n)
		}
	}
	fb := array.NewBooleanBuilder(r.mem)
	fb.AppendValues(matched, nil)
	vals[in.nstored] = fb.NewArray()
	fb.Release()
	if err := r.bufs[s].add(keys, vals, n); err != nil {
		return err
	}
	sj.op.stats.updated.Add(int64(n))
	return nil
}

// evict drops the buffered rows of side s that no future row can match,
// emitting those that never matched for an outer side.
func (r *joinRun) evict(s int, watermarkUs int64) error {
	in := &r.sj.in[s]
	if len(in.rules) == 0 {
		return nil
	}
	buf := r.bufs[s]
	return buf.rows.Scan(r.mem, r.tc.BatchSize, func(slots []uint32, keys, vals []arrow.Array) error {
		gone := make([]bool, len(slots))
		for _, rule := range in.rules {
			col := vals[rule.col]
			if rule.onKey {
				col = keys[rule.col]
			}
			if err := markEvicted(col, rule, watermarkUs, gone); err != nil {
				return err
			}
		}
		var ev []int32
		for i, g := range gone {
			if g {
				ev = append(ev, int32(i))
			}
		}
		if len(ev) == 0 {
			return nil
		}
		if in.keep {
			flags := vals[in.nstored].(*array.Boolean)
			var unmatched []int32
			for _, i := range ev {
				if flags.IsNull(int(i)) || !flags.Value(int(i)) {
					unmatched = append(unmatched, i)
				}
			}
			if len(unmatched) > 0 {
				if err := r.emitStored(s, vals, unmatched); err != nil {
					return err
				}
			}
		}
		ki, err := takeAll(r.mem, keys, ev)
		if err != nil {
			return err
		}
		rm := make([]uint32, len(ev))
		for k, i := range ev {
			rm[k] = slots[i]
		}
		n, err := buf.remove(rm, ki)
		r.sj.op.stats.removed.Add(int64(n))
		return err
	})
}

// markEvicted sets gone for the rows the rule drops at this watermark.
func markEvicted(col arrow.Array, rule evictRule, watermarkUs int64, gone []bool) error {
	ts, parent, err := eventTimes(col, rule.window)
	if err != nil {
		return err
	}
	mul, div := microsPer(ts.DataType().(*arrow.TimestampType).Unit)
	limit := rule.limit(watermarkUs)
	vals := ts.TimestampValues()
	for i, v := range vals {
		if gone[i] {
			continue
		}
		if ts.IsNull(i) || (parent != nil && parent.IsNull(i)) {
			// A NULL never satisfies the comparison: the row cannot match.
			gone[i] = true
			continue
		}
		us := toMicros(int64(v), mul, div)
		if us <= limit {
			gone[i] = true
		}
	}
	return nil
}

func (op *joinOperator) stateStore() *state.Operator { return op.store }
