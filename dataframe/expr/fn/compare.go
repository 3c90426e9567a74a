package fn

// Comparison operators. Operands are coerced to one type as Spark does
// (numbers widen; a string against a number, date, timestamp or boolean is
// cast to that type; date against timestamp compares as timestamps), then
// compared with bit-packed output. `col op literal` compares against one
// captured value; a dictionary-encoded string column compared with a
// literal compares the dictionary once and maps the indices.

import (
	"bytes"
	"encoding/binary"
	"math"
	"reflect"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

var comparisonFuncs = []*expr.Function{
	{Name: "=", Aliases: []string{"=="}, MinArgs: 2, MaxArgs: 2, Usage: "expr1 = expr2", Bind: bindCompare("=", opEq, false)},
	{Name: "!=", Aliases: []string{"<>"}, MinArgs: 2, MaxArgs: 2, Usage: "expr1 != expr2", Bind: bindCompare("!=", opNe, false)},
	{Name: "<", MinArgs: 2, MaxArgs: 2, Usage: "expr1 < expr2", Bind: bindCompare("<", opLt, false)},
	{Name: "<=", MinArgs: 2, MaxArgs: 2, Usage: "expr1 <= expr2", Bind: bindCompare("<=", opLe, false)},
	{Name: ">", MinArgs: 2, MaxArgs: 2, Usage: "expr1 > expr2", Bind: bindCompare(">", opGt, false)},
	{Name: ">=", MinArgs: 2, MaxArgs: 2, Usage: "expr1 >= expr2", Bind: bindCompare(">=", opGe, false)},
	{Name: "<=>", Aliases: []string{"equal_null"}, MinArgs: 2, MaxArgs: 2, Usage: "expr1 <=> expr2", Bind: bindCompare("<=>", opEq, true)},
}

// compareType is the type both operands of a comparison are cast to
// (Spark's findCommonTypeForBinaryComparison, then findWiderTypeForTwo).
// A string literal compared with an integer column that only parses as a
// fraction ('1.5') compares as double.
func compareType(args []expr.Arg) (arrow.DataType, bool) {
	a, b := canonical(args[0].Type), canonical(args[1].Type)
	switch {
	case arrow.TypeEqual(a, b):
		return a, true
	case a.ID() == arrow.NULL:
		return b, true
	case b.ID() == arrow.NULL:
		return a, true
	case a.ID() == arrow.STRING && isAtomic(b):
		return stringVs(b, args[0].Const), true
	case b.ID() == arrow.STRING && isAtomic(a):
		return stringVs(a, args[1].Const), true
	}
	if t, ok := tightestCommon(a, b); ok {
		return t, true
	}
	return nil, false
}

// stringVs is the type a string operand compared with type other becomes.
func stringVs(other arrow.DataType, lit *expr.Literal) arrow.DataType {
	if expr.IsInteger(other) && lit != nil {
		if s, ok := lit.Value.(string); ok {
			if _, isInt := parseSparkInt([]byte(s), 64); !isInt || bytes.ContainsAny(trimSpace([]byte(s)), ".") {
				if _, isFloat := parseSparkFloat([]byte(s), 64); isFloat {
					return expr.Float64
				}
			}
		}
	}
	return other
}

// bindCompare binds a comparison; nullSafe gives <=> (NULL <=> NULL is true,
// never NULL).
func bindCompare(name string, op cmpOp, nullSafe bool) func(args []expr.Arg) (*expr.Binding, error) {
	return func(args []expr.Arg) (*expr.Binding, error) {
		ct, ok := compareType(args)
		if !ok {
			return nil, opTypeErr(name, args, "the operands have no common type; cast one side")
		}
		if ct.ID() == arrow.NULL {
			ct = expr.Int32 // NULL = NULL: any type works
		}
		ordered := op != opEq && op != opNe
		switch ct.ID() {
		case arrow.LIST, arrow.STRUCT, arrow.MAP, arrow.INTERVAL_MONTH_DAY_NANO:
			if ordered {
				return nil, opTypeErr(name, args, "only = and != are defined for "+expr.TypeName(ct))
			}
		}
		o, err := coerce(args, []arrow.DataType{ct, ct})
		if err != nil {
			return nil, err
		}
		// Keep a dictionary-encoded string column as is when it meets a literal.
		dictSide := -1
		for i := range 2 {
			if _, isDict := args[i].Type.(*arrow.DictionaryType); isDict && o.consts[1-i] != nil && ct.ID() == arrow.STRING {
				dictSide = i
				o.casts[i] = nil
			}
		}
		k := compareKernel(op, ct, o, dictSide)
		if nullSafe {
			if o.nullConst {
				// x <=> NULL is x IS NULL.
				other := 0
				if o.consts[0] != nil && o.consts[0].Value == nil {
					other = 1
				}
				if o.consts[other] != nil && o.consts[other].Value == nil {
					return &expr.Binding{Type: expr.Boolean, Cast: o.casts, ConstArgs: true, Kernel: constBoolKernel(true)}, nil
				}
				return &expr.Binding{Type: expr.Boolean, Cast: o.casts, ConstArgs: true,
					Kernel: func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
						return nullTest(ec.Mem, a[other], n, true), nil
					}}, nil
			}
			return &expr.Binding{Type: expr.Boolean, Cast: o.casts, ConstArgs: o.anyConst, Kernel: nullSafeKernel(k)}, nil
		}
		return o.binding(expr.Boolean, anyNullable(args), k), nil
	}
}

