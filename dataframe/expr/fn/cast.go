package fn

// Casts between the engine's types with Spark's (non-ANSI) semantics: an
// invalid value becomes NULL; strict casts (try=false) report the first
// invalid value instead. Every conversion is a vectorised loop over one
// column; nested types cast their children as whole columns.

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// castFuncs are Spark's type-named cast functions: int(x) is CAST(x AS INT).
var castFuncs = []*expr.Function{
	typeCastFunc("boolean", expr.Boolean),
	typeCastFunc("tinyint", expr.Int8),
	typeCastFunc("smallint", expr.Int16),
	typeCastFunc("int", expr.Int32),
	typeCastFunc("bigint", expr.Int64),
	typeCastFunc("float", expr.Float32),
	typeCastFunc("double", expr.Float64),
	typeCastFunc("decimal", &arrow.Decimal128Type{Precision: 10, Scale: 0}),
	typeCastFunc("string", expr.String),
	typeCastFunc("binary", expr.Binary),
	typeCastFunc("date", expr.Date),
	typeCastFunc("timestamp", expr.Timestamp),
}

func typeCastFunc(name string, to arrow.DataType) *expr.Function {
	return &expr.Function{
		Name: name, MinArgs: 1, MaxArgs: 1,
		Usage: name + "(expr): CAST(expr AS " + strings.ToUpper(expr.TypeName(to)) + ")",
		Bind: func(args []expr.Arg) (*expr.Binding, error) {
			if !CanCast(args[0].Type, to) {
				return nil, fmt.Errorf("%w: %s(): cannot cast %s to %s", expr.ErrType, name, expr.TypeName(args[0].Type), expr.TypeName(to))
			}
			k, err := CastKernel(args[0].Type, to, true)
			if err != nil {
				return nil, fmt.Errorf("%s(): %w", name, err)
			}
			return &expr.Binding{Type: to, Nullable: true, Kernel: k}, nil
		},
	}
}

// castFn converts one column; the result is owned by the caller.
type castFn func(mem memory.Allocator, a arrow.Array) (arrow.Array, error)

// CastKernel returns the kernel that converts a column of type from to type
// to, for every pair CanCast accepts. With try (Spark's default, non-ANSI
// cast) an unconvertible value becomes NULL; without it the kernel fails
// with an ErrType error naming the value and both types. Numeric narrowing
// wraps as in Spark; it is not an error.
func CastKernel(from, to arrow.DataType, try bool) (expr.Kernel, error) {
	conv, err := castFunc(from, to)
	if err != nil {
		return nil, err
	}
	return func(ec *expr.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		in := args[0]
		out, err := conv(ec.Mem, in)
		if err != nil {
			return nil, err
		}
		if !try && out.NullN() > in.NullN() {
			if err := strictCastError(in, out, to); err != nil {
				out.Release()
				return nil, err
			}
		}
		return out, nil
	}, nil
}

// strictCastError names the first row that was valid in in but NULL in out.
func strictCastError(in, out arrow.Array, to arrow.DataType) error {
	for i := 0; i < in.Len(); i++ {
		if in.IsValid(i) && out.IsNull(i) {
			return fmt.Errorf("%w: cannot cast %s of type %s to %s; fix the value or use try_cast to get NULL",
				expr.ErrType, expr.FormatValue(expr.ValueAt(in, i), in.DataType(), true), expr.TypeName(in.DataType()), expr.TypeName(to))
		}
	}
	return nil
}

// castLiteral converts a literal at bind time with Spark's non-ANSI cast
// (invalid -> NULL). Binders use it to capture constants in the type their
// kernel works in.
func castLiteral(l *expr.Literal, to arrow.DataType) (*expr.Literal, error) {
	if arrow.TypeEqual(l.Type, to) {
		return l, nil
	}
	if l.Value == nil {
		return expr.TypedNull(to), nil
	}
	conv, err := castFunc(l.Type, to)
	if err != nil {
		return nil, err
	}
	mem := memory.DefaultAllocator
	in, err := expr.ConstArray(mem, l.Value, l.Type, 1)
	if err != nil {
		return nil, err
	}
	defer in.Release()
	out, err := conv(mem, in)
	if err != nil {
		return nil, err
	}
	defer out.Release()
	return &expr.Literal{Value: expr.ValueAt(out, 0), Type: to}, nil
}

