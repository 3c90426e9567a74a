package microbatch

import (
	"context"
	"fmt"
	"io"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/exec"
	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/expr/fn"
	"github.com/sluicehq/sluice/dataframe/plan"
	"github.com/sluicehq/sluice/microbatch/state"
	"github.com/sluicehq/sluice/sinks"
)

// Streaming session windows: an aggregation grouped by session_window(ts,
// gap) (plan.SessionWindow), Spark's SessionWindowStateStoreRestoreExec and
// SaveExec.
//
// State: per group of the other keys, its open sessions in start order,
// one state row each, keyed by (other keys, session_index 0, 1, ...) and
// holding the session's start, end and aggregation buffers. A batch
// merges its rows into partial sessions (exec.SessionAggregate, partial),
// shuffles them by the other keys, and each partition reads the sessions
// of the groups the batch touches (probing index 0, 1, ... until a key is
// missing), merges old and new with exec.SessionMerger (a row that
// bridges two sessions joins them: their buffers meet in MergeState),
// and writes the group's sessions back, renumbered; rows of sessions that
// did not change are not rewritten.
//
// Output modes:
//   - Append (needs a watermark on ts): a session is emitted once, when the
//     watermark reaches its end (end <= watermark), and evicted. Sessions of
//     a group end in start order, so the closed ones are its first ones.
//   - Complete: the whole table every batch; nothing is evicted or late, so
//     the result is the batch query's over all input.
//   - Update is refused, as Spark does: when a row joins two sessions the
//     rows emitted for them could not be taken back.
//
// Late rows: in append mode an input row is late, dropped and counted
// (or sent to the late-data sink), when ts <= the watermark. Spark only
// drops a row whose own session ends by the watermark (ts + gap <=
// watermark); such a row can start at or before the end of a session
// Spark already emitted and evicted, so Spark emits two sessions where the
// batch query has one. Dropping by ts keeps every emitted session final:
// no accepted row can reach a closed session.
type sessionOperator struct {
	id         int
	key        int // the session key's index in Groups
	nparts     int
	otherTypes []arrow.DataType
	store      *state.Operator
	// parts tracks, per partition, a lower bound of the session ends in
	// its state, so eviction scans only when some session can close.
	parts []sessionPart
	stats aggStats
}

// sessionPart: minEnd bounds the ends of the sessions in the partition's
// state at version (a bound from another version is unknown: scan).
type sessionPart struct {
	version int64
	minEnd  int64
}

func wantsSession(n plan.Node) bool {
	a, ok := n.(*plan.Aggregate)
	return ok && a.Session != nil && plan.IsStreaming(a.Child)
}

func checkSession(n plan.Node, mode sinks.OutputMode) error {
	a := n.(*plan.Aggregate)
	switch mode {
	case sinks.Update:
		return fmt.Errorf("%w: update output mode is not supported for a session window aggregation: when a new row joins two sessions into one, the rows already emitted for the two could not be taken back (Spark refuses it too). Use append output mode with a watermark on the event-time column (a session is emitted once it is closed), or complete output mode", plan.ErrUnsupported)
	case sinks.Append:
		if !hasEventTimeKey(a) {
			return fmt.Errorf("%w: append output mode is not supported for a session window aggregation without a watermark on its event-time column: append emits a session once no row can extend it, which only a watermark can tell. Add WithWatermark(\"<ts column of session_window>\", \"<delay>\"), or use complete output mode", plan.ErrUnsupported)
		}
	}
	return nil
}

