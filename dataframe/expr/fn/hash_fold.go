package fn

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// sparkHasher is one of Spark's two row-hash algorithms: hash() (Murmur3,
// int seed) or xxhash64() (long seed). Each value of a row is hashed with the
// running result of the previous value as its seed; NULL leaves the seed
// unchanged, as in Spark's InterpretedHashFunction.
type sparkHasher[S int32 | int64] struct {
	hashInt   func(v int32, seed S) S
	hashLong  func(v int64, seed S) S
	hashBytes func(b []byte, seed S) S
}

var (
	murmur3Hasher  = sparkHasher[int32]{murmur3HashInt, murmur3HashLong, murmur3HashBytes}
	xxhash64Hasher = sparkHasher[int64]{xxhash64Int, xxhash64Long, xxhash64Bytes}
)

// hashable reports whether Spark can hash values of dt (everything but maps
// with unhashable parts; we accept all types we can read).
func hashable(dt arrow.DataType) bool {
	switch t := dt.(type) {
	case *arrow.ListType:
		return hashable(t.Elem())
	case *arrow.StructType:
		for _, f := range t.Fields() {
			if !hashable(f.Type) {
				return false
			}
		}
		return true
	case *arrow.MapType:
		return hashable(t.KeyType()) && hashable(t.ItemType())
	case *arrow.DictionaryType:
		return hashable(t.ValueType)
	}
	switch dt.ID() {
	case arrow.NULL, arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64, arrow.FLOAT32, arrow.FLOAT64,
		arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY, arrow.DECIMAL128,
		arrow.DATE32, arrow.TIMESTAMP, arrow.INTERVAL_MONTH_DAY_NANO:
		return true
	}
	return false
}

// foldHashColumn folds row i of arr into seeds[i] for every non-NULL row.
// Flat types run a typed loop; nested types hash element by element.
func foldHashColumn[S int32 | int64](h sparkHasher[S], arr arrow.Array, seeds []S) error {
	n := arr.Len()
	nulls := arr.NullN() > 0
	switch a := arr.(type) {
	case *array.Null:
		return nil
	case *array.Int32:
		vs := a.Int32Values()
		for i := 0; i < n; i++ {
			if !nulls || a.IsValid(i) {
				seeds[i] = h.hashInt(vs[i], seeds[i])
			}
		}
	case *array.Int64:
		vs := a.Int64Values()
		for i := 0; i < n; i++ {
			if !nulls || a.IsValid(i) {
				seeds[i] = h.hashLong(vs[i], seeds[i])
			}
		}
	case *array.Date32:
		vs := a.Date32Values()
		for i := 0; i < n; i++ {
			if !nulls || a.IsValid(i) {
				seeds[i] = h.hashInt(int32(vs[i]), seeds[i])
			}
		}
	case *array.Timestamp:
		if a.DataType().(*arrow.TimestampType).Unit != arrow.Microsecond {
			return foldHashGeneric(h, arr, seeds)
		}
		vs := values[int64](a)
		for i := 0; i < n; i++ {
			if !nulls || a.IsValid(i) {
				seeds[i] = h.hashLong(vs[i], seeds[i])
			}
		}
		return nil
	case *array.Float64:
		vs := a.Float64Values()
		for i := 0; i < n; i++ {
			if !nulls || a.IsValid(i) {
				seeds[i] = h.hashLong(doubleHashBits(vs[i]), seeds[i])
			}
		}
	case *array.String:
		offs, data := stringData(a)
		for i := 0; i < n; i++ {
			if !nulls || a.IsValid(i) {
				seeds[i] = h.hashBytes(data[offs[i]:offs[i+1]], seeds[i])
			}
		}
	case *array.Binary:
		offs, data := stringData(a)
		for i := 0; i < n; i++ {
			if !nulls || a.IsValid(i) {
				seeds[i] = h.hashBytes(data[offs[i]:offs[i+1]], seeds[i])
			}
		}
	default:
		return foldHashGeneric(h, arr, seeds)
	}
	return nil
}

// foldHashGeneric hashes row by row through hashOne (nested and rare types).
func foldHashGeneric[S int32 | int64](h sparkHasher[S], arr arrow.Array, seeds []S) error {
	for i := 0; i < arr.Len(); i++ {
		if arr.IsValid(i) {
			s, err := hashOne(h, arr, i, seeds[i])
			if err != nil {
				return err
			}
			seeds[i] = s
		}
	}
	return nil
}

// timestampMicros reads row i of a timestamp array as microseconds.
func timestampMicros(a *array.Timestamp, i int) int64 {
	v := int64(a.Value(i))
	switch a.DataType().(*arrow.TimestampType).Unit {
	case arrow.Second:
		return v * 1_000_000
	case arrow.Millisecond:
		return v * 1000
	case arrow.Nanosecond:
		return calFloorDiv(v, 1000)
	}
	return v
}

