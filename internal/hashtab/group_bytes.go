package hashtab

// bytesImpl groups by one byte-like key column (string, binary, their large
// and view variants, decimal128/256, ...). Keys are copied into one arena.
type bytesImpl struct {
	t       table
	keys    bytesStore
	ng      int // groups
	nullGid uint32
}

// unresolved marks a dictionary entry not looked up yet; group ids never
// reach it (maxGroups).
const unresolved = NoGroup - 1

func newBytesImpl() *bytesImpl {
	b := &bytesImpl{nullGid: NoGroup}
	b.keys.init()
	return b
}

func (b *bytesImpl) numGroups() int { return b.ng }

func (b *bytesImpl) find(sc *scratch, gids []uint32, create bool) error {
	v := &sc.views[0]
	if b.t.slots == nil {
		if !create { // nothing inserted yet
			fillNoGroup(gids)
			return nil
		}
		b.t.resize(minSlots)
	}
	if v.dict != nil {
		return b.findDict(sc, v, gids, create)
	}
	n := v.n
	strs := v.str[:n]
	hs := sc.hashes(n)
	for i, s := range strs {
		hs[i] = hashString(s, tableSeed)
	}
	for lo := 0; lo < n; lo += chunkRows {
		hi := min(lo+chunkRows, n)
		g := gids[lo:hi]
		b.t.candidates(sc, hs[lo:hi], g)
		if v.nulls > 0 {
			for i := range g {
				if v.isNull(lo + i) {
					g[i] = NoGroup
				}
			}
		}
		ss, m := strs[lo:hi], 0
		for i, c := range g {
			if c != NoGroup && b.keys.eq(c, ss[i]) {
				continue
			}
			sc.sel[m] = int32(i)
			m++
		}
		for _, i := range sc.sel[:m] {
			r := lo + int(i)
			var err error
			if v.nulls > 0 && v.isNull(r) {
				g[i], err = b.nullGroup(create)
			} else {
				g[i], err = b.probe(strs[r], hs[r], create)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// findDict resolves a dictionary-encoded batch: each dictionary entry is
// hashed and probed once, on its first use in row order (so new groups are
// still numbered in first-seen order), and rows copy their entry's group.
func (b *bytesImpl) findDict(sc *scratch, v *colView, gids []uint32, create bool) error {
	dv := v.dict
	if cap(sc.memo) < dv.n {
		sc.memo = make([]uint32, dv.n)
	}
	memo := sc.memo[:dv.n]
	for j := range memo {
		memo[j] = unresolved
	}
	gids = gids[:len(v.idx)]
	for i, j := range v.idx {
		if j < 0 {
			g, err := b.nullGroup(create)
			if err != nil {
				return err
			}
			gids[i] = g
			continue
		}
		g := memo[j]
		if g == unresolved {
			s := dv.str[j]
			var err error
			if g, err = b.probe(s, hashString(s, tableSeed), create); err != nil {
				return err
			}
			memo[j] = g
		}
		gids[i] = g
	}
	return nil
}

func (b *bytesImpl) probe(x string, h uint64, create bool) (uint32, error) {
	tag := uint32(h >> 32)
	s, m := b.t.slots, b.t.mask
	j := b.t.home(tag)
	for {
		sl := s[j]
		if sl.ref == 0 {
			break
		}
		if sl.tag == tag && b.keys.eq(sl.ref-1, x) {
			return sl.ref - 1, nil
		}
		j = (j + 1) & m
	}
	if !create {
		return NoGroup, nil
	}
	if b.ng >= maxGroups {
		return NoGroup, ErrTooManyGroups
	}
	gid := uint32(b.ng)
	b.ng++
	b.keys.add(x)
	s[j] = slot{tag, gid + 1}
	b.t.used++
	if b.t.full() {
		b.t.grow(len(s) * 2)
	}
	return gid, nil
}

func (b *bytesImpl) nullGroup(create bool) (uint32, error) {
	if b.nullGid != NoGroup || !create {
		return b.nullGid, nil
	}
	if b.ng >= maxGroups {
		return NoGroup, ErrTooManyGroups
	}
	b.nullGid = uint32(b.ng)
	b.ng++
	b.keys.add("")
	return b.nullGid, nil
}

func (b *bytesImpl) column(_ int, sel []uint32) ([]uint64, []string, []bool) {
	var nb nullBits
	if b.nullGid != NoGroup {
		nb.set(b.nullGid)
	}
	return nil, gatherStr(&b.keys, b.ng, sel), gatherNull(&nb, b.ng, sel)
}

func (b *bytesImpl) reserve(n int) {
	if b.t.slots == nil {
		b.t.resize(minSlots)
	}
	b.t.grow(slotsFor(n))
	b.keys.recs = growSlice(b.keys.recs, n-len(b.keys.recs))
}

func (b *bytesImpl) reset() {
	b.t.reset()
	b.keys.init()
	b.ng = 0
	b.nullGid = NoGroup
}

func (b *bytesImpl) release() { *b = *newBytesImpl() }

func (b *bytesImpl) memoryBytes() int64 {
	return b.t.memoryBytes() + b.keys.memoryBytes()
}