// compareKernel returns the kernel comparing two operands of type ct.
func compareKernel(op cmpOp, ct arrow.DataType, o *operands, dictSide int) expr.Kernel {
	switch ct.ID() {
	case arrow.INT8:
		return fixedCompare[int8](op, o)
	case arrow.INT16:
		return fixedCompare[int16](op, o)
	case arrow.INT32, arrow.DATE32:
		return fixedCompare[int32](op, o)
	case arrow.INT64, arrow.TIMESTAMP:
		return fixedCompare[int64](op, o)
	case arrow.FLOAT32:
		return fixedCompare[float32](op, o)
	case arrow.FLOAT64:
		return fixedCompare[float64](op, o)
	case arrow.DECIMAL128:
		ca, cb := constVal[decimal128.Num](o, 0), constVal[decimal128.Num](o, 1)
		return func(ec *expr.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
			return compareFunc(ec.Mem, n, args[0], ca, args[1], cb, op, func(x, y decimal128.Num) int { return x.Cmp(y) }), nil
		}
	case arrow.BOOL:
		ca, cb := litBool(o.consts[0]), litBool(o.consts[1])
		return func(ec *expr.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
			return compareBool(ec.Mem, n, args[0], ca, args[1], cb, op), nil
		}
	case arrow.STRING, arrow.BINARY:
		var ca, cb []byte
		if o.consts[0] != nil {
			ca = litBytes(o.consts[0].Value)
		}
		if o.consts[1] != nil {
			cb = litBytes(o.consts[1].Value)
		}
		return func(ec *expr.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
			a, b := args[0], args[1]
			switch {
			case dictSide == 0 && a != nil && b == nil:
				if d, ok := a.(*array.Dictionary); ok {
					return compareDict(ec.Mem, d, cb, op)
				}
			case dictSide == 1 && b != nil && a == nil:
				if d, ok := b.(*array.Dictionary); ok {
					return compareDict(ec.Mem, d, ca, op.flip())
				}
			}
			// The literal arrived as a column (the call was not built with
			// expr.NewScalarCall): decode the dictionary side.
			for _, p := range []*arrow.Array{&a, &b} {
				if d, ok := (*p).(*array.Dictionary); ok {
					dec, err := decodeDictionary(ec.Mem, d)
					if err != nil {
						return nil, err
					}
					defer dec.Release()
					*p = dec
				}
			}
			return compareBytes(ec.Mem, n, a, ca, b, cb, op), nil
		}
	}
	// Nested types and intervals: equality of the engine's Go values.
	var ca, cb any
	if o.consts[0] != nil {
		ca = o.consts[0].Value
	}
	if o.consts[1] != nil {
		cb = o.consts[1].Value
	}
	return func(ec *expr.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		bb, bits := allocBits(ec.Mem, n)
		for i := 0; i < n; i++ {
			x, y := ca, cb
			if args[0] != nil {
				x = expr.ValueAt(args[0], i)
			}
			if args[1] != nil {
				y = expr.ValueAt(args[1], i)
			}
			if valuesEqual(x, y) == (op == opEq) {
				bitutil.SetBit(bits, i)
			}
		}
		valid, nulls := andValidity(ec.Mem, n, args[0], args[1])
		return makeArray(expr.Boolean, n, valid, nulls, bb), nil
	}
}

