package state

import "math/bits"

// bitset is a growable set of slots.
type bitset []uint64

// grow makes room for bits 0..n-1 (new bits clear).
func (b *bitset) grow(n int) {
	w := (n + 63) >> 6
	if w <= len(*b) {
		return
	}
	if w <= cap(*b) {
		old := len(*b)
		*b = (*b)[:w]
		clear((*b)[old:])
		return
	}
	nb := make([]uint64, w, max(w, 2*cap(*b)))
	copy(nb, *b)
	*b = nb
}

func (b bitset) get(i uint32) bool {
	w := int(i >> 6)
	return w < len(b) && b[w]&(1<<(i&63)) != 0
}

// set needs room (grow) for i.
func (b bitset) set(i uint32) { b[i>>6] |= 1 << (i & 63) }

func (b bitset) clear(i uint32) {
	if w := int(i >> 6); w < len(b) {
		b[w] &^= 1 << (i & 63)
	}
}

func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

func (b bitset) memoryBytes() int64 { return int64(cap(b)) * 8 }
