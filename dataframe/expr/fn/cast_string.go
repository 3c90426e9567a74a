package fn

// Casts from and to strings: Spark's parsing (trimmed input, NULL on
// failure) and rendering (Java-style doubles, yyyy-MM-dd dates, timestamps
// as expr.FormatTimestamp).

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// ---- to string ----

func toStringFunc(from arrow.DataType) (castFn, error) {
	to := expr.String
	switch t := from.(type) {
	case *arrow.BooleanType:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			b := a.(*array.Boolean)
			w := newStringWriter(mem, to, a.Len(), a.Len()*5)
			for i := 0; i < a.Len(); i++ {
				switch {
				case b.IsNull(i):
					w.appendNull()
				case b.Value(i):
					w.appendString("true")
				default:
					w.appendString("false")
				}
			}
			return w.finish()
		}, nil
	case *arrow.Int8Type:
		return intToString[int8](), nil
	case *arrow.Int16Type:
		return intToString[int16](), nil
	case *arrow.Int32Type:
		return intToString[int32](), nil
	case *arrow.Int64Type:
		return intToString[int64](), nil
	case *arrow.Float32Type:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapFixedToString(mem, to, a, func(dst []byte, v float32) []byte { return appendJavaDouble(dst, float64(v), 32) })
		}, nil
	case *arrow.Float64Type:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapFixedToString(mem, to, a, func(dst []byte, v float64) []byte { return appendJavaDouble(dst, v, 64) })
		}, nil
	case *arrow.Decimal128Type:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapFixedToString(mem, to, a, func(dst []byte, v decimal128.Num) []byte { return appendDecimal(dst, v, t.Scale) })
		}, nil
	case *arrow.Date32Type:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapFixedToString(mem, to, a, func(dst []byte, d int32) []byte { return appendDate(dst, d) })
		}, nil
	case *arrow.TimestampType:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapFixedToString(mem, to, a, appendTimestamp)
		}, nil
	case *arrow.MonthDayNanoIntervalType:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapFixedToString(mem, to, a, func(dst []byte, v arrow.MonthDayNanoInterval) []byte {
				return append(dst, expr.FormatInterval(v)...)
			})
		}, nil
	case *arrow.BinaryType:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) { return relabel(a, to), nil }, nil
	case *arrow.ListType:
		elem, err := castFunc(t.Elem(), to)
		if err != nil {
			return nil, err
		}
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return listToString(mem, a.(*array.List), elem)
		}, nil
	case *arrow.StructType:
		convs := make([]castFn, t.NumFields())
		for i := range convs {
			c, err := castFunc(t.Field(i).Type, to)
			if err != nil {
				return nil, err
			}
			convs[i] = c
		}
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return structToString(mem, a.(*array.Struct), convs)
		}, nil
	}
	return nil, fmt.Errorf("%w: cannot cast %s to string", expr.ErrType, expr.TypeName(from))
}

// relabel reuses a's buffers under another type with the same layout
// (string <-> binary).
func relabel(a arrow.Array, dt arrow.DataType) arrow.Array {
	d := a.Data()
	nd := array.NewData(dt, d.Len(), d.Buffers(), nil, d.NullN(), d.Offset())
	defer nd.Release()
	return array.MakeFromData(nd)
}

func intToString[I ~int8 | ~int16 | ~int32 | ~int64]() castFn {
	return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
		return mapFixedToString(mem, expr.String, a, func(dst []byte, v I) []byte { return strconv.AppendInt(dst, int64(v), 10) })
	}
}

