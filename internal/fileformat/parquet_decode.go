package fileformat

import (
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// colBuf accumulates one column's values in Arrow's physical layout, in
// buffers from the reader's allocator, so that a finished batch hands its
// buffers to Arrow without another copy.
type colBuf struct {
	mem    memory.Allocator
	width  int            // bytes per value; 0: variable (offsets + data); -1: bit-packed bool
	vals   *memory.Buffer // fixed values, bool bits, or variable-length data
	offs   *memory.Buffer // int32 offsets (n+1) for variable width
	n      int            // values appended
	nbytes int            // variable width: data bytes used

	// hint: values expected in total (sizes variable-length data growth).
	hint int

	// For dictionaries of short strings: the longest value and a copy of
	// the data padded by 8 bytes, computed once (see gather).
	dictMaxLen int32
	dictPadded []byte
}

func newColBuf(mem memory.Allocator, width int) *colBuf {
	b := &colBuf{mem: mem, width: width, vals: memory.NewResizableBuffer(mem)}
	if width == 0 {
		b.offs = memory.NewResizableBuffer(mem)
	}
	return b
}

// reserve makes room for k more values (and, for variable width, the
// offsets only).
func (b *colBuf) reserve(k int) {
	need := b.n + k
	switch {
	case b.width > 0:
		if need*b.width > b.vals.Cap() {
			b.vals.Reserve(growCap(b.vals.Cap(), need*b.width))
		}
	case b.width < 0:
		nb := int(bitutil.BytesForBits(int64(need)))
		if nb > b.vals.Cap() {
			old := b.vals.Cap()
			b.vals.Reserve(growCap(old, nb))
			clear(b.vals.Buf()[old:])
		}
	default:
		if (need+1)*4 > b.offs.Cap() {
			b.offs.Reserve(growCap(b.offs.Cap(), (need+1)*4))
		}
		if b.n == 0 {
			arrow.Int32Traits.CastFromBytes(b.offs.Buf())[0] = 0
		}
	}
}

// reserveData makes room for k more variable-length data bytes.
func (b *colBuf) reserveData(k int) {
	need := b.nbytes + k
	if need > b.vals.Cap() {
		c := growCap(b.vals.Cap(), need)
		if b.hint > b.n && b.n > 0 {
			// Extrapolate the average size so far to the expected count.
			if est := need + (need/b.n+1)*(b.hint-b.n)*9/8; est > c {
				c = est
			}
		}
		b.vals.Reserve(c)
	}
}

func growCap(have, need int) int {
	c := have * 2
	if c < need {
		c = need
	}
	if c < 64 {
		c = 64
	}
	return c
}

func (b *colBuf) offsets() []int32 { return arrow.Int32Traits.CastFromBytes(b.offs.Buf()) }

// reset empties the buffer for reuse (scratch buffers).
func (b *colBuf) reset() { b.n, b.nbytes = 0, 0 }

// release drops the buffers (idempotent).
func (b *colBuf) release() {
	if b.vals != nil {
		b.vals.Release()
		b.vals = nil
	}
	if b.offs != nil {
		b.offs.Release()
		b.offs = nil
	}
}

// finish sizes the buffers to their contents and returns them, giving up
// ownership: the returned buffers carry this colBuf's references.
func (b *colBuf) finish() (offs, vals *memory.Buffer) {
	switch {
	case b.width > 0:
		b.vals.ResizeNoShrink(b.n * b.width)
	case b.width < 0:
		b.vals.ResizeNoShrink(int(bitutil.BytesForBits(int64(b.n))))
	default:
		if b.n == 0 {
			b.reserve(0)
		}
		b.offs.ResizeNoShrink((b.n + 1) * 4)
		b.vals.ResizeNoShrink(b.nbytes)
	}
	offs, vals = b.offs, b.vals
	b.offs, b.vals = nil, nil
	return offs, vals
}

// convKind says how a column's raw Parquet values become Arrow values.
type convKind uint8

const (
	cvBool convKind = iota
	cvCopy4
	cvCopy8
	cvI32toI8
	cvI32toI16
	cvI32toI64
	cvU32toI64
	cvF32toF64
	cvMilliToMicro
	cvNanoToMicro
	cvInt96
	cvI32Dec
	cvI64Dec
	cvU64Dec
	cvBytesDec
	cvFixedDec
	cvBytes
	cvFixedBytes
)

// outWidth is the colBuf width of an Arrow type.
func outWidth(dt arrow.DataType) int {
	switch dt.ID() {
	case arrow.BOOL:
		return -1
	case arrow.STRING, arrow.BINARY:
		return 0
	case arrow.DECIMAL128:
		return 16
	}
	if fw, ok := dt.(arrow.FixedWidthDataType); ok {
		return fw.BitWidth() / 8
	}
	return 8
}

// rawWidth is the byte width of one plain value of a physical kind (0 for
// byte arrays, -1 for booleans).
func rawWidth(cv convKind, fixedLen int) int {
	switch cv {
	case cvBool:
		return -1
	case cvCopy4, cvI32toI8, cvI32toI16, cvI32toI64, cvU32toI64, cvF32toF64, cvI32Dec:
		return 4
	case cvCopy8, cvMilliToMicro, cvNanoToMicro, cvI64Dec, cvU64Dec:
		return 8
	case cvInt96:
		return 12
	case cvFixedDec, cvFixedBytes:
		return fixedLen
	}
	return 0
}

// convert appends count values starting at value index from of a decoded
// page (raw plain layout, offs for byte arrays) to dst.
func convert(cv convKind, fixedLen int, raw []byte, offs []uint32, from, count int, dst *colBuf) error {
	if count <= 0 {
		return nil
	}
	rw := rawWidth(cv, fixedLen)
	switch {
	case rw > 0:
		if (from+count)*rw > len(raw) {
			return fmt.Errorf("%w: page holds fewer values than its header says", ErrMalformed)
		}
		raw = raw[from*rw : (from+count)*rw]
	case rw == 0:
		if from+count >= len(offs) {
			return fmt.Errorf("%w: page holds fewer values than its header says", ErrMalformed)
		}
	case rw < 0:
		if int(bitutil.BytesForBits(int64(from+count))) > len(raw) {
			return fmt.Errorf("%w: page holds fewer values than its header says", ErrMalformed)
		}
	}
	dst.reserve(count)
	n := dst.n
	switch cv {
	case cvBool:
		bitutil.CopyBitmap(raw, from, count, dst.vals.Buf(), n)
	case cvCopy4, cvCopy8:
		copy(dst.vals.Buf()[n*rw:], raw)
	case cvI32toI8:
		in := arrow.Int32Traits.CastFromBytes(raw)
		out := arrow.Int8Traits.CastFromBytes(dst.vals.Buf())[n : n+count]
		for i, v := range in {
			out[i] = int8(v)
		}
	case cvI32toI16:
		in := arrow.Int32Traits.CastFromBytes(raw)
		out := arrow.Int16Traits.CastFromBytes(dst.vals.Buf())[n : n+count]
		for i, v := range in {
			out[i] = int16(v)
		}
	case cvI32toI64:
		in := arrow.Int32Traits.CastFromBytes(raw)
		out := arrow.Int64Traits.CastFromBytes(dst.vals.Buf())[n : n+count]
		for i, v := range in {
			out[i] = int64(v)
		}
	case cvU32toI64:
		in := arrow.Uint32Traits.CastFromBytes(raw)
		out := arrow.Int64Traits.CastFromBytes(dst.vals.Buf())[n : n+count]
		for i, v := range in {
			out[i] = int64(v)
		}
	case cvF32toF64:
		in := arrow.Float32Traits.CastFromBytes(raw)
		out := arrow.Float64Traits.CastFromBytes(dst.vals.Buf())[n : n+count]
		for i, v := range in {
			out[i] = float64(v)
		}
	case cvMilliToMicro:
		in := arrow.Int64Traits.CastFromBytes(raw)
		out := arrow.Int64Traits.CastFromBytes(dst.vals.Buf())[n : n+count]
		for i, v := range in {
			out[i] = v * 1000
		}
	case cvNanoToMicro:
		in := arrow.Int64Traits.CastFromBytes(raw)
		out := arrow.Int64Traits.CastFromBytes(dst.vals.Buf())[n : n+count]
		for i, v := range in {
			out[i] = pqFloorDiv(v, 1000)
		}
	case cvInt96:
		out := arrow.Int64Traits.CastFromBytes(dst.vals.Buf())[n : n+count]
		for i := range out {
			out[i] = int96ToMicros(raw[i*12 : i*12+12])
		}
	case cvI32Dec:
		in := arrow.Int32Traits.CastFromBytes(raw)
		out := arrow.Uint64Traits.CastFromBytes(dst.vals.Buf())[2*n : 2*(n+count)]
		for i, v := range in {
			out[2*i] = uint64(int64(v))
			out[2*i+1] = uint64(int64(v) >> 63)
		}
	case cvI64Dec:
		in := arrow.Int64Traits.CastFromBytes(raw)
		out := arrow.Uint64Traits.CastFromBytes(dst.vals.Buf())[2*n : 2*(n+count)]
		for i, v := range in {
			out[2*i] = uint64(v)
			out[2*i+1] = uint64(v >> 63)
		}
	case cvU64Dec:
		in := arrow.Uint64Traits.CastFromBytes(raw)
		out := arrow.Uint64Traits.CastFromBytes(dst.vals.Buf())[2*n : 2*(n+count)]
		for i, v := range in {
			out[2*i] = v
			out[2*i+1] = 0
		}
	case cvFixedDec:
		out := arrow.Uint64Traits.CastFromBytes(dst.vals.Buf())[2*n : 2*(n+count)]
		for i := 0; i < count; i++ {
			lo, hi, ok := bigEndianToDec(raw[i*rw : i*rw+rw])
			if !ok {
				return fmt.Errorf("%w: decimal wider than 16 bytes", ErrMalformed)
			}
			out[2*i], out[2*i+1] = lo, hi
		}
	case cvBytesDec:
		out := arrow.Uint64Traits.CastFromBytes(dst.vals.Buf())[2*n : 2*(n+count)]
		for i := 0; i < count; i++ {
			a, b := offs[from+i], offs[from+i+1]
			if a > b || int(b) > len(raw) {
				return fmt.Errorf("%w: byte array offsets out of range", ErrMalformed)
			}
			lo, hi, ok := bigEndianToDec(raw[a:b])
			if !ok {
				return fmt.Errorf("%w: decimal wider than 16 bytes", ErrMalformed)
			}
			out[2*i], out[2*i+1] = lo, hi
		}
	case cvBytes:
		start, end := offs[from], offs[from+count]
		if start > end || int(end) > len(raw) {
			return fmt.Errorf("%w: byte array offsets out of range", ErrMalformed)
		}
		dst.reserveData(int(end - start))
		copy(dst.vals.Buf()[dst.nbytes:], raw[start:end])
		out := dst.offsets()[n+1 : n+1+count]
		base := int32(dst.nbytes) - int32(start)
		in := offs[from+1 : from+1+count]
		for i, o := range in {
			out[i] = int32(o) + base
		}
		dst.nbytes += int(end - start)
	case cvFixedBytes:
		dst.reserveData(count * rw)
		copy(dst.vals.Buf()[dst.nbytes:], raw)
		out := dst.offsets()[n+1 : n+1+count]
		for i := range out {
			out[i] = int32(dst.nbytes + (i+1)*rw)
		}
		dst.nbytes += count * rw
	default:
		return fmt.Errorf("%w: unknown conversion %d", ErrMalformed, cv)
	}
	dst.n += count
	return nil
}

func pqFloorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) {
		q--
	}
	return q
}

