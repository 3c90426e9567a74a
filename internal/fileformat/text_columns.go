package fileformat

import (
	"bytes"
	"fmt"
	"math"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sluicehq/sluice/dataframe/expr"
)

// The text formats (CSV, JSON lines, text) decode into textColumns: plain
// Go slices per type family that grow without per-value allocation, can be
// truncated to drop a half-decoded malformed record, and are copied into
// allocator-owned Arrow buffers once per batch. NULLs are kept as a list of
// row indexes (rare in practice), so a column without NULLs pays nothing
// for them.

type colKind uint8

const (
	kindBool colKind = iota
	kindInt8
	kindInt16
	kindInt32
	kindInt64
	kindFloat32
	kindFloat64
	kindDecimal
	kindString
	kindBinary
	kindDate
	kindTimestamp
	kindStruct
	kindList
	kindNull
)

type textColumn struct {
	kind colKind
	dt   arrow.DataType
	n    int
	// nulls lists the NULL rows in ascending order.
	nulls []int32

	ints   []int64 // int8..int64, date (days), timestamp (in the type's unit)
	floats []float64
	bools  []bool
	decs   []decimal128.Num
	// string/binary: offsets has n+1 entries; list: offsets into child.
	offsets []int32
	data    []byte

	children []*textColumn // struct fields, or the one list element

	// With an allocator bound, string/binary bytes are written straight
	// into an allocator buffer that the batch then takes over (no copy);
	// dataHint sizes the next one.
	mem      memory.Allocator
	dataBuf  *memory.Buffer
	dataHint int

	tsUnit   arrow.TimeUnit // timestamp: the unit values are stored in
	decPrec  int32
	decScale int32
}

// supportedTypesText names what the text formats read and write, for error
// messages.
const supportedTypesText = "boolean, tinyint, smallint, int, bigint, float, double, decimal, string, binary, date, timestamp" +
	" (json also struct and array)"

// newTextColumn makes the buffer for one field. nested allows struct and
// list (JSON); CSV passes false.
func newTextColumn(dt arrow.DataType, nested bool) (*textColumn, error) {
	c := &textColumn{dt: dt}
	switch t := dt.(type) {
	case *arrow.BooleanType:
		c.kind = kindBool
	case *arrow.Int8Type:
		c.kind = kindInt8
	case *arrow.Int16Type:
		c.kind = kindInt16
	case *arrow.Int32Type:
		c.kind = kindInt32
	case *arrow.Int64Type:
		c.kind = kindInt64
	case *arrow.Float32Type:
		c.kind = kindFloat32
	case *arrow.Float64Type:
		c.kind = kindFloat64
	case *arrow.Decimal128Type:
		c.kind = kindDecimal
		c.decPrec, c.decScale = t.Precision, t.Scale
	case *arrow.StringType:
		c.kind = kindString
	case *arrow.BinaryType:
		c.kind = kindBinary
	case *arrow.Date32Type:
		c.kind = kindDate
	case *arrow.TimestampType:
		c.kind = kindTimestamp
		c.tsUnit = t.Unit
	case *arrow.NullType:
		c.kind = kindNull
	case *arrow.StructType:
		if !nested {
			return nil, errUnsupportedType(dt)
		}
		c.kind = kindStruct
		for _, f := range t.Fields() {
			ch, err := newTextColumn(f.Type, nested)
			if err != nil {
				return nil, err
			}
			c.children = append(c.children, ch)
		}
	case *arrow.ListType:
		if !nested {
			return nil, errUnsupportedType(dt)
		}
		c.kind = kindList
		ch, err := newTextColumn(t.Elem(), nested)
		if err != nil {
			return nil, err
		}
		c.children = []*textColumn{ch}
	default:
		return nil, errUnsupportedType(dt)
	}
	c.reset()
	return c, nil
}

func errUnsupportedType(dt arrow.DataType) error {
	return fmt.Errorf("type %s is not supported (supported: %s)", expr.TypeName(dt), supportedTypesText)
}

// bind makes the column (and its children) write string bytes into
// buffers of mem.
func (c *textColumn) bind(mem memory.Allocator) {
	c.mem = mem
	for _, ch := range c.children {
		ch.bind(mem)
	}
}

// reserveData makes room for extra more bytes in data.
func (c *textColumn) reserveData(extra int) {
	need := len(c.data) + extra
	if need <= cap(c.data) {
		return
	}
	newCap := max(2*cap(c.data), need, c.dataHint, 1024)
	if c.mem == nil {
		nd := make([]byte, len(c.data), newCap)
		copy(nd, c.data)
		c.data = nd
		return
	}
	n := len(c.data)
	if c.dataBuf == nil {
		c.dataBuf = memory.NewResizableBuffer(c.mem)
	}
	c.dataBuf.Reserve(newCap) // copies what was written
	buf := c.dataBuf.Buf()
	c.data = buf[:n:len(buf)]
}