// fixedCompare compares ordered fixed-width operands (ints, floats, dates,
// timestamps) with the literal side captured.
func fixedCompare[T ordered](op cmpOp, o *operands) expr.Kernel {
	ca, cb := constVal[T](o, 0), constVal[T](o, 1)
	return func(ec *expr.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		return compareFixed(ec.Mem, n, args[0], ca, args[1], cb, op), nil
	}
}

// compareFunc compares fixed-width values with a three-way function.
func compareFunc[T fixed](mem memory.Allocator, n int, a arrow.Array, ca T, b arrow.Array, cb T, op cmpOp, c func(x, y T) int) arrow.Array {
	bb, bits := allocBits(mem, n)
	var x, y []T
	if a != nil {
		x = values[T](a)
	}
	if b != nil {
		y = values[T](b)
	}
	for i := 0; i < n; i++ {
		l, r := ca, cb
		if x != nil {
			l = x[i]
		}
		if y != nil {
			r = y[i]
		}
		bits[i>>3] |= b2u(op.holds(c(l, r))) << (i & 7)
	}
	valid, nulls := andValidity(mem, n, a, b)
	return makeArray(expr.Boolean, n, valid, nulls, bb)
}

// compareBool compares booleans (false < true) word by word.
func compareBool(mem memory.Allocator, n int, a arrow.Array, ca bool, b arrow.Array, cb bool, op cmpOp) arrow.Array {
	xb := boolOperand(mem, a, ca, n)
	defer xb.Release()
	yb := boolOperand(mem, b, cb, n)
	defer yb.Release()
	bb, out := allocBits(mem, n)
	x, y := xb.Bytes(), yb.Bytes()
	for i := range out {
		p, q := x[i], y[i]
		var r byte
		switch op {
		case opEq:
			r = ^(p ^ q)
		case opNe:
			r = p ^ q
		case opLt:
			r = ^p & q
		case opLe:
			r = ^p | q
		case opGt:
			r = p &^ q
		case opGe:
			r = p | ^q
		}
		out[i] = r
	}
	if n%8 != 0 && len(out) > 0 {
		out[len(out)-1] &= byte(1)<<(n%8) - 1
	}
	valid, nulls := andValidity(mem, n, a, b)
	return makeArray(expr.Boolean, n, valid, nulls, bb)
}

// boolOperand returns a boolean operand's values as a fresh bitmap at
// offset 0 (a constant when a is nil).
func boolOperand(mem memory.Allocator, a arrow.Array, c bool, n int) *memory.Buffer {
	buf, bits := allocBits(mem, n)
	if a == nil {
		if c {
			bitutil.SetBitsTo(bits, 0, int64(n), true)
		}
		return buf
	}
	if src, off := boolBits(a); src != nil {
		bitutil.CopyBitmap(src, off, n, bits, 0)
	}
	return buf
}

func litBool(l *expr.Literal) bool {
	if l == nil {
		return false
	}
	b, _ := l.Value.(bool)
	return b
}

// compareBytes compares string/binary operands in byte order; equality with
// a literal checks the length before the bytes.
func compareBytes(mem memory.Allocator, n int, a arrow.Array, ca []byte, b arrow.Array, cb []byte, op cmpOp) arrow.Array {
	bb, bits := allocBits(mem, n)
	switch {
	case a != nil && b == nil:
		bytesVsConst(bits, a, cb, op)
	case a == nil && b != nil:
		bytesVsConst(bits, b, ca, op.flip())
	case a != nil && b != nil:
		xo, xd := stringData(a)
		yo, yd := stringData(b)
		for i := 0; i < n; i++ {
			x, y := xd[xo[i]:xo[i+1]], yd[yo[i]:yo[i+1]]
			var r bool
			switch op {
			case opEq:
				r = string(x) == string(y)
			case opNe:
				r = string(x) != string(y)
			default:
				r = op.holds(bytes.Compare(x, y))
			}
			bits[i>>3] |= b2u(r) << (i & 7)
		}
	default:
		if op.holds(bytes.Compare(ca, cb)) {
			bitutil.SetBitsTo(bits, 0, int64(n), true)
		}
	}
	valid, nulls := andValidity(mem, n, a, b)
	return makeArray(expr.Boolean, n, valid, nulls, bb)
}

