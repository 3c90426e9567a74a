package fn

// Generic, vectorised building blocks for scalar kernels. Every function here
// loops over typed slices and Arrow bitmaps; none boxes a row in an `any`.
//
// Conventions shared by all helpers:
//   - Inputs may be sliced (Data().Offset() != 0); helpers apply the offset.
//   - Outputs always start at offset 0 and are owned by the caller.
//   - NULL in -> NULL out: output validity is the AND of the inputs' validity.
//   - A nil array argument means "use the constant" (the kernel captured a
//     literal at bind time and Binding.ConstArgs made Eval pass nil). A NULL
//     constant is the Bind's business: it returns nullKernel(type) instead.
//   - Callback functions run on every slot, NULL slots included (their values
//     are arbitrary), so they must be total: no panics, no side effects. The
//     "...Null" variants run the callback on valid slots only.

import (
	"cmp"
	"fmt"
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// fixed is the element type of a fixed-width Arrow array: ints, floats,
// arrow.Date32 / arrow.Timestamp (via ~int32 / ~int64), decimal128.Num and
// arrow.MonthDayNanoInterval.
type fixed interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 |
		~float32 | ~float64 | decimal128.Num | arrow.MonthDayNanoInterval
}

// number is the element type of numeric arithmetic (ints and floats).
type number interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~float32 | ~float64
}

// ordered is a fixed-width type with Go's < (everything but decimals and intervals).
type ordered interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// values returns a fixed-width array's values as []T with the offset applied.
func values[T fixed](a arrow.Array) []T {
	d := a.Data()
	n := d.Len()
	if n == 0 {
		return nil
	}
	var z T
	if len(d.Buffers()) < 2 || d.Buffers()[1] == nil || d.Buffers()[1].Len() < (d.Offset()+n)*int(unsafe.Sizeof(z)) {
		return make([]T, n) // no value buffer (all NULL from some producers)
	}
	b := d.Buffers()[1].Bytes()
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/int(unsafe.Sizeof(z)))[d.Offset() : d.Offset()+n]
}

// allocFixed allocates an n-element output buffer and its []T view (not zeroed).
func allocFixed[T fixed](mem memory.Allocator, n int) (*memory.Buffer, []T) {
	var z T
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n * int(unsafe.Sizeof(z)))
	if n == 0 {
		return buf, nil
	}
	return buf, unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(buf.Bytes()))), n)
}

// allocBits allocates a zeroed bitmap of n bits.
func allocBits(mem memory.Allocator, n int) (*memory.Buffer, []byte) {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(n))))
	b := buf.Bytes()
	clear(b)
	return buf, b
}

// validBits returns a's validity bitmap and bit offset, or nil when a has no
// NULLs. A NULL-typed array (no bitmap, all NULL) returns a zero-length non-nil slice.
func validBits(a arrow.Array) ([]byte, int) {
	if a == nil || a.NullN() == 0 {
		return nil, 0
	}
	bm := a.NullBitmapBytes()
	if bm == nil {
		return []byte{}, 0
	}
	return bm, a.Data().Offset()
}

// andValidity ANDs the validity of the non-nil arrays (each n rows) into a new
// bitmap at offset 0, returning nil and 0 when no row is NULL.
func andValidity(mem memory.Allocator, n int, arrs ...arrow.Array) (*memory.Buffer, int) {
	var out *memory.Buffer
	var ob []byte
	for _, a := range arrs {
		bm, off := validBits(a)
		if bm == nil {
			continue
		}
		if out == nil {
			out, ob = allocBits(mem, n)
			if len(bm) == 0 {
				continue // all NULL: stays zero
			}
			bitutil.CopyBitmap(bm, off, n, ob, 0)
			continue
		}
		if len(bm) == 0 {
			clear(ob)
			continue
		}
		bitutil.BitmapAnd(ob, bm, 0, int64(off), ob, 0, int64(n))
	}
	if out == nil {
		return nil, 0
	}
	nulls := n - bitutil.CountSetBits(ob, 0, n)
	if nulls == 0 {
		out.Release()
		return nil, 0
	}
	return out, nulls
}