// appendJavaDouble renders f as Java's Double.toString (Spark's cast to
// string): plain notation in [1e-3, 1e7) with at least one fraction digit,
// else 1.0E7 / 1.234E-5; NaN, Infinity, -Infinity.
func appendJavaDouble(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		start := len(dst)
		dst = strconv.AppendFloat(dst, f, 'f', -1, bits)
		if bytes.IndexByte(dst[start:], '.') < 0 {
			dst = append(dst, ".0"...)
		}
		return dst
	}
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], f, 'e', -1, bits) // d.ddde±xx
	e := bytes.IndexByte(s, 'e')
	mant, exp := s[:e], s[e+1:]
	dst = append(dst, mant...)
	if bytes.IndexByte(mant, '.') < 0 {
		dst = append(dst, ".0"...)
	}
	dst = append(dst, 'E')
	if exp[0] == '-' {
		dst = append(dst, '-')
	}
	exp = bytes.TrimLeft(exp[1:], "0")
	return append(dst, exp...)
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's civil_from_days).
func civil(days int64) (y int64, m, d int) {
	z := days + 719468
	era := floorDiv(z, 146097)
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

// daysFromCivil is the inverse of civil.
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := int64(m + 9)
	if m > 2 {
		mp = int64(m - 3)
	}
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func append2(dst []byte, v int) []byte { return append(dst, byte('0'+v/10), byte('0'+v%10)) }

// appendDate renders days since the epoch as yyyy-MM-dd.
func appendDate(dst []byte, days int32) []byte {
	y, m, d := civil(int64(days))
	if y >= 0 && y <= 9999 {
		dst = append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10))
	} else {
		dst = append(dst, fmt.Sprintf("%+05d", y)...)
	}
	dst = append(dst, '-')
	dst = append2(dst, m)
	dst = append(dst, '-')
	return append2(dst, d)
}

// appendTimestamp renders µs since the epoch like expr.FormatTimestamp.
func appendTimestamp(dst []byte, us int64) []byte {
	days := floorDiv(us, microsPerDay)
	rem := us - days*microsPerDay
	if days < math.MinInt32 || days > math.MaxInt32 {
		return append(dst, expr.FormatTimestamp(us)...)
	}
	dst = appendDate(dst, int32(days))
	secs := rem / 1_000_000
	frac := rem % 1_000_000
	dst = append(dst, ' ')
	dst = append2(dst, int(secs/3600))
	dst = append(dst, ':')
	dst = append2(dst, int(secs/60%60))
	dst = append(dst, ':')
	dst = append2(dst, int(secs%60))
	if frac != 0 {
		dst = append(dst, '.')
		var buf [6]byte
		for i := 5; i >= 0; i-- {
			buf[i] = byte('0' + frac%10)
			frac /= 10
		}
		dst = append(dst, bytes.TrimRight(buf[:], "0")...)
	}
	return dst
}

// listToString renders arrays as Spark does: [1, 2, null].
func listToString(mem memory.Allocator, l *array.List, elem castFn) (arrow.Array, error) {
	child, err := elem(mem, l.ListValues())
	if err != nil {
		return nil, err
	}
	defer child.Release()
	offs, data := stringData(child)
	w := newStringWriter(mem, expr.String, l.Len(), int(offs[len(offs)-1]-offs[0])+4*l.Len())
	for i := 0; i < l.Len(); i++ {
		if l.IsNull(i) {
			w.appendNull()
			continue
		}
		s, e := l.ValueOffsets(i)
		w.appendWith(func(dst []byte) ([]byte, bool) {
			dst = append(dst, '[')
			for j := s; j < e; j++ {
				if j > s {
					dst = append(dst, ", "...)
				}
				if child.IsNull(int(j)) {
					dst = append(dst, "null"...)
				} else {
					dst = append(dst, data[offs[j]:offs[j+1]]...)
				}
			}
			return append(dst, ']'), true
		})
	}
	return w.finish()
}

// structToString renders structs as Spark does: {1, a, null}.
func structToString(mem memory.Allocator, st *array.Struct, convs []castFn) (arrow.Array, error) {
	fields := make([]arrow.Array, len(convs))
	defer func() {
		for _, f := range fields {
			if f != nil {
				f.Release()
			}
		}
	}()
	for i, c := range convs {
		f, err := c(mem, st.Field(i))
		if err != nil {
			return nil, err
		}
		fields[i] = f
	}
	w := newStringWriter(mem, expr.String, st.Len(), 0)
	for i := 0; i < st.Len(); i++ {
		if st.IsNull(i) {
			w.appendNull()
			continue
		}
		w.appendWith(func(dst []byte) ([]byte, bool) {
			dst = append(dst, '{')
			for k, f := range fields {
				if k > 0 {
					dst = append(dst, ", "...)
				}
				if f.IsNull(i) {
					dst = append(dst, "null"...)
				} else {
					offs, data := stringData(f)
					dst = append(dst, data[offs[i]:offs[i+1]]...)
				}
			}
			return append(dst, '}'), true
		})
	}
	return w.finish()
}

// ---- from string ----

