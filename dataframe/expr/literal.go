package expr

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Literal is a constant. Value holds the engine's Go representation of the
// type (see ValueAt): nil, bool, int8..int64, float32/64, string, []byte,
// decimal128.Num, arrow.Date32 (days), arrow.Timestamp (microseconds, UTC),
// arrow.MonthDayNanoInterval; []any for a list; []any (one per field) for a
// struct.
type Literal struct {
	Value any
	Type  arrow.DataType
}

// Lit makes a literal from a Go value, inferring the type: int -> bigint,
// float64 -> double, time.Time -> timestamp, time.Duration -> interval.
func Lit(v any) *Literal {
	switch x := v.(type) {
	case nil:
		return &Literal{Type: Null}
	case *Literal:
		return x
	case bool:
		return &Literal{Value: x, Type: Boolean}
	case int:
		return &Literal{Value: int64(x), Type: Int64}
	case int8:
		return &Literal{Value: x, Type: Int8}
	case int16:
		return &Literal{Value: x, Type: Int16}
	case int32:
		return &Literal{Value: x, Type: Int32}
	case int64:
		return &Literal{Value: x, Type: Int64}
	case uint8:
		return &Literal{Value: int16(x), Type: Int16}
	case uint16:
		return &Literal{Value: int32(x), Type: Int32}
	case uint32:
		return &Literal{Value: int64(x), Type: Int64}
	case float32:
		return &Literal{Value: x, Type: Float32}
	case float64:
		return &Literal{Value: x, Type: Float64}
	case string:
		return &Literal{Value: x, Type: String}
	case []byte:
		return &Literal{Value: x, Type: Binary}
	case time.Time:
		return &Literal{Value: arrow.Timestamp(x.UnixMicro()), Type: Timestamp}
	case time.Duration:
		return &Literal{Value: arrow.MonthDayNanoInterval{Nanoseconds: int64(x)}, Type: Interval}
	case arrow.Date32:
		return &Literal{Value: x, Type: Date}
	case arrow.Timestamp:
		return &Literal{Value: x, Type: Timestamp}
	case arrow.MonthDayNanoInterval:
		return &Literal{Value: x, Type: Interval}
	}
	panic(fmt.Sprintf("expr.Lit: unsupported Go type %T", v))
}

// TypedNull is a NULL of a given type.
func TypedNull(dt arrow.DataType) *Literal { return &Literal{Type: dt} }

func (l *Literal) Children() []Expr         { return nil }
func (l *Literal) WithChildren([]Expr) Expr { return l }
func (l *Literal) DataType() arrow.DataType { return l.Type }
func (l *Literal) Nullable() bool           { return l.Value == nil }

// String renders the literal in Spark SQL.
func (l *Literal) String() string { return FormatValue(l.Value, l.Type, true) }

// Eval materialises the constant for every row.
func (l *Literal) Eval(ec *EvalContext, b arrow.RecordBatch) (arrow.Array, error) {
	return ConstArray(ec.Mem, l.Value, l.Type, int(b.NumRows()))
}

// ConstArray builds an n-row array repeating v of type dt (nil -> all NULL).
func ConstArray(mem memory.Allocator, v any, dt arrow.DataType, n int) (arrow.Array, error) {
	if v == nil {
		return array.MakeArrayOfNull(mem, dt, n), nil
	}
	bld := array.NewBuilder(mem, dt)
	defer bld.Release()
	bld.Reserve(n)
	for i := 0; i < n; i++ {
		if err := AppendValue(bld, v); err != nil {
			return nil, err
		}
	}
	return bld.NewArray(), nil
}