// makeArray wraps buffers into an array of type dt, taking ownership of the
// buffers (validity may be nil; nulls is its NULL count or array.UnknownNullCount).
func makeArray(dt arrow.DataType, n int, validity *memory.Buffer, nulls int, bufs ...*memory.Buffer) arrow.Array {
	all := make([]*memory.Buffer, 0, 1+len(bufs))
	all = append(all, validity)
	all = append(all, bufs...)
	if validity == nil {
		nulls = 0
	}
	d := array.NewData(dt, n, all, nil, nulls, 0)
	for _, b := range all {
		if b != nil {
			b.Release()
		}
	}
	defer d.Release()
	return array.MakeFromData(d)
}

// nullKernel returns a kernel producing n NULLs of type dt (a NULL literal
// argument to a NULL-propagating function).
func nullKernel(dt arrow.DataType) expr.Kernel {
	return func(ec *expr.EvalContext, _ []arrow.Array, n int) (arrow.Array, error) {
		return array.MakeArrayOfNull(ec.Mem, dt, n), nil
	}
}

// clearInvalid zeroes the value slots of out that are NULL in validity, so
// garbage from NULL inputs never leaks (for example into a later cast).
func clearInvalid[T fixed](out []T, validity *memory.Buffer) {
	if validity == nil {
		return
	}
	bm := validity.Bytes()
	var z T
	for i := range out {
		if bm[i>>3]&(1<<(i&7)) == 0 {
			out[i] = z
		}
	}
}

// mapUnary applies f to every slot of a; validity is a's.
func mapUnary[I, O fixed](mem memory.Allocator, dt arrow.DataType, a arrow.Array, f func(I) O) arrow.Array {
	n := a.Len()
	in := values[I](a)
	vb, out := allocFixed[O](mem, n)
	for i, v := range in {
		out[i] = f(v)
	}
	valid, nulls := andValidity(mem, n, a)
	return makeArray(dt, n, valid, nulls, vb)
}

// mapUnaryNull applies f to the valid slots of a; ok=false makes the row NULL.
func mapUnaryNull[I, O fixed](mem memory.Allocator, dt arrow.DataType, a arrow.Array, f func(I) (O, bool)) arrow.Array {
	n := a.Len()
	in := values[I](a)
	vb, out := allocFixed[O](mem, n)
	valid, _ := andValidity(mem, n, a)
	return finishNull(mem, dt, n, valid, vb, out, func(i int) (O, bool) { return f(in[i]) })
}

// finishNull fills out[i] = f(i) for the rows valid in valid (nil = all),
// clears the validity bit when f says !ok, and builds the array.
func finishNull[O fixed](mem memory.Allocator, dt arrow.DataType, n int, valid, vb *memory.Buffer, out []O, f func(i int) (O, bool)) arrow.Array {
	var z O
	var bm []byte
	if valid != nil {
		bm = valid.Bytes()
	}
	for i := range out {
		if bm != nil && bm[i>>3]&(1<<(i&7)) == 0 {
			out[i] = z
			continue
		}
		v, ok := f(i)
		if !ok {
			if bm == nil {
				valid, bm = allocBits(mem, n)
				bitutil.SetBitsTo(bm, 0, int64(n), true)
			}
			bm[i>>3] &^= 1 << (i & 7)
			v = z
		}
		out[i] = v
	}
	return makeArray(dt, n, valid, array.UnknownNullCount, vb)
}

// mapBinary computes f(a[i], b[i]) for n rows; a nil array stands for its
// constant (ca or cb). Validity is the AND of the arrays'.
func mapBinary[A, B, O fixed](mem memory.Allocator, dt arrow.DataType, n int, a arrow.Array, ca A, b arrow.Array, cb B, f func(A, B) O) arrow.Array {
	vb, out := allocFixed[O](mem, n)
	switch {
	case a != nil && b != nil:
		x, y := values[A](a), values[B](b)
		for i := range out {
			out[i] = f(x[i], y[i])
		}
	case a != nil:
		x := values[A](a)
		for i := range out {
			out[i] = f(x[i], cb)
		}
	case b != nil:
		y := values[B](b)
		for i := range out {
			out[i] = f(ca, y[i])
		}
	default:
		v := f(ca, cb)
		for i := range out {
			out[i] = v
		}
	}
	valid, nulls := andValidity(mem, n, a, b)
	return makeArray(dt, n, valid, nulls, vb)
}