func (c *textColumn) reset() {
	if c.dataBuf != nil {
		c.dataBuf.Release()
		c.dataBuf = nil
		c.data = nil
	}
	c.n = 0
	c.nulls = c.nulls[:0]
	c.ints = c.ints[:0]
	c.floats = c.floats[:0]
	c.bools = c.bools[:0]
	c.decs = c.decs[:0]
	c.data = c.data[:0]
	c.offsets = append(c.offsets[:0], 0)
	for _, ch := range c.children {
		ch.reset()
	}
}

func (c *textColumn) appendNull() {
	c.nulls = append(c.nulls, int32(c.n))
	c.n++
	switch c.kind {
	case kindBool:
		c.bools = append(c.bools, false)
	case kindInt8, kindInt16, kindInt32, kindInt64, kindDate, kindTimestamp:
		c.ints = append(c.ints, 0)
	case kindFloat32, kindFloat64:
		c.floats = append(c.floats, 0)
	case kindDecimal:
		c.decs = append(c.decs, decimal128.Num{})
	case kindString, kindBinary:
		c.offsets = append(c.offsets, int32(len(c.data)))
	case kindStruct:
		for _, ch := range c.children {
			ch.appendNull()
		}
	case kindList:
		c.offsets = append(c.offsets, int32(c.children[0].n))
	}
}

func (c *textColumn) appendInt(v int64)              { c.ints = append(c.ints, v); c.n++ }
func (c *textColumn) appendFloat(v float64)          { c.floats = append(c.floats, v); c.n++ }
func (c *textColumn) appendBool(v bool)              { c.bools = append(c.bools, v); c.n++ }
func (c *textColumn) appendDecimal(v decimal128.Num) { c.decs = append(c.decs, v); c.n++ }

func (c *textColumn) appendBytes(b []byte) {
	if len(c.data)+len(b) > cap(c.data) {
		c.reserveData(len(b))
	}
	c.data = append(c.data, b...)
	c.offsets = append(c.offsets, int32(len(c.data)))
	c.n++
}

// appendText appends b as a string, replacing invalid UTF-8 with U+FFFD
// (as Java's decoder does for Spark): Arrow strings must be valid UTF-8.
func (c *textColumn) appendText(b []byte) {
	if !utf8.Valid(b) {
		b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
	}
	c.appendBytes(b)
}

// appendTimestamp stores microseconds in the column's unit.
func (c *textColumn) appendTimestamp(us int64) {
	switch c.tsUnit {
	case arrow.Second:
		us = floorDiv(us, microsPerSecond)
	case arrow.Millisecond:
		us = floorDiv(us, 1000)
	case arrow.Nanosecond:
		us *= 1000
	}
	c.appendInt(us)
}

// endStruct closes a struct row whose children were appended.
func (c *textColumn) endStruct() { c.n++ }

// endList closes a list row after its elements were appended to the child.
func (c *textColumn) endList() {
	c.offsets = append(c.offsets, int32(c.children[0].n))
	c.n++
}

// truncate drops rows >= n, undoing a partly decoded record.
func (c *textColumn) truncate(n int) {
	if n >= c.n {
		return
	}
	for len(c.nulls) > 0 && int(c.nulls[len(c.nulls)-1]) >= n {
		c.nulls = c.nulls[:len(c.nulls)-1]
	}
	c.n = n
	switch c.kind {
	case kindBool:
		c.bools = c.bools[:n]
	case kindInt8, kindInt16, kindInt32, kindInt64, kindDate, kindTimestamp:
		c.ints = c.ints[:n]
	case kindFloat32, kindFloat64:
		c.floats = c.floats[:n]
	case kindDecimal:
		c.decs = c.decs[:n]
	case kindString, kindBinary:
		c.data = c.data[:c.offsets[n]]
		c.offsets = c.offsets[:n+1]
	case kindStruct:
		for _, ch := range c.children {
			ch.truncate(n)
		}
	case kindList:
		c.children[0].truncate(int(c.offsets[n]))
		c.offsets = c.offsets[:n+1]
	}
}

// isNullAt reports whether the last row is NULL (used by tests of the
// PERMISSIVE path).
func (c *textColumn) lastIsNull() bool {
	return len(c.nulls) > 0 && int(c.nulls[len(c.nulls)-1]) == c.n-1
}

// dataSize approximates the bytes held, to end a batch before the int32
// offsets of a string column could overflow.
func (c *textColumn) dataSize() int {
	s := len(c.data)
	for _, ch := range c.children {
		s += ch.dataSize()
	}
	return s
}

// maxBatchData caps string/binary bytes per batch below the int32 offset limit.
const maxBatchData = math.MaxInt32 - 1<<20

// newArray moves the rows into an Arrow array owned by the caller and
// resets the column.
func (c *textColumn) newArray(mem memory.Allocator) arrow.Array {
	d := c.newData(mem)
	defer d.Release()
	c.reset()
	return array.MakeFromData(d)
}

