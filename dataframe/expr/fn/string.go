package fn

import (
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// String functions. Strings are UTF-8 and positions count characters (code
// points), as Spark's UTF8String does; binary inputs count bytes.
var stringFuncs = []*expr.Function{
	strFn("lower", "lower(str)", "s", expr.String, kLower, "lcase"),
	strFn("upper", "upper(str)", "s", expr.String, kUpper, "ucase"),
	{Name: "length", Aliases: []string{"char_length", "character_length", "len"}, MinArgs: 1, MaxArgs: 1, Usage: "length(str)", Bind: bindLength},
	strFn("octet_length", "octet_length(str)", "s", expr.Int32, kOctetLength),
	strFn("bit_length", "bit_length(str)", "s", expr.Int32, kBitLength),
	{Name: "substring", Aliases: []string{"substr"}, MinArgs: 2, MaxArgs: 3, Usage: "substring(str, pos[, len])", Bind: bindSubstring},
	strFn("left", "left(str, len)", "si", expr.String, kLeft),
	strFn("right", "right(str, len)", "si", expr.String, kRight),
	{Name: "concat", MinArgs: 0, MaxArgs: -1, Usage: "concat(str1, str2, ...)", Bind: bindConcat},
	{Name: "concat_ws", MinArgs: 1, MaxArgs: -1, Usage: "concat_ws(sep, str1, str2, ...)", Bind: bindConcatWS},
	{Name: "trim", MinArgs: 1, MaxArgs: 2, Usage: "trim([trimStr, ]str)", Bind: bindTrim("trim", true, true, false)},
	{Name: "ltrim", MinArgs: 1, MaxArgs: 2, Usage: "ltrim([trimStr, ]str)", Bind: bindTrim("ltrim", true, false, false)},
	{Name: "rtrim", MinArgs: 1, MaxArgs: 2, Usage: "rtrim([trimStr, ]str)", Bind: bindTrim("rtrim", false, true, false)},
	{Name: "btrim", MinArgs: 1, MaxArgs: 2, Usage: "btrim(str[, trimStr])", Bind: bindTrim("btrim", true, true, true)},
	strFnRange("lpad", "lpad(str, len[, pad])", "sis", 2, expr.String, kLpad),
	strFnRange("rpad", "rpad(str, len[, pad])", "sis", 2, expr.String, kRpad),
	strFnRange("replace", "replace(str, search[, replace])", "sss", 2, expr.String, kReplace),
	strFn("repeat", "repeat(str, n)", "si", expr.String, kRepeat),
	{Name: "reverse", MinArgs: 1, MaxArgs: 1, Usage: "reverse(str|array)", Bind: bindReverse},
	strFn("initcap", "initcap(str)", "s", expr.String, kInitcap),
	strFn("translate", "translate(str, from, to)", "sss", expr.String, kTranslate),
	strFn("ascii", "ascii(str)", "s", expr.Int32, kASCII),
	{Name: "chr", Aliases: []string{"char"}, MinArgs: 1, MaxArgs: 1, Usage: "chr(n)", Bind: bindChr},
	strFn("instr", "instr(str, substr)", "ss", expr.Int32, kInstr),
	{Name: "locate", Aliases: []string{"position"}, MinArgs: 2, MaxArgs: 3, Usage: "locate(substr, str[, pos])", Bind: bindLocate},
	strFn("startswith", "startswith(str, prefix)", "ss", expr.Boolean, kStartsWith),
	strFn("endswith", "endswith(str, suffix)", "ss", expr.Boolean, kEndsWith),
	strFn("contains", "contains(str, substr)", "ss", expr.Boolean, kContains),
	{Name: "split", MinArgs: 2, MaxArgs: 3, Usage: "split(str, regex[, limit])", Bind: bindSplit},
	{Name: "regexp_extract", MinArgs: 2, MaxArgs: 3, Usage: "regexp_extract(str, regex[, idx])", Bind: bindRegexpExtract},
	{Name: "regexp_replace", MinArgs: 3, MaxArgs: 4, Usage: "regexp_replace(str, regex, rep[, pos])", Bind: bindRegexpReplace},
	{Name: "regexp_like", MinArgs: 2, MaxArgs: 2, Usage: "regexp_like(str, regex)", Bind: bindRegexpLike},
	{Name: "format_string", Aliases: []string{"printf"}, MinArgs: 1, MaxArgs: -1, Usage: "format_string(fmt, arg1, ...)", Bind: bindFormatString},
}

// strKernel computes a string function over rows; the arrays are the
// arguments (nil for a literal captured at bind time in args).
type strKernel func(ec *expr.EvalContext, a []arrow.Array, args []expr.Arg, n int) (arrow.Array, error)

// strFn defines a NULL-propagating function whose arguments all must be
// present; sig gives each argument's kind: 's' string, 'i' int32.
func strFn(name, usage, sig string, out arrow.DataType, k strKernel, aliases ...string) *expr.Function {
	return strFnRange(name, usage, sig, len(sig), out, k, aliases...)
}

// strFnRange is strFn with optional trailing arguments (at least minArgs).
func strFnRange(name, usage, sig string, minArgs int, out arrow.DataType, k strKernel, aliases ...string) *expr.Function {
	return &expr.Function{Name: name, Aliases: aliases, MinArgs: minArgs, MaxArgs: len(sig), Usage: usage,
		Bind: func(args []expr.Arg) (*expr.Binding, error) {
			cast, err := libSigCast(name, sig, args)
			if err != nil {
				return nil, err
			}
			b := &expr.Binding{Type: out, Nullable: libAnyNullable(args), Cast: cast, ConstArgs: libConstTail(args)}
			if libAnyNullConst(args) {
				b.Kernel = nullKernel(out)
				return b, nil
			}
			b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
				return k(ec, a, args, n)
			}
			return b, nil
		}}
}

