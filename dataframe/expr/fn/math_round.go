package fn

import (
	"crypto/rand"
	"encoding/binary"
	"math"
	"math/big"
	"strconv"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// round / bround, and rand / randn.

// roundMode picks how dropped digits round.
type roundMode uint8

const (
	roundHalfUp   roundMode = iota // away from zero at .5 (round)
	roundHalfEven                  // banker's (bround)
	roundDown                      // toward -infinity (floor)
	roundUp                        // toward +infinity (ceil)
)

func roundFloor(up bool) roundMode {
	if up {
		return roundUp
	}
	return roundDown
}

// roundDigits decides whether to add one to the kept digits: dropped holds
// the removed decimal digits (most significant first), lastKeptOdd the
// parity of the kept value, neg the sign.
func roundDigits(dropped string, lastKeptOdd, neg bool, mode roundMode) bool {
	nonZero := false
	for k := 0; k < len(dropped); k++ {
		if dropped[k] != '0' {
			nonZero = true
			break
		}
	}
	switch mode {
	case roundDown:
		return nonZero && neg
	case roundUp:
		return nonZero && !neg
	}
	if len(dropped) == 0 || dropped[0] < '5' {
		return false
	}
	if dropped[0] > '5' || mode == roundHalfUp {
		return true
	}
	for k := 1; k < len(dropped); k++ {
		if dropped[k] != '0' {
			return true
		}
	}
	return lastKeptOdd
}

// roundDouble rounds x to scale decimal places the way Spark does: through
// BigDecimal(Double.toString(x)), i.e. on the shortest decimal that prints
// as x (so round(2.675, 2) is 2.68, not 2.67).
func roundDouble(x float64, scale int, mode roundMode) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || x == 0 {
		return x
	}
	s := strconv.FormatFloat(math.Abs(x), 'e', -1, 64) // d.ddddde±XX
	mant, expPart := s, "0"
	for k := 0; k < len(s); k++ {
		if s[k] == 'e' {
			mant, expPart = s[:k], s[k+1:]
			break
		}
	}
	e, _ := strconv.Atoi(expPart)
	digits := make([]byte, 0, 17)
	for k := 0; k < len(mant); k++ {
		if mant[k] != '.' {
			digits = append(digits, mant[k])
		}
	}
	// |x| = digits * 10^exp10
	exp10 := e - (len(digits) - 1)
	drop := -exp10 - scale
	if drop <= 0 {
		return x
	}
	neg := x < 0
	var kept uint64
	keep := len(digits) - drop
	if keep > 0 {
		kept, _ = strconv.ParseUint(string(digits[:keep]), 10, 64)
	} else {
		keep = 0
	}
	dropped := string(digits[keep:])
	if drop > len(digits) {
		dropped = "0" + dropped // the first dropped digit is a leading zero
	}
	if roundDigits(dropped, kept%2 == 1, neg, mode) {
		kept++
	}
	if kept == 0 {
		return 0
	}
	out, _ := strconv.ParseFloat(strconv.FormatUint(kept, 10)+"e"+strconv.Itoa(-scale), 64)
	if neg {
		out = -out
	}
	return out
}

// roundInt rounds an integer to a negative scale (10^-scale multiples);
// overflow wraps as Spark's toLong/toInt.
func roundInt(x int64, scale int, mode roundMode) int64 {
	if scale >= 0 {
		return x
	}
	if scale < -18 {
		return 0
	}
	p := int64(1)
	for k := 0; k < -scale; k++ {
		p *= 10
	}
	q, r := x/p, x%p
	neg := x < 0
	ar := r
	if ar < 0 {
		ar = -ar
	}
	up := false
	switch mode {
	case roundDown:
		up = r != 0 && neg
	case roundUp:
		up = r != 0 && !neg
	default:
		up = 2*ar > p || 2*ar == p && (mode == roundHalfUp || q%2 != 0)
	}
	if up {
		if neg {
			q--
		} else {
			q++
		}
	}
	return q * p
}

var bigTen = big.NewInt(10)

