package agg

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

var sumFunc = &expr.AggFunction{
	Name:    "sum",
	MinArgs: 1, MaxArgs: 1,
	Usage: "sum([DISTINCT] numeric_expr)",
}

func init() { sumFunc.Bind = bindSum }

// integer types read as T and summed in int64 (wrapping, as Spark's
// non-ANSI sum).
type integer interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

type number interface {
	integer | ~float32 | ~float64
}

// bindSum follows Spark: integers sum to bigint (wrapping on overflow),
// floats to double, decimal(p,s) to decimal(min(38,p+10),s) (NULL on
// overflow). A NULL-typed argument sums as double. No non-NULL input: NULL.
func bindSum(args []expr.Arg, distinct bool) (*expr.AggBinding, error) {
	if err := checkArity(sumFunc, args); err != nil {
		return nil, err
	}
	dt := args[0].Type
	var cast []arrow.DataType
	if dt.ID() == arrow.NULL || dt.ID() == arrow.STRING {
		// Spark (non-ANSI) casts strings to double for sum and avg.
		dt, cast = expr.Float64, []arrow.DataType{expr.Float64}
	}
	var b *expr.AggBinding
	switch {
	case expr.IsInteger(dt) || isUnsigned(dt):
		newAcc, _ := intSumFor(dt)
		b = &expr.AggBinding{Type: expr.Int64, Nullable: true, Cast: cast,
			State: []arrow.Field{{Name: "sum", Type: expr.Int64, Nullable: true}},
			New:   newAcc}
	case expr.IsFloating(dt):
		newAcc := func(mem memory.Allocator) expr.Accumulator { return newSumFloat[float64](mem) }
		if dt.ID() == arrow.FLOAT32 {
			newAcc = func(mem memory.Allocator) expr.Accumulator { return newSumFloat[float32](mem) }
		}
		b = &expr.AggBinding{Type: expr.Float64, Nullable: true, Cast: cast,
			State: []arrow.Field{{Name: "sum", Type: expr.Float64, Nullable: true}},
			New:   newAcc}
	case dt.ID() == arrow.DECIMAL128:
		in := dt.(*arrow.Decimal128Type)
		out := &arrow.Decimal128Type{Precision: min(38, in.Precision+10), Scale: in.Scale}
		state := []arrow.Field{{Name: "sum", Type: out, Nullable: true}, {Name: "isEmpty", Type: expr.Boolean}}
		b = &expr.AggBinding{Type: out, Nullable: true, Cast: cast, State: state,
			New: func(mem memory.Allocator) expr.Accumulator { return newSumDecimal(mem, out, state) }}
	default:
		return nil, argTypeErr("sum", 0, "a numeric type", dt)
	}
	if distinct {
		return withDistinct("sum", []arrow.DataType{dt}, b)
	}
	return b, nil
}

func intSumFor(dt arrow.DataType) (func(memory.Allocator) expr.Accumulator, bool) {
	switch dt.ID() {
	case arrow.INT8:
		return func(mem memory.Allocator) expr.Accumulator { return newSumInt[int8](mem) }, true
	case arrow.INT16:
		return func(mem memory.Allocator) expr.Accumulator { return newSumInt[int16](mem) }, true
	case arrow.INT32:
		return func(mem memory.Allocator) expr.Accumulator { return newSumInt[int32](mem) }, true
	case arrow.INT64:
		return func(mem memory.Allocator) expr.Accumulator { return newSumInt[int64](mem) }, true
	case arrow.UINT8:
		return func(mem memory.Allocator) expr.Accumulator { return newSumInt[uint8](mem) }, true
	case arrow.UINT16:
		return func(mem memory.Allocator) expr.Accumulator { return newSumInt[uint16](mem) }, true
	case arrow.UINT32:
		return func(mem memory.Allocator) expr.Accumulator { return newSumInt[uint32](mem) }, true
	case arrow.UINT64:
		return func(mem memory.Allocator) expr.Accumulator { return newSumInt[uint64](mem) }, true
	}
	return nil, false
}

