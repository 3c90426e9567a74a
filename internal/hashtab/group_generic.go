package hashtab

// genericImpl groups by any number of key columns of any supported kind.
// Keys are stored column by column (typed: canonical uint64 patterns or
// string records) with a NULL bitmap per column; NULLs are ordinary key values
// in the table. Candidates are verified a column at a time over a whole
// chunk, so the per-row work of the common "key exists" case is a typed
// loop, not an interface call per value.
type genericImpl struct {
	t    table
	cols []genCol
	ng   int // groups
}

type genCol struct {
	kind  kind
	vals  []uint64   // kindFixed
	bytes bytesStore // kindBytes, kindNested
	nulls nullBits
}

func newGenericImpl(kts []keyType) *genericImpl {
	gi := &genericImpl{cols: make([]genCol, len(kts))}
	for i, kt := range kts {
		gi.cols[i].kind = kt.kind
		gi.cols[i].bytes.init()
	}
	return gi
}

func (gi *genericImpl) numGroups() int { return gi.ng }

func (gi *genericImpl) find(sc *scratch, gids []uint32, create bool) error {
	views := sc.views
	if gi.t.slots == nil {
		if !create { // nothing inserted yet
			fillNoGroup(gids)
			return nil
		}
		gi.t.resize(minSlots)
	}
	n := views[0].n
	hs := sc.hashes(n)
	for c := range views {
		hashView(&views[c], hs, c == 0, tableSeed)
	}
	for lo := 0; lo < n; lo += chunkRows {
		hi := min(lo+chunkRows, n)
		g := gids[lo:hi]
		gi.t.candidates(sc, hs[lo:hi], g)
		for c := range views {
			gi.verify(&views[c], &gi.cols[c], lo, g)
		}
		m := 0
		for i, c := range g {
			if c == NoGroup {
				sc.sel[m] = int32(i)
				m++
			}
		}
		for _, i := range sc.sel[:m] {
			r := lo + int(i)
			var err error
			if g[i], err = gi.probe(views, r, hs[r], create); err != nil {
				return err
			}
		}
	}
	return nil
}

// verify clears the candidates of rows lo.. whose value in this column
// differs from the candidate group's.
func (gi *genericImpl) verify(v *colView, col *genCol, lo int, g []uint32) {
	checkNull := v.nulls > 0 || col.nulls.n > 0
	if v.kind == kindFixed {
		vals, vv := col.vals, v.u64[lo:lo+len(g)]
		for i, c := range g {
			if c == NoGroup {
				continue
			}
			if checkNull {
				rn, sn := v.isNull(lo+i), col.nulls.get(c)
				if rn != sn {
					g[i] = NoGroup
				}
				if rn || sn {
					continue
				}
			}
			if vals[c] != vv[i] {
				g[i] = NoGroup
			}
		}
		return
	}
	st, ss := &col.bytes, v.str[lo:lo+len(g)]
	for i, c := range g {
		if c == NoGroup {
			continue
		}
		if checkNull {
			rn, sn := v.isNull(lo+i), col.nulls.get(c)
			if rn != sn {
				g[i] = NoGroup
			}
			if rn || sn {
				continue
			}
		}
		if !st.eq(c, ss[i]) {
			g[i] = NoGroup
		}
	}
}

// eqRow reports whether row r's key equals group g's.
func (gi *genericImpl) eqRow(views []colView, r int, g uint32) bool {
	for c := range views {
		v, col := &views[c], &gi.cols[c]
		rn, sn := v.isNull(r), col.nulls.get(g)
		if rn != sn {
			return false
		}
		if rn {
			continue
		}
		if v.kind == kindFixed {
			if col.vals[g] != v.u64[r] {
				return false
			}
		} else if !col.bytes.eq(g, v.str[r]) {
			return false
		}
	}
	return true
}

func (gi *genericImpl) probe(views []colView, r int, h uint64, create bool) (uint32, error) {
	tag := uint32(h >> 32)
	s, m := gi.t.slots, gi.t.mask
	j := gi.t.home(tag)
	for {
		sl := s[j]
		if sl.ref == 0 {
			break
		}
		if sl.tag == tag && gi.eqRow(views, r, sl.ref-1) {
			return sl.ref - 1, nil
		}
		j = (j + 1) & m
	}
	if !create {
		return NoGroup, nil
	}
	if gi.ng >= maxGroups {
		return NoGroup, ErrTooManyGroups
	}
	gid := uint32(gi.ng)
	gi.ng++
	for c := range views {
		v, col := &views[c], &gi.cols[c]
		null := v.isNull(r)
		if null {
			col.nulls.set(gid)
		}
		switch {
		case v.kind == kindFixed && null:
			col.vals = append(room(col.vals), 0)
		case v.kind == kindFixed:
			col.vals = append(room(col.vals), v.u64[r])
		case null:
			col.bytes.add("")
		default:
			col.bytes.add(v.str[r])
		}
	}
	s[j] = slot{tag, gid + 1}
	gi.t.used++
	if gi.t.full() {
		gi.t.grow(len(s) * 2)
	}
	return gid, nil
}

func (gi *genericImpl) column(c int, sel []uint32) ([]uint64, []string, []bool) {
	col := &gi.cols[c]
	n := gi.ng
	null := gatherNull(&col.nulls, n, sel)
	if col.kind == kindFixed {
		return gatherU64(col.vals, sel), nil, null
	}
	return nil, gatherStr(&col.bytes, n, sel), null
}

func (gi *genericImpl) reserve(n int) {
	if gi.t.slots == nil {
		gi.t.resize(minSlots)
	}
	gi.t.grow(slotsFor(n))
	for i := range gi.cols {
		col := &gi.cols[i]
		if col.kind == kindFixed {
			col.vals = growSlice(col.vals, n-len(col.vals))
		} else {
			col.bytes.recs = growSlice(col.bytes.recs, n-len(col.bytes.recs))
		}
	}
}

func (gi *genericImpl) reset() {
	gi.t.reset()
	gi.ng = 0
	for i := range gi.cols {
		col := &gi.cols[i]
		col.vals = col.vals[:0]
		col.bytes.init()
		col.nulls.reset()
	}
}

func (gi *genericImpl) release() {
	kinds := make([]keyType, len(gi.cols))
	for i, col := range gi.cols {
		kinds[i].kind = col.kind
	}
	*gi = *newGenericImpl(kinds)
}

func (gi *genericImpl) memoryBytes() int64 {
	b := gi.t.memoryBytes()
	for i := range gi.cols {
		col := &gi.cols[i]
		b += int64(cap(col.vals))*8 + col.bytes.memoryBytes() + col.nulls.memoryBytes()
	}
	return b
}