// castFunc resolves the conversion for a type pair.
func castFunc(from, to arrow.DataType) (castFn, error) {
	if arrow.TypeEqual(from, to) {
		return identityCast, nil
	}
	if from.ID() == arrow.NULL {
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return array.MakeArrayOfNull(mem, to, a.Len()), nil
		}, nil
	}
	if !CanCast(from, to) {
		return nil, fmt.Errorf("%w: cannot cast %s to %s", expr.ErrType, expr.TypeName(from), expr.TypeName(to))
	}
	// Normalise physical variants first, then convert canonical types.
	if cf := canonical(from); !arrow.TypeEqual(cf, from) {
		pre, err := normaliseFunc(from)
		if err != nil {
			return nil, err
		}
		rest, err := castFunc(cf, to)
		if err != nil {
			return nil, err
		}
		return compose(pre, rest), nil
	}
	if ct := canonical(to); !arrow.TypeEqual(ct, to) {
		tt, ok := to.(*arrow.TimestampType)
		if !ok {
			return nil, fmt.Errorf("%w: cannot cast to %s (%s): cast to %s instead", expr.ErrType, expr.TypeName(to), to, expr.TypeName(ct))
		}
		first, err := castFunc(from, ct)
		if err != nil {
			return nil, err
		}
		return compose(first, func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return rescaleTimestamp(mem, a, arrow.Microsecond, tt), nil
		}), nil
	}
	return canonicalCast(from, to)
}

func identityCast(_ memory.Allocator, a arrow.Array) (arrow.Array, error) {
	a.Retain()
	return a, nil
}

func compose(f, g castFn) castFn {
	return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
		mid, err := f(mem, a)
		if err != nil {
			return nil, err
		}
		defer mid.Release()
		return g(mem, mid)
	}
}

// normaliseFunc converts a physical variant to its canonical type.
func normaliseFunc(from arrow.DataType) (castFn, error) {
	switch t := from.(type) {
	case *arrow.DictionaryType:
		inner, err := castFunc(t.ValueType, canonical(t.ValueType))
		if err != nil {
			return nil, err
		}
		return compose(decodeDictionary, inner), nil
	case *arrow.LargeStringType, *arrow.StringViewType, *arrow.LargeBinaryType, *arrow.BinaryViewType, *arrow.FixedSizeBinaryType:
		dt := canonical(from)
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return rebuildBinary(mem, dt, a)
		}, nil
	case *arrow.Uint8Type:
		return numConv[uint8, int16](expr.Int16), nil
	case *arrow.Uint16Type:
		return numConv[uint16, int32](expr.Int32), nil
	case *arrow.Uint32Type:
		return numConv[uint32, int64](expr.Int64), nil
	case *arrow.Uint64Type:
		return numConv[uint64, int64](expr.Int64), nil
	case *arrow.Float16Type:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			f16 := a.(*array.Float16)
			vb, out := allocFixed[float32](mem, a.Len())
			for i := range out {
				out[i] = f16.Value(i).Float32()
			}
			valid, nulls := andValidity(mem, a.Len(), a)
			return makeArray(expr.Float32, a.Len(), valid, nulls, vb), nil
		}, nil
	case *arrow.TimestampType:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return rescaleTimestamp(mem, a, t.Unit, expr.Timestamp), nil
		}, nil
	case *arrow.Date64Type:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapUnary(mem, expr.Date, a, func(ms int64) arrow.Date32 { return arrow.Date32(floorDiv(ms, 86_400_000)) }), nil
		}, nil
	case *arrow.ListType, *arrow.StructType:
		return canonicalCast(from, canonical(from))
	}
	return nil, fmt.Errorf("%w: type %s is not supported; cast it to %s first", expr.ErrType, from, expr.TypeName(canonical(from)))
}