// mapBinaryNull is mapBinary where f runs on valid rows only and ok=false
// makes the row NULL (division by zero, overflow to NULL, invalid input).
func mapBinaryNull[A, B, O fixed](mem memory.Allocator, dt arrow.DataType, n int, a arrow.Array, ca A, b arrow.Array, cb B, f func(A, B) (O, bool)) arrow.Array {
	vb, out := allocFixed[O](mem, n)
	valid, _ := andValidity(mem, n, a, b)
	var x []A
	var y []B
	if a != nil {
		x = values[A](a)
	}
	if b != nil {
		y = values[B](b)
	}
	return finishNull(mem, dt, n, valid, vb, out, func(i int) (O, bool) {
		l, r := ca, cb
		if x != nil {
			l = x[i]
		}
		if y != nil {
			r = y[i]
		}
		return f(l, r)
	})
}

// cmpOp is a comparison operator.
type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

// flip returns the operator with its operands swapped (c < x  <=>  x > c).
func (op cmpOp) flip() cmpOp {
	switch op {
	case opLt:
		return opGt
	case opLe:
		return opGe
	case opGt:
		return opLt
	case opGe:
		return opLe
	}
	return op
}

// holds reports whether op holds for a three-way comparison result c.
func (op cmpOp) holds(c int) bool {
	switch op {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	}
	return c >= 0
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// compareFixed compares n rows of ordered values (a nil array stands for its
// constant) into a bit-packed boolean array. Floats follow Spark: NaN equals
// NaN and is greater than every other value.
func compareFixed[T ordered](mem memory.Allocator, n int, a arrow.Array, ca T, b arrow.Array, cb T, op cmpOp) arrow.Array {
	bb, bits := allocBits(mem, n)
	switch {
	case a != nil && b != nil:
		if isFloat[T]() {
			cmpFloatAA(bits, values[T](a), values[T](b), op)
		} else {
			cmpAA(bits, values[T](a), values[T](b), op)
		}
	case a != nil:
		cmpAC(bits, values[T](a), cb, op)
	case b != nil:
		cmpAC(bits, values[T](b), ca, op.flip())
	default:
		if op.holds(sparkCompare(ca, cb)) {
			bitutil.SetBitsTo(bits, 0, int64(n), true)
		}
	}
	valid, nulls := andValidity(mem, n, a, b)
	return makeArray(arrow.FixedWidthTypes.Boolean, n, valid, nulls, bb)
}

func isFloat[T any]() bool {
	var z T
	switch any(z).(type) {
	case float32, float64:
		return true
	}
	return false
}

// sparkCompare is cmp.Compare with Spark's NaN order (NaN largest, NaN = NaN).
func sparkCompare[T cmp.Ordered](x, y T) int {
	xn, yn := x != x, y != y
	switch {
	case xn && yn:
		return 0
	case xn:
		return 1
	case yn:
		return -1
	}
	return cmp.Compare(x, y)
}

// cmpAC packs x[i] op c for every i. NaN constants and NaN values in float
// columns are handled by rewriting the comparison (see nanAC).
func cmpAC[T ordered](out []byte, x []T, c T, op cmpOp) {
	if isFloat[T]() {
		cmpFloatAC(out, x, c, op)
		return
	}
	n := len(x)
	full := n &^ 7
	switch op {
	case opEq:
		for i := 0; i < full; i += 8 {
			v := x[i : i+8 : i+8]
			out[i>>3] = b2u(v[0] == c) | b2u(v[1] == c)<<1 | b2u(v[2] == c)<<2 | b2u(v[3] == c)<<3 |
				b2u(v[4] == c)<<4 | b2u(v[5] == c)<<5 | b2u(v[6] == c)<<6 | b2u(v[7] == c)<<7
		}
		for i := full; i < n; i++ {
			out[i>>3] |= b2u(x[i] == c) << (i & 7)
		}
	case opNe:
		for i := 0; i < full; i += 8 {
			v := x[i : i+8 : i+8]
			out[i>>3] = b2u(v[0] != c) | b2u(v[1] != c)<<1 | b2u(v[2] != c)<<2 | b2u(v[3] != c)<<3 |
				b2u(v[4] != c)<<4 | b2u(v[5] != c)<<5 | b2u(v[6] != c)<<6 | b2u(v[7] != c)<<7
		}
		for i := full; i < n; i++ {
			out[i>>3] |= b2u(x[i] != c) << (i & 7)
		}
	case opLt:
		for i := 0; i < full; i += 8 {
			v := x[i : i+8 : i+8]
			out[i>>3] = b2u(v[0] < c) | b2u(v[1] < c)<<1 | b2u(v[2] < c)<<2 | b2u(v[3] < c)<<3 |
				b2u(v[4] < c)<<4 | b2u(v[5] < c)<<5 | b2u(v[6] < c)<<6 | b2u(v[7] < c)<<7
		}
		for i := full; i < n; i++ {
			out[i>>3] |= b2u(x[i] < c) << (i & 7)
		}
	case opLe:
		for i := 0; i < full; i += 8 {
			v := x[i : i+8 : i+8]
			out[i>>3] = b2u(v[0] <= c) | b2u(v[1] <= c)<<1 | b2u(v[2] <= c)<<2 | b2u(v[3] <= c)<<3 |
				b2u(v[4] <= c)<<4 | b2u(v[5] <= c)<<5 | b2u(v[6] <= c)<<6 | b2u(v[7] <= c)<<7
		}
		for i := full; i < n; i++ {
			out[i>>3] |= b2u(x[i] <= c) << (i & 7)
		}
	case opGt:
		for i := 0; i < full; i += 8 {
			v := x[i : i+8 : i+8]
			out[i>>3] = b2u(v[0] > c) | b2u(v[1] > c)<<1 | b2u(v[2] > c)<<2 | b2u(v[3] > c)<<3 |
				b2u(v[4] > c)<<4 | b2u(v[5] > c)<<5 | b2u(v[6] > c)<<6 | b2u(v[7] > c)<<7
		}
		for i := full; i < n; i++ {
			out[i>>3] |= b2u(x[i] > c) << (i & 7)
		}
	case opGe:
		for i := 0; i < full; i += 8 {
			v := x[i : i+8 : i+8]
			out[i>>3] = b2u(v[0] >= c) | b2u(v[1] >= c)<<1 | b2u(v[2] >= c)<<2 | b2u(v[3] >= c)<<3 |
				b2u(v[4] >= c)<<4 | b2u(v[5] >= c)<<5 | b2u(v[6] >= c)<<6 | b2u(v[7] >= c)<<7
		}
		for i := full; i < n; i++ {
			out[i>>3] |= b2u(x[i] >= c) << (i & 7)
		}
	}
}

// cmpAA packs x[i] op y[i] for every i (non-float types).
func cmpAA[T ordered](out []byte, x, y []T, op cmpOp) {
	y = y[:len(x)]
	switch op {
	case opEq:
		for i := range x {
			out[i>>3] |= b2u(x[i] == y[i]) << (i & 7)
		}
	case opNe:
		for i := range x {
			out[i>>3] |= b2u(x[i] != y[i]) << (i & 7)
		}
	case opLt:
		for i := range x {
			out[i>>3] |= b2u(x[i] < y[i]) << (i & 7)
		}
	case opLe:
		for i := range x {
			out[i>>3] |= b2u(x[i] <= y[i]) << (i & 7)
		}
	case opGt:
		for i := range x {
			out[i>>3] |= b2u(x[i] > y[i]) << (i & 7)
		}
	case opGe:
		for i := range x {
			out[i>>3] |= b2u(x[i] >= y[i]) << (i & 7)
		}
	}
}

// cmpFloatAA compares float columns with Spark's NaN order.
func cmpFloatAA[T cmp.Ordered](out []byte, x, y []T, op cmpOp) {
	y = y[:len(x)]
	for i := range x {
		out[i>>3] |= b2u(op.holds(sparkCompare(x[i], y[i]))) << (i & 7)
	}
}

// cmpFloatAC compares a float column with a constant with Spark's NaN order.
func cmpFloatAC[T cmp.Ordered](out []byte, x []T, c T, op cmpOp) {
	for i := range x {
		out[i>>3] |= b2u(op.holds(sparkCompare(x[i], c))) << (i & 7)
	}
}

// ---- strings and binary (int32 offsets: arrow String and Binary) ----

// stringData returns a String or Binary array's offsets (n+1, offset applied)
// and its whole data buffer, so row i is data[offs[i]:offs[i+1]].
func stringData(a arrow.Array) (offs []int32, data []byte) {
	d := a.Data()
	if d.Len() == 0 {
		return []int32{0}, nil
	}
	if d.Buffers()[1] == nil || d.Buffers()[1].Len() < (d.Offset()+d.Len()+1)*4 {
		return make([]int32, d.Len()+1), nil // no offsets: every row empty
	}
	ob := d.Buffers()[1].Bytes()
	offs = unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(ob))), len(ob)/4)[d.Offset() : d.Offset()+d.Len()+1]
	if b := d.Buffers()[2]; b != nil {
		data = b.Bytes()
	}
	return offs, data
}

