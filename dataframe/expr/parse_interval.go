package expr

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// intervalUnits maps the unit words of interval literals (singular and
// plural, as Spark accepts them) to their singular upper-case form.
var intervalUnits = map[string]string{}

func init() {
	for _, u := range []string{"YEAR", "MONTH", "WEEK", "DAY", "HOUR", "MINUTE", "SECOND",
		"MILLISECOND", "MICROSECOND", "NANOSECOND"} {
		intervalUnits[u] = u
		intervalUnits[u+"S"] = u
	}
}

func intervalUnit(t Token) (string, bool) {
	if t.Kind != TokIdent {
		return "", false
	}
	u, ok := intervalUnits[strings.ToUpper(t.Value)]
	return u, ok
}

func isIntervalUnitTok(t Token) bool {
	_, ok := intervalUnit(t)
	return ok
}

const intervalHint = "write INTERVAL '1 day 2 hours', INTERVAL 5 MINUTES, INTERVAL '5' MINUTE or INTERVAL '1 10:30:00' DAY TO SECOND"

// parseInterval parses the INTERVAL literal forms of Spark:
//
//	INTERVAL '1 day 2 hours'          units inside the string
//	INTERVAL 5 MINUTES                one or more value-unit pairs;
//	INTERVAL '5' MINUTE               a value may be a number or a string
//	INTERVAL 1 HOUR 30 MINUTES
//	INTERVAL '1-2' YEAR TO MONTH      unit-to-unit ranges
//	INTERVAL '1 10:20:30.5' DAY TO SECOND
//
// into a month-day-nano literal: years and months go to Months, weeks and
// days to Days, the rest to Nanoseconds. Only seconds may have a fraction,
// as in Spark.
func (p *Parser) parseInterval() (Expr, error) {
	p.Next() // INTERVAL
	if t := p.Peek(); t.Kind == TokString {
		if _, isUnit := intervalUnit(p.PeekAt(1)); !isUnit {
			p.Next()
			iv, err := parseIntervalString(t.Value)
			if err != nil {
				return nil, p.ErrorAt(t, "invalid interval '"+t.Value+"': "+err.Error(), intervalHint)
			}
			return &Literal{Value: iv, Type: Interval}, nil
		}
	}
	var acc intervalAcc
	for n := 0; ; n++ {
		mark := p.Mark()
		neg := false
		if p.IsOp("-") || p.IsOp("+") {
			neg = p.Next().IsOp("-")
		}
		vt := p.Peek()
		ut := p.PeekAt(1)
		unit, isUnit := intervalUnit(ut)
		if vt.Kind != TokNumber && vt.Kind != TokString || !isUnit {
			if n == 0 {
				if vt.Kind == TokNumber || vt.Kind == TokString {
					p.Next()
					err := p.ErrExpected("an interval unit (YEAR, MONTH, WEEK, DAY, HOUR, MINUTE, SECOND, ...)")
					err.Hint = intervalHint
					return nil, err
				}
				err := p.ErrExpected("an interval value")
				err.Hint = intervalHint
				return nil, err
			}
			p.Reset(mark)
			break
		}
		p.Next()
		p.Next()
		text := vt.Value
		if vt.Kind == TokNumber {
			text = vt.Text
		}
		if n == 0 && p.IsKeyword("TO") {
			p.Next()
			to, ok := intervalUnit(p.Peek())
			if !ok {
				return nil, p.ErrExpected("an interval unit after TO")
			}
			p.Next()
			iv, err := parseUnitToUnit(text, unit, to, neg)
			if err != nil {
				return nil, p.ErrorAt(vt, "invalid interval "+vt.Text+" "+unit+" TO "+to+": "+err.Error(), intervalHint)
			}
			return &Literal{Value: iv, Type: Interval}, nil
		}
		if err := acc.addText(text, unit, neg); err != nil {
			return nil, p.ErrorAt(vt, "invalid interval value "+vt.Text+" "+ut.Text+": "+err.Error(), intervalHint)
		}
	}
	return &Literal{Value: acc.iv, Type: Interval}, nil
}

// intervalAcc sums interval parts with overflow checks.
type intervalAcc struct {
	iv arrow.MonthDayNanoInterval
}

var errIntervalRange = errors.New("interval out of range")

