package hashtab

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// NoGroup is the group id of a row that has no group: Lookup's answer for a
// key that was never inserted. Same value as expr.NoGroup.
const NoGroup = ^uint32(0)

var (
	// ErrUnsupportedType: a key column's type cannot be grouped on.
	ErrUnsupportedType = errors.New("hashtab: unsupported key type")
	// ErrBadInput: key columns that do not match the Grouper (count, type,
	// length) or a malformed array.
	ErrBadInput = errors.New("hashtab: bad input")
	// ErrTooManyGroups: more than 2^32-2 distinct keys in one Grouper.
	ErrTooManyGroups = errors.New("hashtab: too many groups")
)

// Grouper assigns dense group ids (0, 1, 2, ... in first-seen order) to the
// distinct values of one or more key columns. NULL is a key value: rows
// whose key columns hold the same values and NULLs share a group (SQL GROUP
// BY). Floats are grouped after normalisation (-0.0 is 0.0, all NaNs are
// one NaN) and dictionary-encoded columns by value.
//
// A Grouper is used by one goroutine at a time; Probers (NewProber) look
// keys up from other goroutines once inserting is done. It never retains
// the arrays passed to it: keys are copied into its own buffers (Go memory;
// see MemoryBytes).
type Grouper struct {
	kts []keyType
	// codes[i] is set for a struct key column, grouped by its code in an
	// inner Grouper (group_struct.go); the table sees the code column.
	codes []*structCodes
	sc    scratch
	impl  impl
	mem   memory.Allocator
}

// impl is one specialisation of the table, chosen by New from the key types.
type impl interface {
	// find assigns groups to the rows of sc.views; with create false it
	// only looks up, writing NoGroup for missing keys, and must not write
	// to the table (concurrent Probers).
	find(sc *scratch, gids []uint32, create bool) error
	numGroups() int
	// column gathers key column c of the groups in sel (all when nil).
	column(c int, sel []uint32) (vals []uint64, strs []string, null []bool)
	reserve(n int)
	reset()
	release()
	memoryBytes() int64
}

