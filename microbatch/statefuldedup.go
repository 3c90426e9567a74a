package microbatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/exec"
	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/plan"
	"github.com/sluicehq/sluice/microbatch/state"
	"github.com/sluicehq/sluice/sinks"
)

// Streaming deduplication (Spark's StreamingDeduplicateExec and
// StreamingDeduplicateWithinWatermarkExec). The state maps each key tuple
// seen to nothing, or, within a watermark, to the event time of the row
// that first had it; a row is emitted when its key is new.
//
//   - DropDuplicates(cols), no watermark: the state grows forever.
//   - With a watermark on the input, rows whose event time is at or below
//     it are late: dropped before deduplication and counted
//     (numRowsDroppedByWatermark), also when the event time is not a key.
//     When an event-time column (or a window over one) is among the keys,
//     a key whose event time (window: end) is at or below the watermark is
//     evicted: no later row can repeat it without being late.
//   - DropDuplicatesWithinWatermark: the keys need not hold the event time;
//     a key is forgotten once the watermark reaches its first row's event
//     time plus the watermark's delay. It needs a watermark.
//
// "At or below" is Spark's rule (WatermarkSupport: event time <=
// watermark); the batch's rows are deduplicated before the eviction, as
// in Spark.
//
// "First" is the first row in a fixed order of the batch (the input's
// partitions one after another), so a replayed batch emits and stores the
// same rows.
type dedupOperator struct {
	id     int
	nparts int
	within bool
	// delayUs is the watermark delay that bounds a key's life within the
	// watermark.
	delayUs int64
	name    string
	store   *state.Operator
	stats   dedupStats
}

type dedupStats struct {
	dropped atomic.Int64 // late rows dropped at the input
	updated atomic.Int64 // keys added
	removed atomic.Int64 // keys evicted
}

func wantsDedup(n plan.Node) bool {
	d, ok := n.(*plan.Deduplicate)
	return ok && plan.IsStreaming(d.Child)
}

// checkDedup refuses, at Start, a DropDuplicatesWithinWatermark that has
// no watermark to bound its state. Complete mode is refused by Check (no
// aggregation).
func checkDedup(n plan.Node, _ sinks.OutputMode) error {
	d := n.(*plan.Deduplicate)
	if d.WithinWatermark && dedupEventCol(d.Child) < 0 {
		return fmt.Errorf("%w: DropDuplicatesWithinWatermark on a streaming DataFrame needs a watermark: it forgets a key once the watermark reaches the key's event time plus the delay. Add WithWatermark(\"<event-time column>\", \"<delay>\") before it, or use DropDuplicates to keep every key forever", plan.ErrUnsupported)
	}
	return nil
}

func openDedup(ctx context.Context, env opEnv, n plan.Node) (statefulOp, error) {
	d := n.(*plan.Deduplicate)
	lay, err := dedupLayoutOf(d)
	if err != nil {
		return nil, err
	}
	op := &dedupOperator{id: d.StateID, nparts: env.nparts, within: d.WithinWatermark, name: "dedupe"}
	keyFields := make([]arrow.Field, len(lay.keys))
	for i, k := range lay.keys {
		keyFields[i] = arrow.Field{Name: expr.Name(k), Type: k.DataType(), Nullable: true}
	}
	valFields := []arrow.Field{}
	if d.WithinWatermark {
		if lay.eventCol < 0 {
			return nil, fmt.Errorf("%w: DropDuplicatesWithinWatermark needs a watermark on its input", ErrQuery)
		}
		op.name = "dedupeWithinWatermark"
		op.delayUs = dedupDelay(d.Child, d.Child.Output()[lay.eventCol].Name).Microseconds()
		valFields = append(valFields, arrow.Field{Name: "event_time", Type: expr.Timestamp, Nullable: true})
	}
	opts := state.Options{Mem: env.mem, Clock: env.clock}
	if !d.WithinWatermark && lay.eventKey >= 0 {
		// The store finds the keys the watermark passed without a scan.
		opts.EventTime = dedupKeyTime(lay.eventKey)
	}
	fsys, dir := env.ck.StateLocation()
	so, err := state.OpenOperator(ctx, fsys, dir, state.OperatorSpec{
		ID: d.StateID, Name: "dedup", NumPartitions: env.nparts,
		Stores: []state.StoreSpec{{Key: arrow.NewSchema(keyFields, nil), Value: arrow.NewSchema(valFields, nil)}},
	}, opts)
	if err != nil {
		return nil, err
	}
	op.store = so
	return op, nil
}

