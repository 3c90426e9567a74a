package agg

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// The second-moment aggregates keep Spark's CentralMomentAgg buffer
// (n, avg, m2): Welford's update per row and Chan et al.'s pairwise
// formula to merge partial states, both numerically stable.

type momentResult uint8

const (
	varSamp momentResult = iota
	varPop
	stddevSamp
	stddevPop
)

var (
	stddevSampFunc = &expr.AggFunction{Name: "stddev_samp", Aliases: []string{"stddev", "std"}, MinArgs: 1, MaxArgs: 1, Usage: "stddev_samp(numeric_expr)"}
	stddevPopFunc  = &expr.AggFunction{Name: "stddev_pop", MinArgs: 1, MaxArgs: 1, Usage: "stddev_pop(numeric_expr)"}
	varSampFunc    = &expr.AggFunction{Name: "var_samp", Aliases: []string{"variance"}, MinArgs: 1, MaxArgs: 1, Usage: "var_samp(numeric_expr)"}
	varPopFunc     = &expr.AggFunction{Name: "var_pop", MinArgs: 1, MaxArgs: 1, Usage: "var_pop(numeric_expr)"}
)

func init() {
	for f, r := range map[*expr.AggFunction]momentResult{stddevSampFunc: stddevSamp, stddevPopFunc: stddevPop, varSampFunc: varSamp, varPopFunc: varPop} {
		f, r := f, r
		f.Bind = func(args []expr.Arg, distinct bool) (*expr.AggBinding, error) {
			return bindMoment(f, r, args, distinct)
		}
	}
}

var momentState = []arrow.Field{{Name: "n", Type: expr.Float64}, {Name: "avg", Type: expr.Float64}, {Name: "m2", Type: expr.Float64}}

// bindMoment: the result is a double; decimals are cast to double first (as
// Spark does). A sample statistic of one row is NULL (Spark 3's default,
// spark.sql.legacy.statisticalAggregate=false).
func bindMoment(f *expr.AggFunction, res momentResult, args []expr.Arg, distinct bool) (*expr.AggBinding, error) {
	if err := checkArity(f, args); err != nil {
		return nil, err
	}
	dt := args[0].Type
	var cast []arrow.DataType
	switch {
	case expr.IsInteger(dt) || isUnsigned(dt) || expr.IsFloating(dt):
	case dt.ID() == arrow.DECIMAL128 || dt.ID() == arrow.NULL || dt.ID() == arrow.STRING:
		dt, cast = expr.Float64, []arrow.DataType{expr.Float64}
	default:
		return nil, argTypeErr(f.Name, 0, "a numeric type", dt)
	}
	newAcc := momentsFor(f.Name, dt, res)
	b := &expr.AggBinding{Type: expr.Float64, Nullable: true, Cast: cast, State: momentState, New: newAcc}
	if distinct {
		return withDistinct(f.Name, []arrow.DataType{dt}, b)
	}
	return b, nil
}

func momentsFor(name string, dt arrow.DataType, res momentResult) func(memory.Allocator) expr.Accumulator {
	switch dt.ID() {
	case arrow.INT8:
		return func(mem memory.Allocator) expr.Accumulator { return newMoments[int8](mem, name, res) }
	case arrow.INT16:
		return func(mem memory.Allocator) expr.Accumulator { return newMoments[int16](mem, name, res) }
	case arrow.INT32:
		return func(mem memory.Allocator) expr.Accumulator { return newMoments[int32](mem, name, res) }
	case arrow.INT64:
		return func(mem memory.Allocator) expr.Accumulator { return newMoments[int64](mem, name, res) }
	case arrow.UINT8:
		return func(mem memory.Allocator) expr.Accumulator { return newMoments[uint8](mem, name, res) }
	case arrow.UINT16:
		return func(mem memory.Allocator) expr.Accumulator { return newMoments[uint16](mem, name, res) }
	case arrow.UINT32:
		return func(mem memory.Allocator) expr.Accumulator { return newMoments[uint32](mem, name, res) }
	case arrow.UINT64:
		return func(mem memory.Allocator) expr.Accumulator { return newMoments[uint64](mem, name, res) }
	case arrow.FLOAT32:
		return func(mem memory.Allocator) expr.Accumulator { return newMoments[float32](mem, name, res) }
	}
	return func(mem memory.Allocator) expr.Accumulator { return newMoments[float64](mem, name, res) }
}

