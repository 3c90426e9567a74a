package fn

// Boolean logic with SQL's three-valued semantics, NULL tests and IN.
// LIKE / ILIKE / RLIKE are in like.go.

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

var logicalFuncs = []*expr.Function{
	{Name: "and", MinArgs: 2, MaxArgs: 2, Usage: "expr1 AND expr2", Bind: bindAndOr(true)},
	{Name: "or", MinArgs: 2, MaxArgs: 2, Usage: "expr1 OR expr2", Bind: bindAndOr(false)},
	{Name: "not", Aliases: []string{"!"}, MinArgs: 1, MaxArgs: 1, Usage: "NOT expr", Bind: bindNot},
	{Name: "isnull", MinArgs: 1, MaxArgs: 1, Usage: "expr IS NULL", Bind: bindNullTest(true)},
	{Name: "isnotnull", MinArgs: 1, MaxArgs: 1, Usage: "expr IS NOT NULL", Bind: bindNullTest(false)},
	{Name: "in", MinArgs: 1, MaxArgs: -1, Usage: "expr IN (value, ...)", Bind: bindIn},
	{Name: "like", MinArgs: 2, MaxArgs: 3, Usage: "str LIKE pattern [ESCAPE 'c']", Bind: bindLike("like", false)},
	{Name: "ilike", MinArgs: 2, MaxArgs: 3, Usage: "str ILIKE pattern [ESCAPE 'c']", Bind: bindLike("ilike", true)},
	{Name: "rlike", Aliases: []string{"regexp"}, MinArgs: 2, MaxArgs: 2, Usage: "str RLIKE regexp", Bind: bindRLike},
}

// boolArgs coerces every argument to boolean (NULL literals included).
func boolArgs(name string, args []expr.Arg) (*operands, error) {
	targets := make([]arrow.DataType, len(args))
	for i, a := range args {
		switch canonical(a.Type).ID() {
		case arrow.BOOL, arrow.NULL:
			targets[i] = expr.Boolean
		default:
			return nil, opTypeErr(name, args, "operands must be boolean")
		}
	}
	return coerce(args, targets)
}

// triState is a boolean operand as two bitmaps at offset 0: value and
// validity (a literal is all-true/all-false, a NULL literal all-invalid).
type triState struct {
	val, valid *memory.Buffer
}

func (t triState) release() {
	t.val.Release()
	t.valid.Release()
}

func makeTriState(mem memory.Allocator, a arrow.Array, lit *expr.Literal, n int) triState {
	val, vb := allocBits(mem, n)
	valid, okb := allocBits(mem, n)
	if a == nil {
		if lit != nil && lit.Value != nil {
			bitutil.SetBitsTo(okb, 0, int64(n), true)
			if lit.Value.(bool) {
				bitutil.SetBitsTo(vb, 0, int64(n), true)
			}
		}
		return triState{val, valid}
	}
	if src, off := boolBits(a); src != nil {
		bitutil.CopyBitmap(src, off, n, vb, 0)
	}
	switch bm, off := validBits(a); {
	case bm == nil:
		bitutil.SetBitsTo(okb, 0, int64(n), true)
	case len(bm) > 0:
		bitutil.CopyBitmap(bm, off, n, okb, 0)
	}
	return triState{val, valid}
}

