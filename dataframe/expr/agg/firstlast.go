package agg

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

var firstFunc = &expr.AggFunction{Name: "first", Aliases: []string{"first_value"}, MinArgs: 1, MaxArgs: 2, Usage: "first(expr[, ignoreNulls])"}
var lastFunc = &expr.AggFunction{Name: "last", Aliases: []string{"last_value"}, MinArgs: 1, MaxArgs: 2, Usage: "last(expr[, ignoreNulls])"}
var anyValueFunc = &expr.AggFunction{Name: "any_value", MinArgs: 1, MaxArgs: 2, Usage: "any_value(expr[, ignoreNulls])"}

func init() {
	firstFunc.Bind = func(args []expr.Arg, _ bool) (*expr.AggBinding, error) { return bindFirstLast(firstFunc, args, false) }
	lastFunc.Bind = func(args []expr.Arg, _ bool) (*expr.AggBinding, error) { return bindFirstLast(lastFunc, args, true) }
	// Spark's any_value is first: the cheapest value to keep is the first.
	anyValueFunc.Bind = func(args []expr.Arg, _ bool) (*expr.AggBinding, error) {
		return bindFirstLast(anyValueFunc, args, false)
	}
}

// bindFirstLast: first/last keep the value of the first/last row of a group
// in arrival order, NULL included unless ignoreNulls (a boolean literal,
// default false) is true. The state is Spark's (value, valueSet) pair.
func bindFirstLast(f *expr.AggFunction, args []expr.Arg, last bool) (*expr.AggBinding, error) {
	if err := checkArity(f, args); err != nil {
		return nil, err
	}
	ignoreNulls := false
	if len(args) == 2 {
		var err error
		if ignoreNulls, err = literalBool(f.Name, 1, args[1]); err != nil {
			return nil, err
		}
	}
	types, cast := prepare(args[:1])
	if cast != nil {
		cast = append(cast, nil)[:len(args)]
	}
	dt := types[0]
	k, ok := kindOf(dt)
	if !ok {
		return nil, argTypeErr(f.Name, 0, "a supported type", dt)
	}
	state := []arrow.Field{{Name: f.Name, Type: dt, Nullable: true}, {Name: "valueSet", Type: expr.Boolean}}
	name, nargs := f.Name, len(args)
	return &expr.AggBinding{Type: dt, Nullable: true, Cast: cast, State: state,
		New: func(mem memory.Allocator) expr.Accumulator {
			return &firstLast{name: name, nargs: nargs, last: last, ignoreNulls: ignoreNulls, dt: dt, state: state,
				has: newVec[uint8](mem), valid: newVec[uint8](mem), epoch: newVec[uint32](mem), vals: newGroupValues(mem, k)}
		}}, nil
}

type firstLast struct {
	name        string
	nargs       int
	last        bool
	ignoreNulls bool
	dt          arrow.DataType
	state       []arrow.Field
	has         vec[uint8] // valueSet
	valid       vec[uint8] // the kept value is non-NULL
	epoch       vec[uint32]
	batch       uint32
	vals        groupValues
	rows        []int32
	filter      []uint8
}

func (f *firstLast) Resize(n int) {
	if n > f.has.len() {
		f.has.resize(n)
		f.valid.resize(n)
		f.vals.resize(n)
		if f.last {
			f.epoch.resize(n)
		}
	}
}

// pick decides which rows become their group's value and updates the
// flags; the kept rows with a non-NULL value are returned for storing.
// filter (nil: all rows) masks rows out, for merging unset states.
func (f *firstLast) pick(a arrow.Array, gids []uint32, ignoreNulls bool, filter []uint8) []int32 {
	bm, off := nullBits(a)
	has, valid := f.has.s, f.valid.s
	rows := f.rows[:0]
	if !f.last {
		for i, g := range gids {
			if g == expr.NoGroup || has[g] != 0 || (filter != nil && filter[i] == 0) {
				continue
			}
			ok := bm == nil || bitSet(bm, off+i)
			if !ok && ignoreNulls {
				continue
			}
			has[g] = 1
			if ok {
				valid[g] = 1
				rows = append(rows, int32(i))
			}
		}
		f.rows = rows
		return rows
	}
	// last: walk backwards so each group stores at most one value per batch.
	f.batch++
	if f.batch == 0 {
		clear(f.epoch.s)
		f.batch = 1
	}
	epoch, b := f.epoch.s, f.batch
	for i := len(gids) - 1; i >= 0; i-- {
		g := gids[i]
		if g == expr.NoGroup || epoch[g] == b || (filter != nil && filter[i] == 0) {
			continue
		}
		ok := bm == nil || bitSet(bm, off+i)
		if !ok && ignoreNulls {
			continue
		}
		epoch[g], has[g] = b, 1
		if ok {
			valid[g] = 1
			rows = append(rows, int32(i))
		} else {
			valid[g] = 0
		}
	}
	f.rows = rows
	return rows
}

func (f *firstLast) Update(args []arrow.Array, gids []uint32) error {
	if err := checkArgs(f.name, args, f.nargs, gids); err != nil {
		return err
	}
	return f.vals.store(args[0], f.pick(args[0], gids, f.ignoreNulls, nil), gids)
}

// MergeState treats every set state as an input row, NULL included: the
// partial side already applied ignoreNulls (Spark's merge does the same).
func (f *firstLast) MergeState(state []arrow.Array, gids []uint32) error {
	if err := checkState(f.name, state, f.state, gids); err != nil {
		return err
	}
	f.filter = boolBytes(state[1], f.filter)
	if bm, off := nullBits(state[1]); bm != nil {
		for i := range f.filter {
			f.filter[i] &= (bm[(off+i)>>3] >> (uint(off+i) & 7)) & 1
		}
	}
	return f.vals.store(state[0], f.pick(state[0], gids, false, f.filter), gids)
}

