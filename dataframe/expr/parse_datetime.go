package expr

import (
	"errors"
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// ParseDate reads a date the way Spark's string-to-date conversion does:
// "yyyy", "yyyy-[m]m", "yyyy-[m]m-[d]d", optionally followed by a space or
// 'T' and anything (which is ignored). The year has 4 to 7 digits and an
// optional sign. Surrounding whitespace is ignored.
func ParseDate(s string) (arrow.Date32, error) {
	d, rest, err := scanDate(strings.TrimSpace(s))
	if err != nil {
		return 0, err
	}
	if rest != "" && rest[0] != ' ' && rest[0] != 'T' {
		return 0, errors.New("unexpected text after the date")
	}
	days := d.days()
	if days < math.MinInt32 || days > math.MaxInt32 {
		return 0, errors.New("date out of range")
	}
	return arrow.Date32(days), nil
}

// ParseTimestamp reads a timestamp the way Spark's string-to-timestamp
// conversion does: a date as in ParseDate, then optionally ' ' or 'T' and
// [h]h:[m]m[:[s]s[.fraction]] and a zone: Z, UTC, GMT, +hh[:mm], -hhmm,
// UTC+hh:mm or a region id (Europe/Paris). Without a zone the time is UTC,
// sluice's session time zone. Fractions beyond microseconds are truncated.
func ParseTimestamp(s string) (arrow.Timestamp, error) { return parseTimestamp(s, false) }

// parseTimestamp is ParseTimestamp; ignoreZone reads a zone but keeps the
// wall-clock time (timestamp_ntz).
func parseTimestamp(s string, ignoreZone bool) (arrow.Timestamp, error) {
	s = strings.TrimSpace(s)
	d, rest, err := scanDate(s)
	if err != nil {
		return 0, err
	}
	var hh, mm, ss, nanos int
	zone := ""
	if rest != "" {
		if rest[0] != ' ' && rest[0] != 'T' {
			return 0, errors.New("expected ' ' or 'T' after the date")
		}
		rest = rest[1:]
		if rest != "" && isDigit(rest[0]) {
			if hh, rest, err = scanField(rest, "hour", 1, 2, 0, 23); err != nil {
				return 0, err
			}
			if rest == "" || rest[0] != ':' {
				return 0, errors.New("expected ':' after the hour")
			}
			if mm, rest, err = scanField(rest[1:], "minute", 1, 2, 0, 59); err != nil {
				return 0, err
			}
			if rest != "" && rest[0] == ':' {
				if ss, rest, err = scanField(rest[1:], "second", 1, 2, 0, 59); err != nil {
					return 0, err
				}
				if rest != "" && rest[0] == '.' {
					i := 1
					for i < len(rest) && isDigit(rest[i]) {
						i++
					}
					frac := rest[1:i]
					if len(frac) > 9 {
						return 0, errors.New("fraction of second has more than 9 digits")
					}
					for j := 0; j < 9; j++ {
						nanos *= 10
						if j < len(frac) {
							nanos += int(frac[j] - '0')
						}
					}
					rest = rest[i:]
				}
			}
		}
		zone = strings.TrimSpace(rest)
	}
	var secs int64
	if zone == "" {
		secs = d.days()*86400 + int64(hh*3600+mm*60+ss)
	} else {
		off, loc, err := parseZone(zone)
		if err != nil {
			return 0, err
		}
		switch {
		case ignoreZone:
			secs = d.days()*86400 + int64(hh*3600+mm*60+ss)
		case loc != nil:
			secs = time.Date(d.year, time.Month(d.month), d.day, hh, mm, ss, 0, loc).Unix()
		default:
			secs = d.days()*86400 + int64(hh*3600+mm*60+ss) - int64(off)
		}
	}
	if secs > math.MaxInt64/1_000_000-1 || secs < math.MinInt64/1_000_000+1 {
		return 0, errors.New("timestamp out of range")
	}
	return arrow.Timestamp(secs*1_000_000 + int64(nanos/1000)), nil
}

type civilDate struct{ year, month, day int }

// days counts days since 1970-01-01.
func (d civilDate) days() int64 {
	return time.Date(d.year, time.Month(d.month), d.day, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// scanDate reads [+-]yyyy[-m[m][-d[d]]] and returns the text after it.
func scanDate(s string) (civilDate, string, error) {
	d := civilDate{month: 1, day: 1}
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var err error
	if d.year, s, err = scanField(s, "year", 4, 7, 0, math.MaxInt32); err != nil {
		return d, "", err
	}
	if neg {
		d.year = -d.year
	}
	if s != "" && s[0] == '-' {
		if d.month, s, err = scanField(s[1:], "month", 1, 2, 1, 12); err != nil {
			return d, "", err
		}
		if s != "" && s[0] == '-' {
			if d.day, s, err = scanField(s[1:], "day", 1, 2, 1, 31); err != nil {
				return d, "", err
			}
			if d.day > daysIn(d.year, d.month) {
				return d, "", errors.New("day out of range for the month")
			}
		} else if s != "" {
			return d, "", errors.New("expected '-' and a day after the month")
		}
	} else if s != "" {
		return d, "", errors.New("expected '-' and a month after the year")
	}
	return d, s, nil
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// scanField reads minDigits..maxDigits decimal digits in [lo, hi].
func scanField(s, what string, minDigits, maxDigits, lo, hi int) (int, string, error) {
	i := 0
	v := 0
	for i < len(s) && isDigit(s[i]) {
		if i == maxDigits {
			return 0, "", errors.New(what + " has too many digits")
		}
		v = v*10 + int(s[i]-'0')
		i++
	}
	if i < minDigits {
		if i == 0 {
			return 0, "", errors.New("expected the " + what)
		}
		return 0, "", errors.New(what + " has too few digits")
	}
	if v < lo || v > hi {
		return 0, "", errors.New(what + " out of range")
	}
	return v, s[i:], nil
}

// parseZone reads a zone: a fixed offset (returned in seconds east of UTC)
// or a region id (returned as a location).
func parseZone(z string) (int, *time.Location, error) {
	up := strings.ToUpper(z)
	for _, p := range []string{"UTC", "GMT", "UT", "Z"} {
		if up == p {
			return 0, nil, nil
		}
	}
	for _, p := range []string{"UTC", "GMT", "UT"} {
		if strings.HasPrefix(up, p) && len(up) > len(p) && (up[len(p)] == '+' || up[len(p)] == '-') {
			up = up[len(p):]
			break
		}
	}
	if up[0] == '+' || up[0] == '-' {
		sign := 1
		if up[0] == '-' {
			sign = -1
		}
		digits := strings.ReplaceAll(up[1:], ":", "")
		if strings.Count(up[1:], ":") > 2 || len(digits) == 0 || len(digits) > 6 || !isAllDigits(digits) {
			return 0, nil, errors.New("invalid zone offset " + z)
		}
		if len(digits)%2 == 1 {
			digits = "0" + digits
		}
		parts := [3]int{}
		for i := 0; i < len(digits)/2; i++ {
			parts[i] = int(digits[2*i]-'0')*10 + int(digits[2*i+1]-'0')
		}
		if parts[0] > 18 || parts[1] > 59 || parts[2] > 59 {
			return 0, nil, errors.New("zone offset out of range " + z)
		}
		return sign * (parts[0]*3600 + parts[1]*60 + parts[2]), nil, nil
	}
	// Region ids; "Local" would make results depend on the machine.
	if strings.EqualFold(z, "local") || !strings.Contains(z, "/") {
		return 0, nil, errors.New("unknown time zone " + z)
	}
	loc, err := time.LoadLocation(z)
	if err != nil {
		return 0, nil, errors.New("unknown time zone " + z)
	}
	return 0, loc, nil
}

func isAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
