package hashtab

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// The hash functions here are deterministic across processes and machines:
// HashColumns picks shuffle partitions, and the streaming state store keys its
// partitions by them, so changing any constant or formula below moves keys to
// other partitions and breaks existing checkpoints.

const (
	m0 = 0xa0761d6478bd642f
	m1 = 0xe7037ed1a0b428db
	m2 = 0x8ebc6af09c88c6e3
	m3 = 0x589965cc75374cc3
	m4 = 0x1d8e4e27c47d124f

	// nullHash is the per-column hash of a NULL key value.
	nullHash = 0x9e3779b97f4a7c15

	// partitionSeed seeds HashColumns; tableSeed seeds the Grouper's own
	// hashes. They differ so that a table filled with the rows of one shuffle
	// partition (all sharing some bits of the partition hash) still spreads
	// its keys over all slots.
	partitionSeed = 0
	tableSeed     = 0x2d358dccaa6c78a5
)

// mum multiplies to 128 bits and folds: one multiply that mixes every input
// bit into the high bits of the result.
func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hash64 hashes one canonical 64-bit key value.
func hash64(x, seed uint64) uint64 { return mum(x^seed^m0, m1) }

// hashPair hashes two canonical 64-bit key values (the pair fast path).
func hashPair(a, b, seed uint64) uint64 {
	return mum(mum(a^seed^m0, m1)^b^m2, m3)
}

// combine folds the hash of the next key column into a row's running hash.
func combine(h, c uint64) uint64 { return mum(h^m2, c^m3) }

// hashString hashes a byte string (wyhash-style: 16 bytes per round, short
// strings read with at most two overlapping loads).
func hashString(s string, seed uint64) uint64 {
	n := len(s)
	b := unsafe.Slice(unsafe.StringData(s), n)
	seed ^= m0
	var a, c uint64
	switch {
	case n == 0:
	case n < 4:
		a = uint64(b[0])<<16 | uint64(b[n>>1])<<8 | uint64(b[n-1])
	case n <= 16:
		q := (n >> 3) << 2
		a = uint64(binary.LittleEndian.Uint32(b))<<32 | uint64(binary.LittleEndian.Uint32(b[q:]))
		c = uint64(binary.LittleEndian.Uint32(b[n-4:]))<<32 | uint64(binary.LittleEndian.Uint32(b[n-4-q:]))
	default:
		i := 0
		for ; n-i > 16; i += 16 {
			seed = mum(binary.LittleEndian.Uint64(b[i:])^m1, binary.LittleEndian.Uint64(b[i+8:])^seed)
		}
		a = binary.LittleEndian.Uint64(b[n-16:])
		c = binary.LittleEndian.Uint64(b[n-8:])
	}
	return mum(m1^uint64(n), mum(a^m1, c^seed)^m4)
}

// hashView writes (first) or folds (!first) the hashes of one normalised key
// column into out. A NULL hashes to nullHash whatever value lies under it.
func hashView(v *colView, out []uint64, first bool, seed uint64) {
	n := v.n
	out = out[:n]
	if v.nulls == 0 {
		switch {
		case v.kind == kindFixed && first:
			for i, x := range v.u64[:n] {
				out[i] = hash64(x, seed)
			}
		case v.kind == kindFixed:
			for i, x := range v.u64[:n] {
				out[i] = combine(out[i], hash64(x, seed))
			}
		case first:
			for i, s := range v.str[:n] {
				out[i] = hashString(s, seed)
			}
		default:
			for i, s := range v.str[:n] {
				out[i] = combine(out[i], hashString(s, seed))
			}
		}
		return
	}
	for i := 0; i < n; i++ {
		var c uint64
		switch {
		case v.isNull(i):
			c = nullHash ^ seed
		case v.kind == kindFixed:
			c = hash64(v.u64[i], seed)
		default:
			c = hashString(v.str[i], seed)
		}
		if first {
			out[i] = c
		} else {
			out[i] = combine(out[i], c)
		}
	}
}