// addText adds "[+-]digits[.digits]" of unit.
func (a *intervalAcc) addText(text, unit string, neg bool) error {
	text = strings.TrimSpace(text)
	if text != "" && (text[0] == '-' || text[0] == '+') {
		if text[0] == '-' {
			neg = !neg
		}
		text = strings.TrimSpace(text[1:])
	}
	whole, frac, hasFrac := strings.Cut(text, ".")
	if whole == "" && frac == "" || !isAllDigits(whole) || !isAllDigits(frac) {
		return errors.New("the value must be a number like 5 or 1.5")
	}
	if hasFrac && unit != "SECOND" {
		return errors.New("only SECOND may have a fractional value; use a smaller unit (90 MINUTES, not 1.5 HOURS)")
	}
	if len(frac) > 9 {
		return errors.New("more than 9 fractional digits")
	}
	w := int64(0)
	if whole != "" {
		var err error
		if w, err = strconv.ParseInt(whole, 10, 64); err != nil {
			return errIntervalRange
		}
	}
	fracNanos := int64(0)
	for i := 0; i < 9; i++ {
		fracNanos *= 10
		if i < len(frac) {
			fracNanos += int64(frac[i] - '0')
		}
	}
	return a.add(unit, w, fracNanos, neg)
}

var unitNanos = map[string]int64{
	"HOUR": 3_600_000_000_000, "MINUTE": 60_000_000_000, "SECOND": 1_000_000_000,
	"MILLISECOND": 1_000_000, "MICROSECOND": 1_000, "NANOSECOND": 1,
}

// add adds v whole units (plus fracNanos nanoseconds for SECOND).
func (a *intervalAcc) add(unit string, v, fracNanos int64, neg bool) error {
	if neg {
		v, fracNanos = -v, -fracNanos
	}
	switch unit {
	case "YEAR", "MONTH":
		if unit == "YEAR" {
			var ok bool
			if v, ok = mulCheck(v, 12); !ok {
				return errIntervalRange
			}
		}
		m := int64(a.iv.Months) + v
		if m > math.MaxInt32 || m < math.MinInt32 || v > math.MaxInt32 || v < math.MinInt32 {
			return errIntervalRange
		}
		a.iv.Months = int32(m)
	case "WEEK", "DAY":
		if unit == "WEEK" {
			var ok bool
			if v, ok = mulCheck(v, 7); !ok {
				return errIntervalRange
			}
		}
		d := int64(a.iv.Days) + v
		if d > math.MaxInt32 || d < math.MinInt32 || v > math.MaxInt32 || v < math.MinInt32 {
			return errIntervalRange
		}
		a.iv.Days = int32(d)
	default:
		n, ok := mulCheck(v, unitNanos[unit])
		if !ok {
			return errIntervalRange
		}
		if n, ok = addCheck(n, fracNanos); !ok {
			return errIntervalRange
		}
		if a.iv.Nanoseconds, ok = addCheck(a.iv.Nanoseconds, n); !ok {
			return errIntervalRange
		}
	}
	return nil
}

func mulCheck(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	c := a * b
	if c/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	return c, true
}

func addCheck(a, b int64) (int64, bool) {
	c := a + b
	if (b > 0 && c < a) || (b < 0 && c > a) {
		return 0, false
	}
	return c, true
}

// parseIntervalString reads Spark's interval string syntax:
// "[interval] [+|-]n unit [[+|-]n unit ...]", case-insensitive, where unit
// is one of year, month, week, day, hour, minute, second, millisecond,
// microsecond, nanosecond (singular or plural).
func parseIntervalString(s string) (arrow.MonthDayNanoInterval, error) {
	var acc intervalAcc
	rest := strings.TrimSpace(s)
	if len(rest) >= 8 && strings.EqualFold(rest[:8], "interval") {
		rest = strings.TrimSpace(rest[8:])
	}
	if rest == "" {
		return acc.iv, errors.New("no value")
	}
	for rest != "" {
		neg := false
		if rest[0] == '-' || rest[0] == '+' {
			neg = rest[0] == '-'
			rest = strings.TrimLeft(rest[1:], " \t")
		}
		i := 0
		for i < len(rest) && (isDigit(rest[i]) || rest[i] == '.') {
			i++
		}
		num := rest[:i]
		rest = strings.TrimLeft(rest[i:], " \t")
		j := 0
		for j < len(rest) && (rest[j] >= 'a' && rest[j] <= 'z' || rest[j] >= 'A' && rest[j] <= 'Z') {
			j++
		}
		word := rest[:j]
		rest = strings.TrimLeft(rest[j:], " \t")
		if num == "" {
			if word != "" {
				return acc.iv, errors.New("expected a number before " + word)
			}
			return acc.iv, errors.New("expected a number")
		}
		unit, ok := intervalUnits[strings.ToUpper(word)]
		if !ok {
			if word == "" {
				return acc.iv, errors.New("missing unit after " + num)
			}
			return acc.iv, errors.New("unknown unit " + word)
		}
		if strings.Count(num, ".") > 1 {
			return acc.iv, errors.New("invalid number " + num)
		}
		if err := acc.addText(num, unit, neg); err != nil {
			return acc.iv, err
		}
	}
	return acc.iv, nil
}

