package agg

import "github.com/apache/arrow-go/v18/arrow/memory"

// slots keeps one variable-length byte value per group (min/max/first/last
// of strings, binary and encoded nested values) in a single growing heap
// instead of a Go string per group. A value that fits the group's previous
// slot is overwritten in place; otherwise it is appended and the old slot
// becomes garbage, which is compacted away once it is over half the heap.
type slots struct {
	offs    vec[int64]
	lens    vec[uint32]
	caps    vec[uint32]
	heap    vec[byte]
	garbage int
}

func newSlots(mem memory.Allocator) slots {
	return slots{offs: newVec[int64](mem), lens: newVec[uint32](mem), caps: newVec[uint32](mem), heap: newVec[byte](mem)}
}

func (s *slots) resize(n int) {
	s.offs.resize(n)
	s.lens.resize(n)
	s.caps.resize(n)
}

func (s *slots) get(g uint32) []byte {
	o := s.offs.s[g]
	return s.heap.s[o : o+int64(s.lens.s[g])]
}

func (s *slots) set(g uint32, b []byte) {
	if c := s.caps.s[g]; len(b) <= int(c) {
		o := s.offs.s[g]
		copy(s.heap.s[o:], b)
		s.lens.s[g] = uint32(len(b))
		return
	}
	s.garbage += int(s.caps.s[g])
	if s.garbage > 1<<16 && s.garbage > s.heap.len()/2 {
		s.compact()
	}
	s.offs.s[g] = int64(s.heap.len())
	s.heap.appendSlice(b)
	s.lens.s[g] = uint32(len(b))
	s.caps.s[g] = uint32(len(b))
}

// compact rewrites the heap with only the live bytes of every group.
func (s *slots) compact() {
	live := 0
	for _, l := range s.lens.s {
		live += int(l)
	}
	h := newVec[byte](s.heap.mem)
	h.reserve(live + live/4)
	for g := range s.offs.s {
		o, l := s.offs.s[g], s.lens.s[g]
		s.offs.s[g] = int64(h.len())
		h.appendSlice(s.heap.s[o : o+int64(l)])
		s.caps.s[g] = l
	}
	s.heap.release()
	s.heap = h
	s.garbage = 0
}

// stats reports the live bytes and the heap size.
func (s *slots) stats() (live, size int) {
	for _, l := range s.lens.s {
		live += int(l)
	}
	return live, s.heap.len()
}

func (s *slots) reset() {
	clear(s.offs.s)
	clear(s.lens.s)
	clear(s.caps.s)
	s.heap.truncate()
	s.garbage = 0
}

func (s *slots) release() {
	s.offs.release()
	s.lens.release()
	s.caps.release()
	s.heap.release()
}