func openSession(ctx context.Context, env opEnv, n plan.Node) (statefulOp, error) {
	a := n.(*plan.Aggregate)
	op := &sessionOperator{id: a.StateID, key: a.Session.Key, nparts: env.nparts, parts: make([]sessionPart, env.nparts)}
	for i := range op.parts {
		op.parts[i].version = -1
	}
	buf := a.BufferAttrs()
	var keyFields []arrow.Field
	for i := range a.Groups {
		if i == op.key {
			continue
		}
		keyFields = append(keyFields, arrow.Field{Name: buf[i].Name, Type: buf[i].Type, Nullable: true})
		op.otherTypes = append(op.otherTypes, buf[i].Type)
	}
	if len(keyFields) == 0 {
		// Without other keys all sessions are under one NULL key.
		keyFields = append(keyFields, arrow.Field{Name: "global", Type: arrow.Null, Nullable: true})
	}
	keyFields = append(keyFields, arrow.Field{Name: "session_index", Type: arrow.PrimitiveTypes.Int32})
	valFields := []arrow.Field{
		{Name: "session_start", Type: expr.Timestamp},
		{Name: "session_end", Type: expr.Timestamp},
	}
	for i, ag := range a.Aggs {
		for _, f := range ag.Binding.State {
			f.Name = fmt.Sprintf("agg%d_%s", i, f.Name)
			f.Nullable = true
			valFields = append(valFields, f)
		}
	}
	fsys, dir := env.ck.StateLocation()
	so, err := state.OpenOperator(ctx, fsys, dir, state.OperatorSpec{
		ID: a.StateID, Name: "session", NumPartitions: env.nparts,
		Stores: []state.StoreSpec{{Key: arrow.NewSchema(keyFields, nil), Value: arrow.NewSchema(valFields, nil)}},
	}, state.Options{Mem: env.mem, Clock: env.clock,
		// A replayed batch may fold floats in another order (the exchange
		// order is not fixed): keep the first run's delta.
		OnReplayMismatch: state.ReplayKeepFile})
	if err != nil {
		return nil, err
	}
	op.store = so
	return op, nil
}

func (op *sessionOperator) operator(n plan.Node, planChild func(plan.Node) (exec.Operator, error), b batchInfo) (exec.Operator, error) {
	a := n.(*plan.Aggregate)
	if a.Session == nil || a.Session.Key != op.key {
		return nil, fmt.Errorf("%w: session window aggregation %d lost its session key", ErrQuery, op.id)
	}
	child, err := planChild(a.Child)
	if err != nil {
		return nil, err
	}
	if b.mode != sinks.Complete && b.lateUs > 0 {
		child = &sessionLateSplit{child: child, session: a.Groups[op.key], lateUs: b.lateUs, late: b.late, op: op}
	}
	buf := plan.AttrSchema(a.BufferAttrs())
	keyFields := buf.Fields()[:len(a.Groups)]
	partial := exec.NewSessionAggregate(child, a.Groups, op.key, a.Aggs, exec.AggPartial, exec.PartialSchema(keyFields, a.Aggs))
	var others []expr.Expr
	for i, f := range keyFields {
		if i != op.key {
			others = append(others, &expr.BoundRef{Index: i, Name: f.Name, Type: f.Type, Null: true})
		}
	}
	var ex exec.Operator
	if len(others) == 0 || op.nparts == 1 {
		ex = exec.NewGather(partial)
	} else {
		ex = exec.NewHashExchange(partial, others, op.nparts)
	}
	save := &sessionSave{op: op, agg: a, child: ex, b: b, schema: buf}
	return exec.NewProject(save, a.Out, plan.SchemaOf(a)), nil
}

func (op *sessionOperator) metrics() StateOperator {
	m := op.store.Metrics()
	return StateOperator{
		OperatorName: "sessionWindowStateStoreSaveExec", NumRowsTotal: m.NumRowsTotal,
		NumRowsUpdated: op.stats.updated.Swap(0), NumRowsRemoved: op.stats.removed.Swap(0),
		MemoryUsedBytes: m.MemoryUsedBytes, CommitTimeMs: m.CommitTimeMs,
		NumRowsDroppedByWatermark: op.stats.dropped.Swap(0), NumShufflePartitions: op.nparts,
	}
}

func (op *sessionOperator) close() { op.store.Close() }

// sessionLateSplit passes on the rows whose event time is after lateUs
// and drops (or sets aside for the late-data sink) the others. Rows in no
// session (NULL ts or gap) pass: the aggregation drops them uncounted.
type sessionLateSplit struct {
	child   exec.Operator
	session expr.Expr // session_window(ts, gap) over child
	lateUs  int64
	late    *lateRows
	op      *sessionOperator
}

func (l *sessionLateSplit) Schema() *arrow.Schema     { return l.child.Schema() }
func (l *sessionLateSplit) Partitions() int           { return l.child.Partitions() }
func (l *sessionLateSplit) Children() []exec.Operator { return []exec.Operator{l.child} }
func (l *sessionLateSplit) String() string {
	return fmt.Sprintf("SessionLateRows [%s, watermark=%d]", l.session, l.lateUs/1000)
}

func (l *sessionLateSplit) Execute(ctx context.Context, tc *exec.TaskContext, p int) (exec.Iterator, error) {
	in, err := l.child.Execute(ctx, tc, p)
	if err != nil {
		return nil, err
	}
	return &sessionLateIter{l: l, in: in, tc: tc}, nil
}

