package microbatch

import (
	"context"
	"fmt"
	"io"
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
}

type aggStats struct {
	dropped atomic.Int64 // late key rows dropped at the input
	updated atomic.Int64
	removed atomic.Int64
}

func wantsAggregate(n plan.Node) bool {
	a, ok := n.(*plan.Aggregate)
	return ok && plan.IsStreaming(a.Child)
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
	op := &aggOperator{agg: a, nparts: nparts, eventKey: -1}
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
	so, err := state.OpenOperator(ctx, fsys, dir, state.OperatorSpec{
		ID: a.StateID, Name: "aggregate", NumPartitions: nparts,
		Stores: []state.StoreSpec{{Key: arrow.NewSchema(keyFields, nil), Value: arrow.NewSchema(valFields, nil)}},
	}, state.Options{Mem: mem, Clock: clock,
		// A replayed batch may fold floats in another order (exchange order
		// is not fixed): keep the first run's delta rather than stop.
		OnReplayMismatch: state.ReplayKeepFile})
	if err != nil {
		return nil, err
	}
	op.store = so
	return op, nil
}

// physical plans one batch of the aggregation: partial aggregation of the
// batch, a shuffle by key into the state's partitions, then the stateful
// merge, which emits per output mode.
// a is this batch's optimised form of the aggregation (its expressions
// are bound to the pruned child), with the same buffer as op.agg.
func (op *aggOperator) physical(a *plan.Aggregate, child exec.Operator, b batchInfo) exec.Operator {
	buf := plan.AttrSchema(a.BufferAttrs())
	keyFields := buf.Fields()[:len(a.Groups)]
	pschema := exec.PartialSchema(keyFields, a.Aggs)
	partial := exec.NewHashAggregate(child, a.Groups, a.Aggs, exec.AggPartial, pschema)
	keys := make([]expr.Expr, len(keyFields))
	for i, f := range keyFields {
		keys[i] = &expr.BoundRef{Index: i, Name: f.Name, Type: f.Type, Null: true}
	}
	var ex exec.Operator
	if len(keys) == 0 || op.nparts == 1 {
		ex = exec.NewGather(partial)
	} else {
		ex = exec.NewHashExchange(partial, keys, op.nparts)
	}
	save := &stateSave{op: op, child: ex, batchID: b.batchID, watermarkUs: b.watermarkUs, lateUs: b.lateUs, mode: b.mode, schema: buf}
	return exec.NewProject(save, a.Out, plan.SchemaOf(a))
}

// stateSave merges a batch's partial aggregates into the state of each
// partition and emits the rows the output mode asks for.
type stateSave struct {
	op          *aggOperator
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

func (s *stateSave) run(ctx context.Context, tc *exec.TaskContext, p int, in exec.Iterator) ([]arrow.RecordBatch, error) {
	op := s.op
	a := op.agg
	mem := tc.Mem
	ng := len(a.Groups)
	// 1. Combine the partial rows of this partition (several upstream
	//    partitions may send the same key).
	cur, err := exec.NewAggState(mem, op.keyTypes, a.Aggs)
	if err != nil {
		return nil, err
	}
	defer cur.Release()
	if in != nil {
		defer in.Close()
		for {
			b, err := in.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			err = cur.MergeBatch(b, ng)
			b.Release()
			if err != nil {
				return nil, err
			}
		}
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
		}
	}()
	var out []arrow.RecordBatch
	emit := func(cols []arrow.Array, n int) {
		out = append(out, array.NewRecordBatch(s.schema, cols, int64(n)))
		for _, c := range cols {
			c.Release()
		}
	}
	// 2. Merge the batch's groups into the state, dropping late ones.
	n := cur.Len()
	if n > 0 {
		keys, err := cur.EmitKeys(mem, nil)
		if err != nil {
			return nil, err
		}
		live, err := s.liveRows(mem, keys, n, s.lateUs)
		if err != nil {
			exec.ReleaseArrays(keys)
			return nil, err
		}
		op.stats.dropped.Add(int64(n - len(live)))
		if len(live) < n {
			sel := make([]uint32, len(live))
			for i, r := range live {
				sel[i] = uint32(r)
			}
			k2, err := cur.EmitKeys(mem, sel)
			exec.ReleaseArrays(keys)
			if err != nil {
				return nil, err
			}
			keys = k2
		}
		gids := make([]uint32, len(live))
		for i, r := range live {
			gids[i] = uint32(r)
		}
		if len(live) > 0 {
			storeKeys := keys
			if ng == 0 {
				storeKeys = []arrow.Array{array.MakeArrayOfNull(mem, arrow.Null, len(live))}
				defer exec.ReleaseArrays(storeKeys)
			}
			slots := make([]uint32, len(live))
			created := make([]bool, len(live))
			if _, err := store.Insert(storeKeys, slots, created); err != nil {
				exec.ReleaseArrays(keys)
				return nil, err
			}
			old, err := store.Values(mem, slots)
			if err != nil {
				exec.ReleaseArrays(keys)
				return nil, err
			}
			// Fold the old buffers of keys already in the state into cur.
			var existing []uint32
			for i, c := range created {
				if !c {
					existing = append(existing, uint32(i))
				}
			}
			if len(existing) > 0 {
				if err := s.mergeRows(cur, keys, old, existing, mem); err != nil {
					exec.ReleaseArrays(keys)
					exec.ReleaseArrays(old)
					return nil, err
				}
			}
			exec.ReleaseArrays(old)
			states, err := cur.EmitState(mem, gids)
			if err != nil {
				exec.ReleaseArrays(keys)
				return nil, err
			}
			// EmitState returns keys first; the store wants the values.
			err = store.Set(slots, states[ng:])
			exec.ReleaseArrays(states)
			if err != nil {
				exec.ReleaseArrays(keys)
				return nil, err
			}
			op.stats.updated.Add(int64(len(live)))
			if s.mode == sinks.Update {
				cols, err := cur.EmitFinal(mem, gids)
				if err != nil {
					exec.ReleaseArrays(keys)
					return nil, err
				}
				emit(cols, len(live))
			}
		}
		exec.ReleaseArrays(keys)
	}
	// 3. Evict (and in append mode emit) groups the watermark closed; in
	//    complete mode emit the whole table.
	if s.mode == sinks.Complete || (op.eventKey >= 0 && s.watermarkUs > 0) {
		err := store.Scan(mem, tc.BatchSize, func(slots []uint32, keys, values []arrow.Array) error {
			rows := len(slots)
			var expired []int
			if op.eventKey >= 0 && s.watermarkUs > 0 {
				live, err := s.liveRows(mem, keys, rows, s.watermarkUs)
				if err != nil {
					return err
				}
				expired = complement(live, rows)
			}
			if s.mode == sinks.Complete {
				cols, err := finalOf(mem, op, keys, values, nil, ng, rows)
				if err != nil {
					return err
				}
				emit(cols, rows)
			} else if s.mode == sinks.Append && len(expired) > 0 {
				cols, err := finalOf(mem, op, keys, values, expired, ng, rows)
				if err != nil {
					return err
				}
				emit(cols, len(expired))
			}
			if len(expired) > 0 {
				rm := make([]uint32, len(expired))
				for i, r := range expired {
					rm[i] = slots[r]
				}
				removed, err := store.Remove(rm)
				op.stats.removed.Add(int64(removed))
				return err
			}
			return nil
		})
		if err != nil {
			exec.ReleaseBatches(out)
			return nil, err
		}
	}
	if _, err := store.Commit(ctx); err != nil {
		exec.ReleaseBatches(out)
		return nil, err
	}
	committed = true
	return out, nil
}

