package agg

import (
	"encoding/binary"
	"math"
)

// Hashing for distinct sets and HyperLogLog. approx_count_distinct keeps
// registers in streaming state, so these functions are part of the state
// format: changing them changes which register a value lands in. They are
// deliberately self-contained (no process seed, no dependency).

const (
	hk0 = 0x9E3779B97F4A7C15
	hk1 = 0xBF58476D1CE4E5B9
	hk2 = 0x94D049BB133111EB
)

// mix64 is the splitmix64 finalizer: a bijection with full avalanche, so
// sequential integers spread over all 64 bits.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= hk1
	x ^= x >> 27
	x *= hk2
	x ^= x >> 31
	return x
}

// hashBytes hashes a byte string eight bytes at a time.
func hashBytes(b []byte) uint64 {
	h := uint64(len(b))*hk0 + hk1
	for len(b) >= 8 {
		h = mix64(h ^ binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	if len(b) > 0 {
		var t uint64
		for i, c := range b {
			t |= uint64(c) << (8 * uint(i))
		}
		h = mix64(h ^ t ^ hk2)
	}
	return mix64(h)
}

// hashGroup combines a value hash with its group id.
func hashGroup(h uint64, g uint32) uint64 { return mix64(h ^ uint64(g)*hk0) }

// u128 is the raw form of 16-byte values (decimal128, month-day-nano).
type u128 struct{ lo, hi uint64 }

type uints interface {
	~uint8 | ~uint16 | ~uint32 | ~uint64
}

func hashUints[K uints](keys []K, out []uint64) []uint64 {
	out = growU64(out, len(keys))
	for i, k := range keys {
		out[i] = mix64(uint64(k))
	}
	return out
}

func hashU128(keys []u128, out []uint64) []uint64 {
	out = growU64(out, len(keys))
	for i, k := range keys {
		out[i] = mix64(k.lo ^ mix64(k.hi+hk0))
	}
	return out
}

func growU64(s []uint64, n int) []uint64 {
	if cap(s) < n {
		return make([]uint64, n)
	}
	return s[:n]
}

// Spark normalises floating-point keys before grouping and DISTINCT: every
// NaN is one value and -0.0 equals 0.0.

func normFloat32Bits(b uint32) uint32 {
	f := math.Float32frombits(b)
	switch {
	case f != f:
		return 0x7fc00000
	case f == 0:
		return 0
	}
	return b
}

func normFloat64Bits(b uint64) uint64 {
	f := math.Float64frombits(b)
	switch {
	case f != f:
		return 0x7ff8000000000000
	case f == 0:
		return 0
	}
	return b
}
