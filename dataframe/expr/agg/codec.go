package agg

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// The codec turns one value of a nested type (struct, array, map) or a
// tuple of arguments into bytes, so the byte-heap stores and hash sets can
// hold it, and appends it back to an Arrow builder. The encoding is
// prefix-free (a NULL marker before every value, lengths before variable
// parts), so equal bytes mean equal values; with norm set, floats are
// normalised (one NaN, -0.0 = 0.0) as Spark does for DISTINCT.
//
// This is the slow, general path: flat types never go through it.

const (
	encNull  = 0
	encValid = 1
)

// codecSupports reports whether values of dt can be encoded.
func codecSupports(dt arrow.DataType) bool {
	switch t := dt.(type) {
	case *arrow.StructType:
		for _, f := range t.Fields() {
			if !codecSupports(f.Type) {
				return false
			}
		}
		return true
	case *arrow.ListType:
		return codecSupports(t.Elem())
	case *arrow.LargeListType:
		return codecSupports(t.Elem())
	case *arrow.MapType:
		return codecSupports(t.KeyType()) && codecSupports(t.ItemType())
	}
	switch dt.ID() {
	case arrow.NULL, arrow.BOOL, arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY, arrow.FIXED_SIZE_BINARY:
		return true
	}
	_, ok := fixedWidth(dt)
	return ok
}

// fixedWidth returns the byte width of a fixed-width primitive type.
func fixedWidth(dt arrow.DataType) (int, bool) {
	switch dt.ID() {
	case arrow.INT8, arrow.UINT8, arrow.INT16, arrow.UINT16, arrow.INT32, arrow.UINT32, arrow.INT64, arrow.UINT64,
		arrow.FLOAT32, arrow.FLOAT64, arrow.DATE32, arrow.DATE64, arrow.TIME32, arrow.TIME64, arrow.TIMESTAMP,
		arrow.DURATION, arrow.DECIMAL128, arrow.INTERVAL_MONTHS, arrow.INTERVAL_DAY_TIME, arrow.INTERVAL_MONTH_DAY_NANO:
		return dt.(arrow.FixedWidthDataType).BitWidth() / 8, true
	}
	return 0, false
}

// encodeRow appends the encoding of row i of a.
func encodeRow(dst []byte, a arrow.Array, i int, norm bool) []byte {
	if a.IsNull(i) {
		return append(dst, encNull)
	}
	dst = append(dst, encValid)
	switch t := a.(type) {
	case *array.Null:
		// A NULL array has no validity bitmap, so IsNull says false; its
		// rows are NULL all the same (max_by_all(NULL, ord), a NULL struct field).
		return append(dst[:len(dst)-1], encNull)
	case *array.Boolean:
		if t.Value(i) {
			return append(dst, 1)
		}
		return append(dst, 0)
	case *array.String:
		return appendString(dst, t.Value(i))
	case *array.Int64:
		// The common fixed widths without the generic width lookup: the
		// same little-endian bytes decodeFixed reads.
		return binary.LittleEndian.AppendUint64(dst, uint64(t.Value(i)))
	case *array.Timestamp:
		return binary.LittleEndian.AppendUint64(dst, uint64(t.Value(i)))
	case *array.Int32:
		return binary.LittleEndian.AppendUint32(dst, uint32(t.Value(i)))
	case *array.LargeString:
		return appendString(dst, t.Value(i))
	case *array.Binary:
		return appendBytes(dst, t.Value(i))
	case *array.LargeBinary:
		return appendBytes(dst, t.Value(i))
	case *array.FixedSizeBinary:
		return append(dst, t.Value(i)...)
	case *array.Struct:
		for f := 0; f < t.NumField(); f++ {
			dst = encodeRow(dst, t.Field(f), i, norm)
		}
		return dst
	case *array.Map:
		start, end := t.ValueOffsets(i)
		dst = binary.AppendUvarint(dst, uint64(end-start))
		for j := start; j < end; j++ {
			dst = encodeRow(dst, t.Keys(), int(j), norm)
			dst = encodeRow(dst, t.Items(), int(j), norm)
		}
		return dst
	case *array.List:
		start, end := t.ValueOffsets(i)
		return encodeRange(dst, t.ListValues(), start, end, norm)
	case *array.LargeList:
		start, end := t.ValueOffsets(i)
		return encodeRange(dst, t.ListValues(), start, end, norm)
	}
	w, _ := fixedWidth(a.DataType())
	d := a.Data()
	raw := d.Buffers()[1].Bytes()[(d.Offset()+i)*w : (d.Offset()+i+1)*w]
	if norm {
		switch a.DataType().ID() {
		case arrow.FLOAT32:
			return binary.LittleEndian.AppendUint32(dst, normFloat32Bits(binary.LittleEndian.Uint32(raw)))
		case arrow.FLOAT64:
			return binary.LittleEndian.AppendUint64(dst, normFloat64Bits(binary.LittleEndian.Uint64(raw)))
		}
	}
	return append(dst, raw...)
}

