package fn

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Date and time functions. Timestamps are microseconds UTC (expr.Timestamp),
// dates days since the epoch (arrow.Date32); the session time zone is UTC.
var temporalFuncs = []*expr.Function{
	{Name: "current_timestamp", Aliases: []string{"now", "localtimestamp"}, MinArgs: 0, MaxArgs: 0, Usage: "current_timestamp()", Bind: bindCurrentTimestamp},
	{Name: "current_date", Aliases: []string{"curdate"}, MinArgs: 0, MaxArgs: 0, Usage: "current_date()", Bind: bindCurrentDate},
	{Name: "to_timestamp", MinArgs: 1, MaxArgs: 2, Usage: "to_timestamp(str[, fmt])", Bind: bindToTimestamp},
	{Name: "to_date", MinArgs: 1, MaxArgs: 2, Usage: "to_date(str[, fmt])", Bind: bindToDate},
	{Name: "date_format", MinArgs: 2, MaxArgs: 2, Usage: "date_format(timestamp, fmt)", Bind: bindDateFormat},
	{Name: "from_unixtime", MinArgs: 1, MaxArgs: 2, Usage: "from_unixtime(unix_seconds[, fmt])", Bind: bindFromUnixtime},
	{Name: "unix_timestamp", Aliases: []string{"to_unix_timestamp"}, MinArgs: 0, MaxArgs: 2, Usage: "unix_timestamp([timestamp|date|str[, fmt]])", Bind: bindUnixTimestamp},
	{Name: "date_trunc", MinArgs: 2, MaxArgs: 2, Usage: "date_trunc(unit, timestamp)", Bind: bindDateTrunc},
	{Name: "trunc", MinArgs: 2, MaxArgs: 2, Usage: "trunc(date, unit)", Bind: bindTrunc},
	datePart("year", "year(date)", func(d int64) int32 { y, _, _ := calCivilFromDays(d); return int32(y) }),
	datePart("quarter", "quarter(date)", func(d int64) int32 { _, m, _ := calCivilFromDays(d); return int32((m-1)/3 + 1) }),
	datePart("month", "month(date)", func(d int64) int32 { _, m, _ := calCivilFromDays(d); return int32(m) }),
	datePart("dayofmonth", "dayofmonth(date)", func(d int64) int32 { _, _, day := calCivilFromDays(d); return int32(day) }, "day"),
	datePart("dayofweek", "dayofweek(date)", func(d int64) int32 { return int32(calISODayOfWeek(d)%7 + 1) }),
	datePart("weekday", "weekday(date)", func(d int64) int32 { return int32(calISODayOfWeek(d) - 1) }),
	datePart("dayofyear", "dayofyear(date)", func(d int64) int32 { return int32(calDayOfYear(d)) }),
	datePart("weekofyear", "weekofyear(date)", func(d int64) int32 { return int32(calISOWeek(d)) }),
	timePart("hour", fieldHour),
	timePart("minute", fieldMinute),
	timePart("second", fieldSecond),
	{Name: "timestamp_seconds", MinArgs: 1, MaxArgs: 1, Usage: "timestamp_seconds(seconds)", Bind: bindTimestampSeconds},
	epochToTimestamp("timestamp_millis", 1000),
	epochToTimestamp("timestamp_micros", 1),
	timestampToEpoch("unix_seconds", usPerSecond),
	timestampToEpoch("unix_millis", 1000),
	timestampToEpoch("unix_micros", 1),
	{Name: "unix_date", MinArgs: 1, MaxArgs: 1, Usage: "unix_date(date)", Bind: bindUnixDate},
	{Name: "date_from_unix_date", MinArgs: 1, MaxArgs: 1, Usage: "date_from_unix_date(days)", Bind: bindDateFromUnixDate},
	dateArith("date_add", 1),
	dateArith("date_sub", -1),
	{Name: "datediff", MinArgs: 2, MaxArgs: 2, Usage: "datediff(endDate, startDate)", Bind: bindDatediff},
	{Name: "add_months", MinArgs: 2, MaxArgs: 2, Usage: "add_months(startDate, numMonths)", Bind: bindAddMonths},
	{Name: "months_between", MinArgs: 2, MaxArgs: 3, Usage: "months_between(timestamp1, timestamp2[, roundOff])", Bind: bindMonthsBetween},
	{Name: "last_day", MinArgs: 1, MaxArgs: 1, Usage: "last_day(date)", Bind: bindLastDay},
	{Name: "make_date", MinArgs: 3, MaxArgs: 3, Usage: "make_date(year, month, day)", Bind: bindMakeDate},
	{Name: "make_timestamp", MinArgs: 6, MaxArgs: 7, Usage: "make_timestamp(year, month, day, hour, min, sec[, timezone])", Bind: bindMakeTimestamp},
}