// liveRows returns the rows whose event-time key is not closed by the
// watermark wmUs (all rows when there is no such key or no watermark yet).
func (s *stateSave) liveRows(mem memory.Allocator, keys []arrow.Array, n int, wmUs int64) ([]int, error) {
	op := s.op
	out := make([]int, 0, n)
	if op.eventKey < 0 || wmUs <= 0 {
		for i := 0; i < n; i++ {
			out = append(out, i)
		}
		return out, nil
	}
	live, _, err := splitClosed(keys[op.eventKey], wmUs)
	if err != nil {
		return nil, err
	}
	for _, i := range live {
		if int(i) < n {
			out = append(out, int(i))
		}
	}
	return out, nil
}

// mergeRows folds state rows (keys ++ values) at the given positions into
// st, whose groups already include those keys.
func (s *stateSave) mergeRows(st *exec.AggState, keys, values []arrow.Array, rows []uint32, mem memory.Allocator) error {
	idx := make([]int32, len(rows))
	for i, r := range rows {
		idx[i] = int32(r)
	}
	cols := append(append([]arrow.Array(nil), keys...), values...)
	sub, err := selectRows(mem, cols, cols[0].Len(), idx)
	if err != nil {
		return err
	}
	defer sub.Release()
	return st.MergeBatch(sub, len(keys))
}

// selectRows gathers rows idx (all n rows when idx is nil) of columns into
// a batch the caller releases.
func selectRows(mem memory.Allocator, cols []arrow.Array, n int, idx []int32) (arrow.RecordBatch, error) {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Type: c.DataType(), Nullable: true}
	}
	all := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(n))
	if idx == nil {
		return all, nil
	}
	defer all.Release()
	return exec.TakeBatch(mem, all, idx)
}

// finalOf computes the output rows (keys ++ final values) of state rows.
func finalOf(mem memory.Allocator, op *aggOperator, keys, values []arrow.Array, rows []int, ng, n int) ([]arrow.Array, error) {
	st, err := exec.NewAggState(mem, op.keyTypes, op.agg.Aggs)
	if err != nil {
		return nil, err
	}
	defer st.Release()
	k := keys
	if ng == 0 {
		k = nil
	}
	var idx []int32
	if rows != nil {
		idx = make([]int32, len(rows))
		for i, r := range rows {
			idx[i] = int32(r)
		}
	}
	b, err := selectRows(mem, append(append([]arrow.Array(nil), k...), values...), n, idx)
	if err != nil {
		return nil, err
	}
	defer b.Release()
	if err := st.MergeBatch(b, len(k)); err != nil {
		return nil, err
	}
	return st.EmitFinal(mem, nil)
}

func complement(live []int, n int) []int {
	var out []int
	j := 0
	for i := 0; i < n; i++ {
		if j < len(live) && live[j] == i {
			j++
			continue
		}
		out = append(out, i)
	}
	return out
}
