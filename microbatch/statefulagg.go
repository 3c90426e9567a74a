package microbatch

import (
	"context"
	"fmt"
	"io"
	"math"
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

// aggOperator is a streaming aggregation's state: its store per shuffle
// partition, kept open (and in memory) across batches.
type aggOperator struct {
	agg      *plan.Aggregate
	store    *state.Operator
	nparts   int
	keyTypes []arrow.DataType
	// eventKey is the grouping key the watermark bounds (-1: none); its
	// window struct's end (or the timestamp itself) decides eviction.
	eventKey int
	stats    aggStats
	// folds[p] is partition p's working memory, reused batch to batch
	// (partitions run in parallel, each on its own).
	folds []foldScratch
}

type aggStats struct {
	dropped atomic.Int64 // late key rows dropped at the input
	updated atomic.Int64
	removed atomic.Int64
}

func wantsAggregate(n plan.Node) bool {
	a, ok := n.(*plan.Aggregate)
	return ok && a.Session == nil && plan.IsStreaming(a.Child)
}

func openAggregate(ctx context.Context, env opEnv, n plan.Node) (statefulOp, error) {
	return openAggOperator(ctx, env.ck, n.(*plan.Aggregate), env.nparts, env.mem, env.clock)
}

func (op *aggOperator) operator(n plan.Node, planChild func(plan.Node) (exec.Operator, error), b batchInfo) (exec.Operator, error) {
	a := n.(*plan.Aggregate)
	child, err := planChild(a.Child)
	if err != nil {
		return nil, err
	}
	if b.mode == sinks.Complete {
		// Complete mode keeps every group (as Spark): the whole table is
		// the result, so no input is late and nothing is evicted.
		b.lateUs, b.late = 0, nil
	}
	if b.late != nil && op.eventKey >= 0 {
		child = &lateSplit{child: child, key: a.Groups[op.eventKey], lateUs: b.lateUs, late: b.late, dropped: &op.stats.dropped}
	}
	return op.physical(a, child, b), nil
}

func (op *aggOperator) metrics() StateOperator {
	m := op.store.Metrics()
	return StateOperator{
		OperatorName: "stateStoreSave", NumRowsTotal: m.NumRowsTotal,
		NumRowsUpdated: op.stats.updated.Swap(0), NumRowsRemoved: op.stats.removed.Swap(0),
		MemoryUsedBytes: m.MemoryUsedBytes, CommitTimeMs: m.CommitTimeMs,
		NumRowsDroppedByWatermark: op.stats.dropped.Swap(0), NumShufflePartitions: op.nparts,
	}
}

func (op *aggOperator) close() { op.store.Close() }

// openAggOperator opens (or creates) the state of a streaming
// aggregation; a changed key/value shape or partition count fails here.
func openAggOperator(ctx context.Context, ck checkpointStore, a *plan.Aggregate, nparts int, mem memory.Allocator, clock state.Clock) (*aggOperator, error) {
	buf := a.BufferAttrs()
	ng := len(a.Groups)
	keyFields := make([]arrow.Field, 0, ng)
	op := &aggOperator{agg: a, nparts: nparts, eventKey: -1, folds: make([]foldScratch, nparts)}
	for i := 0; i < ng; i++ {
		keyFields = append(keyFields, arrow.Field{Name: buf[i].Name, Type: buf[i].Type, Nullable: true})
		op.keyTypes = append(op.keyTypes, buf[i].Type)
		if buf[i].EventTime && op.eventKey < 0 {
			op.eventKey = i
		}
	}
	if ng == 0 {
		// A global aggregation keeps its one group under a NULL key.
		keyFields = append(keyFields, arrow.Field{Name: "global", Type: arrow.Null, Nullable: true})
	}
	var valFields []arrow.Field
	for i, ag := range a.Aggs {
		for _, f := range ag.Binding.State {
			f.Name = fmt.Sprintf("agg%d_%s", i, f.Name)
			f.Nullable = true
			valFields = append(valFields, f)
		}
	}
	fsys, dir := ck.StateLocation()
	opts := state.Options{Mem: mem, Clock: clock,
		// A replayed batch may fold floats in another order (exchange order
		// is not fixed): keep the first run's delta rather than stop.
		OnReplayMismatch: state.ReplayKeepFile}
	if op.eventKey >= 0 {
		// The store finds the keys a watermark closed without a scan.
		opts.EventTime = eventTimeOf(op.eventKey)
	}
	so, err := state.OpenOperator(ctx, fsys, dir, state.OperatorSpec{
		ID: a.StateID, Name: "aggregate", NumPartitions: nparts,
		Stores: []state.StoreSpec{{Key: arrow.NewSchema(keyFields, nil), Value: arrow.NewSchema(valFields, nil)}},
	}, opts)
	if err != nil {
		return nil, err
	}
	op.store = so
	return op, nil
}

// eventTimeOf is the store's EventTimeFunc for an aggregation whose key
// column k is the event time: a window closes when the watermark reaches
// its end, a timestamp when the watermark reaches it (Spark's
// eventTime <= watermark), so a key expires at (window end) or
// (timestamp) <= watermark.
func eventTimeOf(k int) state.EventTimeFunc {
	return func(keys []arrow.Array, rows []int, out []int64) error {
		ends, parent, err := eventEnds(keys[k])
		if err != nil {
			return err
		}
		vals := ends.TimestampValues()
		noNulls := ends.NullN() == 0 && (parent == nil || parent.NullN() == 0)
		for j := range out {
			i := j
			if rows != nil {
				i = rows[j]
			}
			if !noNulls && ((parent != nil && parent.IsNull(i)) || ends.IsNull(i)) {
				out[j] = state.NoEventTime
			} else {
				out[j] = int64(vals[i])
			}
		}
		return nil
	}
}

// physical plans one batch of the aggregation. With one state partition
// the batch's rows go straight into the stateful merge, which groups them
// by the state's own table: no partial aggregation, no second grouping.
// With several, a partial aggregation of the batch is shuffled by key
// into the state's partitions and merged there. Either way the merge
// emits per output mode.
// a is this batch's optimised form of the aggregation (its expressions
// are bound to the pruned child), with the same buffer as op.agg.
func (op *aggOperator) physical(a *plan.Aggregate, child exec.Operator, b batchInfo) exec.Operator {
	buf := plan.AttrSchema(a.BufferAttrs())
	save := &stateSave{op: op, agg: a, batchID: b.batchID, watermarkUs: b.watermarkUs, lateUs: b.lateUs, mode: b.mode, schema: buf}
	if op.nparts == 1 && len(a.Groups) > 0 {
		save.raw = true
		save.child = child
		if child.Partitions() != 1 {
			save.child = exec.NewGather(child)
		}
		return exec.NewProject(save, a.Out, plan.SchemaOf(a))
	}
	keyFields := buf.Fields()[:len(a.Groups)]
	pschema := exec.PartialSchema(keyFields, a.Aggs)
	partial := exec.NewHashAggregate(child, a.Groups, a.Aggs, exec.AggPartial, pschema)
	keys := make([]expr.Expr, len(keyFields))
	for i, f := range keyFields {
		keys[i] = &expr.BoundRef{Index: i, Name: f.Name, Type: f.Type, Null: true}
	}
	if len(keys) == 0 || op.nparts == 1 {
		save.child = exec.NewGather(partial)
	} else {
		save.child = exec.NewHashExchange(partial, keys, op.nparts)
	}
	return exec.NewProject(save, a.Out, plan.SchemaOf(a))
}

// stateSave folds a batch into the state of each partition and emits the
// rows the output mode asks for.
type stateSave struct {
	op  *aggOperator
	agg *plan.Aggregate // this batch's form (expressions bound to the child)
	// raw: child yields the aggregation's input rows; otherwise partial
	// aggregates (keys ++ states).
	raw         bool
	child       exec.Operator
	batchID     int64
	watermarkUs int64 // evicts (and in append mode emits) closed keys
	lateUs      int64 // drops input keys already closed by it
	mode        sinks.OutputMode
	schema      *arrow.Schema
}

func (s *stateSave) Schema() *arrow.Schema     { return s.schema }
func (s *stateSave) Partitions() int           { return s.op.nparts }
func (s *stateSave) Children() []exec.Operator { return []exec.Operator{s.child} }
func (s *stateSave) String() string {
	return fmt.Sprintf("StateStoreSave [op=%d, batch=%d, mode=%s, watermark=%d]", s.op.agg.StateID, s.batchID, s.mode, s.watermarkUs/1000)
}

func (s *stateSave) Execute(ctx context.Context, tc *exec.TaskContext, p int) (exec.Iterator, error) {
	var in exec.Iterator
	var err error
	if p < s.child.Partitions() {
		if in, err = s.child.Execute(ctx, tc, p); err != nil {
			return nil, err
		}
	}
	out, err := s.run(ctx, tc, p, in)
	if err != nil {
		return nil, err
	}
	return exec.NewOwnedIterator(out), nil
}

func (s *stateSave) run(ctx context.Context, tc *exec.TaskContext, p int, in exec.Iterator) (out []arrow.RecordBatch, err error) {
	op := s.op
	if in != nil {
		defer in.Close()
	}
	store, err := op.store.Store(p, "")
	if err != nil {
		return nil, err
	}
	if err := store.Load(ctx, s.batchID); err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			store.Abort()
			exec.ReleaseBatches(out)
		}
	}()
	f, err := newFold(s, tc, store, &op.folds[p])
	if err != nil {
		return nil, err
	}
	defer f.release()
	// 1. Fold the batch into the state, dropping late keys.
	for in != nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, err := in.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if s.raw {
			err = f.addRows(b)
		} else {
			err = f.addPartials(b)
		}
		b.Release()
		if err != nil {
			return nil, err
		}
	}
	// 2. Write the folded buffers back; update mode emits them. From here
	//    on a failure returns out as it is, so the deferred release frees
	//    what was already emitted (a stop in flight fails the commit).
	if out, err = f.finish(out); err != nil {
		return out, err
	}
	// 3. Evict (and in append mode emit) groups the watermark closed; in
	//    complete mode emit the whole table.
	if out, err = s.evict(tc, store, out); err != nil {
		return out, err
	}
	if _, err := store.Commit(ctx); err != nil {
		return out, err
	}
	committed = true
	return out, nil
}

