package agg

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// max_by_all(x, ord) and min_by_all(x, ord) are a sluice extension (Spark
// has only max_by/min_by, which return one value): the array of x over
// every row whose ord equals the group's largest (smallest) ord. Rows with
// a NULL ord are ignored; a NULL x at the extreme is kept as a NULL
// element; a group without a non-NULL ord gets an empty array. ord is
// ordered as max/min order it (NaN largest, -0.0 = 0.0, strings bytewise).
// The element order is arrival order within a partial aggregation and is
// otherwise unspecified.
//
// The state is the extreme ord and the x values tied at it, so a group
// keeps a few rows instead of all of them (Nexmark q7's highest bid per
// window).
var maxByAllFunc = &expr.AggFunction{Name: "max_by_all", MinArgs: 2, MaxArgs: 2, Usage: "max_by_all(x, ord)"}
var minByAllFunc = &expr.AggFunction{Name: "min_by_all", MinArgs: 2, MaxArgs: 2, Usage: "min_by_all(x, ord)"}

func init() {
	maxByAllFunc.Bind = func(args []expr.Arg, _ bool) (*expr.AggBinding, error) { return bindByAll(maxByAllFunc, args, true) }
	minByAllFunc.Bind = func(args []expr.Arg, _ bool) (*expr.AggBinding, error) { return bindByAll(minByAllFunc, args, false) }
}

// bindByAll: DISTINCT changes nothing that matters (ties stay) and is ignored.
func bindByAll(f *expr.AggFunction, args []expr.Arg, isMax bool) (*expr.AggBinding, error) {
	if err := checkArity(f, args); err != nil {
		return nil, err
	}
	types, cast := prepare(args)
	if _, ok := kindOf(types[0]); !ok {
		return nil, argTypeErr(f.Name, 0, "a type that can be collected", types[0])
	}
	ordKind, ordOK := kindOf(types[1])
	if !ordOK || !orderable(ordKind) {
		return nil, argTypeErr(f.Name, 1, "an orderable type (number, string, binary, boolean, date, timestamp, decimal)", types[1])
	}
	lt := arrow.ListOf(types[0])
	state := []arrow.Field{{Name: f.Name + "_ord", Type: types[1], Nullable: true}, {Name: f.Name, Type: lt}}
	base := byAllBase{name: f.Name, isMax: isMax, lt: lt, state: state}
	newAcc := byAllFor(base, ordKind)
	return &expr.AggBinding{Type: lt, Cast: cast, State: state, New: newAcc}, nil
}

// byAllFor picks the key type K that orders ord values like max/min: the
// integer itself, floats as sign-flipped bits, strings, binary and decimals
// as byte strings.
func byAllFor(base byAllBase, k kind) func(memory.Allocator) expr.Accumulator {
	dt := k.dt
	switch k.phys {
	case physNull:
		return newByAll(base, ordKeys[int8]{
			read: func(a arrow.Array, s []int8) []int8 { return zeros(s, a.Len()) },
			emit: func(mem memory.Allocator, _ []int8, _ []uint8, n int, sel []uint32) arrow.Array {
				return emitNull(mem, dt, outLen(n, sel))
			}})
	case physBool:
		return newByAll(base, ordKeys[uint8]{
			read: func(a arrow.Array, s []uint8) []uint8 { return boolBytes(a, s) },
			emit: func(mem memory.Allocator, v []uint8, valid []uint8, n int, sel []uint32) arrow.Array {
				return emitBool(mem, v, valid, n, sel)
			}})
	case physBytes:
		return newByAll(base, bytesKeys(dt))
	case phys16:
		return func(memory.Allocator) expr.Accumulator {
			return &byAllAcc[string]{byAllBase: base, keys: decimalKeys(dt), offs: []int64{0}} // its own key buffer
		}
	}
	switch dt.ID() {
	case arrow.INT8:
		return newByAll(base, intKeys[int8](dt))
	case arrow.UINT8:
		return newByAll(base, intKeys[uint8](dt))
	case arrow.INT16:
		return newByAll(base, intKeys[int16](dt))
	case arrow.UINT16:
		return newByAll(base, intKeys[uint16](dt))
	case arrow.UINT32:
		return newByAll(base, intKeys[uint32](dt))
	case arrow.UINT64:
		return newByAll(base, intKeys[uint64](dt))
	case arrow.FLOAT32:
		return newByAll(base, ordKeys[int32]{
			read: func(a arrow.Array, s []int32) []int32 {
				v := fixedValues[float32](a)
				s = zeros(s, len(v))
				for i, f := range v {
					s[i] = float32Key(f)
				}
				return s
			},
			emit: func(mem memory.Allocator, v []int32, valid []uint8, n int, sel []uint32) arrow.Array {
				out := make([]int32, len(v))
				for i, x := range v {
					out[i] = x ^ int32(uint32(x>>31)>>1) // the key transform is its own inverse
				}
				return emitFixed(mem, dt, out, valid, n, sel)
			}})
	case arrow.FLOAT64:
		return newByAll(base, ordKeys[int64]{
			read: func(a arrow.Array, s []int64) []int64 {
				v := fixedValues[float64](a)
				s = zeros(s, len(v))
				for i, f := range v {
					s[i] = float64Key(f)
				}
				return s
			},
			emit: func(mem memory.Allocator, v []int64, valid []uint8, n int, sel []uint32) arrow.Array {
				out := make([]int64, len(v))
				for i, x := range v {
					out[i] = x ^ int64(uint64(x>>63)>>1)
				}
				return emitFixed(mem, dt, out, valid, n, sel)
			}})
	}
	if k.phys == phys4 { // int32, date32, time32
		return newByAll(base, intKeys[int32](dt))
	}
	return newByAll(base, intKeys[int64](dt)) // int64, timestamp, date64, time64, duration
}