type moments[T number] struct {
	name string
	res  momentResult
	n    vec[float64]
	avg  vec[float64]
	m2   vec[float64]
}

func newMoments[T number](mem memory.Allocator, name string, res momentResult) *moments[T] {
	return &moments[T]{name: name, res: res, n: newVec[float64](mem), avg: newVec[float64](mem), m2: newVec[float64](mem)}
}

func (m *moments[T]) Resize(n int) {
	if n > m.n.len() {
		m.n.resize(n)
		m.avg.resize(n)
		m.m2.resize(n)
	}
}

func (m *moments[T]) Update(args []arrow.Array, gids []uint32) error {
	if err := checkArgs(m.name, args, 1, gids); err != nil {
		return err
	}
	vals := fixedValues[T](args[0])
	bm, off := nullBits(args[0])
	cn, ca, cm := m.n.s, m.avg.s, m.m2.s
	for i, g := range gids {
		if g == expr.NoGroup || (bm != nil && !bitSet(bm, off+i)) {
			continue
		}
		x := float64(vals[i])
		n := cn[g] + 1
		delta := x - ca[g]
		avg := ca[g] + delta/n
		cm[g] += delta * (x - avg)
		ca[g], cn[g] = avg, n
	}
	return nil
}

func (m *moments[T]) MergeState(state []arrow.Array, gids []uint32) error {
	if err := checkState(m.name, state, momentState, gids); err != nil {
		return err
	}
	sn, sa, sm := fixedValues[float64](state[0]), fixedValues[float64](state[1]), fixedValues[float64](state[2])
	var bms [3][]byte
	var offs [3]int
	for c := range bms {
		bms[c], offs[c] = nullBits(state[c])
	}
	cn, ca, cm := m.n.s, m.avg.s, m.m2.s
	for i, g := range gids {
		if g == expr.NoGroup {
			continue
		}
		if (bms[0] != nil && !bitSet(bms[0], offs[0]+i)) || (bms[1] != nil && !bitSet(bms[1], offs[1]+i)) || (bms[2] != nil && !bitSet(bms[2], offs[2]+i)) {
			continue
		}
		nb := sn[i]
		if nb == 0 {
			continue
		}
		na := cn[g]
		if na == 0 {
			cn[g], ca[g], cm[g] = nb, sa[i], sm[i]
			continue
		}
		n := na + nb
		delta := sa[i] - ca[g]
		ca[g] += delta * nb / n
		cm[g] += sm[i] + delta*delta*na*nb/n
		cn[g] = n
	}
	return nil
}

func (m *moments[T]) State(mem memory.Allocator, n int, sel []uint32) ([]arrow.Array, error) {
	if err := checkEmit(m.name, n, m.n.len(), sel); err != nil {
		return nil, err
	}
	return []arrow.Array{
		emitFixed(mem, expr.Float64, m.n.s, nil, n, sel),
		emitFixed(mem, expr.Float64, m.avg.s, nil, n, sel),
		emitFixed(mem, expr.Float64, m.m2.s, nil, n, sel),
	}, nil
}

func (m *moments[T]) Result(mem memory.Allocator, n int, sel []uint32) (arrow.Array, error) {
	if err := checkEmit(m.name, n, m.n.len(), sel); err != nil {
		return nil, err
	}
	k := outLen(n, sel)
	out := make([]float64, k)
	valid := make([]uint8, k)
	for j := range out {
		g := groupAt(sel, j)
		cnt, m2 := m.n.s[g], m.m2.s[g]
		var v float64
		switch m.res {
		case varSamp, stddevSamp:
			if cnt <= 1 {
				continue
			}
			v = m2 / (cnt - 1)
		default:
			if cnt == 0 {
				continue
			}
			v = m2 / cnt
		}
		if m.res == stddevSamp || m.res == stddevPop {
			v = math.Sqrt(v)
		}
		out[j], valid[j] = v, 1
	}
	return emitFixed(mem, expr.Float64, out, valid, k, nil), nil
}

func (m *moments[T]) Reset() {
	clear(m.n.s)
	clear(m.avg.s)
	clear(m.m2.s)
}

func (m *moments[T]) Release() {
	m.n.release()
	m.avg.release()
	m.m2.release()
}
