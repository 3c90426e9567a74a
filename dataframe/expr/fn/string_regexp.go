package fn

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Regular-expression functions. Spark uses java.util.regex; sluice uses Go's
// RE2, which has the same syntax for everyday patterns but no
// backreferences, lookaround or possessive quantifiers: such patterns are
// rejected with an error rather than silently matching differently. Matching
// is find-anywhere, as Java's Matcher.find.

// compileRegexp compiles a pattern, naming the function in the error.
func compileRegexp(fn, pattern string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: regular expression %q: %v (sluice uses RE2 syntax: no backreferences, lookahead or lookbehind)", ErrInvalidArgument, fn, pattern, err)
	}
	return re, nil
}

// libRegexp is a pattern argument: compiled at bind time when literal,
// otherwise per distinct value with a one-entry cache.
type libRegexp struct {
	fn    string
	konst *regexp.Regexp
	col   libStr
	isCol bool
	last  string
	re    *regexp.Regexp
}

func newLibRegexp(fn string, a arrow.Array, konst *regexp.Regexp) *libRegexp {
	if a == nil {
		return &libRegexp{fn: fn, konst: konst}
	}
	return &libRegexp{fn: fn, col: newLibStr(a, ""), isCol: true}
}

func (r *libRegexp) at(i int) (*regexp.Regexp, error) {
	if !r.isCol {
		return r.konst, nil
	}
	s := r.col.at(i)
	if r.re != nil && string(s) == r.last {
		return r.re, nil
	}
	re, err := compileRegexp(r.fn, string(s))
	if err != nil {
		return nil, err
	}
	r.last, r.re = string(s), re
	return re, nil
}

// bindRegexpArg compiles a literal pattern argument at bind time.
func bindRegexpArg(fn string, args []expr.Arg, i int) (*regexp.Regexp, error) {
	if args[i].Const == nil {
		return nil, nil
	}
	s, ok := libConstString(args[i].Const)
	if !ok {
		return nil, nil
	}
	return compileRegexp(fn, s)
}

func bindRegexpLike(args []expr.Arg) (*expr.Binding, error) {
	cast, err := libSigCast("regexp_like", "ss", args)
	if err != nil {
		return nil, err
	}
	konst, err := bindRegexpArg("regexp_like", args, 1)
	if err != nil {
		return nil, err
	}
	b := &expr.Binding{Type: expr.Boolean, Nullable: libAnyNullable(args), Cast: cast, ConstArgs: libConstTail(args)}
	if libAnyNullConst(args) {
		b.Kernel = nullKernel(expr.Boolean)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		s := strArg(a, args, 0)
		re := newLibRegexp("regexp_like", a[1], konst)
		var firstErr error
		out := boolRows(ec, n, a, func(i int) bool {
			r, err := re.at(i)
			if err != nil {
				firstErr = err
				return false
			}
			return r.Match(s.at(i))
		})
		if firstErr != nil {
			out.Release()
			return nil, firstErr
		}
		return out, nil
	}
	return b, nil
}

func bindRegexpExtract(args []expr.Arg) (*expr.Binding, error) {
	cast, err := libSigCast("regexp_extract", "ssi", args)
	if err != nil {
		return nil, err
	}
	konst, err := bindRegexpArg("regexp_extract", args, 1)
	if err != nil {
		return nil, err
	}
	if konst != nil && len(args) == 3 && args[2].Const != nil {
		if idx, ok := libConstInt(args[2].Const); ok && (idx < 0 || idx > int64(konst.NumSubexp())) {
			return nil, libArgErr("regexp_extract", 2, "the pattern has %d groups, so the group index %d is out of range", konst.NumSubexp(), idx)
		}
	}
	b := &expr.Binding{Type: expr.String, Nullable: libAnyNullable(args), Cast: cast, ConstArgs: libConstTail(args)}
	if libAnyNullConst(args) {
		b.Kernel = nullKernel(expr.String)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		s := strArg(a, args, 0)
		re := newLibRegexp("regexp_extract", a[1], konst)
		idx := intArg(a, args, 2, 1)
		var firstErr error
		res, err := strRows(ec, expr.String, n, 0, a, func(i int, dst []byte) ([]byte, bool) {
			r, err := re.at(i)
			if err != nil {
				firstErr = err
				return dst, false
			}
			g := idx.at(i)
			if g < 0 || g > int64(r.NumSubexp()) {
				firstErr = fmt.Errorf("%w: regexp_extract: the pattern has %d groups, so the group index %d is out of range", ErrInvalidArgument, r.NumSubexp(), g)
				return dst, false
			}
			str := s.at(i)
			m := r.FindSubmatchIndex(str)
			if m == nil || m[2*g] < 0 {
				return dst, true
			}
			return append(dst, str[m[2*g]:m[2*g+1]]...), true
		})
		if err == nil && firstErr != nil {
			res.Release()
			return nil, firstErr
		}
		return res, err
	}
	return b, nil
}

