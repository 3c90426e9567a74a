package hashtab

import "unsafe"

// The partitioned mode of pairImpl. GROUP BY (user_id, window) over
// time-ordered input sees a dozen window values, one or two at a time: a
// flat table spreads the few hundred thousand groups being updated over all
// its slots (1M+ groups: 32 MiB, beyond the cache), while one sub-table per
// window keeps the hot window's groups in a table of a couple of MiB.
//
// The mode is chosen on the first non-empty batch, from a sample: a column
// with at most partMaxSample distinct values that changes rarely from row to
// row becomes the partition column. It is left for the flat table, for
// good, when a batch is not clustered on that column or when there are more
// than maxParts distinct values: the flat table handles any input, the
// partitioned one only pays off on this shape.

const (
	// partTouchRows rows at a time touch their home slots first, in
	// sub-tables of more than partTouchSlots slots.
	partTouchRows  = 64
	partTouchSlots = 1 << 15
	partSample     = 4096 // rows sampled to choose the mode
	partMaxSample  = 16   // distinct partition values allowed in the sample
	maxParts       = 1024 // distinct partition values before going flat
	partMinSlots   = 64
)

// pairParts is the set of sub-tables, one per partition value.
type pairParts struct {
	pcol int // partition column; the other is the key column
	// While every key column value seen is a sign-extended 32-bit value
	// (ids, counts, small ints: the common case), sub-tables use 8-byte
	// slots (narrow), which halves the cache footprint of the hot window.
	// The first wider value converts them all to 16-byte slots (wide).
	wideMode bool
	narrow   []part[uint32]
	wide     []part[uint64]
	index    map[uint64]int32 // partition value -> sub-table index
}

// part is one sub-table: linear probing over slots that hold the key
// column's value inline, so a probe is one memory access.
type part[K uint32 | uint64] struct {
	slots []pslot[K]
	mask  uint64
	used  int
}

type pslot[K uint32 | uint64] struct {
	k   K      // key column value (narrow: its low 32 bits)
	ref uint32 // group id + 1; 0 = empty
}

// fits32 reports whether x, a canonical 64-bit pattern, is a sign-extended
// 32-bit value, so that its low 32 bits identify it.
func fits32(x uint64) bool { return uint64(int64(int32(uint32(x)))) == x }

// extend recovers the 64-bit pattern of a key held in a slot.
func extend[K uint32 | uint64](k K) uint64 {
	if unsafe.Sizeof(k) == 4 {
		return uint64(int64(int32(uint32(k))))
	}
	return uint64(k)
}

func (pp *pairParts) reset() { *pp = pairParts{} }

func (pp *pairParts) memoryBytes() int64 {
	b := int64(len(pp.index)) * 24
	for i := range pp.narrow {
		b += int64(cap(pp.narrow[i].slots)) * 8
	}
	for i := range pp.wide {
		b += int64(cap(pp.wide[i].slots)) * 16
	}
	return b
}

// toWide converts every sub-table to 16-byte slots. Slots keep their
// positions: the hash is of the full value either way.
func (pp *pairParts) toWide() {
	pp.wideMode = true
	pp.wide = make([]part[uint64], len(pp.narrow))
	for i, np := range pp.narrow {
		wp := part[uint64]{slots: make([]pslot[uint64], len(np.slots)), mask: np.mask, used: np.used}
		for j, sl := range np.slots {
			if sl.ref != 0 {
				wp.slots[j] = pslot[uint64]{extend(sl.k), sl.ref}
			}
		}
		pp.wide[i] = wp
	}
	pp.narrow = nil
}

// decide picks the mode from the first rows of the first non-empty batch.
func (p *pairImpl) decide(va, vb *colView) {
	p.mode = pairFlat
	var distinct [2]int
	var switches [2]int
	var seen [2][partMaxSample + 1]uint64
	var sw [2]switchCounter
	m := 0
	for i := 0; i < va.n && m < partSample; i++ {
		if va.isNull(i) || vb.isNull(i) {
			continue
		}
		for c, v := range [2]uint64{va.u64[i], vb.u64[i]} {
			if sw[c].costly(v, m == 0) {
				switches[c]++
			}
			if distinct[c] <= partMaxSample {
				found := false
				for _, s := range seen[c][:distinct[c]] {
					if s == v {
						found = true
						break
					}
				}
				if !found {
					seen[c][distinct[c]] = v
					distinct[c]++
				}
			}
		}
		m++
	}
	if m < 64 {
		return
	}
	for c := range 2 {
		if distinct[c] <= partMaxSample && switches[c]*64 <= m && distinct[1-c] > partMaxSample {
			p.mode = pairParted
			p.pp.pcol = c
			return
		}
	}
}

