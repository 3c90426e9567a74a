package fn

// Calendar arithmetic on days since 1970-01-01 and microseconds since the
// epoch (UTC, proleptic Gregorian, as Spark 3). Integer-only so per-row
// kernels never build a time.Time.

const (
	usPerSecond = 1_000_000
	usPerMinute = 60 * usPerSecond
	usPerHour   = 60 * usPerMinute
	usPerDay    = 24 * usPerHour
)

func calFloorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func calFloorMod(a, b int64) int64 {
	m := a % b
	if m != 0 && ((m < 0) != (b < 0)) {
		m += b
	}
	return m
}

// calDaysFromCivil returns days since the epoch of year y, month m (1-12),
// day d (Howard Hinnant's algorithm).
func calDaysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := calFloorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := int64((153*mp+2)/5 + d - 1)
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// calCivilFromDays is the inverse of calDaysFromCivil.
func calCivilFromDays(z int64) (y int64, m, d int) {
	z += 719468
	era := calFloorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func calIsLeap(y int64) bool {
	return y%4 == 0 && (y%100 != 0 || y%400 == 0)
}

var calMonthDays = [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func calDaysInMonth(y int64, m int) int {
	if m == 2 && calIsLeap(y) {
		return 29
	}
	return calMonthDays[m]
}

// calDayOfYear is 1-based.
func calDayOfYear(days int64) int {
	y, _, _ := calCivilFromDays(days)
	return int(days-calDaysFromCivil(y, 1, 1)) + 1
}

// calISODayOfWeek is 1=Monday .. 7=Sunday (1970-01-01 was a Thursday).
func calISODayOfWeek(days int64) int {
	return int(calFloorMod(days+3, 7)) + 1
}

// calISOWeek is the ISO-8601 week number (weeks start Monday; week 1
// holds the year's first Thursday), as Spark's weekofyear.
func calISOWeek(days int64) int {
	// The Thursday of this ISO week decides the week-based year.
	thu := days - int64(calISODayOfWeek(days)) + 4
	y, _, _ := calCivilFromDays(thu)
	return int((thu-calDaysFromCivil(y, 1, 1))/7) + 1
}

// calAddMonths adds n months to a date, clamping the day to the target month's
// length (Spark's add_months: 2024-01-31 + 1 month = 2024-02-29).
func calAddMonths(days int64, n int64) int64 {
	y, m, d := calCivilFromDays(days)
	total := y*12 + int64(m-1) + n
	ny := calFloorDiv(total, 12)
	nm := int(calFloorMod(total, 12)) + 1
	d = min(d, calDaysInMonth(ny, nm))
	return calDaysFromCivil(ny, nm, d)
}

// calSplitMicros splits a timestamp into days since the epoch and microseconds
// into that day.
func calSplitMicros(us int64) (days, tod int64) {
	days = calFloorDiv(us, usPerDay)
	return days, us - days*usPerDay
}
