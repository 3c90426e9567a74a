package exec

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// AggMode is the phase of a two-phase aggregation.
type AggMode int

const (
	// AggComplete reads input rows and emits final values.
	AggComplete AggMode = iota
	// AggPartial reads input rows and emits keys ++ partial states.
	AggPartial
	// AggFinal reads keys ++ partial states and emits final values.
	AggFinal
)

var aggModeNames = []string{"Complete", "Partial", "Final"}

func (m AggMode) String() string { return aggModeNames[m] }

// HashAggregate groups rows by key expressions in an open-addressing table
// and folds each aggregate's arguments into flat accumulators. Output is
// the keys followed by one column per aggregate (final values, or the
// partial state columns in AggPartial mode).
//
// In AggFinal mode, keys are the first len(keys) input columns and the
// state columns of each aggregate follow in order.
type HashAggregate struct {
	child  Operator
	keys   []expr.Expr
	aggs   []*expr.AggCall
	mode   AggMode
	schema *arrow.Schema
}

// NewHashAggregate builds the operator; schema is its output schema.
func NewHashAggregate(child Operator, keys []expr.Expr, aggs []*expr.AggCall, mode AggMode, schema *arrow.Schema) *HashAggregate {
	return &HashAggregate{child: child, keys: keys, aggs: aggs, mode: mode, schema: schema}
}

// PartialSchema is the output of an AggPartial aggregate: key fields, then
// each aggregate's state fields.
func PartialSchema(keyFields []arrow.Field, aggs []*expr.AggCall) *arrow.Schema {
	fields := append([]arrow.Field(nil), keyFields...)
	for i, a := range aggs {
		for _, f := range a.Binding.State {
			f.Name = fmt.Sprintf("_agg%d_%s", i, f.Name)
			fields = append(fields, f)
		}
	}
	return arrow.NewSchema(fields, nil)
}

func (h *HashAggregate) Schema() *arrow.Schema { return h.schema }
func (h *HashAggregate) Partitions() int       { return h.child.Partitions() }
func (h *HashAggregate) Children() []Operator  { return []Operator{h.child} }
func (h *HashAggregate) String() string {
	aggs := make([]expr.Expr, len(h.aggs))
	for i, a := range h.aggs {
		aggs[i] = a
	}
	return fmt.Sprintf("HashAggregate(%s) keys=[%s], functions=[%s]", h.mode, exprList(h.keys), exprList(aggs))
}

func (h *HashAggregate) Execute(ctx context.Context, tc *TaskContext, p int) (Iterator, error) {
	in, err := h.child.Execute(ctx, tc, p)
	if err != nil {
		return nil, err
	}
	return &aggIter{h: h, ctx: ctx, tc: tc, in: in}, nil
}

type aggIter struct {
	h      *HashAggregate
	ctx    context.Context
	tc     *TaskContext
	in     Iterator
	out    arrow.RecordBatch // the whole result, emitted in slices
	pos    int64
	done   bool
	closed bool
}

func (it *aggIter) Next() (arrow.RecordBatch, error) {
	if !it.done {
		out, err := it.h.aggregate(it.ctx, it.tc, it.in)
		it.in.Close()
		it.done = true
		if err != nil {
			return nil, err
		}
		it.out = out
	}
	if it.out == nil || it.pos >= it.out.NumRows() {
		if it.out != nil && it.pos == 0 && it.out.NumRows() == 0 {
			it.pos = 1
			it.out.Retain()
			return it.out, nil
		}
		return nil, io.EOF
	}
	end := min(it.pos+int64(it.tc.BatchSize), it.out.NumRows())
	b := it.out.NewSlice(it.pos, end)
	it.pos = end
	return b, nil
}

func (it *aggIter) Close() {
	if !it.done {
		it.in.Close()
		it.done = true
	}
	if it.out != nil {
		it.out.Release()
		it.out = nil
	}
}

// aggregate consumes in and returns the full result batch.
func (h *HashAggregate) aggregate(ctx context.Context, tc *TaskContext, in Iterator) (arrow.RecordBatch, error) {
	st, err := NewAggState(tc.Mem, h.keyTypes(), h.aggs)
	if err != nil {
		return nil, err
	}
	defer st.Release()
	ec := tc.EvalContext()
	for {
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
		if h.mode == AggFinal {
			err = st.MergeBatch(b, len(h.keys))
		} else {
			err = st.UpdateBatch(ec, b, h.keys)
		}
		b.Release()
		if err != nil {
			return nil, err
		}
	}
	if len(h.keys) == 0 {
		st.EnsureGlobalGroup()
	}
	var cols []arrow.Array
	if h.mode == AggPartial {
		cols, err = st.EmitState(tc.Mem, nil)
	} else {
		cols, err = st.EmitFinal(tc.Mem, nil)
	}
	if err != nil {
		return nil, err
	}
	out := array.NewRecordBatch(h.schema, cols, int64(st.Len()))
	for _, c := range cols {
		c.Release()
	}
	return out, nil
}

func (h *HashAggregate) keyTypes() []arrow.DataType {
	out := make([]arrow.DataType, len(h.keys))
	for i, k := range h.keys {
		out[i] = k.(expr.Typed).DataType()
	}
	return out
}