// dedupLayout is where, in one batch's optimised node, the keys and the
// event time are.
type dedupLayout struct {
	keys []expr.Typed
	// eventCol is the child's event-time column (-1: no watermark); rows
	// older than the watermark there are late.
	eventCol int
	// eventKey is the key that carries the event time (-1: none); keys
	// below the watermark are evicted by it.
	eventKey int
}

func dedupLayoutOf(d *plan.Deduplicate) (dedupLayout, error) {
	lay := dedupLayout{eventCol: dedupEventCol(d.Child), eventKey: -1}
	keys := d.Keys
	if len(keys) == 0 {
		// No keys: every column, as exec.NewDedup.
		for i, a := range d.Child.Output() {
			keys = append(keys, plan.RefOf(a, i))
		}
	}
	for i, k := range keys {
		t, ok := k.(expr.Typed)
		if !ok {
			return lay, fmt.Errorf("%w: deduplication key %s is not resolved", ErrQuery, k)
		}
		lay.keys = append(lay.keys, t)
		if lay.eventKey < 0 && plan.IsEventTime(k) && isDedupTimeType(t.DataType()) {
			lay.eventKey = i
		}
	}
	return lay, nil
}

// dedupEventCol is the first column of n's output that a watermark
// applies to (a timestamp, or a window over one), or -1 (Spark: the first
// attribute with watermark metadata).
func dedupEventCol(n plan.Node) int {
	for i, a := range n.Output() {
		if a.EventTime && isDedupTimeType(a.Type) {
			return i
		}
	}
	return -1
}

// dedupTimes reads an event-time column: a timestamp's values, or a
// window struct's ends, as µs.
type dedupTimes struct {
	ts       *array.Timestamp
	vals     []arrow.Timestamp
	parent   arrow.Array // the window struct, whose NULL rows are NULL
	mul, div int64
}

func dedupTimesOf(col arrow.Array) (dedupTimes, error) {
	var e dedupTimes
	ts, parent, err := eventEnds(col)
	if err != nil {
		return e, err
	}
	e.ts, e.parent = ts, parent
	e.vals = e.ts.TimestampValues()
	e.mul, e.div = microsPer(e.ts.DataType().(*arrow.TimestampType).Unit)
	return e, nil
}

func (e dedupTimes) null(i int) bool {
	return e.ts.IsNull(i) || (e.parent != nil && e.parent.IsNull(i))
}

func (e dedupTimes) us(i int) int64 { return int64(e.vals[i]) * e.mul / e.div }

// isDedupTimeType: a timestamp, or a window struct ending in one.
func isDedupTimeType(dt arrow.DataType) bool {
	switch t := dt.(type) {
	case *arrow.TimestampType:
		return true
	case *arrow.StructType:
		return t.NumFields() > 0 && t.Field(t.NumFields()-1).Type.ID() == arrow.TIMESTAMP
	}
	return false
}

// dedupDelay is the delay of the watermark on column name below n (the
// largest delay when the column cannot be told apart, so a key is never
// forgotten too early).
func dedupDelay(n plan.Node, name string) time.Duration {
	var match, largest time.Duration
	found := false
	for _, w := range plan.Watermarks(n) {
		largest = max(largest, w.Delay)
		if w.Child.Output()[w.Column].Name == name {
			match = max(match, w.Delay)
			found = true
		}
	}
	if found {
		return match
	}
	return largest
}

func (op *dedupOperator) operator(n plan.Node, planChild func(plan.Node) (exec.Operator, error), b batchInfo) (exec.Operator, error) {
	d := n.(*plan.Deduplicate)
	lay, err := dedupLayoutOf(d)
	if err != nil {
		return nil, err
	}
	if op.within && lay.eventCol < 0 {
		return nil, fmt.Errorf("%w: DropDuplicatesWithinWatermark lost its watermark column", ErrQuery)
	}
	child, err := planChild(d.Child)
	if err != nil {
		return nil, err
	}
	return &dedupSave{op: op, child: child, lay: lay, b: b}, nil
}