// sums is a per-group sum with a seen flag (NULL until the first value):
// the state of integer sums (S int64) and float sums (S float64).
type sums[S int64 | float64] struct {
	name  string
	dt    arrow.DataType
	state []arrow.Field
	sum   vec[S]
	seen  bitset
}

func (s *sums[S]) Resize(n int) {
	if n > s.sum.len() {
		s.sum.resize(n)
		s.seen.resize(n)
	}
}

func (s *sums[S]) MergeState(state []arrow.Array, gids []uint32) error {
	if err := checkState(s.name, state, s.state, gids); err != nil {
		return err
	}
	addColumn(s.sum.s, s.seen.w.s, fixedValues[S](state[0]), state[0], gids)
	return nil
}

// addColumn folds vals (the rows of column a) into sum by group.
func addColumn[S int64 | float64, T number](sum []S, seen []uint64, vals []T, a arrow.Array, gids []uint32) {
	bm, off := nullBits(a)
	if bm == nil {
		for i, g := range gids {
			if g == expr.NoGroup {
				continue
			}
			sum[g] += S(vals[i])
			seen[g>>6] |= 1 << (g & 63)
		}
		return
	}
	for i, g := range gids {
		if g == expr.NoGroup || !bitSet(bm, off+i) {
			continue
		}
		sum[g] += S(vals[i])
		seen[g>>6] |= 1 << (g & 63)
	}
}

func (s *sums[S]) State(mem memory.Allocator, n int, sel []uint32) ([]arrow.Array, error) {
	r, err := s.Result(mem, n, sel)
	if err != nil {
		return nil, err
	}
	return []arrow.Array{r}, nil
}

func (s *sums[S]) Result(mem memory.Allocator, n int, sel []uint32) (arrow.Array, error) {
	if err := checkEmit(s.name, n, s.sum.len(), sel); err != nil {
		return nil, err
	}
	return emitFixed(mem, s.dt, s.sum.s, s.seen.bytes(s.sum.len()), n, sel), nil
}

func (s *sums[S]) Reset() {
	clear(s.sum.s)
	s.seen.reset()
}

func (s *sums[S]) Release() {
	s.sum.release()
	s.seen.release()
}

type sumInt[T integer] struct{ sums[int64] }

func newSumInt[T integer](mem memory.Allocator) *sumInt[T] {
	return &sumInt[T]{sums[int64]{name: "sum", dt: expr.Int64,
		state: []arrow.Field{{Name: "sum", Type: expr.Int64, Nullable: true}},
		sum:   newVec[int64](mem), seen: newBitset(mem)}}
}

func (s *sumInt[T]) Update(args []arrow.Array, gids []uint32) error {
	if err := checkArgs(s.name, args, 1, gids); err != nil {
		return err
	}
	addColumn(s.sum.s, s.seen.w.s, fixedValues[T](args[0]), args[0], gids)
	return nil
}

type sumFloat[T ~float32 | ~float64] struct{ sums[float64] }

func newSumFloat[T ~float32 | ~float64](mem memory.Allocator) *sumFloat[T] {
	return &sumFloat[T]{sums[float64]{name: "sum", dt: expr.Float64,
		state: []arrow.Field{{Name: "sum", Type: expr.Float64, Nullable: true}},
		sum:   newVec[float64](mem), seen: newBitset(mem)}}
}

func (s *sumFloat[T]) Update(args []arrow.Array, gids []uint32) error {
	if err := checkArgs(s.name, args, 1, gids); err != nil {
		return err
	}
	addColumn(s.sum.s, s.seen.w.s, fixedValues[T](args[0]), args[0], gids)
	return nil
}

// sumDecimal keeps a 128-bit sum per group. Like Spark's hash aggregate,
// a sum that no longer fits the result precision becomes NULL for good
// (ovf); the state carries that as a NULL sum with isEmpty false.
type sumDecimal struct {
	dt    *arrow.Decimal128Type
	state []arrow.Field
	bound decimal128.Num // 10^precision
	sum   vec[decimal128.Num]
	seen  vec[uint8]
	ovf   vec[uint8]
}

