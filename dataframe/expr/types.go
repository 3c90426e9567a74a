package expr

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// The engine's canonical types. Timestamps are microseconds in UTC (Spark's
// TimestampType); intervals are arrow's month-day-nano.
var (
	Timestamp = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	Date      = arrow.FixedWidthTypes.Date32
	Interval  = arrow.FixedWidthTypes.MonthDayNanoInterval
	String    = arrow.BinaryTypes.String
	Binary    = arrow.BinaryTypes.Binary
	Boolean   = arrow.FixedWidthTypes.Boolean
	Int8      = arrow.PrimitiveTypes.Int8
	Int16     = arrow.PrimitiveTypes.Int16
	Int32     = arrow.PrimitiveTypes.Int32
	Int64     = arrow.PrimitiveTypes.Int64
	Float32   = arrow.PrimitiveTypes.Float32
	Float64   = arrow.PrimitiveTypes.Float64
	Null      = arrow.Null
)

// TypeName renders a type the way Spark's simpleString does: int, bigint,
// string, timestamp, decimal(10,2), struct<a:int,b:string>, array<bigint>.
// PrintSchema, EXPLAIN and error messages use it.
func TypeName(dt arrow.DataType) string {
	switch t := dt.(type) {
	case nil:
		return "unresolved"
	case *arrow.NullType:
		return "void"
	case *arrow.BooleanType:
		return "boolean"
	case *arrow.Int8Type:
		return "tinyint"
	case *arrow.Int16Type:
		return "smallint"
	case *arrow.Int32Type:
		return "int"
	case *arrow.Int64Type:
		return "bigint"
	case *arrow.Uint8Type, *arrow.Uint16Type, *arrow.Uint32Type, *arrow.Uint64Type:
		return dt.Name()
	case *arrow.Float32Type:
		return "float"
	case *arrow.Float64Type:
		return "double"
	case *arrow.Decimal128Type:
		return fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale)
	case *arrow.StringType, *arrow.LargeStringType:
		return "string"
	case *arrow.BinaryType, *arrow.LargeBinaryType:
		return "binary"
	case *arrow.Date32Type:
		return "date"
	case *arrow.TimestampType:
		return "timestamp"
	case *arrow.MonthDayNanoIntervalType:
		return "interval"
	case *arrow.DictionaryType:
		return TypeName(t.ValueType)
	case *arrow.StructType:
		var b strings.Builder
		b.WriteString("struct<")
		for i, f := range t.Fields() {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(f.Name)
			b.WriteByte(':')
			b.WriteString(TypeName(f.Type))
		}
		b.WriteByte('>')
		return b.String()
	case *arrow.ListType:
		return "array<" + TypeName(t.Elem()) + ">"
	case *arrow.MapType:
		return "map<" + TypeName(t.KeyType()) + "," + TypeName(t.ItemType()) + ">"
	default:
		return dt.String()
	}
}

// IsInteger reports int8..int64.
func IsInteger(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64:
		return true
	}
	return false
}

// IsFloating reports float32 and float64.
func IsFloating(dt arrow.DataType) bool {
	return dt.ID() == arrow.FLOAT32 || dt.ID() == arrow.FLOAT64
}

// IsNumeric reports integers, floats and decimals.
func IsNumeric(dt arrow.DataType) bool {
	return IsInteger(dt) || IsFloating(dt) || dt.ID() == arrow.DECIMAL128
}

// IsString reports string-like types (string, large string).
func IsString(dt arrow.DataType) bool {
	return dt.ID() == arrow.STRING || dt.ID() == arrow.LARGE_STRING
}

// IsNull reports the type of an untyped NULL literal.
func IsNull(dt arrow.DataType) bool { return dt.ID() == arrow.NULL }