func fromStringFunc(to arrow.DataType) (castFn, error) {
	switch t := to.(type) {
	case *arrow.BooleanType:
		return stringToBool, nil
	case *arrow.Int8Type:
		return stringToInt[int8](to, 8), nil
	case *arrow.Int16Type:
		return stringToInt[int16](to, 16), nil
	case *arrow.Int32Type:
		return stringToInt[int32](to, 32), nil
	case *arrow.Int64Type:
		return stringToInt[int64](to, 64), nil
	case *arrow.Float32Type:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapStringToFixed(mem, to, a, func(s []byte) (float32, bool) {
				f, ok := parseSparkFloat(s, 32)
				return float32(f), ok
			}), nil
		}, nil
	case *arrow.Float64Type:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapStringToFixed(mem, to, a, func(s []byte) (float64, bool) { return parseSparkFloat(s, 64) }), nil
		}, nil
	case *arrow.Decimal128Type:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapStringToFixed(mem, to, a, func(s []byte) (decimal128.Num, bool) { return parseDecimal(s, t.Precision, t.Scale) }), nil
		}, nil
	case *arrow.Date32Type:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapStringToFixed(mem, to, a, parseDate), nil
		}, nil
	case *arrow.TimestampType:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapStringToFixed(mem, to, a, parseTimestamp), nil
		}, nil
	case *arrow.MonthDayNanoIntervalType:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
			return mapStringToFixed(mem, to, a, parseInterval), nil
		}, nil
	case *arrow.BinaryType:
		return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) { return relabel(a, to), nil }, nil
	}
	return nil, fmt.Errorf("%w: cannot cast string to %s", expr.ErrType, expr.TypeName(to))
}

// stringToBool accepts Spark's spellings (t, true, y, yes, 1 / f, false, n,
// no, 0), case-insensitive and trimmed.
func stringToBool(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
	n := a.Len()
	offs, data := stringData(a)
	bb, bits := allocBits(mem, n)
	vb, vbits := allocBits(mem, n)
	nulls := 0
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			nulls++
			continue
		}
		v, ok := parseSparkBool(data[offs[i]:offs[i+1]])
		if !ok {
			nulls++
			continue
		}
		vbits[i>>3] |= 1 << (i & 7)
		bits[i>>3] |= b2u(v) << (i & 7)
	}
	if nulls == 0 {
		vb.Release()
		vb = nil
	}
	return makeArray(expr.Boolean, n, vb, nulls, bb), nil
}

func parseSparkBool(s []byte) (bool, bool) {
	s = trimSpace(s)
	if len(s) > 5 {
		return false, false
	}
	var lb [5]byte
	for i, c := range s {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lb[i] = c
	}
	switch string(lb[:len(s)]) {
	case "t", "true", "y", "yes", "1":
		return true, true
	case "f", "false", "n", "no", "0":
		return false, true
	}
	return false, false
}

func stringToInt[O ~int8 | ~int16 | ~int32 | ~int64](to arrow.DataType, bits int) castFn {
	return func(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
		return mapStringToFixed(mem, to, a, func(s []byte) (O, bool) {
			v, ok := parseSparkInt(s, bits)
			return O(v), ok
		}), nil
	}
}

// parseSparkInt parses a trimmed, optionally signed integer that fits in
// bits; a fraction ("1.9") is truncated as Spark's UTF8String.toLong does.
func parseSparkInt(s []byte, bits int) (int64, bool) {
	s = trimSpace(s)
	if len(s) == 0 {
		return 0, false
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, false
	}
	limit := uint64(1) << (bits - 1) // |min|
	var u uint64
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			break
		}
		u = u*10 + uint64(c-'0')
		if u > limit {
			return 0, false
		}
	}
	if i == 0 && (i >= len(s) || s[i] != '.') {
		return 0, false
	}
	if i < len(s) {
		if s[i] != '.' {
			return 0, false
		}
		for _, c := range s[i+1:] {
			if c < '0' || c > '9' {
				return 0, false
			}
		}
		if i == 0 && len(s) == 1 {
			return 0, false // just "."
		}
	}
	if neg {
		return -int64(u), true
	}
	if u == limit {
		return 0, false
	}
	return int64(u), true
}

