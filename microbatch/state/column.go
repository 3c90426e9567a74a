package state

import (
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// column holds one value column of a table by slot, in Go memory. New
// slots (grow) and cleared slots are NULL.
type column interface {
	// grow makes slots 0..n-1 addressable.
	grow(n int)
	// set writes row i of src to slot slots[i], skipping NoSlot. src has
	// the column's type and len(slots) rows; it is not retained.
	set(src arrow.Array, slots []uint32) error
	// clear makes a slot NULL and frees what it held.
	clear(slot uint32)
	// gather builds an array of the values of sel (NULL for NoSlot),
	// owned by the caller.
	gather(mem memory.Allocator, sel []uint32) (arrow.Array, error)
	// permute keeps the slots in keep, renumbered 0..len(keep)-1 (table
	// compaction).
	permute(keep []uint32) error
	memoryBytes() int64
	// release frees Arrow memory held by the column.
	release()
}

// newColumn picks the storage for a value type: typed fixed-width
// buffers, a bitmap, a byte arena, or retained Arrow arrays for the rest.
func newColumn(dt arrow.DataType, mem memory.Allocator) column {
	switch dt.ID() {
	case arrow.BOOL:
		return &boolCol{dt: dt}
	case arrow.STRING, arrow.BINARY:
		return &bytesCol{dt: dt}
	case arrow.LARGE_STRING, arrow.LARGE_BINARY:
		return &bytesCol{dt: dt, large: true}
	case arrow.DICTIONARY, arrow.EXTENSION, arrow.NULL:
		return &genericCol{dt: dt, mem: mem}
	}
	if fw, ok := dt.(arrow.FixedWidthDataType); ok {
		switch fw.BitWidth() {
		case 8:
			return &fixedCol[uint8]{dt: dt}
		case 16:
			return &fixedCol[uint16]{dt: dt}
		case 32:
			return &fixedCol[uint32]{dt: dt}
		case 64:
			return &fixedCol[uint64]{dt: dt}
		case 128:
			return &fixedCol[[2]uint64]{dt: dt}
		case 256:
			return &fixedCol[[4]uint64]{dt: dt}
		}
	}
	return &genericCol{dt: dt, mem: mem}
}

// Values are stored in segments of segSize slots, so that growing a
// column of millions of rows never copies it (and never holds the old and
// the new copy at once). The first segment grows by doubling, so small
// stores stay small.
const (
	segBits = 16
	segSize = 1 << segBits
	segMask = segSize - 1
)

type fixedElem interface {
	~uint8 | ~uint16 | ~uint32 | ~uint64 | [2]uint64 | [4]uint64
}

// fixedCol stores a fixed-width type (integers, floats, dates,
// timestamps, durations, decimals, intervals, fixed-size binaries of
// 1-32 bytes) as raw values of its width.
type fixedCol[T fixedElem] struct {
	dt    arrow.DataType
	segs  [][]T
	valid bitset
	n     int
}

func (c *fixedCol[T]) grow(n int) {
	if n <= c.n {
		return
	}
	c.n = n
	c.valid.grow(n)
	c.segs = growSegs(c.segs, n)
}

// growSegs makes segments hold n elements.
func growSegs[T any](segs [][]T, n int) [][]T {
	if len(segs) == 0 {
		segs = append(segs, nil)
	}
	if n <= segSize {
		segs[0] = growLen(segs[0], n)
		return segs
	}
	segs[0] = growLen(segs[0], segSize)
	for len(segs)<<segBits < n {
		segs = append(segs, make([]T, segSize))
	}
	return segs
}

// growLen extends s to n zeroed elements, doubling its capacity (at most
// to segSize).
func growLen[T any](s []T, n int) []T {
	if n <= len(s) {
		return s
	}
	if n <= cap(s) {
		old := len(s)
		s = s[:n]
		clear(s[old:])
		return s
	}
	out := make([]T, n, min(max(n, 2*cap(s), 64), max(n, segSize)))
	copy(out, s)
	return out
}

// growDouble extends s to n zeroed elements, at least doubling its
// capacity when it must reallocate.
func growDouble[T any](s []T, n int) []T {
	if n <= len(s) {
		return s
	}
	if n <= cap(s) {
		old := len(s)
		s = s[:n]
		clear(s[old:])
		return s
	}
	out := make([]T, n, max(n, 2*cap(s), 64))
	copy(out, s)
	return out
}

// castBuf views the bytes of an Arrow buffer as values of T.
func castBuf[T any](b []byte) []T {
	var z T
	sz := int(unsafe.Sizeof(z))
	if len(b) < sz {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/sz)
}

func bufBytes(d arrow.ArrayData, i int) []byte {
	bufs := d.Buffers()
	if i >= len(bufs) || bufs[i] == nil {
		return nil
	}
	return bufs[i].Bytes()
}

func (c *fixedCol[T]) set(src arrow.Array, slots []uint32) error {
	n := src.Len()
	if n == 0 {
		return nil
	}
	d := src.Data()
	off := d.Offset()
	vals := castBuf[T](bufBytes(d, 1))
	if len(vals) < off+n {
		return fmt.Errorf("%w: %s value buffer holds %d values, the array needs %d", ErrBadInput, c.dt, len(vals), off+n)
	}
	vals = vals[off : off+n]
	if src.NullN() == 0 {
		for i, s := range slots[:n] {
			if s == NoSlot {
				continue
			}
			c.segs[s>>segBits][s&segMask] = vals[i]
			c.valid.set(s)
		}
		return nil
	}
	bm := bufBytes(d, 0)
	var zero T
	for i, s := range slots[:n] {
		if s == NoSlot {
			continue
		}
		if bitutil.BitIsSet(bm, off+i) {
			c.segs[s>>segBits][s&segMask] = vals[i]
			c.valid.set(s)
		} else {
			c.segs[s>>segBits][s&segMask] = zero
			c.valid.clear(s)
		}
	}
	return nil
}

func (c *fixedCol[T]) clear(s uint32) {
	var zero T
	c.segs[s>>segBits][s&segMask] = zero
	c.valid.clear(s)
}

func (c *fixedCol[T]) gather(mem memory.Allocator, sel []uint32) (arrow.Array, error) {
	n := len(sel)
	var zero T
	vb := memory.NewResizableBuffer(mem)
	vb.Resize(n * int(unsafe.Sizeof(zero)))
	out := castBuf[T](vb.Bytes())
	nb := newValidity(mem, n)
	bits := nb.Bytes()
	nulls := 0
	for i, s := range sel {
		if s == NoSlot || !c.valid.get(s) {
			out[i] = zero
			nulls++
			continue
		}
		out[i] = c.segs[s>>segBits][s&segMask]
		bitutil.SetBit(bits, i)
	}
	return makeArray(c.dt, n, []*memory.Buffer{nb, vb}, nulls), nil
}

func (c *fixedCol[T]) permute(keep []uint32) error {
	nc := &fixedCol[T]{dt: c.dt}
	nc.grow(len(keep))
	for i, s := range keep {
		if c.valid.get(s) {
			nc.segs[i>>segBits][i&segMask] = c.segs[s>>segBits][s&segMask]
			nc.valid.set(uint32(i))
		}
	}
	*c = *nc
	return nil
}

func (c *fixedCol[T]) memoryBytes() int64 {
	var zero T
	b := c.valid.memoryBytes()
	for _, s := range c.segs {
		b += int64(cap(s)) * int64(unsafe.Sizeof(zero))
	}
	return b
}

func (c *fixedCol[T]) release() {}

// newValidity returns a cleared validity bitmap for n rows.
func newValidity(mem memory.Allocator, n int) *memory.Buffer {
	nb := memory.NewResizableBuffer(mem)
	nb.Resize(int(bitutil.BytesForBits(int64(n))))
	clear(nb.Bytes())
	return nb
}

// makeArray wraps buffers into an array, dropping the validity bitmap
// when no row is NULL, and releases the local references.
func makeArray(dt arrow.DataType, n int, bufs []*memory.Buffer, nulls int) arrow.Array {
	if nulls == 0 && bufs[0] != nil {
		bufs[0].Release()
		bufs[0] = nil
	}
	data := array.NewData(dt, n, bufs, nil, nulls, 0)
	arr := array.MakeFromData(data)
	data.Release()
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
	return arr
}

// boolCol stores booleans as two bitmaps.
type boolCol struct {
	dt    arrow.DataType
	vals  bitset
	valid bitset
	n     int
}

func (c *boolCol) grow(n int) {
	if n > c.n {
		c.n = n
		c.vals.grow(n)
		c.valid.grow(n)
	}
}

func (c *boolCol) set(src arrow.Array, slots []uint32) error {
	n := src.Len()
	if n == 0 {
		return nil
	}
	d := src.Data()
	off := d.Offset()
	vb := bufBytes(d, 1)
	if int(bitutil.BytesForBits(int64(off+n))) > len(vb) {
		return fmt.Errorf("%w: boolean value buffer too short", ErrBadInput)
	}
	bm := bufBytes(d, 0)
	hasNulls := src.NullN() > 0
	for i, s := range slots[:n] {
		if s == NoSlot {
			continue
		}
		if hasNulls && !bitutil.BitIsSet(bm, off+i) {
			c.vals.clear(s)
			c.valid.clear(s)
			continue
		}
		if bitutil.BitIsSet(vb, off+i) {
			c.vals.set(s)
		} else {
			c.vals.clear(s)
		}
		c.valid.set(s)
	}
	return nil
}

func (c *boolCol) clear(s uint32) {
	c.vals.clear(s)
	c.valid.clear(s)
}

func (c *boolCol) gather(mem memory.Allocator, sel []uint32) (arrow.Array, error) {
	n := len(sel)
	vb := newValidity(mem, n)
	nb := newValidity(mem, n)
	vbits, nbits := vb.Bytes(), nb.Bytes()
	nulls := 0
	for i, s := range sel {
		if s == NoSlot || !c.valid.get(s) {
			nulls++
			continue
		}
		bitutil.SetBit(nbits, i)
		if c.vals.get(s) {
			bitutil.SetBit(vbits, i)
		}
	}
	return makeArray(c.dt, n, []*memory.Buffer{nb, vb}, nulls), nil
}

func (c *boolCol) permute(keep []uint32) error {
	nc := &boolCol{dt: c.dt}
	nc.grow(len(keep))
	for i, s := range keep {
		if c.valid.get(s) {
			nc.valid.set(uint32(i))
			if c.vals.get(s) {
				nc.vals.set(uint32(i))
			}
		}
	}
	*c = *nc
	return nil
}

func (c *boolCol) memoryBytes() int64 { return c.vals.memoryBytes() + c.valid.memoryBytes() }

func (c *boolCol) release() {}