// rescaleTimestamp converts timestamp values between units (floor division
// when coarsening, as Spark truncates toward the past).
func rescaleTimestamp(mem memory.Allocator, a arrow.Array, from arrow.TimeUnit, to *arrow.TimestampType) arrow.Array {
	mul := func(u arrow.TimeUnit) int64 {
		switch u {
		case arrow.Second:
			return 1_000_000_000
		case arrow.Millisecond:
			return 1_000_000
		case arrow.Microsecond:
			return 1000
		}
		return 1
	}
	fm, tm := mul(from), mul(to.Unit)
	switch {
	case fm == tm:
		return mapUnary(mem, to, a, func(v int64) int64 { return v })
	case fm > tm:
		k := fm / tm
		return mapUnary(mem, to, a, func(v int64) int64 { return v * k })
	default:
		k := tm / fm
		return mapUnary(mem, to, a, func(v int64) int64 { return floorDiv(v, k) })
	}
}

// decodeDictionary materialises a dictionary array as its value type.
func decodeDictionary(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
	d := a.(*array.Dictionary)
	rows := make([]int32, d.Len())
	for i := range rows {
		if d.IsNull(i) {
			rows[i] = -1
		} else {
			rows[i] = int32(d.GetValueIndex(i))
		}
	}
	return gatherRows(mem, d.Dictionary(), rows)
}

// rebuildBinary copies any string/binary layout into String or Binary.
func rebuildBinary(mem memory.Allocator, dt arrow.DataType, a arrow.Array) (arrow.Array, error) {
	n := a.Len()
	w := newStringWriter(mem, dt, n, 0)
	type byteser interface{ Value(int) []byte }
	type stringer interface{ Value(int) string }
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			w.appendNull()
			continue
		}
		switch x := a.(type) {
		case byteser:
			w.appendBytes(x.Value(i))
		case stringer:
			w.appendString(x.Value(i))
		default:
			w.release()
			return nil, fmt.Errorf("%w: cannot read %s as bytes", expr.ErrType, a.DataType())
		}
	}
	return w.finish()
}

// canonicalCast converts between canonical types.
func canonicalCast(from, to arrow.DataType) (castFn, error) {
	switch {
	case to.ID() == arrow.STRING:
		return toStringFunc(from)
	case from.ID() == arrow.STRING:
		return fromStringFunc(to)
	}
	switch tt := to.(type) {
	case *arrow.BooleanType:
		return toBoolFunc(from)
	case *arrow.Int8Type:
		return toIntFunc[int8](from, to)
	case *arrow.Int16Type:
		return toIntFunc[int16](from, to)
	case *arrow.Int32Type:
		return toIntFunc[int32](from, to)
	case *arrow.Int64Type:
		return toIntFunc[int64](from, to)
	case *arrow.Float32Type:
		return toFloatFunc[float32](from, to)
	case *arrow.Float64Type:
		return toFloatFunc[float64](from, to)
	case *arrow.Decimal128Type:
		return toDecimalFunc(from, tt)
	case *arrow.Date32Type:
		if isTimestamp(from) {
			return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
				return mapUnary(mem, expr.Date, a, func(us int64) arrow.Date32 { return arrow.Date32(floorDiv(us, microsPerDay)) }), nil
			}, nil
		}
	case *arrow.TimestampType:
		return toTimestampFunc(from)
	case *arrow.BinaryType:
		return toBinaryFunc(from)
	case *arrow.ListType:
		fl := from.(*arrow.ListType)
		elem, err := castFunc(fl.Elem(), tt.Elem())
		if err != nil {
			return nil, err
		}
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			l := a.(*array.List)
			child, err := elem(mem, l.ListValues())
			if err != nil {
				return nil, err
			}
			defer child.Release()
			d := l.Data()
			nd := array.NewData(to, d.Len(), d.Buffers(), []arrow.ArrayData{child.Data()}, d.NullN(), d.Offset())
			defer nd.Release()
			return array.MakeFromData(nd), nil
		}, nil
	case *arrow.StructType:
		fs := from.(*arrow.StructType)
		convs := make([]castFn, tt.NumFields())
		for i := range convs {
			c, err := castFunc(fs.Field(i).Type, tt.Field(i).Type)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", tt.Field(i).Name, err)
			}
			convs[i] = c
		}
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			st := a.(*array.Struct)
			children := make([]arrow.ArrayData, len(convs))
			defer func() {
				for _, c := range children {
					if c != nil {
						c.Release()
					}
				}
			}()
			for i, c := range convs {
				out, err := c(mem, st.Field(i))
				if err != nil {
					return nil, err
				}
				children[i] = out.Data()
				children[i].Retain()
				out.Release()
			}
			valid, nulls := andValidity(mem, a.Len(), a)
			nd := array.NewData(to, a.Len(), []*memory.Buffer{valid}, children, nulls, 0)
			if valid != nil {
				valid.Release()
			}
			defer nd.Release()
			return array.MakeFromData(nd), nil
		}, nil
	}
	return nil, fmt.Errorf("%w: cannot cast %s to %s", expr.ErrType, expr.TypeName(from), expr.TypeName(to))
}