// unitRanges lists the unit-to-unit forms and their string layouts: the
// separator before each field after the first, and each field's bound.
var unitRanges = map[string]struct {
	units []string
	seps  string
	max   []int64
}{
	"YEAR TO MONTH":    {[]string{"YEAR", "MONTH"}, "-", []int64{11}},
	"DAY TO HOUR":      {[]string{"DAY", "HOUR"}, " ", []int64{23}},
	"DAY TO MINUTE":    {[]string{"DAY", "HOUR", "MINUTE"}, " :", []int64{23, 59}},
	"DAY TO SECOND":    {[]string{"DAY", "HOUR", "MINUTE", "SECOND"}, " ::", []int64{23, 59, 59}},
	"HOUR TO MINUTE":   {[]string{"HOUR", "MINUTE"}, ":", []int64{59}},
	"HOUR TO SECOND":   {[]string{"HOUR", "MINUTE", "SECOND"}, "::", []int64{59, 59}},
	"MINUTE TO SECOND": {[]string{"MINUTE", "SECOND"}, ":", []int64{59}},
}

// parseUnitToUnit reads the value of INTERVAL 'text' FROM TO TO.
func parseUnitToUnit(text, from, to string, neg bool) (arrow.MonthDayNanoInterval, error) {
	var acc intervalAcc
	r, ok := unitRanges[from+" TO "+to]
	if !ok {
		return acc.iv, errors.New("unsupported range; use YEAR TO MONTH, DAY TO HOUR|MINUTE|SECOND, HOUR TO MINUTE|SECOND or MINUTE TO SECOND")
	}
	s := strings.TrimSpace(text)
	if s != "" && (s[0] == '-' || s[0] == '+') {
		if s[0] == '-' {
			neg = !neg
		}
		s = s[1:]
	}
	layout := "'" + strings.ToLower(r.units[0])
	for i, u := range r.units[1:] {
		layout += string(r.seps[i]) + strings.ToLower(u)
	}
	layout += "'"
	for i, unit := range r.units {
		if i > 0 {
			if s == "" || s[0] != r.seps[i-1] {
				return acc.iv, errors.New("expected the layout " + layout)
			}
			s = s[1:]
		}
		j := 0
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == 0 || j > 18 {
			return acc.iv, errors.New("expected the layout " + layout)
		}
		v, _ := strconv.ParseInt(s[:j], 10, 64)
		s = s[j:]
		if i > 0 && v > r.max[i-1] {
			return acc.iv, errors.New(strings.ToLower(unit) + " " + strconv.FormatInt(v, 10) + " out of range 0-" + strconv.FormatInt(r.max[i-1], 10))
		}
		frac := int64(0)
		if unit == "SECOND" && s != "" && s[0] == '.' {
			k := 1
			for k < len(s) && isDigit(s[k]) {
				k++
			}
			digits := s[1:k]
			if len(digits) > 9 {
				return acc.iv, errors.New("more than 9 fractional digits")
			}
			for d := 0; d < 9; d++ {
				frac *= 10
				if d < len(digits) {
					frac += int64(digits[d] - '0')
				}
			}
			s = s[k:]
		}
		if err := acc.add(unit, v, frac, neg); err != nil {
			return acc.iv, err
		}
	}
	if s != "" {
		return acc.iv, errors.New("unexpected text " + strconv.Quote(s) + "; expected the layout " + layout)
	}
	return acc.iv, nil
}
