package hashtab

import (
	"encoding/binary"
	"unsafe"
)

// bytesStore holds one byte-like key column by group id. Each group has a
// 24-byte record; values of up to 16 bytes (most names, codes and ids) live
// in the record itself, so comparing a row with a group reads one record
// and nothing else. Longer values keep their first 8 bytes in the record,
// to reject most mismatches, and the rest in an arena.
type bytesStore struct {
	recs []strRec
	data []byte // values longer than 16 bytes
}

type strRec struct {
	// n <= 16: pack16 of the value. Longer: w0 = its first 8 bytes,
	// w1 = its offset in data.
	w0, w1 uint64
	n      uint64
}

func (s *bytesStore) init() {
	s.recs = s.recs[:0]
	s.data = s.data[:0]
}

// pack16 packs a value of at most 16 bytes into two words with at most two
// overlapping loads per word: injective for a given length, and the value
// can be read back (unpack16).
func pack16(v string) (w0, w1 uint64) {
	n := len(v)
	b := unsafe.Slice(unsafe.StringData(v), n)
	switch {
	case n >= 8:
		w0 = binary.LittleEndian.Uint64(b)
		w1 = binary.LittleEndian.Uint64(b[n-8:])
	case n >= 4:
		w0 = uint64(binary.LittleEndian.Uint32(b)) | uint64(binary.LittleEndian.Uint32(b[n-4:]))<<32
	case n > 0:
		w0 = uint64(b[0]) | uint64(b[n>>1])<<8 | uint64(b[n-1])<<16
	}
	return w0, w1
}

// unpack16 appends the value packed in (w0, w1) with length n.
func unpack16(dst []byte, w0, w1 uint64, n int) []byte {
	var buf [16]byte
	switch {
	case n >= 8:
		binary.LittleEndian.PutUint64(buf[:], w0)
		var tail [8]byte
		binary.LittleEndian.PutUint64(tail[:], w1)
		copy(buf[8:n], tail[16-n:])
	case n >= 4:
		binary.LittleEndian.PutUint32(buf[n-4:], uint32(w0>>32))
		binary.LittleEndian.PutUint32(buf[:], uint32(w0))
	case n > 0:
		buf[n-1], buf[n>>1], buf[0] = byte(w0>>16), byte(w0>>8), byte(w0)
	}
	return append(dst, buf[:n]...)
}

func (s *bytesStore) add(v string) {
	n := len(v)
	r := strRec{n: uint64(n)}
	if n <= 16 {
		r.w0, r.w1 = pack16(v)
	} else {
		r.w0 = binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(v), n))
		r.w1 = uint64(len(s.data))
		if len(s.data)+n > cap(s.data) {
			s.data = growSlice(s.data, max(n, cap(s.data)))
		}
		s.data = append(s.data, v...)
	}
	s.recs = append(room(s.recs), r)
}

// eq reports whether group g's value is v.
func (s *bytesStore) eq(g uint32, v string) bool {
	r := &s.recs[g]
	n := len(v)
	if r.n != uint64(n) {
		return false
	}
	if n <= 16 {
		w0, w1 := pack16(v)
		return r.w0 == w0 && r.w1 == w1
	}
	if r.w0 != binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(v), n)) {
		return false
	}
	return bstr(s.data, int(r.w1), int(r.w1)+n) == v
}

// appendValue appends group g's value to dst.
func (s *bytesStore) appendValue(dst []byte, g uint32) []byte {
	r := &s.recs[g]
	if r.n <= 16 {
		return unpack16(dst, r.w0, r.w1, int(r.n))
	}
	return append(dst, s.data[r.w1:r.w1+r.n]...)
}

func (s *bytesStore) memoryBytes() int64 { return int64(cap(s.recs))*24 + int64(cap(s.data)) }

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