// stringWriter builds a String or Binary array row by row, writing offsets
// and data straight into allocator buffers. Validity is allocated on the
// first NULL.
type stringWriter struct {
	mem   memory.Allocator
	dt    arrow.DataType
	n     int // rows appended
	offs  *memory.Buffer
	ov    []int32
	data  *memory.Buffer
	dv    []byte // data[:len], capacity = buffer capacity
	valid *memory.Buffer
	vb    []byte
}

// newStringWriter prepares for rows rows and about dataHint bytes.
func newStringWriter(mem memory.Allocator, dt arrow.DataType, rows, dataHint int) *stringWriter {
	w := &stringWriter{mem: mem, dt: dt}
	w.offs, w.ov = allocFixed[int32](mem, rows+1)
	w.ov = w.ov[:1]
	w.ov[0] = 0
	w.data = memory.NewResizableBuffer(mem)
	w.data.Reserve(max(dataHint, 64))
	w.dv = w.data.Buf()[:0]
	return w
}

// ensureRow makes room for one more offset.
func (w *stringWriter) ensureRow() {
	if len(w.ov) < cap(w.ov) {
		return
	}
	nb := memory.NewResizableBuffer(w.mem)
	nb.Resize(2 * cap(w.ov) * 4)
	nv := unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(nb.Bytes()))), 2*cap(w.ov))
	copy(nv, w.ov)
	w.offs.Release()
	w.offs, w.ov = nb, nv[:len(w.ov)]
}

