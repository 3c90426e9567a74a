package fn

// Conditional functions. Each decides, per row, which argument supplies the
// result (a "pick" vector), then one typed gather builds the output; branch
// results are cast to their common type (Spark's findWiderCommonType).

import (
	"bytes"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

var conditionalFuncs = []*expr.Function{
	{Name: "casewhen", MinArgs: 2, MaxArgs: -1, Usage: "CASE WHEN cond THEN value [...] [ELSE value] END", Bind: bindCaseWhen},
	{Name: "if", Aliases: []string{"iff"}, MinArgs: 3, MaxArgs: 3, Usage: "if(cond, then, else)", Bind: bindCaseWhen},
	{Name: "coalesce", MinArgs: 1, MaxArgs: -1, Usage: "coalesce(expr1, expr2, ...)", Bind: bindCoalesce("coalesce")},
	{Name: "nvl", Aliases: []string{"ifnull"}, MinArgs: 2, MaxArgs: 2, Usage: "nvl(expr1, expr2)", Bind: bindCoalesce("nvl")},
	{Name: "nvl2", MinArgs: 3, MaxArgs: 3, Usage: "nvl2(expr1, expr2, expr3)", Bind: bindNvl2},
	{Name: "nullif", MinArgs: 2, MaxArgs: 2, Usage: "nullif(expr1, expr2)", Bind: bindNullIf},
	{Name: "greatest", MinArgs: 2, MaxArgs: -1, Usage: "greatest(expr1, expr2, ...)", Bind: bindExtremum("greatest", true)},
	{Name: "least", MinArgs: 2, MaxArgs: -1, Usage: "least(expr1, expr2, ...)", Bind: bindExtremum("least", false)},
	{Name: "isnan", MinArgs: 1, MaxArgs: 1, Usage: "isnan(expr)", Bind: bindIsNaN},
	{Name: "nanvl", MinArgs: 2, MaxArgs: 2, Usage: "nanvl(expr1, expr2)", Bind: bindNanvl},
}

// commonOf is the common type of some arguments (by index), NULL -> int.
func commonOf(name string, args []expr.Arg, idx []int) (arrow.DataType, error) {
	types := make([]arrow.DataType, len(idx))
	for k, i := range idx {
		types[k] = args[i].Type
	}
	t, ok := commonTypeOf(types)
	if !ok {
		return nil, opTypeErr(name, args, "the result arguments have no common type; cast them to one type")
	}
	return t, nil
}

// bindCaseWhen binds CASE WHEN c1 THEN v1 ... [ELSE e] END (and if(c, a, b)).
func bindCaseWhen(args []expr.Arg) (*expr.Binding, error) {
	name := "casewhen"
	if len(args) == 3 {
		name = "if"
	}
	var valIdx []int
	targets := make([]arrow.DataType, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		switch canonical(args[i].Type).ID() {
		case arrow.BOOL, arrow.NULL:
			targets[i] = expr.Boolean
		default:
			return nil, opTypeErr(name, args, "condition "+itoa(i/2+1)+" must be boolean, not "+expr.TypeName(args[i].Type))
		}
		valIdx = append(valIdx, i+1)
	}
	hasElse := len(args)%2 == 1
	if hasElse {
		valIdx = append(valIdx, len(args)-1)
	}
	rt, err := commonOf(name, args, valIdx)
	if err != nil {
		return nil, err
	}
	for _, i := range valIdx {
		targets[i] = rt
	}
	o, err := coerce(args, targets)
	if err != nil {
		return nil, err
	}
	nullable := !hasElse
	for _, i := range valIdx {
		nullable = nullable || args[i].Nullable || args[i].Type.ID() == arrow.NULL || (args[i].Const != nil && args[i].Const.Value == nil)
	}
	k := func(ec *expr.EvalContext, arrs []arrow.Array, n int) (arrow.Array, error) {
		// Walk the conditions last to first so the first true one wins;
		// each pass is a branch-free select.
		pick := make([]int32, n)
		rest := int32(-1)
		if hasElse {
			rest = int32(len(arrs) - 1)
		}
		for i := range pick {
			pick[i] = rest
		}
		for c := (len(arrs)/2)*2 - 2; c >= 0; c -= 2 {
			cond, lit := arrs[c], o.consts[c]
			v := int32(c + 1)
			if cond == nil {
				if lit.Value != nil && lit.Value.(bool) {
					for i := range pick {
						pick[i] = v
					}
				}
				continue
			}
			bits, off := boolBits(cond)
			vb, voff := validBits(cond)
			switch {
			case vb == nil:
				for i := range pick {
					j := off + i
					t := int32(bits[j>>3]>>(j&7)) & 1
					pick[i] += t * (v - pick[i])
				}
			case len(vb) > 0:
				for i := range pick {
					j, k := off+i, voff+i
					t := int32(bits[j>>3]>>(j&7)&(vb[k>>3]>>(k&7))) & 1
					pick[i] += t * (v - pick[i])
				}
			}
		}
		// Only value positions are sources; conditions are not of type rt.
		srcs := make([]arrow.Array, len(arrs))
		lits := make([]*expr.Literal, len(arrs))
		for _, v := range valIdx {
			srcs[v], lits[v] = arrs[v], o.consts[v]
		}
		return choose(ec.Mem, rt, n, pick, srcs, lits)
	}
	return &expr.Binding{Type: rt, Nullable: nullable, Cast: o.casts, ConstArgs: o.anyConst, Kernel: k}, nil
}

func itoa(i int) string {
	var b [20]byte
	p := len(b)
	for {
		p--
		b[p] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[p:])
		}
	}
}