// evict removes the keys the watermark closed, emitting them in append
// mode; complete mode emits the whole table and evicts nothing (Spark:
// the result is every group there ever was).
func (s *stateSave) evict(tc *exec.TaskContext, store *state.Store, out []arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	op := s.op
	mem := tc.Mem
	ng := len(s.agg.Groups)
	byWatermark := op.eventKey >= 0 && s.watermarkUs > 0
	if s.mode == sinks.Complete {
		err := store.Scan(mem, tc.BatchSize, func(slots []uint32, keys, values []arrow.Array) error {
			cols, err := s.finals(mem, keys, values, len(slots))
			if err != nil {
				return err
			}
			out = append(out, s.batch(cols, len(slots)))
			return nil
		})
		return out, err
	}
	if !byWatermark {
		return out, nil
	}
	var emit func(slots []uint32) error
	if s.mode == sinks.Append {
		emit = func(slots []uint32) error {
			var keys []arrow.Array
			if ng > 0 {
				var err error
				if keys, err = store.Keys(mem, slots); err != nil {
					return err
				}
				defer exec.ReleaseArrays(keys)
			}
			values, err := store.Values(mem, slots)
			if err != nil {
				return err
			}
			defer exec.ReleaseArrays(values)
			cols, err := s.finals(mem, keys, values, len(slots))
			if err != nil {
				return err
			}
			out = append(out, s.batch(cols, len(slots)))
			return nil
		}
	}
	removed, err := store.Expire(s.watermarkUs, tc.BatchSize, emit)
	op.stats.removed.Add(int64(removed))
	return out, err
}

