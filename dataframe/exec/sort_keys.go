package exec

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Typed row comparators for ORDER BY: one small struct per Arrow type that
// reads typed slices directly, so a comparison never boxes a value in `any`.
// A comparator compares row i of column a with row j of column b (the same
// array when sorting one batch; two arrays for TopN's threshold test) and
// applies direction and null order, Spark's way: NULLS FIRST/LAST is
// independent of ASC/DESC, NaN is larger than every other float, -0.0
// equals 0.0, strings and binary compare byte-wise.

// keyOrder is the direction and null placement of one sort key.
type keyOrder struct {
	desc, nullsFirst bool
}

// colCmp compares row i of one column with row j of another.
type colCmp interface {
	cmp(i, j int) int
}

// validity is a column's null bitmap; bits == nil means no NULLs.
type validity struct {
	bits []byte
	off  int
}

func validityOf(a arrow.Array) validity {
	if a.NullN() == 0 {
		return validity{}
	}
	return validity{bits: a.NullBitmapBytes(), off: a.Data().Offset()}
}

func (v validity) isNull(i int) bool {
	return v.bits != nil && !bitutil.BitIsSet(v.bits, v.off+i)
}

// nullCmp orders rows of which at least one is NULL.
func nullCmp(ni, nj, nullsFirst bool) int {
	switch {
	case ni && nj:
		return 0
	case ni == nullsFirst:
		return -1
	default:
		return 1
	}
}

type orderedCmp[T cmp.Ordered] struct {
	a, b   []T
	av, bv validity
	o      keyOrder
}

func (c *orderedCmp[T]) cmp(i, j int) int {
	if ni, nj := c.av.isNull(i), c.bv.isNull(j); ni || nj {
		return nullCmp(ni, nj, c.o.nullsFirst)
	}
	x, y := c.a[i], c.b[j]
	r := 0
	if x < y {
		r = -1
	} else if x > y {
		r = 1
	}
	if c.o.desc {
		return -r
	}
	return r
}

// compareFloat is Spark's float ordering: NaN = NaN > +Inf, -0.0 = 0.0.
func compareFloat[T float32 | float64](x, y T) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	case x == y:
		return 0
	}
	xn, yn := x != x, y != y
	switch {
	case xn && yn:
		return 0
	case xn:
		return 1
	default:
		return -1
	}
}

type floatCmp[T float32 | float64] struct {
	a, b   []T
	av, bv validity
	o      keyOrder
}

func (c *floatCmp[T]) cmp(i, j int) int {
	if ni, nj := c.av.isNull(i), c.bv.isNull(j); ni || nj {
		return nullCmp(ni, nj, c.o.nullsFirst)
	}
	r := compareFloat(c.a[i], c.b[j])
	if c.o.desc {
		return -r
	}
	return r
}

// bytesCmp compares string or binary values in Arrow's offsets+data
// layout; offsets are absolute (ValueOffsets) and data starts at offs[0].
type bytesCmp[O int32 | int64] struct {
	aoff, boff   []O
	adata, bdata []byte
	av, bv       validity
	o            keyOrder
}

func (c *bytesCmp[O]) cmp(i, j int) int {
	if ni, nj := c.av.isNull(i), c.bv.isNull(j); ni || nj {
		return nullCmp(ni, nj, c.o.nullsFirst)
	}
	ab, bb := c.aoff[0], c.boff[0]
	r := bytes.Compare(c.adata[c.aoff[i]-ab:c.aoff[i+1]-ab], c.bdata[c.boff[j]-bb:c.boff[j+1]-bb])
	if c.o.desc {
		return -r
	}
	return r
}

type boolCmp struct {
	a, b       []byte
	aoff, boff int
	av, bv     validity
	o          keyOrder
}

func (c *boolCmp) cmp(i, j int) int {
	if ni, nj := c.av.isNull(i), c.bv.isNull(j); ni || nj {
		return nullCmp(ni, nj, c.o.nullsFirst)
	}
	x, y := bitutil.BitIsSet(c.a, c.aoff+i), bitutil.BitIsSet(c.b, c.boff+j)
	r := 0
	if x != y {
		r = 1
		if !x {
			r = -1
		}
	}
	if c.o.desc {
		return -r
	}
	return r
}

type decimalCmp struct {
	a, b   []decimal128.Num
	av, bv validity
	o      keyOrder
}

func (c *decimalCmp) cmp(i, j int) int {
	if ni, nj := c.av.isNull(i), c.bv.isNull(j); ni || nj {
		return nullCmp(ni, nj, c.o.nullsFirst)
	}
	r := c.a[i].Cmp(c.b[j])
	if c.o.desc {
		return -r
	}
	return r
}

// nullTypeCmp orders a column of the NULL type: every row is NULL.
type nullTypeCmp struct{}

func (nullTypeCmp) cmp(int, int) int { return 0 }

