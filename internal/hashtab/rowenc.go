package hashtab

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/apache/arrow-go/v18/arrow/float16"
)

// Struct, list and map keys are compared and stored as a row encoding: an
// injective byte string per value, so two keys are equal exactly when their
// encodings are. It is the slow, general path (a type switch per value);
// flat keys never go through it.
//
//	value   = 0x00                       NULL
//	        | 0x01 payload
//	payload = 8 bytes little endian      kindFixed leaves (canonical pattern)
//	        | uvarint(len) bytes         kindBytes leaves
//	        | value value ...            struct: one value per field
//	        | uvarint(count) value ...   list, large list, fixed-size list, map
//
// Dictionary-encoded children are encoded by value.

// checkNested reports whether every leaf of a nested type is supported.
func checkNested(dt arrow.DataType) error {
	switch t := dt.(type) {
	case *arrow.StructType:
		for _, f := range t.Fields() {
			if err := checkNested(f.Type); err != nil {
				return err
			}
		}
		return nil
	case *arrow.MapType:
		return checkNested(t.Elem())
	case arrow.ListLikeType:
		return checkNested(t.Elem())
	case *arrow.DictionaryType:
		return checkNested(t.ValueType)
	}
	_, err := classify(dt)
	return err
}

// rowEncoder encodes nested key columns into one reusable arena.
type rowEncoder struct {
	buf  []byte
	ends []int
}

// encodeColumn encodes every row of arr and returns views of the encodings
// in out (valid until the next call).
func (e *rowEncoder) encodeColumn(arr arrow.Array, out []string) []string {
	n := arr.Len()
	e.buf = e.buf[:0]
	if cap(e.ends) < n {
		e.ends = make([]int, n)
	}
	ends := e.ends[:n]
	for i := 0; i < n; i++ {
		e.buf = appendValue(e.buf, arr, i)
		ends[i] = len(e.buf)
	}
	lo := 0
	for i := range out {
		out[i] = bstr(e.buf, lo, ends[i])
		lo = ends[i]
	}
	return out
}

// appendValue appends the encoding of arr[i].
func appendValue(b []byte, arr arrow.Array, i int) []byte {
	if d, ok := arr.(*array.Dictionary); ok {
		if d.IsNull(i) {
			return append(b, 0)
		}
		return appendValue(b, d.Dictionary(), d.GetValueIndex(i))
	}
	if arr.IsNull(i) {
		return append(b, 0)
	}
	b = append(b, 1)
	switch a := arr.(type) {
	case *array.Struct:
		for f := 0; f < a.NumField(); f++ {
			b = appendValue(b, a.Field(f), i)
		}
		return b
	case array.ListLike: // list, large list, fixed-size list, map
		start, end := a.ValueOffsets(i)
		b = binary.AppendUvarint(b, uint64(end-start))
		vals := a.ListValues()
		for j := start; j < end; j++ {
			b = appendValue(b, vals, int(j))
		}
		return b
	}
	if v, ok := fixedAt(arr, i); ok {
		return binary.LittleEndian.AppendUint64(b, v)
	}
	v := bytesAt(arr, i)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// fixedAt reads one kindFixed value as its canonical 64-bit pattern.
func fixedAt(arr arrow.Array, i int) (uint64, bool) {
	switch a := arr.(type) {
	case *array.Null:
		return 0, true
	case *array.Boolean:
		if a.Value(i) {
			return 1, true
		}
		return 0, true
	case *array.Int8:
		return uint64(int64(a.Value(i))), true
	case *array.Int16:
		return uint64(int64(a.Value(i))), true
	case *array.Int32:
		return uint64(int64(a.Value(i))), true
	case *array.Int64:
		return uint64(a.Value(i)), true
	case *array.Uint8:
		return uint64(a.Value(i)), true
	case *array.Uint16:
		return uint64(a.Value(i)), true
	case *array.Uint32:
		return uint64(a.Value(i)), true
	case *array.Uint64:
		return a.Value(i), true
	case *array.Float16:
		var d [1]uint64
		canonF16([]uint16{a.Value(i).Uint16()}, d[:])
		return d[0], true
	case *array.Float32:
		var d [1]uint64
		canonF32([]float32{a.Value(i)}, d[:])
		return d[0], true
	case *array.Float64:
		var d [1]uint64
		canonF64([]float64{a.Value(i)}, d[:])
		return d[0], true
	case *array.Date32:
		return uint64(int64(a.Value(i))), true
	case *array.Date64:
		return uint64(a.Value(i)), true
	case *array.Time32:
		return uint64(int64(a.Value(i))), true
	case *array.Time64:
		return uint64(a.Value(i)), true
	case *array.Timestamp:
		return uint64(a.Value(i)), true
	case *array.Duration:
		return uint64(a.Value(i)), true
	case *array.MonthInterval:
		return uint64(int64(a.Value(i))), true
	case *array.DayTimeInterval:
		v := a.Value(i)
		return uint64(uint32(v.Days)) | uint64(uint32(v.Milliseconds))<<32, true
	case *array.Decimal32:
		return uint64(int64(a.Value(i))), true
	case *array.Decimal64:
		return uint64(a.Value(i)), true
	}
	return 0, false
}

// bytesAt reads one kindBytes value.
func bytesAt(arr arrow.Array, i int) []byte {
	switch a := arr.(type) {
	case *array.String:
		return []byte(a.Value(i))
	case *array.LargeString:
		return []byte(a.Value(i))
	case *array.StringView:
		return []byte(a.Value(i))
	case *array.Binary:
		return a.Value(i)
	case *array.LargeBinary:
		return a.Value(i)
	case *array.BinaryView:
		return a.Value(i)
	case *array.FixedSizeBinary:
		return a.Value(i)
	}
	// decimal128/256, month_day_nano: the raw little-endian value bytes.
	w := arr.DataType().(arrow.FixedWidthDataType).BitWidth() / 8
	data := arr.Data()
	buf := data.Buffers()[1].Bytes()
	at := (data.Offset() + i) * w
	return buf[at : at+w]
}

// decodeValue appends one encoded value to bld and returns the rest of b.
func decodeValue(bld array.Builder, b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, errCorrupt
	}
	tag := b[0]
	b = b[1:]
	if tag == 0 {
		bld.AppendNull()
		return b, nil
	}
	var err error
	switch bb := bld.(type) {
	case *array.StructBuilder:
		bb.Append(true)
		for f := 0; f < bb.NumField(); f++ {
			if b, err = decodeValue(bb.FieldBuilder(f), b); err != nil {
				return nil, err
			}
		}
		return b, nil
	case *array.MapBuilder:
		bb.Append(true)
		return decodeElems(bb.ValueBuilder(), b)
	case array.ListLikeBuilder: // list, large list, fixed-size list
		bb.Append(true)
		return decodeElems(bb.ValueBuilder(), b)
	}
	if isFixedBuilder(bld) {
		if len(b) < 8 {
			return nil, errCorrupt
		}
		appendFixed(bld, binary.LittleEndian.Uint64(b))
		return b[8:], nil
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return nil, errCorrupt
	}
	appendBytes(bld, b[k:k+int(n)])
	return b[k+int(n):], nil
}