// AggState is a hash table of groups with one accumulator per aggregate:
// the engine of batch aggregation and of streaming aggregation state.
type AggState struct {
	mem     memory.Allocator
	keys    Grouper
	aggs    []*expr.AggCall
	accs    []expr.Accumulator
	gids    []uint32
	global  bool
	nStates []int
	// globalSeen: the global group exists (input seen or forced).
	globalSeen bool
}

// NewAggState makes an empty state for the given key types and aggregates.
// With no key types every row belongs to the single global group.
func NewAggState(mem memory.Allocator, keyTypes []arrow.DataType, aggs []*expr.AggCall) (*AggState, error) {
	st := &AggState{mem: mem, aggs: aggs, global: len(keyTypes) == 0}
	if !st.global {
		g, err := NewGrouper(keyTypes, mem)
		if err != nil {
			return nil, err
		}
		st.keys = g
	}
	for _, a := range aggs {
		st.accs = append(st.accs, a.Binding.New(mem))
		st.nStates = append(st.nStates, len(a.Binding.State))
	}
	return st, nil
}

// Len is the number of groups.
func (st *AggState) Len() int {
	if st.global {
		if st.globalSeen {
			return 1
		}
		return 0
	}
	return st.keys.Len()
}

// EnsureGlobalGroup makes a global aggregation emit its one row even over
// empty input (count(*) of nothing is 0, as in SQL).
func (st *AggState) EnsureGlobalGroup() {
	st.globalSeen = true
	for _, a := range st.accs {
		a.Resize(1)
	}
}

// Groups assigns group ids to the rows of key columns (creating groups).
func (st *AggState) Groups(keys []arrow.Array, n int) ([]uint32, error) {
	if cap(st.gids) < n {
		st.gids = make([]uint32, n)
	}
	gids := st.gids[:n]
	if st.global {
		for i := range gids {
			gids[i] = 0
		}
		if n > 0 {
			st.globalSeen = true
		}
		return gids, nil
	}
	if err := st.keys.Insert(keys, gids); err != nil {
		return nil, err
	}
	return gids, nil
}

// UpdateBatch evaluates key and argument expressions over b and folds its
// rows into the state.
func (st *AggState) UpdateBatch(ec *expr.EvalContext, b arrow.RecordBatch, keyExprs []expr.Expr) error {
	n := int(b.NumRows())
	keys := make([]arrow.Array, len(keyExprs))
	defer releaseArrays(keys)
	for i, k := range keyExprs {
		c, err := expr.Eval(ec, k, b)
		if err != nil {
			return err
		}
		keys[i] = c
	}
	gids, err := st.Groups(keys, n)
	if err != nil {
		return err
	}
	groups := st.Len()
	for i, a := range st.aggs {
		args := make([]arrow.Array, len(a.Args))
		for j, e := range a.Args {
			c, err := expr.Eval(ec, e, b)
			if err != nil {
				releaseArrays(args)
				return err
			}
			args[j] = c
		}
		st.accs[i].Resize(groups)
		err := st.accs[i].Update(args, gids)
		releaseArrays(args)
		if err != nil {
			return fmt.Errorf("%s: %w", a, err)
		}
	}
	return nil
}

// MergeBatch folds a batch of keys ++ partial states (AggPartial output).
func (st *AggState) MergeBatch(b arrow.RecordBatch, nkeys int) error {
	cols := b.Columns()
	gids, err := st.Groups(cols[:nkeys], int(b.NumRows()))
	if err != nil {
		return err
	}
	groups := st.Len()
	pos := nkeys
	for i, a := range st.accs {
		a.Resize(groups)
		if err := a.MergeState(cols[pos:pos+st.nStates[i]], gids); err != nil {
			return fmt.Errorf("%s: %w", st.aggs[i], err)
		}
		pos += st.nStates[i]
	}
	return nil
}

// EmitFinal returns key columns then final values, for all groups (sel
// nil) or the listed ones.
func (st *AggState) EmitFinal(mem memory.Allocator, sel []uint32) ([]arrow.Array, error) {
	return st.emit(mem, sel, false)
}

// EmitState returns key columns then partial state columns.
func (st *AggState) EmitState(mem memory.Allocator, sel []uint32) ([]arrow.Array, error) {
	return st.emit(mem, sel, true)
}

func (st *AggState) emit(mem memory.Allocator, sel []uint32, state bool) ([]arrow.Array, error) {
	var out []arrow.Array
	fail := func(err error) ([]arrow.Array, error) {
		releaseArrays(out)
		return nil, err
	}
	n := st.Len()
	if !st.global {
		ks, err := st.keys.Keys(mem, sel)
		if err != nil {
			return fail(err)
		}
		out = append(out, ks...)
	}
	for _, a := range st.accs {
		a.Resize(n)
		if state {
			cs, err := a.State(mem, n, sel)
			if err != nil {
				return fail(err)
			}
			out = append(out, cs...)
		} else {
			c, err := a.Result(mem, n, sel)
			if err != nil {
				return fail(err)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// Release frees the table and accumulators.
func (st *AggState) Release() {
	if st.keys != nil {
		st.keys.Release()
	}
	for _, a := range st.accs {
		a.Release()
	}
}

// EmitKeys returns the key columns of all groups (sel nil) or the listed
// ones; none for a global aggregation.
func (st *AggState) EmitKeys(mem memory.Allocator, sel []uint32) ([]arrow.Array, error) {
	if st.global {
		return nil, nil
	}
	return st.keys.Keys(mem, sel)
}