// newColCmp builds a comparator for columns a and b, which have the same
// type. It reports ErrExec for types Spark cannot order (maps) or that
// sluice does not order yet (structs, arrays, intervals).
func newColCmp(a, b arrow.Array, o keyOrder) (colCmp, error) {
	if !arrow.TypeEqual(a.DataType(), b.DataType()) {
		return nil, errorf("sort key types differ: %s vs %s", expr.TypeName(a.DataType()), expr.TypeName(b.DataType()))
	}
	av, bv := validityOf(a), validityOf(b)
	switch x := a.(type) {
	case *array.Int8:
		return &orderedCmp[int8]{a: x.Int8Values(), b: b.(*array.Int8).Int8Values(), av: av, bv: bv, o: o}, nil
	case *array.Int16:
		return &orderedCmp[int16]{a: x.Int16Values(), b: b.(*array.Int16).Int16Values(), av: av, bv: bv, o: o}, nil
	case *array.Int32:
		return &orderedCmp[int32]{a: x.Int32Values(), b: b.(*array.Int32).Int32Values(), av: av, bv: bv, o: o}, nil
	case *array.Int64:
		return &orderedCmp[int64]{a: x.Int64Values(), b: b.(*array.Int64).Int64Values(), av: av, bv: bv, o: o}, nil
	case *array.Uint8:
		return &orderedCmp[uint8]{a: x.Uint8Values(), b: b.(*array.Uint8).Uint8Values(), av: av, bv: bv, o: o}, nil
	case *array.Uint16:
		return &orderedCmp[uint16]{a: x.Uint16Values(), b: b.(*array.Uint16).Uint16Values(), av: av, bv: bv, o: o}, nil
	case *array.Uint32:
		return &orderedCmp[uint32]{a: x.Uint32Values(), b: b.(*array.Uint32).Uint32Values(), av: av, bv: bv, o: o}, nil
	case *array.Uint64:
		return &orderedCmp[uint64]{a: x.Uint64Values(), b: b.(*array.Uint64).Uint64Values(), av: av, bv: bv, o: o}, nil
	case *array.Date32:
		return &orderedCmp[arrow.Date32]{a: x.Date32Values(), b: b.(*array.Date32).Date32Values(), av: av, bv: bv, o: o}, nil
	case *array.Date64:
		return &orderedCmp[arrow.Date64]{a: x.Date64Values(), b: b.(*array.Date64).Date64Values(), av: av, bv: bv, o: o}, nil
	case *array.Timestamp:
		return &orderedCmp[arrow.Timestamp]{a: x.TimestampValues(), b: b.(*array.Timestamp).TimestampValues(), av: av, bv: bv, o: o}, nil
	case *array.Float32:
		return &floatCmp[float32]{a: x.Float32Values(), b: b.(*array.Float32).Float32Values(), av: av, bv: bv, o: o}, nil
	case *array.Float64:
		return &floatCmp[float64]{a: x.Float64Values(), b: b.(*array.Float64).Float64Values(), av: av, bv: bv, o: o}, nil
	case *array.String:
		y := b.(*array.String)
		return &bytesCmp[int32]{aoff: x.ValueOffsets(), boff: y.ValueOffsets(), adata: x.ValueBytes(), bdata: y.ValueBytes(), av: av, bv: bv, o: o}, nil
	case *array.Binary:
		y := b.(*array.Binary)
		return &bytesCmp[int32]{aoff: x.ValueOffsets(), boff: y.ValueOffsets(), adata: x.ValueBytes(), bdata: y.ValueBytes(), av: av, bv: bv, o: o}, nil
	case *array.LargeString:
		y := b.(*array.LargeString)
		return &bytesCmp[int64]{aoff: x.ValueOffsets(), boff: y.ValueOffsets(), adata: x.ValueBytes(), bdata: y.ValueBytes(), av: av, bv: bv, o: o}, nil
	case *array.LargeBinary:
		y := b.(*array.LargeBinary)
		return &bytesCmp[int64]{aoff: x.ValueOffsets(), boff: y.ValueOffsets(), adata: x.ValueBytes(), bdata: y.ValueBytes(), av: av, bv: bv, o: o}, nil
	case *array.Boolean:
		return &boolCmp{a: boolBits(x), b: boolBits(b), aoff: x.Data().Offset(), boff: b.Data().Offset(), av: av, bv: bv, o: o}, nil
	case *array.Decimal128:
		return &decimalCmp{a: x.Values(), b: b.(*array.Decimal128).Values(), av: av, bv: bv, o: o}, nil
	case *array.Null:
		return nullTypeCmp{}, nil
	}
	return nil, errorf("cannot sort by a %s column: sluice orders numbers, strings, binary, booleans, dates, timestamps and decimals; sort by a field or an expression of such a type instead", expr.TypeName(a.DataType()))
}

func boolBits(a arrow.Array) []byte {
	if buf := a.Data().Buffers()[1]; buf != nil {
		return buf.Bytes()
	}
	return nil
}

// rowCmp compares rows by several keys, in order.
type rowCmp []colCmp

func (r rowCmp) cmp(i, j int) int {
	for _, c := range r {
		if x := c.cmp(i, j); x != 0 {
			return x
		}
	}
	return 0
}