// clustered reports whether a batch still suits the partitioned mode: few
// changes of the partition value from row to row.
func (p *pairImpl) clustered(va, vb *colView) bool {
	v := va
	if p.pp.pcol == 1 {
		v = vb
	}
	vals := v.u64[:v.n]
	switches := 0
	var sw switchCounter
	for i, x := range vals {
		if sw.costly(x, i == 0) {
			switches++
		}
	}
	return switches*64 <= len(vals)
}

// switchCounter follows a partition column row by row and tells which
// rows change to a value other than the last two: the rows of a batch
// near a window boundary (late events) alternate between two windows,
// which findPartedIn switches between at no cost.
type switchCounter struct{ cur, prev uint64 }

func (s *switchCounter) costly(v uint64, first bool) bool {
	switch {
	case first:
		s.cur, s.prev = v, v
		return false
	case v == s.cur:
		return false
	case v == s.prev:
		s.cur, s.prev = v, s.cur
		return false
	}
	s.cur, s.prev = v, s.cur
	return true
}

// toFlat moves every group into the flat table and leaves the partitioned
// mode for good.
func (p *pairImpl) toFlat() {
	p.mode = pairFlat
	p.pp = pairParts{}
	p.rebuild(slotsFor(max(p.hint, p.keys.len())))
}

// partOf returns the index of partition value v's sub-table, creating it
// when create is set; -1 when it does not exist, or when creating it would
// exceed maxParts (full is then set).
func (pp *pairParts) partOf(v uint64, create bool) (idx int32, full bool) {
	if i, ok := pp.index[v]; ok {
		return i, false
	}
	if !create {
		return -1, false
	}
	n := len(pp.narrow) + len(pp.wide)
	if n >= maxParts {
		return -1, true
	}
	if pp.index == nil {
		pp.index = make(map[uint64]int32)
	}
	pp.index[v] = int32(n)
	if pp.wideMode {
		pp.wide = addPart(pp.wide)
	} else {
		pp.narrow = addPart(pp.narrow)
	}
	return int32(n), false
}

// addPart appends an empty sub-table sized like the last one: the next
// window will likely see as many keys, and growing costs rehashes.
func addPart[K uint32 | uint64](parts []part[K]) []part[K] {
	size := partMinSlots
	if len(parts) > 0 {
		size = len(parts[len(parts)-1].slots)
	}
	return append(parts, part[K]{slots: make([]pslot[K], size), mask: uint64(size - 1)})
}

// findParted resolves the rows of a batch in the partitioned mode and
// returns how many it resolved: fewer than all when the partition values
// overflowed maxParts, after which the table is flat and the caller goes on
// with the flat path.
func (p *pairImpl) findParted(sc *scratch, va, vb *colView, gids []uint32, create bool) (int, error) {
	pp := &p.pp
	kv := vb
	if pp.pcol == 1 {
		kv = va
	}
	fit := pp.wideMode || allFit32(kv)
	if !fit && create {
		pp.toWide()
		fit = true
	}
	if pp.wideMode {
		return findPartedIn(p, sc, &pp.wide, va, vb, gids, create, false)
	}
	// A Lookup of keys beyond 32 bits in narrow sub-tables: they cannot
	// be there, and the tables must not change under concurrent Probers.
	return findPartedIn(p, sc, &pp.narrow, va, vb, gids, create, !fit)
}

// allFit32 reports whether every non-NULL value of v fits32.
func allFit32(v *colView) bool {
	if v.nulls == 0 {
		for _, x := range v.u64[:v.n] {
			if !fits32(x) {
				return false
			}
		}
		return true
	}
	for i, x := range v.u64[:v.n] {
		if !fits32(x) && !v.isNull(i) {
			return false
		}
	}
	return true
}