func encodeRange(dst []byte, vals arrow.Array, start, end int64, norm bool) []byte {
	dst = binary.AppendUvarint(dst, uint64(end-start))
	for j := start; j < end; j++ {
		dst = encodeRow(dst, vals, int(j), norm)
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

var errCorrupt = fmt.Errorf("%w: corrupt encoded aggregate value", expr.ErrType)

// decodeRow appends one encoded value to b and returns the rest of src.
func decodeRow(src []byte, b array.Builder) ([]byte, error) {
	if len(src) == 0 {
		return nil, errCorrupt
	}
	if src[0] == encNull {
		b.AppendNull()
		return src[1:], nil
	}
	src = src[1:]
	switch t := b.(type) {
	case *array.NullBuilder:
		t.AppendNull()
		return src, nil
	case *array.BooleanBuilder:
		if len(src) < 1 {
			return nil, errCorrupt
		}
		t.Append(src[0] != 0)
		return src[1:], nil
	case *array.StringBuilder:
		v, rest, err := readBytes(src)
		if err == nil {
			t.BinaryBuilder.Append(v)
		}
		return rest, err
	case *array.Int64Builder:
		if len(src) < 8 {
			return nil, errCorrupt
		}
		t.Append(int64(binary.LittleEndian.Uint64(src)))
		return src[8:], nil
	case *array.TimestampBuilder:
		if len(src) < 8 {
			return nil, errCorrupt
		}
		t.Append(arrow.Timestamp(binary.LittleEndian.Uint64(src)))
		return src[8:], nil
	case *array.LargeStringBuilder:
		v, rest, err := readBytes(src)
		if err == nil {
			t.BinaryBuilder.Append(v)
		}
		return rest, err
	case *array.BinaryBuilder:
		v, rest, err := readBytes(src)
		if err == nil {
			t.Append(v)
		}
		return rest, err
	case *array.FixedSizeBinaryBuilder:
		w := t.Type().(*arrow.FixedSizeBinaryType).ByteWidth
		if len(src) < w {
			return nil, errCorrupt
		}
		t.Append(src[:w])
		return src[w:], nil
	case *array.StructBuilder:
		t.Append(true)
		var err error
		for f := 0; f < t.NumField(); f++ {
			if src, err = decodeRow(src, t.FieldBuilder(f)); err != nil {
				return nil, err
			}
		}
		return src, nil
	case *array.MapBuilder:
		n, k := binary.Uvarint(src)
		if k <= 0 {
			return nil, errCorrupt
		}
		src = src[k:]
		t.Append(true)
		var err error
		for j := uint64(0); j < n; j++ {
			if src, err = decodeRow(src, t.KeyBuilder()); err != nil {
				return nil, err
			}
			if src, err = decodeRow(src, t.ItemBuilder()); err != nil {
				return nil, err
			}
		}
		return src, nil
	case *array.ListBuilder:
		t.Append(true)
		return decodeRange(src, t.ValueBuilder())
	case *array.LargeListBuilder:
		t.Append(true)
		return decodeRange(src, t.ValueBuilder())
	}
	return decodeFixed(src, b)
}

func decodeRange(src []byte, vb array.Builder) ([]byte, error) {
	n, k := binary.Uvarint(src)
	if k <= 0 {
		return nil, errCorrupt
	}
	src = src[k:]
	var err error
	for j := uint64(0); j < n; j++ {
		if src, err = decodeRow(src, vb); err != nil {
			return nil, err
		}
	}
	return src, nil
}

func readBytes(src []byte) ([]byte, []byte, error) {
	n, k := binary.Uvarint(src)
	if k <= 0 || uint64(len(src)-k) < n {
		return nil, nil, errCorrupt
	}
	return src[k : k+int(n)], src[k+int(n):], nil
}

func decodeFixed(src []byte, b array.Builder) ([]byte, error) {
	w, ok := fixedWidth(b.Type())
	if !ok {
		return nil, fmt.Errorf("%w: cannot decode %s", expr.ErrType, expr.TypeName(b.Type()))
	}
	if len(src) < w {
		return nil, errCorrupt
	}
	v, rest := src[:w], src[w:]
	le := binary.LittleEndian
	switch t := b.(type) {
	case *array.Int8Builder:
		t.Append(int8(v[0]))
	case *array.Uint8Builder:
		t.Append(v[0])
	case *array.Int16Builder:
		t.Append(int16(le.Uint16(v)))
	case *array.Uint16Builder:
		t.Append(le.Uint16(v))
	case *array.Int32Builder:
		t.Append(int32(le.Uint32(v)))
	case *array.Uint32Builder:
		t.Append(le.Uint32(v))
	case *array.Int64Builder:
		t.Append(int64(le.Uint64(v)))
	case *array.Uint64Builder:
		t.Append(le.Uint64(v))
	case *array.Float32Builder:
		t.Append(math.Float32frombits(le.Uint32(v)))
	case *array.Float64Builder:
		t.Append(math.Float64frombits(le.Uint64(v)))
	case *array.Date32Builder:
		t.Append(arrow.Date32(le.Uint32(v)))
	case *array.Date64Builder:
		t.Append(arrow.Date64(le.Uint64(v)))
	case *array.Time32Builder:
		t.Append(arrow.Time32(le.Uint32(v)))
	case *array.Time64Builder:
		t.Append(arrow.Time64(le.Uint64(v)))
	case *array.TimestampBuilder:
		t.Append(arrow.Timestamp(le.Uint64(v)))
	case *array.DurationBuilder:
		t.Append(arrow.Duration(le.Uint64(v)))
	case *array.Decimal128Builder:
		t.Append(decimal128.New(int64(le.Uint64(v[8:])), le.Uint64(v)))
	case *array.MonthIntervalBuilder:
		t.Append(arrow.MonthInterval(le.Uint32(v)))
	case *array.DayTimeIntervalBuilder:
		t.Append(arrow.DayTimeInterval{Days: int32(le.Uint32(v)), Milliseconds: int32(le.Uint32(v[4:]))})
	case *array.MonthDayNanoIntervalBuilder:
		t.Append(arrow.MonthDayNanoInterval{Months: int32(le.Uint32(v)), Days: int32(le.Uint32(v[4:])), Nanoseconds: int64(le.Uint64(v[8:]))})
	default:
		return nil, fmt.Errorf("%w: cannot decode into %T", expr.ErrType, b)
	}
	return rest, nil
}