// defaultTimestampPattern is Spark's format for from_unixtime and
// unix_timestamp without a format.
const defaultTimestampPattern = "yyyy-MM-dd HH:mm:ss"

// libDateInput coerces argument i to something with a date: dates and
// timestamps as they are (kernels split micros themselves), strings cast to
// date.
func libDateInput(fn string, i int, dt arrow.DataType) (arrow.DataType, error) {
	switch dt.ID() {
	case arrow.DATE32:
		return nil, nil
	case arrow.TIMESTAMP:
		if arrow.TypeEqual(dt, expr.Timestamp) {
			return nil, nil
		}
		return expr.Timestamp, nil
	case arrow.STRING, arrow.LARGE_STRING, arrow.NULL:
		return expr.Date, nil
	}
	return nil, libTypeErr(fn, i, "a date, timestamp or string", dt)
}

// libTimestampInput coerces argument i to a timestamp.
func libTimestampInput(fn string, i int, dt arrow.DataType) (arrow.DataType, error) {
	if arrow.TypeEqual(dt, expr.Timestamp) {
		return nil, nil
	}
	switch dt.ID() {
	case arrow.DATE32, arrow.TIMESTAMP, arrow.STRING, arrow.LARGE_STRING, arrow.NULL:
		return expr.Timestamp, nil
	}
	return nil, libTypeErr(fn, i, "a timestamp, date or string", dt)
}

// libDateOnlyInput coerces argument i to a date (timestamps truncate).
func libDateOnlyInput(fn string, i int, dt arrow.DataType) (arrow.DataType, error) {
	switch dt.ID() {
	case arrow.DATE32:
		return nil, nil
	case arrow.TIMESTAMP, arrow.STRING, arrow.LARGE_STRING, arrow.NULL:
		return expr.Date, nil
	}
	return nil, libTypeErr(fn, i, "a date, timestamp or string", dt)
}

// libDays returns the days of a Date32 or (UTC) Timestamp array as a mapper.
func libDaysOf(a arrow.Array) func(i int) int64 {
	if a.DataType().ID() == arrow.DATE32 {
		v := values[int32](a)
		return func(i int) int64 { return int64(v[i]) }
	}
	v := values[int64](a)
	return func(i int) int64 { return calFloorDiv(v[i], usPerDay) }
}

func bindCurrentTimestamp([]expr.Arg) (*expr.Binding, error) {
	return &expr.Binding{Type: expr.Timestamp, Volatile: true, Kernel: func(ec *expr.EvalContext, _ []arrow.Array, n int) (arrow.Array, error) {
		buf, out := allocFixed[int64](ec.Mem, n)
		now := ec.Now.UnixMicro()
		for i := range out {
			out[i] = now
		}
		return makeArray(expr.Timestamp, n, nil, 0, buf), nil
	}}, nil
}

func bindCurrentDate([]expr.Arg) (*expr.Binding, error) {
	return &expr.Binding{Type: expr.Date, Volatile: true, Kernel: func(ec *expr.EvalContext, _ []arrow.Array, n int) (arrow.Array, error) {
		buf, out := allocFixed[int32](ec.Mem, n)
		d := int32(calFloorDiv(ec.Now.UnixMicro(), usPerDay))
		for i := range out {
			out[i] = d
		}
		return makeArray(expr.Date, n, nil, 0, buf), nil
	}}, nil
}

// identityKernel passes its (already cast) argument through.
func identityKernel(_ *expr.EvalContext, args []arrow.Array, _ int) (arrow.Array, error) {
	args[0].Retain()
	return args[0], nil
}

// libPattern is a datetime pattern argument: compiled once when literal,
// otherwise per distinct value with a one-entry cache.
type libPattern struct {
	konst    *dtPattern
	col      libStr
	isCol    bool
	last     string
	lastP    *dtPattern
	lastErr  error
	haveLast bool
}

func newLibPattern(a arrow.Array, konst *dtPattern) *libPattern {
	if a == nil {
		return &libPattern{konst: konst}
	}
	return &libPattern{col: newLibStr(a, ""), isCol: true}
}

func (p *libPattern) at(i int) (*dtPattern, error) {
	if !p.isCol {
		return p.konst, nil
	}
	s := p.col.at(i)
	if p.haveLast && string(s) == p.last {
		return p.lastP, p.lastErr
	}
	p.last, p.haveLast = string(s), true
	p.lastP, p.lastErr = compileDatetimePattern(p.last)
	return p.lastP, p.lastErr
}

