package hashtab

// compact is Grouper.Compact for the pair table without inserting the
// kept keys again: keys are copied in order, the partitioned mode's
// sub-tables are renumbered in place (the common case of eviction by
// watermark: a closed window's sub-table goes whole, the others keep all
// their keys) or rebuilt from their slots when only some of their keys
// go, and the flat table is rebuilt from the hashes of the kept keys.
// Nothing compares keys.
func (p *pairImpl) compact(keep []bool) []uint32 {
	n := p.keys.len()
	remap := make([]uint32, n)
	var keys pairKeys
	var nulls [2]nullBits
	kept := 0
	for _, k := range keep {
		if k {
			kept++
		}
	}
	keys.wide = p.keys.wide
	keys.reserve(kept)
	next := uint32(0)
	for g := range n {
		if !keep[g] {
			remap[g] = NoGroup
			continue
		}
		a, b := p.keys.get(uint32(g))
		keys.add(a, b)
		for c := range 2 {
			if p.nulls[c].get(uint32(g)) {
				nulls[c].set(next)
			}
		}
		remap[g] = next
		next++
	}
	p.keys, p.nulls = keys, nulls
	for k, g := range p.side {
		if remap[g] == NoGroup {
			delete(p.side, k)
		} else {
			p.side[k] = remap[g]
		}
	}
	switch p.mode {
	case pairFlat:
		p.rebuild(slotsFor(max(p.hint, kept)))
	case pairParted:
		if p.pp.wideMode {
			p.pp.wide = compactParts(&p.pp, p.pp.wide, remap)
		} else {
			p.pp.narrow = compactParts(&p.pp, p.pp.narrow, remap)
		}
	}
	return remap
}

// compactParts renumbers the groups of every sub-table, drops the
// sub-tables left empty and re-indexes the rest.
func compactParts[K uint32 | uint64](pp *pairParts, parts []part[K], remap []uint32) []part[K] {
	live := make([]int32, len(parts)) // new index, -1: dropped
	out := parts[:0:0]
	for i := range parts {
		pt := &parts[i]
		if keptPart(pt, remap) == 0 {
			live[i] = -1
			continue
		}
		live[i] = int32(len(out))
		out = append(out, *pt)
	}
	for v, i := range pp.index {
		if live[i] < 0 {
			delete(pp.index, v)
		} else {
			pp.index[v] = live[i]
		}
	}
	return out
}

// keptPart renumbers a sub-table's groups in one pass over its slots and
// returns how many it keeps; when it drops some but not all, the kept
// ones are placed again in fresh slots (linear probing cannot simply
// empty a slot).
func keptPart[K uint32 | uint64](pt *part[K], remap []uint32) int {
	kept, dropped := 0, 0
	for j := range pt.slots {
		sl := &pt.slots[j]
		if sl.ref == 0 {
			continue
		}
		if r := remap[sl.ref-1]; r == NoGroup {
			sl.ref = 0
			dropped++
		} else {
			sl.ref = r + 1
			kept++
		}
	}
	if kept == 0 || dropped == 0 {
		return kept
	}
	old := pt.slots
	pt.slots = make([]pslot[K], len(old))
	pt.used = 0
	for _, e := range old {
		if e.ref == 0 {
			continue
		}
		j := hash64(extend(e.k), tableSeed) & pt.mask
		for pt.slots[j].ref != 0 {
			j = (j + 1) & pt.mask
		}
		pt.slots[j] = e
		pt.used++
	}
	return kept
}