// numConv converts between numeric Go types with Go's conversion (wrapping
// integers, exact int->float as far as the float holds).
func numConv[I, O number | ~uint8 | ~uint16 | ~uint32 | ~uint64](dt arrow.DataType) castFn {
	return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
		return mapUnary(mem, dt, a, func(v I) O { return O(v) }), nil
	}
}

// ---- to boolean ----

func toBoolFunc(from arrow.DataType) (castFn, error) {
	var pred func(mem memory.Allocator, a arrow.Array) arrow.Array
	switch from.ID() {
	case arrow.INT8:
		pred = nonZero[int8]
	case arrow.INT16:
		pred = nonZero[int16]
	case arrow.INT32:
		pred = nonZero[int32]
	case arrow.INT64, arrow.TIMESTAMP:
		pred = nonZero[int64]
	case arrow.FLOAT32:
		pred = nonZero[float32]
	case arrow.FLOAT64:
		pred = nonZero[float64]
	case arrow.DECIMAL128:
		pred = func(mem memory.Allocator, a arrow.Array) arrow.Array {
			return boolFrom(mem, a, func(i int, v []decimal128.Num) bool { return v[i].Sign() != 0 })
		}
	default:
		return nil, fmt.Errorf("%w: cannot cast %s to boolean", expr.ErrType, expr.TypeName(from))
	}
	return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) { return pred(mem, a), nil }, nil
}

// nonZero is x != 0 (NaN != 0 is true, as in Spark).
func nonZero[T number](mem memory.Allocator, a arrow.Array) arrow.Array {
	return boolFrom(mem, a, func(i int, v []T) bool { return v[i] != 0 })
}

// boolFrom builds a boolean array from a fixed-width column and a predicate.
func boolFrom[T fixed](mem memory.Allocator, a arrow.Array, f func(i int, v []T) bool) arrow.Array {
	n := a.Len()
	v := values[T](a)
	bb, bits := allocBits(mem, n)
	for i := 0; i < n; i++ {
		bits[i>>3] |= b2u(f(i, v)) << (i & 7)
	}
	valid, nulls := andValidity(mem, n, a)
	return makeArray(expr.Boolean, n, valid, nulls, bb)
}

// fromBool maps a boolean column to fixed-width values t (true) and f (false).
func fromBool[O fixed](mem memory.Allocator, dt arrow.DataType, a arrow.Array, t, f O) arrow.Array {
	n := a.Len()
	bits, off := boolBits(a)
	vb, out := allocFixed[O](mem, n)
	for i := range out {
		if bitutil.BitIsSet(bits, off+i) {
			out[i] = t
		} else {
			out[i] = f
		}
	}
	valid, nulls := andValidity(mem, n, a)
	return makeArray(dt, n, valid, nulls, vb)
}

// ---- to integers ----

