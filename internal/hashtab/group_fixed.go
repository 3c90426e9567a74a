package hashtab

// fixedImpl groups by one key column of at most 8 bytes (integers, dates,
// timestamps, floats, ...), held as canonical uint64 patterns. The NULL
// group, if any, lives outside the table so the hot loops never test
// validity.
type fixedImpl struct {
	t       table
	keys    []uint64 // by group id; the NULL group holds 0
	nullGid uint32
	hs      []uint64
	sel     [chunkRows]int32
}

func newFixedImpl() *fixedImpl { return &fixedImpl{nullGid: NoGroup} }

func (f *fixedImpl) numGroups() int { return len(f.keys) }

func (f *fixedImpl) find(views []colView, gids []uint32, create bool) error {
	v := &views[0]
	n := v.n
	vals := v.u64[:n]
	hs := scratchU64(&f.hs, n)
	for i, x := range vals {
		hs[i] = hash64(x, tableSeed)
	}
	if f.t.slots == nil {
		f.t.resize(minSlots)
	}
	for lo := 0; lo < n; lo += chunkRows {
		hi := min(lo+chunkRows, n)
		g := gids[lo:hi]
		f.t.candidates(hs[lo:hi], g)
		if v.nulls > 0 {
			for i := range g {
				if v.isNull(lo + i) {
					g[i] = NoGroup
				}
			}
		}
		// Verify the candidates; rows left over are new keys, tag
		// collisions, NULLs: resolve them one by one, in row order, so that
		// new groups are numbered in first-seen order.
		keys, vv, m := f.keys, vals[lo:hi], 0
		for i, c := range g {
			if c != NoGroup && keys[c] == vv[i] {
				continue
			}
			f.sel[m] = int32(i)
			m++
		}
		for _, i := range f.sel[:m] {
			r := lo + int(i)
			var err error
			if v.nulls > 0 && v.isNull(r) {
				g[i], err = f.nullGroup(create)
			} else {
				g[i], err = f.probe(vals[r], hs[r], create)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *fixedImpl) probe(x, h uint64, create bool) (uint32, error) {
	tag := uint32(h >> 32)
	s, m := f.t.slots, f.t.mask
	j := f.t.home(tag)
	for {
		sl := s[j]
		if sl.ref == 0 {
			break
		}
		if sl.tag == tag && f.keys[sl.ref-1] == x {
			return sl.ref - 1, nil
		}
		j = (j + 1) & m
	}
	if !create {
		return NoGroup, nil
	}
	if len(f.keys) >= maxGroups {
		return NoGroup, ErrTooManyGroups
	}
	gid := uint32(len(f.keys))
	f.keys = append(room(f.keys), x)
	s[j] = slot{tag, gid + 1}
	f.t.used++
	if f.t.full() {
		f.t.grow(len(s) * 2)
	}
	return gid, nil
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

func (f *fixedImpl) column(_ int, sel []uint32) ([]uint64, []string, []bool) {
	var nb nullBits
	if f.nullGid != NoGroup {
		nb.set(f.nullGid)
	}
	return gatherU64(f.keys, sel), nil, gatherNull(&nb, len(f.keys), sel)
}

func (f *fixedImpl) reserve(n int) {
	if f.t.slots == nil {
		f.t.resize(minSlots)
	}
	f.t.grow(slotsFor(n))
	f.keys = growSlice(f.keys, n-len(f.keys))
}

func (f *fixedImpl) reset() {
	f.t.reset()
	f.keys = f.keys[:0]
	f.nullGid = NoGroup
}

func (f *fixedImpl) release() { *f = *newFixedImpl() }

func (f *fixedImpl) memoryBytes() int64 {
	return f.t.memoryBytes() + int64(cap(f.keys))*8 + int64(cap(f.hs))*8
}

// scratchU64 returns (*p)[:n], growing it when needed.
func scratchU64(p *[]uint64, n int) []uint64 {
	if cap(*p) < n {
		*p = make([]uint64, n)
	}
	return (*p)[:n]
}
