package fn

import (
	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Field extraction (year(), hour(), ...) and epoch conversions: all integer
// arithmetic on the raw days / microseconds.

// datePart defines a function of a date (timestamps use their UTC day).
func datePart(name, usage string, part func(days int64) int32, aliases ...string) *expr.Function {
	return &expr.Function{Name: name, Aliases: aliases, MinArgs: 1, MaxArgs: 1, Usage: usage,
		Bind: func(args []expr.Arg) (*expr.Binding, error) {
			cast, err := libDateInput(name, 0, args[0].Type)
			if err != nil {
				return nil, err
			}
			b := &expr.Binding{Type: expr.Int32, Nullable: args[0].Nullable, Cast: []arrow.DataType{cast}}
			if libNullConst(args[0]) {
				b.Kernel = nullKernel(expr.Int32)
				return b, nil
			}
			b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
				if a[0].DataType().ID() == arrow.DATE32 {
					return mapUnary(ec.Mem, expr.Int32, a[0], func(d int32) int32 { return part(int64(d)) }), nil
				}
				return mapUnary(ec.Mem, expr.Int32, a[0], func(us int64) int32 { return part(calFloorDiv(us, usPerDay)) }), nil
			}
			return b, nil
		}}
}

// timeField selects hour, minute or second of a timestamp.
type timeField uint8

const (
	fieldHour timeField = iota
	fieldMinute
	fieldSecond
)

// timePart defines hour(), minute() or second() of a timestamp.
func timePart(name string, field timeField) *expr.Function {
	return &expr.Function{Name: name, MinArgs: 1, MaxArgs: 1, Usage: name + "(timestamp)",
		Bind: func(args []expr.Arg) (*expr.Binding, error) {
			cast, err := libTimestampInput(name, 0, args[0].Type)
			if err != nil {
				return nil, err
			}
			b := &expr.Binding{Type: expr.Int32, Nullable: args[0].Nullable, Cast: []arrow.DataType{cast}}
			if libNullConst(args[0]) {
				b.Kernel = nullKernel(expr.Int32)
				return b, nil
			}
			b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
				return timeFieldArray(ec, a[0], field), nil
			}
			return b, nil
		}}
}

// timeFieldArray extracts a time field with one loop per field, so the
// divisions are by constants.
func timeFieldArray(ec *expr.EvalContext, a arrow.Array, field timeField) arrow.Array {
	n := a.Len()
	in := values[int64](a)
	buf, out := allocFixed[int32](ec.Mem, n)
	switch field {
	case fieldHour:
		for i, us := range in {
			tod := us % usPerDay
			if tod < 0 {
				tod += usPerDay
			}
			out[i] = int32(tod / usPerHour)
		}
	case fieldMinute:
		for i, us := range in {
			tod := us % usPerHour
			if tod < 0 {
				tod += usPerHour
			}
			out[i] = int32(tod / usPerMinute)
		}
	default:
		for i, us := range in {
			tod := us % usPerMinute
			if tod < 0 {
				tod += usPerMinute
			}
			out[i] = int32(tod / usPerSecond)
		}
	}
	valid, nulls := andValidity(ec.Mem, n, a)
	return makeArray(expr.Int32, n, valid, nulls, buf)
}

func bindTimestampSeconds(args []expr.Arg) (*expr.Binding, error) {
	dt := args[0].Type
	var cast arrow.DataType
	switch {
	case expr.IsInteger(dt):
		if dt.ID() != arrow.INT64 {
			cast = expr.Int64
		}
	case expr.IsFloating(dt), dt.ID() == arrow.DECIMAL128:
		if dt.ID() != arrow.FLOAT64 {
			cast = expr.Float64
		}
	case expr.IsNull(dt):
		cast = expr.Int64
	default:
		return nil, libTypeErr("timestamp_seconds", 0, "a number", dt)
	}
	b := &expr.Binding{Type: expr.Timestamp, Nullable: true, Cast: []arrow.DataType{cast}}
	if libNullConst(args[0]) {
		b.Kernel = nullKernel(expr.Timestamp)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		if a[0].DataType().ID() == arrow.FLOAT64 {
			// Spark: (seconds * 1e6).toLong; NaN and infinities are NULL.
			return mapUnaryNull(ec.Mem, expr.Timestamp, a[0], func(s float64) (int64, bool) {
				v := s * usPerSecond
				if v != v || v >= 9.2e18 || v <= -9.2e18 {
					return 0, false
				}
				return int64(v), true
			}), nil
		}
		return mapUnary(ec.Mem, expr.Timestamp, a[0], func(s int64) int64 { return s * usPerSecond }), nil
	}
	return b, nil
}

// epochToTimestamp defines timestamp_millis / timestamp_micros.
func epochToTimestamp(name string, unit int64) *expr.Function {
	return &expr.Function{Name: name, MinArgs: 1, MaxArgs: 1, Usage: name + "(n)",
		Bind: func(args []expr.Arg) (*expr.Binding, error) {
			cast, err := libIntCast(name, 0, args[0].Type, expr.Int64)
			if err != nil {
				return nil, err
			}
			b := &expr.Binding{Type: expr.Timestamp, Nullable: args[0].Nullable, Cast: []arrow.DataType{cast}}
			if libNullConst(args[0]) {
				b.Kernel = nullKernel(expr.Timestamp)
				return b, nil
			}
			b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
				return mapUnary(ec.Mem, expr.Timestamp, a[0], func(v int64) int64 { return v * unit }), nil
			}
			return b, nil
		}}
}

// timestampToEpoch defines unix_seconds / unix_millis / unix_micros (floor).
func timestampToEpoch(name string, unit int64) *expr.Function {
	return &expr.Function{Name: name, MinArgs: 1, MaxArgs: 1, Usage: name + "(timestamp)",
		Bind: func(args []expr.Arg) (*expr.Binding, error) {
			cast, err := libTimestampInput(name, 0, args[0].Type)
			if err != nil {
				return nil, err
			}
			b := &expr.Binding{Type: expr.Int64, Nullable: args[0].Nullable, Cast: []arrow.DataType{cast}}
			if libNullConst(args[0]) {
				b.Kernel = nullKernel(expr.Int64)
				return b, nil
			}
			b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
				return mapUnary(ec.Mem, expr.Int64, a[0], func(us int64) int64 { return calFloorDiv(us, unit) }), nil
			}
			return b, nil
		}}
}

func bindUnixDate(args []expr.Arg) (*expr.Binding, error) {
	cast, err := libDateOnlyInput("unix_date", 0, args[0].Type)
	if err != nil {
		return nil, err
	}
	b := &expr.Binding{Type: expr.Int32, Nullable: args[0].Nullable, Cast: []arrow.DataType{cast}}
	if libNullConst(args[0]) {
		b.Kernel = nullKernel(expr.Int32)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		return mapUnary(ec.Mem, expr.Int32, a[0], func(d int32) int32 { return d }), nil
	}
	return b, nil
}

func bindDateFromUnixDate(args []expr.Arg) (*expr.Binding, error) {
	cast, err := libIntCast("date_from_unix_date", 0, args[0].Type, expr.Int32)
	if err != nil {
		return nil, err
	}
	b := &expr.Binding{Type: expr.Date, Nullable: args[0].Nullable, Cast: []arrow.DataType{cast}}
	if libNullConst(args[0]) {
		b.Kernel = nullKernel(expr.Date)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		return mapUnary(ec.Mem, expr.Date, a[0], func(d int32) int32 { return d }), nil
	}
	return b, nil
}