func (f *firstLast) State(mem memory.Allocator, n int, sel []uint32) ([]arrow.Array, error) {
	v, err := f.Result(mem, n, sel)
	if err != nil {
		return nil, err
	}
	return []arrow.Array{v, emitBool(mem, f.has.s, nil, n, sel)}, nil
}

func (f *firstLast) Result(mem memory.Allocator, n int, sel []uint32) (arrow.Array, error) {
	if err := checkEmit(f.name, n, f.has.len(), sel); err != nil {
		return nil, err
	}
	return f.vals.emit(mem, f.dt, f.valid.s, n, sel)
}

func (f *firstLast) heapStats() (int, int) {
	if b, ok := f.vals.(*bytesGroupValues); ok {
		return b.vals.stats()
	}
	return 0, 0
}

func (f *firstLast) Reset() {
	clear(f.has.s)
	clear(f.valid.s)
	f.vals.reset()
}

func (f *firstLast) Release() {
	f.has.release()
	f.valid.release()
	f.epoch.release()
	f.vals.release()
}

// groupValues keeps one value per group, whatever its type.
type groupValues interface {
	resize(n int)
	// store copies row i of a into group gids[i] for each listed row.
	store(a arrow.Array, rows []int32, gids []uint32) error
	// emit builds an array of type dt; groups with valid 0 are NULL.
	emit(mem memory.Allocator, dt arrow.DataType, valid []uint8, n int, sel []uint32) (arrow.Array, error)
	reset()
	release()
}

func newGroupValues(mem memory.Allocator, k kind) groupValues {
	switch k.phys {
	case physNull:
		return nullValues{}
	case physBool:
		return &fixedGroupValues[uint8]{vals: newVec[uint8](mem), isBool: true}
	case phys1:
		return &fixedGroupValues[uint8]{vals: newVec[uint8](mem)}
	case phys2:
		return &fixedGroupValues[uint16]{vals: newVec[uint16](mem)}
	case phys4:
		return &fixedGroupValues[uint32]{vals: newVec[uint32](mem)}
	case phys8:
		return &fixedGroupValues[uint64]{vals: newVec[uint64](mem)}
	case phys16:
		return &fixedGroupValues[u128]{vals: newVec[u128](mem)}
	}
	return &bytesGroupValues{vals: newSlots(mem), nested: k.phys == physNested}
}

type fixedGroupValues[K any] struct {
	vals   vec[K]
	isBool bool
	bools  []uint8
}

func (v *fixedGroupValues[K]) resize(n int) { v.vals.resize(n) }

func (v *fixedGroupValues[K]) store(a arrow.Array, rows []int32, gids []uint32) error {
	var src []K
	if v.isBool {
		v.bools = boolBytes(a, v.bools)
		src = any(v.bools).([]K)
	} else {
		src = fixedValues[K](a)
	}
	vals := v.vals.s
	for _, i := range rows {
		vals[gids[i]] = src[i]
	}
	return nil
}

func (v *fixedGroupValues[K]) emit(mem memory.Allocator, dt arrow.DataType, valid []uint8, n int, sel []uint32) (arrow.Array, error) {
	if v.isBool {
		return emitBool(mem, any(v.vals.s).([]uint8), valid, n, sel), nil
	}
	return emitFixed(mem, dt, v.vals.s, valid, n, sel), nil
}

func (v *fixedGroupValues[K]) reset()   {}
func (v *fixedGroupValues[K]) release() { v.vals.release() }

// bytesGroupValues keeps strings, or encoded nested values, in a heap.
type bytesGroupValues struct {
	vals   slots
	nested bool
	enc    []byte
}

func (v *bytesGroupValues) resize(n int) { v.vals.resize(n) }

func (v *bytesGroupValues) store(a arrow.Array, rows []int32, gids []uint32) error {
	if v.nested {
		for _, i := range rows {
			v.enc = encodeRow(v.enc[:0], a, int(i), false)
			v.vals.set(gids[i], v.enc)
		}
		return nil
	}
	offs, data := binaryParts(a)
	for _, i := range rows {
		v.vals.set(gids[i], data[offs[i]:offs[i+1]])
	}
	return nil
}

func (v *bytesGroupValues) emit(mem memory.Allocator, dt arrow.DataType, valid []uint8, n int, sel []uint32) (arrow.Array, error) {
	if !v.nested {
		return emitBytes(mem, dt, &v.vals, valid, n, sel)
	}
	bld := array.NewBuilder(mem, dt)
	defer bld.Release()
	m := outLen(n, sel)
	for j := 0; j < m; j++ {
		g := groupAt(sel, j)
		if valid[g] == 0 {
			bld.AppendNull()
			continue
		}
		if _, err := decodeRow(v.vals.get(g), bld); err != nil {
			return nil, err
		}
	}
	return bld.NewArray(), nil
}

func (v *bytesGroupValues) reset()   { v.vals.reset() }
func (v *bytesGroupValues) release() { v.vals.release() }

// nullValues is the store of a NULL-typed argument.
type nullValues struct{}

func (nullValues) resize(int)                                 {}
func (nullValues) store(arrow.Array, []int32, []uint32) error { return nil }
func (nullValues) reset()                                     {}
func (nullValues) release()                                   {}
func (nullValues) emit(mem memory.Allocator, dt arrow.DataType, _ []uint8, n int, sel []uint32) (arrow.Array, error) {
	return emitNull(mem, dt, outLen(n, sel)), nil
}
