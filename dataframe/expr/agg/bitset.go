package agg

import "github.com/apache/arrow-go/v18/arrow/memory"

// bitset is one bit per group. Hot update loops set "this group has a
// value" flags here rather than in a byte per group: for a million groups
// the bitset stays in L2 cache while a byte array would not, which halves
// the cost of a random-group sum.
type bitset struct{ w vec[uint64] }

func newBitset(mem memory.Allocator) bitset { return bitset{w: newVec[uint64](mem)} }

func (b *bitset) resize(n int) { b.w.resize((n + 63) / 64) }

func (b *bitset) set(g uint32) { b.w.s[g>>6] |= 1 << (g & 63) }

func (b *bitset) get(g uint32) bool { return b.w.s[g>>6]&(1<<(g&63)) != 0 }

// bytes expands the first n bits to one byte per group, for emitting.
func (b *bitset) bytes(n int) []uint8 {
	out := make([]uint8, n)
	for g := range out {
		out[g] = uint8(b.w.s[g>>6]>>(uint(g)&63)) & 1
	}
	return out
}

func (b *bitset) reset()   { clear(b.w.s) }
func (b *bitset) release() { b.w.release() }