// finals computes output columns (keys ++ final values) of state rows.
func (s *stateSave) finals(mem memory.Allocator, keys, values []arrow.Array, n int) ([]arrow.Array, error) {
	aggs := s.agg.Aggs
	out := make([]arrow.Array, 0, len(s.agg.Groups)+len(aggs))
	if len(s.agg.Groups) > 0 {
		for _, k := range keys {
			k.Retain()
			out = append(out, k)
		}
	}
	gids := identity(n)
	pos := 0
	for _, ag := range aggs {
		acc := ag.Binding.New(mem)
		acc.Resize(n)
		ns := len(ag.Binding.State)
		err := acc.MergeState(values[pos:pos+ns], gids)
		var r arrow.Array
		if err == nil {
			r, err = acc.Result(mem, n, nil)
		}
		acc.Release()
		if err != nil {
			exec.ReleaseArrays(out)
			return nil, fmt.Errorf("%s: %w", ag, err)
		}
		out = append(out, r)
		pos += ns
	}
	return out, nil
}

// batch wraps output columns (consumed) into a record batch.
func (s *stateSave) batch(cols []arrow.Array, n int) arrow.RecordBatch {
	b := array.NewRecordBatch(s.schema, cols, int64(n))
	exec.ReleaseArrays(cols)
	return b
}

func identity(n int) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		out[i] = uint32(i)
	}
	return out
}

// foldScratch is a partition's working memory kept across batches.
type foldScratch struct {
	// lid[slot] is 1 + the batch-local id of a state slot the batch
	// touched, 0 for the others: every entry is 0 between batches.
	lid                []uint32
	slots, gids, loads []uint32
	loadIDs            []uint32
	created            []bool
}

