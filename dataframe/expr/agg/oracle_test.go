package agg

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// The oracle test draws random columns (with NULLs, NaN, -0.0, empty
// strings), random group ids (some NoGroup) and random splits into
// partial aggregations, and compares every aggregate with a naive
// per-group Go implementation over engine values (expr.ValueAt).

type oracleCall struct {
	fn          string
	distinct    bool
	ignoreNulls *bool // first/last second argument
}

func oracleCalls(dt arrow.DataType) []oracleCall {
	t, f := true, false
	calls := []oracleCall{
		{fn: "count"}, {fn: "count", distinct: true}, {fn: "min"}, {fn: "max"},
		{fn: "first"}, {fn: "last"}, {fn: "first", ignoreNulls: &t}, {fn: "last", ignoreNulls: &t}, {fn: "last", ignoreNulls: &f},
		{fn: "collect_list"}, {fn: "collect_set"}, {fn: "approx_count_distinct"},
	}
	if expr.IsNumeric(dt) {
		calls = append(calls, oracleCall{fn: "sum"}, oracleCall{fn: "sum", distinct: true}, oracleCall{fn: "avg"},
			oracleCall{fn: "avg", distinct: true})
		if dt.ID() != arrow.DECIMAL128 {
			calls = append(calls, oracleCall{fn: "var_pop"}, oracleCall{fn: "var_samp"}, oracleCall{fn: "stddev_pop"},
				oracleCall{fn: "stddev_samp"}, oracleCall{fn: "var_samp", distinct: true})
		}
	}
	if dt.ID() == arrow.BOOL {
		calls = append(calls, oracleCall{fn: "bool_and"}, oracleCall{fn: "bool_or"}, oracleCall{fn: "count_if"})
	}
	return calls
}

var oracleTypes = []arrow.DataType{
	expr.Int64, expr.Int32, expr.Int8, expr.Float64, expr.Float32, expr.String, expr.Binary, expr.Boolean,
	expr.Date, expr.Timestamp, dec(12, 2),
}

// randomColumn builds n values of dt; nullRate of them NULL; few distinct
// values so DISTINCT and sets matter.
func randomColumn(mem memory.Allocator, rng *rand.Rand, dt arrow.DataType, n int, nullRate float64) arrow.Array {
	bld := array.NewBuilder(mem, dt)
	defer bld.Release()
	card := 1 + rng.IntN(12)
	for i := 0; i < n; i++ {
		if rng.Float64() < nullRate {
			bld.AppendNull()
			continue
		}
		v := rng.IntN(card) - card/2
		switch b := bld.(type) {
		case *array.Int64Builder:
			if rng.IntN(20) == 0 {
				b.Append(math.MaxInt64 - int64(rng.IntN(3)))
			} else {
				b.Append(int64(v) * 1000003)
			}
		case *array.Int32Builder:
			b.Append(int32(v) * 7919)
		case *array.Int8Builder:
			b.Append(int8(v * 9))
		case *array.Float64Builder:
			switch rng.IntN(30) {
			case 0:
				b.Append(math.NaN())
			case 1:
				b.Append(math.Copysign(0, -1))
			default:
				b.Append(float64(v) / 4)
			}
		case *array.Float32Builder:
			if rng.IntN(30) == 0 {
				b.Append(float32(math.NaN()))
			} else {
				b.Append(float32(v) / 8)
			}
		case *array.StringBuilder:
			b.Append(string(bytes.Repeat([]byte{byte('a' + v + card)}, (v+card)%4)))
		case *array.BinaryBuilder:
			b.Append(bytes.Repeat([]byte{byte(v)}, (v+card)%3))
		case *array.BooleanBuilder:
			b.Append(v%2 == 0)
		case *array.Date32Builder:
			b.Append(arrow.Date32(v * 365))
		case *array.TimestampBuilder:
			b.Append(arrow.Timestamp(int64(v) * 1_000_000_007))
		case *array.Decimal128Builder:
			b.Append(decimal128.FromI64(int64(v)*12345 + 1))
		}
	}
	return bld.NewArray()
}

