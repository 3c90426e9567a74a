package fn

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Element equality and ordering for array functions (array_contains,
// array_distinct, sort_array, map lookup).

// libElemKeyer returns a function giving each element of arr a string key
// that is equal exactly when Spark considers the values equal (NaN equals
// NaN, -0.0 equals 0.0). Callers skip NULL elements.
func libElemKeyer(arr arrow.Array) func(i int) string {
	switch a := arr.(type) {
	case *array.Boolean:
		return func(i int) string {
			if a.Value(i) {
				return "1"
			}
			return "0"
		}
	case *array.Float32:
		v := a.Float32Values()
		return func(i int) string {
			f := v[i]
			switch {
			case f != f:
				f = float32(math.NaN())
			case f == 0:
				f = 0
			}
			b := math.Float32bits(f)
			return string(unsafe.Slice((*byte)(unsafe.Pointer(&b)), 4))
		}
	case *array.Float64:
		v := a.Float64Values()
		return func(i int) string {
			f := v[i]
			switch {
			case f != f:
				f = math.NaN()
			case f == 0:
				f = 0
			}
			b := math.Float64bits(f)
			return string(unsafe.Slice((*byte)(unsafe.Pointer(&b)), 8))
		}
	case *array.String, *array.Binary:
		offs, data := stringData(arr)
		return func(i int) string { return string(data[offs[i]:offs[i+1]]) }
	}
	if fw, ok := arr.DataType().(arrow.FixedWidthDataType); ok && fw.BitWidth() >= 8 && len(arr.Data().Buffers()) > 1 {
		w := fw.BitWidth() / 8
		var raw []byte
		if b := arr.Data().Buffers()[1]; b != nil {
			raw = b.Bytes()
		}
		off := arr.Data().Offset()
		return func(i int) string { return string(raw[(off+i)*w : (off+i+1)*w]) }
	}
	return func(i int) string { return fmt.Sprint(expr.ValueAt(arr, i)) }
}

// libOrderable reports element types sort_array can order.
func libOrderable(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.FLOAT32, arrow.FLOAT64,
		arrow.STRING, arrow.BINARY, arrow.DATE32, arrow.TIMESTAMP, arrow.DECIMAL128, arrow.NULL:
		return true
	}
	return false
}

func cmpOrdered[T int8 | int16 | int32 | int64 | float32 | float64](v []T) func(i, j int) int {
	return func(i, j int) int { return sparkCompare(v[i], v[j]) }
}

// libElemComparer returns a three-way comparison of non-NULL elements
// (NaN largest, as Spark orders it).
func libElemComparer(arr arrow.Array) func(i, j int) int {
	switch a := arr.(type) {
	case *array.Boolean:
		return func(i, j int) int {
			x, y := a.Value(i), a.Value(j)
			switch {
			case x == y:
				return 0
			case !x:
				return -1
			}
			return 1
		}
	case *array.Int8:
		return cmpOrdered(a.Int8Values())
	case *array.Int16:
		return cmpOrdered(a.Int16Values())
	case *array.Int32:
		return cmpOrdered(a.Int32Values())
	case *array.Int64:
		return cmpOrdered(a.Int64Values())
	case *array.Float32:
		return cmpOrdered(a.Float32Values())
	case *array.Float64:
		return cmpOrdered(a.Float64Values())
	case *array.Date32:
		return cmpOrdered(values[int32](a))
	case *array.Timestamp:
		return cmpOrdered(values[int64](a))
	case *array.Decimal128:
		v := values[decimal128.Num](a)
		return func(i, j int) int { return v[i].Cmp(v[j]) }
	case *array.String, *array.Binary:
		offs, data := stringData(arr)
		return func(i, j int) int { return bytes.Compare(data[offs[i]:offs[i+1]], data[offs[j]:offs[j+1]]) }
	}
	return func(i, j int) int { return 0 }
}

// libSortIdx stably sorts child indices by less.
func libSortIdx(row []int64, less func(x, y int64) bool) {
	slices.SortStableFunc(row, func(x, y int64) int {
		switch {
		case less(x, y):
			return -1
		case less(y, x):
			return 1
		}
		return 0
	})
}