// bytesVsConst packs a[i] op c. Equality checks the length first, and for
// literals of up to 8 bytes compares one masked 8-byte load instead of
// calling memequal.
func bytesVsConst(bits []byte, a arrow.Array, c []byte, op cmpOp) {
	offs, data := stringData(a)
	n := a.Len()
	cs := string(c)
	l := int32(len(c))
	switch op {
	case opEq, opNe:
		want := op == opEq
		if l == 0 || l > 8 {
			for i := 0; i < n; i++ {
				s, e := offs[i], offs[i+1]
				eq := e-s == l && string(data[s:e]) == cs
				bits[i>>3] |= b2u(eq == want) << (i & 7)
			}
			return
		}
		var cw uint64
		for k := len(c) - 1; k >= 0; k-- {
			cw = cw<<8 | uint64(c[k])
		}
		mask := ^uint64(0) >> (64 - 8*uint(l))
		offs = offs[:n+1]
		flip := b2u(!want)
		// Rows starting at or before safe can load 8 bytes; offsets only
		// grow, so they form a prefix [0, m).
		safe := int32(len(data) - 8)
		m := n
		for m > 0 && offs[m-1] > safe {
			m--
		}
		full := m &^ 7
		for i := 0; i < full; i += 8 {
			o := offs[i : i+9 : i+9]
			var acc byte
			for k := 0; k < 8; k++ { // branch-free: the length test is unpredictable
				s := o[k]
				eq := b2u(o[k+1]-s == l) & b2u(binary.LittleEndian.Uint64(data[s:])&mask == cw)
				acc |= eq << k
			}
			bits[i>>3] = acc ^ (flip * 0xFF)
		}
		for i := full; i < n; i++ {
			s, e := offs[i], offs[i+1]
			eq := b2u(e-s == l && string(data[s:e]) == cs)
			bits[i>>3] |= (eq ^ flip) << (i & 7)
		}
	default:
		for i := 0; i < n; i++ {
			bits[i>>3] |= b2u(op.holds(bytes.Compare(data[offs[i]:offs[i+1]], c))) << (i & 7)
		}
	}
}

// compareDict compares a dictionary-encoded string column with a literal:
// once per dictionary entry, then one lookup per row.
func compareDict(mem memory.Allocator, d *array.Dictionary, c []byte, op cmpOp) (arrow.Array, error) {
	dict := d.Dictionary()
	if id := dict.DataType().ID(); id != arrow.STRING && id != arrow.BINARY {
		dec, err := decodeDictionary(mem, d)
		if err != nil {
			return nil, err
		}
		defer dec.Release()
		return compareBytes(mem, d.Len(), dec, nil, nil, c, op), nil
	}
	dn := dict.Len()
	hit := make([]bool, dn)
	dvalid := make([]bool, dn)
	offs, data := stringData(dict)
	for j := 0; j < dn; j++ {
		dvalid[j] = dict.IsValid(j)
		hit[j] = op.holds(bytes.Compare(data[offs[j]:offs[j+1]], c))
	}
	// A NULL dictionary entry compares as NULL: fold it into the lookup.
	state := make([]byte, dn) // 0 false, 1 true, 2 NULL
	for j := range state {
		switch {
		case !dvalid[j]:
			state[j] = 2
		case hit[j]:
			state[j] = 1
		}
	}
	idx := d.Indices()
	switch idx.DataType().ID() {
	case arrow.INT8:
		return dictLookup(mem, values[int8](idx), idx, state), nil
	case arrow.UINT8:
		return dictLookup(mem, values[uint8](idx), idx, state), nil
	case arrow.INT16:
		return dictLookup(mem, values[int16](idx), idx, state), nil
	case arrow.UINT16:
		return dictLookup(mem, values[uint16](idx), idx, state), nil
	case arrow.INT32:
		return dictLookup(mem, values[int32](idx), idx, state), nil
	case arrow.UINT32:
		return dictLookup(mem, values[uint32](idx), idx, state), nil
	case arrow.UINT64:
		return dictLookup(mem, values[uint64](idx), idx, state), nil
	}
	return dictLookup(mem, values[int64](idx), idx, state), nil
}