func (op *dedupOperator) metrics() StateOperator {
	m := op.store.Metrics()
	return StateOperator{
		OperatorName: op.name, NumRowsTotal: m.NumRowsTotal,
		NumRowsUpdated: op.stats.updated.Swap(0), NumRowsRemoved: op.stats.removed.Swap(0),
		MemoryUsedBytes: m.MemoryUsedBytes, CommitTimeMs: m.CommitTimeMs,
		NumRowsDroppedByWatermark: op.stats.dropped.Swap(0), NumShufflePartitions: op.nparts,
	}
}

func (op *dedupOperator) close() { op.store.Close() }

// dedupSave runs one batch of the deduplication: the child's rows, late
// ones dropped, are routed by key hash to the state's partitions (in a
// fixed order, see dedupInput), and each partition keeps the rows whose
// key its store has not seen, then evicts and commits.
type dedupSave struct {
	op    *dedupOperator
	child exec.Operator
	lay   dedupLayout
	b     batchInfo
}

func (s *dedupSave) Schema() *arrow.Schema     { return s.child.Schema() }
func (s *dedupSave) Partitions() int           { return s.op.nparts }
func (s *dedupSave) Children() []exec.Operator { return []exec.Operator{s.child} }
func (s *dedupSave) String() string {
	name := "StreamingDeduplicate"
	if s.op.within {
		name = "StreamingDeduplicateWithinWatermark"
	}
	return fmt.Sprintf("%s [op=%d, batch=%d, watermark=%d]", name, s.op.id, s.b.batchID, s.b.watermarkUs/1000)
}

func (s *dedupSave) Execute(ctx context.Context, tc *exec.TaskContext, p int) (exec.Iterator, error) {
	if p < 0 || p >= s.op.nparts {
		return nil, fmt.Errorf("%w: %s has %d partitions, asked for %d", ErrQuery, s, s.op.nparts, p)
	}
	in := tc.Shared(s, func() any { return s.shuffle(ctx, tc) }).(*dedupInput)
	batches, err := in.take(p)
	if err != nil {
		return nil, err
	}
	out, err := s.run(ctx, tc, p, batches)
	if err != nil {
		return nil, err
	}
	return exec.NewOwnedIterator(out), nil
}

// dedupInput is a batch's input routed to the state partitions. Each
// child partition routes its own rows; partition p then reads child
// partition 0's share, then 1's, and so on, so the order (and with it
// which duplicate comes first) does not depend on goroutine timing, as a
// plain exchange's would.
type dedupInput struct {
	mu    sync.Mutex
	parts [][]arrow.RecordBatch
	taken []bool
	err   error
}

func (in *dedupInput) take(p int) ([]arrow.RecordBatch, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.err != nil {
		return nil, in.err
	}
	if in.taken[p] {
		return nil, fmt.Errorf("%w: deduplication partition %d executed twice in one batch", ErrQuery, p)
	}
	in.taken[p] = true
	mine := in.parts[p]
	in.parts[p] = nil
	return mine, nil
}

func (s *dedupSave) shuffle(ctx context.Context, tc *exec.TaskContext) *dedupInput {
	nsrc := s.child.Partitions()
	routed := make([][][]arrow.RecordBatch, nsrc)
	errs := make([]error, nsrc)
	var wg sync.WaitGroup
	for src := 0; src < nsrc; src++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			routed[src], errs[src] = s.route(ctx, tc, src)
		}()
	}
	wg.Wait()
	in := &dedupInput{parts: make([][]arrow.RecordBatch, s.op.nparts), taken: make([]bool, s.op.nparts)}
	if err := errors.Join(errs...); err != nil {
		for _, r := range routed {
			for _, bs := range r {
				exec.ReleaseBatches(bs)
			}
		}
		in.err = err
		return in
	}
	for _, r := range routed {
		for p, bs := range r {
			in.parts[p] = append(in.parts[p], bs...)
		}
	}
	return in
}

