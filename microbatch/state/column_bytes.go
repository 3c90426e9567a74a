package state

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// bytesCol stores strings and binaries (32- and 64-bit offsets) in one
// byte arena: slot s holds data[offs[s]:offs[s]+lens[s]]. Overwritten and
// cleared values leave dead bytes, reclaimed by rewriting the arena once
// they outweigh the live ones (amortised O(1) per byte written).
type bytesCol struct {
	dt    arrow.DataType
	large bool
	offs  []uint64
	lens  []uint32
	valid bitset
	data  []byte
	dead  int
	n     int
}

// arenaMinDead is the dead bytes below which the arena is never rewritten.
var arenaMinDead = 1 << 20

func (c *bytesCol) grow(n int) {
	if n <= c.n {
		return
	}
	c.n = n
	c.valid.grow(n)
	c.offs = growDouble(c.offs, n)
	c.lens = growDouble(c.lens, n)
}

// offsets returns the n+1 offsets of the array's rows as int64.
func (c *bytesCol) offsetsAt(d arrow.ArrayData, i int) (int64, int64) {
	if c.large {
		o := castBuf[int64](bufBytes(d, 1))
		return o[d.Offset()+i], o[d.Offset()+i+1]
	}
	o := castBuf[int32](bufBytes(d, 1))
	return int64(o[d.Offset()+i]), int64(o[d.Offset()+i+1])
}

func (c *bytesCol) set(src arrow.Array, slots []uint32) error {
	n := src.Len()
	if n == 0 {
		return nil
	}
	d := src.Data()
	off := d.Offset()
	width := 4
	if c.large {
		width = 8
	}
	if len(bufBytes(d, 1)) < (off+n+1)*width {
		return fmt.Errorf("%w: %s offsets buffer too short", ErrBadInput, c.dt)
	}
	vals := bufBytes(d, 2)
	bm := bufBytes(d, 0)
	hasNulls := src.NullN() > 0
	for i, s := range slots[:n] {
		if s == NoSlot {
			continue
		}
		c.dead += int(c.lens[s])
		if hasNulls && !bitutil.BitIsSet(bm, off+i) {
			c.offs[s], c.lens[s] = 0, 0
			c.valid.clear(s)
			continue
		}
		lo, hi := c.offsetsAt(d, i)
		if lo < 0 || hi < lo || hi > int64(len(vals)) || hi-lo > math.MaxUint32 {
			return fmt.Errorf("%w: %s offsets out of range", ErrBadInput, c.dt)
		}
		c.offs[s], c.lens[s] = uint64(len(c.data)), uint32(hi-lo)
		c.data = append(c.data, vals[lo:hi]...)
		c.valid.set(s)
	}
	c.maybeCompact()
	return nil
}

func (c *bytesCol) clear(s uint32) {
	c.dead += int(c.lens[s])
	c.offs[s], c.lens[s] = 0, 0
	c.valid.clear(s)
	c.maybeCompact()
}

func (c *bytesCol) maybeCompact() {
	if c.dead < arenaMinDead || c.dead < len(c.data)/2 {
		return
	}
	data := make([]byte, 0, len(c.data)-c.dead)
	for s := 0; s < c.n; s++ {
		o, l := c.offs[s], c.lens[s]
		c.offs[s] = uint64(len(data))
		data = append(data, c.data[o:o+uint64(l)]...)
	}
	c.data, c.dead = data, 0
}

func (c *bytesCol) gather(mem memory.Allocator, sel []uint32) (arrow.Array, error) {
	n := len(sel)
	total := 0
	for _, s := range sel {
		if s != NoSlot {
			total += int(c.lens[s])
		}
	}
	if !c.large && total > math.MaxInt32 {
		return nil, fmt.Errorf("%w: %d bytes of %s values in one array exceed the 2 GiB of 32-bit offsets; gather fewer rows or use a large type", ErrBadInput, total, c.dt)
	}
	width := 4
	if c.large {
		width = 8
	}
	ob := memory.NewResizableBuffer(mem)
	ob.Resize((n + 1) * width)
	db := memory.NewResizableBuffer(mem)
	db.Resize(total)
	nb := newValidity(mem, n)
	data, bits := db.Bytes(), nb.Bytes()
	var o32 []int32
	var o64 []int64
	if c.large {
		o64 = castBuf[int64](ob.Bytes())
	} else {
		o32 = castBuf[int32](ob.Bytes())
	}
	pos, nulls := 0, 0
	for i, s := range sel {
		if c.large {
			o64[i] = int64(pos)
		} else {
			o32[i] = int32(pos)
		}
		if s == NoSlot || !c.valid.get(s) {
			nulls++
			continue
		}
		bitutil.SetBit(bits, i)
		o := c.offs[s]
		pos += copy(data[pos:], c.data[o:o+uint64(c.lens[s])])
	}
	if c.large {
		o64[n] = int64(pos)
	} else {
		o32[n] = int32(pos)
	}
	return makeArray(c.dt, n, []*memory.Buffer{nb, ob, db}, nulls), nil
}

func (c *bytesCol) permute(keep []uint32) error {
	nc := &bytesCol{dt: c.dt, large: c.large}
	nc.grow(len(keep))
	size := 0
	for _, s := range keep {
		size += int(c.lens[s])
	}
	nc.data = make([]byte, 0, size)
	for i, s := range keep {
		if c.valid.get(s) {
			o := c.offs[s]
			nc.offs[i], nc.lens[i] = uint64(len(nc.data)), c.lens[s]
			nc.data = append(nc.data, c.data[o:o+uint64(c.lens[s])]...)
			nc.valid.set(uint32(i))
		}
	}
	*c = *nc
	return nil
}

func (c *bytesCol) memoryBytes() int64 {
	return int64(cap(c.offs))*8 + int64(cap(c.lens))*4 + int64(cap(c.data)) + c.valid.memoryBytes()
}

func (c *bytesCol) release() {}
