package agg

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// A store holds (group, value) entries in flat arrays, in arrival order:
// collect_list, collect_set and the DISTINCT sets of count/sum/avg. A
// deduplicating store keeps each (group, value) pair once, found through an
// open-addressing hash table over all groups (not a map per group).
type store interface {
	// add appends the rows of args whose group is not NoGroup and whose
	// arguments are all non-NULL; a deduplicating store skips pairs it
	// already holds. newGids, when non-nil, gets gids[i] for every row that
	// was added and NoGroup for the others.
	add(args []arrow.Array, gids []uint32, newGids []uint32) error
	// lists emits, for groups 0..n-1 (or sel) of the given number of
	// groups, a list of the group's values in arrival order.
	lists(mem memory.Allocator, dt *arrow.ListType, groups, n int, sel []uint32) (arrow.Array, error)
	reset()
	release()
}

// newStore makes a store for one argument of kind k.
func newStore(mem memory.Allocator, k kind, dedup bool) store {
	switch k.phys {
	case physNull:
		return nullStore{}
	case physBool:
		return newFixedStore(mem, k, dedup, func(a arrow.Array, s []uint8) []uint8 { return boolBytes(a, s) }, hashUints[uint8])
	case phys1:
		return newFixedStore(mem, k, dedup, readRaw[uint8], hashUints[uint8])
	case phys2:
		return newFixedStore(mem, k, dedup, readRaw[uint16], hashUints[uint16])
	case phys4:
		rd := readRaw[uint32]
		if k.float == 32 && dedup {
			rd = readNormF32
		}
		return newFixedStore(mem, k, dedup, rd, hashUints[uint32])
	case phys8:
		rd := readRaw[uint64]
		if k.float == 64 && dedup {
			rd = readNormF64
		}
		return newFixedStore(mem, k, dedup, rd, hashUints[uint64])
	case phys16:
		return newFixedStore(mem, k, dedup, readRaw[u128], hashU128)
	}
	return newBytesStore(mem, []kind{k}, dedup)
}

func readRaw[K any](a arrow.Array, _ []K) []K { return fixedValues[K](a) }

func readNormF32(a arrow.Array, s []uint32) []uint32 {
	v := fixedValues[uint32](a)
	if cap(s) < len(v) {
		s = make([]uint32, len(v))
	}
	s = s[:len(v)]
	for i, b := range v {
		s[i] = normFloat32Bits(b)
	}
	return s
}

func readNormF64(a arrow.Array, s []uint64) []uint64 {
	v := fixedValues[uint64](a)
	if cap(s) < len(v) {
		s = make([]uint64, len(v))
	}
	s = s[:len(v)]
	for i, b := range v {
		s[i] = normFloat64Bits(b)
	}
	return s
}

// The hash tables of deduplicating stores use linear probing, at most half
// full, over one flat slot array for all groups. A slot keeps the low 32
// bits of its hash: they place it again when the table grows and reject
// most mismatches without touching the entry.

func tableSize(cur, n int) int {
	size := max(cur, 64)
	for n*2 > size {
		size *= 2
	}
	return size
}

// fixedSlot holds a fixed-width key inline, so a probe reads one cache line.
type fixedSlot[K comparable] struct {
	key K
	gid uint32 // NoGroup: empty
	h   uint32
}

type fixedTable[K comparable] struct {
	slots vec[fixedSlot[K]]
	mask  uint32
}

// reserve grows the table so that n keys keep it at most half full.
func (t *fixedTable[K]) reserve(n int) {
	if n*2 <= t.slots.len() {
		return
	}
	size := tableSize(t.slots.len(), n)
	old := t.slots
	t.slots = newVec[fixedSlot[K]](old.mem)
	t.slots.resizeFill(size, fixedSlot[K]{gid: expr.NoGroup})
	t.mask = uint32(size - 1)
	ns := t.slots.s
	for _, sl := range old.s {
		if sl.gid == expr.NoGroup {
			continue
		}
		p := sl.h & t.mask
		for ns[p].gid != expr.NoGroup {
			p = (p + 1) & t.mask
		}
		ns[p] = sl
	}
	old.release()
}

