package fn

import (
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Date arithmetic: date_add, date_sub, datediff, add_months,
// months_between, last_day, make_date, make_timestamp.

// dateArith defines date_add (sign 1) and date_sub (sign -1).
func dateArith(name string, sign int32) *expr.Function {
	return &expr.Function{Name: name, MinArgs: 2, MaxArgs: 2, Usage: name + "(startDate, numDays)",
		Bind: func(args []expr.Arg) (*expr.Binding, error) {
			dcast, err := libDateOnlyInput(name, 0, args[0].Type)
			if err != nil {
				return nil, err
			}
			ncast, err := libIntCast(name, 1, args[1].Type, expr.Int32)
			if err != nil {
				return nil, err
			}
			b := &expr.Binding{Type: expr.Date, Nullable: libAnyNullable(args), Cast: []arrow.DataType{dcast, ncast}}
			if libAnyNullConst(args) {
				b.Kernel = nullKernel(expr.Date)
				return b, nil
			}
			var cn int32
			if args[1].Const != nil && args[0].Const == nil {
				v, _ := libConstInt(args[1].Const)
				cn = int32(v)
				b.ConstArgs = true
			}
			b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
				return mapBinary(ec.Mem, expr.Date, n, a[0], int32(0), a[1], cn, func(d, k int32) int32 { return d + sign*k }), nil
			}
			return b, nil
		}}
}

func bindDatediff(args []expr.Arg) (*expr.Binding, error) {
	c0, err := libDateOnlyInput("datediff", 0, args[0].Type)
	if err != nil {
		return nil, err
	}
	c1, err := libDateOnlyInput("datediff", 1, args[1].Type)
	if err != nil {
		return nil, err
	}
	b := &expr.Binding{Type: expr.Int32, Nullable: libAnyNullable(args), Cast: []arrow.DataType{c0, c1}}
	if libAnyNullConst(args) {
		b.Kernel = nullKernel(expr.Int32)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		return mapBinary(ec.Mem, expr.Int32, n, a[0], int32(0), a[1], int32(0), func(x, y int32) int32 { return x - y }), nil
	}
	return b, nil
}

func bindAddMonths(args []expr.Arg) (*expr.Binding, error) {
	dcast, err := libDateOnlyInput("add_months", 0, args[0].Type)
	if err != nil {
		return nil, err
	}
	ncast, err := libIntCast("add_months", 1, args[1].Type, expr.Int32)
	if err != nil {
		return nil, err
	}
	b := &expr.Binding{Type: expr.Date, Nullable: libAnyNullable(args), Cast: []arrow.DataType{dcast, ncast}}
	if libAnyNullConst(args) {
		b.Kernel = nullKernel(expr.Date)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		return mapBinary(ec.Mem, expr.Date, n, a[0], int32(0), a[1], int32(0), func(d, k int32) int32 {
			return int32(calAddMonths(int64(d), int64(k)))
		}), nil
	}
	return b, nil
}

// monthsBetween is Spark's DateTimeUtils.monthsBetween in UTC: whole months
// when the days of month match or both are month ends, otherwise a 31-day
// month fraction including the time of day; rounded to 8 digits if asked.
func monthsBetween(t1, t2 int64, roundOff bool) float64 {
	d1, tod1 := calSplitMicros(t1)
	d2, tod2 := calSplitMicros(t2)
	y1, m1, day1 := calCivilFromDays(d1)
	y2, m2, day2 := calCivilFromDays(d2)
	monthDiff := float64((y1*12 + int64(m1)) - (y2*12 + int64(m2)))
	if day1 == day2 || day1 == calDaysInMonth(y1, m1) && day2 == calDaysInMonth(y2, m2) {
		return monthDiff
	}
	secs1 := tod1 / usPerSecond
	secs2 := tod2 / usPerSecond
	secondsDiff := float64(int64(day1-day2)*86400 + secs1 - secs2)
	diff := monthDiff + secondsDiff/float64(31*86400)
	if roundOff {
		return math.Round(diff*1e8) / 1e8
	}
	return diff
}

func bindMonthsBetween(args []expr.Arg) (*expr.Binding, error) {
	c0, err := libTimestampInput("months_between", 0, args[0].Type)
	if err != nil {
		return nil, err
	}
	c1, err := libTimestampInput("months_between", 1, args[1].Type)
	if err != nil {
		return nil, err
	}
	roundOff := true
	cast := []arrow.DataType{c0, c1}
	if len(args) == 3 {
		if args[2].Const == nil {
			return nil, libArgErr("months_between", 2, "roundOff must be a literal true or false")
		}
		if v, ok := args[2].Const.Value.(bool); ok {
			roundOff = v
		} else if args[2].Const.Value != nil {
			return nil, libTypeErr("months_between", 2, "a boolean", args[2].Type)
		}
		cast = append(cast, nil)
	}
	b := &expr.Binding{Type: expr.Float64, Nullable: libAnyNullable(args[:2]), Cast: cast}
	if libAnyNullConst(args) {
		b.Kernel = nullKernel(expr.Float64)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		return mapBinary(ec.Mem, expr.Float64, n, a[0], int64(0), a[1], int64(0), func(x, y int64) float64 {
			return monthsBetween(x, y, roundOff)
		}), nil
	}
	return b, nil
}