func decodeElems(vb array.Builder, b []byte) ([]byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, errCorrupt
	}
	b = b[k:]
	var err error
	for ; n > 0; n-- {
		if b, err = decodeValue(vb, b); err != nil {
			return nil, err
		}
	}
	return b, nil
}

var errCorrupt = fmt.Errorf("%w: corrupt row encoding of a nested key", ErrBadInput)

func isFixedBuilder(bld array.Builder) bool {
	kt, err := classify(bld.Type())
	return err == nil && kt.kind == kindFixed
}

// appendFixed appends the value with canonical pattern v.
func appendFixed(bld array.Builder, v uint64) {
	switch bb := bld.(type) {
	case *array.NullBuilder:
		bb.AppendNull()
	case *array.BooleanBuilder:
		bb.Append(v != 0)
	case *array.Int8Builder:
		bb.Append(int8(v))
	case *array.Int16Builder:
		bb.Append(int16(v))
	case *array.Int32Builder:
		bb.Append(int32(v))
	case *array.Int64Builder:
		bb.Append(int64(v))
	case *array.Uint8Builder:
		bb.Append(uint8(v))
	case *array.Uint16Builder:
		bb.Append(uint16(v))
	case *array.Uint32Builder:
		bb.Append(uint32(v))
	case *array.Uint64Builder:
		bb.Append(v)
	case *array.Float16Builder:
		bb.Append(float16.FromBits(uint16(v)))
	case *array.Float32Builder:
		bb.Append(math.Float32frombits(uint32(v)))
	case *array.Float64Builder:
		bb.Append(math.Float64frombits(v))
	case *array.Date32Builder:
		bb.Append(arrow.Date32(int32(v)))
	case *array.Date64Builder:
		bb.Append(arrow.Date64(int64(v)))
	case *array.Time32Builder:
		bb.Append(arrow.Time32(int32(v)))
	case *array.Time64Builder:
		bb.Append(arrow.Time64(int64(v)))
	case *array.TimestampBuilder:
		bb.Append(arrow.Timestamp(int64(v)))
	case *array.DurationBuilder:
		bb.Append(arrow.Duration(int64(v)))
	case *array.MonthIntervalBuilder:
		bb.Append(arrow.MonthInterval(int32(v)))
	case *array.DayTimeIntervalBuilder:
		bb.Append(arrow.DayTimeInterval{Days: int32(uint32(v)), Milliseconds: int32(uint32(v >> 32))})
	case *array.Decimal32Builder:
		bb.Append(decimalOf32(v))
	case *array.Decimal64Builder:
		bb.Append(decimalOf64(v))
	default:
		bld.AppendNull()
	}
}

// appendBytes appends one kindBytes value.
func appendBytes(bld array.Builder, v []byte) {
	switch bb := bld.(type) {
	case *array.StringBuilder:
		bb.Append(string(v))
	case *array.LargeStringBuilder:
		bb.Append(string(v))
	case *array.StringViewBuilder:
		bb.Append(string(v))
	case *array.BinaryBuilder: // binary and large binary
		bb.Append(v)
	case *array.BinaryViewBuilder:
		bb.Append(v)
	case *array.FixedSizeBinaryBuilder:
		bb.Append(v)
	case *array.Decimal128Builder:
		bb.Append(decimal128.New(int64(binary.LittleEndian.Uint64(v[8:])), binary.LittleEndian.Uint64(v)))
	case *array.Decimal256Builder:
		bb.Append(decimal256.New(binary.LittleEndian.Uint64(v[24:]), binary.LittleEndian.Uint64(v[16:]),
			binary.LittleEndian.Uint64(v[8:]), binary.LittleEndian.Uint64(v)))
	case *array.MonthDayNanoIntervalBuilder:
		bb.Append(arrow.MonthDayNanoInterval{
			Months:      int32(binary.LittleEndian.Uint32(v)),
			Days:        int32(binary.LittleEndian.Uint32(v[4:])),
			Nanoseconds: int64(binary.LittleEndian.Uint64(v[8:])),
		})
	default:
		bld.AppendNull()
	}
}

func decimalOf32(v uint64) decimal.Decimal32 { return decimal.Decimal32(int32(v)) }
func decimalOf64(v uint64) decimal.Decimal64 { return decimal.Decimal64(int64(v)) }