func (t *fixedTable[K]) reset() {
	for i := range t.slots.s {
		t.slots.s[i] = fixedSlot[K]{gid: expr.NoGroup}
	}
}

func (t *fixedTable[K]) release() { t.slots.release() }

// bytesSlot points at an entry of a bytesStore.
type bytesSlot struct {
	h uint32
	e uint32 // entry+1; 0: empty
}

type bytesTable struct {
	slots vec[bytesSlot]
	mask  uint32
}

func (t *bytesTable) reserve(n int) {
	if n*2 <= t.slots.len() {
		return
	}
	size := tableSize(t.slots.len(), n)
	old := t.slots
	t.slots = newVec[bytesSlot](old.mem)
	t.slots.resize(size)
	t.mask = uint32(size - 1)
	ns := t.slots.s
	for _, sl := range old.s {
		if sl.e == 0 {
			continue
		}
		p := sl.h & t.mask
		for ns[p].e != 0 {
			p = (p + 1) & t.mask
		}
		ns[p] = sl
	}
	old.release()
}

func (t *bytesTable) reset()   { clear(t.slots.s) }
func (t *bytesTable) release() { t.slots.release() }

func checkEntries(n int) error {
	if n >= math.MaxInt32 {
		return fmt.Errorf("%w: aggregation holds more than 2 billion collected values; add grouping keys or use approx_count_distinct", expr.ErrType)
	}
	return nil
}

// fixedStore holds fixed-width values as raw bits K (floats normalised
// when deduplicating, booleans one byte each).
type fixedStore[K comparable] struct {
	k       kind
	dedup   bool
	read    func(arrow.Array, []K) []K
	hash    func([]K, []uint64) []uint64
	gids    vec[uint32]
	keys    vec[K]
	table   fixedTable[K]
	scratch []K
	hs      []uint64
}

func newFixedStore[K comparable](mem memory.Allocator, k kind, dedup bool, read func(arrow.Array, []K) []K, hash func([]K, []uint64) []uint64) *fixedStore[K] {
	return &fixedStore[K]{k: k, dedup: dedup, read: read, hash: hash,
		gids: newVec[uint32](mem), keys: newVec[K](mem), table: fixedTable[K]{slots: newVec[fixedSlot[K]](mem)}}
}

func (s *fixedStore[K]) add(args []arrow.Array, gids []uint32, newGids []uint32) error {
	if err := checkEntries(s.gids.len() + len(gids)); err != nil {
		return err
	}
	a := args[0]
	s.scratch = s.read(a, s.scratch)
	keys := s.scratch
	bm, off := nullBits(a)
	if !s.dedup {
		s.gids.reserve(s.gids.len() + len(gids))
		s.keys.reserve(s.keys.len() + len(gids))
		for i, g := range gids {
			if g == expr.NoGroup || (bm != nil && !bitSet(bm, off+i)) {
				if newGids != nil {
					newGids[i] = expr.NoGroup
				}
				continue
			}
			s.gids.s = append(s.gids.s, g)
			s.keys.s = append(s.keys.s, keys[i])
			if newGids != nil {
				newGids[i] = g
			}
		}
		return nil
	}
	s.hs = s.hash(keys, s.hs)
	hs := s.hs
	s.table.reserve(s.gids.len() + len(gids))
	table, mask := s.table.slots.s, s.table.mask
	for i, g := range gids {
		if g == expr.NoGroup || (bm != nil && !bitSet(bm, off+i)) {
			if newGids != nil {
				newGids[i] = expr.NoGroup
			}
			continue
		}
		k := keys[i]
		h := uint32(hashGroup(hs[i], g))
		p := h & mask
		added := false
		for {
			sl := &table[p]
			if sl.gid == expr.NoGroup {
				*sl = fixedSlot[K]{key: k, gid: g, h: h}
				s.gids.push(g)
				s.keys.push(k)
				added = true
				break
			}
			if sl.h == h && sl.gid == g && sl.key == k {
				break
			}
			p = (p + 1) & mask
		}
		if newGids != nil {
			if added {
				newGids[i] = g
			} else {
				newGids[i] = expr.NoGroup
			}
		}
	}
	return nil
}

