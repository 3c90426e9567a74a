package agg

import (
	"bytes"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

var minFunc = &expr.AggFunction{Name: "min", MinArgs: 1, MaxArgs: 1, Usage: "min(expr)"}
var maxFunc = &expr.AggFunction{Name: "max", MinArgs: 1, MaxArgs: 1, Usage: "max(expr)"}
var boolAndFunc = &expr.AggFunction{Name: "bool_and", Aliases: []string{"every"}, MinArgs: 1, MaxArgs: 1, Usage: "bool_and(boolean_expr)"}
var boolOrFunc = &expr.AggFunction{Name: "bool_or", Aliases: []string{"some", "any"}, MinArgs: 1, MaxArgs: 1, Usage: "bool_or(boolean_expr)"}

func init() {
	minFunc.Bind = func(args []expr.Arg, _ bool) (*expr.AggBinding, error) { return bindMinMax(minFunc, args, false) }
	maxFunc.Bind = func(args []expr.Arg, _ bool) (*expr.AggBinding, error) { return bindMinMax(maxFunc, args, true) }
	// bool_and is min over booleans (false < true), bool_or is max.
	boolAndFunc.Bind = func(args []expr.Arg, _ bool) (*expr.AggBinding, error) { return bindBoolAgg(boolAndFunc, args, false) }
	boolOrFunc.Bind = func(args []expr.Arg, _ bool) (*expr.AggBinding, error) { return bindBoolAgg(boolOrFunc, args, true) }
}

func bindBoolAgg(f *expr.AggFunction, args []expr.Arg, isMax bool) (*expr.AggBinding, error) {
	if err := checkArity(f, args); err != nil {
		return nil, err
	}
	var cast []arrow.DataType
	switch args[0].Type.ID() {
	case arrow.BOOL:
	case arrow.NULL:
		cast = []arrow.DataType{expr.Boolean}
	default:
		return nil, argTypeErr(f.Name, 0, "a boolean", args[0].Type)
	}
	b, err := bindMinMax(f, []expr.Arg{{Type: expr.Boolean, Nullable: args[0].Nullable}}, isMax)
	if err != nil {
		return nil, err
	}
	b.Cast = cast
	return b, nil
}

// bindMinMax accepts every orderable flat type. Spark orders NaN above
// every other floating-point value; strings and binary compare bytewise.
// DISTINCT changes nothing and is ignored.
func bindMinMax(f *expr.AggFunction, args []expr.Arg, isMax bool) (*expr.AggBinding, error) {
	if err := checkArity(f, args); err != nil {
		return nil, err
	}
	types, cast := prepare(args)
	dt := types[0]
	k, ok := kindOf(dt)
	if !ok || !orderable(k) {
		return nil, argTypeErr(f.Name, 0, "an orderable type (number, string, binary, boolean, date, timestamp, decimal)", dt)
	}
	state := []arrow.Field{{Name: f.Name, Type: dt, Nullable: true}}
	name := f.Name
	var newAcc func(memory.Allocator) expr.Accumulator
	switch k.phys {
	case physNull:
		newAcc = func(memory.Allocator) expr.Accumulator { return newNullAcc(name, dt, state) }
	case physBool:
		newAcc = func(mem memory.Allocator) expr.Accumulator {
			init := uint8(1)
			if isMax {
				init = 0
			}
			m := newMinMaxInt[uint8](mem, name, dt, state, isMax, init)
			m.isBool = true
			return m
		}
	case phys16:
		newAcc = func(mem memory.Allocator) expr.Accumulator { return newMinMaxDec(mem, name, dt, state, isMax) }
	case physBytes:
		newAcc = func(mem memory.Allocator) expr.Accumulator { return newMinMaxBytes(mem, name, dt, state, isMax) }
	default:
		newAcc = minMaxFixed(name, dt, state, isMax)
	}
	return &expr.AggBinding{Type: dt, Nullable: true, Cast: cast, State: state, New: newAcc}, nil
}

func minMaxFixed(name string, dt arrow.DataType, state []arrow.Field, isMax bool) func(memory.Allocator) expr.Accumulator {
	// sentinel returns the identity of min (the type's maximum) or max.
	pick := func(lo, hi int64) int64 {
		if isMax {
			return lo
		}
		return hi
	}
	pickU := func(hi uint64) uint64 {
		if isMax {
			return 0
		}
		return hi
	}
	switch dt.ID() {
	case arrow.INT8:
		return func(mem memory.Allocator) expr.Accumulator {
			return newMinMaxInt(mem, name, dt, state, isMax, int8(pick(math.MinInt8, math.MaxInt8)))
		}
	case arrow.INT16:
		return func(mem memory.Allocator) expr.Accumulator {
			return newMinMaxInt(mem, name, dt, state, isMax, int16(pick(math.MinInt16, math.MaxInt16)))
		}
	case arrow.UINT8:
		return func(mem memory.Allocator) expr.Accumulator {
			return newMinMaxInt(mem, name, dt, state, isMax, uint8(pickU(math.MaxUint8)))
		}
	case arrow.UINT16:
		return func(mem memory.Allocator) expr.Accumulator {
			return newMinMaxInt(mem, name, dt, state, isMax, uint16(pickU(math.MaxUint16)))
		}
	case arrow.UINT32:
		return func(mem memory.Allocator) expr.Accumulator {
			return newMinMaxInt(mem, name, dt, state, isMax, uint32(pickU(math.MaxUint32)))
		}
	case arrow.UINT64:
		return func(mem memory.Allocator) expr.Accumulator {
			return newMinMaxInt(mem, name, dt, state, isMax, pickU(math.MaxUint64))
		}
	case arrow.FLOAT32:
		return func(mem memory.Allocator) expr.Accumulator {
			return newMinMaxFloat[float32](mem, name, dt, state, isMax)
		}
	case arrow.FLOAT64:
		return func(mem memory.Allocator) expr.Accumulator {
			return newMinMaxFloat[float64](mem, name, dt, state, isMax)
		}
	}
	k, _ := kindOf(dt)
	if k.phys == phys4 { // int32, date, time32
		return func(mem memory.Allocator) expr.Accumulator {
			return newMinMaxInt(mem, name, dt, state, isMax, int32(pick(math.MinInt32, math.MaxInt32)))
		}
	}
	// int64, timestamp, date64, time64, duration
	return func(mem memory.Allocator) expr.Accumulator {
		return newMinMaxInt(mem, name, dt, state, isMax, pick(math.MinInt64, math.MaxInt64))
	}
}

// minMaxBase holds what every min/max accumulator shares. Each keeps seen
// flags too: a group is NULL until its first non-NULL value.
type minMaxBase struct {
	name  string
	dt    arrow.DataType
	state []arrow.Field
	isMax bool
}

func (b *minMaxBase) checkUpdate(args []arrow.Array, gids []uint32) error {
	return checkArgs(b.name, args, 1, gids)
}

func (b *minMaxBase) checkMerge(state []arrow.Array, gids []uint32) error {
	return checkState(b.name, state, b.state, gids)
}

// minMaxInt handles integers and integer-backed types (date, timestamp,
// booleans as 0/1): groups start at the identity (the type's max for min),
// so the loop is one compare and two stores.
type minMaxInt[T integer] struct {
	minMaxBase
	seen   bitset
	init   T
	isBool bool
	vals   vec[T]
	bools  []uint8
}

func newMinMaxInt[T integer](mem memory.Allocator, name string, dt arrow.DataType, state []arrow.Field, isMax bool, init T) *minMaxInt[T] {
	return &minMaxInt[T]{minMaxBase: minMaxBase{name: name, dt: dt, state: state, isMax: isMax}, seen: newBitset(mem),
		init: init, vals: newVec[T](mem)}
}

func (m *minMaxInt[T]) Resize(n int) {
	if n > m.vals.len() {
		m.vals.resizeFill(n, m.init)
		m.seen.resize(n)
	}
}

func (m *minMaxInt[T]) fold(a arrow.Array, gids []uint32) {
	var vals []T
	if m.isBool {
		m.bools = boolBytes(a, m.bools)
		vals = any(m.bools).([]T)
	} else {
		vals = fixedValues[T](a)
	}
	bm, off := nullBits(a)
	cur, seen := m.vals.s, m.seen.w.s
	switch {
	case m.isMax && bm == nil:
		for i, g := range gids {
			if g == expr.NoGroup {
				continue
			}
			if v := vals[i]; v > cur[g] {
				cur[g] = v
			}
			seen[g>>6] |= 1 << (g & 63)
		}
	case m.isMax:
		for i, g := range gids {
			if g == expr.NoGroup || !bitSet(bm, off+i) {
				continue
			}
			if v := vals[i]; v > cur[g] {
				cur[g] = v
			}
			seen[g>>6] |= 1 << (g & 63)
		}
	case bm == nil:
		for i, g := range gids {
			if g == expr.NoGroup {
				continue
			}
			if v := vals[i]; v < cur[g] {
				cur[g] = v
			}
			seen[g>>6] |= 1 << (g & 63)
		}
	default:
		for i, g := range gids {
			if g == expr.NoGroup || !bitSet(bm, off+i) {
				continue
			}
			if v := vals[i]; v < cur[g] {
				cur[g] = v
			}
			seen[g>>6] |= 1 << (g & 63)
		}
	}
}

func (m *minMaxInt[T]) Update(args []arrow.Array, gids []uint32) error {
	if err := m.checkUpdate(args, gids); err != nil {
		return err
	}
	m.fold(args[0], gids)
	return nil
}

func (m *minMaxInt[T]) MergeState(state []arrow.Array, gids []uint32) error {
	if err := m.checkMerge(state, gids); err != nil {
		return err
	}
	m.fold(state[0], gids)
	return nil
}

func (m *minMaxInt[T]) State(mem memory.Allocator, n int, sel []uint32) ([]arrow.Array, error) {
	return oneState(m.Result(mem, n, sel))
}

func (m *minMaxInt[T]) Result(mem memory.Allocator, n int, sel []uint32) (arrow.Array, error) {
	if err := checkEmit(m.name, n, m.vals.len(), sel); err != nil {
		return nil, err
	}
	seen := m.seen.bytes(m.vals.len())
	if m.isBool {
		return emitBool(mem, any(m.vals.s).([]uint8), seen, n, sel), nil
	}
	return emitFixed(mem, m.dt, m.vals.s, seen, n, sel), nil
}

func (m *minMaxInt[T]) Reset() {
	for i := range m.vals.s {
		m.vals.s[i] = m.init
	}
	m.seen.reset()
}

func (m *minMaxInt[T]) Release() {
	m.vals.release()
	m.seen.release()
}

func oneState(a arrow.Array, err error) ([]arrow.Array, error) {
	if err != nil {
		return nil, err
	}
	return []arrow.Array{a}, nil
}

// minMaxFloat orders NaN above +Inf, as Spark does.
type minMaxFloat[T ~float32 | ~float64] struct {
	minMaxBase
	seen vec[uint8]
	vals vec[T]
}

func newMinMaxFloat[T ~float32 | ~float64](mem memory.Allocator, name string, dt arrow.DataType, state []arrow.Field, isMax bool) *minMaxFloat[T] {
	return &minMaxFloat[T]{minMaxBase: minMaxBase{name: name, dt: dt, state: state, isMax: isMax}, seen: newVec[uint8](mem),
		vals: newVec[T](mem)}
}

func (m *minMaxFloat[T]) Resize(n int) {
	if n > m.vals.len() {
		m.vals.resize(n)
		m.seen.resize(n)
	}
}

func (m *minMaxFloat[T]) fold(a arrow.Array, gids []uint32) {
	vals := fixedValues[T](a)
	bm, off := nullBits(a)
	cur, seen := m.vals.s, m.seen.s
	for i, g := range gids {
		if g == expr.NoGroup || (bm != nil && !bitSet(bm, off+i)) {
			continue
		}
		v := vals[i]
		if seen[g] == 0 {
			cur[g], seen[g] = v, 1
			continue
		}
		c := cur[g]
		if m.isMax {
			// v > c, with NaN the largest value
			if v > c || (v != v && c == c) {
				cur[g] = v
			}
		} else if v < c || (c != c && v == v) {
			cur[g] = v
		}
	}
}

func (m *minMaxFloat[T]) Update(args []arrow.Array, gids []uint32) error {
	if err := m.checkUpdate(args, gids); err != nil {
		return err
	}
	m.fold(args[0], gids)
	return nil
}

func (m *minMaxFloat[T]) MergeState(state []arrow.Array, gids []uint32) error {
	if err := m.checkMerge(state, gids); err != nil {
		return err
	}
	m.fold(state[0], gids)
	return nil
}

func (m *minMaxFloat[T]) State(mem memory.Allocator, n int, sel []uint32) ([]arrow.Array, error) {
	return oneState(m.Result(mem, n, sel))
}

func (m *minMaxFloat[T]) Result(mem memory.Allocator, n int, sel []uint32) (arrow.Array, error) {
	if err := checkEmit(m.name, n, m.vals.len(), sel); err != nil {
		return nil, err
	}
	return emitFixed(mem, m.dt, m.vals.s, m.seen.s, n, sel), nil
}

func (m *minMaxFloat[T]) Reset() {
	clear(m.vals.s)
	clear(m.seen.s)
}

func (m *minMaxFloat[T]) Release() {
	m.vals.release()
	m.seen.release()
}

type minMaxDec struct {
	minMaxBase
	seen vec[uint8]
	vals vec[decimal128.Num]
}

func newMinMaxDec(mem memory.Allocator, name string, dt arrow.DataType, state []arrow.Field, isMax bool) *minMaxDec {
	return &minMaxDec{minMaxBase: minMaxBase{name: name, dt: dt, state: state, isMax: isMax}, seen: newVec[uint8](mem),
		vals: newVec[decimal128.Num](mem)}
}

func (m *minMaxDec) Resize(n int) {
	if n > m.vals.len() {
		m.vals.resize(n)
		m.seen.resize(n)
	}
}

func (m *minMaxDec) fold(a arrow.Array, gids []uint32) {
	vals := fixedValues[decimal128.Num](a)
	bm, off := nullBits(a)
	cur, seen := m.vals.s, m.seen.s
	for i, g := range gids {
		if g == expr.NoGroup || (bm != nil && !bitSet(bm, off+i)) {
			continue
		}
		v := vals[i]
		if seen[g] == 0 || (m.isMax && v.Greater(cur[g])) || (!m.isMax && v.Less(cur[g])) {
			cur[g], seen[g] = v, 1
		}
	}
}

func (m *minMaxDec) Update(args []arrow.Array, gids []uint32) error {
	if err := m.checkUpdate(args, gids); err != nil {
		return err
	}
	m.fold(args[0], gids)
	return nil
}

func (m *minMaxDec) MergeState(state []arrow.Array, gids []uint32) error {
	if err := m.checkMerge(state, gids); err != nil {
		return err
	}
	m.fold(state[0], gids)
	return nil
}

func (m *minMaxDec) State(mem memory.Allocator, n int, sel []uint32) ([]arrow.Array, error) {
	return oneState(m.Result(mem, n, sel))
}

func (m *minMaxDec) Result(mem memory.Allocator, n int, sel []uint32) (arrow.Array, error) {
	if err := checkEmit(m.name, n, m.vals.len(), sel); err != nil {
		return nil, err
	}
	return emitFixed(mem, m.dt, m.vals.s, m.seen.s, n, sel), nil
}

func (m *minMaxDec) Reset() {
	clear(m.vals.s)
	clear(m.seen.s)
}

func (m *minMaxDec) Release() {
	m.vals.release()
	m.seen.release()
}

// minMaxBytes keeps each group's current string in a shared heap.
type minMaxBytes struct {
	minMaxBase
	seen vec[uint8]
	vals slots
}

func newMinMaxBytes(mem memory.Allocator, name string, dt arrow.DataType, state []arrow.Field, isMax bool) *minMaxBytes {
	return &minMaxBytes{minMaxBase: minMaxBase{name: name, dt: dt, state: state, isMax: isMax}, seen: newVec[uint8](mem),
		vals: newSlots(mem)}
}

func (m *minMaxBytes) Resize(n int) {
	if n > m.seen.len() {
		m.vals.resize(n)
		m.seen.resize(n)
	}
}

func (m *minMaxBytes) fold(a arrow.Array, gids []uint32) {
	offs, data := binaryParts(a)
	bm, off := nullBits(a)
	seen := m.seen.s
	want := -1
	if m.isMax {
		want = 1
	}
	for i, g := range gids {
		if g == expr.NoGroup || (bm != nil && !bitSet(bm, off+i)) {
			continue
		}
		v := data[offs[i]:offs[i+1]]
		if seen[g] == 0 || bytes.Compare(v, m.vals.get(g)) == want {
			m.vals.set(g, v)
			seen[g] = 1
		}
	}
}

func (m *minMaxBytes) Update(args []arrow.Array, gids []uint32) error {
	if err := m.checkUpdate(args, gids); err != nil {
		return err
	}
	m.fold(args[0], gids)
	return nil
}

func (m *minMaxBytes) MergeState(state []arrow.Array, gids []uint32) error {
	if err := m.checkMerge(state, gids); err != nil {
		return err
	}
	m.fold(state[0], gids)
	return nil
}

func (m *minMaxBytes) State(mem memory.Allocator, n int, sel []uint32) ([]arrow.Array, error) {
	return oneState(m.Result(mem, n, sel))
}

func (m *minMaxBytes) Result(mem memory.Allocator, n int, sel []uint32) (arrow.Array, error) {
	if err := checkEmit(m.name, n, m.seen.len(), sel); err != nil {
		return nil, err
	}
	return emitBytes(mem, m.dt, &m.vals, m.seen.s, n, sel)
}

func (m *minMaxBytes) heapStats() (int, int) { return m.vals.stats() }

func (m *minMaxBytes) Reset() {
	m.vals.reset()
	clear(m.seen.s)
}

func (m *minMaxBytes) Release() {
	m.vals.release()
	m.seen.release()
}

// nullAcc is min/max/first/last of a NULL-typed argument: always NULL.
type nullAcc struct {
	name   string
	dt     arrow.DataType
	state  []arrow.Field
	groups int
}

func newNullAcc(name string, dt arrow.DataType, state []arrow.Field) *nullAcc {
	return &nullAcc{name: name, dt: dt, state: state}
}

func (a *nullAcc) Resize(n int) { a.groups = max(a.groups, n) }
func (a *nullAcc) Update(args []arrow.Array, gids []uint32) error {
	return checkArgs(a.name, args, len(args), gids)
}
func (a *nullAcc) MergeState(state []arrow.Array, gids []uint32) error {
	return checkState(a.name, state, a.state, gids)
}
func (a *nullAcc) State(mem memory.Allocator, n int, sel []uint32) ([]arrow.Array, error) {
	if err := checkEmit(a.name, n, a.groups, sel); err != nil {
		return nil, err
	}
	out := make([]arrow.Array, len(a.state))
	for i, f := range a.state {
		out[i] = emitNull(mem, f.Type, outLen(n, sel))
	}
	return out, nil
}
func (a *nullAcc) Result(mem memory.Allocator, n int, sel []uint32) (arrow.Array, error) {
	if err := checkEmit(a.name, n, a.groups, sel); err != nil {
		return nil, err
	}
	return emitNull(mem, a.dt, outLen(n, sel)), nil
}
func (a *nullAcc) Reset()   {}
func (a *nullAcc) Release() {}
