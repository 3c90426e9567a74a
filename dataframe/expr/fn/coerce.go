package fn

// Spark's implicit type coercion: the wider common type of two types
// (findWiderTypeForTwo) and which casts exist at all (Cast.canCast, non-ANSI).
// The analyzer uses them to insert casts; the operators here use them to fill
// Binding.Cast.

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// maxDecimalPrecision is Spark's DecimalType.MAX_PRECISION (decimal128).
const maxDecimalPrecision = 38

// canonical maps a physical variant onto the engine's canonical type:
// dictionaries to their value type, large strings to strings, unsigned ints
// to the signed type that holds them, any timestamp to microseconds in UTC.
// Kernels are written for canonical types; Bind asks for a cast otherwise.
func canonical(dt arrow.DataType) arrow.DataType {
	switch t := dt.(type) {
	case *arrow.DictionaryType:
		return canonical(t.ValueType)
	case *arrow.LargeStringType, *arrow.StringViewType:
		return expr.String
	case *arrow.LargeBinaryType, *arrow.BinaryViewType, *arrow.FixedSizeBinaryType:
		return expr.Binary
	case *arrow.Uint8Type:
		return expr.Int16
	case *arrow.Uint16Type:
		return expr.Int32
	case *arrow.Uint32Type, *arrow.Uint64Type:
		return expr.Int64
	case *arrow.Float16Type:
		return expr.Float32
	case *arrow.TimestampType:
		return expr.Timestamp
	case *arrow.Date64Type:
		return expr.Date
	case *arrow.ListType:
		e := canonical(t.Elem())
		if arrow.TypeEqual(e, t.Elem()) {
			return dt
		}
		return arrow.ListOf(e)
	case *arrow.LargeListType:
		return arrow.ListOf(canonical(t.Elem()))
	case *arrow.StructType:
		fs := t.Fields()
		changed := false
		out := make([]arrow.Field, len(fs))
		for i, f := range fs {
			out[i] = f
			out[i].Type = canonical(f.Type)
			changed = changed || !arrow.TypeEqual(out[i].Type, f.Type)
		}
		if !changed {
			return dt
		}
		return arrow.StructOf(out...)
	}
	return dt
}

// castTo returns to when from needs a cast to become to, else nil (a
// Binding.Cast entry).
func castTo(from, to arrow.DataType) arrow.DataType {
	if arrow.TypeEqual(from, to) {
		return nil
	}
	return to
}

// intRank orders the integer types by width (0 for non-integers).
func intRank(dt arrow.DataType) int {
	switch dt.ID() {
	case arrow.INT8:
		return 1
	case arrow.INT16:
		return 2
	case arrow.INT32:
		return 3
	case arrow.INT64:
		return 4
	}
	return 0
}

// numericRank is Spark's numericPrecedence: byte < short < int < long < float < double.
func numericRank(dt arrow.DataType) int {
	switch dt.ID() {
	case arrow.FLOAT32:
		return 5
	case arrow.FLOAT64:
		return 6
	}
	return intRank(dt)
}

// decimalOfInt is the decimal type that holds every value of an integer type
// (Spark's DecimalType.forType).
func decimalOfInt(dt arrow.DataType) *arrow.Decimal128Type {
	switch dt.ID() {
	case arrow.INT8:
		return &arrow.Decimal128Type{Precision: 3, Scale: 0}
	case arrow.INT16:
		return &arrow.Decimal128Type{Precision: 5, Scale: 0}
	case arrow.INT32:
		return &arrow.Decimal128Type{Precision: 10, Scale: 0}
	}
	return &arrow.Decimal128Type{Precision: 20, Scale: 0}
}

// asDecimal returns dt as a decimal type (integers widened losslessly).
func asDecimal(dt arrow.DataType) (*arrow.Decimal128Type, bool) {
	if d, ok := dt.(*arrow.Decimal128Type); ok {
		return d, true
	}
	if expr.IsInteger(dt) {
		return decimalOfInt(dt), true
	}
	return nil, false
}

