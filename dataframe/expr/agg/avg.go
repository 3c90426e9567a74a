package agg

import (
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

var avgFunc = &expr.AggFunction{
	Name:    "avg",
	Aliases: []string{"mean"},
	MinArgs: 1, MaxArgs: 1,
	Usage: "avg([DISTINCT] numeric_expr)",
}

func init() { avgFunc.Bind = bindAvg }

// bindAvg follows Spark's Average: numbers are summed as double with a
// bigint count; decimal(p,s) sums in decimal(p+10,s) and returns
// decimal(p+4,s+4) (capped at 38), rounded half up.
func bindAvg(args []expr.Arg, distinct bool) (*expr.AggBinding, error) {
	if err := checkArity(avgFunc, args); err != nil {
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
	case expr.IsInteger(dt) || isUnsigned(dt) || expr.IsFloating(dt):
		newAcc := avgFor(dt)
		b = &expr.AggBinding{Type: expr.Float64, Nullable: true, Cast: cast, State: avgState, New: newAcc}
	case dt.ID() == arrow.DECIMAL128:
		in := dt.(*arrow.Decimal128Type)
		sumT := &arrow.Decimal128Type{Precision: min(38, in.Precision+10), Scale: in.Scale}
		out := &arrow.Decimal128Type{Precision: min(38, in.Precision+4), Scale: min(38, in.Scale+4)}
		state := []arrow.Field{{Name: "sum", Type: sumT, Nullable: true}, {Name: "count", Type: expr.Int64}}
		b = &expr.AggBinding{Type: out, Nullable: true, Cast: cast, State: state,
			New: func(mem memory.Allocator) expr.Accumulator { return newAvgDecimal(mem, sumT, out, state) }}
	default:
		return nil, argTypeErr("avg", 0, "a numeric type", dt)
	}
	if distinct {
		return withDistinct("avg", []arrow.DataType{dt}, b)
	}
	return b, nil
}

var avgState = []arrow.Field{{Name: "sum", Type: expr.Float64}, {Name: "count", Type: expr.Int64}}

func avgFor(dt arrow.DataType) func(memory.Allocator) expr.Accumulator {
	switch dt.ID() {
	case arrow.INT8:
		return func(mem memory.Allocator) expr.Accumulator { return newAvg[int8](mem) }
	case arrow.INT16:
		return func(mem memory.Allocator) expr.Accumulator { return newAvg[int16](mem) }
	case arrow.INT32:
		return func(mem memory.Allocator) expr.Accumulator { return newAvg[int32](mem) }
	case arrow.UINT8:
		return func(mem memory.Allocator) expr.Accumulator { return newAvg[uint8](mem) }
	case arrow.UINT16:
		return func(mem memory.Allocator) expr.Accumulator { return newAvg[uint16](mem) }
	case arrow.UINT32:
		return func(mem memory.Allocator) expr.Accumulator { return newAvg[uint32](mem) }
	case arrow.UINT64:
		return func(mem memory.Allocator) expr.Accumulator { return newAvg[uint64](mem) }
	case arrow.FLOAT32:
		return func(mem memory.Allocator) expr.Accumulator { return newAvg[float32](mem) }
	case arrow.FLOAT64:
		return func(mem memory.Allocator) expr.Accumulator { return newAvg[float64](mem) }
	}
	return func(mem memory.Allocator) expr.Accumulator { return newAvg[int64](mem) }
}

// avgNum keeps a double sum and a count per group.
type avgNum[T number] struct {
	sum vec[float64]
	cnt vec[int64]
}

func newAvg[T number](mem memory.Allocator) *avgNum[T] {
	return &avgNum[T]{sum: newVec[float64](mem), cnt: newVec[int64](mem)}
}

func (a *avgNum[T]) Resize(n int) {
	if n > a.sum.len() {
		a.sum.resize(n)
		a.cnt.resize(n)
	}
}

func (a *avgNum[T]) Update(args []arrow.Array, gids []uint32) error {
	if err := checkArgs("avg", args, 1, gids); err != nil {
		return err
	}
	vals := fixedValues[T](args[0])
	bm, off := nullBits(args[0])
	sum, cnt := a.sum.s, a.cnt.s
	if bm == nil {
		for i, g := range gids {
			if g == expr.NoGroup {
				continue
			}
			sum[g] += float64(vals[i])
			cnt[g]++
		}
		return nil
	}
	for i, g := range gids {
		if g == expr.NoGroup || !bitSet(bm, off+i) {
			continue
		}
		sum[g] += float64(vals[i])
		cnt[g]++
	}
	return nil
}

func (a *avgNum[T]) MergeState(state []arrow.Array, gids []uint32) error {
	if err := checkState("avg", state, avgState, gids); err != nil {
		return err
	}
	sums, cnts := fixedValues[float64](state[0]), fixedValues[int64](state[1])
	sb, so := nullBits(state[0])
	cb, co := nullBits(state[1])
	sum, cnt := a.sum.s, a.cnt.s
	for i, g := range gids {
		if g == expr.NoGroup || (sb != nil && !bitSet(sb, so+i)) || (cb != nil && !bitSet(cb, co+i)) {
			continue
		}
		sum[g] += sums[i]
		cnt[g] += cnts[i]
	}
	return nil
}

func (a *avgNum[T]) State(mem memory.Allocator, n int, sel []uint32) ([]arrow.Array, error) {
	if err := checkEmit("avg", n, a.sum.len(), sel); err != nil {
		return nil, err
	}
	return []arrow.Array{
		emitFixed(mem, expr.Float64, a.sum.s, nil, n, sel),
		emitFixed(mem, expr.Int64, a.cnt.s, nil, n, sel),
	}, nil
}

func (a *avgNum[T]) Result(mem memory.Allocator, n int, sel []uint32) (arrow.Array, error) {
	if err := checkEmit("avg", n, a.sum.len(), sel); err != nil {
		return nil, err
	}
	m := outLen(n, sel)
	out := make([]float64, m)
	valid := make([]uint8, m)
	for j := range out {
		g := groupAt(sel, j)
		if c := a.cnt.s[g]; c > 0 {
			out[j] = a.sum.s[g] / float64(c)
			valid[j] = 1
		}
	}
	return emitFixed(mem, expr.Float64, out, valid, m, nil), nil
}

func (a *avgNum[T]) Reset() {
	clear(a.sum.s)
	clear(a.cnt.s)
}

func (a *avgNum[T]) Release() {
	a.sum.release()
	a.cnt.release()
}

// avgDecimal keeps a decimal sum (NULL for good after an overflow) and a
// count per group.
type avgDecimal struct {
	sumT, out *arrow.Decimal128Type
	state     []arrow.Field
	bound     decimal128.Num
	sum       vec[decimal128.Num]
	cnt       vec[int64]
	ovf       vec[uint8]
}

func newAvgDecimal(mem memory.Allocator, sumT, out *arrow.Decimal128Type, state []arrow.Field) *avgDecimal {
	return &avgDecimal{sumT: sumT, out: out, state: state, bound: decimal128.GetScaleMultiplier(int(sumT.Precision)),
		sum: newVec[decimal128.Num](mem), cnt: newVec[int64](mem), ovf: newVec[uint8](mem)}
}

func (a *avgDecimal) Resize(n int) {
	if n > a.sum.len() {
		a.sum.resize(n)
		a.cnt.resize(n)
		a.ovf.resize(n)
	}
}

func (a *avgDecimal) Update(args []arrow.Array, gids []uint32) error {
	if err := checkArgs("avg", args, 1, gids); err != nil {
		return err
	}
	vals := fixedValues[decimal128.Num](args[0])
	bm, off := nullBits(args[0])
	sum, cnt, ovf := a.sum.s, a.cnt.s, a.ovf.s
	for i, g := range gids {
		if g == expr.NoGroup || (bm != nil && !bitSet(bm, off+i)) {
			continue
		}
		cnt[g]++
		if ovf[g] != 0 {
			continue
		}
		r, ok := addDec(sum[g], vals[i], a.bound)
		sum[g] = r
		if !ok {
			ovf[g] = 1
		}
	}
	return nil
}

func (a *avgDecimal) MergeState(state []arrow.Array, gids []uint32) error {
	if err := checkState("avg", state, a.state, gids); err != nil {
		return err
	}
	vals, cnts := fixedValues[decimal128.Num](state[0]), fixedValues[int64](state[1])
	sb, so := nullBits(state[0])
	cb, co := nullBits(state[1])
	sum, cnt, ovf := a.sum.s, a.cnt.s, a.ovf.s
	for i, g := range gids {
		if g == expr.NoGroup || (cb != nil && !bitSet(cb, co+i)) || cnts[i] == 0 {
			continue
		}
		cnt[g] += cnts[i]
		if sb != nil && !bitSet(sb, so+i) {
			ovf[g] = 1
		}
		if ovf[g] != 0 {
			continue
		}
		r, ok := addDec(sum[g], vals[i], a.bound)
		sum[g] = r
		if !ok {
			ovf[g] = 1
		}
	}
	return nil
}

func (a *avgDecimal) State(mem memory.Allocator, n int, sel []uint32) ([]arrow.Array, error) {
	if err := checkEmit("avg", n, a.sum.len(), sel); err != nil {
		return nil, err
	}
	valid := make([]uint8, len(a.ovf.s))
	for g, o := range a.ovf.s {
		valid[g] = 1 - o
	}
	return []arrow.Array{
		emitFixed(mem, a.sumT, a.sum.s, valid, n, sel),
		emitFixed(mem, expr.Int64, a.cnt.s, nil, n, sel),
	}, nil
}

func (a *avgDecimal) Result(mem memory.Allocator, n int, sel []uint32) (arrow.Array, error) {
	if err := checkEmit("avg", n, a.sum.len(), sel); err != nil {
		return nil, err
	}
	m := outLen(n, sel)
	out := make([]decimal128.Num, m)
	valid := make([]uint8, m)
	up := a.out.Scale - a.sumT.Scale
	for j := range out {
		g := groupAt(sel, j)
		if a.cnt.s[g] == 0 || a.ovf.s[g] != 0 {
			continue
		}
		if q, ok := divRound(a.sum.s[g], up, uint64(a.cnt.s[g])); ok && q.FitsInPrecision(a.out.Precision) {
			out[j], valid[j] = q, 1
		}
	}
	return emitFixed(mem, a.out, out, valid, m, nil), nil
}

// divRound computes round_half_up(x * 10^up / d) exactly: the 128-bit
// magnitude is widened to 192 bits so scaling never overflows.
func divRound(x decimal128.Num, up int32, d uint64) (decimal128.Num, bool) {
	neg := x.Sign() < 0
	if neg {
		x = x.Negate()
	}
	lo, hi := x.LowBits(), uint64(x.HighBits())
	mul := uint64(1)
	for i := int32(0); i < up; i++ {
		mul *= 10
	}
	h1, w0 := bits.Mul64(lo, mul)
	h2, l2 := bits.Mul64(hi, mul)
	w1, c := bits.Add64(h1, l2, 0)
	w2 := h2 + c
	q2, r := bits.Div64(0, w2, d)
	q1, r := bits.Div64(r, w1, d)
	q0, r := bits.Div64(r, w0, d)
	if r >= d-r {
		var c uint64
		q0, c = bits.Add64(q0, 1, 0)
		q1, c = bits.Add64(q1, 0, c)
		q2 += c
	}
	if q2 != 0 || q1 >= 1<<63 {
		return decimal128.Num{}, false
	}
	q := decimal128.New(int64(q1), q0)
	if neg {
		q = q.Negate()
	}
	return q, true
}

func (a *avgDecimal) Reset() {
	clear(a.sum.s)
	clear(a.cnt.s)
	clear(a.ovf.s)
}

func (a *avgDecimal) Release() {
	a.sum.release()
	a.cnt.release()
	a.ovf.release()
}
