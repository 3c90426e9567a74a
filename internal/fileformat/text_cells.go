package fileformat

import (
	"encoding/base64"
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/sluicehq/sluice/dataframe/expr"
)

// cellFunc appends the text of row i of one column (the caller handles
// NULL). String-like cells are appended raw; the format quotes them.
type cellFunc func(dst []byte, i int) []byte

// cellKind tells a writer how to quote a cell's text.
type cellKind uint8

const (
	cellNumber cellKind = iota // JSON: raw number or literal
	cellString                 // JSON: quoted string
	cellFloat                  // JSON: number, or "NaN"/"Infinity" quoted
	cellNested                 // JSON: struct/list, written by the JSON writer
)

// checkScalarType reports whether a writer can format dt.
func checkScalarType(dt arrow.DataType) error {
	switch dt.ID() {
	case arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32,
		arrow.UINT64, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128, arrow.STRING, arrow.LARGE_STRING,
		arrow.BINARY, arrow.LARGE_BINARY, arrow.DATE32, arrow.TIMESTAMP, arrow.NULL:
		return nil
	}
	return errUnsupportedType(dt)
}

// scalarCell returns the formatter for a scalar column.
func scalarCell(arr arrow.Array, dt *datetimeOptions) (cellFunc, cellKind, error) {
	switch a := arr.(type) {
	case *array.Boolean:
		return func(dst []byte, i int) []byte { return strconv.AppendBool(dst, a.Value(i)) }, cellNumber, nil
	case *array.Int8:
		return func(dst []byte, i int) []byte { return strconv.AppendInt(dst, int64(a.Value(i)), 10) }, cellNumber, nil
	case *array.Int16:
		return func(dst []byte, i int) []byte { return strconv.AppendInt(dst, int64(a.Value(i)), 10) }, cellNumber, nil
	case *array.Int32:
		return func(dst []byte, i int) []byte { return strconv.AppendInt(dst, int64(a.Value(i)), 10) }, cellNumber, nil
	case *array.Int64:
		return func(dst []byte, i int) []byte { return strconv.AppendInt(dst, a.Value(i), 10) }, cellNumber, nil
	case *array.Uint8:
		return func(dst []byte, i int) []byte { return strconv.AppendUint(dst, uint64(a.Value(i)), 10) }, cellNumber, nil
	case *array.Uint16:
		return func(dst []byte, i int) []byte { return strconv.AppendUint(dst, uint64(a.Value(i)), 10) }, cellNumber, nil
	case *array.Uint32:
		return func(dst []byte, i int) []byte { return strconv.AppendUint(dst, uint64(a.Value(i)), 10) }, cellNumber, nil
	case *array.Uint64:
		return func(dst []byte, i int) []byte { return strconv.AppendUint(dst, a.Value(i), 10) }, cellNumber, nil
	case *array.Float32:
		return func(dst []byte, i int) []byte { return appendJavaDouble(dst, float64(a.Value(i)), 32) }, cellFloat, nil
	case *array.Float64:
		return func(dst []byte, i int) []byte { return appendJavaDouble(dst, a.Value(i), 64) }, cellFloat, nil
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		return func(dst []byte, i int) []byte { return append(dst, a.Value(i).ToString(scale)...) }, cellNumber, nil
	case *array.String:
		return func(dst []byte, i int) []byte { return append(dst, a.Value(i)...) }, cellString, nil
	case *array.LargeString:
		return func(dst []byte, i int) []byte { return append(dst, a.Value(i)...) }, cellString, nil
	case *array.Binary:
		return func(dst []byte, i int) []byte { return base64.StdEncoding.AppendEncode(dst, a.Value(i)) }, cellString, nil
	case *array.LargeBinary:
		return func(dst []byte, i int) []byte { return base64.StdEncoding.AppendEncode(dst, a.Value(i)) }, cellString, nil
	case *array.Date32:
		return func(dst []byte, i int) []byte { return dt.appendDate(dst, int32(a.Value(i))) }, cellString, nil
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return func(dst []byte, i int) []byte {
			return dt.appendTimestamp(dst, timestampMicros(int64(a.Value(i)), unit))
		}, cellString, nil
	case *array.Null:
		return func(dst []byte, i int) []byte { return dst }, cellNumber, nil
	case *array.Struct, *array.List:
		return nil, cellNested, nil
	}
	return nil, 0, fmt.Errorf("type %s is not supported (supported: %s)", expr.TypeName(arr.DataType()), supportedTypesText)
}

func timestampMicros(v int64, unit arrow.TimeUnit) int64 {
	switch unit {
	case arrow.Second:
		return v * microsPerSecond
	case arrow.Millisecond:
		return v * 1000
	case arrow.Nanosecond:
		return floorDiv(v, 1000)
	}
	return v
}
