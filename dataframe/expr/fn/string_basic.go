package fn

import (
	"bytes"
	"fmt"
	"math"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// ---- case ----

// appendCase appends s lower- (or upper-) cased: ASCII in place, the rest
// rune by rune with Unicode's simple case mapping.
func appendCase(dst, s []byte, upper bool) []byte {
	off := len(dst)
	dst = append(dst, s...)
	out := dst[off:]
	for i, c := range out {
		if c >= utf8.RuneSelf {
			dst = dst[:off+i]
			for _, r := range string(s[i:]) {
				if upper {
					r = unicode.ToUpper(r)
				} else {
					r = unicode.ToLower(r)
				}
				dst = utf8.AppendRune(dst, r)
			}
			return dst
		}
		if upper {
			if c-'a' < 26 {
				out[i] = c - 32
			}
		} else if c-'A' < 26 {
			out[i] = c + 32
		}
	}
	return dst
}

func kLower(ec *expr.EvalContext, a []arrow.Array, _ []expr.Arg, _ int) (arrow.Array, error) {
	return mapString(ec.Mem, expr.String, a[0], func(dst, s []byte) ([]byte, bool) { return appendCase(dst, s, false), true })
}

func kUpper(ec *expr.EvalContext, a []arrow.Array, _ []expr.Arg, _ int) (arrow.Array, error) {
	return mapString(ec.Mem, expr.String, a[0], func(dst, s []byte) ([]byte, bool) { return appendCase(dst, s, true), true })
}

// kInitcap is Spark's initcap: lower-case everything, then title-case the
// first character of every space-separated word.
func kInitcap(ec *expr.EvalContext, a []arrow.Array, _ []expr.Arg, _ int) (arrow.Array, error) {
	return mapString(ec.Mem, expr.String, a[0], func(dst, s []byte) ([]byte, bool) {
		off := len(dst)
		dst = appendCase(dst, s, false)
		low := append([]byte(nil), dst[off:]...)
		dst = dst[:off]
		prevSpace := true
		for _, r := range string(low) {
			if prevSpace {
				r = unicode.ToTitle(r)
			}
			prevSpace = r == ' '
			dst = utf8.AppendRune(dst, r)
		}
		return dst, true
	})
}

// ---- lengths ----

func bindLength(args []expr.Arg) (*expr.Binding, error) {
	var cast arrow.DataType
	bin := args[0].Type.ID() == arrow.BINARY
	if !bin {
		var err error
		if cast, err = libStringCast("length", 0, args[0].Type); err != nil {
			return nil, err
		}
	}
	b := &expr.Binding{Type: expr.Int32, Nullable: args[0].Nullable, Cast: []arrow.DataType{cast}}
	if libNullConst(args[0]) {
		b.Kernel = nullKernel(expr.Int32)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		if bin {
			return kOctetLength(ec, a, args, n)
		}
		return mapStringToFixed(ec.Mem, expr.Int32, a[0], func(s []byte) (int32, bool) { return int32(charCount(s)), true }), nil
	}
	return b, nil
}

func kOctetLength(ec *expr.EvalContext, a []arrow.Array, _ []expr.Arg, n int) (arrow.Array, error) {
	offs, _ := stringData(a[0])
	return fixedRows(ec, expr.Int32, n, a[:1], func(i int) (int32, bool) { return offs[i+1] - offs[i], true }), nil
}

func kBitLength(ec *expr.EvalContext, a []arrow.Array, _ []expr.Arg, n int) (arrow.Array, error) {
	offs, _ := stringData(a[0])
	return fixedRows(ec, expr.Int32, n, a[:1], func(i int) (int32, bool) { return (offs[i+1] - offs[i]) * 8, true }), nil
}

// ---- substrings ----

// sparkSubstring is UTF8String.substringSQL: 1-based pos, 0 acts as 1,
// negative counts from the end; length defaults to "the rest".
func sparkSubstring(s []byte, pos, length int64, bytesMode bool) []byte {
	n := int64(len(s))
	if !bytesMode && !isASCII(s) {
		n = int64(utf8.RuneCount(s))
	}
	var start int64
	switch {
	case pos > 0:
		start = pos - 1
	case pos < 0:
		start = n + pos
	}
	end := start + length
	if length > math.MaxInt32 || end > math.MaxInt32 {
		end = math.MaxInt32
	}
	start = max(start, 0)
	if start >= end || start >= n {
		return nil
	}
	return charSlice(s, int(start), int(min(end, n)), bytesMode)
}

func bindSubstring(args []expr.Arg) (*expr.Binding, error) {
	out := expr.String
	cast := make([]arrow.DataType, len(args))
	if args[0].Type.ID() == arrow.BINARY {
		out = expr.Binary
	} else {
		c, err := libStringCast("substring", 0, args[0].Type)
		if err != nil {
			return nil, err
		}
		cast[0] = c
	}
	for i := 1; i < len(args); i++ {
		c, err := libIntCast("substring", i, args[i].Type, expr.Int32)
		if err != nil {
			return nil, err
		}
		cast[i] = c
	}
	b := &expr.Binding{Type: out, Nullable: libAnyNullable(args), Cast: cast, ConstArgs: libConstTail(args)}
	if libAnyNullConst(args) {
		b.Kernel = nullKernel(out)
		return b, nil
	}
	bytesMode := out.ID() == arrow.BINARY
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		pos := intArg(a, args, 1, 1)
		length := intArg(a, args, 2, math.MaxInt32)
		offs, data := stringData(a[0])
		return strRows(ec, out, n, int(offs[n]-offs[0]), a, func(i int, dst []byte) ([]byte, bool) {
			return append(dst, sparkSubstring(data[offs[i]:offs[i+1]], pos.at(i), length.at(i), bytesMode)...), true
		})
	}
	return b, nil
}

