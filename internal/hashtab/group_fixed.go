package hashtab

// fixedImpl groups by one key column of at most 8 bytes (integers, dates,
// timestamps, floats, ...), held as canonical uint64 patterns. The table
// keeps the key inline in its slots (8 bytes while every key fits in 32
// bits, 16 after), so a probe is one memory access. The NULL group, if any,
// lives outside the table so the hot loops never test validity.
type fixedImpl struct {
	wideMode bool
	narrow   part[uint32]
	wide     part[uint64]
	keys     []uint64 // by group id; the NULL group holds 0
	nullGid  uint32
}

func newFixedImpl() *fixedImpl { return &fixedImpl{nullGid: NoGroup} }

func (f *fixedImpl) numGroups() int { return len(f.keys) }

func (f *fixedImpl) find(sc *scratch, gids []uint32, create bool) error {
	v := &sc.views[0]
	fit := f.wideMode || allFit32(v)
	if !fit && create {
		f.toWide()
		fit = true
	}
	if f.wideMode {
		return fixedFind(f, &f.wide, sc, v, gids, create, false)
	}
	// A Lookup of keys beyond 32 bits in a narrow table: they cannot be
	// there, and the table must not change under concurrent Probers.
	return fixedFind(f, &f.narrow, sc, v, gids, create, !fit)
}

func (f *fixedImpl) toWide() {
	f.wideMode = true
	np := &f.narrow
	if np.slots == nil {
		return
	}
	f.wide = part[uint64]{slots: make([]pslot[uint64], len(np.slots)), mask: np.mask, used: np.used}
	for j, sl := range np.slots {
		if sl.ref != 0 {
			f.wide.slots[j] = pslot[uint64]{extend(sl.k), sl.ref}
		}
	}
	f.narrow = part[uint32]{}
}

func fixedFind[K uint32 | uint64](f *fixedImpl, pt *part[K], sc *scratch, v *colView, gids []uint32, create, checkFit bool) error {
	n := v.n
	vals := v.u64[:n]
	if pt.slots == nil {
		if !create { // nothing inserted yet
			fillNoGroup(gids)
			return nil
		}
		pt.slots, pt.mask = make([]pslot[K], partMinSlots), partMinSlots-1
	}
	hs := sc.hashes(n)
	for i, x := range vals {
		hs[i] = hash64(x, tableSeed)
	}
	for lo := 0; lo < n; lo += chunkRows {
		hi := min(lo+chunkRows, n)
		// Touch the home slots of the chunk first: independent loads,
		// so their cache misses overlap.
		if s, m := pt.slots, pt.mask; len(s) > touchSlots {
			var x uint32
			for _, h := range hs[lo:hi] {
				x += s[h&m].ref
			}
			sc.sink += x
		}
		for i := lo; i < hi; i++ {
			if v.nulls > 0 && v.isNull(i) {
				var err error
				if gids[i], err = f.nullGroup(create); err != nil {
					return err
				}
				continue
			}
			if checkFit && !fits32(vals[i]) {
				gids[i] = NoGroup
				continue
			}
			k := K(vals[i])
			j := hs[i] & pt.mask
			for {
				sl := &pt.slots[j]
				if sl.ref == 0 {
					if !create {
						gids[i] = NoGroup
						break
					}
					if len(f.keys) >= maxGroups {
						return ErrTooManyGroups
					}
					gid := uint32(len(f.keys))
					f.keys = append(room(f.keys), vals[i])
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
	}
	return nil
}

func (f *fixedImpl) nullGroup(create bool) (uint32, error) {
	if f.nullGid != NoGroup || !create {
		return f.nullGid, nil
	}
	if len(f.keys) >= maxGroups {
		return NoGroup, ErrTooManyGroups
	}
	f.nullGid = uint32(len(f.keys))
	f.keys = append(room(f.keys), 0)
	return f.nullGid, nil
}

func (f *fixedImpl) gatherFixed(_ int, sel []uint32, dst []uint64) []bool {
	if sel == nil {
		copy(dst, f.keys)
	} else {
		for i, g := range sel {
			dst[i] = f.keys[g]
		}
	}
	var nb nullBits
	if f.nullGid != NoGroup {
		nb.set(f.nullGid)
	}
	return gatherNull(&nb, len(f.keys), sel)
}

func (f *fixedImpl) column(_ int, sel []uint32) ([]uint64, []string, []bool) {
	var nb nullBits
	if f.nullGid != NoGroup {
		nb.set(f.nullGid)
	}
	return gatherU64(f.keys, sel), nil, gatherNull(&nb, len(f.keys), sel)
}

func (f *fixedImpl) reserve(n int) {
	c := partMinSlots
	for c/4*3 < n {
		c <<= 1
	}
	if f.wideMode {
		f.wide.growTo(c)
	} else {
		f.narrow.growTo(c)
	}
	f.keys = growSlice(f.keys, n-len(f.keys))
}

func (f *fixedImpl) reset() {
	clear(f.narrow.slots)
	clear(f.wide.slots)
	f.narrow.used, f.wide.used = 0, 0
	f.keys = f.keys[:0]
	f.nullGid = NoGroup
}

func (f *fixedImpl) release() { *f = *newFixedImpl() }

func (f *fixedImpl) memoryBytes() int64 {
	return int64(cap(f.narrow.slots))*8 + int64(cap(f.wide.slots))*16 + int64(cap(f.keys))*8
}

func fillNoGroup(gids []uint32) {
	for i := range gids {
		gids[i] = NoGroup
	}
}