// int96ToMicros decodes the legacy Impala/Spark INT96 timestamp: 8 bytes of
// nanoseconds within the day, then a 4-byte Julian day number.
func int96ToMicros(b []byte) int64 {
	nanos := int64(binary.LittleEndian.Uint64(b[0:8]))
	day := int64(binary.LittleEndian.Uint32(b[8:12]))
	const julianUnixEpoch = 2440588
	return (day-julianUnixEpoch)*86_400_000_000 + pqFloorDiv(nanos, 1000)
}

// bigEndianToDec reads a big-endian two's complement integer of up to 16
// bytes into a decimal128 (lo, hi).
func bigEndianToDec(b []byte) (lo, hi uint64, ok bool) {
	if len(b) == 0 {
		return 0, 0, true
	}
	if len(b) > 16 {
		// Allow sign-extension bytes beyond 16.
		ext := byte(0)
		if b[0]&0x80 != 0 {
			ext = 0xff
		}
		for _, x := range b[:len(b)-16] {
			if x != ext {
				return 0, 0, false
			}
		}
		b = b[len(b)-16:]
	}
	var buf [16]byte
	if b[0]&0x80 != 0 {
		for i := range buf {
			buf[i] = 0xff
		}
	}
	copy(buf[16-len(b):], b)
	hi = binary.BigEndian.Uint64(buf[0:8])
	lo = binary.BigEndian.Uint64(buf[8:16])
	return lo, hi, true
}