// bindCoalesce binds coalesce / nvl: the first non-NULL argument.
func bindCoalesce(name string) func(args []expr.Arg) (*expr.Binding, error) {
	return func(args []expr.Arg) (*expr.Binding, error) {
		idx := make([]int, len(args))
		for i := range idx {
			idx[i] = i
		}
		rt, err := commonOf(name, args, idx)
		if err != nil {
			return nil, err
		}
		targets := make([]arrow.DataType, len(args))
		for i := range targets {
			targets[i] = rt
		}
		o, err := coerce(args, targets)
		if err != nil {
			return nil, err
		}
		nullable := true
		for i, a := range args {
			if !a.Nullable && a.Type.ID() != arrow.NULL && !(o.consts[i] != nil && o.consts[i].Value == nil) {
				nullable = false
			}
		}
		k := func(ec *expr.EvalContext, arrs []arrow.Array, n int) (arrow.Array, error) {
			pick := make([]int32, n)
			for i := range pick {
				pick[i] = -1
			}
			for s := len(arrs) - 1; s >= 0; s-- { // last wins, so walk backwards
				if arrs[s] == nil {
					if o.consts[s].Value != nil {
						for i := range pick {
							pick[i] = int32(s)
						}
					}
					continue
				}
				vb, off := validBits(arrs[s])
				for i := range pick {
					if vb == nil || (len(vb) > 0 && bitutil.BitIsSet(vb, off+i)) {
						pick[i] = int32(s)
					}
				}
			}
			return choose(ec.Mem, rt, n, pick, arrs, o.consts)
		}
		return &expr.Binding{Type: rt, Nullable: nullable, Cast: o.casts, ConstArgs: o.anyConst, Kernel: k}, nil
	}
}

// bindNvl2 binds nvl2(a, b, c): b when a is not NULL, else c.
func bindNvl2(args []expr.Arg) (*expr.Binding, error) {
	rt, err := commonOf("nvl2", args, []int{1, 2})
	if err != nil {
		return nil, err
	}
	o, err := coerce(args, []arrow.DataType{nil, rt, rt})
	if err != nil {
		return nil, err
	}
	o.casts[0] = nil // only tested for NULL
	k := func(ec *expr.EvalContext, arrs []arrow.Array, n int) (arrow.Array, error) {
		pick := make([]int32, n)
		var vb []byte
		var off int
		if arrs[0] != nil {
			vb, off = validBits(arrs[0])
		} else if o.consts[0].Value == nil {
			vb = []byte{}
		}
		for i := range pick {
			if vb == nil || (len(vb) > 0 && bitutil.BitIsSet(vb, off+i)) {
				pick[i] = 1
			} else {
				pick[i] = 2
			}
		}
		return choose(ec.Mem, rt, n, pick, []arrow.Array{nil, arrs[1], arrs[2]}, []*expr.Literal{nil, o.consts[1], o.consts[2]})
	}
	return &expr.Binding{Type: rt, Nullable: anyNullable(args[1:]), Cast: o.casts, ConstArgs: o.anyConst, Kernel: k}, nil
}

