package fn

// LIKE, ILIKE and RLIKE. A literal pattern is compiled once at bind time
// into the cheapest matcher that decides it: equality, prefix, suffix,
// contains, prefix+suffix, and a regular expression only for the rest
// (patterns with _ or several % between literals). Patterns that vary per
// row are compiled per distinct pattern.

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// matcher decides whether one input matches a compiled pattern.
type matcher func(s []byte) bool

// compileLike turns a LIKE pattern (% any sequence, _ one character, esc
// makes the next % _ or esc literal) into a matcher. fold lower-cases the
// pattern for ILIKE; the caller lower-cases the input.
func compileLike(pattern string, esc rune, fold bool) (matcher, error) {
	if fold {
		pattern = strings.ToLower(pattern)
	}
	// Tokenise into literal runs and wildcards.
	type tok struct {
		lit  string
		wild byte // '%' or '_' (0 for a literal run)
	}
	var toks []tok
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, tok{lit: cur.String()})
			cur.Reset()
		}
	}
	for i := 0; i < len(pattern); {
		r, w := utf8.DecodeRuneInString(pattern[i:])
		i += w
		switch {
		case r == esc:
			if i >= len(pattern) {
				return nil, fmt.Errorf("%w: LIKE pattern %q ends with the escape character %q; escape it or drop it", ErrInvalidArgument, pattern, esc)
			}
			n, w2 := utf8.DecodeRuneInString(pattern[i:])
			if n != '%' && n != '_' && n != esc {
				return nil, fmt.Errorf("%w: LIKE pattern %q: the escape character %q may only precede %%, _ or itself, not %q", ErrInvalidArgument, pattern, esc, n)
			}
			cur.WriteString(pattern[i : i+w2]) // raw bytes: invalid UTF-8 stays as is
			i += w2
		case r == '%' || r == '_':
			flush()
			if r == '%' && len(toks) > 0 && toks[len(toks)-1].wild == '%' {
				continue // %% is %
			}
			toks = append(toks, tok{wild: byte(r)})
		default:
			cur.WriteString(pattern[i-w : i])
		}
	}
	flush()
	hasUnderscore := false
	for _, t := range toks {
		hasUnderscore = hasUnderscore || t.wild == '_'
	}
	if !hasUnderscore {
		lit := func(t tok) bool { return t.wild == 0 }
		pct := func(t tok) bool { return t.wild == '%' }
		switch {
		case len(toks) == 0:
			return func(s []byte) bool { return len(s) == 0 }, nil
		case len(toks) == 1 && lit(toks[0]):
			p := toks[0].lit
			return func(s []byte) bool { return string(s) == p }, nil
		case len(toks) == 1 && pct(toks[0]):
			return func([]byte) bool { return true }, nil
		case len(toks) == 2 && lit(toks[0]) && pct(toks[1]):
			p := toks[0].lit
			return func(s []byte) bool { return len(s) >= len(p) && string(s[:len(p)]) == p }, nil
		case len(toks) == 2 && pct(toks[0]) && lit(toks[1]):
			p := toks[1].lit
			return func(s []byte) bool { return len(s) >= len(p) && string(s[len(s)-len(p):]) == p }, nil
		case len(toks) == 3 && pct(toks[0]) && lit(toks[1]) && pct(toks[2]):
			p := []byte(toks[1].lit)
			return func(s []byte) bool { return bytes.Contains(s, p) }, nil
		case len(toks) == 3 && lit(toks[0]) && pct(toks[1]) && lit(toks[2]):
			p, q := toks[0].lit, toks[2].lit
			return func(s []byte) bool {
				return len(s) >= len(p)+len(q) && string(s[:len(p)]) == p && string(s[len(s)-len(q):]) == q
			}, nil
		}
	}
	var re strings.Builder
	re.WriteString(`(?s)\A`)
	for _, t := range toks {
		switch t.wild {
		case '%':
			re.WriteString(`.*`)
		case '_':
			re.WriteString(`.`)
		default:
			re.WriteString(regexp.QuoteMeta(t.lit))
		}
	}
	re.WriteString(`\z`)
	rx, err := regexp.Compile(re.String())
	if err != nil {
		return nil, fmt.Errorf("%w: LIKE pattern %q: %v", ErrInvalidArgument, pattern, err)
	}
	return rx.Match, nil
}