// widerDecimal is Spark's DecimalPrecision.widerDecimalType, bounded at 38.
func widerDecimal(a, b *arrow.Decimal128Type) *arrow.Decimal128Type {
	scale := max(a.Scale, b.Scale)
	rng := max(a.Precision-a.Scale, b.Precision-b.Scale)
	return boundedDecimal(rng+scale, scale)
}

// boundedDecimal caps precision and scale at 38 (Spark's DecimalType.bounded).
func boundedDecimal(p, s int32) *arrow.Decimal128Type {
	return &arrow.Decimal128Type{Precision: min(p, maxDecimalPrecision), Scale: min(s, maxDecimalPrecision)}
}

// adjustDecimal is Spark's DecimalType.adjustPrecisionScale (precision loss
// allowed): when p exceeds 38, keep the integral digits and at least 6
// fractional digits.
func adjustDecimal(p, s int32) *arrow.Decimal128Type {
	if p <= maxDecimalPrecision {
		return &arrow.Decimal128Type{Precision: p, Scale: s}
	}
	intDigits := p - s
	minScale := min(s, 6)
	adj := max(maxDecimalPrecision-intDigits, minScale)
	return &arrow.Decimal128Type{Precision: maxDecimalPrecision, Scale: adj}
}

// isTimestamp reports any timestamp type (the engine computes in µs UTC).
func isTimestamp(dt arrow.DataType) bool { return dt.ID() == arrow.TIMESTAMP }

// isDate reports date32/date64.
func isDate(dt arrow.DataType) bool { return dt.ID() == arrow.DATE32 || dt.ID() == arrow.DATE64 }

// isBinary reports the binary types.
func isBinary(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW, arrow.FIXED_SIZE_BINARY:
		return true
	}
	return false
}

// isStringy reports string-like types including views and dictionaries of strings.
func isStringy(dt arrow.DataType) bool {
	switch canonical(dt).ID() {
	case arrow.STRING:
		return true
	}
	return false
}

// isAtomic reports Spark's AtomicType: everything but NULL and nested types.
func isAtomic(dt arrow.DataType) bool {
	switch canonical(dt).(type) {
	case *arrow.NullType, *arrow.ListType, *arrow.StructType, *arrow.MapType:
		return false
	}
	return true
}

// CommonType is Spark's findWiderTypeForTwo: the type both a and b convert
// to without losing range. NULL goes with anything; integers widen; integer
// with float gives the float; integer with decimal a decimal that holds both;
// decimal with float double; date with timestamp timestamp; string with any
// atomic type except binary and boolean string; arrays and structs (same
// field names) element-wise. ok is false when Spark has no common type.
func CommonType(a, b arrow.DataType) (arrow.DataType, bool) {
	a, b = canonical(a), canonical(b)
	if arrow.TypeEqual(a, b) {
		return a, true
	}
	if t, ok := tightestCommon(a, b); ok {
		return t, true
	}
	// String promotion (Spark's stringPromotion inside findWiderTypeForTwo).
	if a.ID() == arrow.STRING && isAtomic(b) && !isBinary(b) && b.ID() != arrow.BOOL {
		return expr.String, true
	}
	if b.ID() == arrow.STRING && isAtomic(a) && !isBinary(a) && a.ID() != arrow.BOOL {
		return expr.String, true
	}
	switch x := a.(type) {
	case *arrow.ListType:
		if y, ok := b.(*arrow.ListType); ok {
			e, ok := CommonType(x.Elem(), y.Elem())
			if !ok {
				return nil, false
			}
			return arrow.ListOf(e), true
		}
	case *arrow.StructType:
		y, ok := b.(*arrow.StructType)
		if !ok || x.NumFields() != y.NumFields() {
			return nil, false
		}
		fs := make([]arrow.Field, x.NumFields())
		for i := range fs {
			fx, fy := x.Field(i), y.Field(i)
			if !strings.EqualFold(fx.Name, fy.Name) {
				return nil, false
			}
			t, ok := CommonType(fx.Type, fy.Type)
			if !ok {
				return nil, false
			}
			fs[i] = arrow.Field{Name: fx.Name, Type: t, Nullable: fx.Nullable || fy.Nullable}
		}
		return arrow.StructOf(fs...), true
	}
	return nil, false
}