func kLeft(ec *expr.EvalContext, a []arrow.Array, args []expr.Arg, n int) (arrow.Array, error) {
	s, k := strArg(a, args, 0), intArg(a, args, 1, 0)
	return strRows(ec, expr.String, n, 0, a, func(i int, dst []byte) ([]byte, bool) {
		if k.at(i) <= 0 {
			return dst, true
		}
		return append(dst, sparkSubstring(s.at(i), 1, k.at(i), false)...), true
	})
}

func kRight(ec *expr.EvalContext, a []arrow.Array, args []expr.Arg, n int) (arrow.Array, error) {
	s, k := strArg(a, args, 0), intArg(a, args, 1, 0)
	return strRows(ec, expr.String, n, 0, a, func(i int, dst []byte) ([]byte, bool) {
		if k.at(i) <= 0 {
			return dst, true
		}
		return append(dst, sparkSubstring(s.at(i), -k.at(i), math.MaxInt32, false)...), true
	})
}

// ---- concatenation ----

// bindConcat binds concat(): strings (other atomic types cast to string),
// or binary when every argument is binary. Any NULL makes the row NULL.
func bindConcat(args []expr.Arg) (*expr.Binding, error) {
	out := expr.String
	allBin := len(args) > 0
	for _, a := range args {
		if a.Type.ID() != arrow.BINARY {
			allBin = false
		}
	}
	cast := make([]arrow.DataType, len(args))
	if len(args) > 0 && args[0].Type.ID() == arrow.LIST {
		return bindArrayConcat(args)
	}
	if allBin {
		out = expr.Binary
	} else {
		for i, a := range args {
			if a.Type.ID() == arrow.LIST {
				return nil, libTypeErr("concat", i, "a string or binary like the first argument", a.Type)
			}
			c, err := libStringCast("concat", i, a.Type)
			if err != nil {
				return nil, err
			}
			cast[i] = c
		}
	}
	b := &expr.Binding{Type: out, Nullable: libAnyNullable(args), Cast: cast}
	if libAnyNullConst(args) {
		b.Kernel = nullKernel(out)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		parts := make([]libStr, len(a))
		hint := 0
		for k := range a {
			parts[k] = newLibStr(a[k], "")
			hint += int(parts[k].offs[n] - parts[k].offs[0])
		}
		return strRows(ec, out, n, hint, a, func(i int, dst []byte) ([]byte, bool) {
			for k := range parts {
				dst = append(dst, parts[k].at(i)...)
			}
			return dst, true
		})
	}
	return b, nil
}

