package agg

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

var approxCountDistinctFunc = &expr.AggFunction{
	Name:    "approx_count_distinct",
	MinArgs: 1, MaxArgs: 2,
	Usage: "approx_count_distinct(expr[, relativeSD])",
}

func init() { approxCountDistinctFunc.Bind = bindApproxCountDistinct }

const (
	hllVersion    = 1
	hllHeader     = 2 // version byte, precision byte
	hllMinP       = 4
	hllMaxP       = 18
	hllDefaultRSD = 0.05
)

var hllState = []arrow.Field{{Name: "hll", Type: expr.Binary}}

// hllPrecision is Spark's HyperLogLogPlusPlus choice of index bits for a
// relative standard deviation: p = ceil(2 * log2(1.106 / rsd)).
func hllPrecision(rsd float64) (int, error) {
	if !(rsd > 0) || math.IsInf(rsd, 0) {
		return 0, fmt.Errorf("%w: approx_count_distinct: relativeSD must be a positive number, got %v", expr.ErrType, rsd)
	}
	p := int(math.Ceil(2 * math.Log2(1.106/rsd)))
	if p < hllMinP {
		return 0, fmt.Errorf("%w: approx_count_distinct: relativeSD %v is too large; HyperLogLog++ needs at least 4 index bits, so use at most 0.39", expr.ErrType, rsd)
	}
	if p > hllMaxP {
		return 0, fmt.Errorf("%w: approx_count_distinct: relativeSD %v is too small; the smallest supported is 0.0022 (2^18 registers per group)", expr.ErrType, rsd)
	}
	return p, nil
}

// bindApproxCountDistinct: a HyperLogLog sketch per group, one register
// byte per bucket. The state is one binary value per group (version,
// precision, registers) so it shuffles, persists in streaming state and
// merges by register-wise max. DISTINCT changes nothing.
func bindApproxCountDistinct(args []expr.Arg, _ bool) (*expr.AggBinding, error) {
	f := approxCountDistinctFunc
	if err := checkArity(f, args); err != nil {
		return nil, err
	}
	rsd := hllDefaultRSD
	if len(args) == 2 {
		a := args[1]
		if a.Const == nil || !expr.IsNumeric(a.Type) {
			return nil, fmt.Errorf("%w: argument 2 of %s (relativeSD) must be a numeric literal such as 0.05, got %s", expr.ErrType, f.Name, expr.TypeName(a.Type))
		}
		v, ok := literalFloat(a.Const)
		if !ok {
			return nil, fmt.Errorf("%w: argument 2 of %s (relativeSD) must not be NULL", expr.ErrType, f.Name)
		}
		rsd = v
	}
	p, err := hllPrecision(rsd)
	if err != nil {
		return nil, err
	}
	types, cast := prepare(args[:1])
	if cast != nil {
		cast = append(cast, nil)[:len(args)]
	}
	k, ok := kindOf(types[0])
	if !ok {
		return nil, argTypeErr(f.Name, 0, "a supported type", types[0])
	}
	nargs := len(args)
	return &expr.AggBinding{Type: expr.Int64, Cast: cast, State: hllState,
		New: func(mem memory.Allocator) expr.Accumulator {
			return &hllAcc{nargs: nargs, k: k, p: uint8(p), m: 1 << p, regs: newVec[uint8](mem)}
		}}, nil
}

func literalFloat(l *expr.Literal) (float64, bool) {
	switch v := l.Value.(type) {
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case int8:
		return float64(v), true
	case int16:
		return float64(v), true
	case int32:
		return float64(v), true
	case int64:
		return float64(v), true
	case interface{ ToFloat64(int32) float64 }:
		if d, ok := l.Type.(*arrow.Decimal128Type); ok {
			return v.ToFloat64(d.Scale), true
		}
	}
	return 0, false
}

type hllAcc struct {
	nargs  int
	k      kind
	p      uint8
	m      int
	regs   vec[uint8] // m registers per group
	groups int
	hs     []uint64
	u8     []uint8
	u32    []uint32
	u64    []uint64
	enc    []byte
}

func (h *hllAcc) Resize(n int) {
	if n > h.groups {
		h.regs.resize(n * h.m)
		h.groups = n
	}
}

// hashes computes one 64-bit hash per row (NULL rows get garbage).
func (h *hllAcc) hashes(a arrow.Array) []uint64 {
	switch h.k.phys {
	case physNull:
		h.hs = growU64(h.hs, a.Len())
	case physBool:
		h.u8 = boolBytes(a, h.u8)
		h.hs = hashUints(h.u8, h.hs)
	case phys1:
		h.hs = hashUints(fixedValues[uint8](a), h.hs)
	case phys2:
		h.hs = hashUints(fixedValues[uint16](a), h.hs)
	case phys4:
		keys := fixedValues[uint32](a)
		if h.k.float != 0 {
			h.u32 = readNormF32(a, h.u32)
			keys = h.u32
		}
		h.hs = hashUints(keys, h.hs)
	case phys8:
		keys := fixedValues[uint64](a)
		if h.k.float != 0 {
			h.u64 = readNormF64(a, h.u64)
			keys = h.u64
		}
		h.hs = hashUints(keys, h.hs)
	case phys16:
		h.hs = hashU128(fixedValues[u128](a), h.hs)
	case physBytes:
		offs, data := binaryParts(a)
		h.hs = growU64(h.hs, a.Len())
		for i := range h.hs {
			h.hs[i] = hashBytes(data[offs[i]:offs[i+1]])
		}
	default:
		h.hs = growU64(h.hs, a.Len())
		for i := range h.hs {
			if a.IsValid(i) {
				h.enc = encodeRow(h.enc[:0], a, i, true)
				h.hs[i] = hashBytes(h.enc)
			}
		}
	}
	return h.hs
}