// route reads child partition src, drops late rows and splits the rest
// by key hash; it returns the batches of each state partition.
func (s *dedupSave) route(ctx context.Context, tc *exec.TaskContext, src int) ([][]arrow.RecordBatch, error) {
	nparts := s.op.nparts
	out := make([][]arrow.RecordBatch, nparts)
	fail := func(err error) ([][]arrow.RecordBatch, error) {
		for _, bs := range out {
			exec.ReleaseBatches(bs)
		}
		return nil, err
	}
	it, err := s.child.Execute(ctx, tc, src)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	ec := tc.EvalContext()
	var hashes []uint64
	idx := make([][]int32, nparts)
	for {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		b, err := it.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return fail(err)
		}
		n := int(b.NumRows())
		if n == 0 {
			b.Release()
			continue
		}
		late, err := s.lateRows(b)
		if err != nil {
			b.Release()
			return fail(err)
		}
		s.op.stats.dropped.Add(int64(late.count))
		if late.count == n {
			b.Release()
			continue
		}
		if nparts == 1 && late.count == 0 {
			out[0] = append(out[0], b)
			continue
		}
		for p := range idx {
			idx[p] = idx[p][:0]
		}
		if nparts == 1 {
			for i := 0; i < n; i++ {
				if !late.is(i) {
					idx[0] = append(idx[0], int32(i))
				}
			}
		} else {
			keys, err := evalDedupKeys(ec, s.lay.keys, b)
			if err != nil {
				b.Release()
				return fail(err)
			}
			if cap(hashes) < n {
				hashes = make([]uint64, n)
			}
			hashes = hashes[:n]
			err = exec.HashColumns(keys, hashes)
			exec.ReleaseArrays(keys)
			if err != nil {
				b.Release()
				return fail(err)
			}
			for i, h := range hashes {
				if !late.is(i) {
					p := int(h % uint64(nparts))
					idx[p] = append(idx[p], int32(i))
				}
			}
		}
		for p, rows := range idx {
			switch {
			case len(rows) == 0:
			case len(rows) == n:
				b.Retain()
				out[p] = append(out[p], b)
			default:
				t, err := exec.TakeBatch(tc.Mem, b, rows)
				if err != nil {
					b.Release()
					return fail(err)
				}
				out[p] = append(out[p], t)
			}
		}
		b.Release()
	}
}

// dedupLateMask marks the rows of a batch older than the watermark.
type dedupLateMask struct {
	late  []bool // nil: none
	count int
}

func (m dedupLateMask) is(i int) bool { return m.late != nil && m.late[i] }

// lateRows finds the rows whose event time (window: end) is at or below
// the batch's late watermark. A NULL event time is never late.
func (s *dedupSave) lateRows(b arrow.RecordBatch) (dedupLateMask, error) {
	if s.lay.eventCol < 0 || s.b.lateUs <= 0 {
		return dedupLateMask{}, nil
	}
	et, err := dedupTimesOf(b.Column(s.lay.eventCol))
	if err != nil {
		return dedupLateMask{}, err
	}
	var m dedupLateMask
	for i := range et.vals {
		if et.us(i) <= s.b.lateUs && !et.null(i) {
			if m.late == nil {
				m.late = make([]bool, len(et.vals))
			}
			m.late[i] = true
			m.count++
		}
	}
	return m, nil
}

