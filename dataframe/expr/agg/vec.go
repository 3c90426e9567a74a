package agg

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// vec is a growable slice of a pointer-free element type whose memory comes
// from the accumulator's allocator, so aggregation state is accounted (and
// checked in tests) like every Arrow buffer. T must not contain pointers:
// the garbage collector does not see into allocator memory.
type vec[T any] struct {
	mem memory.Allocator
	raw []byte // the allocation; len(raw) is the capacity in bytes
	s   []T    // the elements; cap(s) == len(raw)/size
}

func newVec[T any](mem memory.Allocator) vec[T] { return vec[T]{mem: mem} }

func (v *vec[T]) len() int { return len(v.s) }

// reserve makes room for n elements without changing the length.
func (v *vec[T]) reserve(n int) {
	if n <= cap(v.s) {
		return
	}
	var zero T
	size := int(unsafe.Sizeof(zero))
	c := max(n, 2*cap(v.s), 64/size)
	l := len(v.s)
	if v.raw == nil {
		v.raw = v.mem.Allocate(c * size)
	} else {
		v.raw = v.mem.Reallocate(c*size, v.raw)
	}
	v.s = unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(v.raw))), c)[:l]
}

// resize sets the length to n; elements past the old length are zeroed.
func (v *vec[T]) resize(n int) {
	if n <= len(v.s) {
		v.s = v.s[:n]
		return
	}
	v.reserve(n)
	l := len(v.s)
	v.s = v.s[:n]
	clear(v.s[l:])
}

// resizeFill is resize with new elements set to fill instead of zero.
func (v *vec[T]) resizeFill(n int, fill T) {
	l := len(v.s)
	v.resize(n)
	for i := l; i < n; i++ {
		v.s[i] = fill
	}
}

func (v *vec[T]) push(x T) {
	if len(v.s) == cap(v.s) {
		v.reserve(len(v.s) + 1)
	}
	v.s = append(v.s, x)
}

// appendSlice appends xs (used for byte heaps).
func (v *vec[T]) appendSlice(xs []T) {
	v.reserve(len(v.s) + len(xs))
	v.s = append(v.s, xs...)
}

// truncate keeps capacity and sets the length to 0.
func (v *vec[T]) truncate() { v.s = v.s[:0] }

func (v *vec[T]) release() {
	if v.raw != nil {
		v.mem.Free(v.raw)
	}
	v.raw, v.s = nil, nil
}
