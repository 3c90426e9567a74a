package fileformat

import (
	"math"
	"strconv"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// Value parsing and formatting shared by CSV and JSON: allocation-free
// parsers over byte slices with Spark's (Java's) acceptance rules, and
// formatters that print what Spark prints.

// bytesToString views b as a string without copying. The string must not
// outlive b's contents (it is only passed to parsers).
func bytesToString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// stringToBytes views s as bytes without copying; the bytes must not be
// modified.
func stringToBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// parseIntBytes parses [+-]digits into an integer of bits width, failing on
// overflow (Java's Integer.parseInt / Long.parseLong).
func parseIntBytes(b []byte, bits uint) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	i, neg := 0, false
	switch b[0] {
	case '-':
		neg, i = true, 1
	case '+':
		i = 1
	}
	if i == len(b) {
		return 0, false
	}
	limit := uint64(1) << (bits - 1) // magnitude of the minimum
	var v uint64
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			return 0, false
		}
		if v > (limit+9)/10 {
			return 0, false
		}
		v = v*10 + uint64(c)
		if v > limit {
			return 0, false
		}
	}
	if neg {
		return -int64(v), true
	}
	if v == limit {
		return 0, false
	}
	return int64(v), true
}

// parseFloatBytes parses a Java-style double: decimal or exponent forms,
// NaN, Infinity (strconv also takes inf/nan case-insensitively).
func parseFloatBytes(b []byte, bits int) (float64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	// strconv accepts underscores and hex only in prefixed forms Java does
	// not produce; reject '_' so "1_0" is not a number.
	for _, c := range b {
		if c == '_' {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(bytesToString(b), bits)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true // Java rounds to ±Infinity / 0 as well
		}
		return 0, false
	}
	return f, true
}

// parseBoolBytes accepts true/false in any case (Scala's toBoolean).
func parseBoolBytes(b []byte) (bool, bool) {
	switch len(b) {
	case 4:
		if (b[0]|0x20) == 't' && (b[1]|0x20) == 'r' && (b[2]|0x20) == 'u' && (b[3]|0x20) == 'e' {
			return true, true
		}
	case 5:
		if (b[0]|0x20) == 'f' && (b[1]|0x20) == 'a' && (b[2]|0x20) == 'l' && (b[3]|0x20) == 's' && (b[4]|0x20) == 'e' {
			return false, true
		}
	}
	return false, false
}

// parseDecimalBytes parses a Java BigDecimal literal ([+-]digits[.digits][e[+-]digits])
// into a decimal(prec, scale), rounding half up to scale like Spark's
// Decimal.set; values needing more than prec digits fail.
func parseDecimalBytes(b []byte, prec, scale int32) (decimal128.Num, bool) {
	var digs [80]byte
	nd := 0    // significant digits collected (leading zeros dropped)
	fracN := 0 // digits after the point
	seenDot := false
	anyDigit := false
	i, neg := 0, false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i++
	}
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			anyDigit = true
			if seenDot {
				fracN++
			}
			if nd == 0 && c == '0' {
				continue
			}
			if nd == len(digs) {
				return decimal128.Num{}, false
			}
			digs[nd] = c - '0'
			nd++
		case c == '.' && !seenDot:
			seenDot = true
		case c == 'e' || c == 'E':
			goto exp
		default:
			return decimal128.Num{}, false
		}
	}
	return finishDecimal(digs[:nd], fracN, 0, neg, anyDigit, prec, scale)
exp:
	{
		if !anyDigit {
			return decimal128.Num{}, false
		}
		e, ok := parseIntBytes(b[i+1:], 32)
		if !ok || e > 1000 || e < -1000 {
			return decimal128.Num{}, false
		}
		return finishDecimal(digs[:nd], fracN, int(e), neg, anyDigit, prec, scale)
	}
}

func finishDecimal(digs []byte, fracN, exp int, neg, anyDigit bool, prec, scale int32) (decimal128.Num, bool) {
	if !anyDigit {
		return decimal128.Num{}, false
	}
	// value = digs * 10^(exp - fracN); we want unscaled = value * 10^scale.
	shift := exp - fracN + int(scale)
	n := len(digs)
	roundUp := false
	if shift < 0 {
		drop := -shift
		if drop > n {
			digs, n = digs[:0], 0
		} else {
			roundUp = digs[n-drop] >= 5
			digs = digs[:n-drop]
			n -= drop
		}
		shift = 0
	}
	if n+shift > int(prec) {
		return decimal128.Num{}, false
	}
	var v decimal128.Num
	ten := decimal128.FromU64(10)
	for _, d := range digs {
		v = v.Mul(ten).Add(decimal128.FromU64(uint64(d)))
	}
	for k := 0; k < shift; k++ {
		v = v.Mul(ten)
	}
	if roundUp {
		v = v.Add(decimal128.FromU64(1))
	}
	if !v.FitsInPrecision(prec) {
		return decimal128.Num{}, false
	}
	if neg {
		v = v.Negate()
	}
	return v, true
}

// appendJavaDouble formats like Java's Double.toString / Float.toString,
// which Spark uses for CSV and JSON output: 1.0, 0.001, 1.0E7, NaN,
// Infinity.
func appendJavaDouble(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	a := math.Abs(f)
	if a != 0 && (a < 1e-3 || a >= 1e7) {
		start := len(dst)
		dst = strconv.AppendFloat(dst, f, 'E', -1, bits)
		// Go writes 1E+07; Java writes 1.0E7.
		e := start
		for dst[e] != 'E' {
			e++
		}
		mant := append([]byte(nil), dst[start:e]...)
		expo := append([]byte(nil), dst[e+1:]...)
		dst = dst[:start]
		dst = append(dst, mant...)
		if !containsByte(mant, '.') {
			dst = append(dst, ".0"...)
		}
		dst = append(dst, 'E')
		if expo[0] == '-' {
			dst = append(dst, '-')
		}
		expo = expo[1:]
		for len(expo) > 1 && expo[0] == '0' {
			expo = expo[1:]
		}
		return append(dst, expo...)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'f', -1, bits)
	if !containsByte(dst[start:], '.') {
		dst = append(dst, ".0"...)
	}
	return dst
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}