// adopt takes a data slice returned by an append-style callback: if the
// callback outgrew the buffer (Go reallocated), copy it into a bigger one.
func (w *stringWriter) adopt(d []byte) {
	if cap(d) == cap(w.dv) && (len(d) == 0 || unsafe.SliceData(d) == unsafe.SliceData(w.dv)) {
		w.dv = d
		return
	}
	w.reserve(len(d) - len(w.dv))
	w.dv = append(w.dv[:0], d...)
}

// reserve makes room for extra more data bytes.
func (w *stringWriter) reserve(extra int) {
	need := len(w.dv) + extra
	if need <= cap(w.dv) {
		return
	}
	if need > math.MaxInt32 {
		need = math.MaxInt32 // the offset check in finish reports it
	}
	nb := memory.NewResizableBuffer(w.mem)
	nb.Reserve(max(need, 2*cap(w.dv)))
	nd := append(nb.Buf()[:0], w.dv...)
	w.data.Release()
	w.data, w.dv = nb, nd
}

// appendBytes appends one valid row.
func (w *stringWriter) appendBytes(s []byte) {
	w.reserve(len(s))
	w.dv = append(w.dv, s...)
	w.endRow()
}

// appendString appends one valid row.
func (w *stringWriter) appendString(s string) {
	w.reserve(len(s))
	w.dv = append(w.dv, s...)
	w.endRow()
}