// bindAndOr binds AND (and=true) or OR with Kleene logic: false AND NULL is
// false, true OR NULL is true, otherwise NULL wins.
func bindAndOr(and bool) func(args []expr.Arg) (*expr.Binding, error) {
	name := "or"
	if and {
		name = "and"
	}
	return func(args []expr.Arg) (*expr.Binding, error) {
		o, err := boolArgs(name, args)
		if err != nil {
			return nil, err
		}
		la, lb := o.consts[0], o.consts[1]
		k := func(ec *expr.EvalContext, arrs []arrow.Array, n int) (arrow.Array, error) {
			x := makeTriState(ec.Mem, arrs[0], la, n)
			defer x.release()
			y := makeTriState(ec.Mem, arrs[1], lb, n)
			defer y.release()
			val, vb := allocBits(ec.Mem, n)
			valid, okb := allocBits(ec.Mem, n)
			xv, xo, yv, yo := x.val.Bytes(), x.valid.Bytes(), y.val.Bytes(), y.valid.Bytes()
			for i := range vb {
				if and {
					xf, yf := xo[i]&^xv[i], yo[i]&^yv[i]
					okb[i] = (xo[i] & yo[i]) | xf | yf
					vb[i] = xv[i] & yv[i] & xo[i] & yo[i]
				} else {
					xt, yt := xo[i]&xv[i], yo[i]&yv[i]
					okb[i] = (xo[i] & yo[i]) | xt | yt
					vb[i] = xt | yt
				}
			}
			if n%8 != 0 && len(okb) > 0 {
				okb[len(okb)-1] &= byte(1)<<(n%8) - 1
			}
			nulls := n - bitutil.CountSetBits(okb, 0, n)
			if nulls == 0 {
				valid.Release()
				valid = nil
			}
			return makeArray(expr.Boolean, n, valid, nulls, val), nil
		}
		return &expr.Binding{Type: expr.Boolean, Nullable: anyNullable(args), Cast: o.casts, ConstArgs: o.anyConst, Kernel: k}, nil
	}
}

func bindNot(args []expr.Arg) (*expr.Binding, error) {
	o, err := boolArgs("not", args)
	if err != nil {
		return nil, err
	}
	lit := o.consts[0]
	k := func(ec *expr.EvalContext, arrs []arrow.Array, n int) (arrow.Array, error) {
		a := arrs[0]
		val, vb := allocBits(ec.Mem, n)
		if a == nil {
			if !lit.Value.(bool) {
				bitutil.SetBitsTo(vb, 0, int64(n), true)
			}
			return makeArray(expr.Boolean, n, nil, 0, val), nil
		}
		if src, off := boolBits(a); src != nil {
			bitutil.InvertBitmap(src, off, n, vb, 0)
		}
		valid, nulls := andValidity(ec.Mem, n, a)
		return makeArray(expr.Boolean, n, valid, nulls, val), nil
	}
	return o.binding(expr.Boolean, anyNullable(args), k), nil
}

// bindNullTest binds IS NULL (isNull) / IS NOT NULL; never NULL itself.
func bindNullTest(isNull bool) func(args []expr.Arg) (*expr.Binding, error) {
	return func(args []expr.Arg) (*expr.Binding, error) {
		if c := args[0].Const; c != nil || args[0].Type.ID() == arrow.NULL {
			litNull := args[0].Type.ID() == arrow.NULL || c.Value == nil
			return &expr.Binding{Type: expr.Boolean, ConstArgs: c != nil, Kernel: constBoolKernel(litNull == isNull)}, nil
		}
		return &expr.Binding{Type: expr.Boolean, Kernel: func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
			return nullTest(ec.Mem, a[0], n, isNull), nil
		}}, nil
	}
}

// ---- IN ----