// javaReplacement converts a java.util.regex replacement ($1, ${name},
// backslash escapes) into a Go Expand template for re.
func javaReplacement(rep string, re *regexp.Regexp) (string, error) {
	var sb strings.Builder
	groups := re.NumSubexp()
	for i := 0; i < len(rep); i++ {
		c := rep[i]
		switch c {
		case '\\':
			i++
			if i >= len(rep) {
				return "", fmt.Errorf("%w: regexp_replace: character to be escaped is missing at the end of %q", ErrInvalidArgument, rep)
			}
			if rep[i] == '$' {
				sb.WriteString("$$")
			} else {
				sb.WriteByte(rep[i])
			}
		case '$':
			i++
			if i >= len(rep) {
				return "", fmt.Errorf("%w: regexp_replace: illegal group reference at the end of %q", ErrInvalidArgument, rep)
			}
			if rep[i] == '{' {
				end := strings.IndexByte(rep[i:], '}')
				if end < 0 {
					return "", fmt.Errorf("%w: regexp_replace: unclosed group name in %q", ErrInvalidArgument, rep)
				}
				name := rep[i+1 : i+end]
				if re.SubexpIndex(name) < 0 {
					return "", fmt.Errorf("%w: regexp_replace: no group named %q", ErrInvalidArgument, name)
				}
				sb.WriteString("${" + name + "}")
				i += end
				continue
			}
			if rep[i] < '0' || rep[i] > '9' {
				return "", fmt.Errorf("%w: regexp_replace: illegal group reference in %q", ErrInvalidArgument, rep)
			}
			// Java reads the first digit, then more digits while the
			// number stays a valid group.
			g := int(rep[i] - '0')
			if g > groups {
				return "", fmt.Errorf("%w: regexp_replace: no group %d in the pattern", ErrInvalidArgument, g)
			}
			for i+1 < len(rep) && rep[i+1] >= '0' && rep[i+1] <= '9' && g*10+int(rep[i+1]-'0') <= groups {
				i++
				g = g*10 + int(rep[i]-'0')
			}
			fmt.Fprintf(&sb, "${%d}", g)
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String(), nil
}

// appendReplaceAll appends s with every match of re at or after byte from
// replaced by the template.
func appendReplaceAll(dst, s []byte, from int, re *regexp.Regexp, tmpl string, literal bool) []byte {
	dst = append(dst, s[:from]...)
	rest := s[from:]
	last := 0
	for _, m := range re.FindAllSubmatchIndex(rest, -1) {
		dst = append(dst, rest[last:m[0]]...)
		if literal {
			dst = append(dst, tmpl...)
		} else {
			dst = re.Expand(dst, []byte(tmpl), rest, m)
		}
		last = m[1]
	}
	return append(dst, rest[last:]...)
}

// bindRegexpReplace binds regexp_replace(str, regex, rep[, pos]) with
// Java replacement syntax; pos (1-based characters) starts the search.
func bindRegexpReplace(args []expr.Arg) (*expr.Binding, error) {
	cast, err := libSigCast("regexp_replace", "sssi", args)
	if err != nil {
		return nil, err
	}
	konst, err := bindRegexpArg("regexp_replace", args, 1)
	if err != nil {
		return nil, err
	}
	if len(args) == 4 && args[3].Const != nil {
		if p, ok := libConstInt(args[3].Const); ok && p <= 0 {
			return nil, libArgErr("regexp_replace", 3, "position must be positive, got %d", p)
		}
	}
	var konstTmpl string
	konstLiteral := false
	if konst != nil && args[2].Const != nil {
		rep, _ := libConstString(args[2].Const)
		if konstTmpl, err = javaReplacement(rep, konst); err != nil {
			return nil, err
		}
		konstLiteral = !strings.ContainsAny(rep, `$\`)
	}
	b := &expr.Binding{Type: expr.String, Nullable: libAnyNullable(args), Cast: cast, ConstArgs: libConstTail(args)}
	if libAnyNullConst(args) {
		b.Kernel = nullKernel(expr.String)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		s, rep := strArg(a, args, 0), strArg(a, args, 2)
		re := newLibRegexp("regexp_replace", a[1], konst)
		pos := intArg(a, args, 3, 1)
		useKonst := konst != nil && a[1] == nil && a[2] == nil
		var lastRep string
		var lastRe *regexp.Regexp
		var lastTmpl string
		var firstErr error
		res, err := strRows(ec, expr.String, n, 0, a, func(i int, dst []byte) ([]byte, bool) {
			r, err := re.at(i)
			if err != nil {
				firstErr = err
				return dst, false
			}
			tmpl, literal := konstTmpl, konstLiteral
			if !useKonst {
				if rs := rep.at(i); lastRe != r || string(rs) != lastRep {
					if lastTmpl, err = javaReplacement(string(rs), r); err != nil {
						firstErr = err
						return dst, false
					}
					lastRep, lastRe = string(rs), r
				}
				tmpl, literal = lastTmpl, !strings.ContainsAny(lastRep, `$\`)
			}
			str := s.at(i)
			p := pos.at(i)
			if p <= 0 {
				firstErr = fmt.Errorf("%w: regexp_replace: position must be positive, got %d", ErrInvalidArgument, p)
				return dst, false
			}
			from := charOffset(str, int(min(p-1, int64(len(str)))))
			if p > 1 && from >= len(str) {
				return append(dst, str...), true
			}
			return appendReplaceAll(dst, str, from, r, tmpl, literal), true
		})
		if err == nil && firstErr != nil {
			res.Release()
			return nil, firstErr
		}
		return res, err
	}
	return b, nil
}

// sparkSplit splits s around matches of re as Spark's split: Java's
// String.split with a negative limit for limit <= 0 (trailing empty
// strings kept), at most limit pieces otherwise; an empty pattern splits
// into characters.
func sparkSplit(dst [][]byte, s []byte, re *regexp.Regexp, limit int) [][]byte {
	if len(s) > 0 && re.String() == "" {
		chars := charCount(s)
		if limit <= 0 || limit > chars {
			limit = chars
		}
		for k := 0; k < limit-1; k++ {
			_, size := utf8.DecodeRune(s)
			dst = append(dst, s[:size])
			s = s[size:]
		}
		return append(dst, s)
	}
	start := len(dst)
	index := 0
	for _, m := range re.FindAllIndex(s, -1) {
		if limit > 0 && len(dst)-start >= limit-1 {
			break
		}
		if m[1] == 0 { // a zero-width match at the start gives no leading empty piece
			continue
		}
		dst = append(dst, s[index:m[0]])
		index = m[1]
	}
	return append(dst, s[index:])
}

func bindSplit(args []expr.Arg) (*expr.Binding, error) {
	cast, err := libSigCast("split", "ssi", args)
	if err != nil {
		return nil, err
	}
	konst, err := bindRegexpArg("split", args, 1)
	if err != nil {
		return nil, err
	}
	out := arrow.ListOf(expr.String)
	b := &expr.Binding{Type: out, Nullable: libAnyNullable(args), Cast: cast, ConstArgs: libConstTail(args)}
	if libAnyNullConst(args) {
		b.Kernel = nullKernel(out)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		s := strArg(a, args, 0)
		re := newLibRegexp("split", a[1], konst)
		limit := intArg(a, args, 2, -1)
		valid, vb := libValidity(ec.Mem, n, a...)
		if valid != nil {
			defer valid.Release()
		}
		lb := array.NewListBuilder(ec.Mem, expr.String)
		defer lb.Release()
		vals := lb.ValueBuilder().(*array.StringBuilder)
		var parts [][]byte
		for i := 0; i < n; i++ {
			if !vb.ok(i) {
				lb.AppendNull()
				continue
			}
			r, err := re.at(i)
			if err != nil {
				return nil, err
			}
			parts = sparkSplit(parts[:0], s.at(i), r, int(limit.at(i)))
			lb.Append(true)
			for _, p := range parts {
				vals.BinaryBuilder.Append(p)
			}
		}
		return lb.NewArray(), nil
	}
	return b, nil
}
