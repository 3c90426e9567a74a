package fileformat

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Timestamps and dates of the text formats (CSV, JSON). Without a
// timestampFormat/dateFormat option the parsers accept the ISO-8601 forms
// Spark's fallback accepts ("2026-01-02", "2026-01-02 03:04:05.123456",
// "2026-01-02T03:04:05Z", "...+01:00"); with one, the value must match the
// Spark datetime pattern exactly. Local times (no offset in the text) are in
// the timeZone option, default UTC. Parsing works on bytes without
// allocating; non-UTC zones go through time.Date.

const (
	microsPerSecond = 1_000_000
	microsPerDay    = 86_400 * microsPerSecond
)

// Spark's write defaults.
const (
	defaultTimestampWriteFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"
	defaultDateWriteFormat      = "yyyy-MM-dd"
)

// datetimeOptions bundle the parsers/formatters chosen by options.
type datetimeOptions struct {
	loc     *time.Location // nil = UTC
	tsParse *datetimePattern
	dtParse *datetimePattern
	tsWrite *datetimePattern
	dtWrite *datetimePattern
}

func newDatetimeOptions(s *optionSet) datetimeOptions {
	var o datetimeOptions
	if tz := s.str("timeZone", ""); tz != "" {
		o.loc, _ = loadZone(tz)
		if o.loc == time.UTC {
			o.loc = nil
		}
	}
	if p := s.str("timestampFormat", ""); p != "" {
		o.tsParse, _ = compileDatetimePattern(p)
		o.tsWrite = o.tsParse
	} else {
		o.tsWrite, _ = compileDatetimePattern(defaultTimestampWriteFormat)
	}
	if p := s.str("dateFormat", ""); p != "" {
		o.dtParse, _ = compileDatetimePattern(p)
		o.dtWrite = o.dtParse
	} else {
		o.dtWrite, _ = compileDatetimePattern(defaultDateWriteFormat)
	}
	return o
}

// parseTimestamp parses b into microseconds since the epoch (UTC).
func (o *datetimeOptions) parseTimestamp(b []byte) (int64, bool) {
	if o.tsParse != nil {
		f, ok := o.tsParse.parse(b)
		if !ok {
			return 0, false
		}
		return f.micros(o.loc)
	}
	f, ok := parseISOTimestamp(b)
	if !ok {
		return 0, false
	}
	return f.micros(o.loc)
}

// parseDate parses b into days since the epoch.
func (o *datetimeOptions) parseDate(b []byte) (int32, bool) {
	var f dtFields
	var ok bool
	if o.dtParse != nil {
		f, ok = o.dtParse.parse(b)
	} else {
		f, ok = parseISODate(b)
	}
	if !ok || f.month < 1 || f.month > 12 || f.day < 1 || f.day > daysIn(f.year, f.month) || f.year < -6000000 || f.year > 6000000 {
		return 0, false
	}
	d := daysFromCivil(f.year, f.month, f.day)
	if d < -1<<31 || d >= 1<<31 {
		return 0, false
	}
	return int32(d), true
}

func (o *datetimeOptions) appendTimestamp(dst []byte, us int64) []byte {
	return o.tsWrite.format(dst, fieldsFromMicros(us, o.loc))
}

func (o *datetimeOptions) appendDate(dst []byte, days int32) []byte {
	var f dtFields
	f.year, f.month, f.day = civilFromDays(int64(days))
	return o.dtWrite.format(dst, f)
}

// dtFields are the broken-down parts of a parsed or formatted datetime.
type dtFields struct {
	year, month, day     int
	hour, minute, second int
	nanos                int
	offset               int // seconds east of UTC, valid if hasOffset
	hasOffset            bool
	loc                  *time.Location // zone id from the text (V/z), overrides the default
	weekday              int            // formatting only: 0 = Sunday
}

