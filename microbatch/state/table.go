package state

import (
	"fmt"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/hashtab"
)

// NoSlot marks a row without a slot: Lookup's answer for a key that is not
// in the state; Set, Remove and Values skip it (Values gives NULL).
const NoSlot = hashtab.NoGroup

// table is the in-memory keyed table under a Store: a Grouper assigns
// every key ever inserted a slot; live marks the slots that are rows of the
// state (a removed key keeps its slot, dead, until compaction); the value
// columns are stored by slot. It knows nothing of versions or files.
type table struct {
	mem    memory.Allocator
	ktypes []arrow.DataType
	vtypes []arrow.DataType
	g      *hashtab.Grouper
	cols   []column
	live   bitset
	nlive  int
	n      int // slots (== g.Len() after every operation)
	// times is the event time of each slot (Options.EventTime; nil
	// without), minTime a lower bound of the live slots' (expire.go).
	times   *timeCol
	minTime int64
}

func newTable(mem memory.Allocator, ktypes, vtypes []arrow.DataType) (*table, error) {
	g, err := hashtab.New(ktypes, mem)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	t := &table{mem: mem, ktypes: ktypes, vtypes: vtypes, g: g}
	for _, dt := range vtypes {
		t.cols = append(t.cols, newColumn(dt, mem))
	}
	return t, nil
}

func (t *table) release() {
	if t == nil {
		return
	}
	t.g.Release()
	for _, c := range t.cols {
		c.release()
	}
}

// sync grows the columns to the Grouper's slot count.
func (t *table) sync() {
	n := t.g.Len()
	if n <= t.n {
		return
	}
	t.n = n
	t.live.grow(n)
	for _, c := range t.cols {
		c.grow(n)
	}
	if t.times != nil {
		t.times.grow(n)
	}
}

// insert assigns slots to key rows, creating dead slots for new keys (the
// caller makes them live).
func (t *table) insert(keys []arrow.Array, slots []uint32) error {
	err := t.g.Insert(keys, slots)
	t.sync() // also after a partial insert: every group has its slot
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	return nil
}

// lookup finds the live slots of key rows (NoSlot for the others).
func (t *table) lookup(keys []arrow.Array, slots []uint32) error {
	if err := t.g.Lookup(keys, slots); err != nil {
		return fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	for i, s := range slots {
		if s != NoSlot && !t.live.get(s) {
			slots[i] = NoSlot
		}
	}
	return nil
}

// setValues writes value rows to slots (NoSlot skipped).
func (t *table) setValues(slots []uint32, vals []arrow.Array) error {
	for i, c := range t.cols {
		if err := c.set(vals[i], slots); err != nil {
			return fmt.Errorf("value column %d: %w", i, err)
		}
	}
	return nil
}

// kill makes a live slot dead and clears its values.
func (t *table) kill(s uint32) {
	t.live.clear(s)
	t.nlive--
	for _, c := range t.cols {
		c.clear(s)
	}
}

func (t *table) revive(s uint32) {
	t.live.set(s)
	t.nlive++
}

func (t *table) keys(mem memory.Allocator, sel []uint32) ([]arrow.Array, error) {
	if sel == nil {
		sel = []uint32{}
	}
	ks, err := t.g.Keys(mem, sel)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	return ks, nil
}

func (t *table) values(mem memory.Allocator, sel []uint32) ([]arrow.Array, error) {
	out := make([]arrow.Array, 0, len(t.cols))
	for i, c := range t.cols {
		a, err := c.gather(mem, sel)
		if err != nil {
			releaseAll(out)
			return nil, fmt.Errorf("value column %d: %w", i, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// liveSlots appends the live slots in [lo, hi) to dst.
func (t *table) liveSlots(dst []uint32, lo, hi int) []uint32 {
	for w := lo >> 6; w<<6 < hi; w++ {
		if w >= len(t.live) {
			break
		}
		word := t.live[w]
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &= word - 1
			s := w<<6 + b
			if s >= lo && s < hi {
				dst = append(dst, uint32(s))
			}
		}
	}
	return dst
}

// dead is the number of dead slots.
func (t *table) dead() int { return t.n - t.nlive }

// compact drops the dead slots: live slots are renumbered 0..nlive-1 in
// their order. The Grouper compacts itself (for pair keys without
// hashing or comparing a key; otherwise at the cost of inserting the live
// keys again).
func (t *table) compact() error {
	keep := t.liveSlots(make([]uint32, 0, t.nlive), 0, t.n)
	alive := make([]bool, t.n)
	for _, sl := range keep {
		alive[sl] = true
	}
	remap, err := t.g.Compact(alive)
	if err != nil {
		return err // the Grouper may be half rebuilt: the caller drops the table
	}
	for i, sl := range keep {
		if remap[sl] != uint32(i) {
			return fmt.Errorf("state: compaction renumbered slot %d to %d, want %d", sl, remap[sl], i)
		}
	}
	if t.g.Len() != len(keep) {
		return fmt.Errorf("state: compaction left %d keys for %d live slots", t.g.Len(), len(keep))
	}
	for _, c := range t.cols {
		if err := c.permute(keep); err != nil {
			return err // the columns are now inconsistent: the caller drops the table
		}
	}
	if t.times != nil {
		t.times.permute(keep)
	}
	t.n = len(keep)
	t.live = nil
	t.live.grow(t.n)
	for i := range t.live {
		t.live[i] = ^uint64(0)
	}
	if r := t.n & 63; r != 0 {
		t.live[len(t.live)-1] = 1<<r - 1
	}
	return nil
}

const compactChunk = 1 << 16

func (t *table) memoryBytes() int64 {
	b := t.g.MemoryBytes() + t.live.memoryBytes()
	for _, c := range t.cols {
		b += c.memoryBytes()
	}
	if t.times != nil {
		b += t.times.memoryBytes()
	}
	return b
}

func releaseAll(as []arrow.Array) {
	for _, a := range as {
		if a != nil {
			a.Release()
		}
	}
}