func (h *hllAcc) Update(args []arrow.Array, gids []uint32) error {
	if err := checkArgs(approxCountDistinctFunc.Name, args, h.nargs, gids); err != nil {
		return err
	}
	a := args[0]
	if h.k.phys == physNull {
		return nil
	}
	hs := h.hashes(a)
	bm, off := nullBits(a)
	regs, m, p := h.regs.s, h.m, h.p
	shift := 64 - p
	pad := uint64(1) << (p - 1)
	for i, g := range gids {
		if g == expr.NoGroup || (bm != nil && !bitSet(bm, off+i)) {
			continue
		}
		x := hs[i]
		// The top p bits pick the register; the rank is the position of the
		// first 1 in the rest (pad caps it at 64-p+1).
		r := &regs[int(g)*m+int(x>>shift)]
		if rho := uint8(bits.LeadingZeros64(x<<p|pad) + 1); rho > *r {
			*r = rho
		}
	}
	return nil
}

func (h *hllAcc) MergeState(state []arrow.Array, gids []uint32) error {
	if err := checkState(approxCountDistinctFunc.Name, state, hllState, gids); err != nil {
		return err
	}
	col := state[0].(*array.Binary)
	regs, m := h.regs.s, h.m
	maxRank := 64 - h.p + 1
	for i, g := range gids {
		if g == expr.NoGroup || col.IsNull(i) {
			continue
		}
		v := col.Value(i)
		if len(v) != hllHeader+m || v[0] != hllVersion || v[1] != h.p {
			return fmt.Errorf("%w: approx_count_distinct: state row %d is not a precision-%d sketch (%d bytes); was the query's relativeSD changed?", expr.ErrType, i, h.p, len(v))
		}
		src := v[hllHeader:]
		for _, r := range src {
			if r > maxRank {
				return fmt.Errorf("%w: approx_count_distinct: state row %d holds register value %d, above the maximum %d for precision %d", expr.ErrType, i, r, maxRank, h.p)
			}
		}
		dst := regs[int(g)*m : int(g+1)*m]
		for j, r := range src {
			if r > dst[j] {
				dst[j] = r
			}
		}
	}
	return nil
}

func (h *hllAcc) State(mem memory.Allocator, n int, sel []uint32) ([]arrow.Array, error) {
	if err := checkEmit(approxCountDistinctFunc.Name, n, h.groups, sel); err != nil {
		return nil, err
	}
	k := outLen(n, sel)
	size := hllHeader + h.m
	if int64(k)*int64(size) > math.MaxInt32 {
		return nil, fmt.Errorf("%w: approx_count_distinct: the state of %d groups exceeds 2 GiB; emit fewer groups at a time", expr.ErrType, k)
	}
	ob := memory.NewResizableBuffer(mem)
	ob.Resize((k + 1) * 4)
	offs := arrow.Int32Traits.CastFromBytes(ob.Bytes())
	db := memory.NewResizableBuffer(mem)
	db.Resize(k * size)
	data := db.Bytes()
	for j := 0; j < k; j++ {
		g := int(groupAt(sel, j))
		offs[j] = int32(j * size)
		row := data[j*size : (j+1)*size]
		row[0], row[1] = hllVersion, h.p
		copy(row[hllHeader:], h.regs.s[g*h.m:(g+1)*h.m])
	}
	offs[k] = int32(k * size)
	return []arrow.Array{makeArray(expr.Binary, k, []*memory.Buffer{nil, ob, db}, nil, 0)}, nil
}

func (h *hllAcc) Result(mem memory.Allocator, n int, sel []uint32) (arrow.Array, error) {
	if err := checkEmit(approxCountDistinctFunc.Name, n, h.groups, sel); err != nil {
		return nil, err
	}
	k := outLen(n, sel)
	out := make([]int64, k)
	for j := range out {
		g := int(groupAt(sel, j))
		out[j] = int64(math.Round(hllEstimate(h.regs.s[g*h.m:(g+1)*h.m], int(h.p))))
	}
	return emitFixed(mem, expr.Int64, out, nil, k, nil), nil
}

func (h *hllAcc) Reset()   { clear(h.regs.s) }
func (h *hllAcc) Release() { h.regs.release() }

// hllEstimate is Ertl's improved raw estimator ("New cardinality
// estimation algorithms for HyperLogLog sketches", 2017). It is unbiased
// from 0 to far beyond 2^32 without HLL++'s empirical bias tables: the
// sigma term plays linear counting's part for small cardinalities and tau
// corrects for saturated registers.
func hllEstimate(regs []uint8, p int) float64 {
	m := float64(len(regs))
	q := 64 - p
	var c [66]int
	for _, r := range regs {
		c[r]++
	}
	if c[0] == len(regs) {
		return 0
	}
	z := m * hllTau(1-float64(c[q+1])/m)
	for k := q; k >= 1; k-- {
		z = 0.5 * (z + float64(c[k]))
	}
	z += m * hllSigma(float64(c[0])/m)
	return m * m / (2 * math.Ln2 * z)
}

func hllSigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		prev := z
		z += x * y
		y += y
		if z == prev {
			return z
		}
	}
}

func hllTau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		prev := z
		y *= 0.5
		z -= (1 - x) * (1 - x) * y
		if z == prev {
			return z / 3
		}
	}
}