func bindLastDay(args []expr.Arg) (*expr.Binding, error) {
	cast, err := libDateOnlyInput("last_day", 0, args[0].Type)
	if err != nil {
		return nil, err
	}
	b := &expr.Binding{Type: expr.Date, Nullable: args[0].Nullable, Cast: []arrow.DataType{cast}}
	if libNullConst(args[0]) {
		b.Kernel = nullKernel(expr.Date)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		return mapUnary(ec.Mem, expr.Date, a[0], func(d int32) int32 {
			y, m, _ := calCivilFromDays(int64(d))
			return int32(calDaysFromCivil(y, m, calDaysInMonth(y, m)))
		}), nil
	}
	return b, nil
}

// libIntArgs coerces every argument to want (an integer type).
func libIntArgs(fn string, args []expr.Arg, want arrow.DataType) ([]arrow.DataType, error) {
	cast := make([]arrow.DataType, len(args))
	for i, a := range args {
		c, err := libIntCast(fn, i, a.Type, want)
		if err != nil {
			return nil, err
		}
		cast[i] = c
	}
	return cast, nil
}

// makeDays validates a calendar date (invalid -> false, so the row is NULL).
func makeDays(y, m, d int64) (int64, bool) {
	if y < -290000 || y > 290000 || m < 1 || m > 12 || d < 1 || d > int64(calDaysInMonth(y, int(m))) {
		return 0, false
	}
	return calDaysFromCivil(y, int(m), int(d)), true
}

func bindMakeDate(args []expr.Arg) (*expr.Binding, error) {
	cast, err := libIntArgs("make_date", args, expr.Int32)
	if err != nil {
		return nil, err
	}
	b := &expr.Binding{Type: expr.Date, Nullable: true, Cast: cast}
	if libAnyNullConst(args) {
		b.Kernel = nullKernel(expr.Date)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		y, m, d := values[int32](a[0]), values[int32](a[1]), values[int32](a[2])
		valid, _ := andValidity(ec.Mem, n, a...)
		vbuf, out := allocFixed[int32](ec.Mem, n)
		return finishNull(ec.Mem, expr.Date, n, valid, vbuf, out, func(i int) (int32, bool) {
			days, ok := makeDays(int64(y[i]), int64(m[i]), int64(d[i]))
			return int32(days), ok
		}), nil
	}
	return b, nil
}

// bindMakeTimestamp binds make_timestamp(y, mo, d, h, mi, sec[, tz]). sec
// may carry a fraction (microseconds); 60 means the next minute when the
// fraction is zero. Invalid fields give NULL. tz is a zone id or offset;
// the result is the UTC instant.
func bindMakeTimestamp(args []expr.Arg) (*expr.Binding, error) {
	cast, err := libIntArgs("make_timestamp", args[:5], expr.Int32)
	if err != nil {
		return nil, err
	}
	switch dt := args[5].Type; {
	case dt.ID() == arrow.FLOAT64:
		cast = append(cast, nil)
	case expr.IsNumeric(dt), expr.IsNull(dt), expr.IsString(dt):
		cast = append(cast, expr.Float64)
	default:
		return nil, libTypeErr("make_timestamp", 5, "a number of seconds", dt)
	}
	if len(args) == 7 {
		c, err := libStringCast("make_timestamp", 6, args[6].Type)
		if err != nil {
			return nil, err
		}
		cast = append(cast, c)
	}
	b := &expr.Binding{Type: expr.Timestamp, Nullable: true, Cast: cast}
	if libAnyNullConst(args) {
		b.Kernel = nullKernel(expr.Timestamp)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		var f [5][]int32
		for k := range f {
			f[k] = values[int32](a[k])
		}
		sec := values[float64](a[5])
		var tz libStr
		hasTZ := len(a) == 7
		if hasTZ {
			tz = newLibStr(a[6], "")
		}
		valid, _ := andValidity(ec.Mem, n, a...)
		vbuf, out := allocFixed[int64](ec.Mem, n)
		var lastTZ string
		var lastLoc *time.Location
		var lastOff int64
		lastOK := false
		return finishNull(ec.Mem, expr.Timestamp, n, valid, vbuf, out, func(i int) (int64, bool) {
			days, ok := makeDays(int64(f[0][i]), int64(f[1][i]), int64(f[2][i]))
			h, mi, s := f[3][i], f[4][i], sec[i]
			if !ok || h < 0 || h > 23 || mi < 0 || mi > 59 || !(s >= 0 && s <= 60) {
				return 0, false
			}
			secMicros := int64(math.Round(s * usPerSecond))
			if s >= 60 {
				if secMicros != 60*usPerSecond {
					return 0, false
				}
			}
			local := days*usPerDay + int64(h)*usPerHour + int64(mi)*usPerMinute + secMicros
			if !hasTZ {
				return local, true
			}
			if z := string(tz.at(i)); z != lastTZ || !lastOK && lastLoc == nil {
				lastTZ = z
				lastLoc, lastOff, lastOK = nil, 0, false
				if off, ok := parseZoneOffsetID(z); ok {
					lastOff, lastOK = off, true
				} else if loc, err := time.LoadLocation(z); err == nil {
					lastLoc = loc
				}
			}
			switch {
			case lastOK:
				return local - lastOff*usPerSecond, true
			case lastLoc != nil:
				y, m, d := calCivilFromDays(days)
				t := time.Date(int(y), time.Month(m), d, int(h), int(mi), 0, 0, lastLoc).Add(time.Duration(secMicros) * time.Microsecond)
				return t.UnixMicro(), true
			}
			return 0, false
		}), nil
	}
	return b, nil
}