// New makes a Grouper for key columns of the given types. A dictionary
// type groups by its value type, and a column of a batch may be dictionary
// encoded or not, whatever was declared. mem allocates the arrays returned
// by Keys when it is given a nil allocator.
//
// The implementation is chosen by the key types: one or two columns of at
// most 8 bytes (integers, dates, timestamps, floats, ...) and one byte-like
// column (strings, binaries, decimals) have dedicated code paths; anything
// else, including struct/list/map keys, takes the general multi-column path.
func New(keyTypes []arrow.DataType, mem memory.Allocator) (*Grouper, error) {
	if len(keyTypes) == 0 {
		return nil, fmt.Errorf("%w: no key columns; a Grouper needs at least one", ErrBadInput)
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	g := &Grouper{mem: mem}
	for i, dt := range keyTypes {
		kt, err := classify(dt)
		if err != nil {
			g.releaseCodes()
			return nil, fmt.Errorf("key column %d: %w", i, err)
		}
		g.kts = append(g.kts, kt)
		sc, err := newStructCodes(kt.dt, mem)
		if err != nil {
			g.releaseCodes()
			return nil, fmt.Errorf("key column %d: %w", i, err)
		}
		g.codes = append(g.codes, sc)
	}
	g.impl = newImpl(g.tableKeyTypes())
	g.sc = g.newScratch()
	return g, nil
}

// tableKeyTypes is how the table sees the key columns: struct columns as
// their codes.
func (g *Grouper) tableKeyTypes() []keyType {
	out := append([]keyType(nil), g.kts...)
	for i, c := range g.codes {
		if c != nil {
			out[i] = codeKeyType
		}
	}
	return out
}

func (g *Grouper) releaseCodes() {
	for _, c := range g.codes {
		if c != nil {
			c.g.Release()
		}
	}
}

// newScratch makes the per-call working memory for this Grouper's keys.
// The single byte-like key path sees dictionary columns as dictionary +
// indices: it resolves each dictionary entry once per batch.
func (g *Grouper) newScratch() scratch {
	_, keepDict := g.impl.(*bytesImpl)
	sc := newScratch(g.tableKeyTypes(), keepDict)
	for i, c := range g.codes {
		if c != nil {
			if sc.codes == nil {
				sc.codes = make([]*codeScratch, len(g.codes))
			}
			sc.codes[i] = &codeScratch{p: c.g.NewProber()}
		}
	}
	return sc
}

func newImpl(kts []keyType) impl {
	switch {
	case len(kts) == 1 && kts[0].kind == kindFixed:
		return newFixedImpl()
	case len(kts) == 2 && kts[0].kind == kindFixed && kts[1].kind == kindFixed:
		return newPairImpl()
	case len(kts) == 1 && kts[0].kind == kindBytes:
		return newBytesImpl()
	}
	return newGenericImpl(kts)
}

// KeyTypes returns the types Keys produces: the declared types with
// dictionaries replaced by their value types.
func (g *Grouper) KeyTypes() []arrow.DataType {
	out := make([]arrow.DataType, len(g.kts))
	for i, kt := range g.kts {
		out[i] = kt.dt
	}
	return out
}

// Insert writes to gids[i] the group of row i of the key columns, creating
// groups for keys not seen before. len(gids) must equal the row count. On
// ErrTooManyGroups the rows before the failing one have been inserted.
//
// New groups are numbered in first-seen order, so the rows that saw a key
// for the first time are exactly those where gids[i] == next, with next
// starting at Len() before the call and incremented at each such row: how
// DISTINCT and dropDuplicates pick the rows to keep.
func (g *Grouper) Insert(cols []arrow.Array, gids []uint32) error {
	return g.find(&g.sc, cols, gids, true)
}

// Lookup is Insert without creating groups: rows whose key was never
// inserted get NoGroup. Rows with a NULL key find the group of that NULL
// key, as GROUP BY and null-safe joins want; an equi-join drops them first
// (see NullRows).
func (g *Grouper) Lookup(cols []arrow.Array, gids []uint32) error {
	return g.find(&g.sc, cols, gids, false)
}

// Prober looks keys up in a Grouper with working memory of its own: any
// number of Probers may run Lookup at once, on their own goroutines (the
// probe partitions of a hash join), as long as nothing inserts into, resets
// or compacts the Grouper meanwhile.
type Prober struct {
	g  *Grouper
	sc scratch
}

// NewProber returns a Prober of g.
func (g *Grouper) NewProber() *Prober { return &Prober{g: g, sc: g.newScratch()} }

// Lookup is Grouper.Lookup.
func (p *Prober) Lookup(cols []arrow.Array, gids []uint32) error {
	return p.g.find(&p.sc, cols, gids, false)
}

func (g *Grouper) find(sc *scratch, cols []arrow.Array, gids []uint32, create bool) error {
	n, err := g.check(cols)
	if err != nil {
		return err
	}
	if len(gids) != n {
		return fmt.Errorf("%w: %d group ids for %d rows; pass a gids slice of the batch's length", ErrBadInput, len(gids), n)
	}
	if n == 0 {
		return nil
	}
	if err := sc.normalise(cols, g.codes, create); err != nil {
		return fmt.Errorf("key %w", err)
	}
	err = g.impl.find(sc, gids, create)
	clear(sc.views) // drop references to the batch
	return err
}

// check validates the key columns and returns their row count.
func (g *Grouper) check(cols []arrow.Array) (int, error) {
	if len(cols) != len(g.kts) {
		return 0, fmt.Errorf("%w: %d key columns given, the Grouper was made for %d", ErrBadInput, len(cols), len(g.kts))
	}
	n := -1
	for i, c := range cols {
		if c == nil {
			return 0, fmt.Errorf("%w: key column %d is nil", ErrBadInput, i)
		}
		if dt := plainType(c.DataType()); !arrow.TypeEqual(dt, g.kts[i].dt) {
			return 0, fmt.Errorf("%w: key column %d has type %s, the Grouper was made for %s", ErrBadInput, i, c.DataType(), g.kts[i].dt)
		}
		if n >= 0 && c.Len() != n {
			return 0, fmt.Errorf("%w: key column %d has %d rows, column 0 has %d; key columns must have equal lengths", ErrBadInput, i, c.Len(), n)
		}
		n = c.Len()
	}
	return n, nil
}

// Len is the number of groups.
func (g *Grouper) Len() int { return g.impl.numGroups() }

// Keys returns the key columns of the groups in sel, in that order, or of
// all groups 0..Len()-1 when sel is nil. Columns come back in the key types
// (dictionaries decoded to their value type); the caller releases them.
func (g *Grouper) Keys(mem memory.Allocator, sel []uint32) ([]arrow.Array, error) {
	if mem == nil {
		mem = g.mem
	}
	ng := g.impl.numGroups()
	for _, id := range sel {
		if int64(id) >= int64(ng) {
			return nil, fmt.Errorf("%w: group id %d out of range, the Grouper has %d groups", ErrBadInput, id, ng)
		}
	}
	out := make([]arrow.Array, 0, len(g.kts))
	n := ng
	if sel != nil {
		n = len(sel)
	}
	for c, kt := range g.kts {
		if fg, ok := g.impl.(fixedGatherer); ok && g.codes[c] == nil && kt.kind == kindFixed && kt.width == 8 {
			// Straight into the Arrow buffer: 8-byte keys are stored as
			// themselves (floats already normalised).
			out = append(out, gatherWide(mem, kt, n, func(dst []uint64) []bool { return fg.gatherFixed(c, sel, dst) }))
			continue
		}
		vals, strs, null := g.impl.column(c, sel)
		var arr arrow.Array
		var err error
		if g.codes[c] != nil {
			arr, err = g.codes[c].build(mem, vals, null)
		} else {
			arr, err = buildColumn(mem, kt, vals, strs, null)
		}
		if err != nil {
			for _, a := range out {
				a.Release()
			}
			return nil, fmt.Errorf("key column %d: %w", c, err)
		}
		out = append(out, arr)
	}
	return out, nil
}

// fixedGatherer is implemented by the tables that can write an 8-byte
// key column straight into a buffer: fill writes the values to dst and
// returns which are NULL (nil: none).
type fixedGatherer interface {
	gatherFixed(c int, sel []uint32, dst []uint64) (null []bool)
}

// gatherWide builds an 8-byte key column of n rows whose values fill
// writes into the Arrow buffer itself.
func gatherWide(mem memory.Allocator, kt keyType, n int, fill func(dst []uint64) []bool) arrow.Array {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n * 8)
	null := fill(unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(buf.Bytes()))), n))
	valid, nulls := validityBuffer(mem, null)
	return makeArray(kt.dt, n, []*memory.Buffer{valid, buf}, nulls)
}