// bindNullIf binds nullif(a, b): NULL when a = b, else a (in a's type).
func bindNullIf(args []expr.Arg) (*expr.Binding, error) {
	ct, ok := compareType(args)
	if !ok {
		return nil, opTypeErr("nullif", args, "the operands have no common type; cast one side")
	}
	if ct.ID() == arrow.NULL {
		ct = expr.Int32
	}
	rt := canonical(args[0].Type)
	o, err := coerce(args, []arrow.DataType{rt, ct})
	if err != nil {
		return nil, err
	}
	// Compare a (cast to ct inside the kernel) with b.
	cmpOps := &operands{types: []arrow.DataType{ct, ct}, consts: []*expr.Literal{nil, o.consts[1]}}
	if o.consts[0] != nil {
		l, err := castLiteral(o.consts[0], ct)
		if err != nil {
			return nil, err
		}
		cmpOps.consts[0] = l
	}
	eq := compareKernel(opEq, ct, cmpOps, -1)
	toCT, err := castFunc(rt, ct)
	if err != nil {
		return nil, err
	}
	k := func(ec *expr.EvalContext, arrs []arrow.Array, n int) (arrow.Array, error) {
		a := arrs[0]
		if a != nil && !arrow.TypeEqual(rt, ct) {
			conv, err := toCT(ec.Mem, a)
			if err != nil {
				return nil, err
			}
			defer conv.Release()
			a = conv
		}
		var r arrow.Array
		if (cmpOps.consts[0] != nil && cmpOps.consts[0].Value == nil) || (o.consts[1] != nil && o.consts[1].Value == nil) {
			r = array.MakeArrayOfNull(ec.Mem, expr.Boolean, n)
		} else {
			var err error
			if r, err = eq(ec, []arrow.Array{a, arrs[1]}, n); err != nil {
				return nil, err
			}
		}
		defer r.Release()
		bits, off := boolBits(r)
		pick := make([]int32, n)
		for i := range pick {
			if r.IsValid(i) && bitutil.BitIsSet(bits, off+i) {
				pick[i] = -1
			}
		}
		return choose(ec.Mem, rt, n, pick, arrs[:1], o.consts[:1])
	}
	return &expr.Binding{Type: rt, Nullable: true, Cast: o.casts, ConstArgs: o.anyConst, Kernel: k}, nil
}

// bindExtremum binds greatest / least: NULLs are skipped; NULL only when
// every argument is NULL. NaN is the largest value.
func bindExtremum(name string, greatest bool) func(args []expr.Arg) (*expr.Binding, error) {
	return func(args []expr.Arg) (*expr.Binding, error) {
		idx := make([]int, len(args))
		for i := range idx {
			idx[i] = i
		}
		rt, err := commonOf(name, args, idx)
		if err != nil {
			return nil, err
		}
		switch rt.ID() {
		case arrow.LIST, arrow.STRUCT, arrow.MAP, arrow.INTERVAL_MONTH_DAY_NANO:
			return nil, opTypeErr(name, args, "arguments must be orderable, not "+expr.TypeName(rt))
		}
		targets := make([]arrow.DataType, len(args))
		for i := range targets {
			targets[i] = rt
		}
		o, err := coerce(args, targets)
		if err != nil {
			return nil, err
		}
		nullable := true
		for _, a := range args {
			if !a.Nullable && a.Type.ID() != arrow.NULL && (a.Const == nil || a.Const.Value != nil) {
				nullable = false
			}
		}
		k := func(ec *expr.EvalContext, arrs []arrow.Array, n int) (arrow.Array, error) {
			cmp := rowComparator(rt, arrs, o.consts)
			valid := make([]func(i int) bool, len(arrs))
			for s := range arrs {
				valid[s] = validAt(arrs[s], o.consts[s])
			}
			pick := make([]int32, n)
			for i := range pick {
				best := int32(-1)
				for s := range arrs {
					if !valid[s](i) {
						continue
					}
					if best < 0 {
						best = int32(s)
						continue
					}
					c := cmp(s, int(best), i)
					if (greatest && c > 0) || (!greatest && c < 0) {
						best = int32(s)
					}
				}
				pick[i] = best
			}
			return choose(ec.Mem, rt, n, pick, arrs, o.consts)
		}
		return &expr.Binding{Type: rt, Nullable: nullable, Cast: o.casts, ConstArgs: o.anyConst, Kernel: k}, nil
	}
}

// validAt reports whether source s is non-NULL at row i.
func validAt(a arrow.Array, lit *expr.Literal) func(i int) bool {
	if a == nil {
		ok := lit != nil && lit.Value != nil
		return func(int) bool { return ok }
	}
	vb, off := validBits(a)
	switch {
	case vb == nil:
		return func(int) bool { return true }
	case len(vb) == 0:
		return func(int) bool { return false }
	}
	return func(i int) bool { return bitutil.BitIsSet(vb, off+i) }
}

