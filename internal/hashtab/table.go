package hashtab

import (
	"math/bits"
	"sync/atomic"
)

// touchSink keeps the loads of rare touch passes (rebuilds) alive.
var touchSink atomic.Uint32

// slot is one entry of the open-addressing table: 8 bytes, so a 64-byte
// cache line holds eight of them and the table stays small enough to sit in
// the last-level cache (and within TLB reach) for a million groups.
type slot struct {
	// tag is the high 32 bits of the key hash. Its top bits are the home
	// slot, so the table can grow from its slots alone (see grow), and the
	// rest filters almost every other key on a probe path without touching
	// the keys.
	tag uint32
	ref uint32 // group id + 1; 0 marks an empty slot
}

const (
	// chunkRows is how many rows are probed per round. A round first
	// touches the home slots of all its rows (independent loads, so the
	// cache misses overlap), then resolves them; 256 rows' slot and key
	// lines fit in L1.
	chunkRows = 256
	minSlots  = 16
	// touchSlots: tables of at most this many 8-byte slots (256 KiB) stay
	// in cache, and probing skips the touch pass.
	touchSlots = 1 << 15
	// maxSlots: home slots come from the 32-bit tag.
	maxSlots = 1 << 32
	// maxGroups fits the table at load 1/2, and keeps group id + 1 within
	// uint32 and NoGroup unused.
	maxGroups = maxSlots / 2
)

// table is the slot array shared by every Grouper implementation: linear
// probing over a power-of-two capacity, at most half full. It knows only
// hashes and group ids; the implementations compare keys.
type table struct {
	slots []slot
	mask  uint64
	shift uint // 32 - log2(len(slots)): a tag's home slot is tag >> shift
	used  int
}

// slotsFor is the capacity that holds n entries without growing (see full).
func slotsFor(n int) int {
	c := minSlots
	for c < maxSlots && (c <= touchSlots && c/4 < n || c > touchSlots && c/2 < n) {
		c <<= 1
	}
	return c
}

// home is the first slot of tag's probe path.
func (t *table) home(tag uint32) uint64 { return uint64(tag >> t.shift) }

// resize replaces the slots with an empty array of capacity c.
func (t *table) resize(c int) {
	if cap(t.slots) >= c {
		t.slots = t.slots[:c]
		clear(t.slots)
	} else {
		t.slots = make([]slot, c)
	}
	t.mask = uint64(c - 1)
	t.shift = uint(32 - bits.TrailingZeros(uint(c)))
	t.used = 0
}

func (t *table) reset() {
	clear(t.slots)
	t.used = 0
}

// full reports whether the table must grow before taking another entry:
// at load 1/2, or 1/4 while it is small enough for that to cost little
// memory (shorter probe paths, fewer mispredicted branches).
func (t *table) full() bool {
	if len(t.slots) <= touchSlots {
		return (t.used+1)*4 > len(t.slots)
	}
	return (t.used+1)*2 > len(t.slots)
}

// grow moves the entries to a table of c slots. Homes are the top bits of
// the tags, so walking the old slots in order visits entries by increasing
// home slot, and they land in the new table in increasing order too: the
// writes stream through memory instead of scattering, and no key is read or
// rehashed.
func (t *table) grow(c int) {
	if c <= len(t.slots) {
		return
	}
	old := t.slots
	t.slots = nil
	t.resize(c)
	s, m, sh := t.slots, t.mask, t.shift
	for _, e := range old {
		if e.ref == 0 {
			continue
		}
		j := uint64(e.tag >> sh)
		for s[j].ref != 0 {
			j = (j + 1) & m
		}
		s[j] = e
	}
	t.used = len(old) - countEmpty(old)
}

func countEmpty(s []slot) int {
	n := 0
	for _, e := range s {
		if e.ref == 0 {
			n++
		}
	}
	return n
}

// placeAll stores entries known to be absent: refs[i] with hash hs[i],
// skipping refs of 0. Like candidates, it touches all home slots before
// probing so that the misses overlap.
func (t *table) placeAll(hs []uint64, refs []uint32) {
	s, m, sh := t.slots, t.mask, t.shift
	var x uint32
	for _, h := range hs {
		x += s[uint32(h>>32)>>sh].ref
	}
	touchSink.Add(x)
	refs = refs[:len(hs)]
	for i, h := range hs {
		if refs[i] == 0 {
			continue
		}
		tag := uint32(h >> 32)
		j := uint64(tag >> sh)
		for s[j].ref != 0 {
			j = (j + 1) & m
		}
		s[j] = slot{tag, refs[i]}
		t.used++
	}
}

// rebuild makes a table of c slots for groups 0..n-1, their hashes
// computed a chunk at a time by hashOf, which sets ref to 0 for a group
// that is not in the table.
func (t *table) rebuild(c, n int, hashOf func(lo int, hs []uint64, refs []uint32)) {
	t.resize(c)
	var hs [chunkRows]uint64
	var refs [chunkRows]uint32
	for lo := 0; lo < n; lo += chunkRows {
		k := min(chunkRows, n-lo)
		for i := range k {
			refs[i] = uint32(lo+i) + 1
		}
		hashOf(lo, hs[:k], refs[:k])
		t.placeAll(hs[:k], refs[:k])
	}
}

// candidates writes to cand[i] the group of the first slot on hs[i]'s probe
// path whose tag matches, or NoGroup when the path reaches an empty slot
// first. The caller verifies the keys of the candidates. It only reads the
// table; sc takes the touch loads.
func (t *table) candidates(sc *scratch, hs []uint64, cand []uint32) {
	s, m, sh := t.slots, t.mask, t.shift
	// Touch every home slot first: these loads do not depend on each
	// other, so their cache misses overlap instead of queueing behind the
	// branchy probe loop below. A table that fits in L2 has no misses to
	// overlap.
	if len(s) > touchSlots {
		var x uint32
		for _, h := range hs {
			x += s[uint32(h>>32)>>sh].ref
		}
		sc.sink += x
	}
	cand = cand[:len(hs)]
	for i, h := range hs {
		tag := uint32(h >> 32)
		j := uint64(tag >> sh)
		c := uint32(0)
		for {
			sl := s[j]
			if sl.ref == 0 || sl.tag == tag {
				c = sl.ref
				break
			}
			j = (j + 1) & m
		}
		cand[i] = c - 1 // NoGroup when c == 0
	}
}

func (t *table) memoryBytes() int64 { return int64(cap(t.slots)) * 8 }