// fold folds one batch into one partition's state. The groups the batch
// touches get dense local ids in first-touch order; accumulators indexed
// by them start from the state's buffers (read once per key, the first
// time the batch touches it, before any of its rows) and take the batch's
// rows or partial states, and finish writes them back.
type fold struct {
	s       *stateSave
	tc      *exec.TaskContext
	store   *state.Store
	sc      *foldScratch
	accs    []expr.Accumulator
	nStates []int
	touched []uint32 // slots by local id
}

func newFold(s *stateSave, tc *exec.TaskContext, store *state.Store, sc *foldScratch) (*fold, error) {
	f := &fold{s: s, tc: tc, store: store, sc: sc}
	for _, ag := range s.agg.Aggs {
		f.accs = append(f.accs, ag.Binding.New(tc.Mem))
		f.nStates = append(f.nStates, len(ag.Binding.State))
	}
	return f, nil
}

// release frees the accumulators and leaves the scratch clean for the
// next batch, also after an error.
func (f *fold) release() {
	for _, a := range f.accs {
		a.Release()
	}
	for _, sl := range f.touched {
		f.sc.lid[sl] = 0
	}
	f.touched = nil
}

// addRows folds input rows (raw mode): their keys and arguments are
// evaluated here.
func (f *fold) addRows(b arrow.RecordBatch) error {
	ec := f.tc.EvalContext()
	a := f.s.agg
	keys, err := evalAll(ec, a.Groups, b)
	if err != nil {
		return err
	}
	if ek := f.s.op.eventKey; ek >= 0 && f.s.lateUs > 0 && anyClosed(keys[ek], f.s.lateUs) {
		live, late, err := splitClosed(keys[ek], f.s.lateUs)
		if err != nil {
			exec.ReleaseArrays(keys)
			return err
		}
		if len(late) > 0 {
			// Rare: take the open rows and evaluate again.
			exec.ReleaseArrays(keys)
			f.s.op.stats.dropped.Add(int64(len(late)))
			if len(live) == 0 {
				return nil
			}
			lb, err := exec.TakeBatch(f.tc.Mem, b, live)
			if err != nil {
				return err
			}
			defer lb.Release()
			b = lb
			if keys, err = evalAll(ec, a.Groups, b); err != nil {
				return err
			}
		}
	}
	defer exec.ReleaseArrays(keys)
	gids, err := f.groups(keys, int(b.NumRows()))
	if err != nil {
		return err
	}
	for i, ag := range a.Aggs {
		args, err := evalAll(ec, ag.Args, b)
		if err != nil {
			return err
		}
		err = f.accs[i].Update(args, gids)
		exec.ReleaseArrays(args)
		if err != nil {
			return fmt.Errorf("%s: %w", ag, err)
		}
	}
	return nil
}

// addPartials folds partial aggregates (keys ++ states).
func (f *fold) addPartials(b arrow.RecordBatch) error {
	ng := len(f.s.agg.Groups)
	cols := b.Columns()
	n := int(b.NumRows())
	if ek := f.s.op.eventKey; ek >= 0 && f.s.lateUs > 0 && n > 0 && anyClosed(cols[ek], f.s.lateUs) {
		live, late, err := splitClosed(cols[ek], f.s.lateUs)
		if err != nil {
			return err
		}
		if len(late) > 0 {
			f.s.op.stats.dropped.Add(int64(len(late)))
			if len(live) == 0 {
				return nil
			}
			lb, err := exec.TakeBatch(f.tc.Mem, b, live)
			if err != nil {
				return err
			}
			defer lb.Release()
			cols, n = lb.Columns(), int(lb.NumRows())
		}
	}
	keys := cols[:ng]
	if ng == 0 {
		// A global aggregation keeps its one group under a NULL key.
		null := array.MakeArrayOfNull(f.tc.Mem, arrow.Null, n)
		defer null.Release()
		keys = []arrow.Array{null}
	}
	gids, err := f.groups(keys, n)
	if err != nil {
		return err
	}
	pos := ng
	for i, ag := range f.s.agg.Aggs {
		if err := f.accs[i].MergeState(cols[pos:pos+f.nStates[i]], gids); err != nil {
			return fmt.Errorf("%s: %w", ag, err)
		}
		pos += f.nStates[i]
	}
	return nil
}

