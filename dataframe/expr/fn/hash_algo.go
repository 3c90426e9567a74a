package fn

import (
	"encoding/binary"
	"math/bits"
)

// Spark's hash() and xxhash64() are not the textbook algorithms on a byte
// encoding of the value: Spark hashes an int as one 4-byte block, a long as
// two, and strings with its own tail handling (hashUnsafeBytes mixes each
// trailing byte, sign-extended, as a whole block). Values match Spark only if
// every step below matches org.apache.spark.unsafe.hash.Murmur3_x86_32 and
// org.apache.spark.sql.catalyst.expressions.XXH64.

// sparkHashSeed is the seed both hash() and xxhash64() start every row with.
const sparkHashSeed = 42

const (
	murmurC1 = 0xcc9e2d51
	murmurC2 = 0x1b873593
)

func murmurMixK1(k1 uint32) uint32 {
	k1 *= murmurC1
	k1 = bits.RotateLeft32(k1, 15)
	return k1 * murmurC2
}

func murmurMixH1(h1, k1 uint32) uint32 {
	h1 ^= k1
	h1 = bits.RotateLeft32(h1, 13)
	return h1*5 + 0xe6546b64
}

func murmurFmix(h1 uint32, length uint32) uint32 {
	h1 ^= length
	h1 ^= h1 >> 16
	h1 *= 0x85ebca6b
	h1 ^= h1 >> 13
	h1 *= 0xc2b2ae35
	h1 ^= h1 >> 16
	return h1
}

// murmur3HashInt is Spark's Murmur3_x86_32.hashInt.
func murmur3HashInt(v int32, seed int32) int32 {
	h1 := murmurMixH1(uint32(seed), murmurMixK1(uint32(v)))
	return int32(murmurFmix(h1, 4))
}

// murmur3HashLong is Spark's Murmur3_x86_32.hashLong: low word, then high.
func murmur3HashLong(v int64, seed int32) int32 {
	u := uint64(v)
	h1 := murmurMixH1(uint32(seed), murmurMixK1(uint32(u)))
	h1 = murmurMixH1(h1, murmurMixK1(uint32(u>>32)))
	return int32(murmurFmix(h1, 8))
}

// murmur3HashBytes is Spark's Murmur3_x86_32.hashUnsafeBytes (not the
// standard tail handling: each trailing byte is a sign-extended block).
func murmur3HashBytes(b []byte, seed int32) int32 {
	h1 := uint32(seed)
	n := len(b)
	aligned := n - n%4
	for i := 0; i < aligned; i += 4 {
		h1 = murmurMixH1(h1, murmurMixK1(binary.LittleEndian.Uint32(b[i:])))
	}
	for i := aligned; i < n; i++ {
		h1 = murmurMixH1(h1, murmurMixK1(uint32(int32(int8(b[i])))))
	}
	return int32(murmurFmix(h1, uint32(n)))
}

const (
	xxPrime1 uint64 = 0x9E3779B185EBCA87
	xxPrime2 uint64 = 0xC2B2AE3D27D4EB4F
	xxPrime3 uint64 = 0x165667B19E3779F9
	xxPrime4 uint64 = 0x85EBCA77C2B2AE63
	xxPrime5 uint64 = 0x27D4EB2F165667C5
)

func xxFmix(h uint64) uint64 {
	h ^= h >> 33
	h *= xxPrime2
	h ^= h >> 29
	h *= xxPrime3
	h ^= h >> 32
	return h
}

// xxhash64Int is Spark's XXH64.hashInt (the standard XXH64 of 4 bytes).
func xxhash64Int(v int32, seed int64) int64 {
	h := uint64(seed) + xxPrime5 + 4
	h ^= uint64(uint32(v)) * xxPrime1
	h = bits.RotateLeft64(h, 23)*xxPrime2 + xxPrime3
	return int64(xxFmix(h))
}

// xxhash64Long is Spark's XXH64.hashLong (the standard XXH64 of 8 bytes).
func xxhash64Long(v int64, seed int64) int64 {
	h := uint64(seed) + xxPrime5 + 8
	h ^= bits.RotateLeft64(uint64(v)*xxPrime2, 31) * xxPrime1
	h = bits.RotateLeft64(h, 27)*xxPrime1 + xxPrime4
	return int64(xxFmix(h))
}

func xxRound(acc, input uint64) uint64 {
	acc += input * xxPrime2
	acc = bits.RotateLeft64(acc, 31)
	return acc * xxPrime1
}

func xxMergeRound(h, v uint64) uint64 {
	h ^= xxRound(0, v)
	return h*xxPrime1 + xxPrime4
}

// xxhash64Bytes is Spark's XXH64.hashUnsafeBytes, which is standard XXH64.
func xxhash64Bytes(b []byte, seed int64) int64 {
	s := uint64(seed)
	n := len(b)
	var h uint64
	i := 0
	if n >= 32 {
		v1 := s + xxPrime1 + xxPrime2
		v2 := s + xxPrime2
		v3 := s
		v4 := s - xxPrime1
		for ; i+32 <= n; i += 32 {
			v1 = xxRound(v1, binary.LittleEndian.Uint64(b[i:]))
			v2 = xxRound(v2, binary.LittleEndian.Uint64(b[i+8:]))
			v3 = xxRound(v3, binary.LittleEndian.Uint64(b[i+16:]))
			v4 = xxRound(v4, binary.LittleEndian.Uint64(b[i+24:]))
		}
		h = bits.RotateLeft64(v1, 1) + bits.RotateLeft64(v2, 7) + bits.RotateLeft64(v3, 12) + bits.RotateLeft64(v4, 18)
		h = xxMergeRound(h, v1)
		h = xxMergeRound(h, v2)
		h = xxMergeRound(h, v3)
		h = xxMergeRound(h, v4)
	} else {
		h = s + xxPrime5
	}
	h += uint64(n)
	for ; i+8 <= n; i += 8 {
		h ^= xxRound(0, binary.LittleEndian.Uint64(b[i:]))
		h = bits.RotateLeft64(h, 27)*xxPrime1 + xxPrime4
	}
	if i+4 <= n {
		h ^= uint64(binary.LittleEndian.Uint32(b[i:])) * xxPrime1
		h = bits.RotateLeft64(h, 23)*xxPrime2 + xxPrime3
		i += 4
	}
	for ; i < n; i++ {
		h ^= uint64(b[i]) * xxPrime5
		h = bits.RotateLeft64(h, 11) * xxPrime1
	}
	return int64(xxFmix(h))
}