// appendWith appends one row produced by f(dst) (dst has the bytes written
// so far; f appends and returns it); ok=false appends a NULL instead.
func (w *stringWriter) appendWith(f func(dst []byte) ([]byte, bool)) {
	start := len(w.dv)
	d, ok := f(w.dv)
	w.adopt(d)
	if !ok {
		w.dv = w.dv[:start]
		w.appendNull()
		return
	}
	w.endRow()
}

// appendNull appends a NULL row.
func (w *stringWriter) appendNull() {
	if w.valid == nil {
		w.valid, w.vb = allocBits(w.mem, cap(w.ov))
		bitutil.SetBitsTo(w.vb, 0, int64(w.n), true)
	}
	w.endRow()
	bitutil.ClearBit(w.vb, w.n-1)
}

func (w *stringWriter) endRow() {
	w.ensureRow()
	w.ov = append(w.ov, int32(len(w.dv)))
	if w.valid != nil {
		if w.n >= len(w.vb)*8 {
			nb, nv := allocBits(w.mem, 2*len(w.vb)*8+8)
			copy(nv, w.vb)
			w.valid.Release()
			w.valid, w.vb = nb, nv
		}
		bitutil.SetBit(w.vb, w.n)
	}
	w.n++
}

// finish builds the array and releases the writer's hold on its buffers.
func (w *stringWriter) finish() (arrow.Array, error) {
	if len(w.dv) > math.MaxInt32-1 {
		w.release()
		return nil, fmt.Errorf("%w: string result exceeds 2 GiB in one batch; use smaller batches", expr.ErrType)
	}
	w.offs.Resize(len(w.ov) * 4)
	w.data.Resize(len(w.dv))
	valid, offs, data := w.valid, w.offs, w.data
	if valid != nil {
		valid.Resize(int(bitutil.BytesForBits(int64(w.n))))
	}
	w.valid, w.offs, w.data = nil, nil, nil
	return makeArray(w.dt, w.n, valid, array.UnknownNullCount, offs, data), nil
}

// release frees the writer's buffers without building an array.
func (w *stringWriter) release() {
	for _, b := range []*memory.Buffer{w.valid, w.offs, w.data} {
		if b != nil {
			b.Release()
		}
	}
	w.valid, w.offs, w.data = nil, nil, nil
}

// mapString applies f to every valid row of a String/Binary array, building
// a String/Binary result of type dt; f appends its output to dst and returns
// it, ok=false makes the row NULL.
func mapString(mem memory.Allocator, dt arrow.DataType, a arrow.Array, f func(dst, s []byte) ([]byte, bool)) (arrow.Array, error) {
	n := a.Len()
	offs, data := stringData(a)
	w := newStringWriter(mem, dt, n, int(offs[n]-offs[0]))
	bm, boff := validBits(a)
	for i := 0; i < n; i++ {
		if bm != nil && (len(bm) == 0 || !bitutil.BitIsSet(bm, boff+i)) {
			w.appendNull()
			continue
		}
		s := data[offs[i]:offs[i+1]]
		w.appendWith(func(dst []byte) ([]byte, bool) { return f(dst, s) })
	}
	return w.finish()
}

// mapStringToFixed computes a fixed-width value from every valid row of a
// String/Binary array (length, parse, hash); ok=false makes the row NULL.
func mapStringToFixed[O fixed](mem memory.Allocator, dt arrow.DataType, a arrow.Array, f func(s []byte) (O, bool)) arrow.Array {
	n := a.Len()
	offs, data := stringData(a)
	vb, out := allocFixed[O](mem, n)
	valid, _ := andValidity(mem, n, a)
	return finishNull(mem, dt, n, valid, vb, out, func(i int) (O, bool) { return f(data[offs[i]:offs[i+1]]) })
}