func newSumDecimal(mem memory.Allocator, dt *arrow.Decimal128Type, state []arrow.Field) *sumDecimal {
	return &sumDecimal{dt: dt, state: state, bound: decimal128.GetScaleMultiplier(int(dt.Precision)),
		sum: newVec[decimal128.Num](mem), seen: newVec[uint8](mem), ovf: newVec[uint8](mem)}
}

func (s *sumDecimal) Resize(n int) {
	if n > s.sum.len() {
		s.sum.resize(n)
		s.seen.resize(n)
		s.ovf.resize(n)
	}
}

// addDec adds v to a, reporting false when the 128-bit addition overflows
// or the result needs more than the precision bound allows.
func addDec(a, v, bound decimal128.Num) (decimal128.Num, bool) {
	r := a.Add(v)
	if (a.HighBits()^r.HighBits())&(v.HighBits()^r.HighBits()) < 0 {
		return r, false
	}
	if r.HighBits() < 0 {
		return r, r.Negate().Less(bound)
	}
	return r, r.Less(bound)
}

func (s *sumDecimal) add(vals []decimal128.Num, a arrow.Array, gids []uint32) {
	bm, off := nullBits(a)
	sum, seen, ovf := s.sum.s, s.seen.s, s.ovf.s
	for i, g := range gids {
		if g == expr.NoGroup || (bm != nil && !bitSet(bm, off+i)) {
			continue
		}
		seen[g] = 1
		if ovf[g] != 0 {
			continue
		}
		r, ok := addDec(sum[g], vals[i], s.bound)
		sum[g] = r
		if !ok {
			ovf[g] = 1
		}
	}
}

func (s *sumDecimal) Update(args []arrow.Array, gids []uint32) error {
	if err := checkArgs("sum", args, 1, gids); err != nil {
		return err
	}
	s.add(fixedValues[decimal128.Num](args[0]), args[0], gids)
	return nil
}

func (s *sumDecimal) MergeState(state []arrow.Array, gids []uint32) error {
	if err := checkState("sum", state, s.state, gids); err != nil {
		return err
	}
	s.add(fixedValues[decimal128.Num](state[0]), state[0], gids)
	markOverflow(state[0], state[1], gids, s.seen.s, s.ovf.s)
	return nil
}

// markOverflow folds partial states whose value is NULL although they saw
// input (isEmpty false): an overflow upstream.
func markOverflow(val, isEmpty arrow.Array, gids []uint32, seen, ovf []uint8) {
	bm, off := nullBits(val)
	if bm == nil {
		return
	}
	empty := boolBytes(isEmpty, nil)
	for i, g := range gids {
		if g == expr.NoGroup || bitSet(bm, off+i) || empty[i] != 0 {
			continue
		}
		seen[g], ovf[g] = 1, 1
	}
}

// valid is seen && !ovf, per group (a fresh slice).
func validNoOverflow(seen, ovf []uint8) []uint8 {
	v := make([]uint8, len(seen))
	for g := range v {
		v[g] = seen[g] &^ ovf[g]
	}
	return v
}

func (s *sumDecimal) State(mem memory.Allocator, n int, sel []uint32) ([]arrow.Array, error) {
	if err := checkEmit("sum", n, s.sum.len(), sel); err != nil {
		return nil, err
	}
	empty := make([]uint8, len(s.seen.s))
	for g, v := range s.seen.s {
		empty[g] = 1 - v
	}
	return []arrow.Array{
		emitFixed(mem, s.dt, s.sum.s, validNoOverflow(s.seen.s, s.ovf.s), n, sel),
		emitBool(mem, empty, nil, n, sel),
	}, nil
}

func (s *sumDecimal) Result(mem memory.Allocator, n int, sel []uint32) (arrow.Array, error) {
	if err := checkEmit("sum", n, s.sum.len(), sel); err != nil {
		return nil, err
	}
	return emitFixed(mem, s.dt, s.sum.s, validNoOverflow(s.seen.s, s.ovf.s), n, sel), nil
}

func (s *sumDecimal) Reset() {
	clear(s.sum.s)
	clear(s.seen.s)
	clear(s.ovf.s)
}

func (s *sumDecimal) Release() {
	s.sum.release()
	s.seen.release()
	s.ovf.release()
}