// parseSparkFloat parses like Java's Double.parseDouble plus Spark's
// special spellings (inf, +infinity, -inf, nan, case-insensitive).
func parseSparkFloat(s []byte, bits int) (float64, bool) {
	s = trimSpace(s)
	if len(s) == 0 {
		return 0, false
	}
	switch strings.ToLower(string(s)) {
	case "inf", "+inf", "infinity", "+infinity":
		return math.Inf(1), true
	case "-inf", "-infinity":
		return math.Inf(-1), true
	case "nan":
		return math.NaN(), true
	}
	if c := s[len(s)-1]; c == 'd' || c == 'D' || c == 'f' || c == 'F' {
		s = s[:len(s)-1]
	}
	for _, c := range s {
		if c == '_' || c == 'i' || c == 'I' || c == 'n' || c == 'N' {
			return 0, false // Go-only syntax (1_000, Inf spelled inside)
		}
	}
	f, err := strconv.ParseFloat(string(s), bits)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	return f, true
}

// parseDate parses Spark's date forms: yyyy, yyyy-[m]m, yyyy-[m]m-[d]d, and
// yyyy-[m]m-[d]d followed by ' ' or 'T' and anything. Returns days since epoch.
func parseDate(s []byte) (arrow.Date32, bool) {
	s = trimSpace(s)
	y, m, d, rest, ok := parseDatePart(s)
	if !ok {
		return 0, false
	}
	if len(rest) > 0 && rest[0] != ' ' && rest[0] != 'T' {
		return 0, false
	}
	days := daysFromCivil(y, m, d)
	if days < math.MinInt32 || days > math.MaxInt32 {
		return 0, false
	}
	return arrow.Date32(days), true
}

// parseDatePart reads [+-]yyyy[-[m]m[-[d]d]] and returns what follows.
func parseDatePart(s []byte) (y int64, m, d int, rest []byte, ok bool) {
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		y = y*10 + int64(s[i]-'0')
		i++
		if i > 7 {
			return 0, 0, 0, nil, false
		}
	}
	if i < 4 {
		return 0, 0, 0, nil, false
	}
	if neg {
		y = -y
	}
	s = s[i:]
	m, d = 1, 1
	if len(s) == 0 || s[0] != '-' {
		return y, m, d, s, true
	}
	var n int
	if m, n = parse12(s[1:]); n == 0 {
		return 0, 0, 0, nil, false
	}
	s = s[1+n:]
	if len(s) > 0 && s[0] == '-' {
		if d, n = parse12(s[1:]); n == 0 {
			return 0, 0, 0, nil, false
		}
		s = s[1+n:]
	} else if len(s) > 0 {
		return 0, 0, 0, nil, false
	}
	if m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, 0, 0, nil, false
	}
	return y, m, d, s, true
}

// parse12 reads one or two digits.
func parse12(s []byte) (v, n int) {
	for n < 2 && n < len(s) && s[n] >= '0' && s[n] <= '9' {
		v = v*10 + int(s[n]-'0')
		n++
	}
	return v, n
}