// lowerInto lower-cases s into buf (ASCII fast path).
func lowerInto(buf, s []byte) []byte {
	for _, c := range s {
		if c >= utf8.RuneSelf {
			return append(buf[:0], bytes.ToLower(s)...)
		}
	}
	buf = buf[:0]
	for _, c := range s {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf
}

// bindLike binds LIKE / ILIKE (fold). The input is cast to string as Spark does.
func bindLike(name string, fold bool) func(args []expr.Arg) (*expr.Binding, error) {
	return func(args []expr.Arg) (*expr.Binding, error) {
		targets := []arrow.DataType{expr.String, expr.String, expr.String}
		for i, a := range args {
			if !CanCast(a.Type, expr.String) || (i > 0 && !isStringy(a.Type) && a.Type.ID() != arrow.NULL) {
				return nil, opTypeErr(name, args, "needs a string and a string pattern")
			}
		}
		esc := '\\'
		if len(args) == 3 {
			c := args[2].Const
			s, ok := "", false
			if c != nil {
				s, ok = c.Value.(string)
			}
			if !ok || utf8.RuneCountInString(s) != 1 {
				return nil, fmt.Errorf("%w: %s: the escape must be a one-character string literal", ErrInvalidArgument, name)
			}
			esc, _ = utf8.DecodeRuneInString(s)
		}
		o, err := coerce(args, targets[:len(args)])
		if err != nil {
			return nil, err
		}
		if o.nullConst {
			return o.binding(expr.Boolean, true, nil), nil
		}
		var fixed matcher
		if p := o.consts[1]; p != nil {
			m, err := compileLike(p.Value.(string), esc, fold)
			if err != nil {
				return nil, err
			}
			fixed = m
		}
		k := matchKernel(o, fold, fixed, func(p string) (matcher, error) { return compileLike(p, esc, fold) })
		return o.binding(expr.Boolean, anyNullable(args), k), nil
	}
}

// bindRLike binds RLIKE: true when the regular expression (Go RE2 syntax)
// matches anywhere in the input.
func bindRLike(args []expr.Arg) (*expr.Binding, error) {
	for i, a := range args {
		if !CanCast(a.Type, expr.String) || (i > 0 && !isStringy(a.Type) && a.Type.ID() != arrow.NULL) {
			return nil, opTypeErr("rlike", args, "needs a string and a string regular expression")
		}
	}
	o, err := coerce(args, []arrow.DataType{expr.String, expr.String})
	if err != nil {
		return nil, err
	}
	if o.nullConst {
		return o.binding(expr.Boolean, true, nil), nil
	}
	compile := func(p string) (matcher, error) {
		rx, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("%w: rlike: regular expression %q: %v", ErrInvalidArgument, p, err)
		}
		return rx.Match, nil
	}
	var fixed matcher
	if p := o.consts[1]; p != nil {
		if fixed, err = compile(p.Value.(string)); err != nil {
			return nil, err
		}
	}
	return o.binding(expr.Boolean, anyNullable(args), matchKernel(o, false, fixed, compile)), nil
}

// matchKernel evaluates a matcher per row; fixed is the compiled literal
// pattern (set whenever the pattern is a literal), else each distinct row
// pattern is compiled once per batch.
func matchKernel(o *operands, fold bool, fixed matcher, compile func(string) (matcher, error)) expr.Kernel {
	var cs []byte
	if o.consts[0] != nil {
		cs = litBytes(o.consts[0].Value)
	}
	return func(ec *expr.EvalContext, arrs []arrow.Array, n int) (arrow.Array, error) {
		a, p := arrs[0], arrs[1]
		var buf []byte
		get := func(s []byte) []byte {
			if fold {
				buf = lowerInto(buf, s)
				return buf
			}
			return s
		}
		if a != nil && (p == nil && fixed != nil) {
			return stringPredicate(ec.Mem, a, func(s []byte) bool { return fixed(get(s)) }), nil
		}
		// General: per-row patterns and/or a constant input.
		var ao, po []int32
		var ad, pd []byte
		if a != nil {
			ao, ad = stringData(a)
		}
		if p != nil {
			po, pd = stringData(p)
		}
		cache := map[string]matcher{}
		valid, nulls := andValidity(ec.Mem, n, a, p)
		var vb []byte
		if valid != nil {
			vb = valid.Bytes()
		}
		val, bits := allocBits(ec.Mem, n)
		for i := 0; i < n; i++ {
			if vb != nil && vb[i>>3]&(1<<(i&7)) == 0 {
				continue
			}
			s := cs
			if a != nil {
				s = ad[ao[i]:ao[i+1]]
			}
			m := fixed
			if p != nil {
				pat := string(pd[po[i]:po[i+1]])
				var ok bool
				if m, ok = cache[pat]; !ok {
					var err error
					if m, err = compile(pat); err != nil {
						val.Release()
						if valid != nil {
							valid.Release()
						}
						return nil, err
					}
					cache[pat] = m
				}
			}
			if m(get(s)) {
				bitutil.SetBit(bits, i)
			}
		}
		return makeArray(expr.Boolean, n, valid, nulls, val), nil
	}
}