func toIntFunc[O ~int8 | ~int16 | ~int32 | ~int64](from, to arrow.DataType) (castFn, error) {
	switch from.ID() {
	case arrow.BOOL:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return fromBool[O](mem, to, a, 1, 0), nil
		}, nil
	case arrow.INT8:
		return numConv[int8, O](to), nil
	case arrow.INT16:
		return numConv[int16, O](to), nil
	case arrow.INT32:
		return numConv[int32, O](to), nil
	case arrow.INT64:
		return numConv[int64, O](to), nil
	case arrow.FLOAT32:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapUnary(mem, to, a, func(v float32) O { return floatToInt[O](float64(v)) }), nil
		}, nil
	case arrow.FLOAT64:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapUnary(mem, to, a, floatToInt[O]), nil
		}, nil
	case arrow.DECIMAL128:
		scale := from.(*arrow.Decimal128Type).Scale
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapUnary(mem, to, a, func(v decimal128.Num) O { return O(int64(decimalTrunc(v, scale).LowBits())) }), nil
		}, nil
	case arrow.TIMESTAMP:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapUnary(mem, to, a, func(us int64) O { return O(floorDiv(us, 1_000_000)) }), nil
		}, nil
	}
	return nil, fmt.Errorf("%w: cannot cast %s to %s", expr.ErrType, expr.TypeName(from), expr.TypeName(to))
}

// floatToInt is the JVM's conversion as Spark applies it: NaN -> 0,
// saturating to int (or long for bigint), then narrowing wraps.
func floatToInt[O ~int8 | ~int16 | ~int32 | ~int64](v float64) O {
	var z O
	if v != v {
		return 0
	}
	switch any(z).(type) {
	case int64:
		var w int64
		switch {
		case v >= math.MaxInt64:
			w = math.MaxInt64
		case v <= math.MinInt64:
			w = math.MinInt64
		default:
			w = int64(v)
		}
		return O(w)
	}
	var i int32
	switch {
	case v >= math.MaxInt32:
		i = math.MaxInt32
	case v <= math.MinInt32:
		i = math.MinInt32
	default:
		i = int32(v)
	}
	return O(i)
}

// ---- to floats ----

func toFloatFunc[O ~float32 | ~float64](from, to arrow.DataType) (castFn, error) {
	switch from.ID() {
	case arrow.BOOL:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return fromBool[O](mem, to, a, 1, 0), nil
		}, nil
	case arrow.INT8:
		return numConv[int8, O](to), nil
	case arrow.INT16:
		return numConv[int16, O](to), nil
	case arrow.INT32:
		return numConv[int32, O](to), nil
	case arrow.INT64:
		return numConv[int64, O](to), nil
	case arrow.FLOAT32:
		return numConv[float32, O](to), nil
	case arrow.FLOAT64:
		return numConv[float64, O](to), nil
	case arrow.DECIMAL128:
		scale := from.(*arrow.Decimal128Type).Scale
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapUnary(mem, to, a, func(v decimal128.Num) O { return O(v.ToFloat64(scale)) }), nil
		}, nil
	case arrow.TIMESTAMP:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapUnary(mem, to, a, func(us int64) O { return O(float64(us) / 1e6) }), nil
		}, nil
	}
	return nil, fmt.Errorf("%w: cannot cast %s to %s", expr.ErrType, expr.TypeName(from), expr.TypeName(to))
}

// ---- to decimal ----

func toDecimalFunc(from arrow.DataType, to *arrow.Decimal128Type) (castFn, error) {
	p, s := to.Precision, to.Scale
	fromInt := func(v int64) (decimal128.Num, bool) { return rescaleDecimal(decimal128.FromI64(v), 0, p, s) }
	switch from.ID() {
	case arrow.BOOL:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			one, _ := fromInt(1)
			return fromBool(mem, to, a, one, decimal128.Num{}), nil
		}, nil
	case arrow.INT8:
		return decimalFromInt[int8](to, fromInt), nil
	case arrow.INT16:
		return decimalFromInt[int16](to, fromInt), nil
	case arrow.INT32:
		return decimalFromInt[int32](to, fromInt), nil
	case arrow.INT64:
		return decimalFromInt[int64](to, fromInt), nil
	case arrow.FLOAT32:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapUnaryNull(mem, to, a, func(v float32) (decimal128.Num, bool) { return decimalFromFloat(float64(v), 32, p, s) }), nil
		}, nil
	case arrow.FLOAT64:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapUnaryNull(mem, to, a, func(v float64) (decimal128.Num, bool) { return decimalFromFloat(v, 64, p, s) }), nil
		}, nil
	case arrow.DECIMAL128:
		fs := from.(*arrow.Decimal128Type).Scale
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapUnaryNull(mem, to, a, func(v decimal128.Num) (decimal128.Num, bool) { return rescaleDecimal(v, fs, p, s) }), nil
		}, nil
	case arrow.TIMESTAMP:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapUnaryNull(mem, to, a, func(us int64) (decimal128.Num, bool) { return rescaleDecimal(decimal128.FromI64(us), 6, p, s) }), nil
		}, nil
	}
	return nil, fmt.Errorf("%w: cannot cast %s to %s", expr.ErrType, expr.TypeName(from), expr.TypeName(to))
}