type sessionLateIter struct {
	l    *sessionLateSplit
	in   exec.Iterator
	tc   *exec.TaskContext
	live []int32
	late []int32
}

func (it *sessionLateIter) Close() { it.in.Close() }

func (it *sessionLateIter) Next() (arrow.RecordBatch, error) {
	b, err := it.in.Next()
	if err != nil {
		return nil, err
	}
	defer b.Release()
	sc, err := expr.Eval(it.tc.EvalContext(), it.l.session, b)
	if err != nil {
		return nil, err
	}
	defer sc.Release()
	it.live, it.late = it.live[:0], it.late[:0]
	if s, ok := sc.(*array.Struct); ok {
		starts, _, err := fn.SessionBounds(s)
		if err != nil {
			return nil, err
		}
		wm := arrow.Timestamp(it.l.lateUs)
		for i, ts := range starts {
			if ts <= wm && s.IsValid(i) {
				it.late = append(it.late, int32(i))
			} else {
				it.live = append(it.live, int32(i))
			}
		}
	}
	if len(it.late) == 0 {
		b.Retain()
		return b, nil
	}
	it.l.op.stats.dropped.Add(int64(len(it.late)))
	if it.l.late != nil {
		lb, err := exec.TakeBatch(it.tc.Mem, b, it.late)
		if err != nil {
			return nil, err
		}
		it.l.late.add(lb)
	}
	return exec.TakeBatch(it.tc.Mem, b, it.live)
}

// sessionSave merges a batch's partial sessions into the state of each
// partition and emits what the output mode asks for.
type sessionSave struct {
	op     *sessionOperator
	agg    *plan.Aggregate // this batch's optimised node
	child  exec.Operator   // partial sessions, by the other keys
	b      batchInfo
	schema *arrow.Schema // the aggregation buffer
}

func (s *sessionSave) Schema() *arrow.Schema     { return s.schema }
func (s *sessionSave) Partitions() int           { return s.op.nparts }
func (s *sessionSave) Children() []exec.Operator { return []exec.Operator{s.child} }
func (s *sessionSave) String() string {
	return fmt.Sprintf("SessionWindowStateStoreSave [op=%d, batch=%d, mode=%s, watermark=%d]", s.op.id, s.b.batchID, s.b.mode, s.b.watermarkUs/1000)
}

func (s *sessionSave) Execute(ctx context.Context, tc *exec.TaskContext, p int) (exec.Iterator, error) {
	var in []arrow.RecordBatch
	if p < s.child.Partitions() {
		it, err := s.child.Execute(ctx, tc, p)
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
				exec.ReleaseBatches(in)
				return nil, err
			}
			in = append(in, b)
		}
		it.Close()
	}
	out, err := s.run(ctx, tc, p, in)
	exec.ReleaseBatches(in)
	if err != nil {
		return nil, err
	}
	return exec.NewOwnedIterator(out), nil
}