// micros converts local fields to UTC microseconds; loc is the default
// zone for texts without an offset (nil = UTC).
func (f *dtFields) micros(loc *time.Location) (int64, bool) {
	if f.month < 1 || f.month > 12 || f.day < 1 || f.day > daysIn(f.year, f.month) ||
		f.hour < 0 || f.hour > 23 || f.minute < 0 || f.minute > 59 || f.second < 0 || f.second > 59 {
		return 0, false
	}
	if f.year < -290000 || f.year > 290000 {
		return 0, false
	}
	switch {
	case f.hasOffset:
	case f.loc != nil:
		loc = f.loc
		fallthrough
	case loc != nil:
		t := time.Date(f.year, time.Month(f.month), f.day, f.hour, f.minute, f.second, f.nanos, loc)
		return t.UnixMicro(), true
	}
	days := daysFromCivil(f.year, f.month, f.day)
	us := days*microsPerDay + int64(f.hour*3600+f.minute*60+f.second-f.offset)*microsPerSecond + int64(f.nanos/1000)
	return us, true
}

func fieldsFromMicros(us int64, loc *time.Location) dtFields {
	var f dtFields
	if loc != nil {
		t := time.UnixMicro(us).In(loc)
		f.year, f.month, f.day = t.Year(), int(t.Month()), t.Day()
		f.hour, f.minute, f.second, f.nanos = t.Hour(), t.Minute(), t.Second(), t.Nanosecond()
		_, f.offset = t.Zone()
		f.hasOffset = true
		f.loc = loc
		f.weekday = int(t.Weekday())
		return f
	}
	days := floorDiv(us, microsPerDay)
	rem := us - days*microsPerDay
	f.year, f.month, f.day = civilFromDays(days)
	secs := int(rem / microsPerSecond)
	f.hour, f.minute, f.second = secs/3600, secs/60%60, secs%60
	f.nanos = int(rem%microsPerSecond) * 1000
	f.hasOffset = true
	f.weekday = int((days%7 + 11) % 7) // 1970-01-01 was a Thursday
	return f
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// daysFromCivil counts days since 1970-01-01 in the proleptic Gregorian
// calendar (Spark 3's calendar).
func daysFromCivil(y, m, d int) int64 {
	yy := int64(y)
	if m <= 2 {
		yy--
	}
	era := yy
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := yy - era*400
	mp := int64((m + 9) % 12)
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func civilFromDays(z int64) (y, m, d int) {
	z += 719468
	era := z
	if era < 0 {
		era -= 146096
	}
	era /= 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	y = int(yoe + era*400)
	if m <= 2 {
		y++
	}
	return y, m, d
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// digits reads between lo and hi ASCII digits at b[i:].
func digits(b []byte, i, lo, hi int) (v, next int, ok bool) {
	j := i
	for j < len(b) && j-i < hi && b[j] >= '0' && b[j] <= '9' {
		v = v*10 + int(b[j]-'0')
		j++
	}
	if j-i < lo {
		return 0, i, false
	}
	return v, j, true
}

func trimSpaceBytes(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// parseISODate accepts [+-]yyyy[-[m]m[-[d]d]] optionally followed by 'T' or
// ' ' and anything (Spark's stringToDate).
func parseISODate(b []byte) (dtFields, bool) {
	b = trimSpaceBytes(b)
	f := dtFields{month: 1, day: 1}
	i, ok := 0, false
	if f.year, i, ok = parseYear(b); !ok {
		return f, false
	}
	if i < len(b) && b[i] == '-' {
		if f.month, i, ok = digits(b, i+1, 1, 2); !ok {
			return f, false
		}
		if i < len(b) && b[i] == '-' {
			if f.day, i, ok = digits(b, i+1, 1, 2); !ok {
				return f, false
			}
		}
	}
	if i < len(b) && b[i] != 'T' && b[i] != ' ' {
		return f, false
	}
	if f.month < 1 || f.month > 12 || f.day < 1 || f.day > daysIn(f.year, f.month) {
		return f, false
	}
	return f, true
}

func parseYear(b []byte) (int, int, bool) {
	i, neg := 0, false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i++
	}
	y, j, ok := digits(b, i, 4, 6)
	if !ok {
		return 0, 0, false
	}
	if neg {
		y = -y
	}
	return y, j, true
}

// parseISOTimestamp accepts the forms of Spark's stringToTimestamp:
// yyyy[-[m]m[-[d]d]][(T| )[h]h:[m]m[:[s]s[.f{1,9}]]][zone] where zone is Z,
// [+-]hh[:mm|mm], or a zone id such as UTC or Europe/Paris (after an
// optional space).
func parseISOTimestamp(b []byte) (dtFields, bool) {
	b = trimSpaceBytes(b)
	f := dtFields{month: 1, day: 1}
	i, ok := 0, false
	if f.year, i, ok = parseYear(b); !ok {
		return f, false
	}
	if i < len(b) && b[i] == '-' {
		if f.month, i, ok = digits(b, i+1, 1, 2); !ok {
			return f, false
		}
		if i < len(b) && b[i] == '-' {
			if f.day, i, ok = digits(b, i+1, 1, 2); !ok {
				return f, false
			}
		}
	}
	if i == len(b) {
		return f, true
	}
	if b[i] != 'T' && b[i] != ' ' {
		return f, false
	}
	i++
	if f.hour, i, ok = digits(b, i, 1, 2); !ok {
		return f, false
	}
	if i >= len(b) || b[i] != ':' {
		return f, false
	}
	if f.minute, i, ok = digits(b, i+1, 1, 2); !ok {
		return f, false
	}
	if i < len(b) && b[i] == ':' {
		if f.second, i, ok = digits(b, i+1, 1, 2); !ok {
			return f, false
		}
		if i < len(b) && b[i] == '.' {
			i++
			start := i
			n := 0
			for i < len(b) && b[i] >= '0' && b[i] <= '9' {
				if i-start < 9 {
					n = n*10 + int(b[i]-'0')
				}
				i++
			}
			if i == start {
				return f, false
			}
			for k := i - start; k < 9; k++ {
				n *= 10
			}
			f.nanos = n
		}
	}
	if i == len(b) {
		return f, true
	}
	return f, parseZone(b[i:], &f)
}

// parseZone reads a whole zone suffix: Z, [+-]h[h][[:]mm], or " "? zone id.
func parseZone(b []byte, f *dtFields) bool {
	n, ok := parseOffset(b, f)
	if ok && n == len(b) {
		return true
	}
	if b[0] == ' ' {
		b = b[1:]
	}
	if len(b) == 0 {
		return false
	}
	loc, err := loadZone(string(b))
	if err != nil {
		return false
	}
	f.loc = loc
	return true
}

// parseOffset reads Z or [+-]h[h][[:]mm] (also after "UTC"/"GMT"), returning
// the bytes used.
func parseOffset(b []byte, f *dtFields) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	if b[0] == 'Z' || b[0] == 'z' {
		f.offset, f.hasOffset = 0, true
		return 1, true
	}
	if b[0] != '+' && b[0] != '-' {
		return 0, false
	}
	h, i, ok := digits(b, 1, 1, 2)
	if !ok {
		return 0, false
	}
	m := 0
	if i < len(b) && b[i] == ':' {
		if m, i, ok = digits(b, i+1, 2, 2); !ok {
			return 0, false
		}
	} else if i+1 < len(b) && b[i] >= '0' && b[i] <= '9' {
		if m, i, ok = digits(b, i, 2, 2); !ok {
			return 0, false
		}
	}
	if h > 18 || m > 59 {
		return 0, false
	}
	off := h*3600 + m*60
	if b[0] == '-' {
		off = -off
	}
	f.offset, f.hasOffset = off, true
	return i, true
}

var (
	zoneCache   sync.Map // string -> *time.Location or error
	zoneMisses  atomic.Int32
	maxZoneMiss = int32(1024) // bound the negative cache against garbage input
)

// loadZone resolves a Spark time zone: a region id (Europe/Paris), UTC/GMT/Z,
// or a fixed offset (+01:00, UTC+1, GMT-05:30). Results are cached, so a
// column of zone-suffixed timestamps reads the zone database once.
func loadZone(name string) (*time.Location, error) {
	if v, ok := zoneCache.Load(name); ok {
		if loc, ok := v.(*time.Location); ok {
			return loc, nil
		}
		return nil, v.(error)
	}
	if !plausibleZone(name) {
		return nil, fmt.Errorf("unknown time zone %q: want a region id like Europe/Paris, UTC, or an offset like +01:00", name)
	}
	loc, err := loadZoneUncached(name)
	if err != nil {
		if zoneMisses.Add(1) <= maxZoneMiss {
			zoneCache.Store(name, err)
		}
		return nil, err
	}
	zoneCache.Store(name, loc)
	return loc, nil
}

// plausibleZone filters out text that cannot be a zone before touching the
// zone database.
func plausibleZone(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isAlnum(c) && c != '/' && c != '_' && c != '+' && c != '-' && c != ':' {
			return false
		}
	}
	return name[0] != '/' && !strings.Contains(name, "..")
}

func loadZoneUncached(name string) (*time.Location, error) {
	switch strings.ToUpper(name) {
	case "UTC", "Z", "GMT", "UT", "ETC/UTC", "ETC/GMT":
		return time.UTC, nil
	}
	off := name
	for _, p := range []string{"UTC", "GMT", "UT"} {
		if len(name) > len(p) && strings.EqualFold(name[:len(p)], p) && (name[len(p)] == '+' || name[len(p)] == '-') {
			off = name[len(p):]
		}
	}
	if off[0] == '+' || off[0] == '-' {
		var f dtFields
		if n, ok := parseOffset([]byte(off), &f); ok && n == len(off) {
			return time.FixedZone(name, f.offset), nil
		}
		return nil, fmt.Errorf("invalid zone offset %q: want +hh:mm", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" || name == "Local" {
		return nil, fmt.Errorf("unknown time zone %q: want a region id like Europe/Paris, UTC, or an offset like +01:00", name)
	}
	return loc, nil
}

// datetimePattern is a compiled Spark datetime pattern
// (https://spark.apache.org/docs/latest/sql-ref-datetime-pattern.html).
type datetimePattern struct {
	text  string
	items []dtItem
}

type dtKind uint8

const (
	dtLiteral dtKind = iota
	dtYear
	dtMonth
	dtDay
	dtHour24 // H 0-23
	dtHour12 // h 1-12
	dtHour11 // K 0-11
	dtHour1  // k 1-24
	dtMinute
	dtSecond
	dtFraction
	dtAmPm
	dtWeekday
	dtOffsetX // X: Z for zero
	dtOffsetx // x: +00 for zero
	dtOffsetZ // Z: +0000
	dtZoneID  // V, z
	dtOptional
)

type dtItem struct {
	kind  dtKind
	count int
	lit   string
	sub   []dtItem // dtOptional
}

var (
	monthNames = []string{"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"}
	dayNames = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

// compileDatetimePattern compiles a Spark pattern such as
// "yyyy-MM-dd HH:mm:ss[.SSS][XXX]".
func compileDatetimePattern(p string) (*datetimePattern, error) {
	if p == "" {
		return nil, errors.New("empty pattern")
	}
	items, rest, err := compileItems(p, 0)
	if err != nil {
		return nil, err
	}
	if rest != len(p) {
		return nil, fmt.Errorf("unbalanced ']' at position %d in pattern %q", rest, p)
	}
	return &datetimePattern{text: p, items: items}, nil
}

func compileItems(p string, i int) ([]dtItem, int, error) {
	var items []dtItem
	addLit := func(s string) {
		if n := len(items); n > 0 && items[n-1].kind == dtLiteral {
			items[n-1].lit += s
			return
		}
		items = append(items, dtItem{kind: dtLiteral, lit: s})
	}
	for i < len(p) {
		c := p[i]
		switch {
		case c == '[':
			sub, j, err := compileItems(p, i+1)
			if err != nil {
				return nil, 0, err
			}
			if j >= len(p) || p[j] != ']' {
				return nil, 0, fmt.Errorf("unclosed '[' at position %d in pattern %q", i, p)
			}
			items = append(items, dtItem{kind: dtOptional, sub: sub})
			i = j + 1
		case c == ']':
			return items, i, nil
		case c == '\'':
			j := i + 1
			var sb strings.Builder
			for {
				if j >= len(p) {
					return nil, 0, fmt.Errorf("unclosed quote at position %d in pattern %q", i, p)
				}
				if p[j] == '\'' {
					if j+1 < len(p) && p[j+1] == '\'' {
						sb.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				sb.WriteByte(p[j])
				j++
			}
			if j == i+1 {
				addLit("'") // '' is a literal quote
			} else {
				addLit(sb.String())
			}
			i = j + 1
		case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			j := i
			for j < len(p) && p[j] == c {
				j++
			}
			n := j - i
			it := dtItem{count: n}
			switch c {
			case 'y':
				it.kind = dtYear
			case 'M', 'L':
				it.kind = dtMonth
				if n > 4 {
					return nil, 0, fmt.Errorf("too many pattern letters %q in %q", p[i:j], p)
				}
			case 'd':
				it.kind = dtDay
			case 'H':
				it.kind = dtHour24
			case 'h':
				it.kind = dtHour12
			case 'K':
				it.kind = dtHour11
			case 'k':
				it.kind = dtHour1
			case 'm':
				it.kind = dtMinute
			case 's':
				it.kind = dtSecond
			case 'S':
				it.kind = dtFraction
				if n > 9 {
					return nil, 0, fmt.Errorf("too many pattern letters %q in %q: at most 9 fraction digits", p[i:j], p)
				}
			case 'a':
				it.kind = dtAmPm
			case 'E':
				it.kind = dtWeekday
			case 'X':
				it.kind = dtOffsetX
			case 'x':
				it.kind = dtOffsetx
			case 'Z':
				it.kind = dtOffsetZ
			case 'V', 'z':
				it.kind = dtZoneID
			default:
				return nil, 0, fmt.Errorf("unsupported pattern letter %q in %q; supported: y M L d H h K k m s S a E X x Z V z, 'text' and [optional]", string(c), p)
			}
			if n > 2 && (it.kind == dtDay || it.kind == dtHour24 || it.kind == dtHour12 || it.kind == dtHour11 ||
				it.kind == dtHour1 || it.kind == dtMinute || it.kind == dtSecond) {
				return nil, 0, fmt.Errorf("too many pattern letters %q in %q", p[i:j], p)
			}
			if n > 5 && (it.kind == dtOffsetX || it.kind == dtOffsetx || it.kind == dtOffsetZ) {
				return nil, 0, fmt.Errorf("too many pattern letters %q in %q", p[i:j], p)
			}
			items = append(items, it)
			i = j
		default:
			addLit(string(c))
			i++
		}
	}
	return items, i, nil
}

// parse matches all of b against the pattern.
func (p *datetimePattern) parse(b []byte) (dtFields, bool) {
	f := dtFields{year: 1970, month: 1, day: 1}
	st := dtParseState{hour12: -1, ampm: -1}
	n, ok := parseItems(p.items, b, 0, &f, &st)
	if !ok || n != len(b) {
		return f, false
	}
	if st.hour12 >= 0 {
		h := st.hour12 % 12
		if st.ampm == 1 {
			h += 12
		}
		f.hour = h
	}
	return f, true
}

type dtParseState struct {
	hour12 int // 0-11 from h/K, -1 if absent
	ampm   int // 0 AM, 1 PM, -1 absent
}

func parseItems(items []dtItem, b []byte, i int, f *dtFields, st *dtParseState) (int, bool) {
	var ok bool
	for k := range items {
		it := &items[k]
		switch it.kind {
		case dtLiteral:
			if len(b)-i < len(it.lit) || !strings.EqualFold(string(b[i:i+len(it.lit)]), it.lit) {
				return i, false
			}
			i += len(it.lit)
		case dtOptional:
			save, saveSt := *f, *st
			if j, ok := parseItems(it.sub, b, i, f, st); ok {
				i = j
			} else {
				*f, *st = save, saveSt
			}
		case dtYear:
			switch {
			case it.count == 2:
				var y int
				if y, i, ok = digits(b, i, 2, 2); !ok {
					return i, false
				}
				f.year = 2000 + y
			case it.count == 1:
				neg := false
				if i < len(b) && (b[i] == '-' || b[i] == '+') {
					neg = b[i] == '-'
					i++
				}
				if f.year, i, ok = digits(b, i, 1, 9); !ok {
					return i, false
				}
				if neg {
					f.year = -f.year
				}
			default:
				if f.year, i, ok = digits(b, i, it.count, it.count); !ok {
					return i, false
				}
			}
		case dtMonth:
			if it.count >= 3 {
				m, j := matchName(b, i, monthNames, it.count == 3)
				if m < 0 {
					return i, false
				}
				f.month, i = m+1, j
				continue
			}
			if f.month, i, ok = numField(b, i, it.count); !ok {
				return i, false
			}
		case dtDay:
			if f.day, i, ok = numField(b, i, it.count); !ok {
				return i, false
			}
		case dtHour24:
			if f.hour, i, ok = numField(b, i, it.count); !ok {
				return i, false
			}
		case dtHour1:
			if f.hour, i, ok = numField(b, i, it.count); !ok || f.hour < 1 || f.hour > 24 {
				return i, false
			}
			f.hour %= 24
		case dtHour12, dtHour11:
			var h int
			if h, i, ok = numField(b, i, it.count); !ok {
				return i, false
			}
			if it.kind == dtHour12 && (h < 1 || h > 12) || it.kind == dtHour11 && h > 11 {
				return i, false
			}
			st.hour12 = h % 12
		case dtMinute:
			if f.minute, i, ok = numField(b, i, it.count); !ok {
				return i, false
			}
		case dtSecond:
			if f.second, i, ok = numField(b, i, it.count); !ok {
				return i, false
			}
		case dtFraction:
			start := i
			v := 0
			for i < len(b) && i-start < it.count && b[i] >= '0' && b[i] <= '9' {
				v = v*10 + int(b[i]-'0')
				i++
			}
			if i == start {
				return i, false
			}
			for k := i - start; k < 9; k++ {
				v *= 10
			}
			f.nanos = v
		case dtAmPm:
			if len(b)-i < 2 {
				return i, false
			}
			switch strings.ToUpper(string(b[i : i+2])) {
			case "AM":
				st.ampm = 0
			case "PM":
				st.ampm = 1
			default:
				return i, false
			}
			i += 2
		case dtWeekday:
			d, j := matchName(b, i, dayNames, it.count <= 3)
			if d < 0 {
				return i, false
			}
			i = j
		case dtOffsetX, dtOffsetx, dtOffsetZ:
			n, ok := parseOffset(b[i:], f)
			if !ok {
				return i, false
			}
			i += n
		case dtZoneID:
			j := i
			for j < len(b) && (isAlnum(b[j]) || b[j] == '/' || b[j] == '_' || b[j] == '+' || b[j] == '-' || b[j] == ':') {
				j++
			}
			if j == i {
				return i, false
			}
			loc, err := loadZone(string(b[i:j]))
			if err != nil {
				return i, false
			}
			f.loc = loc
			i = j
		}
	}
	return i, true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// numField reads a 1-2 digit field for one letter, exactly count digits
// otherwise (Spark 3 is strict: "MM" does not accept "1").
func numField(b []byte, i, count int) (int, int, bool) {
	if count == 1 {
		return digits(b, i, 1, 2)
	}
	return digits(b, i, count, count)
}

// matchName matches a month or day name (short: first three letters),
// case-insensitively, returning its index or -1.
func matchName(b []byte, i int, names []string, short bool) (int, int) {
	for k, n := range names {
		if short {
			n = n[:3]
		}
		if len(b)-i >= len(n) && strings.EqualFold(string(b[i:i+len(n)]), n) {
			return k, i + len(n)
		}
	}
	return -1, i
}

// format appends f rendered by the pattern.
func (p *datetimePattern) format(dst []byte, f dtFields) []byte {
	return formatItems(p.items, dst, &f)
}

func formatItems(items []dtItem, dst []byte, f *dtFields) []byte {
	for k := range items {
		it := &items[k]
		switch it.kind {
		case dtLiteral:
			dst = append(dst, it.lit...)
		case dtOptional:
			dst = formatItems(it.sub, dst, f)
		case dtYear:
			y := f.year
			if it.count == 2 {
				dst = appendPadded(dst, ((y%100)+100)%100, 2)
			} else {
				if y < 0 {
					dst = append(dst, '-')
					y = -y
				} else if y > 9999 && it.count >= 4 {
					dst = append(dst, '+')
				}
				dst = appendPadded(dst, y, it.count)
			}
		case dtMonth:
			switch it.count {
			case 3:
				dst = append(dst, monthNames[f.month-1][:3]...)
			case 4:
				dst = append(dst, monthNames[f.month-1]...)
			default:
				dst = appendPadded(dst, f.month, it.count)
			}
		case dtDay:
			dst = appendPadded(dst, f.day, it.count)
		case dtHour24:
			dst = appendPadded(dst, f.hour, it.count)
		case dtHour1:
			h := f.hour
			if h == 0 {
				h = 24
			}
			dst = appendPadded(dst, h, it.count)
		case dtHour12:
			h := f.hour % 12
			if h == 0 {
				h = 12
			}
			dst = appendPadded(dst, h, it.count)
		case dtHour11:
			dst = appendPadded(dst, f.hour%12, it.count)
		case dtMinute:
			dst = appendPadded(dst, f.minute, it.count)
		case dtSecond:
			dst = appendPadded(dst, f.second, it.count)
		case dtFraction:
			v := f.nanos
			for k := it.count; k < 9; k++ {
				v /= 10
			}
			dst = appendPadded(dst, v, it.count)
		case dtAmPm:
			if f.hour < 12 {
				dst = append(dst, "AM"...)
			} else {
				dst = append(dst, "PM"...)
			}
		case dtWeekday:
			n := dayNames[f.weekday]
			if it.count <= 3 {
				n = n[:3]
			}
			dst = append(dst, n...)
		case dtOffsetX, dtOffsetx, dtOffsetZ:
			dst = appendOffset(dst, it, f.offset)
		case dtZoneID:
			if f.loc != nil {
				dst = append(dst, f.loc.String()...)
			} else {
				dst = append(dst, "UTC"...)
			}
		}
	}
	return dst
}

func appendOffset(dst []byte, it *dtItem, off int) []byte {
	if off == 0 && it.kind == dtOffsetX {
		return append(dst, 'Z')
	}
	if off == 0 && it.kind == dtOffsetZ && it.count == 5 {
		return append(dst, 'Z')
	}
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	h, m := off/3600, off/60%60
	dst = append(dst, sign)
	dst = appendPadded(dst, h, 2)
	colon := it.count == 3 || it.count == 5 || (it.kind == dtOffsetZ && it.count == 4)
	if it.kind == dtOffsetZ && it.count <= 3 {
		colon = false
	}
	switch {
	case (it.kind == dtOffsetX || it.kind == dtOffsetx) && it.count == 1:
		if m != 0 {
			dst = appendPadded(dst, m, 2)
		}
	case colon:
		dst = append(dst, ':')
		dst = appendPadded(dst, m, 2)
	default:
		dst = appendPadded(dst, m, 2)
	}
	return dst
}

func appendPadded(dst []byte, v, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	if v == 0 {
		i--
		tmp[i] = '0'
	}
	for v > 0 {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	for k := len(tmp) - i; k < width; k++ {
		dst = append(dst, '0')
	}
	return append(dst, tmp[i:]...)
}