func decimalFromInt[I ~int8 | ~int16 | ~int32 | ~int64](to arrow.DataType, f func(int64) (decimal128.Num, bool)) castFn {
	return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
		return mapUnaryNull(mem, to, a, func(v I) (decimal128.Num, bool) { return f(int64(v)) }), nil
	}
}

// decimalFromFloat converts through the shortest decimal rendering of the
// float, as Spark's Decimal(double) goes through Double.toString.
func decimalFromFloat(v float64, bits int, p, s int32) (decimal128.Num, bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return decimal128.Num{}, false
	}
	var buf [32]byte
	return parseDecimal(strconv.AppendFloat(buf[:0], v, 'e', -1, bits), p, s)
}

// ---- to timestamp ----

func toTimestampFunc(from arrow.DataType) (castFn, error) {
	to := expr.Timestamp
	secs := func(v int64) int64 { return saturatingMul(v, 1_000_000) }
	switch from.ID() {
	case arrow.BOOL:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return fromBool[int64](mem, to, a, 1, 0), nil
		}, nil
	case arrow.INT8:
		return tsFromInt[int8](secs), nil
	case arrow.INT16:
		return tsFromInt[int16](secs), nil
	case arrow.INT32:
		return tsFromInt[int32](secs), nil
	case arrow.INT64:
		return tsFromInt[int64](secs), nil
	case arrow.FLOAT32:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapUnaryNull(mem, to, a, func(v float32) (int64, bool) { return floatSecondsToMicros(float64(v)) }), nil
		}, nil
	case arrow.FLOAT64:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapUnaryNull(mem, to, a, floatSecondsToMicros), nil
		}, nil
	case arrow.DECIMAL128:
		scale := from.(*arrow.Decimal128Type).Scale
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapUnaryNull(mem, to, a, func(v decimal128.Num) (int64, bool) {
				us, ok := rescaleDecimal(v, scale, maxDecimalPrecision, 6)
				if !ok || us.HighBits() != 0 && us.HighBits() != -1 {
					return 0, false
				}
				return int64(us.LowBits()), true
			}), nil
		}, nil
	case arrow.DATE32:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapUnary(mem, to, a, func(d int32) int64 { return int64(d) * microsPerDay }), nil
		}, nil
	}
	return nil, fmt.Errorf("%w: cannot cast %s to timestamp", expr.ErrType, expr.TypeName(from))
}

func tsFromInt[I ~int8 | ~int16 | ~int32 | ~int64](f func(int64) int64) castFn {
	return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
		return mapUnary(mem, expr.Timestamp, a, func(v I) int64 { return f(int64(v)) }), nil
	}
}

func floatSecondsToMicros(v float64) (int64, bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	us := v * 1e6
	switch {
	case us >= math.MaxInt64:
		return math.MaxInt64, true
	case us <= math.MinInt64:
		return math.MinInt64, true
	}
	return int64(us), true
}

// ---- to binary ----

func toBinaryFunc(from arrow.DataType) (castFn, error) {
	switch from.ID() {
	case arrow.INT8:
		return intToBinary[int8](1), nil
	case arrow.INT16:
		return intToBinary[int16](2), nil
	case arrow.INT32:
		return intToBinary[int32](4), nil
	case arrow.INT64:
		return intToBinary[int64](8), nil
	}
	return nil, fmt.Errorf("%w: cannot cast %s to binary", expr.ErrType, expr.TypeName(from))
}