// bindPatternArg checks a pattern argument; a literal is compiled now (and a
// bad one reported at analysis). def is used when the pattern is absent.
func bindPatternArg(fn string, args []expr.Arg, i int, def string) (konst *dtPattern, cast arrow.DataType, err error) {
	if i >= len(args) {
		p, err := compileDatetimePattern(def)
		return p, nil, err
	}
	if cast, err = libStringCast(fn, i, args[i].Type); err != nil {
		return nil, nil, err
	}
	if args[i].Const != nil {
		s, ok := libConstString(args[i].Const)
		if !ok {
			return nil, cast, nil
		}
		p, err := compileDatetimePattern(s)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", fn, err)
		}
		return p, cast, nil
	}
	return nil, cast, nil
}

// parseKernel parses string rows with a pattern into microseconds (UTC);
// toDate then keeps the day. Unparseable rows are NULL (Spark's non-ANSI
// behaviour with the corrected parser).
func parseKernel(konst *dtPattern, hasFmt bool, out arrow.DataType, conv func(us int64) int64) expr.Kernel {
	return func(ec *expr.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		src := args[0]
		var fmtCol arrow.Array
		if hasFmt {
			fmtCol = args[1]
		}
		pat := newLibPattern(fmtCol, konst)
		offs, data := stringData(src)
		valid, vb := libValidity(ec.Mem, n, src, fmtCol)
		if valid != nil {
			defer valid.Release()
		}
		var firstErr error
		res := func(i int) (int64, bool) {
			if !vb.ok(i) {
				return 0, false
			}
			p, err := pat.at(i)
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return 0, false
			}
			us, ok := p.parse(data[offs[i]:offs[i+1]])
			if !ok {
				return 0, false
			}
			return conv(us), true
		}
		var arr arrow.Array
		if out.ID() == arrow.DATE32 {
			vbuf, o := allocFixed[int32](ec.Mem, n)
			arr = finishNull(ec.Mem, out, n, nil, vbuf, o, func(i int) (int32, bool) { v, ok := res(i); return int32(v), ok })
		} else {
			vbuf, o := allocFixed[int64](ec.Mem, n)
			arr = finishNull(ec.Mem, out, n, nil, vbuf, o, res)
		}
		if firstErr != nil {
			arr.Release()
			return nil, firstErr
		}
		return arr, nil
	}
}

func bindToTimestamp(args []expr.Arg) (*expr.Binding, error) {
	return bindParse("to_timestamp", args, expr.Timestamp, func(us int64) int64 { return us })
}

func bindToDate(args []expr.Arg) (*expr.Binding, error) {
	return bindParse("to_date", args, expr.Date, func(us int64) int64 { return calFloorDiv(us, usPerDay) })
}

// bindParse binds to_timestamp/to_date: without a format (or for a non-string
// input) it is a cast, as in Spark; with one, the pattern parses strings.
func bindParse(fn string, args []expr.Arg, out arrow.DataType, conv func(int64) int64) (*expr.Binding, error) {
	in := args[0].Type
	if len(args) == 1 || !expr.IsString(in) && !expr.IsNull(in) {
		var cast arrow.DataType
		switch {
		case arrow.TypeEqual(in, out):
		case expr.IsString(in), expr.IsNull(in), in.ID() == arrow.DATE32, in.ID() == arrow.TIMESTAMP, expr.IsNumeric(in) && out.ID() == arrow.TIMESTAMP:
			cast = out
		default:
			return nil, libTypeErr(fn, 0, "a string, date or timestamp", in)
		}
		return &expr.Binding{Type: out, Nullable: true, Cast: []arrow.DataType{cast, nil}, Kernel: identityKernel}, nil
	}
	konst, fcast, err := bindPatternArg(fn, args, 1, "")
	if err != nil {
		return nil, err
	}
	cast := []arrow.DataType{nil, fcast}
	if in.ID() != arrow.STRING {
		cast[0] = expr.String
	}
	b := &expr.Binding{Type: out, Nullable: true, Cast: cast}
	if libAnyNullConst(args) {
		b.Kernel = nullKernel(out)
		return b, nil
	}
	b.ConstArgs = args[1].Const != nil
	if args[0].Const != nil {
		b.ConstArgs = false // the input is materialised; only the pattern is captured
		if args[1].Const != nil {
			b.ConstArgs = true
			s, _ := libConstString(args[0].Const)
			us, ok := konst.parse([]byte(s))
			var v any
			if ok {
				if out.ID() == arrow.DATE32 {
					v = arrow.Date32(conv(us))
				} else {
					v = arrow.Timestamp(conv(us))
				}
			}
			b.Kernel = func(ec *expr.EvalContext, _ []arrow.Array, n int) (arrow.Array, error) {
				return expr.ConstArray(ec.Mem, v, out, n)
			}
			return b, nil
		}
	}
	b.Kernel = parseKernel(konst, true, out, conv)
	return b, nil
}
