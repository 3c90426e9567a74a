package kafka

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// growBuf is an allocator buffer written in place and grown by doubling,
// so a batch's bytes are copied once, straight from the fetch response.
type growBuf struct {
	mem  memory.Allocator
	buf  *memory.Buffer
	n    int
	hint int // the size of the last batch: the next one starts there
}

// room makes space for extra more bytes and returns the whole buffer.
func (g *growBuf) room(extra int) []byte {
	if g.buf == nil {
		g.buf = memory.NewResizableBuffer(g.mem)
		g.buf.Reserve(max(extra, g.hint+g.hint/8))
	}
	if need := g.n + extra; need > g.buf.Cap() {
		g.buf.Reserve(max(need, 2*g.buf.Cap(), 4096))
	}
	return g.buf.Buf()
}

func (g *growBuf) append(b []byte) {
	buf := g.room(len(b))
	g.n += copy(buf[g.n:], b)
}

// take hands the bytes written so far to the caller and starts over.
func (g *growBuf) take() *memory.Buffer {
	if g.buf == nil {
		g.room(0)
	}
	b := g.buf
	b.ResizeNoShrink(g.n)
	g.buf, g.n, g.hint = nil, 0, g.n
	return b
}

func (g *growBuf) release() {
	if g.buf != nil {
		g.buf.Release()
		g.buf, g.n = nil, 0
	}
}

// bitmap is a validity bitmap; rows are valid unless cleared.
type bitmap struct {
	g     growBuf
	rows  int
	nulls int
}

func (b *bitmap) append(valid bool) {
	if b.rows%8 == 0 {
		buf := b.g.room(1)
		buf[b.g.n] = 0
		b.g.n++
	}
	if valid {
		bitutil.SetBit(b.g.buf.Buf(), b.rows)
	} else {
		b.nulls++
	}
	b.rows++
}

// take returns the bitmap (nil if there are no NULLs) and its null count.
func (b *bitmap) take() (*memory.Buffer, int) {
	buf, nulls := b.g.take(), b.nulls
	b.rows, b.nulls = 0, 0
	if nulls == 0 {
		buf.Release()
		return nil, 0
	}
	return buf, nulls
}

// bytesCol builds a binary or string column.
type bytesCol struct {
	typ   arrow.DataType
	valid bitmap
	offs  growBuf
	data  growBuf
	rows  int
}

func newBytesCol(mem memory.Allocator, typ arrow.DataType) *bytesCol {
	c := &bytesCol{typ: typ}
	c.valid.g.mem, c.offs.mem, c.data.mem = mem, mem, mem
	return c
}

func (c *bytesCol) appendOffset() {
	buf := c.offs.room(4)
	arrow.Int32Traits.CastFromBytes(buf[c.offs.n : c.offs.n+4])[0] = int32(c.data.n)
	c.offs.n += 4
}

// reserve makes room for rows more values of bytes bytes in total.
func (c *bytesCol) reserve(rows, bytes int) {
	c.offs.room(4 * (rows + 1))
	c.data.room(bytes)
}

func (c *bytesCol) append(b []byte, null bool) {
	if c.rows == 0 {
		c.appendOffset()
	}
	c.valid.append(!null)
	c.data.append(b)
	c.appendOffset()
	c.rows++
}

func (c *bytesCol) newArray() arrow.Array {
	if c.rows == 0 {
		c.appendOffset()
	}
	valid, nulls := c.valid.take()
	offs, data := c.offs.take(), c.data.take()
	d := array.NewData(c.typ, c.rows, []*memory.Buffer{valid, offs, data}, nil, nulls, 0)
	for _, b := range []*memory.Buffer{valid, offs, data} {
		if b != nil {
			b.Release()
		}
	}
	c.rows = 0
	defer d.Release()
	return array.MakeFromData(d)
}

func (c *bytesCol) release() {
	c.valid.g.release()
	c.offs.release()
	c.data.release()
}

// fixedCol builds a never-NULL column of width-byte values.
type fixedCol struct {
	typ   arrow.DataType
	width int
	g     growBuf
	rows  int
}

func newFixedCol(mem memory.Allocator, typ arrow.DataType, width int) *fixedCol {
	return &fixedCol{typ: typ, width: width, g: growBuf{mem: mem}}
}

func (c *fixedCol) reserve(rows int) { c.g.room(rows * c.width) }

func (c *fixedCol) append64(v int64) {
	buf := c.g.room(8)
	arrow.Int64Traits.CastFromBytes(buf[c.g.n : c.g.n+8])[0] = v
	c.g.n += 8
	c.rows++
}

func (c *fixedCol) append32(v int32) {
	buf := c.g.room(4)
	arrow.Int32Traits.CastFromBytes(buf[c.g.n : c.g.n+4])[0] = v
	c.g.n += 4
	c.rows++
}

func (c *fixedCol) newArray() arrow.Array {
	buf := c.g.take()
	d := array.NewData(c.typ, c.rows, []*memory.Buffer{nil, buf}, nil, 0, 0)
	buf.Release()
	c.rows = 0
	defer d.Release()
	return array.MakeFromData(d)
}

func (c *fixedCol) release() { c.g.release() }