// bindConcatWS binds concat_ws(sep, ...): arguments are strings or arrays
// of strings; NULL arguments and NULL elements are skipped, a NULL
// separator makes the row NULL.
func bindConcatWS(args []expr.Arg) (*expr.Binding, error) {
	cast := make([]arrow.DataType, len(args))
	c, err := libStringCast("concat_ws", 0, args[0].Type)
	if err != nil {
		return nil, err
	}
	cast[0] = c
	for i := 1; i < len(args); i++ {
		if lt, ok := args[i].Type.(*arrow.ListType); ok {
			if lt.Elem().ID() != arrow.STRING {
				cast[i] = arrow.ListOf(expr.String)
			}
			continue
		}
		if cast[i], err = libStringCast("concat_ws", i, args[i].Type); err != nil {
			return nil, err
		}
	}
	b := &expr.Binding{Type: expr.String, Nullable: args[0].Nullable, Cast: cast}
	if libNullConst(args[0]) {
		b.Kernel = nullKernel(expr.String)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		sep := newLibStr(a[0], "")
		return strRows(ec, expr.String, n, 0, a[:1], func(i int, dst []byte) ([]byte, bool) {
			first := true
			add := func(v []byte) {
				if !first {
					dst = append(dst, sep.at(i)...)
				}
				first = false
				dst = append(dst, v...)
			}
			for _, col := range a[1:] {
				if col.IsNull(i) {
					continue
				}
				if l, ok := col.(*array.List); ok {
					start, end := l.ValueOffsets(i)
					vals := l.ListValues()
					offs, data := stringData(vals)
					for j := int(start); j < int(end); j++ {
						if vals.IsValid(j) {
							add(data[offs[j]:offs[j+1]])
						}
					}
					continue
				}
				offs, data := stringData(col)
				add(data[offs[i]:offs[i+1]])
			}
			return dst, true
		})
	}
	return b, nil
}

// ---- trimming ----

// trimSet is the set of characters to trim: ASCII in a table, others in a
// small slice.
type trimSet struct {
	ascii [128]bool
	other []rune
}

func newTrimSet(chars []byte) *trimSet {
	t := &trimSet{}
	for _, r := range string(chars) {
		if r < 128 {
			t.ascii[r] = true
		} else {
			t.other = append(t.other, r)
		}
	}
	return t
}

var spaceTrimSet = newTrimSet([]byte{' '})

func (t *trimSet) has(r rune) bool {
	if r < 128 {
		return r >= 0 && t.ascii[r]
	}
	for _, o := range t.other {
		if o == r {
			return true
		}
	}
	return false
}

func (t *trimSet) trim(s []byte, left, right bool) []byte {
	if left {
		for len(s) > 0 {
			r, size := rune(s[0]), 1
			if r >= utf8.RuneSelf {
				r, size = utf8.DecodeRune(s)
			}
			if !t.has(r) {
				break
			}
			s = s[size:]
		}
	}
	if right {
		for len(s) > 0 {
			r, size := rune(s[len(s)-1]), 1
			if r >= utf8.RuneSelf {
				r, size = utf8.DecodeLastRune(s)
			}
			if !t.has(r) {
				break
			}
			s = s[:len(s)-size]
		}
	}
	return s
}