// tightestCommon is Spark's findTightestCommonType plus the decimal rules of
// findWiderTypeForTwo, on canonical types.
func tightestCommon(a, b arrow.DataType) (arrow.DataType, bool) {
	switch {
	case arrow.TypeEqual(a, b):
		return a, true
	case a.ID() == arrow.NULL:
		return b, true
	case b.ID() == arrow.NULL:
		return a, true
	}
	da, aDec := a.(*arrow.Decimal128Type)
	db, bDec := b.(*arrow.Decimal128Type)
	switch {
	case aDec && bDec:
		return widerDecimal(da, db), true
	case aDec && expr.IsInteger(b):
		return widerDecimal(da, decimalOfInt(b)), true
	case bDec && expr.IsInteger(a):
		return widerDecimal(decimalOfInt(a), db), true
	case (aDec && expr.IsFloating(b)) || (bDec && expr.IsFloating(a)):
		return expr.Float64, true
	}
	if ra, rb := numericRank(a), numericRank(b); ra > 0 && rb > 0 {
		if ra >= rb {
			return a, true
		}
		return b, true
	}
	if (isDate(a) && isTimestamp(b)) || (isTimestamp(a) && isDate(b)) {
		return expr.Timestamp, true
	}
	return nil, false
}

// commonTypeOf folds CommonType over several types.
func commonTypeOf(types []arrow.DataType) (arrow.DataType, bool) {
	if len(types) == 0 {
		return expr.Null, true
	}
	t := canonical(types[0])
	for _, u := range types[1:] {
		var ok bool
		if t, ok = CommonType(t, u); !ok {
			return nil, false
		}
	}
	return t, true
}

// CanCast reports whether Spark (non-ANSI) can cast from to to; CastKernel
// succeeds exactly for these pairs.
func CanCast(from, to arrow.DataType) bool {
	if arrow.TypeEqual(from, to) || from.ID() == arrow.NULL {
		return true
	}
	f, t := canonical(from), canonical(to)
	if !arrow.TypeEqual(t, to) && !isTimestamp(to) {
		return false // kernels produce canonical types (and any timestamp unit)
	}
	if arrow.TypeEqual(f, t) {
		return true
	}
	switch t.ID() {
	case arrow.STRING:
		switch x := f.(type) {
		case *arrow.ListType:
			return CanCast(x.Elem(), expr.String)
		case *arrow.StructType:
			for _, fl := range x.Fields() {
				if !CanCast(fl.Type, expr.String) {
					return false
				}
			}
			return true
		}
		return isAtomic(f)
	case arrow.BINARY:
		return f.ID() == arrow.STRING || expr.IsInteger(f)
	case arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128:
		return f.ID() == arrow.BOOL || expr.IsNumeric(f) || f.ID() == arrow.STRING || isTimestamp(f)
	case arrow.DATE32:
		return f.ID() == arrow.STRING || isTimestamp(f)
	case arrow.TIMESTAMP:
		return f.ID() == arrow.STRING || isDate(f) || f.ID() == arrow.BOOL || expr.IsNumeric(f)
	case arrow.INTERVAL_MONTH_DAY_NANO:
		return f.ID() == arrow.STRING
	case arrow.LIST:
		fl, ok := f.(*arrow.ListType)
		return ok && CanCast(fl.Elem(), t.(*arrow.ListType).Elem())
	case arrow.STRUCT:
		fs, ok := f.(*arrow.StructType)
		ts := t.(*arrow.StructType)
		if !ok || fs.NumFields() != ts.NumFields() {
			return false
		}
		for i := range fs.NumFields() {
			if !CanCast(fs.Field(i).Type, ts.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}