// rowComparator returns cmp(s, t, i): source s against source t at row i.
func rowComparator(rt arrow.DataType, arrs []arrow.Array, consts []*expr.Literal) func(s, t, i int) int {
	switch rt.ID() {
	case arrow.INT8:
		return orderedRows[int8](arrs, consts)
	case arrow.INT16:
		return orderedRows[int16](arrs, consts)
	case arrow.INT32, arrow.DATE32:
		return orderedRows[int32](arrs, consts)
	case arrow.INT64, arrow.TIMESTAMP:
		return orderedRows[int64](arrs, consts)
	case arrow.FLOAT32:
		return orderedRows[float32](arrs, consts)
	case arrow.FLOAT64:
		return orderedRows[float64](arrs, consts)
	case arrow.DECIMAL128:
		get := fixedGetters[decimal128.Num](arrs, consts)
		return func(s, t, i int) int { return get[s](i).Cmp(get[t](i)) }
	case arrow.BOOL:
		get := make([]func(int) bool, len(arrs))
		for k, a := range arrs {
			if a == nil {
				v := litBool(consts[k])
				get[k] = func(int) bool { return v }
				continue
			}
			bits, off := boolBits(a)
			get[k] = func(i int) bool { return bitutil.BitIsSet(bits, off+i) }
		}
		return func(s, t, i int) int {
			x, y := get[s](i), get[t](i)
			switch {
			case x == y:
				return 0
			case x:
				return 1
			}
			return -1
		}
	case arrow.STRING, arrow.BINARY:
		get := bytesGetters(arrs, consts)
		return func(s, t, i int) int { return bytes.Compare(get[s](i), get[t](i)) }
	}
	return func(s, t, i int) int { return 0 }
}

func orderedRows[T ordered](arrs []arrow.Array, consts []*expr.Literal) func(s, t, i int) int {
	get := fixedGetters[T](arrs, consts)
	return func(s, t, i int) int { return sparkCompare(get[s](i), get[t](i)) }
}

// fixedGetters returns per-source row readers (constants for literals).
func fixedGetters[T fixed](arrs []arrow.Array, consts []*expr.Literal) []func(int) T {
	get := make([]func(int) T, len(arrs))
	for k, a := range arrs {
		if a == nil {
			var v T
			if consts[k] != nil {
				v, _ = constOf[T](consts[k].Value)
			}
			get[k] = func(int) T { return v }
			continue
		}
		x := values[T](a)
		get[k] = func(i int) T { return x[i] }
	}
	return get
}

// bytesGetters returns per-source row readers for strings and binary.
func bytesGetters(arrs []arrow.Array, consts []*expr.Literal) []func(int) []byte {
	get := make([]func(int) []byte, len(arrs))
	for k, a := range arrs {
		if a == nil {
			var v []byte
			if consts[k] != nil {
				v = litBytes(consts[k].Value)
			}
			get[k] = func(int) []byte { return v }
			continue
		}
		offs, data := stringData(a)
		get[k] = func(i int) []byte { return data[offs[i]:offs[i+1]] }
	}
	return get
}

// bindIsNaN binds isnan(x): true for NaN, false otherwise (NULL included).
func bindIsNaN(args []expr.Arg) (*expr.Binding, error) {
	t := canonical(args[0].Type)
	switch {
	case t.ID() == arrow.FLOAT32 || t.ID() == arrow.FLOAT64:
	case expr.IsNumeric(t) || t.ID() == arrow.NULL || t.ID() == arrow.STRING:
		t = expr.Float64
	default:
		return nil, opTypeErr("isnan", args, "needs a numeric operand")
	}
	o, err := coerce(args, []arrow.DataType{t})
	if err != nil {
		return nil, err
	}
	k := func(ec *expr.EvalContext, arrs []arrow.Array, n int) (arrow.Array, error) {
		a := arrs[0]
		if a == nil {
			v := false
			if l := o.consts[0]; l != nil && l.Value != nil {
				f, _ := constOf[float64](l.Value)
				v = math.IsNaN(f)
			}
			return constBoolKernel(v)(ec, nil, n)
		}
		var r arrow.Array
		if t.ID() == arrow.FLOAT32 {
			r = boolFrom(ec.Mem, a, func(i int, v []float32) bool { return v[i] != v[i] })
		} else {
			r = boolFrom(ec.Mem, a, func(i int, v []float64) bool { return v[i] != v[i] })
		}
		if r.NullN() == 0 {
			return r, nil
		}
		// NULL is not NaN: drop the validity and clear NULL rows.
		defer r.Release()
		bb, bits := allocBits(ec.Mem, n)
		src, off := boolBits(r)
		for i := 0; i < n; i++ {
			if r.IsValid(i) && bitutil.BitIsSet(src, off+i) {
				bitutil.SetBit(bits, i)
			}
		}
		return makeArray(expr.Boolean, n, nil, 0, bb), nil
	}
	return &expr.Binding{Type: expr.Boolean, Cast: o.casts, ConstArgs: o.anyConst, Kernel: k}, nil
}