// groups inserts key rows into the state and returns each row's local
// id, folding the state's buffers of keys the batch touches for the first
// time into their accumulators.
func (f *fold) groups(keys []arrow.Array, n int) ([]uint32, error) {
	sc := f.sc
	sc.slots = grow(sc.slots, n)
	sc.gids = grow(sc.gids, n)
	if cap(sc.created) < n {
		sc.created = make([]bool, n)
	}
	slots, gids, created := sc.slots[:n], sc.gids[:n], sc.created[:n]
	if _, err := f.store.Insert(keys, slots, created); err != nil {
		return nil, err
	}
	loads, loadIDs := sc.loads[:0], sc.loadIDs[:0]
	for i, sl := range slots {
		if int(sl) >= len(sc.lid) {
			sc.lid = append(sc.lid, make([]uint32, max(int(sl)+1, 2*len(sc.lid))-len(sc.lid))...)
		}
		id := sc.lid[sl]
		if id == 0 {
			f.touched = append(f.touched, sl)
			id = uint32(len(f.touched))
			sc.lid[sl] = id
			if !created[i] {
				loads = append(loads, sl)
				loadIDs = append(loadIDs, id-1)
			}
		}
		gids[i] = id - 1
	}
	sc.loads, sc.loadIDs = loads, loadIDs
	for _, a := range f.accs {
		a.Resize(len(f.touched))
	}
	if len(loads) > 0 {
		old, err := f.store.Values(f.tc.Mem, loads)
		if err != nil {
			return nil, err
		}
		defer exec.ReleaseArrays(old)
		pos := 0
		for i, a := range f.accs {
			if err := a.MergeState(old[pos:pos+f.nStates[i]], loadIDs); err != nil {
				return nil, fmt.Errorf("%s: %w", f.s.agg.Aggs[i], err)
			}
			pos += f.nStates[i]
		}
	}
	return gids, nil
}

// finish writes the touched groups' buffers to the state and, in update
// mode, appends their output rows to out.
func (f *fold) finish(out []arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	n := len(f.touched)
	if n == 0 {
		return out, nil
	}
	mem := f.tc.Mem
	var states []arrow.Array
	for i, a := range f.accs {
		cs, err := a.State(mem, n, nil)
		if err != nil {
			exec.ReleaseArrays(states)
			return out, fmt.Errorf("%s: %w", f.s.agg.Aggs[i], err)
		}
		states = append(states, cs...)
	}
	if f.s.mode != sinks.Update || len(f.s.agg.Groups) == 0 {
		err := f.store.Set(f.touched, states)
		exec.ReleaseArrays(states)
		if err != nil {
			return out, err
		}
	}
	f.s.op.stats.updated.Add(int64(n))
	if f.s.mode != sinks.Update {
		return out, nil
	}
	var cols []arrow.Array
	if len(f.s.agg.Groups) > 0 {
		// The same keys and buffers make this version's delta.
		keys, err := f.store.SetAndKeys(mem, f.touched, states)
		exec.ReleaseArrays(states)
		if err != nil {
			return out, err
		}
		cols = keys
	}
	for i, a := range f.accs {
		r, err := a.Result(mem, n, nil)
		if err != nil {
			exec.ReleaseArrays(cols)
			return out, fmt.Errorf("%s: %w", f.s.agg.Aggs[i], err)
		}
		cols = append(cols, r)
	}
	return append(out, f.s.batch(cols, n)), nil
}

// anyClosed reports whether the watermark may close some row of an
// event-time key column (a window struct or a timestamp): one pass over
// the ends, so that the common batch without late rows skips splitClosed.
// It may say true for a NULL row's value: splitClosed decides.
func anyClosed(key arrow.Array, wmUs int64) bool {
	ends, _, err := eventEnds(key)
	if err != nil {
		return true // splitClosed reports it
	}
	lo := int64(math.MaxInt64)
	for _, v := range ends.TimestampValues() {
		lo = min(lo, int64(v))
	}
	return lo <= wmUs
}

// evalAll evaluates expressions over b; the caller releases the arrays.
func evalAll(ec *expr.EvalContext, es []expr.Expr, b arrow.RecordBatch) ([]arrow.Array, error) {
	out := make([]arrow.Array, 0, len(es))
	for _, e := range es {
		c, err := expr.Eval(ec, e, b)
		if err != nil {
			exec.ReleaseArrays(out)
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// grow returns s with length n, reusing its array when it can.
func grow(s []uint32, n int) []uint32 {
	if cap(s) < n {
		return make([]uint32, n)
	}
	return s[:n]
}

func (op *aggOperator) stateStore() *state.Operator { return op.store }
