package fn

// Spark 3 datetime patterns (to_timestamp, date_format, from_unixtime, ...)
// compiled once into a list of items, then applied per row with integer
// arithmetic: no per-row pattern parsing and no time.Time, except when a
// parsed value names a region time zone.
//
// Supported letters, as in Spark's "Datetime Patterns" reference:
// G y D M L d Q q E a h K k H m s S V z O X x Z, 'quoted text', ” and
// [optional sections]. The week-based letters Spark 3 rejects (Y w W u e c
// F) are rejected here too.

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

type dtField uint8

const (
	dtLiteral dtField = iota
	dtEra
	dtYear
	dtMonth
	dtDay
	dtDayOfYear
	dtQuarter
	dtDayOfWeek
	dtAmPm
	dtHour   // H 0-23
	dtHourK1 // k 1-24
	dtHour12 // h 1-12
	dtHourK0 // K 0-11
	dtMinute
	dtSecond
	dtFraction
	dtOffsetX // X: 'Z' for zero
	dtOffsetx // x
	dtOffsetZ // Z
	dtOffsetO // O: localized GMT+h
	dtZoneID  // VV
	dtZoneName
	dtOptional
)

// dtItem is one compiled pattern element.
type dtItem struct {
	f   dtField
	n   int    // pattern letter count
	lit string // literal text
	sub []dtItem
	// For numeric items: the digits accepted when parsing, and how many
	// digits the directly following fixed-width numeric items need
	// (Java's adjacent value parsing: "yyyyMMdd").
	minDigits, maxDigits, reserve int
}

// dtPattern is a compiled datetime pattern. It is immutable and safe for
// concurrent use.
type dtPattern struct {
	src   string
	items []dtItem
	// yearOfEra is set when the pattern has 'G': 'y' is then the year of
	// era (1 BC = year 1), otherwise the proleptic year (Spark 3 turns 'y'
	// into 'u' unless the pattern has an era).
	yearOfEra bool
	needDOY   bool
	needDOW   bool
}

// ErrDatetimePattern reports a datetime pattern Spark would also reject.
var ErrDatetimePattern = fmt.Errorf("%w: datetime pattern", ErrInvalidArgument)

// compileDatetimePattern compiles a Spark datetime pattern.
func compileDatetimePattern(p string) (*dtPattern, error) {
	c := &dtPattern{src: p}
	items, rest, err := c.compileSeq(p, 0)
	if err != nil {
		return nil, err
	}
	if rest != len(p) {
		return nil, fmt.Errorf("%w %q: unmatched ']' at %d; quote it as ']' in single quotes", ErrDatetimePattern, p, rest)
	}
	c.items = items
	dtSetReserve(c.items)
	return c, nil
}