// AppendValue appends one engine Go value to a builder of the matching type.
func AppendValue(bld array.Builder, v any) error {
	if v == nil {
		bld.AppendNull()
		return nil
	}
	switch b := bld.(type) {
	case *array.BooleanBuilder:
		b.Append(v.(bool))
	case *array.Int8Builder:
		b.Append(v.(int8))
	case *array.Int16Builder:
		b.Append(v.(int16))
	case *array.Int32Builder:
		b.Append(v.(int32))
	case *array.Int64Builder:
		b.Append(v.(int64))
	case *array.Float32Builder:
		b.Append(v.(float32))
	case *array.Float64Builder:
		b.Append(v.(float64))
	case *array.StringBuilder:
		b.Append(v.(string))
	case *array.LargeStringBuilder:
		b.Append(v.(string))
	case *array.BinaryBuilder:
		switch x := v.(type) {
		case []byte:
			b.Append(x)
		case string:
			b.AppendString(x)
		}
	case *array.Decimal128Builder:
		b.Append(v.(decimal128.Num))
	case *array.Date32Builder:
		b.Append(v.(arrow.Date32))
	case *array.TimestampBuilder:
		b.Append(v.(arrow.Timestamp))
	case *array.MonthDayNanoIntervalBuilder:
		b.Append(v.(arrow.MonthDayNanoInterval))
	case *array.ListBuilder:
		items := v.([]any)
		b.Append(true)
		for _, it := range items {
			if err := AppendValue(b.ValueBuilder(), it); err != nil {
				return err
			}
		}
	case *array.StructBuilder:
		fields := v.([]any)
		b.Append(true)
		for i, f := range fields {
			if err := AppendValue(b.FieldBuilder(i), f); err != nil {
				return err
			}
		}
	case *array.NullBuilder:
		b.AppendNull()
	default:
		return fmt.Errorf("%w: cannot append %T to %s", ErrType, v, bld.Type())
	}
	return nil
}

// ValueAt returns row i of arr in the engine's Go representation (see
// Literal), nil for NULL.
func ValueAt(arr arrow.Array, i int) any {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.Boolean:
		return a.Value(i)
	case *array.Int8:
		return a.Value(i)
	case *array.Int16:
		return a.Value(i)
	case *array.Int32:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Uint8:
		return int16(a.Value(i))
	case *array.Uint16:
		return int32(a.Value(i))
	case *array.Uint32:
		return int64(a.Value(i))
	case *array.Uint64:
		return int64(a.Value(i))
	case *array.Float32:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.Binary:
		return append([]byte(nil), a.Value(i)...)
	case *array.LargeBinary:
		return append([]byte(nil), a.Value(i)...)
	case *array.Decimal128:
		return a.Value(i)
	case *array.Date32:
		return a.Value(i)
	case *array.Timestamp:
		v := a.Value(i)
		switch a.DataType().(*arrow.TimestampType).Unit {
		case arrow.Second:
			return v * 1_000_000
		case arrow.Millisecond:
			return v * 1000
		case arrow.Nanosecond:
			return v / 1000
		}
		return v
	case *array.MonthDayNanoInterval:
		return a.Value(i)
	case *array.Dictionary:
		return ValueAt(a.Dictionary(), a.GetValueIndex(i))
	case *array.List:
		start, end := a.ValueOffsets(i)
		out := make([]any, 0, end-start)
		for j := start; j < end; j++ {
			out = append(out, ValueAt(a.ListValues(), int(j)))
		}
		return out
	case *array.Struct:
		out := make([]any, a.NumField())
		for f := range out {
			out[f] = ValueAt(a.Field(f), i)
		}
		return out
	case *array.Null:
		return nil
	}
	return fmt.Sprintf("<%s>", arr.DataType())
}