// bindTrim binds trim/ltrim/rtrim (trimStr first in the two-argument form,
// as Spark's SQL functions) and btrim (source first). One argument trims
// spaces (U+0020 only).
func bindTrim(name string, left, right, srcFirst bool) func(args []expr.Arg) (*expr.Binding, error) {
	return func(args []expr.Arg) (*expr.Binding, error) {
		cast, err := libSigCast(name, "ss", args)
		if err != nil {
			return nil, err
		}
		src, set := 0, -1
		if len(args) == 2 {
			if srcFirst {
				src, set = 0, 1
			} else {
				src, set = 1, 0
			}
		}
		b := &expr.Binding{Type: expr.String, Nullable: libAnyNullable(args), Cast: cast}
		if libAnyNullConst(args) {
			b.Kernel = nullKernel(expr.String)
			return b, nil
		}
		var konst *trimSet
		if set < 0 {
			konst = spaceTrimSet
		} else if args[set].Const != nil && args[src].Const == nil {
			s, _ := libConstString(args[set].Const)
			konst = newTrimSet([]byte(s))
			b.ConstArgs = true
		}
		b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
			in := a[src]
			offs, data := stringData(in)
			if konst != nil {
				return mapString(ec.Mem, expr.String, in, func(dst, s []byte) ([]byte, bool) {
					return append(dst, konst.trim(s, left, right)...), true
				})
			}
			sets := newLibStr(a[set], "")
			var last []byte
			var ts *trimSet
			return strRows(ec, expr.String, n, int(offs[n]-offs[0]), a, func(i int, dst []byte) ([]byte, bool) {
				if c := sets.at(i); ts == nil || !bytes.Equal(c, last) {
					last, ts = c, newTrimSet(c)
				}
				return append(dst, ts.trim(data[offs[i]:offs[i+1]], left, right)...), true
			})
		}
		return b, nil
	}
}

// ---- padding, repeat, replace ----

// appendPadChars appends k characters of pad, repeated.
func appendPadChars(dst, pad []byte, padChars, k int) []byte {
	for ; k >= padChars; k -= padChars {
		dst = append(dst, pad...)
	}
	return append(dst, pad[:charOffset(pad, k)]...)
}

func padKernel(ec *expr.EvalContext, a []arrow.Array, args []expr.Arg, n int, left bool) (arrow.Array, error) {
	s, l := strArg(a, args, 0), intArg(a, args, 1, 0)
	pad := newLibStr(nil, " ")
	if len(a) > 2 {
		pad = strArg(a, args, 2)
	}
	return strRows(ec, expr.String, n, 0, a, func(i int, dst []byte) ([]byte, bool) {
		str, want, p := s.at(i), l.at(i), pad.at(i)
		if want > 1<<28 {
			return dst, false
		}
		chars := charCount(str)
		spaces := int(want) - chars
		if spaces <= 0 || len(p) == 0 {
			if want <= 0 {
				return dst, true
			}
			return append(dst, str[:charOffset(str, int(want))]...), true
		}
		if left {
			dst = appendPadChars(dst, p, charCount(p), spaces)
			return append(dst, str...), true
		}
		dst = append(dst, str...)
		return appendPadChars(dst, p, charCount(p), spaces), true
	})
}

func kLpad(ec *expr.EvalContext, a []arrow.Array, args []expr.Arg, n int) (arrow.Array, error) {
	return padKernel(ec, a, args, n, true)
}

func kRpad(ec *expr.EvalContext, a []arrow.Array, args []expr.Arg, n int) (arrow.Array, error) {
	return padKernel(ec, a, args, n, false)
}

// maxStringResult bounds a single string result (repeat, lpad) so a bad
// argument fails instead of exhausting memory.
const maxStringResult = 1 << 30

func kRepeat(ec *expr.EvalContext, a []arrow.Array, args []expr.Arg, n int) (arrow.Array, error) {
	s, k := strArg(a, args, 0), intArg(a, args, 1, 0)
	var tooBig error
	res, err := strRows(ec, expr.String, n, 0, a, func(i int, dst []byte) ([]byte, bool) {
		str, times := s.at(i), k.at(i)
		if times <= 0 || len(str) == 0 {
			return dst, true
		}
		if int64(len(str))*times > maxStringResult {
			tooBig = fmt.Errorf("%w: repeat: result of %d x %d bytes is too large", ErrInvalidArgument, times, len(str))
			return dst, false
		}
		for ; times > 0; times-- {
			dst = append(dst, str...)
		}
		return dst, true
	})
	if tooBig != nil && err == nil {
		res.Release()
		return nil, tooBig
	}
	return res, err
}