// newRowCmp builds comparators for key columns a[k] against b[k].
func newRowCmp(a, b []arrow.Array, orders []keyOrder) (rowCmp, error) {
	out := make(rowCmp, len(a))
	for k := range a {
		c, err := newColCmp(a[k], b[k], orders[k])
		if err != nil {
			return nil, err
		}
		out[k] = c
	}
	return out, nil
}

// prefixKeys writes an order-preserving uint64 per non-NULL row of key
// column a into pairs (direction applied) and the NULL rows into nulls,
// both in row order. exact reports that equal prefixes mean equal keys;
// ok is false for types without a prefix (the caller sorts by comparator).
func prefixKeys(a arrow.Array, desc bool, pairs []keyIdx, nulls []int32) (_ []keyIdx, _ []int32, exact, ok bool) {
	n := a.Len()
	v := validityOf(a)
	var flip uint64
	if desc {
		flip = math.MaxUint64
	}
	emit := func(f func(i int) uint64) {
		for i := 0; i < n; i++ {
			if v.isNull(i) {
				nulls = append(nulls, int32(i))
				continue
			}
			pairs = append(pairs, keyIdx{k: f(i) ^ flip, i: int32(i)})
		}
	}
	const sign = 1 << 63
	switch x := a.(type) {
	case *array.Int8:
		vals := x.Int8Values()
		emit(func(i int) uint64 { return uint64(int64(vals[i])) ^ sign })
	case *array.Int16:
		vals := x.Int16Values()
		emit(func(i int) uint64 { return uint64(int64(vals[i])) ^ sign })
	case *array.Int32:
		vals := x.Int32Values()
		emit(func(i int) uint64 { return uint64(int64(vals[i])) ^ sign })
	case *array.Int64:
		vals := x.Int64Values()
		if v.bits == nil {
			// The hot case, without the closure call.
			pairs = growPairs(pairs, n)
			out := pairs[len(pairs)-n:]
			for i, x := range vals {
				out[i] = keyIdx{k: uint64(x) ^ sign ^ flip, i: int32(i)}
			}
			return pairs, nulls, true, true
		}
		emit(func(i int) uint64 { return uint64(vals[i]) ^ sign })
	case *array.Uint8:
		vals := x.Uint8Values()
		emit(func(i int) uint64 { return uint64(vals[i]) })
	case *array.Uint16:
		vals := x.Uint16Values()
		emit(func(i int) uint64 { return uint64(vals[i]) })
	case *array.Uint32:
		vals := x.Uint32Values()
		emit(func(i int) uint64 { return uint64(vals[i]) })
	case *array.Uint64:
		vals := x.Uint64Values()
		emit(func(i int) uint64 { return vals[i] })
	case *array.Date32:
		vals := x.Date32Values()
		emit(func(i int) uint64 { return uint64(int64(vals[i])) ^ sign })
	case *array.Date64:
		vals := x.Date64Values()
		emit(func(i int) uint64 { return uint64(int64(vals[i])) ^ sign })
	case *array.Timestamp:
		vals := x.TimestampValues()
		emit(func(i int) uint64 { return uint64(int64(vals[i])) ^ sign })
	case *array.Float32:
		vals := x.Float32Values()
		emit(func(i int) uint64 { return floatPrefix(float64(vals[i])) })
	case *array.Float64:
		vals := x.Float64Values()
		emit(func(i int) uint64 { return floatPrefix(vals[i]) })
	case *array.Boolean:
		bits, off := boolBits(x), x.Data().Offset()
		emit(func(i int) uint64 {
			if bitutil.BitIsSet(bits, off+i) {
				return 1
			}
			return 0
		})
	case *array.String:
		offs, data := x.ValueOffsets(), x.ValueBytes()
		emit(func(i int) uint64 { return bytesPrefix(data[offs[i]-offs[0] : offs[i+1]-offs[0]]) })
		return pairs, nulls, false, true
	case *array.Binary:
		offs, data := x.ValueOffsets(), x.ValueBytes()
		emit(func(i int) uint64 { return bytesPrefix(data[offs[i]-offs[0] : offs[i+1]-offs[0]]) })
		return pairs, nulls, false, true
	default:
		return pairs, nulls, false, false
	}
	return pairs, nulls, true, true
}

func growPairs(p []keyIdx, n int) []keyIdx {
	if cap(p)-len(p) >= n {
		return p[:len(p)+n]
	}
	out := make([]keyIdx, len(p)+n)
	copy(out, p)
	return out
}

// floatPrefix maps a float to a uint64 whose unsigned order is Spark's
// float order: -0.0 folds into 0.0 and NaN sorts above +Inf.
func floatPrefix(f float64) uint64 {
	if f != f {
		return math.MaxUint64
	}
	if f == 0 {
		f = 0
	}
	b := math.Float64bits(f)
	if b>>63 != 0 {
		return ^b
	}
	return b | 1<<63
}

// bytesPrefix is the first 8 bytes, big-endian, zero padded.
func bytesPrefix(s []byte) uint64 {
	if len(s) >= 8 {
		return binary.BigEndian.Uint64(s)
	}
	var buf [8]byte
	copy(buf[:], s)
	return binary.BigEndian.Uint64(buf[:])
}