// FormatValue renders a value. sql=true gives SQL literal syntax (quoted
// strings, TIMESTAMP '...'); false gives the display form Show uses.
func FormatValue(v any, dt arrow.DataType, sql bool) string {
	if v == nil {
		if sql {
			return "NULL"
		}
		return "NULL"
	}
	switch x := v.(type) {
	case bool:
		return strconv.FormatBool(x)
	case int8, int16, int32:
		return fmt.Sprint(x)
	case int64:
		if sql && dt != nil && dt.ID() == arrow.INT64 && (x > math.MaxInt32 || x < math.MinInt32) {
			return strconv.FormatInt(x, 10) + "L"
		}
		return strconv.FormatInt(x, 10)
	case float32:
		return formatFloat(float64(x), 32)
	case float64:
		return formatFloat(x, 64)
	case string:
		if sql {
			return "'" + strings.ReplaceAll(x, "'", "\\'") + "'"
		}
		return x
	case []byte:
		if sql {
			return "X'" + strings.ToUpper(hex.EncodeToString(x)) + "'"
		}
		return "[" + strings.ToUpper(hex.EncodeToString(x)) + "]"
	case decimal128.Num:
		scale := int32(0)
		if d, ok := dt.(*arrow.Decimal128Type); ok {
			scale = d.Scale
		}
		s := x.ToString(scale)
		if sql {
			return s + "BD"
		}
		return s
	case arrow.Date32:
		s := x.ToTime().Format("2006-01-02")
		if sql {
			return "DATE '" + s + "'"
		}
		return s
	case arrow.Timestamp:
		s := FormatTimestamp(int64(x))
		if sql {
			return "TIMESTAMP '" + s + "'"
		}
		return s
	case arrow.MonthDayNanoInterval:
		s := FormatInterval(x)
		if sql {
			return "INTERVAL '" + s + "'"
		}
		return s
	case []any:
		var elem arrow.DataType
		var fields []arrow.Field
		switch t := dt.(type) {
		case *arrow.ListType:
			elem = t.Elem()
		case *arrow.StructType:
			fields = t.Fields()
		}
		parts := make([]string, len(x))
		for i, it := range x {
			et := elem
			if fields != nil && i < len(fields) {
				et = fields[i].Type
			}
			parts[i] = FormatValue(it, et, sql)
		}
		if fields != nil {
			if sql {
				return "struct(" + strings.Join(parts, ", ") + ")"
			}
			return "{" + strings.Join(parts, ", ") + "}"
		}
		if sql {
			return "array(" + strings.Join(parts, ", ") + ")"
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v)
}

func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	s := strconv.FormatFloat(f, 'f', -1, bits)
	if math.Abs(f) >= 1e7 || (f != 0 && math.Abs(f) < 1e-3) {
		// Java's Double.toString, which Spark shows: 1.0E10, 2.5E-4 (a
		// digit after the point, no '+', no leading zeros in the exponent).
		m, e, _ := strings.Cut(strconv.FormatFloat(f, 'E', -1, bits), "E")
		if !strings.Contains(m, ".") {
			m += ".0"
		}
		exp, _ := strconv.Atoi(e)
		return m + "E" + strconv.Itoa(exp)
	} else if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// FormatTimestamp renders microseconds since the epoch as Spark shows a
// timestamp in UTC: 2026-01-02 03:04:05[.ffffff].
func FormatTimestamp(us int64) string {
	t := time.UnixMicro(us).UTC()
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02 15:04:05")
	}
	return strings.TrimRight(t.Format("2006-01-02 15:04:05.000000"), "0")
}

// FormatInterval renders an interval as "1 months 2 days 3.5 seconds"-style
// text, omitting zero parts.
func FormatInterval(iv arrow.MonthDayNanoInterval) string {
	var parts []string
	if iv.Months != 0 {
		parts = append(parts, fmt.Sprintf("%d months", iv.Months))
	}
	if iv.Days != 0 {
		parts = append(parts, fmt.Sprintf("%d days", iv.Days))
	}
	if iv.Nanoseconds != 0 || len(parts) == 0 {
		d := time.Duration(iv.Nanoseconds)
		parts = append(parts, strconv.FormatFloat(d.Seconds(), 'f', -1, 64)+" seconds")
	}
	return strings.Join(parts, " ")
}