func kReplace(ec *expr.EvalContext, a []arrow.Array, args []expr.Arg, n int) (arrow.Array, error) {
	s, search := strArg(a, args, 0), strArg(a, args, 1)
	rep := newLibStr(nil, "")
	if len(a) > 2 {
		rep = strArg(a, args, 2)
	}
	return strRows(ec, expr.String, n, 0, a, func(i int, dst []byte) ([]byte, bool) {
		str, old, nw := s.at(i), search.at(i), rep.at(i)
		if len(old) == 0 {
			return append(dst, str...), true
		}
		for {
			k := bytes.Index(str, old)
			if k < 0 {
				return append(dst, str...), true
			}
			dst = append(dst, str[:k]...)
			dst = append(dst, nw...)
			str = str[k+len(old):]
		}
	})
}

// ---- reverse, translate, ascii, chr ----

func bindReverse(args []expr.Arg) (*expr.Binding, error) {
	if args[0].Type.ID() == arrow.LIST {
		return bindArrayReverse(args)
	}
	cast, err := libStringCast("reverse", 0, args[0].Type)
	if err != nil {
		return nil, err
	}
	b := &expr.Binding{Type: expr.String, Nullable: args[0].Nullable, Cast: []arrow.DataType{cast}}
	if libNullConst(args[0]) {
		b.Kernel = nullKernel(expr.String)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		return mapString(ec.Mem, expr.String, a[0], func(dst, s []byte) ([]byte, bool) {
			if isASCII(s) {
				for k := len(s) - 1; k >= 0; k-- {
					dst = append(dst, s[k])
				}
				return dst, true
			}
			for len(s) > 0 {
				_, size := utf8.DecodeLastRune(s)
				dst = append(dst, s[len(s)-size:]...)
				s = s[:len(s)-size]
			}
			return dst, true
		})
	}
	return b, nil
}

// translateMap maps characters of from to the same-position characters of
// to; characters of from without a partner are deleted (-1). The first
// occurrence of a character in from wins.
type translateMap map[rune]rune

func newTranslateMap(from, to []byte) translateMap {
	m := translateMap{}
	tr := []rune(string(to))
	k := 0
	for _, r := range string(from) {
		if _, seen := m[r]; !seen {
			if k < len(tr) {
				m[r] = tr[k]
			} else {
				m[r] = -1
			}
		}
		k++
	}
	return m
}

func kTranslate(ec *expr.EvalContext, a []arrow.Array, args []expr.Arg, n int) (arrow.Array, error) {
	s, from, to := strArg(a, args, 0), strArg(a, args, 1), strArg(a, args, 2)
	var lastFrom, lastTo []byte
	var m translateMap
	return strRows(ec, expr.String, n, 0, a, func(i int, dst []byte) ([]byte, bool) {
		f, t := from.at(i), to.at(i)
		if m == nil || !bytes.Equal(f, lastFrom) || !bytes.Equal(t, lastTo) {
			lastFrom, lastTo, m = f, t, newTranslateMap(f, t)
		}
		for _, r := range string(s.at(i)) {
			if x, ok := m[r]; ok {
				if x >= 0 {
					dst = utf8.AppendRune(dst, x)
				}
				continue
			}
			dst = utf8.AppendRune(dst, r)
		}
		return dst, true
	})
}

func kASCII(ec *expr.EvalContext, a []arrow.Array, _ []expr.Arg, _ int) (arrow.Array, error) {
	return mapStringToFixed(ec.Mem, expr.Int32, a[0], func(s []byte) (int32, bool) {
		if len(s) == 0 {
			return 0, true
		}
		r, _ := utf8.DecodeRune(s)
		return r, true
	}), nil
}

