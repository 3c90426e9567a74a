package agg

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// phys is how an aggregate stores values of a type: raw fixed-width bits,
// one byte per boolean, bytes in a heap, or an encoded nested value.
type phys uint8

const (
	physNull   phys = iota // NULL type: every value is NULL
	physBool               // bit-packed in Arrow, one byte (0/1) in state
	phys1                  // 1-byte values: tinyint
	phys2                  // smallint
	phys4                  // int, float, date
	phys8                  // bigint, double, timestamp
	phys16                 // decimal128, month-day-nano interval
	physBytes              // string, binary
	physNested             // struct, array, map: encoded by codec.go
)

// kind describes an argument type for the value-generic aggregates (min,
// max, first, last, collect, DISTINCT, approx_count_distinct).
type kind struct {
	dt    arrow.DataType
	phys  phys
	float int // 32 or 64 for floating-point types (normalised for DISTINCT)
}

func kindOf(dt arrow.DataType) (kind, bool) {
	k := kind{dt: dt}
	switch dt.ID() {
	case arrow.NULL:
		k.phys = physNull
	case arrow.BOOL:
		k.phys = physBool
	case arrow.INT8, arrow.UINT8:
		k.phys = phys1
	case arrow.INT16, arrow.UINT16:
		k.phys = phys2
	case arrow.INT32, arrow.UINT32, arrow.DATE32, arrow.TIME32, arrow.INTERVAL_MONTHS:
		k.phys = phys4
	case arrow.FLOAT32:
		k.phys, k.float = phys4, 32
	case arrow.INT64, arrow.UINT64, arrow.DATE64, arrow.TIME64, arrow.TIMESTAMP, arrow.DURATION, arrow.INTERVAL_DAY_TIME:
		k.phys = phys8
	case arrow.FLOAT64:
		k.phys, k.float = phys8, 64
	case arrow.DECIMAL128, arrow.INTERVAL_MONTH_DAY_NANO:
		k.phys = phys16
	case arrow.STRING, arrow.BINARY:
		k.phys = physBytes
	default:
		if !codecSupports(dt) {
			return k, false
		}
		k.phys = physNested
	}
	return k, true
}

// canonical returns the type an argument should be cast to before it
// reaches an accumulator, or nil to keep it: large and view strings become
// string, dictionaries their value type.
func canonical(dt arrow.DataType) arrow.DataType {
	switch dt.ID() {
	case arrow.LARGE_STRING, arrow.STRING_VIEW:
		return expr.String
	case arrow.LARGE_BINARY, arrow.BINARY_VIEW:
		return expr.Binary
	case arrow.DICTIONARY:
		vt := dt.(*arrow.DictionaryType).ValueType
		if c := canonical(vt); c != nil {
			return c
		}
		return vt
	}
	return nil
}

// prepare applies canonical casts: it returns the types the accumulator
// will see and the Cast list for the binding (nil when nothing changes).
func prepare(args []expr.Arg) ([]arrow.DataType, []arrow.DataType) {
	types := make([]arrow.DataType, len(args))
	var cast []arrow.DataType
	for i, a := range args {
		types[i] = a.Type
		if c := canonical(a.Type); c != nil {
			if cast == nil {
				cast = make([]arrow.DataType, len(args))
			}
			cast[i], types[i] = c, c
		}
	}
	return types, cast
}

// setCast records a cast of argument i, keeping earlier ones.
func setCast(cast []arrow.DataType, n, i int, to arrow.DataType) []arrow.DataType {
	if cast == nil {
		cast = make([]arrow.DataType, n)
	}
	cast[i] = to
	return cast
}

func argTypeErr(fname string, i int, want string, got arrow.DataType) error {
	return fmt.Errorf("%w: argument %d of %s requires %s, got %s", expr.ErrType, i+1, fname, want, expr.TypeName(got))
}

func argCountErr(f *expr.AggFunction, n int) error {
	want := fmt.Sprint(f.MinArgs)
	switch {
	case f.MaxArgs < 0:
		want = fmt.Sprintf("at least %d", f.MinArgs)
	case f.MaxArgs != f.MinArgs:
		want = fmt.Sprintf("%d to %d", f.MinArgs, f.MaxArgs)
	}
	return fmt.Errorf("%w: %s takes %s argument(s), got %d; usage: %s", expr.ErrType, f.Name, want, n, f.Usage)
}

func checkArity(f *expr.AggFunction, args []expr.Arg) error {
	if len(args) < f.MinArgs || (f.MaxArgs >= 0 && len(args) > f.MaxArgs) {
		return argCountErr(f, len(args))
	}
	return nil
}

// orderable reports types min/max and sorting accept.
func orderable(k kind) bool {
	switch k.phys {
	case physNested:
		return false
	case phys16:
		return k.dt.ID() == arrow.DECIMAL128
	case phys4:
		return k.dt.ID() != arrow.INTERVAL_MONTHS
	case phys8:
		return k.dt.ID() != arrow.INTERVAL_DAY_TIME
	}
	return true
}

func isUnsigned(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return true
	}
	return false
}

// literalBool reads a boolean literal argument (first(x, true)).
func literalBool(fname string, i int, a expr.Arg) (bool, error) {
	if a.Const == nil || a.Type.ID() != arrow.BOOL {
		return false, fmt.Errorf("%w: argument %d of %s must be a boolean literal (true or false), got %s", expr.ErrType, i+1, fname, expr.TypeName(a.Type))
	}
	b, ok := a.Const.Value.(bool)
	if !ok {
		return false, fmt.Errorf("%w: argument %d of %s must be true or false, not NULL", expr.ErrType, i+1, fname)
	}
	return b, nil
}