// run is one partition's batch: (1) find the groups to touch: the
// batch's, and in append mode those with a session the watermark closed;
// (2) read their sessions; (3) merge them with the batch's; (4) write the
// changed ones back, renumbered, delete the rest; (5) emit and commit.
func (s *sessionSave) run(ctx context.Context, tc *exec.TaskContext, p int, in []arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	op := s.op
	mem := tc.Mem
	key := op.key
	ng := len(s.agg.Groups)
	store, err := op.store.Store(p, "")
	if err != nil {
		return nil, err
	}
	if err := store.Load(ctx, s.b.batchID); err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			store.Abort()
		}
	}()
	part := &op.parts[p]
	minEnd := part.minEnd
	switch {
	case s.b.batchID == 0:
		minEnd = math.MaxInt64 // version 0 is empty
	case part.version != s.b.batchID:
		minEnd = math.MinInt64 // unknown
	}
	wm := s.b.watermarkUs
	evict := s.b.mode == sinks.Append && wm > 0

	// 1. The groups to touch.
	touched, err := newKeySet(mem, op.otherTypes)
	if err != nil {
		return nil, err
	}
	defer touched.release()
	for _, b := range in {
		if err := touched.add(otherCols(b.Columns()[:ng], key), int(b.NumRows())); err != nil {
			return nil, err
		}
	}
	if evict && wm >= minEnd {
		next := int64(math.MaxInt64)
		err := store.Scan(mem, tc.BatchSize, func(_ []uint32, keys, values []arrow.Array) error {
			ends := values[1].(*array.Timestamp).TimestampValues()
			var closed []int32
			for i, e := range ends {
				if int64(e) <= wm {
					closed = append(closed, int32(i))
				} else {
					next = min(next, int64(e))
				}
			}
			if len(closed) == 0 {
				return nil
			}
			if len(op.otherTypes) == 0 {
				return touched.add(nil, len(closed))
			}
			ks, err := takeCols(mem, keys[:len(keys)-1], closed)
			if err != nil {
				return err
			}
			defer exec.ReleaseArrays(ks)
			return touched.add(ks, len(closed))
		})
		if err != nil {
			return nil, err
		}
		minEnd = next
	}

	// 2. Their sessions in the state, then 3. the batch's, merged.
	m, err := exec.NewSessionMerger(mem, op.otherTypes, s.agg.Aggs)
	if err != nil {
		return nil, err
	}
	defer m.Release()
	stateIdx, err := s.readSessions(mem, store, touched, m)
	if err != nil {
		return nil, err
	}
	nState := len(stateIdx)
	for _, b := range in {
		cols := b.Columns()
		if err := m.AddStates(otherCols(cols[:ng], key), cols[key], cols[ng:]); err != nil {
			return nil, err
		}
	}
	if err := m.Merge(); err != nil {
		return nil, err
	}

	// 4. Per group, in start order: closed sessions are emitted (append)
	//    and dropped; the others get index 0, 1, ...; those whose rows or
	//    index changed are written; indexes past the last are deleted.
	ns := m.NumSessions()
	sid, gidOf := m.ItemSessions(), m.ItemGroups()
	fromInput := make([]bool, ns)
	stateCount := make([]int32, ns)
	oldIdx := make([]int32, ns)
	oldCount := make(map[uint32]int32)
	for i, sn := range sid {
		if sn == expr.NoGroup {
			continue
		}
		if i < nState {
			stateCount[sn]++
			oldIdx[sn] = stateIdx[i]
			oldCount[gidOf[i]]++
		} else {
			fromInput[sn] = true
		}
	}
	var emitSel, writeSel []uint32
	var writeIdx []int32
	var rmGids []uint32
	var rmIdx []int32
	flush := func(g uint32, kept int32) {
		for j := kept; j < oldCount[g]; j++ {
			rmGids = append(rmGids, g)
			rmIdx = append(rmIdx, j)
		}
	}
	prev, pos := expr.NoGroup, int32(0)
	for sn := 0; sn < ns; sn++ {
		g, _, end := m.Session(sn)
		if g != prev {
			if prev != expr.NoGroup {
				flush(prev, pos)
			}
			prev, pos = g, 0
		}
		if evict && end <= wm {
			emitSel = append(emitSel, uint32(sn))
			continue
		}
		if fromInput[sn] || stateCount[sn] != 1 || oldIdx[sn] != pos {
			writeSel = append(writeSel, uint32(sn))
			writeIdx = append(writeIdx, pos)
			minEnd = min(minEnd, end)
		}
		pos++
	}
	if prev != expr.NoGroup {
		flush(prev, pos)
	}
	if err := s.write(mem, store, m, writeSel, writeIdx); err != nil {
		return nil, err
	}
	if len(rmGids) > 0 {
		keys, err := s.storeKeys(mem, m, rmGids, rmIdx)
		if err != nil {
			return nil, err
		}
		removed, err := store.Delete(keys)
		exec.ReleaseArrays(keys)
		if err != nil {
			return nil, err
		}
		op.stats.removed.Add(int64(removed))
	}

	// 5. Emit: the closed sessions (append) or the whole table (complete).
	var out []arrow.RecordBatch
	if len(emitSel) > 0 {
		b, err := s.emit(mem, m, emitSel)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	if s.b.mode == sinks.Complete {
		b, err := s.table(mem, tc.BatchSize, store)
		if err != nil {
			exec.ReleaseBatches(out)
			return nil, err
		}
		out = append(out, b)
	}
	if _, err := store.Commit(ctx); err != nil {
		exec.ReleaseBatches(out)
		return nil, err
	}
	committed = true
	part.version, part.minEnd = s.b.batchID+1, minEnd
	return out, nil
}

