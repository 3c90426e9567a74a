package hashtab

import (
	"encoding/binary"
	"unsafe"
)

// bytesStore holds one byte-like key column by group id in one arena:
// group g's value is data[offs[g]:offs[g+1]].
type bytesStore struct {
	offs []int64
	data []byte
}

func (s *bytesStore) init() {
	s.offs = append(s.offs[:0], 0)
	s.data = s.data[:0]
}

// eq reports whether group g's value is v. Keys of 8 to 16 bytes (most
// names and ids) compare as two overlapping 8-byte words, inline, instead
// of through the runtime's memequal call.
func (s *bytesStore) eq(g uint32, v string) bool {
	lo, hi := s.offs[g], s.offs[g+1]
	n := int(hi - lo)
	if n != len(v) {
		return false
	}
	if n >= 8 && n <= 16 {
		d := s.data[lo:hi]
		w := unsafe.Slice(unsafe.StringData(v), n)
		return binary.LittleEndian.Uint64(d) == binary.LittleEndian.Uint64(w) &&
			binary.LittleEndian.Uint64(d[n-8:]) == binary.LittleEndian.Uint64(w[n-8:])
	}
	return bstr(s.data, int(lo), int(hi)) == v
}

func (s *bytesStore) get(g uint32) string {
	return bstr(s.data, int(s.offs[g]), int(s.offs[g+1]))
}

func (s *bytesStore) add(v string) {
	if len(s.data)+len(v) > cap(s.data) {
		s.data = growSlice(s.data, max(len(v), cap(s.data)))
	}
	s.data = append(s.data, v...)
	s.offs = append(room(s.offs), int64(len(s.data)))
}

func (s *bytesStore) memoryBytes() int64 { return int64(cap(s.offs))*8 + int64(cap(s.data)) }

// nullBits marks the groups whose key column is NULL.
type nullBits struct {
	bits []uint64
	n    int // groups marked
}

func (b *nullBits) set(g uint32) {
	w := int(g >> 6)
	for len(b.bits) <= w {
		b.bits = append(b.bits, 0)
	}
	b.bits[w] |= 1 << (g & 63)
	b.n++
}

func (b *nullBits) get(g uint32) bool {
	w := int(g >> 6)
	return b.n != 0 && w < len(b.bits) && b.bits[w]&(1<<(g&63)) != 0
}

func (b *nullBits) reset() {
	b.bits = b.bits[:0]
	b.n = 0
}

func (b *nullBits) memoryBytes() int64 { return int64(cap(b.bits)) * 8 }

// growSlice returns s with room for n more elements.
func growSlice[T any](s []T, n int) []T {
	if cap(s)-len(s) >= n {
		return s
	}
	out := make([]T, len(s), len(s)+n)
	copy(out, s)
	return out
}

// room returns s with room for one more element, doubling the capacity
// when full: append's growth factor for large slices (1.25) copies the key
// buffers several times over on their way to millions of groups.
func room[T any](s []T) []T {
	if len(s) < cap(s) {
		return s
	}
	out := make([]T, len(s), max(2*cap(s), 64))
	copy(out, s)
	return out
}