// bindNanvl binds nanvl(a, b): b when a is NaN, else a.
func bindNanvl(args []expr.Arg) (*expr.Binding, error) {
	rt := arrow.DataType(expr.Float64)
	a, b := canonical(args[0].Type), canonical(args[1].Type)
	for _, t := range []arrow.DataType{a, b} {
		if !expr.IsNumeric(t) && t.ID() != arrow.NULL && t.ID() != arrow.STRING {
			return nil, opTypeErr("nanvl", args, "needs numeric operands")
		}
	}
	if (a.ID() == arrow.FLOAT32 || a.ID() == arrow.NULL) && (b.ID() == arrow.FLOAT32 || b.ID() == arrow.NULL) && !(a.ID() == arrow.NULL && b.ID() == arrow.NULL) {
		rt = expr.Float32
	}
	o, err := coerce(args, []arrow.DataType{rt, rt})
	if err != nil {
		return nil, err
	}
	k := func(ec *expr.EvalContext, arrs []arrow.Array, n int) (arrow.Array, error) {
		pick := make([]int32, n)
		isNaN := func(i int) bool { return false }
		if arrs[0] == nil {
			v := 0.0
			if l := o.consts[0]; l.Value != nil {
				v, _ = constOf[float64](l.Value)
			}
			isNaN = func(int) bool { return v != v }
		} else if rt.ID() == arrow.FLOAT32 {
			x := values[float32](arrs[0])
			isNaN = func(i int) bool { return x[i] != x[i] }
		} else {
			x := values[float64](arrs[0])
			isNaN = func(i int) bool { return x[i] != x[i] }
		}
		for i := range pick {
			if isNaN(i) {
				pick[i] = 1
			}
		}
		// A NULL a stays NULL: choose reads a's validity for pick 0.
		return choose(ec.Mem, rt, n, pick, arrs, o.consts)
	}
	return &expr.Binding{Type: rt, Nullable: anyNullable(args), Cast: o.casts, ConstArgs: o.anyConst, Kernel: k}, nil
}

// ---- gather from several sources ----

// choose builds out[i] = source pick[i] at row i (pick < 0 is NULL); a nil
// source array is its literal consts[s].
func choose(mem memory.Allocator, rt arrow.DataType, n int, pick []int32, arrs []arrow.Array, consts []*expr.Literal) (arrow.Array, error) {
	switch rt.ID() {
	case arrow.NULL:
		return array.MakeArrayOfNull(mem, rt, n), nil
	case arrow.INT8:
		return chooseFixed[int8](mem, rt, pick, arrs, consts), nil
	case arrow.INT16:
		return chooseFixed[int16](mem, rt, pick, arrs, consts), nil
	case arrow.INT32, arrow.DATE32:
		return chooseFixed[int32](mem, rt, pick, arrs, consts), nil
	case arrow.INT64, arrow.TIMESTAMP:
		return chooseFixed[int64](mem, rt, pick, arrs, consts), nil
	case arrow.FLOAT32:
		return chooseFixed[float32](mem, rt, pick, arrs, consts), nil
	case arrow.FLOAT64:
		return chooseFixed[float64](mem, rt, pick, arrs, consts), nil
	case arrow.DECIMAL128:
		return chooseFixed[decimal128.Num](mem, rt, pick, arrs, consts), nil
	case arrow.INTERVAL_MONTH_DAY_NANO:
		return chooseFixed[arrow.MonthDayNanoInterval](mem, rt, pick, arrs, consts), nil
	case arrow.STRING, arrow.BINARY:
		get := bytesGetters(arrs, consts)
		valid := validGetters(arrs, consts)
		w := newStringWriter(mem, rt, n, 0)
		for i, p := range pick {
			if p < 0 || !valid[p](i) {
				w.appendNull()
				continue
			}
			w.appendBytes(get[p](i))
		}
		return w.finish()
	case arrow.BOOL:
		valid := validGetters(arrs, consts)
		get := make([]func(int) bool, len(arrs))
		for k, a := range arrs {
			if a == nil {
				v := litBool(consts[k])
				get[k] = func(int) bool { return v }
				continue
			}
			bits, off := boolBits(a)
			get[k] = func(i int) bool { return bitutil.BitIsSet(bits, off+i) }
		}
		val, vb := allocBits(mem, n)
		vbuf, okb := allocBits(mem, n)
		nulls := 0
		for i, p := range pick {
			if p < 0 || !valid[p](i) {
				nulls++
				continue
			}
			okb[i>>3] |= 1 << (i & 7)
			vb[i>>3] |= b2u(get[p](i)) << (i & 7)
		}
		if nulls == 0 {
			vbuf.Release()
			vbuf = nil
		}
		return makeArray(rt, n, vbuf, nulls, val), nil
	}
	bld := array.NewBuilder(mem, rt)
	defer bld.Release()
	bld.Reserve(n)
	for i, p := range pick {
		var v any
		if p >= 0 {
			if arrs[p] == nil {
				if consts[p] != nil {
					v = consts[p].Value
				}
			} else {
				v = expr.ValueAt(arrs[p], i)
			}
		}
		if err := expr.AppendValue(bld, v); err != nil {
			return nil, err
		}
	}
	return bld.NewArray(), nil
}

