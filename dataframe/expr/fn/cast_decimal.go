package fn

// Decimal helpers with Spark's rounding (HALF_UP) and overflow-to-NULL.

import (
	"math"
	"math/big"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// pow10i64 holds 10^0..10^18.
var pow10i64 = func() (t [19]int64) {
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 10
	}
	return
}()

// int64Of returns v as an int64 when it fits.
func int64Of(v decimal128.Num) (int64, bool) {
	hi, lo := v.HighBits(), v.LowBits()
	if (hi == 0 && lo <= math.MaxInt64) || (hi == -1 && lo > math.MaxInt64) {
		return int64(lo), true
	}
	return 0, false
}

// rescaleDecimal moves v from scale from to scale s, rounding HALF_UP, and
// reports false when the result does not fit precision p.
func rescaleDecimal(v decimal128.Num, from, p, s int32) (decimal128.Num, bool) {
	switch {
	case s > from:
		d := s - from
		if d > maxDecimalPrecision || p-d <= 0 {
			return decimal128.Num{}, v.Sign() == 0
		}
		if !v.FitsInPrecision(p - d) {
			return decimal128.Num{}, false
		}
		return v.Mul(decimal128.GetScaleMultiplier(int(d))), true
	case s < from:
		d := from - s
		if x, ok := int64Of(v); ok && d <= 18 {
			m := pow10i64[d]
			q, r := x/m, x%m
			if r >= (m+1)/2 {
				q++
			} else if r <= -(m+1)/2 {
				q--
			}
			v = decimal128.FromI64(q)
		} else if d > maxDecimalPrecision {
			v = decimal128.Num{}
		} else {
			v = v.ReduceScaleBy(d, true)
		}
	}
	if !v.FitsInPrecision(p) {
		return decimal128.Num{}, false
	}
	return v, true
}

// decimalTrunc drops the fraction of v (scale digits), rounding toward zero.
func decimalTrunc(v decimal128.Num, scale int32) decimal128.Num {
	if scale <= 0 {
		return v
	}
	if x, ok := int64Of(v); ok && scale <= 18 {
		return decimal128.FromI64(x / pow10i64[scale])
	}
	return v.ReduceScaleBy(scale, false)
}

// parseDecimal parses [+-]digits[.digits][e[+-]digits] (surrounding
// whitespace allowed) into a decimal(p,s), rounding HALF_UP; false when the
// text is not a number or the value does not fit.
func parseDecimal(b []byte, p, s int32) (decimal128.Num, bool) {
	b = trimSpace(b)
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		b = b[1:]
	}
	var digits [80]byte
	nd := 0
	frac := 0
	sawDigit, sawDot := false, false
	i := 0
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			sawDigit = true
			if sawDot {
				frac++
			}
			if nd == 0 && c == '0' {
				continue // leading zero
			}
			if nd == len(digits) {
				return decimal128.Num{}, false
			}
			digits[nd] = c
			nd++
		case c == '.' && !sawDot:
			sawDot = true
		default:
			goto exp
		}
	}
exp:
	if !sawDigit {
		return decimal128.Num{}, false
	}
	e := 0
	if i < len(b) {
		if b[i] != 'e' && b[i] != 'E' {
			return decimal128.Num{}, false
		}
		x, err := strconv.Atoi(string(b[i+1:]))
		if err != nil || x > 1000 || x < -1000 {
			return decimal128.Num{}, false
		}
		e = x
	}
	// value = digits * 10^(e - frac); we want digits' * 10^-s.
	shift := int(s) + e - frac // append zeros when > 0, drop digits when < 0
	ds := digits[:nd]
	roundUp := false
	if shift < 0 {
		drop := -shift
		if drop > nd {
			ds = ds[:0]
		} else {
			roundUp = ds[nd-drop] >= '5'
			ds = ds[:nd-drop]
		}
	}
	if len(ds)+max(shift, 0) > int(p)+1 {
		return decimal128.Num{}, false
	}
	var v decimal128.Num
	if len(ds)+max(shift, 0) <= 18 {
		var x int64
		for _, c := range ds {
			x = x*10 + int64(c-'0')
		}
		if shift > 0 {
			x *= pow10i64[shift]
		}
		if roundUp {
			x++
		}
		v = decimal128.FromI64(x)
	} else {
		var bi big.Int
		if len(ds) > 0 {
			bi.SetString(string(ds), 10)
		}
		if shift > 0 {
			bi.Mul(&bi, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(shift)), nil))
		}
		if roundUp {
			bi.Add(&bi, big.NewInt(1))
		}
		if bi.BitLen() > 127 {
			return decimal128.Num{}, false
		}
		v = decimal128.FromBigInt(&bi)
	}
	if !v.FitsInPrecision(p) {
		return decimal128.Num{}, false
	}
	if neg {
		v = v.Negate()
	}
	return v, true
}

// appendDecimal renders v with scale fraction digits (plain notation).
func appendDecimal(dst []byte, v decimal128.Num, scale int32) []byte {
	x, ok := int64Of(v)
	if !ok || scale > 18 || scale < 0 {
		return append(dst, v.ToString(scale)...)
	}
	if x < 0 {
		dst = append(dst, '-')
	}
	u := uint64(x)
	if x < 0 {
		u = uint64(-x)
	}
	if scale == 0 {
		return strconv.AppendUint(dst, u, 10)
	}
	m := uint64(pow10i64[scale])
	dst = strconv.AppendUint(dst, u/m, 10)
	dst = append(dst, '.')
	f := u % m
	var buf [20]byte
	fs := strconv.AppendUint(buf[:0], f, 10)
	for k := len(fs); k < int(scale); k++ {
		dst = append(dst, '0')
	}
	return append(dst, fs...)
}

// bigOf converts v to a big.Int.
func bigOf(v decimal128.Num) *big.Int { return v.BigInt() }

// decimalOfBig converts b to a decimal when it fits precision p.
func decimalOfBig(b *big.Int, p int32) (decimal128.Num, bool) {
	if b.BitLen() > 127 {
		return decimal128.Num{}, false
	}
	v := decimal128.FromBigInt(b)
	if !v.FitsInPrecision(p) {
		return decimal128.Num{}, false
	}
	return v, true
}

// trimSpace trims ASCII whitespace and control characters (Spark's trimAll).
func trimSpace(b []byte) []byte {
	for len(b) > 0 && b[0] <= ' ' {
		b = b[1:]
	}
	for len(b) > 0 && b[len(b)-1] <= ' ' {
		b = b[:len(b)-1]
	}
	return b
}