// bindIn binds value IN (list...). All operands are cast to their common
// type (Spark's InConversion). A list of literals becomes a set lookup;
// otherwise each element is compared in turn. x IN (..., NULL) with no
// match is NULL, as is a NULL x.
func bindIn(args []expr.Arg) (*expr.Binding, error) {
	types := make([]arrow.DataType, len(args))
	for i, a := range args {
		types[i] = a.Type
	}
	ct, ok := commonTypeOf(types)
	if !ok {
		return nil, opTypeErr("in", args, "the value and the list have no common type; cast them")
	}
	if ct.ID() == arrow.NULL {
		ct = expr.Int32
	}
	targets := make([]arrow.DataType, len(args))
	for i := range targets {
		targets[i] = ct
	}
	o, err := coerce(args, targets)
	if err != nil {
		return nil, err
	}
	nullable := anyNullable(args)
	if len(args) == 1 { // x IN (): false
		return &expr.Binding{Type: expr.Boolean, Cast: o.casts, ConstArgs: o.anyConst, Kernel: constBoolKernel(false)}, nil
	}
	allConst := true
	for _, c := range o.consts[1:] {
		allConst = allConst && c != nil
	}
	if allConst && o.consts[0] == nil {
		if k := inSetKernel(ct, o.consts[1:]); k != nil {
			return &expr.Binding{Type: expr.Boolean, Nullable: nullable, Cast: o.casts, ConstArgs: true, Kernel: k}, nil
		}
	}
	// General form: OR of equalities (three-valued).
	eqs := make([]expr.Kernel, len(args)-1)
	for i := range eqs {
		po := &operands{
			types:  []arrow.DataType{ct, ct},
			consts: []*expr.Literal{o.consts[0], o.consts[i+1]},
		}
		if po.consts[1] != nil && po.consts[1].Value == nil {
			eqs[i] = nullKernel(expr.Boolean)
		} else if po.consts[0] != nil && po.consts[0].Value == nil {
			eqs[i] = nullKernel(expr.Boolean)
		} else {
			eqs[i] = compareKernel(opEq, ct, po, -1)
		}
	}
	k := func(ec *expr.EvalContext, arrs []arrow.Array, n int) (arrow.Array, error) {
		var acc arrow.Array
		for i, eq := range eqs {
			r, err := eq(ec, []arrow.Array{arrs[0], arrs[i+1]}, n)
			if err != nil {
				if acc != nil {
					acc.Release()
				}
				return nil, err
			}
			if acc == nil {
				acc = r
				continue
			}
			next := orArrays(ec.Mem, acc, r, n)
			acc.Release()
			r.Release()
			acc = next
		}
		return acc, nil
	}
	return &expr.Binding{Type: expr.Boolean, Nullable: nullable, Cast: o.casts, ConstArgs: o.anyConst, Kernel: k}, nil
}

// orArrays is a three-valued OR of two boolean arrays.
func orArrays(mem memory.Allocator, a, b arrow.Array, n int) arrow.Array {
	x := makeTriState(mem, a, nil, n)
	defer x.release()
	y := makeTriState(mem, b, nil, n)
	defer y.release()
	val, vb := allocBits(mem, n)
	valid, okb := allocBits(mem, n)
	xv, xo, yv, yo := x.val.Bytes(), x.valid.Bytes(), y.val.Bytes(), y.valid.Bytes()
	for i := range vb {
		xt, yt := xo[i]&xv[i], yo[i]&yv[i]
		okb[i] = (xo[i] & yo[i]) | xt | yt
		vb[i] = xt | yt
	}
	nulls := n - bitutil.CountSetBits(okb, 0, n)
	if nulls == 0 {
		valid.Release()
		valid = nil
	}
	return makeArray(expr.Boolean, n, valid, nulls, val)
}

// inSetKernel builds a set lookup over literal list values of type ct; nil
// when the type has no set form (the OR form is used instead).
func inSetKernel(ct arrow.DataType, list []*expr.Literal) expr.Kernel {
	hasNull := false
	for _, l := range list {
		hasNull = hasNull || l.Value == nil
	}
	switch ct.ID() {
	case arrow.INT8:
		return inFixed[int8](list, hasNull, func(v int8) int8 { return v })
	case arrow.INT16:
		return inFixed[int16](list, hasNull, func(v int16) int16 { return v })
	case arrow.INT32, arrow.DATE32:
		return inFixed[int32](list, hasNull, func(v int32) int32 { return v })
	case arrow.INT64, arrow.TIMESTAMP:
		return inFixed[int64](list, hasNull, func(v int64) int64 { return v })
	case arrow.FLOAT32:
		return inFixed[float32](list, hasNull, func(v float32) float32 { return float32(normFloat(float64(v))) })
	case arrow.FLOAT64:
		return inFixed[float64](list, hasNull, normFloat)
	case arrow.DECIMAL128:
		return inFixed[decimal128.Num](list, hasNull, func(v decimal128.Num) decimal128.Num { return v })
	case arrow.STRING, arrow.BINARY:
		set := make(map[string]struct{}, len(list))
		for _, l := range list {
			if l.Value != nil {
				set[string(litBytes(l.Value))] = struct{}{}
			}
		}
		return func(ec *expr.EvalContext, arrs []arrow.Array, n int) (arrow.Array, error) {
			offs, data := stringData(arrs[0])
			return inResult(ec.Mem, arrs[0], n, hasNull, func(i int) bool {
				_, ok := set[string(data[offs[i]:offs[i+1]])]
				return ok
			}), nil
		}
	case arrow.BOOL:
		var hasT, hasF bool
		for _, l := range list {
			if l.Value != nil {
				hasT = hasT || l.Value.(bool)
				hasF = hasF || !l.Value.(bool)
			}
		}
		return func(ec *expr.EvalContext, arrs []arrow.Array, n int) (arrow.Array, error) {
			bits, off := boolBits(arrs[0])
			return inResult(ec.Mem, arrs[0], n, hasNull, func(i int) bool {
				if bitutil.BitIsSet(bits, off+i) {
					return hasT
				}
				return hasF
			}), nil
		}
	}
	return nil
}