func dtIsLetter(ch byte) bool { return ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' }

// compileSeq compiles p from i until the end or an unmatched ']'.
func (c *dtPattern) compileSeq(p string, i int) ([]dtItem, int, error) {
	var items []dtItem
	addLit := func(s string) {
		if k := len(items) - 1; k >= 0 && items[k].f == dtLiteral {
			items[k].lit += s
			return
		}
		items = append(items, dtItem{f: dtLiteral, lit: s})
	}
	for i < len(p) {
		ch := p[i]
		switch {
		case ch == '\'':
			j := i + 1
			var sb strings.Builder
			closed := false
			for j < len(p) {
				if p[j] == '\'' {
					if j+1 < len(p) && p[j+1] == '\'' {
						sb.WriteByte('\'')
						j += 2
						continue
					}
					closed = true
					j++
					break
				}
				sb.WriteByte(p[j])
				j++
			}
			if !closed {
				return nil, 0, fmt.Errorf("%w %q: unterminated quote at %d", ErrDatetimePattern, p, i)
			}
			if j == i+2 { // '' is a literal quote
				addLit("'")
			} else {
				addLit(sb.String())
			}
			i = j
		case ch == '[':
			sub, j, err := c.compileSeq(p, i+1)
			if err != nil {
				return nil, 0, err
			}
			if j >= len(p) || p[j] != ']' {
				return nil, 0, fmt.Errorf("%w %q: '[' at %d is never closed", ErrDatetimePattern, p, i)
			}
			items = append(items, dtItem{f: dtOptional, sub: sub})
			i = j + 1
		case ch == ']':
			return items, i, nil
		case dtIsLetter(ch):
			j := i
			for j < len(p) && p[j] == ch {
				j++
			}
			it, err := c.letter(p, ch, j-i)
			if err != nil {
				return nil, 0, err
			}
			items = append(items, it)
			i = j
		default:
			addLit(string(ch))
			i++
		}
	}
	return items, i, nil
}

// letter compiles a run of n copies of pattern letter ch.
func (c *dtPattern) letter(p string, ch byte, n int) (dtItem, error) {
	tooMany := func() (dtItem, error) {
		return dtItem{}, fmt.Errorf("%w %q: too many pattern letters: %s", ErrDatetimePattern, p, strings.Repeat(string(ch), n))
	}
	num := func(f dtField, minD, maxD int) (dtItem, error) {
		return dtItem{f: f, n: n, minDigits: minD, maxDigits: maxD}, nil
	}
	switch ch {
	case 'G':
		if n > 5 {
			return tooMany()
		}
		c.yearOfEra = true
		return dtItem{f: dtEra, n: n}, nil
	case 'y':
		switch n {
		case 1:
			return num(dtYear, 1, 9)
		case 2:
			return num(dtYear, 2, 2)
		}
		return num(dtYear, n, max(n, 9))
	case 'M', 'L':
		switch n {
		case 1:
			return num(dtMonth, 1, 2)
		case 2:
			return num(dtMonth, 2, 2)
		case 3, 4, 5:
			return dtItem{f: dtMonth, n: n}, nil
		}
		return tooMany()
	case 'd':
		switch n {
		case 1:
			return num(dtDay, 1, 2)
		case 2:
			return num(dtDay, 2, 2)
		}
		return tooMany()
	case 'D':
		c.needDOY = true
		switch n {
		case 1:
			return num(dtDayOfYear, 1, 3)
		case 2:
			return num(dtDayOfYear, 2, 3)
		case 3:
			return num(dtDayOfYear, 3, 3)
		}
		return tooMany()
	case 'Q', 'q':
		switch n {
		case 1:
			return num(dtQuarter, 1, 1)
		case 2:
			return num(dtQuarter, 2, 2)
		case 3, 4, 5:
			return dtItem{f: dtQuarter, n: n}, nil
		}
		return tooMany()
	case 'E':
		if n > 5 {
			return tooMany()
		}
		c.needDOW = true
		return dtItem{f: dtDayOfWeek, n: n}, nil
	case 'a':
		if n > 1 {
			return tooMany()
		}
		return dtItem{f: dtAmPm, n: n}, nil
	case 'H', 'k', 'h', 'K', 'm', 's':
		if n > 2 {
			return tooMany()
		}
		f := map[byte]dtField{'H': dtHour, 'k': dtHourK1, 'h': dtHour12, 'K': dtHourK0, 'm': dtMinute, 's': dtSecond}[ch]
		if n == 1 {
			return num(f, 1, 2)
		}
		return num(f, 2, 2)
	case 'S':
		if n > 9 {
			return tooMany()
		}
		return num(dtFraction, 1, n)
	case 'X', 'x', 'Z':
		if n > 5 {
			return tooMany()
		}
		f := map[byte]dtField{'X': dtOffsetX, 'x': dtOffsetx, 'Z': dtOffsetZ}[ch]
		return dtItem{f: f, n: n}, nil
	case 'O':
		if n != 1 && n != 4 {
			return dtItem{}, fmt.Errorf("%w %q: pattern letter count must be 1 or 4: %s", ErrDatetimePattern, p, strings.Repeat("O", n))
		}
		return dtItem{f: dtOffsetO, n: n}, nil
	case 'V':
		if n != 2 {
			return dtItem{}, fmt.Errorf("%w %q: pattern letter count must be 2: %s", ErrDatetimePattern, p, strings.Repeat("V", n))
		}
		return dtItem{f: dtZoneID, n: n}, nil
	case 'z':
		if n > 4 {
			return tooMany()
		}
		return dtItem{f: dtZoneName, n: n}, nil
	case 'Y', 'w', 'W', 'u', 'e', 'c', 'F':
		return dtItem{}, fmt.Errorf("%w %q: pattern letter %q is not supported since Spark 3.0 (week-based fields); use 'y', 'd', 'E' or the dayofweek()/weekofyear() functions", ErrDatetimePattern, p, ch)
	}
	return dtItem{}, fmt.Errorf("%w %q: unknown pattern letter %q; quote literal text in single quotes", ErrDatetimePattern, p, ch)
}

func dtNumeric(it *dtItem) bool { return it.maxDigits > 0 }

// dtSetReserve computes, for each variable-width numeric item, the digits
// that directly following fixed-width numeric items need.
func dtSetReserve(items []dtItem) {
	for i := range items {
		if items[i].f == dtOptional {
			dtSetReserve(items[i].sub)
			continue
		}
		if !dtNumeric(&items[i]) || items[i].minDigits == items[i].maxDigits {
			continue
		}
		r := 0
		for j := i + 1; j < len(items) && dtNumeric(&items[j]) && items[j].minDigits == items[j].maxDigits; j++ {
			r += items[j].minDigits
		}
		items[i].reserve = r
	}
}

var (
	dtMonthShort = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	dtMonthLong  = [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	// Index 0 is Monday (ISO day 1).
	dtDowShort    = [7]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
	dtDowLong     = [7]string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
	dtQuarterLong = [4]string{"1st quarter", "2nd quarter", "3rd quarter", "4th quarter"}
)

// ---- formatting ----

// dtFields are the calendar fields of one timestamp.
type dtFields struct {
	year           int64
	month, day     int
	doy, dow       int // dow ISO 1=Monday
	hour, min, sec int
	micros         int
}

func (p *dtPattern) fieldsOf(us int64) dtFields {
	days, tod := calSplitMicros(us)
	var f dtFields
	f.year, f.month, f.day = calCivilFromDays(days)
	if p.needDOY {
		f.doy = int(days-calDaysFromCivil(f.year, 1, 1)) + 1
	}
	if p.needDOW {
		f.dow = calISODayOfWeek(days)
	}
	f.hour = int(tod / usPerHour)
	f.min = int(tod / usPerMinute % 60)
	f.sec = int(tod / usPerSecond % 60)
	f.micros = int(tod % usPerSecond)
	return f
}

// appendFormat appends the timestamp us (microseconds, UTC) formatted.
func (p *dtPattern) appendFormat(dst []byte, us int64) []byte {
	f := p.fieldsOf(us)
	return p.appendItems(dst, p.items, &f)
}

func dtAppendInt(dst []byte, v int64, width int) []byte {
	if v < 0 {
		dst = append(dst, '-')
		v = -v
	}
	var buf [20]byte
	i := len(buf)
	for v >= 10 {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	i--
	buf[i] = byte('0' + v)
	for pad := width - (len(buf) - i); pad > 0; pad-- {
		dst = append(dst, '0')
	}
	return append(dst, buf[i:]...)
}

func dtText(n int, short, long string) string {
	switch {
	case n == 4:
		return long
	case n == 5:
		return long[:1]
	}
	return short
}

func (p *dtPattern) appendItems(dst []byte, items []dtItem, f *dtFields) []byte {
	for i := range items {
		it := &items[i]
		switch it.f {
		case dtLiteral:
			dst = append(dst, it.lit...)
		case dtOptional:
			dst = p.appendItems(dst, it.sub, f)
		case dtEra:
			ad := !p.yearOfEra || f.year > 0
			switch {
			case it.n == 4 && ad:
				dst = append(dst, "Anno Domini"...)
			case it.n == 4:
				dst = append(dst, "Before Christ"...)
			case it.n == 5 && ad:
				dst = append(dst, 'A')
			case it.n == 5:
				dst = append(dst, 'B')
			case ad:
				dst = append(dst, "AD"...)
			default:
				dst = append(dst, "BC"...)
			}
		case dtYear:
			y := f.year
			if p.yearOfEra && y <= 0 {
				y = 1 - y
			}
			switch {
			case it.n == 2:
				dst = dtAppendInt(dst, calFloorMod(y, 100), 2)
			case it.n == 4 && y > 9999:
				dst = append(dst, '+')
				dst = dtAppendInt(dst, y, 4)
			default:
				dst = dtAppendInt(dst, y, it.n)
			}
		case dtMonth:
			if it.n >= 3 {
				dst = append(dst, dtText(it.n, dtMonthShort[f.month-1], dtMonthLong[f.month-1])...)
			} else {
				dst = dtAppendInt(dst, int64(f.month), it.n)
			}
		case dtDay:
			dst = dtAppendInt(dst, int64(f.day), it.n)
		case dtDayOfYear:
			dst = dtAppendInt(dst, int64(f.doy), it.n)
		case dtQuarter:
			q := (f.month-1)/3 + 1
			switch it.n {
			case 1, 2, 5:
				dst = dtAppendInt(dst, int64(q), min(it.n, 2))
			case 3:
				dst = append(dst, 'Q', byte('0'+q))
			case 4:
				dst = append(dst, dtQuarterLong[q-1]...)
			}
		case dtDayOfWeek:
			dst = append(dst, dtText(it.n, dtDowShort[f.dow-1], dtDowLong[f.dow-1])...)
		case dtAmPm:
			if f.hour < 12 {
				dst = append(dst, "AM"...)
			} else {
				dst = append(dst, "PM"...)
			}
		case dtHour:
			dst = dtAppendInt(dst, int64(f.hour), it.n)
		case dtHourK1:
			h := f.hour
			if h == 0 {
				h = 24
			}
			dst = dtAppendInt(dst, int64(h), it.n)
		case dtHour12:
			h := f.hour % 12
			if h == 0 {
				h = 12
			}
			dst = dtAppendInt(dst, int64(h), it.n)
		case dtHourK0:
			dst = dtAppendInt(dst, int64(f.hour%12), it.n)
		case dtMinute:
			dst = dtAppendInt(dst, int64(f.min), it.n)
		case dtSecond:
			dst = dtAppendInt(dst, int64(f.sec), it.n)
		case dtFraction:
			var buf [9]byte
			v := f.micros * 1000
			for k := 8; k >= 0; k-- {
				buf[k] = byte('0' + v%10)
				v /= 10
			}
			dst = append(dst, buf[:it.n]...)
		case dtOffsetX:
			dst = append(dst, 'Z') // the session time zone is UTC
		case dtOffsetx:
			switch it.n {
			case 1:
				dst = append(dst, "+00"...)
			case 2, 4:
				dst = append(dst, "+0000"...)
			default:
				dst = append(dst, "+00:00"...)
			}
		case dtOffsetZ:
			switch it.n {
			case 4:
				dst = append(dst, "GMT"...)
			case 5:
				dst = append(dst, 'Z')
			default:
				dst = append(dst, "+0000"...)
			}
		case dtOffsetO:
			dst = append(dst, "GMT"...)
		case dtZoneID:
			dst = append(dst, "UTC"...)
		case dtZoneName:
			if it.n == 4 {
				dst = append(dst, "Coordinated Universal Time"...)
			} else {
				dst = append(dst, "UTC"...)
			}
		}
	}
	return dst
}

// ---- parsing ----

// dtParsed collects the fields a parse found.
type dtParsed struct {
	has                           uint32 // bit per dtField
	year                          int64
	era                           int // 1 AD, 0 BC
	month, day, doy, quarter, dow int
	ampm                          int // 0 AM, 1 PM
	hour, hourK1, hour12, hourK0  int
	min, sec                      int
	nanos                         int64
	offset                        int64 // seconds east of UTC
	hasOffset                     bool
	loc                           *time.Location
}

func (r *dtParsed) set(f dtField) { r.has |= 1 << f }
func (r *dtParsed) got(f dtField) bool {
	return r.has&(1<<f) != 0
}

// parse parses s as a whole (trailing text fails) into microseconds UTC.
func (p *dtPattern) parse(s []byte) (int64, bool) {
	var r dtParsed
	pos, ok := p.parseItems(s, 0, p.items, &r)
	if !ok || pos != len(s) {
		return 0, false
	}
	return r.resolve(p.yearOfEra)
}

func (p *dtPattern) parseItems(s []byte, pos int, items []dtItem, r *dtParsed) (int, bool) {
	for i := range items {
		it := &items[i]
		var ok bool
		if it.f == dtOptional {
			save := *r
			if np, ok := p.parseItems(s, pos, it.sub, r); ok {
				pos = np
			} else {
				*r = save
			}
			continue
		}
		if dtNumeric(it) {
			pos, ok = parseNumericItem(s, pos, it, r)
		} else {
			pos, ok = parseTextItem(s, pos, it, r)
		}
		if !ok {
			return pos, false
		}
	}
	return pos, true
}

func parseNumericItem(s []byte, pos int, it *dtItem, r *dtParsed) (int, bool) {
	avail := 0
	for pos+avail < len(s) && s[pos+avail] >= '0' && s[pos+avail] <= '9' {
		avail++
	}
	take := min(avail, it.maxDigits)
	if it.reserve > 0 && avail-it.reserve < take {
		take = avail - it.reserve
	}
	if take < it.minDigits {
		return pos, false
	}
	var v int64
	for k := 0; k < take; k++ {
		v = v*10 + int64(s[pos+k]-'0')
	}
	switch it.f {
	case dtYear:
		if it.n == 2 {
			v += 2000
		}
		r.year = v
	case dtMonth:
		r.month = int(v)
	case dtDay:
		r.day = int(v)
	case dtDayOfYear:
		r.doy = int(v)
	case dtQuarter:
		r.quarter = int(v)
	case dtHour:
		r.hour = int(v)
	case dtHourK1:
		r.hourK1 = int(v)
	case dtHour12:
		r.hour12 = int(v)
	case dtHourK0:
		r.hourK0 = int(v)
	case dtMinute:
		r.min = int(v)
	case dtSecond:
		r.sec = int(v)
	case dtFraction:
		for k := take; k < 9; k++ {
			v *= 10
		}
		r.nanos = v
	}
	r.set(it.f)
	return pos + take, true
}

// dtMatchFold reports whether s[pos:] starts with word, ignoring ASCII case.
func dtMatchFold(s []byte, pos int, word string) bool {
	return len(s)-pos >= len(word) && bytes.EqualFold(s[pos:pos+len(word)], []byte(word))
}

// dtMatchOne returns the index of the first word s[pos:] starts with.
func dtMatchOne(s []byte, pos int, words []string) int {
	for k, w := range words {
		if dtMatchFold(s, pos, w) {
			return k
		}
	}
	return -1
}

func parseTextItem(s []byte, pos int, it *dtItem, r *dtParsed) (int, bool) {
	switch it.f {
	case dtLiteral:
		if !dtMatchFold(s, pos, it.lit) {
			return pos, false
		}
		return pos + len(it.lit), true
	case dtEra:
		var words []string
		switch it.n {
		case 4:
			words = []string{"Before Christ", "Anno Domini"}
		case 5:
			words = []string{"B", "A"}
		default:
			words = []string{"BC", "AD"}
		}
		k := dtMatchOne(s, pos, words)
		if k < 0 {
			return pos, false
		}
		r.era = k
		r.set(dtEra)
		return pos + len(words[k]), true
	case dtMonth:
		words := dtMonthShort[:]
		if it.n == 4 {
			words = dtMonthLong[:]
		}
		k := dtMatchOne(s, pos, words)
		if k < 0 {
			return pos, false
		}
		r.month = k + 1
		r.set(dtMonth)
		return pos + len(words[k]), true
	case dtQuarter:
		if it.n == 3 {
			if len(s)-pos < 2 || (s[pos] != 'Q' && s[pos] != 'q') || s[pos+1] < '1' || s[pos+1] > '4' {
				return pos, false
			}
			r.quarter = int(s[pos+1] - '0')
			r.set(dtQuarter)
			return pos + 2, true
		}
		k := dtMatchOne(s, pos, dtQuarterLong[:])
		if k < 0 {
			return pos, false
		}
		r.quarter = k + 1
		r.set(dtQuarter)
		return pos + len(dtQuarterLong[k]), true
	case dtDayOfWeek:
		words := dtDowShort[:]
		if it.n == 4 {
			words = dtDowLong[:]
		}
		k := dtMatchOne(s, pos, words)
		if k < 0 {
			return pos, false
		}
		r.dow = k + 1
		r.set(dtDayOfWeek)
		return pos + len(words[k]), true
	case dtAmPm:
		k := dtMatchOne(s, pos, []string{"AM", "PM"})
		if k < 0 {
			return pos, false
		}
		r.ampm = k
		r.set(dtAmPm)
		return pos + 2, true
	case dtOffsetX, dtOffsetx, dtOffsetZ:
		return parseOffsetItem(s, pos, it, r)
	case dtOffsetO:
		if !dtMatchFold(s, pos, "GMT") {
			return pos, false
		}
		pos += 3
		if pos < len(s) && (s[pos] == '+' || s[pos] == '-') {
			off, np, ok := parseOffsetText(s, pos, true, true)
			if !ok {
				return pos, false
			}
			r.offset, pos = off, np
		}
		r.hasOffset = true
		return pos, true
	case dtZoneID, dtZoneName:
		return parseZoneText(s, pos, r)
	}
	return pos, false
}

// parseOffsetItem parses X, x and Z offsets by letter count.
func parseOffsetItem(s []byte, pos int, it *dtItem, r *dtParsed) (int, bool) {
	allowZ := it.f == dtOffsetX || it.f == dtOffsetZ && it.n == 5
	if it.f == dtOffsetZ && it.n == 4 {
		// Localized: GMT, GMT+08:00.
		if !dtMatchFold(s, pos, "GMT") {
			return pos, false
		}
		pos += 3
		if pos < len(s) && (s[pos] == '+' || s[pos] == '-') {
			off, np, ok := parseOffsetText(s, pos, true, true)
			if !ok {
				return pos, false
			}
			r.offset, pos = off, np
		}
		r.hasOffset = true
		return pos, true
	}
	if allowZ && pos < len(s) && (s[pos] == 'Z' || s[pos] == 'z') {
		r.offset, r.hasOffset = 0, true
		return pos + 1, true
	}
	colon := it.n == 3 || it.n == 5
	if it.f == dtOffsetZ && it.n <= 3 {
		colon = false
	}
	off, np, ok := parseOffsetText(s, pos, colon, it.n == 1)
	if !ok {
		return pos, false
	}
	r.offset, r.hasOffset = off, true
	return np, true
}

// parseOffsetText parses +HH[[:]mm[[:]ss]] at pos. colon requires ':'
// separators; hourOnly allows a bare +HH (or +H after "GMT").
func parseOffsetText(s []byte, pos int, colon, hourOnly bool) (int64, int, bool) {
	if pos >= len(s) || (s[pos] != '+' && s[pos] != '-') {
		return 0, pos, false
	}
	sign := int64(1)
	if s[pos] == '-' {
		sign = -1
	}
	p := pos + 1
	digits := func(n int) (int64, bool) {
		if len(s)-p < n {
			return 0, false
		}
		var v int64
		for k := 0; k < n; k++ {
			c := s[p+k]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int64(c-'0')
		}
		p += n
		return v, true
	}
	h, ok := digits(2)
	if !ok {
		return 0, pos, false
	}
	var m, sec int64
	part := func() (int64, bool) {
		save := p
		if colon {
			if p >= len(s) || s[p] != ':' {
				return 0, false
			}
			p++
		}
		v, ok := digits(2)
		if !ok {
			p = save
		}
		return v, ok
	}
	if v, ok := part(); ok {
		m = v
		if v2, ok := part(); ok {
			sec = v2
		}
	} else if !hourOnly {
		return 0, pos, false
	}
	if h > 18 || m > 59 || sec > 59 {
		return 0, pos, false
	}
	return sign * (h*3600 + m*60 + sec), p, true
}

// parseZoneText parses a zone id: Z, UTC/GMT/UT[+-offset], an offset, or a
// region id like America/New_York (looked up per row; rare in practice).
func parseZoneText(s []byte, pos int, r *dtParsed) (int, bool) {
	end := pos
	for end < len(s) && (dtIsLetter(s[end]) || s[end] == '/' || s[end] == '_' || s[end] == '+' || s[end] == '-' || s[end] == ':' || s[end] >= '0' && s[end] <= '9') {
		end++
	}
	id := string(s[pos:end])
	if id == "" {
		return pos, false
	}
	off, ok := parseZoneOffsetID(id)
	if ok {
		r.offset, r.hasOffset = off, true
		return end, true
	}
	loc, err := time.LoadLocation(id)
	if err != nil {
		return pos, false
	}
	r.loc = loc
	return end, true
}

// parseZoneOffsetID parses fixed-offset zone ids: Z, UTC, GMT, UT,
// UTC+8, GMT-08:00, +08:00, -0800.
func parseZoneOffsetID(id string) (int64, bool) {
	up := strings.ToUpper(id)
	switch up {
	case "Z", "UTC", "GMT", "UT":
		return 0, true
	}
	rest := up
	for _, pre := range []string{"UTC", "GMT", "UT"} {
		if strings.HasPrefix(up, pre) {
			rest = up[len(pre):]
			break
		}
	}
	if rest == "" || (rest[0] != '+' && rest[0] != '-') {
		return 0, false
	}
	b := []byte(rest)
	// +H, +HH, +HH:mm, +HHmm, +HH:mm:ss
	if len(b) == 2 || len(b) > 2 && (b[2] < '0' || b[2] > '9') {
		b = append([]byte{b[0], '0'}, b[1:]...)
	}
	colon := len(b) > 3 && b[3] == ':'
	off, p, ok := parseOffsetText(b, 0, colon, true)
	if !ok || p != len(b) {
		return 0, false
	}
	return off, true
}

// resolve turns parsed fields into microseconds UTC, filling missing fields
// as Spark does (year 1970, month and day 1, time 00:00) and rejecting
// invalid or inconsistent dates.
func (r *dtParsed) resolve(yearOfEra bool) (int64, bool) {
	year := int64(1970)
	if r.got(dtYear) {
		year = r.year
		if yearOfEra && r.got(dtEra) && r.era == 0 {
			year = 1 - year
		}
	}
	var days int64
	if r.got(dtDayOfYear) {
		ylen := 365
		if calIsLeap(year) {
			ylen = 366
		}
		if r.doy < 1 || r.doy > ylen {
			return 0, false
		}
		days = calDaysFromCivil(year, 1, 1) + int64(r.doy-1)
		_, m, d := calCivilFromDays(days)
		if r.got(dtMonth) && r.month != m || r.got(dtDay) && r.day != d {
			return 0, false
		}
	} else {
		month, day := 1, 1
		if r.got(dtMonth) {
			month = r.month
		}
		if r.got(dtDay) {
			day = r.day
		}
		if month < 1 || month > 12 || day < 1 || day > calDaysInMonth(year, month) {
			return 0, false
		}
		days = calDaysFromCivil(year, month, day)
	}
	if r.got(dtQuarter) {
		_, m, _ := calCivilFromDays(days)
		if r.quarter < 1 || r.quarter > 4 || (r.got(dtMonth) || r.got(dtDayOfYear)) && (m-1)/3+1 != r.quarter {
			return 0, false
		}
	}
	if r.got(dtDayOfWeek) && r.got(dtDay) && calISODayOfWeek(days) != r.dow {
		return 0, false
	}
	hour := 0
	switch {
	case r.got(dtHour):
		hour = r.hour
		if hour > 23 {
			return 0, false
		}
	case r.got(dtHourK1):
		if r.hourK1 < 1 || r.hourK1 > 24 {
			return 0, false
		}
		hour = r.hourK1 % 24
	case r.got(dtHour12):
		if r.hour12 < 1 || r.hour12 > 12 {
			return 0, false
		}
		hour = r.hour12 % 12
		if r.got(dtAmPm) {
			hour += 12 * r.ampm
		}
	case r.got(dtHourK0):
		if r.hourK0 > 11 {
			return 0, false
		}
		hour = r.hourK0
		if r.got(dtAmPm) {
			hour += 12 * r.ampm
		}
	}
	if r.min > 59 || r.sec > 59 {
		return 0, false
	}
	tod := int64(hour)*usPerHour + int64(r.min)*usPerMinute + int64(r.sec)*usPerSecond + r.nanos/1000
	if r.loc != nil {
		y, m, d := calCivilFromDays(days)
		if y < -290000 || y > 290000 {
			return 0, false
		}
		t := time.Date(int(y), time.Month(m), d, hour, r.min, r.sec, int(r.nanos), r.loc)
		return t.UnixMicro(), true
	}
	// Keep far-out years from overflowing int64 microseconds.
	if days < -106_000_000 || days > 106_000_000 {
		return 0, false
	}
	return days*usPerDay + tod - r.offset*usPerSecond, true
}