// libConstTail reports whether the kernel should capture literals: only
// when the first argument is a column, so kernels always get a[0] and size
// their work by it (an all-literal call is materialised, or folded).
func libConstTail(args []expr.Arg) bool {
	return len(args) > 1 && args[0].Const == nil && libAnyConst(args[1:])
}

// libSigCast coerces arguments by kind: 's' string, 'i' int32, 'l' int64.
// The last kind repeats for variadic functions.
func libSigCast(fn, sig string, args []expr.Arg) ([]arrow.DataType, error) {
	cast := make([]arrow.DataType, len(args))
	for i, a := range args {
		k := sig[min(i, len(sig)-1)]
		var err error
		switch k {
		case 's':
			cast[i], err = libStringCast(fn, i, a.Type)
		case 'i':
			cast[i], err = libIntCast(fn, i, a.Type, expr.Int32)
		case 'l':
			cast[i], err = libIntCast(fn, i, a.Type, expr.Int64)
		}
		if err != nil {
			return nil, err
		}
	}
	return cast, nil
}

// strArg returns argument i as a string view (column or captured literal).
func strArg(a []arrow.Array, args []expr.Arg, i int) libStr {
	if a[i] != nil {
		return newLibStr(a[i], "")
	}
	s, _ := libConstString(args[i].Const)
	return newLibStr(nil, s)
}

// intArg returns argument i as an integer view.
func intArg(a []arrow.Array, args []expr.Arg, i int, def int64) libInt {
	if i >= len(a) {
		return newLibInt(nil, def)
	}
	if a[i] != nil {
		return newLibInt(a[i], 0)
	}
	v, _ := libConstInt(args[i].Const)
	return newLibInt(nil, v)
}

// strRows builds a String (or dt) result row by row over the rows valid in
// every non-nil array; f appends row i to dst (ok=false gives NULL).
func strRows(ec *expr.EvalContext, dt arrow.DataType, n, hint int, arrs []arrow.Array, f func(i int, dst []byte) ([]byte, bool)) (arrow.Array, error) {
	valid, vb := libValidity(ec.Mem, n, arrs...)
	if valid != nil {
		defer valid.Release()
	}
	w := newStringWriter(ec.Mem, dt, n, hint)
	for i := 0; i < n; i++ {
		if !vb.ok(i) {
			w.appendNull()
			continue
		}
		w.appendWith(func(dst []byte) ([]byte, bool) { return f(i, dst) })
	}
	return w.finish()
}

// fixedRows builds a fixed-width result over the rows valid in every
// non-nil array.
func fixedRows[O fixed](ec *expr.EvalContext, dt arrow.DataType, n int, arrs []arrow.Array, f func(i int) (O, bool)) arrow.Array {
	valid, _ := andValidity(ec.Mem, n, arrs...)
	vbuf, out := allocFixed[O](ec.Mem, n)
	return finishNull(ec.Mem, dt, n, valid, vbuf, out, f)
}

// boolRows builds a boolean result over the rows valid in every non-nil
// array.
func boolRows(ec *expr.EvalContext, n int, arrs []arrow.Array, f func(i int) bool) arrow.Array {
	bb, bits := allocBits(ec.Mem, n)
	valid, vb := libValidity(ec.Mem, n, arrs...)
	for i := 0; i < n; i++ {
		if vb.ok(i) && f(i) {
			bits[i>>3] |= 1 << (i & 7)
		}
	}
	return makeArray(expr.Boolean, n, valid, array.UnknownNullCount, bb)
}

// outType is the result type of a string function whose first argument may
// be binary (substring, left, ... keep binary).
func outType(a arrow.Array) arrow.DataType {
	if a != nil && a.DataType().ID() == arrow.BINARY {
		return expr.Binary
	}
	return expr.String
}

// isASCII reports whether s has only 7-bit bytes (so bytes are characters).
func isASCII(s []byte) bool {
	for _, c := range s {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// charCount counts characters (code points; an invalid byte is one).
func charCount(s []byte) int {
	if isASCII(s) {
		return len(s)
	}
	return utf8.RuneCount(s)
}

// charOffset returns the byte offset of character k of s (len(s) past the end).
func charOffset(s []byte, k int) int {
	if k <= 0 {
		return 0
	}
	off := 0
	for ; k > 0 && off < len(s); k-- {
		if s[off] < utf8.RuneSelf {
			off++
			continue
		}
		_, size := utf8.DecodeRune(s[off:])
		off += size
	}
	return off
}

// charSlice returns characters [start, end) of s (clamped); binary is bytes.
func charSlice(s []byte, start, end int, bytesMode bool) []byte {
	if bytesMode || isASCII(s) {
		start, end = min(max(start, 0), len(s)), min(max(end, 0), len(s))
		if start >= end {
			return nil
		}
		return s[start:end]
	}
	b := charOffset(s, start)
	e := b + charOffset(s[b:], end-start)
	return s[b:e]
}
