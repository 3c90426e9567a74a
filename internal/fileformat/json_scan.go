package fileformat

import (
	"encoding/binary"
	"math"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// Low-level JSON scanning shared by the decoder, the inference and the
// fuzz tests: positions in, positions out, no allocation. Every function
// validates what it passes over (RFC 8259, plus the non-numeric numbers
// NaN/Infinity that Spark's allowNonNumericNumbers accepts).

// jsonSyntaxError is a scan failure at a byte offset.
type jsonSyntaxError struct {
	pos int
	msg string
}

func (e *jsonSyntaxError) Error() string { return e.msg }

func syntaxErr(pos int, msg string) *jsonSyntaxError { return &jsonSyntaxError{pos: pos, msg: msg} }

const maxJSONDepth = 512

func skipWS(data []byte, i int) int {
	for i < len(data) {
		c := data[i]
		if c > ' ' || (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			return i
		}
		i++
	}
	return i
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// scanString scans a string body starting just after the opening quote.
// It returns the index of the closing quote, whether the body has escapes
// (so it needs unescaping) and whether it is pure ASCII.
func scanString(data []byte, i int) (end int, escaped bool, err *jsonSyntaxError) {
	start := i
	nonASCII := false
	for {
		// Eight bytes at a time until one is '"', '\\', a control byte or non-ASCII.
		for i+8 <= len(data) {
			w := binary.LittleEndian.Uint64(data[i:])
			q := w ^ (lsb * '"')
			b := w ^ (lsb * '\\')
			t := ((q - lsb) &^ q) | ((b - lsb) &^ b) | ((w - lsb*0x20) &^ w) | w
			t &= msb
			if t != 0 {
				i += bits.TrailingZeros64(t) >> 3
				break
			}
			i += 8
		}
		if i >= len(data) {
			return 0, false, syntaxErr(start-1, "unterminated string")
		}
		c := data[i]
		switch {
		case c == '"':
			if nonASCII && !utf8.Valid(data[start:i]) {
				return 0, false, syntaxErr(start-1, "invalid UTF-8 in string")
			}
			return i, escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(data) {
				return 0, false, syntaxErr(start-1, "unterminated string")
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(data) || !isHex4(data[i+2:i+6]) {
					return 0, false, syntaxErr(i, "invalid \\u escape in string")
				}
				i += 6
			default:
				return 0, false, syntaxErr(i, "invalid escape \\"+string(data[i+1])+" in string")
			}
		case c < 0x20:
			return 0, false, syntaxErr(i, "unescaped control character in string")
		case c >= 0x80:
			nonASCII = true
			i++
		default:
			i++ // a false positive of the word test cannot happen at the first flagged byte, but be safe
		}
	}
}

func isHex4(b []byte) bool {
	for _, c := range b[:4] {
		if hexVal(c) < 0 {
			return false
		}
	}
	return true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// appendUnescaped appends the decoded body of a string that scanString
// accepted. Lone surrogates become U+FFFD.
func appendUnescaped(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			j := i + 1
			for j < len(s) && s[j] != '\\' {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		switch s[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := rune(hex4(s[i+2:]))
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					r2 := rune(hex4(s[i+2:]))
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						dst = utf8.AppendRune(dst, dec)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // " \ /
			dst = append(dst, s[i+1])
		}
		i += 2
	}
	return dst
}

func hex4(b []byte) int {
	return hexVal(b[0])<<12 | hexVal(b[1])<<8 | hexVal(b[2])<<4 | hexVal(b[3])
}

// numKind classifies a scanned number.
type numKind uint8

const (
	numInt     numKind = iota // -?digits
	numFloat                  // with fraction or exponent
	numSpecial                // NaN, Infinity, -Infinity, +INF ...
)

// scanNumber scans a JSON number (or a non-numeric number) at i.
func scanNumber(data []byte, i int) (end int, kind numKind, err *jsonSyntaxError) {
	start := i
	if e, ok := scanSpecialNumber(data, i); ok {
		return e, numSpecial, nil
	}
	if i < len(data) && data[i] == '-' {
		i++
	}
	if i >= len(data) {
		return 0, 0, syntaxErr(start, "invalid number")
	}
	switch c := data[i]; {
	case c == '0':
		i++
		if i < len(data) && data[i] >= '0' && data[i] <= '9' {
			return 0, 0, syntaxErr(start, "invalid number: leading zero")
		}
	case c >= '1' && c <= '9':
		i++
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	default:
		return 0, 0, syntaxErr(start, "invalid number")
	}
	kind = numInt
	if i < len(data) && data[i] == '.' {
		i++
		d := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		if i == d {
			return 0, 0, syntaxErr(start, "invalid number: no digits after '.'")
		}
		kind = numFloat
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		d := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		if i == d {
			return 0, 0, syntaxErr(start, "invalid number: no digits in exponent")
		}
		kind = numFloat
	}
	return i, kind, nil
}

var specialNumbers = []string{"NaN", "Infinity", "-Infinity", "+Infinity", "+INF", "-INF", "INF"}

func scanSpecialNumber(data []byte, i int) (int, bool) {
	if i >= len(data) {
		return 0, false
	}
	switch data[i] {
	case 'N', 'I', '-', '+':
	default:
		return 0, false
	}
	for _, s := range specialNumbers {
		if len(data)-i >= len(s) && string(data[i:i+len(s)]) == s {
			return i + len(s), true
		}
	}
	return 0, false
}

// specialFloat maps NaN/Infinity texts (also as JSON strings, like Spark).
func specialFloat(b []byte) (float64, bool) {
	switch string(b) {
	case "NaN":
		return math.NaN(), true
	case "Infinity", "+Infinity", "+INF", "INF":
		return math.Inf(1), true
	case "-Infinity", "-INF":
		return math.Inf(-1), true
	}
	return 0, false
}

func hasLiteral(data []byte, i int, lit string) bool {
	return len(data)-i >= len(lit) && string(data[i:i+len(lit)]) == lit
}

// skipValue validates and skips one JSON value at i.
func skipValue(data []byte, i, depth int) (int, *jsonSyntaxError) {
	if i >= len(data) {
		return 0, syntaxErr(i, "unexpected end of input, expected a value")
	}
	switch c := data[i]; c {
	case '"':
		e, _, err := scanString(data, i+1)
		if err != nil {
			return 0, err
		}
		return e + 1, nil
	case '{':
		if depth > maxJSONDepth {
			return 0, syntaxErr(i, "nesting too deep")
		}
		i = skipWS(data, i+1)
		if i < len(data) && data[i] == '}' {
			return i + 1, nil
		}
		for {
			if i >= len(data) || data[i] != '"' {
				return 0, syntaxErr(i, "expected a field name")
			}
			e, _, err := scanString(data, i+1)
			if err != nil {
				return 0, err
			}
			i = skipWS(data, e+1)
			if i >= len(data) || data[i] != ':' {
				return 0, syntaxErr(i, "expected ':' after a field name")
			}
			if i, err = skipValue(data, skipWS(data, i+1), depth+1); err != nil {
				return 0, err
			}
			i = skipWS(data, i)
			if i < len(data) && data[i] == ',' {
				i = skipWS(data, i+1)
				continue
			}
			if i < len(data) && data[i] == '}' {
				return i + 1, nil
			}
			return 0, syntaxErr(i, "expected ',' or '}' in an object")
		}
	case '[':
		if depth > maxJSONDepth {
			return 0, syntaxErr(i, "nesting too deep")
		}
		i = skipWS(data, i+1)
		if i < len(data) && data[i] == ']' {
			return i + 1, nil
		}
		for {
			var err *jsonSyntaxError
			if i, err = skipValue(data, i, depth+1); err != nil {
				return 0, err
			}
			i = skipWS(data, i)
			if i < len(data) && data[i] == ',' {
				i = skipWS(data, i+1)
				continue
			}
			if i < len(data) && data[i] == ']' {
				return i + 1, nil
			}
			return 0, syntaxErr(i, "expected ',' or ']' in an array")
		}
	case 't':
		if hasLiteral(data, i, "true") {
			return i + 4, nil
		}
	case 'f':
		if hasLiteral(data, i, "false") {
			return i + 5, nil
		}
	case 'n':
		if hasLiteral(data, i, "null") {
			return i + 4, nil
		}
	default:
		e, _, err := scanNumber(data, i)
		if err != nil {
			return 0, err
		}
		return e, nil
	}
	return 0, syntaxErr(i, "invalid literal")
}
