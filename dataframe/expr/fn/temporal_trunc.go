package fn

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// date_trunc(unit, ts) and trunc(date, unit).

type truncUnit uint8

const (
	truncInvalid truncUnit = iota
	truncYear
	truncQuarter
	truncMonth
	truncWeek
	truncDay
	truncHour
	truncMinute
	truncSecond
	truncMilli
	truncMicro
)

// parseTruncUnit reads a unit name as Spark does (case-insensitive,
// with its abbreviations). dateOnly limits it to trunc()'s units.
func parseTruncUnit(s string, dateOnly bool) truncUnit {
	var u truncUnit
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "YEAR", "YYYY", "YY":
		u = truncYear
	case "QUARTER":
		u = truncQuarter
	case "MONTH", "MM", "MON":
		u = truncMonth
	case "WEEK":
		u = truncWeek
	case "DAY", "DD":
		u = truncDay
	case "HOUR":
		u = truncHour
	case "MINUTE":
		u = truncMinute
	case "SECOND":
		u = truncSecond
	case "MILLISECOND":
		u = truncMilli
	case "MICROSECOND":
		u = truncMicro
	}
	if dateOnly && u > truncWeek {
		return truncInvalid
	}
	return u
}

// truncDays truncates a date to a year, quarter, month or (Monday) week.
func truncDays(days int64, u truncUnit) int64 {
	switch u {
	case truncWeek:
		return days - int64(calISODayOfWeek(days)-1)
	case truncDay:
		return days
	}
	y, m, _ := calCivilFromDays(days)
	switch u {
	case truncYear:
		return calDaysFromCivil(y, 1, 1)
	case truncQuarter:
		return calDaysFromCivil(y, (m-1)/3*3+1, 1)
	}
	return calDaysFromCivil(y, m, 1)
}

// truncMicros truncates a timestamp; units of a day and smaller are a
// floor to a multiple (the session zone is UTC, so no DST shifts).
func truncMicros(us int64, u truncUnit) int64 {
	switch u {
	case truncMicro:
		return us
	case truncMilli:
		return us - calFloorMod(us, 1000)
	case truncSecond:
		return us - calFloorMod(us, usPerSecond)
	case truncMinute:
		return us - calFloorMod(us, usPerMinute)
	case truncHour:
		return us - calFloorMod(us, usPerHour)
	case truncDay:
		return us - calFloorMod(us, usPerDay)
	}
	return truncDays(calFloorDiv(us, usPerDay), u) * usPerDay
}

func bindDateTrunc(args []expr.Arg) (*expr.Binding, error) {
	ucast, err := libStringCast("date_trunc", 0, args[0].Type)
	if err != nil {
		return nil, err
	}
	tcast, err := libTimestampInput("date_trunc", 1, args[1].Type)
	if err != nil {
		return nil, err
	}
	b := &expr.Binding{Type: expr.Timestamp, Nullable: true, Cast: []arrow.DataType{ucast, tcast}}
	if libAnyNullConst(args) {
		b.Kernel = nullKernel(expr.Timestamp)
		return b, nil
	}
	if args[0].Const != nil && args[1].Const == nil {
		s, _ := libConstString(args[0].Const)
		u := parseTruncUnit(s, false)
		b.ConstArgs = true
		b.Nullable = args[1].Nullable || u == truncInvalid
		if u == truncInvalid {
			b.Kernel = nullKernel(expr.Timestamp)
			return b, nil
		}
		b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
			return truncTimestampArray(ec, a[1], u), nil
		}
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		units := newLibStr(a[0], "")
		ts := values[int64](a[1])
		valid, _ := andValidity(ec.Mem, n, a[0], a[1])
		vbuf, out := allocFixed[int64](ec.Mem, n)
		var lastS string
		lastU := truncInvalid
		return finishNull(ec.Mem, expr.Timestamp, n, valid, vbuf, out, func(i int) (int64, bool) {
			if s := units.at(i); string(s) != lastS || lastU == truncInvalid {
				lastS = string(s)
				lastU = parseTruncUnit(lastS, false)
			}
			if lastU == truncInvalid {
				return 0, false
			}
			return truncMicros(ts[i], lastU), true
		}), nil
	}
	return b, nil
}

// truncTimestampArray truncates a timestamp column to a fixed unit with one
// tight loop per unit (constant divisors).
func truncTimestampArray(ec *expr.EvalContext, a arrow.Array, u truncUnit) arrow.Array {
	n := a.Len()
	in := values[int64](a)
	buf, out := allocFixed[int64](ec.Mem, n)
	floorTo := func(step int64) {
		for i, us := range in {
			m := us % step
			if m < 0 {
				m += step
			}
			out[i] = us - m
		}
	}
	switch u {
	case truncMicro:
		copy(out, in)
	case truncMilli:
		floorTo(1000)
	case truncSecond:
		for i, us := range in {
			m := us % usPerSecond
			if m < 0 {
				m += usPerSecond
			}
			out[i] = us - m
		}
	case truncMinute:
		for i, us := range in {
			m := us % usPerMinute
			if m < 0 {
				m += usPerMinute
			}
			out[i] = us - m
		}
	case truncHour:
		for i, us := range in {
			m := us % usPerHour
			if m < 0 {
				m += usPerHour
			}
			out[i] = us - m
		}
	case truncDay:
		for i, us := range in {
			m := us % usPerDay
			if m < 0 {
				m += usPerDay
			}
			out[i] = us - m
		}
	default:
		for i, us := range in {
			out[i] = truncMicros(us, u)
		}
	}
	valid, nulls := andValidity(ec.Mem, n, a)
	return makeArray(expr.Timestamp, n, valid, nulls, buf)
}

func bindTrunc(args []expr.Arg) (*expr.Binding, error) {
	dcast, err := libDateOnlyInput("trunc", 0, args[0].Type)
	if err != nil {
		return nil, err
	}
	ucast, err := libStringCast("trunc", 1, args[1].Type)
	if err != nil {
		return nil, err
	}
	b := &expr.Binding{Type: expr.Date, Nullable: true, Cast: []arrow.DataType{dcast, ucast}}
	if libAnyNullConst(args) {
		b.Kernel = nullKernel(expr.Date)
		return b, nil
	}
	if args[1].Const != nil && args[0].Const == nil {
		s, _ := libConstString(args[1].Const)
		u := parseTruncUnit(s, true)
		b.ConstArgs = true
		if u == truncInvalid {
			b.Kernel = nullKernel(expr.Date)
			return b, nil
		}
		b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
			return mapUnary(ec.Mem, expr.Date, a[0], func(d int32) int32 { return int32(truncDays(int64(d), u)) }), nil
		}
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		days := values[int32](a[0])
		units := newLibStr(a[1], "")
		valid, _ := andValidity(ec.Mem, n, a[0], a[1])
		vbuf, out := allocFixed[int32](ec.Mem, n)
		return finishNull(ec.Mem, expr.Date, n, valid, vbuf, out, func(i int) (int32, bool) {
			u := parseTruncUnit(string(units.at(i)), true)
			if u == truncInvalid {
				return 0, false
			}
			return int32(truncDays(int64(days[i]), u)), true
		}), nil
	}
	return b, nil
}
