package hashtab

import "unsafe"

// pairKeys holds the keys of pairImpl by group id, compactly and without
// ever copying them as they grow:
//
//   - While both parts of every key are sign-extended 32-bit values
//     (window codes, user ids: the common case), a key takes 8 bytes, its
//     two low halves packed; the first key that does not fit converts the
//     store to 16-byte keys.
//   - Keys live in segments of keySegSize entries. Growing adds a segment
//     rather than doubling one contiguous array: 10M keys never hold an
//     old and a new copy at once, nor up to twice the room they need. The
//     first segment grows by doubling, so small tables stay small.
type pairKeys struct {
	wide   bool
	n      int
	narrow [][]uint64  // low 32 bits: part a, high 32 bits: part b
	wideS  [][]pairKey // after the first key beyond 32 bits
}

const (
	keySegBits = 16
	keySegSize = 1 << keySegBits
	keySegMask = keySegSize - 1
)

func packNarrow(a, b uint64) uint64 { return uint64(uint32(a)) | uint64(uint32(b))<<32 }

func unpackNarrow(x uint64) (a, b uint64) {
	return uint64(int64(int32(uint32(x)))), uint64(int64(int32(uint32(x >> 32))))
}

func (k *pairKeys) len() int { return k.n }

// get returns group g's key.
func (k *pairKeys) get(g uint32) (a, b uint64) {
	if k.wide {
		e := k.wideS[g>>keySegBits][g&keySegMask]
		return e.a, e.b
	}
	return unpackNarrow(k.narrow[g>>keySegBits][g&keySegMask])
}

// add appends the key of a new group (id k.len()).
func (k *pairKeys) add(a, b uint64) {
	if !k.wide && (!fits32(a) || !fits32(b)) {
		k.toWide()
	}
	g := k.n
	if k.wide {
		k.wideS = roomSeg(k.wideS, g)
		s := k.wideS[g>>keySegBits]
		k.wideS[g>>keySegBits] = append(s, pairKey{a, b})
	} else {
		k.narrow = roomSeg(k.narrow, g)
		s := k.narrow[g>>keySegBits]
		k.narrow[g>>keySegBits] = append(s, packNarrow(a, b))
	}
	k.n++
}

// roomSeg makes room for element g (== the count so far) in segs.
func roomSeg[T any](segs [][]T, g int) [][]T {
	si := g >> keySegBits
	if si == len(segs) {
		size := keySegSize
		if si == 0 {
			size = 64
		}
		return append(segs, make([]T, 0, size))
	}
	if s := segs[si]; len(s) == cap(s) { // only the first segment is ever short
		out := make([]T, len(s), min(2*cap(s), keySegSize))
		copy(out, s)
		segs[si] = out
	}
	return segs
}

// toWide converts the keys to 16 bytes each.
func (k *pairKeys) toWide() {
	k.wide = true
	k.wideS = make([][]pairKey, len(k.narrow))
	for i, s := range k.narrow {
		w := make([]pairKey, len(s), cap(s))
		for j, x := range s {
			a, b := unpackNarrow(x)
			w[j] = pairKey{a, b}
		}
		k.wideS[i] = w
	}
	k.narrow = nil
}

// reserve makes room for n keys in total.
func (k *pairKeys) reserve(n int) {
	if n <= k.n {
		return
	}
	if k.wide {
		k.wideS = reserveSegs(k.wideS, n)
	} else {
		k.narrow = reserveSegs(k.narrow, n)
	}
}

func reserveSegs[T any](segs [][]T, n int) [][]T {
	if len(segs) == 0 {
		segs = append(segs, make([]T, 0, min(n, keySegSize)))
	}
	if s := segs[0]; cap(s) < keySegSize && n > cap(s) {
		out := make([]T, len(s), min(max(n, 2*cap(s)), keySegSize))
		copy(out, s)
		segs[0] = out
	}
	for len(segs)<<keySegBits < n {
		segs = append(segs, make([]T, 0, keySegSize))
	}
	return segs
}

// reset forgets the keys, keeping the segments for reuse (and the width).
func (k *pairKeys) reset() {
	for i := range k.narrow {
		k.narrow[i] = k.narrow[i][:0]
	}
	for i := range k.wideS {
		k.wideS[i] = k.wideS[i][:0]
	}
	k.n = 0
}

func (k *pairKeys) memoryBytes() int64 {
	var b int64
	for _, s := range k.narrow {
		b += int64(cap(s)) * 8
	}
	for _, s := range k.wideS {
		b += int64(cap(s)) * int64(unsafe.Sizeof(pairKey{}))
	}
	return b
}

// columnInto writes part c of the groups in sel (all when nil) to dst,
// which has room for them.
func (k *pairKeys) columnInto(c int, sel []uint32, dst []uint64) {
	if sel == nil {
		dst = dst[:0]
		if k.wide {
			for _, s := range k.wideS {
				for _, e := range s {
					if c == 0 {
						dst = append(dst, e.a)
					} else {
						dst = append(dst, e.b)
					}
				}
			}
			return
		}
		shift := uint(32 * c)
		for _, s := range k.narrow {
			for _, x := range s {
				dst = append(dst, uint64(int64(int32(uint32(x>>shift)))))
			}
		}
		return
	}
	dst = dst[:len(sel)]
	if k.wide {
		for i, g := range sel {
			e := &k.wideS[g>>keySegBits][g&keySegMask]
			if c == 0 {
				dst[i] = e.a
			} else {
				dst[i] = e.b
			}
		}
		return
	}
	shift := uint(32 * c)
	for i, g := range sel {
		dst[i] = uint64(int64(int32(uint32(k.narrow[g>>keySegBits][g&keySegMask] >> shift))))
	}
}

// column gathers part c (0: a, 1: b) of the groups in sel (all when nil).
func (k *pairKeys) column(c int, sel []uint32) []uint64 {
	if sel == nil {
		out := make([]uint64, 0, k.n)
		if k.wide {
			for _, s := range k.wideS {
				for _, e := range s {
					if c == 0 {
						out = append(out, e.a)
					} else {
						out = append(out, e.b)
					}
				}
			}
			return out
		}
		shift := uint(32 * c)
		for _, s := range k.narrow {
			for _, x := range s {
				out = append(out, uint64(int64(int32(uint32(x>>shift)))))
			}
		}
		return out
	}
	out := make([]uint64, len(sel))
	if k.wide {
		for i, g := range sel {
			e := &k.wideS[g>>keySegBits][g&keySegMask]
			if c == 0 {
				out[i] = e.a
			} else {
				out[i] = e.b
			}
		}
		return out
	}
	shift := uint(32 * c)
	for i, g := range sel {
		out[i] = uint64(int64(int32(uint32(k.narrow[g>>keySegBits][g&keySegMask] >> shift))))
	}
	return out
}