func TestOracle(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(20260131, 7))
	for iter := 0; iter < 60; iter++ {
		dt := oracleTypes[iter%len(oracleTypes)]
		n := rng.IntN(200)
		if iter%11 == 0 {
			n = 0
		}
		groups := 1 + rng.IntN(12)
		nullRate := []float64{0, 0.3, 1}[rng.IntN(3)]
		col := randomColumn(mem, rng, dt, n, nullRate)
		gids := make([]uint32, n)
		for i := range gids {
			gids[i] = uint32(rng.IntN(groups))
			if rng.IntN(20) == 0 {
				gids[i] = expr.NoGroup
			}
		}
		vals := make([]any, n)
		for i := range vals {
			vals[i] = expr.ValueAt(col, i)
		}
		for _, call := range oracleCalls(dt) {
			name := fmt.Sprintf("iter %d %s(%s%s) n=%d groups=%d nulls=%v", iter, call.fn, map[bool]string{true: "DISTINCT "}[call.distinct], expr.TypeName(dt), n, groups, nullRate)
			want := oracle(call, dt, vals, gids, groups)
			got := runRandom(t, mem, rng, call, col, gids, groups)
			for g := range want {
				if !oracleEqual(call.fn, want[g], got[g]) {
					t.Fatalf("%s: group %d = %v, oracle says %v\ninput %v\ngids %v", name, g, got[g], want[g], vals, gids)
				}
			}
		}
		col.Release()
	}
}

// runRandom aggregates col through 1-3 partial accumulators fed in random
// sliced batches, merges their states (emitted in random group orders)
// into a final one, and returns its result per group.
func runRandom(t *testing.T, mem memory.Allocator, rng *rand.Rand, call oracleCall, col arrow.Array, gids []uint32, groups int) []any {
	t.Helper()
	f, ok := Lookup(call.fn)
	if !ok {
		t.Fatalf("%s not registered", call.fn)
	}
	args := []expr.Arg{{Type: col.DataType(), Nullable: true}}
	if call.ignoreNulls != nil {
		args = append(args, expr.Arg{Type: expr.Boolean, Const: expr.Lit(*call.ignoreNulls)})
	}
	b, err := f.Bind(args, call.distinct)
	if err != nil {
		t.Fatalf("%s: bind: %v", call.fn, err)
	}
	n := col.Len()
	feed := func(acc expr.Accumulator, lo, hi int) {
		acc.Resize(groups)
		for lo < hi {
			e := min(hi, lo+1+rng.IntN(50))
			cols := []arrow.Array{array.NewSlice(col, int64(lo), int64(e))}
			if call.ignoreNulls != nil {
				c, _ := expr.ConstArray(mem, *call.ignoreNulls, expr.Boolean, e-lo)
				cols = append(cols, c)
			}
			err := acc.Update(cols, gids[lo:e])
			releaseAll(cols)
			if err != nil {
				t.Fatalf("%s: update: %v", call.fn, err)
			}
			lo = e
		}
	}
	var final expr.Accumulator
	if rng.IntN(4) == 0 {
		final = b.New(mem)
		feed(final, 0, n)
	} else {
		k := 1 + rng.IntN(3)
		cuts := []int{0}
		for i := 1; i < k; i++ {
			cuts = append(cuts, rng.IntN(n+1))
		}
		slices.Sort(cuts)
		cuts = append(cuts, n)
		final = b.New(mem)
		final.Resize(groups)
		for i := 0; i < k; i++ {
			p := b.New(mem)
			feed(p, cuts[i], cuts[i+1])
			perm := rng.Perm(groups)
			sel := make([]uint32, groups)
			for j, g := range perm {
				sel[j] = uint32(g)
			}
			mergeInto(t, mem, b, p, final, groups, sel)
			p.Release()
		}
	}
	defer final.Release()
	// Result for a random permutation, then put the rows back in order.
	perm := rng.Perm(groups)
	sel := make([]uint32, groups)
	for j, g := range perm {
		sel[j] = uint32(g)
	}
	r := result(t, mem, final, groups, sel)
	defer r.Release()
	if !arrow.TypeEqual(r.DataType(), b.Type) {
		t.Fatalf("%s: result type %s, binding says %s", call.fn, r.DataType(), b.Type)
	}
	out := make([]any, groups)
	for j, g := range sel {
		out[g] = expr.ValueAt(r, j)
	}
	return out
}