// readSessions adds the state sessions of the touched groups to m, as
// its first items, and returns each one's session index.
func (s *sessionSave) readSessions(mem memory.Allocator, store *state.Store, touched *keySet, m *exec.SessionMerger) ([]int32, error) {
	n := touched.len()
	if n == 0 {
		return nil, nil
	}
	uniq, err := touched.keys(mem)
	if err != nil {
		return nil, err
	}
	defer exec.ReleaseArrays(uniq)
	alive := make([]int32, n)
	for i := range alive {
		alive[i] = int32(i)
	}
	var idxs []int32
	for r := int32(0); len(alive) > 0; r++ {
		ks, err := s.probeKeys(mem, uniq, alive, r)
		if err != nil {
			return nil, err
		}
		slots := make([]uint32, len(alive))
		err = store.Lookup(ks, slots)
		if err != nil {
			exec.ReleaseArrays(ks)
			return nil, err
		}
		var found []uint32
		var at []int32
		next := alive[:0]
		for j, sl := range slots {
			if sl != state.NoSlot {
				found = append(found, sl)
				at = append(at, int32(j))
				next = append(next, alive[j])
			}
		}
		if len(found) == 0 {
			exec.ReleaseArrays(ks)
			break
		}
		err = s.addStateRows(mem, store, m, ks, found, at)
		exec.ReleaseArrays(ks)
		if err != nil {
			return nil, err
		}
		for range found {
			idxs = append(idxs, r)
		}
		alive = next
	}
	return idxs, nil
}

// probeKeys builds the store keys (other keys of the listed groups,
// session index r).
func (s *sessionSave) probeKeys(mem memory.Allocator, uniq []arrow.Array, rows []int32, r int32) ([]arrow.Array, error) {
	var ks []arrow.Array
	if len(s.op.otherTypes) == 0 {
		ks = []arrow.Array{array.MakeArrayOfNull(mem, arrow.Null, len(rows))}
	} else {
		var err error
		if ks, err = takeCols(mem, uniq, rows); err != nil {
			return nil, err
		}
	}
	return append(ks, int32Const(mem, r, len(rows))), nil
}

// addStateRows adds the state rows at slots (found for probe key rows at)
// to m.
func (s *sessionSave) addStateRows(mem memory.Allocator, store *state.Store, m *exec.SessionMerger, probe []arrow.Array, slots []uint32, at []int32) error {
	vals, err := store.Values(mem, slots)
	if err != nil {
		return err
	}
	defer exec.ReleaseArrays(vals)
	var keys []arrow.Array
	if len(s.op.otherTypes) > 0 {
		if keys, err = takeCols(mem, probe[:len(probe)-1], at); err != nil {
			return err
		}
		defer exec.ReleaseArrays(keys)
	}
	sess, err := array.NewStructArrayWithFieldsAndNulls(vals[:2], fn.WindowType.Fields(), nil, 0, 0)
	if err != nil {
		return err
	}
	defer sess.Release()
	return m.AddStates(keys, sess, vals[2:])
}

// storeKeys builds store keys for (group, session index) pairs.
func (s *sessionSave) storeKeys(mem memory.Allocator, m *exec.SessionMerger, gids []uint32, idx []int32) ([]arrow.Array, error) {
	var ks []arrow.Array
	if len(s.op.otherTypes) == 0 {
		ks = []arrow.Array{array.MakeArrayOfNull(mem, arrow.Null, len(gids))}
	} else {
		var err error
		if ks, err = m.GroupKeys(mem, gids); err != nil {
			return nil, err
		}
	}
	b := array.NewInt32Builder(mem)
	defer b.Release()
	b.AppendValues(idx, nil)
	return append(ks, b.NewArray()), nil
}

// write puts the listed sessions at their new indexes.
func (s *sessionSave) write(mem memory.Allocator, store *state.Store, m *exec.SessionMerger, sel []uint32, idx []int32) error {
	if len(sel) == 0 {
		return nil
	}
	gids := make([]uint32, len(sel))
	for i, sn := range sel {
		gids[i], _, _ = m.Session(int(sn))
	}
	keys, err := s.storeKeys(mem, m, gids, idx)
	if err != nil {
		return err
	}
	defer exec.ReleaseArrays(keys)
	other, sess, states, err := m.Emit(mem, sel, true)
	if err != nil {
		return err
	}
	exec.ReleaseArrays(other)
	defer sess.Release()
	defer exec.ReleaseArrays(states)
	st := sess.(*array.Struct)
	vals := append([]arrow.Array{st.Field(0), st.Field(1)}, states...)
	if err := store.Put(keys, vals); err != nil {
		return err
	}
	s.op.stats.updated.Add(int64(len(sel)))
	return nil
}