// validGetters returns per-source validity readers.
func validGetters(arrs []arrow.Array, consts []*expr.Literal) []func(int) bool {
	out := make([]func(int) bool, len(arrs))
	for k, a := range arrs {
		var lit *expr.Literal
		if k < len(consts) {
			lit = consts[k]
		}
		out[k] = validAt(a, lit)
	}
	return out
}

// chooseFixed gathers fixed-width values from several sources without a
// branch per row: literals are materialised, a missing validity bitmap is
// replaced by all-ones, and pick < 0 reads an extra all-NULL source.
func chooseFixed[T fixed](mem memory.Allocator, rt arrow.DataType, pick []int32, arrs []arrow.Array, consts []*expr.Literal) arrow.Array {
	n := len(pick)
	type src struct {
		vals []T
		bm   []byte
		off  int
	}
	ones, onesBits := allocBits(mem, n)
	defer ones.Release()
	bitutil.SetBitsTo(onesBits, 0, int64(n), true)
	zero, zeroBits := allocBits(mem, n)
	defer zero.Release()
	srcs := make([]src, len(arrs)+1)
	var filler []T
	for k, a := range arrs {
		s := &srcs[k]
		switch {
		case a != nil:
			s.vals = values[T](a)
			s.bm, s.off = validBits(a)
			switch {
			case s.bm == nil:
				s.bm = onesBits
			case len(s.bm) == 0:
				s.bm, s.off = zeroBits, 0
			}
		case consts[k] != nil && consts[k].Value != nil:
			c, _ := constOf[T](consts[k].Value)
			buf, vals := allocFixed[T](mem, n)
			defer buf.Release()
			for i := range vals {
				vals[i] = c
			}
			s.vals, s.bm = vals, onesBits
		default: // not a source, or a NULL literal
			s.bm = zeroBits
		}
		if s.vals != nil && filler == nil {
			filler = s.vals
		}
	}
	if filler == nil {
		buf, vals := allocFixed[T](mem, n)
		defer buf.Release()
		clear(vals)
		filler = vals
	}
	nullIdx := int32(len(arrs))
	srcs[nullIdx] = src{vals: filler, bm: zeroBits}
	for k := range srcs {
		if srcs[k].vals == nil {
			srcs[k].vals = filler // values under a NULL are never read as valid
		}
	}
	vb, out := allocFixed[T](mem, n)
	vbuf, okb := allocBits(mem, n)
	for i, p := range pick {
		p += (p >> 31) & (nullIdx - p) // pick < 0 -> the NULL source
		s := &srcs[p]
		out[i] = s.vals[i]
		j := s.off + i
		okb[i>>3] |= (s.bm[j>>3] >> (j & 7) & 1) << (i & 7)
	}
	nulls := n - bitutil.CountSetBits(okb, 0, n)
	if nulls == 0 {
		vbuf.Release()
		vbuf = nil
	}
	return makeArray(rt, n, vbuf, nulls, vb)
}