// intToBinary renders an integer as its big-endian two's complement bytes (Spark).
func intToBinary[I ~int8 | ~int16 | ~int32 | ~int64](width int) castFn {
	return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
		return mapFixedToString(mem, expr.Binary, a, func(dst []byte, v I) []byte {
			var b [8]byte
			binary.BigEndian.PutUint64(b[:], uint64(int64(v)))
			return append(dst, b[8-width:]...)
		})
	}
}

// ---- gather ----

// gatherRows builds out[i] = src[rows[i]] (rows[i] < 0 is NULL) for any type.
func gatherRows(mem memory.Allocator, src arrow.Array, rows []int32) (arrow.Array, error) {
	n := len(rows)
	dt := src.DataType()
	switch dt.ID() {
	case arrow.INT8, arrow.UINT8:
		return gatherFixed[int8](mem, src, rows), nil
	case arrow.INT16, arrow.UINT16:
		return gatherFixed[int16](mem, src, rows), nil
	case arrow.INT32, arrow.UINT32, arrow.DATE32, arrow.FLOAT32:
		return gatherFixed[int32](mem, src, rows), nil
	case arrow.INT64, arrow.UINT64, arrow.TIMESTAMP, arrow.FLOAT64, arrow.DATE64:
		return gatherFixed[int64](mem, src, rows), nil
	case arrow.DECIMAL128:
		return gatherFixed[decimal128.Num](mem, src, rows), nil
	case arrow.INTERVAL_MONTH_DAY_NANO:
		return gatherFixed[arrow.MonthDayNanoInterval](mem, src, rows), nil
	case arrow.STRING, arrow.BINARY:
		offs, data := stringData(src)
		w := newStringWriter(mem, dt, n, 0)
		for _, r := range rows {
			if r < 0 || src.IsNull(int(r)) {
				w.appendNull()
				continue
			}
			w.appendBytes(data[offs[r]:offs[r+1]])
		}
		return w.finish()
	case arrow.BOOL:
		bits, off := boolBits(src)
		bb, out := allocBits(mem, n)
		vb, vbits := allocBits(mem, n)
		nulls := 0
		for i, r := range rows {
			if r < 0 || src.IsNull(int(r)) {
				nulls++
				continue
			}
			bitutil.SetBit(vbits, i)
			if bitutil.BitIsSet(bits, off+int(r)) {
				bitutil.SetBit(out, i)
			}
		}
		if nulls == 0 {
			vb.Release()
			vb = nil
		}
		return makeArray(dt, n, vb, nulls, bb), nil
	}
	bld := array.NewBuilder(mem, dt)
	defer bld.Release()
	bld.Reserve(n)
	for _, r := range rows {
		if r < 0 {
			bld.AppendNull()
			continue
		}
		if err := expr.AppendValue(bld, expr.ValueAt(src, int(r))); err != nil {
			return nil, err
		}
	}
	return bld.NewArray(), nil
}

// gatherFixed gathers a fixed-width column by row ids (T only fixes the width).
func gatherFixed[T fixed](mem memory.Allocator, src arrow.Array, rows []int32) arrow.Array {
	n := len(rows)
	in := values[T](src)
	vb, out := allocFixed[T](mem, n)
	vbuf, vbits := allocBits(mem, n)
	sbits, soff := validBits(src)
	nulls := 0
	var z T
	for i, r := range rows {
		if r < 0 || (sbits != nil && (len(sbits) == 0 || !bitutil.BitIsSet(sbits, soff+int(r)))) {
			out[i] = z
			nulls++
			continue
		}
		out[i] = in[r]
		vbits[i>>3] |= 1 << (i & 7)
	}
	if nulls == 0 {
		vbuf.Release()
		vbuf = nil
	}
	return makeArray(src.DataType(), n, vbuf, nulls, vb)
}

// ---- small integer helpers ----

const microsPerDay = 86_400_000_000

// floorDiv divides rounding toward negative infinity (Java's Math.floorDiv).
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// floorMod is Java's Math.floorMod.
func floorMod(a, b int64) int64 {
	return a - floorDiv(a, b)*b
}

// saturatingMul multiplies, clamping at the int64 range (Java's TimeUnit.toMicros).
func saturatingMul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	c := a * b
	if c/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		if (a < 0) != (b < 0) {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return c
}