func (s *fixedStore[K]) lists(mem memory.Allocator, dt *arrow.ListType, groups, n int, sel []uint32) (arrow.Array, error) {
	if err := checkEmit("collect", n, groups, sel); err != nil {
		return nil, err
	}
	starts, perm := groupOrder(s.gids.s, groups)
	offsets, err := listOffsets(starts, n, sel)
	if err != nil {
		return nil, err
	}
	total := int(offsets[len(offsets)-1])
	out := make([]K, 0, total)
	keys := s.keys.s
	for j := 0; j < len(offsets)-1; j++ {
		g := groupAt(sel, j)
		for _, e := range perm[starts[g]:starts[g+1]] {
			out = append(out, keys[e])
		}
	}
	var child arrow.ArrayData
	if s.k.phys == physBool {
		child = boolData(mem, any(out).([]uint8))
	} else {
		child = fixedData(mem, dt.Elem(), out)
	}
	return makeList(mem, dt, offsets, child), nil
}

func (s *fixedStore[K]) reset() {
	s.gids.truncate()
	s.keys.truncate()
	s.table.reset()
}

func (s *fixedStore[K]) release() {
	s.gids.release()
	s.keys.release()
	s.table.release()
}

// bytesStore holds strings and binary values, or encoded nested values and
// argument tuples (count(DISTINCT a, b)), in one heap.
type bytesStore struct {
	kinds []kind // one per argument; more than one is a tuple
	dedup bool
	gids  vec[uint32]
	offs  vec[int64] // entry e is heap[offs[e]:offs[e+1]]
	heap  vec[byte]
	table bytesTable
	// per-batch scratch for encoded rows
	enc     []byte
	encOffs []int32
	mask    []uint8
}

func newBytesStore(mem memory.Allocator, kinds []kind, dedup bool) *bytesStore {
	s := &bytesStore{kinds: kinds, dedup: dedup, gids: newVec[uint32](mem), offs: newVec[int64](mem),
		heap: newVec[byte](mem), table: bytesTable{slots: newVec[bytesSlot](mem)}}
	s.offs.push(0)
	return s
}

func (s *bytesStore) encoded() bool { return len(s.kinds) > 1 || s.kinds[0].phys != physBytes }

// rows returns the bytes of each row of one batch (offsets and data) and
// which rows are valid: a bitmap with offset, or a byte mask, or neither.
func (s *bytesStore) rows(args []arrow.Array, n int) (offs []int32, data []byte, bm []byte, off int, mask []uint8) {
	if !s.encoded() {
		offs, data = binaryParts(args[0])
		bm, off = nullBits(args[0])
		return offs, data, bm, off, nil
	}
	s.mask = allValid(args, n, s.mask)
	mask = s.mask
	enc := s.enc[:0]
	offs = s.encOffs[:0]
	offs = append(offs, 0)
	for i := 0; i < n; i++ {
		if mask[i] != 0 {
			for _, a := range args {
				enc = encodeRow(enc, a, i, s.dedup)
			}
		}
		offs = append(offs, int32(len(enc)))
	}
	s.enc, s.encOffs = enc, offs
	return offs, enc, nil, 0, mask
}

