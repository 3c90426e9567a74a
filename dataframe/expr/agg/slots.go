package agg

import (
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// slots keeps one variable-length byte value per group (min/max/first/last
// of strings, binary and encoded nested values) without a Go string per
// group. Each group has a 16-byte slot: values up to 12 bytes live in the
// slot itself (one cache line touched per row); longer ones live in a
// single growing heap. A long value that fits the group's previous heap
// space is overwritten in place; otherwise it is appended and the old space
// becomes garbage, compacted away once it is over half the heap.
type slots struct {
	meta    vec[slot]
	heap    vec[byte]
	garbage int
}

const slotInline = 12

type slot struct {
	n   uint32
	buf [slotInline]byte // the value, or heap offset (8 bytes) and capacity (4)
}

func (sl *slot) heapRef() (off int64, c uint32) {
	return int64(binary.LittleEndian.Uint64(sl.buf[:8])), binary.LittleEndian.Uint32(sl.buf[8:])
}

func (sl *slot) setHeapRef(off int64, c uint32) {
	binary.LittleEndian.PutUint64(sl.buf[:8], uint64(off))
	binary.LittleEndian.PutUint32(sl.buf[8:], c)
}

func newSlots(mem memory.Allocator) slots {
	return slots{meta: newVec[slot](mem), heap: newVec[byte](mem)}
}

func (s *slots) resize(n int) { s.meta.resize(n) }

func (s *slots) len(g uint32) int { return int(s.meta.s[g].n) }

// get returns group g's value; it is valid until the next set or resize.
func (s *slots) get(g uint32) []byte {
	sl := &s.meta.s[g]
	if sl.n <= slotInline {
		return sl.buf[:sl.n]
	}
	off, _ := sl.heapRef()
	return s.heap.s[off : off+int64(sl.n)]
}

func (s *slots) set(g uint32, b []byte) {
	sl := &s.meta.s[g]
	var off int64
	var c uint32
	if sl.n > slotInline {
		off, c = sl.heapRef()
	}
	switch {
	case len(b) <= slotInline:
		s.garbage += int(c)
		sl.n = uint32(len(b))
		copy(sl.buf[:], b)
	case len(b) <= int(c):
		copy(s.heap.s[off:], b)
		sl.n = uint32(len(b))
	default:
		s.garbage += int(c)
		sl.n = 0 // the old bytes are garbage: compaction must not keep them
		if s.garbage > 1<<16 && s.garbage > s.heap.len()/2 {
			s.compact()
			sl = &s.meta.s[g]
		}
		off := int64(s.heap.len())
		s.heap.appendSlice(b)
		sl.n = uint32(len(b))
		sl.setHeapRef(off, uint32(len(b)))
	}
}

// compact rewrites the heap with only the live bytes of every group.
func (s *slots) compact() {
	live, _ := s.stats()
	h := newVec[byte](s.heap.mem)
	h.reserve(live + live/4)
	for g := range s.meta.s {
		sl := &s.meta.s[g]
		if sl.n <= slotInline {
			continue
		}
		off, _ := sl.heapRef()
		sl.setHeapRef(int64(h.len()), sl.n)
		h.appendSlice(s.heap.s[off : off+int64(sl.n)])
	}
	s.heap.release()
	s.heap = h
	s.garbage = 0
}

// stats reports the live heap bytes and the heap size.
func (s *slots) stats() (live, size int) {
	for _, sl := range s.meta.s {
		if sl.n > slotInline {
			live += int(sl.n)
		}
	}
	return live, s.heap.len()
}

func (s *slots) reset() {
	clear(s.meta.s)
	s.heap.truncate()
	s.garbage = 0
}

func (s *slots) release() {
	s.meta.release()
	s.heap.release()
}