// mapFixedToString renders every valid row of a fixed-width array as a
// String/Binary row; f appends to dst and returns it.
func mapFixedToString[I fixed](mem memory.Allocator, dt arrow.DataType, a arrow.Array, f func(dst []byte, v I) []byte) (arrow.Array, error) {
	n := a.Len()
	in := values[I](a)
	w := newStringWriter(mem, dt, n, n*8)
	bm, boff := validBits(a)
	for i := 0; i < n; i++ {
		if bm != nil && (len(bm) == 0 || !bitutil.BitIsSet(bm, boff+i)) {
			w.appendNull()
			continue
		}
		v := in[i]
		w.appendWith(func(dst []byte) ([]byte, bool) { return f(dst, v), true })
	}
	return w.finish()
}

// stringPredicate evaluates f on every row of a String/Binary array into a
// boolean array (NULL in -> NULL out).
func stringPredicate(mem memory.Allocator, a arrow.Array, f func(s []byte) bool) arrow.Array {
	n := a.Len()
	offs, data := stringData(a)
	bb, bits := allocBits(mem, n)
	for i := 0; i < n; i++ {
		bits[i>>3] |= b2u(f(data[offs[i]:offs[i+1]])) << (i & 7)
	}
	valid, nulls := andValidity(mem, n, a)
	return makeArray(arrow.FixedWidthTypes.Boolean, n, valid, nulls, bb)
}

// boolBits returns a Boolean array's value bitmap and bit offset.
func boolBits(a arrow.Array) ([]byte, int) {
	d := a.Data()
	if d.Len() == 0 {
		return nil, 0
	}
	if d.Buffers()[1] == nil || d.Buffers()[1].Len()*8 < d.Offset()+d.Len() {
		return make([]byte, bitutil.BytesForBits(int64(d.Len()))), 0 // no values: all false
	}
	return d.Buffers()[1].Bytes(), d.Offset()
}

// constOf converts a literal's Go value to T for a kernel's captured
// constant; ok is false for NULL or a value that is not numeric-like.
func constOf[T fixed](v any) (T, bool) {
	var z T
	switch x := v.(type) {
	case nil:
		return z, false
	case int8:
		return convNum[T](int64(x))
	case int16:
		return convNum[T](int64(x))
	case int32:
		return convNum[T](int64(x))
	case int64:
		return convNum[T](x)
	case float32:
		return convFloat[T](float64(x))
	case float64:
		return convFloat[T](x)
	case arrow.Date32:
		return convNum[T](int64(x))
	case arrow.Timestamp:
		return convNum[T](int64(x))
	case bool:
		if x {
			return convNum[T](1)
		}
		return convNum[T](0)
	case decimal128.Num:
		if r, ok := any(x).(T); ok {
			return r, true
		}
	case arrow.MonthDayNanoInterval:
		if r, ok := any(x).(T); ok {
			return r, true
		}
	}
	return z, false
}

func convNum[T fixed](v int64) (T, bool) {
	var z T
	p := any(&z)
	switch q := p.(type) {
	case *int8:
		*q = int8(v)
	case *int16:
		*q = int16(v)
	case *int32:
		*q = int32(v)
	case *int64:
		*q = v
	case *float32:
		*q = float32(v)
	case *float64:
		*q = float64(v)
	case *arrow.Date32:
		*q = arrow.Date32(v)
	case *arrow.Timestamp:
		*q = arrow.Timestamp(v)
	case *uint8:
		*q = uint8(v)
	case *uint16:
		*q = uint16(v)
	case *uint32:
		*q = uint32(v)
	case *uint64:
		*q = uint64(v)
	case *decimal128.Num:
		*q = decimal128.FromI64(v)
	default:
		return z, false
	}
	return z, true
}

func convFloat[T fixed](v float64) (T, bool) {
	var z T
	switch q := any(&z).(type) {
	case *float32:
		*q = float32(v)
	case *float64:
		*q = v
	default:
		return convNum[T](int64(v))
	}
	return z, true
}