func (s *bytesStore) add(args []arrow.Array, gids []uint32, newGids []uint32) error {
	if err := checkEntries(s.gids.len() + len(gids)); err != nil {
		return err
	}
	offs, data, bm, off, mask := s.rows(args, len(gids))
	if s.dedup {
		s.table.reserve(s.gids.len() + len(gids))
	}
	for i, g := range gids {
		if g == expr.NoGroup || (bm != nil && !bitSet(bm, off+i)) || (mask != nil && mask[i] == 0) {
			if newGids != nil {
				newGids[i] = expr.NoGroup
			}
			continue
		}
		v := data[offs[i]:offs[i+1]]
		added := true
		if s.dedup {
			added = s.insert(g, v)
		} else {
			s.push(g, v)
		}
		if newGids != nil {
			if added {
				newGids[i] = g
			} else {
				newGids[i] = expr.NoGroup
			}
		}
	}
	return nil
}

func (s *bytesStore) push(g uint32, v []byte) {
	s.gids.push(g)
	s.heap.appendSlice(v)
	s.offs.push(int64(s.heap.len()))
}

// insert adds (g, v) unless present; the table has room (reserved per batch).
func (s *bytesStore) insert(g uint32, v []byte) bool {
	h := uint32(hashGroup(hashBytes(v), g))
	table, mask := s.table.slots.s, s.table.mask
	p := h & mask
	for {
		sl := table[p]
		if sl.e == 0 {
			table[p] = bytesSlot{h: h, e: uint32(s.gids.len() + 1)}
			s.push(g, v)
			return true
		}
		if e := sl.e - 1; sl.h == h && s.gids.s[e] == g && string(s.heap.s[s.offs.s[e]:s.offs.s[e+1]]) == string(v) {
			return false
		}
		p = (p + 1) & mask
	}
}

func (s *bytesStore) lists(mem memory.Allocator, dt *arrow.ListType, groups, n int, sel []uint32) (arrow.Array, error) {
	if err := checkEmit("collect", n, groups, sel); err != nil {
		return nil, err
	}
	starts, perm := groupOrder(s.gids.s, groups)
	offsets, err := listOffsets(starts, n, sel)
	if err != nil {
		return nil, err
	}
	m := len(offsets) - 1
	heap, eoffs := s.heap.s, s.offs.s
	if !s.encoded() {
		size := 0
		for j := 0; j < m; j++ {
			g := groupAt(sel, j)
			for _, e := range perm[starts[g]:starts[g+1]] {
				size += int(eoffs[e+1] - eoffs[e])
			}
		}
		if size > math.MaxInt32 {
			return nil, fmt.Errorf("%w: collected strings exceed 2 GiB in one output batch; emit fewer groups at a time", expr.ErrType)
		}
		total := int(offsets[m])
		ob := memory.NewResizableBuffer(mem)
		ob.Resize((total + 1) * 4)
		co := arrow.Int32Traits.CastFromBytes(ob.Bytes())
		db := memory.NewResizableBuffer(mem)
		db.Resize(size)
		d := db.Bytes()
		pos, k := 0, 0
		co[0] = 0
		for j := 0; j < m; j++ {
			g := groupAt(sel, j)
			for _, e := range perm[starts[g]:starts[g+1]] {
				pos += copy(d[pos:], heap[eoffs[e]:eoffs[e+1]])
				k++
				co[k] = int32(pos)
			}
		}
		child := array.NewData(dt.Elem(), total, []*memory.Buffer{nil, ob, db}, nil, 0, 0)
		ob.Release()
		db.Release()
		return makeList(mem, dt, offsets, child), nil
	}
	bld := array.NewBuilder(mem, dt.Elem())
	defer bld.Release()
	for j := 0; j < m; j++ {
		g := groupAt(sel, j)
		for _, e := range perm[starts[g]:starts[g+1]] {
			if err := s.decode(heap[eoffs[e]:eoffs[e+1]], bld); err != nil {
				return nil, err
			}
		}
	}
	child := bld.NewArray()
	defer child.Release()
	cd := child.Data()
	cd.Retain()
	return makeList(mem, dt, offsets, cd), nil
}