func findPartedIn[K uint32 | uint64](p *pairImpl, sc *scratch, parts *[]part[K], va, vb *colView, gids []uint32, create, checkFit bool) (int, error) {
	pp := &p.pp
	pv, kv := va, vb // partition and key column views
	if pp.pcol == 1 {
		pv, kv = vb, va
	}
	n := va.n
	pvals, kvals := pv.u64[:n], kv.u64[:n]
	anyNull := va.nulls > 0 || vb.nulls > 0
	hs := sc.hashes(n)
	for i, x := range kvals {
		hs[i] = hash64(x, tableSeed)
	}
	// One pass in row order (first-seen numbering). Consecutive rows
	// share a sub-table, found again only when the partition value
	// changes to one other than the last two. A window's sub-table of
	// 100K keys (1-2 MiB) outgrows the L2 cache, so each chunk of rows
	// first touches its home slots in the current sub-table: independent
	// loads whose misses overlap, instead of one miss per probe in turn.
	cur, pt := uint64(0), (*part[K])(nil)
	prev, prevIdx, curIdx := uint64(0), int32(-1), int32(-1)
	for i := range n {
		if i&(partTouchRows-1) == 0 && pt != nil && len(pt.slots) > partTouchSlots {
			var x uint32
			s, m := pt.slots, pt.mask
			for r := i; r < min(i+partTouchRows, n); r++ {
				if pvals[r] == cur {
					x += s[hs[r]&m].ref
				}
			}
			sc.sink += x
		}
		if anyNull && (va.isNull(i) || vb.isNull(i)) {
			var err error
			if gids[i], err = p.nullGroup(va, vb, i, create); err != nil {
				return i, err
			}
			continue
		}
		if v := pvals[i]; v != cur || pt == nil {
			idx := prevIdx
			if v != prev || idx < 0 {
				var full bool
				idx, full = pp.partOf(v, create)
				if full {
					p.toFlat()
					return i, nil
				}
				if idx < 0 { // partition value never seen (Lookup)
					gids[i] = NoGroup
					continue
				}
			}
			// (partOf may have grown *parts: take the pointer afresh.)
			if pt != nil {
				prev, prevIdx = cur, curIdx
			}
			cur, curIdx, pt = v, idx, &(*parts)[idx]
		}
		if checkFit && !fits32(kvals[i]) {
			gids[i] = NoGroup
			continue
		}
		k := K(kvals[i])
		j := hs[i] & pt.mask
		for {
			sl := &pt.slots[j]
			if sl.ref == 0 {
				if !create {
					gids[i] = NoGroup
					break
				}
				if p.keys.len() >= maxGroups {
					return i, ErrTooManyGroups
				}
				gid := uint32(p.keys.len())
				if pp.pcol == 0 {
					p.keys.add(pvals[i], kvals[i])
				} else {
					p.keys.add(kvals[i], pvals[i])
				}
				sl.k, sl.ref = k, gid+1
				gids[i] = gid
				if pt.used++; pt.used*4 > len(pt.slots)*3 {
					pt.grow()
				}
				break
			}
			if sl.k == k {
				gids[i] = sl.ref - 1
				break
			}
			j = (j + 1) & pt.mask
		}
	}
	return n, nil
}

// growTo resizes an empty or filled sub-table to at least c slots.
func (pt *part[K]) growTo(c int) {
	if pt.slots == nil {
		pt.slots, pt.mask = make([]pslot[K], partMinSlots), partMinSlots-1
	}
	for len(pt.slots) < c {
		pt.grow()
	}
}

// grow doubles a sub-table. Sub-tables run at load <= 3/4: their slots
// hold the keys, so a longer probe stays within a cache line or two.
func (pt *part[K]) grow() {
	old := pt.slots
	pt.slots = make([]pslot[K], len(old)*2)
	pt.mask = uint64(len(pt.slots) - 1)
	for _, e := range old {
		if e.ref == 0 {
			continue
		}
		j := hash64(extend(e.k), tableSeed) & pt.mask
		for pt.slots[j].ref != 0 {
			j = (j + 1) & pt.mask
		}
		pt.slots[j] = e
	}
}
