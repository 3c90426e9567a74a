package hashtab

// pairImpl groups by two key columns of at most 8 bytes each: the shape of
// GROUP BY (user_id, window). The two canonical patterns are kept together
// as one 128-bit key per group, so verifying a candidate reads one 16-byte
// entry. Keys with a NULL part live outside the table, in a small map.
//
// When one column has few distinct values that arrive clustered (windows of
// time-ordered input), the table is split by that column's value
// (group_pair_parts.go): the rows of a batch then hit one small sub-table
// that stays in cache, instead of a table of all groups ever seen.
type pairImpl struct {
	mode  pairMode
	t     table    // pairFlat
	keys  pairKeys // by group id; NULL parts hold 0
	nulls [2]nullBits
	side  map[nullPairKey]uint32
	pp    pairParts // pairParted
	hint  int       // Reserve's group count, for the flat table
}

type pairMode uint8

const (
	pairUndecided pairMode = iota // until the first non-empty batch
	pairFlat
	pairParted
)

type pairKey struct{ a, b uint64 }

type nullPairKey struct {
	pairKey
	mask uint8 // bit c set: column c is NULL
}

func newPairImpl() *pairImpl { return &pairImpl{} }

func (p *pairImpl) numGroups() int { return p.keys.len() }

func (p *pairImpl) find(sc *scratch, gids []uint32, create bool) error {
	va, vb := &sc.views[0], &sc.views[1]
	if p.mode == pairUndecided {
		if !create { // nothing inserted yet
			fillNoGroup(gids)
			return nil
		}
		p.decide(va, vb)
	}
	start := 0
	if p.mode == pairParted {
		// Only Insert changes the layout: a Lookup leaves the table as it
		// is for concurrent Probers, and the partitioned layout answers
		// any batch correctly.
		if create && !p.clustered(va, vb) {
			p.toFlat()
		} else {
			var err error
			if start, err = p.findParted(sc, va, vb, gids, create); err != nil || start == va.n {
				return err
			}
		}
	}
	return p.findFlat(sc, va, vb, gids, create, start)
}

// findFlat resolves rows start.. with the flat table.
func (p *pairImpl) findFlat(sc *scratch, va, vb *colView, gids []uint32, create bool, start int) error {
	n := va.n
	if p.t.slots == nil {
		if !create { // nothing inserted yet
			fillNoGroup(gids[start:])
			return nil
		}
		p.t.resize(slotsFor(p.hint))
	}
	a, b := va.u64[:n], vb.u64[:n]
	hs := sc.hashes(n)
	for i := start; i < n; i++ {
		hs[i] = hashPair(a[i], b[i], tableSeed)
	}
	anyNull := va.nulls > 0 || vb.nulls > 0
	for lo := start; lo < n; lo += chunkRows {
		hi := min(lo+chunkRows, n)
		g := gids[lo:hi]
		p.t.candidates(sc, hs[lo:hi], g)
		if anyNull {
			for i := range g {
				if va.isNull(lo+i) || vb.isNull(lo+i) {
					g[i] = NoGroup
				}
			}
		}
		keys, aa, bb, m := &p.keys, a[lo:hi], b[lo:hi], 0
		bb = bb[:len(aa)]
		for i, c := range g {
			if c != NoGroup {
				if ka, kb := keys.get(c); ka == aa[i] && kb == bb[i] {
					continue
				}
			}
			sc.sel[m] = int32(i)
			m++
		}
		for _, i := range sc.sel[:m] {
			r := lo + int(i)
			var err error
			if anyNull && (va.isNull(r) || vb.isNull(r)) {
				g[i], err = p.nullGroup(va, vb, r, create)
			} else {
				g[i], err = p.probe(a[r], b[r], hs[r], create)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *pairImpl) probe(a, b, h uint64, create bool) (uint32, error) {
	tag := uint32(h >> 32)
	s, m := p.t.slots, p.t.mask
	j := p.t.home(tag)
	for {
		sl := s[j]
		if sl.ref == 0 {
			break
		}
		if sl.tag == tag {
			if ka, kb := p.keys.get(sl.ref - 1); ka == a && kb == b {
				return sl.ref - 1, nil
			}
		}
		j = (j + 1) & m
	}
	if !create {
		return NoGroup, nil
	}
	if p.keys.len() >= maxGroups {
		return NoGroup, ErrTooManyGroups
	}
	gid := uint32(p.keys.len())
	p.keys.add(a, b)
	s[j] = slot{tag, gid + 1}
	p.t.used++
	if p.t.full() {
		p.t.grow(len(s) * 2)
	}
	return gid, nil
}

func (p *pairImpl) nullGroup(va, vb *colView, r int, create bool) (uint32, error) {
	var k nullPairKey
	if va.isNull(r) {
		k.mask |= 1
	} else {
		k.a = va.u64[r]
	}
	if vb.isNull(r) {
		k.mask |= 2
	} else {
		k.b = vb.u64[r]
	}
	if gid, ok := p.side[k]; ok {
		return gid, nil
	}
	if !create {
		return NoGroup, nil
	}
	if p.keys.len() >= maxGroups {
		return NoGroup, ErrTooManyGroups
	}
	gid := uint32(p.keys.len())
	p.keys.add(k.a, k.b)
	if p.side == nil {
		p.side = make(map[nullPairKey]uint32)
	}
	p.side[k] = gid
	for c := range 2 {
		if k.mask&(1<<c) != 0 {
			p.nulls[c].set(gid)
		}
	}
	return gid, nil
}

// rebuild makes the flat table from the keys (leaving the partitioned
// mode).
func (p *pairImpl) rebuild(c int) {
	side := len(p.side) > 0
	p.t.rebuild(c, p.keys.len(), func(lo int, hs []uint64, refs []uint32) {
		for i := range hs {
			a, b := p.keys.get(uint32(lo + i))
			hs[i] = hashPair(a, b, tableSeed)
			if side && (p.nulls[0].get(uint32(lo+i)) || p.nulls[1].get(uint32(lo+i))) {
				refs[i] = 0
			}
		}
	})
}

func (p *pairImpl) gatherFixed(c int, sel []uint32, dst []uint64) []bool {
	p.keys.columnInto(c, sel, dst)
	return gatherNull(&p.nulls[c], p.keys.len(), sel)
}

func (p *pairImpl) column(c int, sel []uint32) ([]uint64, []string, []bool) {
	return p.keys.column(c, sel), nil, gatherNull(&p.nulls[c], p.keys.len(), sel)
}

func (p *pairImpl) reserve(n int) {
	p.hint = max(p.hint, n)
	if p.mode == pairFlat {
		p.t.grow(slotsFor(n))
	}
	p.keys.reserve(n)
}

func (p *pairImpl) reset() {
	p.mode = pairUndecided
	p.t.reset()
	p.pp.reset()
	p.keys.reset()
	p.nulls[0].reset()
	p.nulls[1].reset()
	clear(p.side)
}

func (p *pairImpl) release() { *p = *newPairImpl() }

func (p *pairImpl) memoryBytes() int64 {
	// A map entry costs about its key, value and a control byte.
	return p.t.memoryBytes() + p.pp.memoryBytes() + p.keys.memoryBytes() +
		p.nulls[0].memoryBytes() + p.nulls[1].memoryBytes() + int64(len(p.side))*32
}