// gather appends dict[idx[i]] for every index to dst. Indexes are checked:
// a corrupt file yields an error, not a panic.
func gather(idx []int32, dict *colBuf, dst *colBuf) error {
	count := len(idx)
	if count == 0 {
		return nil
	}
	dn := uint32(dict.n)
	bad := func() error {
		return fmt.Errorf("%w: dictionary index out of range (dictionary has %d values)", ErrMalformed, dn)
	}
	dst.reserve(count)
	n := dst.n
	switch dict.width {
	case 1:
		d := dict.vals.Buf()[:dict.n]
		out := dst.vals.Buf()[n : n+count]
		for i, ix := range idx {
			if uint(ix) >= uint(len(d)) {
				return bad()
			}
			out[i] = d[ix]
		}
	case 2:
		d := arrow.Uint16Traits.CastFromBytes(dict.vals.Buf())[:dict.n]
		out := arrow.Uint16Traits.CastFromBytes(dst.vals.Buf())[n : n+count]
		for i, ix := range idx {
			if uint(ix) >= uint(len(d)) {
				return bad()
			}
			out[i] = d[ix]
		}
	case 4:
		d := arrow.Uint32Traits.CastFromBytes(dict.vals.Buf())[:dict.n]
		out := arrow.Uint32Traits.CastFromBytes(dst.vals.Buf())[n : n+count]
		for i, ix := range idx {
			if uint(ix) >= uint(len(d)) {
				return bad()
			}
			out[i] = d[ix]
		}
	case 8:
		d := arrow.Uint64Traits.CastFromBytes(dict.vals.Buf())[:dict.n]
		out := arrow.Uint64Traits.CastFromBytes(dst.vals.Buf())[n : n+count]
		for i, ix := range idx {
			if uint(ix) >= uint(len(d)) {
				return bad()
			}
			out[i] = d[ix]
		}
	case 16:
		d := arrow.Uint64Traits.CastFromBytes(dict.vals.Buf())[:2*dict.n]
		out := arrow.Uint64Traits.CastFromBytes(dst.vals.Buf())[2*n : 2*(n+count)]
		for i, ix := range idx {
			if uint32(ix) >= dn {
				return bad()
			}
			out[2*i] = d[2*ix]
			out[2*i+1] = d[2*ix+1]
		}
	case -1:
		d := dict.vals.Buf()
		out := dst.vals.Buf()
		for i, ix := range idx {
			if uint32(ix) >= dn {
				return bad()
			}
			bitutil.SetBitTo(out, n+i, bitutil.BitIsSet(d, int(ix)))
		}
	case 0:
		doffs := dict.offsets()[:dict.n+1]
		ddata := dict.vals.Buf()[:dict.nbytes]
		out := dst.offsets()[n+1 : n+1+count]
		// First pass: offsets (and the total size).
		pos := int32(dst.nbytes)
		for i, ix := range idx {
			if uint32(ix) >= dn {
				return bad()
			}
			pos += doffs[ix+1] - doffs[ix]
			out[i] = pos
		}
		dst.reserveData(int(pos) - dst.nbytes + 8)
		data := dst.vals.Buf()
		w := dst.nbytes
		if dict.dictPadded == nil {
			dict.dictMaxLen = maxDictLen(doffs)
			dict.dictPadded = padDict(ddata)
		}
		if dict.dictMaxLen <= 8 && len(data) >= int(pos)+8 {
			// Short strings: one unaligned 8-byte copy per value from a
			// padded copy of the dictionary, then advance by the real length.
			padded := dict.dictPadded
			for _, ix := range idx {
				a := doffs[ix]
				binary.LittleEndian.PutUint64(data[w:], binary.LittleEndian.Uint64(padded[a:]))
				w += int(doffs[ix+1] - a)
			}
		} else {
			for _, ix := range idx {
				w += copy(data[w:], ddata[doffs[ix]:doffs[ix+1]])
			}
		}
		dst.nbytes = w
	default:
		return fmt.Errorf("%w: cannot gather width %d", ErrMalformed, dict.width)
	}
	dst.n += count
	return nil
}

func maxDictLen(offs []int32) int32 {
	var m int32
	for i := 1; i < len(offs); i++ {
		if l := offs[i] - offs[i-1]; l > m {
			m = l
		}
	}
	return m
}

func padDict(d []byte) []byte {
	p := make([]byte, len(d)+8)
	copy(p, d)
	return p
}

// countEq counts the level bytes equal to v.
func countEq(levels []byte, v byte) int {
	n := 0
	for _, l := range levels {
		if l == v {
			n++
		}
	}
	return n
}