// float64Key maps a double to an int64 with the same order as Spark's
// (NaN above +Inf, all NaNs equal, -0.0 = 0.0).
func float64Key(f float64) int64 {
	switch {
	case f != f:
		return int64(math.Float64bits(math.NaN()) &^ (1 << 63))
	case f == 0:
		return 0
	}
	b := int64(math.Float64bits(f))
	return b ^ int64(uint64(b>>63)>>1)
}

func float32Key(f float32) int32 {
	switch {
	case f != f:
		return int32(math.Float32bits(float32(math.NaN())) &^ (1 << 31))
	case f == 0:
		return 0
	}
	b := int32(math.Float32bits(f))
	return b ^ int32(uint32(b>>31)>>1)
}

func zeros[K any](s []K, n int) []K {
	if cap(s) < n {
		return make([]K, n)
	}
	s = s[:n]
	clear(s)
	return s
}

func intKeys[K integer](dt arrow.DataType) ordKeys[K] {
	return ordKeys[K]{
		read: func(a arrow.Array, _ []K) []K { return fixedValues[K](a) },
		emit: func(mem memory.Allocator, v []K, valid []uint8, n int, sel []uint32) arrow.Array {
			return emitFixed(mem, dt, v, valid, n, sel)
		}}
}

// bytesKeys reads strings and binary values as Go strings that alias the
// batch (no copy); the accumulator copies the few it keeps.
func bytesKeys(dt arrow.DataType) ordKeys[string] {
	return ordKeys[string]{
		read: func(a arrow.Array, s []string) []string {
			offs, data := binaryParts(a)
			s = zeros(s, a.Len())
			for i := range s {
				if b := data[offs[i]:offs[i+1]]; len(b) > 0 {
					s[i] = unsafe.String(unsafe.SliceData(b), len(b))
				}
			}
			return s
		},
		own: strings.Clone,
		emit: func(mem memory.Allocator, v []string, valid []uint8, n int, sel []uint32) arrow.Array {
			return emitStrings(mem, dt, v, valid, n, sel)
		},
	}
}

// decimalKeys orders decimals as 16 big-endian bytes with the sign bit
// flipped; one buffer per batch backs every key, so each accumulator needs
// its own decimalKeys.
func decimalKeys(dt arrow.DataType) ordKeys[string] {
	var buf []byte
	return ordKeys[string]{
		read: func(a arrow.Array, s []string) []string {
			v := fixedValues[decimal128.Num](a)
			s = zeros(s, len(v))
			if cap(buf) < 16*len(v) {
				buf = make([]byte, 16*len(v))
			}
			for i, d := range v {
				b := buf[16*i : 16*i+16]
				binary.BigEndian.PutUint64(b, uint64(d.HighBits())^(1<<63))
				binary.BigEndian.PutUint64(b[8:], d.LowBits())
				s[i] = unsafe.String(&b[0], 16)
			}
			return s
		},
		own: strings.Clone,
		emit: func(mem memory.Allocator, v []string, valid []uint8, n int, sel []uint32) arrow.Array {
			out := make([]decimal128.Num, len(v))
			for i, k := range v {
				if len(k) == 16 {
					out[i] = decimal128.New(int64(binary.BigEndian.Uint64([]byte(k[:8]))^(1<<63)), binary.BigEndian.Uint64([]byte(k[8:])))
				}
			}
			return emitFixed(mem, dt, out, valid, n, sel)
		}}
}