// doubleHashBits is the long Spark hashes for a double: -0.0 as 0.0 and
// every NaN as Java's canonical NaN (doubleToLongBits).
func doubleHashBits(f float64) int64 {
	if f == 0 {
		return 0
	}
	if f != f {
		return 0x7ff8000000000000
	}
	return int64(math.Float64bits(f))
}

// floatHashBits is the int Spark hashes for a float (floatToIntBits).
func floatHashBits(f float32) int32 {
	if f == 0 {
		return 0
	}
	if f != f {
		return 0x7fc00000
	}
	return int32(math.Float32bits(f))
}

// hashOne hashes row i of arr (known non-NULL at the top level) with seed.
func hashOne[S int32 | int64](h sparkHasher[S], arr arrow.Array, i int, seed S) (S, error) {
	if arr.IsNull(i) {
		return seed, nil
	}
	switch a := arr.(type) {
	case *array.Null:
		return seed, nil
	case *array.Boolean:
		if a.Value(i) {
			return h.hashInt(1, seed), nil
		}
		return h.hashInt(0, seed), nil
	case *array.Int8:
		return h.hashInt(int32(a.Value(i)), seed), nil
	case *array.Int16:
		return h.hashInt(int32(a.Value(i)), seed), nil
	case *array.Int32:
		return h.hashInt(a.Value(i), seed), nil
	case *array.Int64:
		return h.hashLong(a.Value(i), seed), nil
	case *array.Uint8:
		return h.hashInt(int32(a.Value(i)), seed), nil
	case *array.Uint16:
		return h.hashInt(int32(a.Value(i)), seed), nil
	case *array.Uint32:
		return h.hashLong(int64(a.Value(i)), seed), nil
	case *array.Uint64:
		return h.hashLong(int64(a.Value(i)), seed), nil
	case *array.Float32:
		return h.hashInt(floatHashBits(a.Value(i)), seed), nil
	case *array.Float64:
		return h.hashLong(doubleHashBits(a.Value(i)), seed), nil
	case *array.String:
		return h.hashBytes([]byte(a.Value(i)), seed), nil
	case *array.LargeString:
		return h.hashBytes([]byte(a.Value(i)), seed), nil
	case *array.Binary:
		return h.hashBytes(a.Value(i), seed), nil
	case *array.LargeBinary:
		return h.hashBytes(a.Value(i), seed), nil
	case *array.Date32:
		return h.hashInt(int32(a.Value(i)), seed), nil
	case *array.Timestamp:
		return h.hashLong(timestampMicros(a, i), seed), nil
	case *array.Decimal128:
		prec := a.DataType().(*arrow.Decimal128Type).Precision
		v := a.Value(i)
		if prec <= 18 {
			return h.hashLong(int64(v.LowBits()), seed), nil
		}
		return h.hashBytes(javaBigIntegerBytes(v), seed), nil
	case *array.MonthDayNanoInterval:
		// Spark: hashInt(months, hashInt(days, hashLong(microseconds, seed))).
		v := a.Value(i)
		s := h.hashLong(v.Nanoseconds/1000, seed)
		s = h.hashInt(v.Days, s)
		return h.hashInt(v.Months, s), nil
	case *array.Dictionary:
		return hashOne(h, a.Dictionary(), a.GetValueIndex(i), seed)
	case *array.List:
		start, end := a.ValueOffsets(i)
		vals := a.ListValues()
		var err error
		for j := int(start); j < int(end); j++ {
			if seed, err = hashOne(h, vals, j, seed); err != nil {
				return seed, err
			}
		}
		return seed, nil
	case *array.Map:
		start, end := a.ValueOffsets(i)
		keys, items := a.Keys(), a.Items()
		var err error
		for j := int(start); j < int(end); j++ {
			if seed, err = hashOne(h, keys, j, seed); err != nil {
				return seed, err
			}
			if seed, err = hashOne(h, items, j, seed); err != nil {
				return seed, err
			}
		}
		return seed, nil
	case *array.Struct:
		var err error
		for f := 0; f < a.NumField(); f++ {
			if seed, err = hashOne(h, a.Field(f), i, seed); err != nil {
				return seed, err
			}
		}
		return seed, nil
	}
	return seed, fmt.Errorf("%w: cannot hash values of type %s", expr.ErrType, expr.TypeName(arr.DataType()))
}

// javaBigIntegerBytes renders a decimal's unscaled value the way Java's
// BigInteger.toByteArray does: minimal big-endian two's complement.
func javaBigIntegerBytes(v decimal128.Num) []byte {
	var b [16]byte
	hi, lo := uint64(v.HighBits()), v.LowBits()
	for k := 0; k < 8; k++ {
		b[k] = byte(hi >> (56 - 8*k))
		b[8+k] = byte(lo >> (56 - 8*k))
	}
	start := 0
	for start < 15 {
		if b[start] == 0 && b[start+1]&0x80 == 0 || b[start] == 0xff && b[start+1]&0x80 != 0 {
			start++
			continue
		}
		break
	}
	return b[start:]
}
