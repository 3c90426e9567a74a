package expr

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// maxDecimalPrecision is Spark's (and decimal128's) limit.
const maxDecimalPrecision = 38

// numberLiteral types a numeric token the way Spark does:
//
//	123        int, or bigint when it does not fit, or decimal(p,0) beyond that
//	123L 12S 1Y bigint, smallint, tinyint (out of range is an error)
//	1.5 .5 1.  decimal(p,s) with p and s from the digits as written
//	1.5E3 1e3  double; 1.5D double; 1.5F float
//	1.5BD      decimal, exponent allowed
//
// neg folds a leading minus into the value before the range checks, so
// -2147483648 is an int.
func (p *Parser) numberLiteral(t Token, neg bool) (*Literal, error) {
	lit, msg := parseNumber(t.Text, neg)
	if msg != "" {
		return nil, p.ErrorAt(t, msg, "")
	}
	return lit, nil
}

func parseNumber(text string, neg bool) (*Literal, string) {
	lower := strings.ToLower(text)
	suffix := ""
	body := lower
	if strings.HasSuffix(lower, "bd") {
		suffix, body = "bd", lower[:len(lower)-2]
	} else if c := lower[len(lower)-1]; c >= 'a' && c <= 'z' {
		suffix, body = string(c), lower[:len(lower)-1]
	}
	sign := ""
	if neg {
		sign = "-"
	}
	whole := !strings.ContainsAny(body, ".e")
	shown := sign + text
	switch suffix {
	case "l", "s", "y":
		if !whole {
			return nil, "invalid number " + shown + ": the " + strings.ToUpper(suffix) + " suffix needs a whole number"
		}
		bits, name, rng := 64, "bigint", "[-9223372036854775808, 9223372036854775807]"
		if suffix == "s" {
			bits, name, rng = 16, "smallint", "[-32768, 32767]"
		} else if suffix == "y" {
			bits, name, rng = 8, "tinyint", "[-128, 127]"
		}
		v, err := strconv.ParseInt(sign+body, 10, bits)
		if err != nil {
			return nil, "numeric literal " + shown + " does not fit in range " + rng + " for type " + name
		}
		switch suffix {
		case "l":
			return &Literal{Value: v, Type: Int64}, ""
		case "s":
			return &Literal{Value: int16(v), Type: Int16}, ""
		}
		return &Literal{Value: int8(v), Type: Int8}, ""
	case "d", "f":
		bits, name := 64, "double"
		if suffix == "f" {
			bits, name = 32, "float"
		}
		v, err := strconv.ParseFloat(sign+body, bits)
		if err != nil || math.IsInf(v, 0) {
			return nil, "numeric literal " + shown + " does not fit in range for type " + name
		}
		if suffix == "f" {
			return &Literal{Value: float32(v), Type: Float32}, ""
		}
		return &Literal{Value: v, Type: Float64}, ""
	case "bd":
		return decimalLiteral(sign+body, shown)
	case "":
	default:
		return nil, "invalid number " + shown
	}
	switch {
	case strings.Contains(body, "e"):
		v, err := strconv.ParseFloat(sign+body, 64)
		if err != nil || math.IsInf(v, 0) {
			return nil, "numeric literal " + shown + " does not fit in range for type double"
		}
		return &Literal{Value: v, Type: Float64}, ""
	case strings.Contains(body, "."):
		return decimalLiteral(sign+body, shown)
	}
	if v, err := strconv.ParseInt(sign+body, 10, 64); err == nil {
		if v >= math.MinInt32 && v <= math.MaxInt32 {
			return &Literal{Value: int32(v), Type: Int32}, ""
		}
		return &Literal{Value: v, Type: Int64}, ""
	}
	return decimalLiteral(sign+body, shown)
}

// decimalLiteral makes a decimal literal from [-]digits[.digits][e[+-]n];
// precision and scale are those of the number as written (Spark's
// BigDecimal: 1.50 is decimal(3,2), .001 is decimal(3,3)). A negative scale
// (1E3BD) is normalised to 0.
func decimalLiteral(s, shown string) (*Literal, string) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	exp := 0
	if i := strings.IndexByte(s, 'e'); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 1000 || e < -1000 {
			return nil, "decimal literal " + shown + " is out of range"
		}
		exp = e
		s = s[:i]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	scale := len(frac) - exp
	if scale < 0 {
		if digits != "" {
			digits += strings.Repeat("0", -scale)
		}
		scale = 0
	}
	prec := max(len(digits), scale, 1)
	if prec > maxDecimalPrecision {
		return nil, "decimal literal " + shown + " needs precision " + strconv.Itoa(prec) +
			", more than the maximum 38; write it as a double (" + strings.TrimSuffix(strings.TrimSuffix(shown, "BD"), "bd") + "D)"
	}
	unscaled := new(big.Int)
	if digits != "" {
		unscaled.SetString(digits, 10)
	}
	if neg {
		unscaled.Neg(unscaled)
	}
	return &Literal{
		Value: decimal128.FromBigInt(unscaled),
		Type:  &arrow.Decimal128Type{Precision: int32(prec), Scale: int32(scale)},
	}, ""
}

// parseTypedLiteral parses DATE '...', TIMESTAMP '...', TIMESTAMP_LTZ and
// TIMESTAMP_NTZ '...'. Timestamps without a zone are read in UTC (sluice's
// session time zone); all three timestamp spellings give the same type.
// TIMESTAMP_NTZ ignores a zone in the text and keeps the wall-clock time,
// as Spark's string to timestamp_ntz conversion does.
func (p *Parser) parseTypedLiteral() (Expr, error) {
	kw := p.Next()
	s := p.Next()
	switch strings.ToUpper(kw.Value) {
	case "DATE":
		d, err := ParseDate(s.Value)
		if err != nil {
			return nil, p.ErrorAt(s, "invalid DATE literal '"+s.Value+"': "+err.Error(), "write DATE 'yyyy-mm-dd', e.g. DATE '2026-01-31'")
		}
		return &Literal{Value: d, Type: Date}, nil
	default:
		ts, err := parseTimestamp(s.Value, strings.EqualFold(kw.Value, "TIMESTAMP_NTZ"))
		if err != nil {
			return nil, p.ErrorAt(s, "invalid "+strings.ToUpper(kw.Value)+" literal '"+s.Value+"': "+err.Error(),
				"write TIMESTAMP 'yyyy-mm-dd hh:mm:ss[.ffffff][zone]', e.g. TIMESTAMP '2026-01-31 12:00:00'")
		}
		return &Literal{Value: ts, Type: Timestamp}, nil
	}
}