// bindChr binds chr(n): the character with code n mod 256; negative n
// gives the empty string.
func bindChr(args []expr.Arg) (*expr.Binding, error) {
	cast, err := libIntCast("chr", 0, args[0].Type, expr.Int64)
	if err != nil {
		return nil, err
	}
	b := &expr.Binding{Type: expr.String, Nullable: args[0].Nullable, Cast: []arrow.DataType{cast}}
	if libNullConst(args[0]) {
		b.Kernel = nullKernel(expr.String)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		return mapFixedToString(ec.Mem, expr.String, a[0], func(dst []byte, v int64) []byte {
			if v < 0 {
				return dst
			}
			return utf8.AppendRune(dst, rune(v&0xFF))
		})
	}
	return b, nil
}

// ---- searching ----

// charIndex returns the character index of sub in s at or after character
// start, -1 if absent; an empty sub is found at 0 (Spark's indexOf).
func charIndex(s, sub []byte, start int) int {
	if len(sub) == 0 {
		return 0
	}
	b := charOffset(s, start)
	if start > 0 && b >= len(s) {
		return -1
	}
	k := bytes.Index(s[b:], sub)
	if k < 0 {
		return -1
	}
	if isASCII(s[:b+k]) {
		return b + k
	}
	return utf8.RuneCount(s[:b+k])
}

func kInstr(ec *expr.EvalContext, a []arrow.Array, args []expr.Arg, n int) (arrow.Array, error) {
	s, sub := strArg(a, args, 0), strArg(a, args, 1)
	return fixedRows(ec, expr.Int32, n, a, func(i int) (int32, bool) {
		return int32(charIndex(s.at(i), sub.at(i), 0) + 1), true
	}), nil
}

// bindLocate binds locate(substr, str[, pos]); a NULL pos gives 0, not NULL
// (Hive compatibility kept by Spark).
func bindLocate(args []expr.Arg) (*expr.Binding, error) {
	cast, err := libSigCast("locate", "ssi", args)
	if err != nil {
		return nil, err
	}
	b := &expr.Binding{Type: expr.Int32, Nullable: libAnyNullable(args[:2]), Cast: cast, ConstArgs: libConstTail(args)}
	if libNullConst(args[0]) || libNullConst(args[1]) {
		b.Kernel = nullKernel(expr.Int32)
		return b, nil
	}
	posNull := len(args) == 3 && libNullConst(args[2])
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		sub, s := strArg(a, args, 0), strArg(a, args, 1)
		var pos libInt
		var posCol arrow.Array
		if len(a) == 3 && !posNull {
			pos, posCol = intArg(a, args, 2, 1), a[2]
		} else {
			pos = newLibInt(nil, 1)
		}
		return fixedRows(ec, expr.Int32, n, a[:2], func(i int) (int32, bool) {
			if posNull || posCol != nil && posCol.IsNull(i) {
				return 0, true
			}
			p := pos.at(i)
			if p < 1 {
				return 0, true
			}
			return int32(charIndex(s.at(i), sub.at(i), int(min(p-1, math.MaxInt32))) + 1), true
		}), nil
	}
	return b, nil
}

func kStartsWith(ec *expr.EvalContext, a []arrow.Array, args []expr.Arg, n int) (arrow.Array, error) {
	s, p := strArg(a, args, 0), strArg(a, args, 1)
	return boolRows(ec, n, a, func(i int) bool { return bytes.HasPrefix(s.at(i), p.at(i)) }), nil
}

func kEndsWith(ec *expr.EvalContext, a []arrow.Array, args []expr.Arg, n int) (arrow.Array, error) {
	s, p := strArg(a, args, 0), strArg(a, args, 1)
	return boolRows(ec, n, a, func(i int) bool { return bytes.HasSuffix(s.at(i), p.at(i)) }), nil
}

func kContains(ec *expr.EvalContext, a []arrow.Array, args []expr.Arg, n int) (arrow.Array, error) {
	s, p := strArg(a, args, 0), strArg(a, args, 1)
	return boolRows(ec, n, a, func(i int) bool { return bytes.Contains(s.at(i), p.at(i)) }), nil
}