func (c *textColumn) newData(mem memory.Allocator) *array.Data {
	n := c.n
	validity := c.validity(mem)
	if validity != nil {
		defer validity.Release()
	}
	nullN := len(c.nulls)
	switch c.kind {
	case kindNull:
		return array.NewData(c.dt, n, []*memory.Buffer{nil}, nil, n, 0)
	case kindBool:
		buf := newBuf(mem, int(bitutil.BytesForBits(int64(n))))
		defer buf.Release()
		bits := buf.Bytes()
		clear(bits)
		for i, v := range c.bools {
			if v {
				bitutil.SetBit(bits, i)
			}
		}
		return array.NewData(c.dt, n, []*memory.Buffer{validity, buf}, nil, nullN, 0)
	case kindInt8:
		buf := newBuf(mem, n)
		defer buf.Release()
		out := buf.Bytes()
		for i, v := range c.ints {
			out[i] = byte(int8(v))
		}
		return array.NewData(c.dt, n, []*memory.Buffer{validity, buf}, nil, nullN, 0)
	case kindInt16:
		buf := newBuf(mem, 2*n)
		defer buf.Release()
		out := unsafe.Slice((*int16)(unsafe.Pointer(unsafe.SliceData(buf.Bytes()))), n)
		for i, v := range c.ints {
			out[i] = int16(v)
		}
		return array.NewData(c.dt, n, []*memory.Buffer{validity, buf}, nil, nullN, 0)
	case kindInt32, kindDate:
		buf := newBuf(mem, 4*n)
		defer buf.Release()
		out := unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(buf.Bytes()))), n)
		for i, v := range c.ints {
			out[i] = int32(v)
		}
		return array.NewData(c.dt, n, []*memory.Buffer{validity, buf}, nil, nullN, 0)
	case kindInt64, kindTimestamp:
		buf := newBuf(mem, 8*n)
		defer buf.Release()
		copy(buf.Bytes(), arrow.Int64Traits.CastToBytes(c.ints))
		return array.NewData(c.dt, n, []*memory.Buffer{validity, buf}, nil, nullN, 0)
	case kindFloat32:
		buf := newBuf(mem, 4*n)
		defer buf.Release()
		out := unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(buf.Bytes()))), n)
		for i, v := range c.floats {
			out[i] = float32(v)
		}
		return array.NewData(c.dt, n, []*memory.Buffer{validity, buf}, nil, nullN, 0)
	case kindFloat64:
		buf := newBuf(mem, 8*n)
		defer buf.Release()
		copy(buf.Bytes(), arrow.Float64Traits.CastToBytes(c.floats))
		return array.NewData(c.dt, n, []*memory.Buffer{validity, buf}, nil, nullN, 0)
	case kindDecimal:
		buf := newBuf(mem, 16*n)
		defer buf.Release()
		copy(buf.Bytes(), arrow.Decimal128Traits.CastToBytes(c.decs))
		return array.NewData(c.dt, n, []*memory.Buffer{validity, buf}, nil, nullN, 0)
	case kindString, kindBinary:
		offs := newBuf(mem, 4*(n+1))
		defer offs.Release()
		copy(offs.Bytes(), arrow.Int32Traits.CastToBytes(c.offsets))
		var vals *memory.Buffer
		if c.dataBuf != nil {
			// Hand the buffer over; the next batch starts a new one.
			vals = c.dataBuf
			vals.Resize(len(c.data))
			c.dataHint = len(c.data) + len(c.data)/8
			c.dataBuf, c.data = nil, nil
		} else {
			vals = newBuf(mem, len(c.data))
			copy(vals.Bytes(), c.data)
		}
		defer vals.Release()
		return array.NewData(c.dt, n, []*memory.Buffer{validity, offs, vals}, nil, nullN, 0)
	case kindStruct:
		kids := make([]arrow.ArrayData, len(c.children))
		for i, ch := range c.children {
			kids[i] = ch.newData(mem)
			ch.reset()
		}
		d := array.NewData(c.dt, n, []*memory.Buffer{validity}, kids, nullN, 0)
		for _, k := range kids {
			k.Release()
		}
		return d
	case kindList:
		offs := newBuf(mem, 4*(n+1))
		defer offs.Release()
		copy(offs.Bytes(), arrow.Int32Traits.CastToBytes(c.offsets))
		kid := c.children[0].newData(mem)
		c.children[0].reset()
		defer kid.Release()
		return array.NewData(c.dt, n, []*memory.Buffer{validity, offs}, []arrow.ArrayData{kid}, nullN, 0)
	}
	panic("fileformat: unhandled column kind")
}

// validity builds the bitmap, or nil when there are no NULLs.
func (c *textColumn) validity(mem memory.Allocator) *memory.Buffer {
	if len(c.nulls) == 0 {
		return nil
	}
	buf := newBuf(mem, int(bitutil.BytesForBits(int64(c.n))))
	bits := buf.Bytes()
	for i := range bits {
		bits[i] = 0xff
	}
	for _, r := range c.nulls {
		bitutil.ClearBit(bits, int(r))
	}
	return buf
}

func newBuf(mem memory.Allocator, n int) *memory.Buffer {
	b := memory.NewResizableBuffer(mem)
	b.Resize(n)
	return b
}