// emitStrings builds a string or binary array from per-group Go strings.
func emitStrings(mem memory.Allocator, dt arrow.DataType, v []string, valid []uint8, n int, sel []uint32) arrow.Array {
	bld := array.NewBuilder(mem, dt)
	defer bld.Release()
	m := outLen(n, sel)
	for j := 0; j < m; j++ {
		g := groupAt(sel, j)
		switch b := bld.(type) {
		case *array.StringBuilder:
			if valid[g] == 0 {
				b.AppendNull()
			} else {
				b.Append(v[g])
			}
		case *array.BinaryBuilder:
			if valid[g] == 0 {
				b.AppendNull()
			} else {
				b.AppendString(v[g])
			}
		}
	}
	return bld.NewArray()
}

// ordKeys reads ord columns as comparable keys and writes keys back as
// the ord type (for State).
type ordKeys[K cmp.Ordered] struct {
	// read returns one key per row (anything at NULL rows), reusing scratch.
	read func(a arrow.Array, scratch []K) []K
	// own copies a key that aliases batch memory; nil: keys are values.
	own  func(K) K
	emit func(mem memory.Allocator, keys []K, valid []uint8, n int, sel []uint32) arrow.Array
}

type byAllBase struct {
	name  string
	isMax bool
	lt    *arrow.ListType
	state []arrow.Field
}

// byAllAcc keeps, per group, the extreme key and a chain of the x values
// tied at it, encoded (codec.go) in one heap. A new extreme drops the
// group's chain; the dropped bytes are reclaimed by compaction once they
// outweigh the live ones.
type byAllAcc[K cmp.Ordered] struct {
	byAllBase
	keys ordKeys[K]

	best       []K
	seen       []uint8
	head, tail []int32 // entry indexes, -1: none
	cnt        []int32 // live entries per group
	chg        []uint8 // extreme changed in this batch

	next []int32 // entry e's successor in its group's chain
	offs []int64 // entry e is heap[offs[e]:offs[e+1]]
	heap []byte
	live int

	scratch []K
	changed []uint32
	hits    []int32
}

func newByAll[K cmp.Ordered](base byAllBase, keys ordKeys[K]) func(memory.Allocator) expr.Accumulator {
	return func(memory.Allocator) expr.Accumulator {
		return &byAllAcc[K]{byAllBase: base, keys: keys, offs: []int64{0}}
	}
}

func (a *byAllAcc[K]) Resize(n int) {
	for len(a.best) < n {
		var zero K
		a.best = append(a.best, zero)
		a.seen = append(a.seen, 0)
		a.head = append(a.head, -1)
		a.tail = append(a.tail, -1)
		a.cnt = append(a.cnt, 0)
		a.chg = append(a.chg, 0)
	}
}

// fold moves each group's extreme to the batch's (pass 1, no x touched),
// drops the chains of groups whose extreme moved, and returns the rows tied
// at the new extremes (pass 2).
func (a *byAllAcc[K]) fold(ord arrow.Array, gids []uint32) ([]int32, error) {
	if len(gids) > 0 && len(a.best) == 0 {
		return nil, fmt.Errorf("%w: %s: Update before Resize", expr.ErrType, a.name)
	}
	keys := a.keys.read(ord, a.scratch)
	a.scratch = keys
	bm, off := nullBits(ord)
	best, seen, chg := a.best, a.seen, a.chg
	changed := a.changed[:0]
	for i, g := range gids {
		if g == expr.NoGroup || (bm != nil && !bitSet(bm, off+i)) {
			continue
		}
		k := keys[i]
		if seen[g] != 0 {
			if a.isMax && k <= best[g] || !a.isMax && k >= best[g] {
				continue
			}
		}
		best[g], seen[g] = k, 1
		if chg[g] == 0 {
			chg[g] = 1
			changed = append(changed, g)
		}
	}
	for _, g := range changed {
		chg[g] = 0
		a.live -= int(a.cnt[g])
		a.head[g], a.tail[g], a.cnt[g] = -1, -1, 0
		if a.keys.own != nil {
			best[g] = a.keys.own(best[g])
		}
	}
	a.changed = changed
	hits := a.hits[:0]
	for i, g := range gids {
		if g == expr.NoGroup || (bm != nil && !bitSet(bm, off+i)) || keys[i] != best[g] {
			continue
		}
		hits = append(hits, int32(i))
	}
	a.hits = hits
	return hits, nil
}