// normKey makes a map key for DISTINCT: floats normalised, bytes as text.
func normKey(v any) any {
	switch x := v.(type) {
	case float64:
		if x != x {
			return "NaN"
		}
		if x == 0 {
			return 0.0
		}
	case float32:
		if x != x {
			return "NaN32"
		}
		if x == 0 {
			return float32(0)
		}
	case []byte:
		return string(x)
	}
	return v
}

func normValue(v any) any {
	switch x := v.(type) {
	case float64:
		if x == 0 {
			return 0.0
		}
	case float32:
		if x == 0 {
			return float32(0)
		}
	}
	return v
}

// oracle computes the expected result per group the slow, obvious way.
func oracle(call oracleCall, dt arrow.DataType, vals []any, gids []uint32, groups int) []any {
	per := make([][]any, groups) // all rows per group, NULLs included
	for i, g := range gids {
		if g != expr.NoGroup {
			per[g] = append(per[g], vals[i])
		}
	}
	out := make([]any, groups)
	for g, rows := range per {
		var nn []any // non-NULL values
		for _, v := range rows {
			if v != nil {
				nn = append(nn, v)
			}
		}
		if call.distinct || call.fn == "collect_set" || call.fn == "approx_count_distinct" {
			seen := map[any]bool{}
			var d []any
			for _, v := range nn {
				if k := normKey(v); !seen[k] {
					seen[k] = true
					d = append(d, normValue(v))
				}
			}
			nn = d
		}
		out[g] = oracleOne(call, dt, rows, nn)
	}
	return out
}

func oracleOne(call oracleCall, dt arrow.DataType, rows, nn []any) any {
	switch call.fn {
	case "count", "approx_count_distinct":
		return int64(len(nn))
	case "count_if":
		c := int64(0)
		for _, v := range nn {
			if v.(bool) {
				c++
			}
		}
		return c
	case "bool_and", "bool_or":
		if len(nn) == 0 {
			return nil
		}
		r := call.fn == "bool_and"
		for _, v := range nn {
			if call.fn == "bool_and" {
				r = r && v.(bool)
			} else {
				r = r || v.(bool)
			}
		}
		return r
	case "collect_list", "collect_set":
		if nn == nil {
			return []any{}
		}
		return nn
	case "first", "last":
		cand := rows
		if call.ignoreNulls != nil && *call.ignoreNulls {
			cand = nn
		}
		if len(cand) == 0 {
			return nil
		}
		if call.fn == "first" {
			return cand[0]
		}
		return cand[len(cand)-1]
	case "min", "max":
		if len(nn) == 0 {
			return nil
		}
		best := nn[0]
		for _, v := range nn[1:] {
			c := oracleCompare(v, best)
			if (call.fn == "min" && c < 0) || (call.fn == "max" && c > 0) {
				best = v
			}
		}
		return best
	}
	if len(nn) == 0 {
		return nil
	}
	if d, ok := dt.(*arrow.Decimal128Type); ok {
		sum := new(big.Int)
		for _, v := range nn {
			sum.Add(sum, v.(decimal128.Num).BigInt())
		}
		if call.fn == "sum" {
			return decimal128.FromBigInt(sum)
		}
		// avg: round half up at scale s+4
		q := new(big.Rat).SetFrac(new(big.Int).Mul(sum, big.NewInt(10000)), big.NewInt(int64(len(nn))))
		_ = d
		return decimal128.FromBigInt(roundHalfUp(q))
	}
	fs := make([]float64, len(nn))
	isInt := expr.IsInteger(dt)
	var isum int64
	for i, v := range nn {
		fs[i] = toFloat(v)
		if isInt {
			isum += toInt(v)
		}
	}
	switch call.fn {
	case "sum":
		if isInt {
			return isum
		}
		s := 0.0
		for _, f := range fs {
			s += f
		}
		return s
	case "avg":
		s := 0.0
		for _, f := range fs {
			s += f
		}
		return s / float64(len(fs))
	}
	// moments, two-pass
	mean := 0.0
	for _, f := range fs {
		mean += f
	}
	n := float64(len(fs))
	mean /= n
	m2 := 0.0
	for _, f := range fs {
		m2 += (f - mean) * (f - mean)
	}
	switch call.fn {
	case "var_pop":
		return m2 / n
	case "stddev_pop":
		return math.Sqrt(m2 / n)
	case "var_samp", "stddev_samp":
		if n < 2 {
			return nil
		}
		if call.fn == "var_samp" {
			return m2 / (n - 1)
		}
		return math.Sqrt(m2 / (n - 1))
	}
	panic("no oracle for " + call.fn)
}