// dictLookup maps dictionary indices through a per-entry result (0 false,
// 1 true, 2 NULL); NULL indices are NULL.
func dictLookup[I ~int8 | ~uint8 | ~int16 | ~uint16 | ~int32 | ~uint32 | ~int64 | ~uint64](mem memory.Allocator, ix []I, idx arrow.Array, state []byte) arrow.Array {
	n := len(ix)
	bb, bits := allocBits(mem, n)
	anyNullEntry := false
	for _, s := range state {
		anyNullEntry = anyNullEntry || s == 2
	}
	ib, ioff := validBits(idx)
	if !anyNullEntry {
		for i, k := range ix {
			if ib != nil && (len(ib) == 0 || !bitutil.BitIsSet(ib, ioff+i)) {
				continue // index of a NULL slot may be anything
			}
			bits[i>>3] |= (state[k] & 1) << (i & 7)
		}
		valid, nulls := andValidity(mem, n, idx)
		return makeArray(expr.Boolean, n, valid, nulls, bb)
	}
	vb, vbits := allocBits(mem, n)
	nulls := 0
	for i, k := range ix {
		if ib != nil && (len(ib) == 0 || !bitutil.BitIsSet(ib, ioff+i)) || state[k] == 2 {
			nulls++
			continue
		}
		vbits[i>>3] |= 1 << (i & 7)
		bits[i>>3] |= (state[k] & 1) << (i & 7)
	}
	if nulls == 0 {
		vb.Release()
		vb = nil
	}
	return makeArray(expr.Boolean, n, vb, nulls, bb)
}

// nullSafeKernel turns an equality kernel into <=>: both NULL is true, one
// NULL is false, never NULL.
func nullSafeKernel(eq expr.Kernel) expr.Kernel {
	return func(ec *expr.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		r, err := eq(ec, args, n)
		if err != nil {
			return nil, err
		}
		defer r.Release()
		bb, bits := allocBits(ec.Mem, n)
		rb, roff := boolBits(r)
		for i := 0; i < n; i++ {
			an := args[0] != nil && args[0].IsNull(i)
			bn := args[1] != nil && args[1].IsNull(i)
			var v bool
			switch {
			case an || bn:
				v = an && bn
			default:
				v = bitutil.BitIsSet(rb, roff+i)
			}
			bits[i>>3] |= b2u(v) << (i & 7)
		}
		return makeArray(expr.Boolean, n, nil, 0, bb), nil
	}
}

// constBoolKernel returns a kernel producing n copies of v.
func constBoolKernel(v bool) expr.Kernel {
	return func(ec *expr.EvalContext, _ []arrow.Array, n int) (arrow.Array, error) {
		bb, bits := allocBits(ec.Mem, n)
		if v {
			bitutil.SetBitsTo(bits, 0, int64(n), true)
		}
		return makeArray(expr.Boolean, n, nil, 0, bb), nil
	}
}

// nullTest returns a IS NULL (isNull) or IS NOT NULL for n rows; a nil a is a
// non-NULL literal.
func nullTest(mem memory.Allocator, a arrow.Array, n int, isNull bool) arrow.Array {
	bb, bits := allocBits(mem, n)
	switch vb, off := validBits(a); {
	case vb == nil: // no NULLs
		if !isNull {
			bitutil.SetBitsTo(bits, 0, int64(n), true)
		}
	case len(vb) == 0: // all NULL
		if isNull {
			bitutil.SetBitsTo(bits, 0, int64(n), true)
		}
	case isNull:
		bitutil.InvertBitmap(vb, off, n, bits, 0)
	default:
		bitutil.CopyBitmap(vb, off, n, bits, 0)
	}
	return makeArray(expr.Boolean, n, nil, 0, bb)
}

// valuesEqual compares engine Go values (lists, structs, intervals) with
// Spark's equality: NaN equals NaN.
func valuesEqual(x, y any) bool {
	switch a := x.(type) {
	case []any:
		b, ok := y.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !valuesEqual(a[i], b[i]) {
				return false
			}
		}
		return true
	case float64:
		b, ok := y.(float64)
		return ok && (a == b || math.IsNaN(a) && math.IsNaN(b))
	case float32:
		b, ok := y.(float32)
		return ok && (a == b || a != a && b != b)
	case []byte:
		b, ok := y.([]byte)
		return ok && bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}