// push appends row i of x to group g's chain.
func (a *byAllAcc[K]) push(g uint32, x arrow.Array, i int) {
	e := int32(len(a.next))
	a.heap = encodeRow(a.heap, x, i, false)
	a.offs = append(a.offs, int64(len(a.heap)))
	a.next = append(a.next, -1)
	if t := a.tail[g]; t >= 0 {
		a.next[t] = e
	} else {
		a.head[g] = e
	}
	a.tail[g] = e
	a.cnt[g]++
	a.live++
}

func (a *byAllAcc[K]) Update(args []arrow.Array, gids []uint32) error {
	if err := checkArgs(a.name, args, 2, gids); err != nil {
		return err
	}
	hits, err := a.fold(args[1], gids)
	if err != nil {
		return err
	}
	if err := checkEntries(len(a.next) + len(hits)); err != nil {
		return err
	}
	for _, i := range hits {
		a.push(gids[i], args[0], int(i))
	}
	a.compact()
	return nil
}

func (a *byAllAcc[K]) MergeState(state []arrow.Array, gids []uint32) error {
	if err := checkState(a.name, state, a.state, gids); err != nil {
		return err
	}
	hits, err := a.fold(state[0], gids)
	if err != nil {
		return err
	}
	l := state[1].(*array.List)
	vals := l.ListValues()
	for _, i := range hits {
		if l.IsNull(int(i)) {
			continue
		}
		s, e := l.ValueOffsets(int(i))
		if err := checkEntries(len(a.next) + int(e-s)); err != nil {
			return err
		}
		for j := s; j < e; j++ {
			a.push(gids[i], vals, int(j))
		}
	}
	a.compact()
	return nil
}

// compact rewrites the heap without dropped entries once they are the
// majority (and more than a few thousand).
func (a *byAllAcc[K]) compact() {
	dead := len(a.next) - a.live
	if dead < 4096 || dead < a.live {
		return
	}
	next := make([]int32, 0, a.live)
	offs := make([]int64, 1, a.live+1)
	heap := make([]byte, 0, int(a.offs[len(a.offs)-1])/max(1, len(a.next))*a.live)
	for g := range a.head {
		e := a.head[g]
		if e < 0 {
			continue
		}
		a.head[g] = int32(len(next))
		for ; e >= 0; e = a.next[e] {
			heap = append(heap, a.heap[a.offs[e]:a.offs[e+1]]...)
			offs = append(offs, int64(len(heap)))
			next = append(next, int32(len(next))+1)
		}
		next[len(next)-1] = -1
		a.tail[g] = int32(len(next)) - 1
	}
	a.next, a.offs, a.heap = next, offs, heap
}

func (a *byAllAcc[K]) State(mem memory.Allocator, n int, sel []uint32) ([]arrow.Array, error) {
	if err := checkEmit(a.name, n, len(a.best), sel); err != nil {
		return nil, err
	}
	lists, err := a.Result(mem, n, sel)
	if err != nil {
		return nil, err
	}
	return []arrow.Array{a.keys.emit(mem, a.best, a.seen, n, sel), lists}, nil
}

func (a *byAllAcc[K]) Result(mem memory.Allocator, n int, sel []uint32) (arrow.Array, error) {
	if err := checkEmit(a.name, n, len(a.best), sel); err != nil {
		return nil, err
	}
	m := outLen(n, sel)
	offsets := make([]int32, m+1)
	total := 0
	for j := 0; j < m; j++ {
		total += int(a.cnt[groupAt(sel, j)])
		if total > math.MaxInt32 {
			return nil, fmt.Errorf("%w: %s: more than 2^31 values in one output batch; emit fewer groups at a time", expr.ErrType, a.name)
		}
		offsets[j+1] = int32(total)
	}
	bld := array.NewBuilder(mem, a.lt.Elem())
	defer bld.Release()
	bld.Reserve(total)
	for j := 0; j < m; j++ {
		for e := a.head[groupAt(sel, j)]; e >= 0; e = a.next[e] {
			if _, err := decodeRow(a.heap[a.offs[e]:a.offs[e+1]], bld); err != nil {
				return nil, fmt.Errorf("%s: %w", a.name, err)
			}
		}
	}
	child := bld.NewArray()
	defer child.Release()
	cd := child.Data()
	cd.Retain()
	return makeList(mem, a.lt, offsets, cd), nil
}

func (a *byAllAcc[K]) Reset() {
	clear(a.seen)
	for g := range a.head {
		a.head[g], a.tail[g] = -1, -1
	}
	clear(a.cnt)
	a.next, a.offs, a.heap, a.live = a.next[:0], a.offs[:1], a.heap[:0], 0
}

func (a *byAllAcc[K]) Release() {}