// emit computes the output rows (the buffer layout) of the listed sessions.
func (s *sessionSave) emit(mem memory.Allocator, m *exec.SessionMerger, sel []uint32) (arrow.RecordBatch, error) {
	keys, sess, aggs, err := m.Emit(mem, sel, false)
	if err != nil {
		return nil, err
	}
	cols := exec.SessionLayout(keys, sess, aggs, s.op.key)
	defer exec.ReleaseArrays(cols)
	n := m.NumSessions()
	if sel != nil {
		n = len(sel)
	}
	return array.NewRecordBatch(s.schema, cols, int64(n)), nil
}

// table computes the output rows of every session in the store.
func (s *sessionSave) table(mem memory.Allocator, batchRows int, store *state.Store) (arrow.RecordBatch, error) {
	m, err := exec.NewSessionMerger(mem, s.op.otherTypes, s.agg.Aggs)
	if err != nil {
		return nil, err
	}
	defer m.Release()
	err = store.Scan(mem, batchRows, func(_ []uint32, keys, values []arrow.Array) error {
		var other []arrow.Array
		if len(s.op.otherTypes) > 0 {
			other = keys[:len(keys)-1]
		}
		sess, err := array.NewStructArrayWithFieldsAndNulls(values[:2], fn.WindowType.Fields(), nil, 0, 0)
		if err != nil {
			return err
		}
		defer sess.Release()
		return m.AddStates(other, sess, values[2:])
	})
	if err != nil {
		return nil, err
	}
	if err := m.Merge(); err != nil {
		return nil, err
	}
	return s.emit(mem, m, nil)
}

// otherCols drops the session column from the grouping columns.
func otherCols(groups []arrow.Array, key int) []arrow.Array {
	out := make([]arrow.Array, 0, len(groups)-1)
	out = append(out, groups[:key]...)
	return append(out, groups[key+1:]...)
}

// keySet is the distinct tuples of the other keys (with none, whether
// any row was seen).
type keySet struct {
	g    exec.Grouper
	seen bool
	gids []uint32
}

func newKeySet(mem memory.Allocator, types []arrow.DataType) (*keySet, error) {
	if len(types) == 0 {
		return &keySet{}, nil
	}
	g, err := exec.NewGrouper(types, mem)
	if err != nil {
		return nil, err
	}
	return &keySet{g: g}, nil
}

func (k *keySet) add(cols []arrow.Array, n int) error {
	if n == 0 {
		return nil
	}
	if k.g == nil {
		k.seen = true
		return nil
	}
	if cap(k.gids) < n {
		k.gids = make([]uint32, n)
	}
	return k.g.Insert(cols, k.gids[:n])
}

func (k *keySet) len() int {
	if k.g == nil {
		if k.seen {
			return 1
		}
		return 0
	}
	return k.g.Len()
}

func (k *keySet) keys(mem memory.Allocator) ([]arrow.Array, error) {
	if k.g == nil {
		return nil, nil
	}
	return k.g.Keys(mem, nil)
}

func (k *keySet) release() {
	if k.g != nil {
		k.g.Release()
	}
}

// takeCols gathers rows idx of columns; the caller releases the result.
func takeCols(mem memory.Allocator, cols []arrow.Array, idx []int32) ([]arrow.Array, error) {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: fmt.Sprintf("c%d", i), Type: c.DataType(), Nullable: true}
	}
	n := int64(0)
	if len(cols) > 0 {
		n = int64(cols[0].Len())
	}
	all := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, n)
	defer all.Release()
	sub, err := exec.TakeBatch(mem, all, idx)
	if err != nil {
		return nil, err
	}
	defer sub.Release()
	out := make([]arrow.Array, len(cols))
	for i := range out {
		out[i] = sub.Column(i)
		out[i].Retain()
	}
	return out, nil
}

func int32Const(mem memory.Allocator, v int32, n int) arrow.Array {
	b := array.NewInt32Builder(mem)
	defer b.Release()
	b.Reserve(n)
	for i := 0; i < n; i++ {
		b.UnsafeAppend(v)
	}
	return b.NewArray()
}

func (op *sessionOperator) stateStore() *state.Operator { return op.store }