// decimalRound rounds an unscaled decimal of scale s to newScale (which
// may be negative) and returns it unscaled at max(newScale, 0).
func decimalRound(x decimal128.Num, s int32, newScale int32, mode roundMode) decimal128.Num {
	if newScale >= s {
		return x
	}
	v := x.BigInt()
	div := new(big.Int).Exp(bigTen, big.NewInt(int64(s-newScale)), nil)
	q, r := new(big.Int).QuoRem(v, div, new(big.Int))
	neg := v.Sign() < 0
	r.Abs(r)
	up := false
	switch mode {
	case roundDown:
		up = r.Sign() != 0 && neg
	case roundUp:
		up = r.Sign() != 0 && !neg
	default:
		c := new(big.Int).Lsh(r, 1).Cmp(div)
		up = c > 0 || c == 0 && (mode == roundHalfUp || q.Bit(0) == 1)
	}
	if up {
		if neg {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	if newScale < 0 {
		q.Mul(q, new(big.Int).Exp(bigTen, big.NewInt(int64(-newScale)), nil))
	}
	return decimal128.FromBigInt(q)
}

// bindRound binds round (HALF_UP) and bround (HALF_EVEN). The scale must be
// a literal (as in Spark); the result keeps the input type, decimals get
// Spark's widened decimal type.
func bindRound(name string, halfEven bool) func(args []expr.Arg) (*expr.Binding, error) {
	mode := roundHalfUp
	if halfEven {
		mode = roundHalfEven
	}
	return func(args []expr.Arg) (*expr.Binding, error) {
		scale := int64(0)
		cast := make([]arrow.DataType, len(args))
		if len(args) == 2 {
			if args[1].Const == nil || !expr.IsInteger(args[1].Type) && !expr.IsNull(args[1].Type) {
				return nil, libArgErr(name, 1, "the scale must be an integer literal")
			}
			if args[1].Const.Value == nil {
				dt := args[0].Type
				if expr.IsNull(dt) {
					dt = expr.Float64
				}
				return &expr.Binding{Type: dt, Nullable: true, Cast: []arrow.DataType{nil, nil}, ConstArgs: true, Kernel: nullKernel(dt)}, nil
			}
			scale, _ = libConstInt(args[1].Const)
		}
		sc := int(max(min(scale, 100), -100))
		dt := args[0].Type
		switch {
		case expr.IsInteger(dt), expr.IsFloating(dt):
		case dt.ID() == arrow.DECIMAL128:
			d := dt.(*arrow.Decimal128Type)
			p, s := d.Precision, d.Scale
			var out *arrow.Decimal128Type
			if sc < 0 {
				out = &arrow.Decimal128Type{Precision: min(max(p-s+1, int32(-sc)+1), 38), Scale: 0}
			} else {
				ns := min(s, int32(sc))
				out = &arrow.Decimal128Type{Precision: min(p-s+1+ns, 38), Scale: ns}
			}
			b := &expr.Binding{Type: out, Nullable: args[0].Nullable, Cast: cast, ConstArgs: len(args) == 2 && args[0].Const == nil}
			b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
				return mapUnary(ec.Mem, out, a[0], func(x decimal128.Num) decimal128.Num {
					return decimalRound(x, s, int32(sc), mode)
				}), nil
			}
			return b, nil
		case expr.IsNull(dt), expr.IsString(dt):
			cast[0], dt = expr.Float64, expr.Float64
		default:
			return nil, libTypeErr(name, 0, "a number", dt)
		}
		b := &expr.Binding{Type: dt, Nullable: args[0].Nullable, Cast: cast, ConstArgs: len(args) == 2 && args[0].Const == nil}
		if libNullConst(args[0]) {
			b.Kernel = nullKernel(dt)
			return b, nil
		}
		b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
			m := ec.Mem
			switch dt.ID() {
			case arrow.INT8:
				return mapUnary(m, dt, a[0], func(x int8) int8 { return int8(roundInt(int64(x), sc, mode)) }), nil
			case arrow.INT16:
				return mapUnary(m, dt, a[0], func(x int16) int16 { return int16(roundInt(int64(x), sc, mode)) }), nil
			case arrow.INT32:
				return mapUnary(m, dt, a[0], func(x int32) int32 { return int32(roundInt(int64(x), sc, mode)) }), nil
			case arrow.INT64:
				return mapUnary(m, dt, a[0], func(x int64) int64 { return roundInt(x, sc, mode) }), nil
			case arrow.FLOAT32:
				return mapUnary(m, dt, a[0], func(x float32) float32 { return float32(roundDouble(float64(x), sc, mode)) }), nil
			}
			return mapUnary(m, dt, a[0], func(x float64) float64 { return roundDouble(x, sc, mode) }), nil
		}
		return b, nil
	}
}

// ---- rand / randn ----

// bindRand binds rand([seed]) / randn([seed]). Spark seeds an XORShift
// generator per partition; sluice has no partition index in the kernel,
// so a value is a hash of (seed, the call site's running row number): one
// query evaluated by one goroutine gives the same numbers for the same
// seed, while concurrent partitions draw distinct but schedule-dependent
// positions. Without a seed, one is drawn at bind time. Volatile, so never
// folded.
func bindRand(normal bool) func(args []expr.Arg) (*expr.Binding, error) {
	return func(args []expr.Arg) (*expr.Binding, error) {
		var seed uint64
		if len(args) == 1 {
			if args[0].Const == nil || !expr.IsInteger(args[0].Type) && !expr.IsNull(args[0].Type) {
				return nil, libArgErr("rand", 0, "the seed must be an integer literal")
			}
			v, _ := libConstInt(args[0].Const) // NULL seeds as 0, like Spark
			seed = uint64(v)
		} else {
			var b [8]byte
			_, _ = rand.Read(b[:])
			seed = binary.LittleEndian.Uint64(b[:])
		}
		var pos atomic.Uint64
		return &expr.Binding{Type: expr.Float64, Volatile: true, ConstArgs: len(args) == 1, Cast: make([]arrow.DataType, len(args)),
			Kernel: func(ec *expr.EvalContext, _ []arrow.Array, n int) (arrow.Array, error) {
				start := pos.Add(uint64(n)) - uint64(n)
				buf, out := allocFixed[float64](ec.Mem, n)
				for i := range out {
					p := start + uint64(i)
					u := unitFloat(splitmix64(seed ^ splitmix64(p)))
					if normal {
						// Box-Muller with a second independent draw.
						u2 := unitFloat(splitmix64(^seed ^ splitmix64(p+0x9e3779b97f4a7c15)))
						u = math.Sqrt(-2*math.Log(1-u)) * math.Cos(2*math.Pi*u2)
					}
					out[i] = u
				}
				return makeArray(expr.Float64, n, nil, 0, buf), nil
			}}, nil
	}
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// unitFloat maps 64 random bits to [0, 1).
func unitFloat(x uint64) float64 { return float64(x>>11) / (1 << 53) }