// normFloat maps -0.0 to 0.0 and every NaN to one NaN, so set lookups
// follow Spark's equality (0.0 = -0.0, NaN = NaN).
func normFloat(v float64) float64 {
	if v == 0 {
		return 0
	}
	if v != v {
		return math.NaN()
	}
	return v
}

// inFixed looks fixed-width values up in the literal list: a linear scan for
// short lists, a map beyond that.
func inFixed[T fixed](list []*expr.Literal, hasNull bool, norm func(T) T) expr.Kernel {
	var vals []T
	for _, l := range list {
		if l.Value != nil {
			v, _ := constOf[T](l.Value)
			vals = append(vals, norm(v))
		}
	}
	isF := isFloatFixed[T]()
	if len(vals) <= 8 && !isF {
		return func(ec *expr.EvalContext, arrs []arrow.Array, n int) (arrow.Array, error) {
			x := values[T](arrs[0])
			return inResult(ec.Mem, arrs[0], n, hasNull, func(i int) bool {
				v := x[i]
				for _, c := range vals {
					if v == c {
						return true
					}
				}
				return false
			}), nil
		}
	}
	set := make(map[T]struct{}, len(vals))
	hasNaN := false
	for _, v := range vals {
		if v != v {
			hasNaN = true
		}
		set[v] = struct{}{}
	}
	return func(ec *expr.EvalContext, arrs []arrow.Array, n int) (arrow.Array, error) {
		x := values[T](arrs[0])
		return inResult(ec.Mem, arrs[0], n, hasNull, func(i int) bool {
			v := norm(x[i])
			if v != v {
				return hasNaN // NaN is never a map hit
			}
			_, ok := set[v]
			return ok
		}), nil
	}
}

func isFloatFixed[T fixed]() bool {
	var z T
	switch any(z).(type) {
	case float32, float64:
		return true
	}
	return false
}

// inResult assembles IN's output: hit -> true; miss -> NULL when the list
// holds a NULL, else false; NULL input -> NULL.
func inResult(mem memory.Allocator, a arrow.Array, n int, listHasNull bool, hit func(i int) bool) arrow.Array {
	val, vb := allocBits(mem, n)
	valid, okb := allocBits(mem, n)
	inBits, inOff := validBits(a)
	nulls := 0
	for i := 0; i < n; i++ {
		if inBits != nil && (len(inBits) == 0 || !bitutil.BitIsSet(inBits, inOff+i)) {
			nulls++
			continue
		}
		if hit(i) {
			vb[i>>3] |= 1 << (i & 7)
		} else if listHasNull {
			nulls++
			continue
		}
		okb[i>>3] |= 1 << (i & 7)
	}
	if nulls == 0 {
		valid.Release()
		valid = nil
	}
	return makeArray(expr.Boolean, n, valid, nulls, val)
}