// decode appends one entry: a value, or a tuple as a struct.
func (s *bytesStore) decode(v []byte, bld array.Builder) error {
	if len(s.kinds) == 1 {
		_, err := decodeRow(v, bld)
		return err
	}
	sb := bld.(*array.StructBuilder)
	sb.Append(true)
	var err error
	for f := range s.kinds {
		if v, err = decodeRow(v, sb.FieldBuilder(f)); err != nil {
			return err
		}
	}
	return nil
}

func (s *bytesStore) reset() {
	s.gids.truncate()
	s.offs.truncate()
	s.offs.push(0)
	s.heap.truncate()
	s.table.reset()
}

func (s *bytesStore) release() {
	s.gids.release()
	s.offs.release()
	s.heap.release()
	s.table.release()
}

// nullStore is the store of a NULL-typed argument: it never holds a value.
type nullStore struct{}

func (nullStore) add(_ []arrow.Array, gids []uint32, newGids []uint32) error {
	for i := range newGids {
		newGids[i] = expr.NoGroup
	}
	return nil
}

func (nullStore) lists(mem memory.Allocator, dt *arrow.ListType, groups, n int, sel []uint32) (arrow.Array, error) {
	if err := checkEmit("collect", n, groups, sel); err != nil {
		return nil, err
	}
	offsets := make([]int32, outLen(n, sel)+1)
	child := array.NewData(dt.Elem(), 0, []*memory.Buffer{nil}, nil, 0, 0)
	return makeList(mem, dt, offsets, child), nil
}

func (nullStore) reset()   {}
func (nullStore) release() {}

// groupOrder sorts entry indexes by group, keeping arrival order within a
// group (a counting sort): group g's entries are perm[starts[g]:starts[g+1]].
func groupOrder(gids []uint32, groups int) ([]int, []uint32) {
	starts := make([]int, groups+1)
	for _, g := range gids {
		starts[g+1]++
	}
	for g := 0; g < groups; g++ {
		starts[g+1] += starts[g]
	}
	pos := append([]int(nil), starts[:groups]...)
	perm := make([]uint32, len(gids))
	for e, g := range gids {
		perm[pos[g]] = uint32(e)
		pos[g]++
	}
	return starts, perm
}

// listOffsets computes the output list offsets for groups 0..n-1 or sel.
func listOffsets(starts []int, n int, sel []uint32) ([]int32, error) {
	m := outLen(n, sel)
	offsets := make([]int32, m+1)
	total := 0
	for j := 0; j < m; j++ {
		g := groupAt(sel, j)
		total += starts[g+1] - starts[g]
		if total > math.MaxInt32 {
			return nil, fmt.Errorf("%w: more than 2^31 collected values in one output batch; emit fewer groups at a time", expr.ErrType)
		}
		offsets[j+1] = int32(total)
	}
	return offsets, nil
}

// fixedData wraps raw values as array data of type dt (owned by the caller).
func fixedData[K any](mem memory.Allocator, dt arrow.DataType, vals []K) arrow.ArrayData {
	var zero K
	vb := memory.NewResizableBuffer(mem)
	vb.Resize(len(vals) * int(unsafe.Sizeof(zero)))
	if len(vals) > 0 {
		copy(unsafe.Slice((*K)(unsafe.Pointer(unsafe.SliceData(vb.Bytes()))), len(vals)), vals)
	}
	d := array.NewData(dt, len(vals), []*memory.Buffer{nil, vb}, nil, 0, 0)
	vb.Release()
	return d
}

// boolData packs one byte per value into boolean array data.
func boolData(mem memory.Allocator, vals []uint8) arrow.ArrayData {
	vb := memory.NewResizableBuffer(mem)
	vb.Resize((len(vals) + 7) / 8)
	bm := vb.Bytes()
	clear(bm)
	for i, v := range vals {
		if v != 0 {
			bm[i>>3] |= 1 << (uint(i) & 7)
		}
	}
	d := array.NewData(arrow.FixedWidthTypes.Boolean, len(vals), []*memory.Buffer{nil, vb}, nil, 0, 0)
	vb.Release()
	return d
}