func isLeap(y int64) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// daysIn is the number of days of month m in year y.
func daysIn(y int64, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseTimestamp parses Spark's timestamp forms into µs since the epoch
// (UTC session time zone): a date as parseDate accepts, optionally followed
// by ' ' or 'T' and [h]h:[m]m[:[s]s[.f{1,9}]] and a zone (Z, +hh[:mm],
// -hhmm, UTC, GMT+hh:mm, or a region id such as Europe/Paris). Time-only
// strings need the current date and are rejected.
func parseTimestamp(s []byte) (int64, bool) {
	s = trimSpace(s)
	y, mo, d, rest, ok := parseDatePart(s)
	if !ok {
		return 0, false
	}
	days := daysFromCivil(y, mo, d)
	var secs, frac int64
	if len(rest) > 0 {
		if rest[0] != ' ' && rest[0] != 'T' {
			return 0, false
		}
		rest = rest[1:]
		h, n := parse12(rest)
		if n == 0 || n >= len(rest) || rest[n] != ':' {
			if n == 0 && len(trimSpace(rest)) == 0 {
				goto zone
			}
			return 0, false
		}
		rest = rest[n+1:]
		mi, n := parse12(rest)
		if n == 0 {
			return 0, false
		}
		rest = rest[n:]
		sec := 0
		if len(rest) > 0 && rest[0] == ':' {
			if sec, n = parse12(rest[1:]); n == 0 {
				return 0, false
			}
			rest = rest[1+n:]
			if len(rest) > 0 && rest[0] == '.' {
				rest = rest[1:]
				digits := 0
				for len(rest) > 0 && rest[0] >= '0' && rest[0] <= '9' {
					if digits < 6 {
						frac = frac*10 + int64(rest[0]-'0')
					}
					digits++
					rest = rest[1:]
				}
				if digits > 9 {
					return 0, false
				}
				for k := digits; k < 6; k++ {
					frac *= 10
				}
			}
		}
		if h > 23 || mi > 59 || sec > 59 {
			return 0, false
		}
		secs = int64(h)*3600 + int64(mi)*60 + int64(sec)
	}
zone:
	local := days*microsPerDay + secs*1_000_000 + frac
	off, ok := parseZone(trimSpace(rest), local)
	if !ok {
		return 0, false
	}
	return local - off, true
}

// parseZone returns the zone's offset from UTC in µs at the given local time.
func parseZone(z []byte, localUS int64) (int64, bool) {
	if len(z) == 0 {
		return 0, true
	}
	switch string(z) {
	case "Z", "z", "UTC", "GMT", "UT":
		return 0, true
	}
	for _, p := range []string{"UTC", "GMT", "UT"} {
		if len(z) > len(p) && strings.EqualFold(string(z[:len(p)]), p) && (z[len(p)] == '+' || z[len(p)] == '-') {
			z = z[len(p):]
			break
		}
	}
	if z[0] == '+' || z[0] == '-' {
		sign := int64(1)
		if z[0] == '-' {
			sign = -1
		}
		z = z[1:]
		h, n := parse12(z)
		if n == 0 {
			return 0, false
		}
		z = z[n:]
		m := 0
		if len(z) > 0 {
			if z[0] == ':' {
				z = z[1:]
			}
			if m, n = parse12(z); n != 2 {
				return 0, false
			}
			z = z[n:]
		}
		if len(z) > 0 || h > 18 || m > 59 {
			return 0, false
		}
		return sign * (int64(h)*3600 + int64(m)*60) * 1_000_000, true
	}
	loc, ok := loadZone(string(z))
	if !ok {
		return 0, false
	}
	// Offset at the local wall time: take the offset at the UTC instant of
	// the same wall clock, then re-check once for transitions.
	t := time.UnixMicro(localUS).UTC()
	wall := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
	_, off := wall.Zone()
	return int64(off) * 1_000_000, true
}

var zoneCache sync.Map // string -> *time.Location (nil when unknown)

// loadZone loads a region time zone once per process.
func loadZone(name string) (*time.Location, bool) {
	if v, ok := zoneCache.Load(name); ok {
		loc := v.(*time.Location)
		return loc, loc != nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" || name == "Local" {
		loc = nil
	}
	zoneCache.Store(name, loc)
	return loc, loc != nil
}

// parseInterval parses "[INTERVAL] n unit [n unit ...]" with units year,
// month, week, day, hour, minute, second (fractional), millisecond,
// microsecond (singular or plural, case-insensitive), the form
// expr.FormatInterval writes.
func parseInterval(s []byte) (arrow.MonthDayNanoInterval, bool) {
	var iv arrow.MonthDayNanoInterval
	fields := strings.Fields(strings.ToLower(string(s)))
	if len(fields) > 0 && fields[0] == "interval" {
		fields = fields[1:]
	}
	if len(fields) == 0 || len(fields)%2 != 0 {
		return iv, false
	}
	for i := 0; i < len(fields); i += 2 {
		num, unit := strings.Trim(fields[i], "'"), strings.TrimSuffix(strings.Trim(fields[i+1], "'"), "s")
		if unit == "second" {
			f, err := strconv.ParseFloat(num, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return iv, false
			}
			iv.Nanoseconds += int64(math.Round(f * 1e9))
			continue
		}
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return iv, false
		}
		switch unit {
		case "year":
			iv.Months += int32(v * 12)
		case "month":
			iv.Months += int32(v)
		case "week":
			iv.Days += int32(v * 7)
		case "day":
			iv.Days += int32(v)
		case "hour":
			iv.Nanoseconds += v * int64(time.Hour)
		case "minute":
			iv.Nanoseconds += v * int64(time.Minute)
		case "millisecond":
			iv.Nanoseconds += v * int64(time.Millisecond)
		case "microsecond":
			iv.Nanoseconds += v * int64(time.Microsecond)
		case "nanosecond":
			iv.Nanoseconds += v
		default:
			return iv, false
		}
	}
	return iv, true
}