// Compact keeps only the groups g with keep[g] set, renumbered 0, 1, ...
// in their previous order, and returns each previous group's new id
// (NoGroup for a dropped group), for the caller's accumulators to follow.
// It is how state is evicted (groups of a closed window). len(keep) must
// equal Len(). The cost is that of inserting the kept keys again.
func (g *Grouper) Compact(keep []bool) ([]uint32, error) {
	if len(keep) != g.Len() {
		return nil, fmt.Errorf("%w: keep has %d entries for %d groups", ErrBadInput, len(keep), g.Len())
	}
	if p, ok := g.impl.(*pairImpl); ok {
		return p.compact(keep), nil
	}
	sel := make([]uint32, 0, len(keep))
	for id, k := range keep {
		if k {
			sel = append(sel, uint32(id))
		}
	}
	remap := make([]uint32, len(keep))
	for i := range remap {
		remap[i] = NoGroup
	}
	keys, err := g.Keys(g.mem, sel)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, k := range keys {
			k.Release()
		}
	}()
	g.Reset()
	gids := make([]uint32, len(sel))
	if err := g.Insert(keys, gids); err != nil {
		return nil, err
	}
	for i, old := range sel {
		remap[old] = gids[i]
	}
	return remap, nil
}

// Reserve sizes the table and key buffers for n groups in total, so that
// inserting up to n groups does not rehash.
func (g *Grouper) Reserve(n int) {
	if n > 0 {
		g.impl.reserve(n)
	}
}

// Reset forgets all groups and keeps the allocated memory for reuse.
func (g *Grouper) Reset() {
	g.impl.reset()
	for _, c := range g.codes {
		if c != nil {
			c.g.Reset()
		}
	}
}

// Release frees the table and key buffers. The Grouper stays usable, as if
// new.
func (g *Grouper) Release() {
	g.impl.release()
	g.releaseCodes()
	g.sc = g.newScratch()
}

// MemoryBytes is the memory held by the Grouper: slots, keys and scratch.
func (g *Grouper) MemoryBytes() int64 {
	b := g.impl.memoryBytes() + g.sc.memoryBytes()
	for _, c := range g.codes {
		if c != nil {
			b += c.g.MemoryBytes()
		}
	}
	return b
}

// gatherU64 returns src[sel] (all of src when sel is nil).
func gatherU64(src []uint64, sel []uint32) []uint64 {
	if sel == nil {
		return append([]uint64(nil), src...)
	}
	out := make([]uint64, len(sel))
	for i, g := range sel {
		out[i] = src[g]
	}
	return out
}

// gatherNull returns which of the groups in sel (or all n) are marked in b,
// or nil when none is.
func gatherNull(b *nullBits, n int, sel []uint32) []bool {
	if b.n == 0 {
		return nil
	}
	if sel == nil {
		out := make([]bool, n)
		for i := range out {
			out[i] = b.get(uint32(i))
		}
		return out
	}
	out := make([]bool, len(sel))
	for i, g := range sel {
		out[i] = b.get(g)
	}
	return out
}

// gatherStr returns the values of the groups in sel (or all n) of s, as
// views into one buffer.
func gatherStr(s *bytesStore, n int, sel []uint32) []string {
	k := n
	if sel != nil {
		k = len(sel)
	}
	var buf []byte
	ends := make([]int, k)
	for i := range k {
		g := uint32(i)
		if sel != nil {
			g = sel[i]
		}
		buf = s.appendValue(buf, g)
		ends[i] = len(buf)
	}
	out := make([]string, k)
	lo := 0
	for i, e := range ends {
		out[i] = bstr(buf, lo, e)
		lo = e
	}
	return out
}