func roundHalfUp(q *big.Rat) *big.Int {
	neg := q.Sign() < 0
	a := new(big.Rat).Abs(q)
	a.Add(a, big.NewRat(1, 2))
	r := new(big.Int).Quo(a.Num(), a.Denom())
	if neg {
		r.Neg(r)
	}
	return r
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case float32:
		return float64(x)
	}
	return float64(toInt(v))
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int64:
		return x
	}
	panic(fmt.Sprintf("not an integer: %T", v))
}

// oracleCompare orders engine values like Spark (NaN largest, bytes
// bytewise, false < true).
func oracleCompare(a, b any) int {
	switch x := a.(type) {
	case float64:
		y := b.(float64)
		switch {
		case x != x && y != y:
			return 0
		case x != x:
			return 1
		case y != y:
			return -1
		}
		return cmpOrdered(x, y)
	case float32:
		return oracleCompare(float64(x), float64(b.(float32)))
	case string:
		return cmpOrdered(x, b.(string))
	case []byte:
		return bytes.Compare(x, b.([]byte))
	case bool:
		return cmpOrdered(boolInt(x), boolInt(b.(bool)))
	case decimal128.Num:
		return x.Cmp(b.(decimal128.Num))
	case arrow.Date32:
		return cmpOrdered(x, b.(arrow.Date32))
	case arrow.Timestamp:
		return cmpOrdered(x, b.(arrow.Timestamp))
	}
	return cmpOrdered(toInt(a), toInt(b))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func cmpOrdered[T int | int64 | float64 | string | arrow.Date32 | arrow.Timestamp](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func oracleEqual(fn string, want, got any) bool {
	if fn == "approx_count_distinct" {
		w, g := want.(int64), got.(int64)
		return math.Abs(float64(w-g)) <= 0.15*float64(w)+1
	}
	if want == nil || got == nil {
		return want == nil && got == nil
	}
	switch w := want.(type) {
	case float64:
		g, ok := got.(float64)
		if !ok {
			return false
		}
		if w != w || g != g {
			return w != w && g != g
		}
		return math.Abs(w-g) <= 1e-9*math.Max(1, math.Abs(w))
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !oracleEqual(fn, w[i], g[i]) {
				return false
			}
		}
		return true
	case []byte:
		g, ok := got.([]byte)
		return ok && bytes.Equal(w, g)
	case float32:
		g, ok := got.(float32)
		return ok && (w == g || (w != w && g != g))
	}
	return want == got
}