func evalDedupKeys(ec *expr.EvalContext, keys []expr.Typed, b arrow.RecordBatch) ([]arrow.Array, error) {
	out := make([]arrow.Array, 0, len(keys))
	for _, k := range keys {
		c, err := expr.Eval(ec, k, b)
		if err != nil {
			exec.ReleaseArrays(out)
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// run deduplicates partition p's input against its store, evicts what the
// watermark expired and commits the store; it returns the new rows.
func (s *dedupSave) run(ctx context.Context, tc *exec.TaskContext, p int, in []arrow.RecordBatch) (out []arrow.RecordBatch, err error) {
	defer func() {
		exec.ReleaseBatches(in)
		if err != nil {
			exec.ReleaseBatches(out)
			out = nil
		}
	}()
	store, err := s.op.store.Store(p, "")
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
	ec := tc.EvalContext()
	for i, b := range in {
		kept, err := s.fresh(ec, tc.Mem, store, b)
		if err != nil {
			return out, err
		}
		in[i] = nil
		b.Release()
		if kept != nil {
			out = append(out, kept)
		}
	}
	if err := s.evict(tc, store); err != nil {
		return out, err
	}
	if _, err := store.Commit(ctx); err != nil {
		return out, err
	}
	committed = true
	return out, nil
}

// fresh adds b's keys to the store and returns the rows (of b, not owned)
// whose key it did not hold, or nil.
func (s *dedupSave) fresh(ec *expr.EvalContext, mem memory.Allocator, store *state.Store, b arrow.RecordBatch) (arrow.RecordBatch, error) {
	n := int(b.NumRows())
	keys, err := evalDedupKeys(ec, s.lay.keys, b)
	if err != nil {
		return nil, err
	}
	slots := make([]uint32, n)
	created := make([]bool, n)
	added, err := store.Insert(keys, slots, created)
	exec.ReleaseArrays(keys)
	if err != nil || added == 0 {
		return nil, err
	}
	s.op.stats.updated.Add(int64(added))
	sel := make([]int32, 0, added)
	newSlots := make([]uint32, 0, added)
	for i, c := range created {
		if c {
			sel = append(sel, int32(i))
			newSlots = append(newSlots, slots[i])
		}
	}
	if s.op.within {
		ts, err := dedupFirstTimes(mem, b.Column(s.lay.eventCol), sel)
		if err != nil {
			return nil, err
		}
		err = store.Set(newSlots, []arrow.Array{ts})
		ts.Release()
		if err != nil {
			return nil, err
		}
	}
	if added == n {
		b.Retain()
		return b, nil
	}
	return exec.TakeBatch(mem, b, sel)
}

// dedupFirstTimes gathers rows sel of an event-time column (a window: its
// end) as µs timestamps (the state's event_time column).
func dedupFirstTimes(mem memory.Allocator, col arrow.Array, sel []int32) (arrow.Array, error) {
	et, err := dedupTimesOf(col)
	if err != nil {
		return nil, err
	}
	bld := array.NewTimestampBuilder(mem, expr.Timestamp)
	defer bld.Release()
	bld.Reserve(len(sel))
	for _, r := range sel {
		if et.null(int(r)) {
			bld.UnsafeAppendBoolToBitmap(false)
			continue
		}
		bld.UnsafeAppend(arrow.Timestamp(et.us(int(r))))
	}
	return bld.NewArray(), nil
}

// evict removes the keys the batch's watermark expired: by the event-time
// key (the store keeps their times: no scan), or, within the watermark,
// by first event time + delay, which lives in the values and takes a scan
// of them, as in Spark (a NULL event time expires at the first eviction,
// as in Spark, where it reads as 0).
func (s *dedupSave) evict(tc *exec.TaskContext, store *state.Store) error {
	wm := s.b.watermarkUs
	if wm <= 0 {
		return nil
	}
	if !s.op.within {
		if s.lay.eventKey < 0 {
			return nil
		}
		removed, err := store.Expire(wm, tc.BatchSize, nil)
		s.op.stats.removed.Add(int64(removed))
		return err
	}
	var rm []uint32
	err := store.Scan(tc.Mem, tc.BatchSize, func(slots []uint32, _, values []arrow.Array) error {
		var err error
		rm, err = dedupExpired(rm, slots, values[0], wm-s.op.delayUs)
		return err
	})
	if err != nil || len(rm) == 0 {
		return err
	}
	removed, err := store.Remove(rm)
	s.op.stats.removed.Add(int64(removed))
	return err
}

// dedupExpired appends the slots whose first event time is at or below
// limit (watermark - delay), or NULL.
func dedupExpired(rm, slots []uint32, col arrow.Array, limitUs int64) ([]uint32, error) {
	ts, ok := col.(*array.Timestamp)
	if !ok {
		return rm, fmt.Errorf("%w: dedup state event_time is %s", ErrQuery, col.DataType())
	}
	for i, v := range ts.TimestampValues() {
		if ts.IsNull(i) || int64(v) <= limitUs {
			rm = append(rm, slots[i])
		}
	}
	return rm, nil
}

// dedupKeyTime is the store's EventTimeFunc for a dedup whose key k
// holds the event time: the timestamp, or a window's end, in µs; the
// store's Expire(watermark) removes a key once its time is at or below
// the watermark. NULL never expires.
func dedupKeyTime(k int) state.EventTimeFunc {
	return func(keys []arrow.Array, rows []int, out []int64) error {
		et, err := dedupTimesOf(keys[k])
		if err != nil {
			return err
		}
		at := func(i int) int64 {
			if et.null(i) {
				return state.NoEventTime
			}
			return et.us(i)
		}
		if rows == nil {
			for i := range out {
				out[i] = at(i)
			}
			return nil
		}
		for j, r := range rows {
			out[j] = at(r)
		}
		return nil
	}
}

func (op *dedupOperator) stateStore() *state.Operator { return op.store }
