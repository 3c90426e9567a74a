package fn

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// format_string / printf with java.util.Formatter's common conversions:
// %s %S %d %x %X %o %f %e %E %g %G %c %b %B %% %n, argument indexes
// (%2$s), flags - + 0 space # , and width/precision. Values are read per
// row (this function is not on hot paths).

type fmtSpec struct {
	lit       string // literal text before the spec (or the whole tail)
	argIndex  int    // 1-based explicit index, 0 = next, -1 = none (%% %n)
	flags     string
	width     int // -1 none
	precision int // -1 none
	conv      byte
}

// compileJavaFormat parses a Java format string into literal and
// conversion parts.
func compileJavaFormat(f string) ([]fmtSpec, error) {
	var out []fmtSpec
	var lit strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			lit.WriteByte(f[i])
			continue
		}
		j := i + 1
		sp := fmtSpec{width: -1, precision: -1}
		// argument index: digits followed by '$'
		k := j
		for k < len(f) && f[k] >= '0' && f[k] <= '9' {
			k++
		}
		if k < len(f) && k > j && f[k] == '$' {
			sp.argIndex, _ = strconv.Atoi(f[j:k])
			j = k + 1
		}
		for j < len(f) && strings.IndexByte("-#+ 0,(", f[j]) >= 0 {
			sp.flags += string(f[j])
			j++
		}
		k = j
		for k < len(f) && f[k] >= '0' && f[k] <= '9' {
			k++
		}
		if k > j {
			sp.width, _ = strconv.Atoi(f[j:k])
			j = k
		}
		if j < len(f) && f[j] == '.' {
			k = j + 1
			for k < len(f) && f[k] >= '0' && f[k] <= '9' {
				k++
			}
			if k == j+1 {
				return nil, fmt.Errorf("%w: format_string: missing precision after '.' in %q", ErrInvalidArgument, f)
			}
			sp.precision, _ = strconv.Atoi(f[j+1 : k])
			j = k
		}
		if j >= len(f) {
			return nil, fmt.Errorf("%w: format_string: incomplete conversion at the end of %q", ErrInvalidArgument, f)
		}
		sp.conv = f[j]
		switch sp.conv {
		case '%', 'n':
			if sp.conv == '%' {
				lit.WriteByte('%')
			} else {
				lit.WriteByte('\n')
			}
			i = j
			continue
		case 's', 'S', 'd', 'x', 'X', 'o', 'f', 'e', 'E', 'g', 'G', 'c', 'C', 'b', 'B':
		default:
			return nil, fmt.Errorf("%w: format_string: unknown conversion '%c' in %q", ErrInvalidArgument, sp.conv, f)
		}
		sp.lit = lit.String()
		lit.Reset()
		out = append(out, sp)
		i = j
	}
	out = append(out, fmtSpec{lit: lit.String(), argIndex: -1})
	return out, nil
}

// goVerb builds the Go fmt verb for a spec (without the ',' and '('
// flags, which Go lacks and which are applied by hand).
func (sp *fmtSpec) goVerb(conv byte) string {
	var b strings.Builder
	b.WriteByte('%')
	for _, f := range sp.flags {
		if f != ',' && f != '(' {
			b.WriteRune(f)
		}
	}
	if sp.width >= 0 {
		b.WriteString(strconv.Itoa(sp.width))
	}
	if sp.precision >= 0 {
		b.WriteByte('.')
		b.WriteString(strconv.Itoa(sp.precision))
	}
	b.WriteByte(conv)
	return b.String()
}

// groupDigits inserts ',' every three digits of the integer part of s.
func groupDigits(s string) string {
	start := 0
	for start < len(s) && (s[start] < '0' || s[start] > '9') {
		start++
	}
	end := start
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	digits := s[start:end]
	if len(digits) <= 3 {
		return s
	}
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return s[:start] + b.String() + s[end:]
}

// appendJavaFormat renders one row.
func appendJavaFormat(dst []byte, specs []fmtSpec, vals []any, types []arrow.DataType) ([]byte, error) {
	next := 0
	for _, sp := range specs {
		dst = append(dst, sp.lit...)
		if sp.argIndex < 0 {
			continue
		}
		idx := next
		if sp.argIndex > 0 {
			idx = sp.argIndex - 1
		} else {
			next++
		}
		if idx >= len(vals) {
			return dst, fmt.Errorf("%w: format_string: the format needs argument %d but only %d were given", ErrInvalidArgument, idx+1, len(vals))
		}
		v, dt := vals[idx], types[idx]
		var s string
		conv := sp.conv
		upper := conv == 'S' || conv == 'X' || conv == 'E' || conv == 'G' || conv == 'B' || conv == 'C'
		switch conv {
		case 's', 'S':
			str := "null"
			if v != nil {
				str = expr.FormatValue(v, dt, false)
			}
			s = fmt.Sprintf(sp.goVerb('s'), str)
		case 'b', 'B':
			bv := v != nil
			if x, ok := v.(bool); ok {
				bv = x
			}
			s = fmt.Sprintf(sp.goVerb('s'), strconv.FormatBool(bv))
		case 'c', 'C':
			if v == nil {
				s = fmt.Sprintf(sp.goVerb('s'), "null")
				break
			}
			r, ok := formatInt(v)
			if !ok {
				if str, isStr := v.(string); isStr && len([]rune(str)) == 1 {
					r, ok = int64([]rune(str)[0]), true
				}
			}
			if !ok {
				return dst, fmt.Errorf("%w: format_string: %%c needs a character, got %s", ErrInvalidArgument, expr.TypeName(dt))
			}
			s = fmt.Sprintf(sp.goVerb('s'), string(rune(r)))
		case 'd', 'x', 'X', 'o':
			if v == nil {
				s = fmt.Sprintf(sp.goVerb('s'), "null")
				break
			}
			iv, ok := formatInt(v)
			if !ok {
				return dst, fmt.Errorf("%w: format_string: %%%c needs an integer, got %s", ErrInvalidArgument, conv, expr.TypeName(dt))
			}
			if conv != 'd' && iv < 0 {
				// Java renders negative ints in hex/octal as two's complement of their width.
				var u uint64
				switch dt.ID() {
				case arrow.INT8:
					u = uint64(uint8(iv))
				case arrow.INT16:
					u = uint64(uint16(iv))
				case arrow.INT32:
					u = uint64(uint32(iv))
				default:
					u = uint64(iv)
				}
				s = fmt.Sprintf(sp.goVerb(lowerByte(conv)), u)
			} else {
				s = fmt.Sprintf(sp.goVerb(lowerByte(conv)), iv)
			}
			if strings.Contains(sp.flags, ",") {
				s = groupDigits(s)
			}
		case 'f', 'e', 'E', 'g', 'G':
			if v == nil {
				s = fmt.Sprintf(sp.goVerb('s'), "null")
				break
			}
			fv, ok := formatFloat(v, dt)
			if !ok {
				return dst, fmt.Errorf("%w: format_string: %%%c needs a number, got %s", ErrInvalidArgument, conv, expr.TypeName(dt))
			}
			if math.IsNaN(fv) || math.IsInf(fv, 0) {
				s = fmt.Sprintf(sp.goVerb('s'), expr.FormatValue(fv, expr.Float64, false))
				break
			}
			if sp.precision < 0 {
				sp.precision = 6
			}
			s = fmt.Sprintf(sp.goVerb(lowerByte(conv)), fv)
			if strings.Contains(sp.flags, ",") {
				s = groupDigits(s)
			}
		}
		if upper {
			s = strings.ToUpper(s)
		}
		dst = append(dst, s...)
	}
	return dst, nil
}

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

func formatInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	}
	return 0, false
}

func formatFloat(v any, dt arrow.DataType) (float64, bool) {
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	case decimal128.Num:
		if d, ok := dt.(*arrow.Decimal128Type); ok {
			return x.ToFloat64(d.Scale), true
		}
	}
	return 0, false
}

func bindFormatString(args []expr.Arg) (*expr.Binding, error) {
	cast := make([]arrow.DataType, len(args))
	c, err := libStringCast("format_string", 0, args[0].Type)
	if err != nil {
		return nil, err
	}
	cast[0] = c
	var konst []fmtSpec
	if args[0].Const != nil {
		if f, ok := libConstString(args[0].Const); ok {
			if konst, err = compileJavaFormat(f); err != nil {
				return nil, err
			}
		}
	}
	b := &expr.Binding{Type: expr.String, Nullable: args[0].Nullable, Cast: cast}
	if libNullConst(args[0]) {
		b.Kernel = nullKernel(expr.String)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		fs := newLibStr(a[0], "")
		vals := make([]any, len(a)-1)
		types := make([]arrow.DataType, len(a)-1)
		for k := range types {
			types[k] = a[k+1].DataType()
		}
		var lastF string
		specs := konst
		var firstErr error
		res, err := strRows(ec, expr.String, n, 0, a[:1], func(i int, dst []byte) ([]byte, bool) {
			if konst == nil {
				if f := fs.at(i); specs == nil || string(f) != lastF {
					lastF = string(f)
					if specs, firstErr = compileJavaFormat(lastF); firstErr != nil {
						return dst, false
					}
				}
			}
			for k := range vals {
				vals[k] = expr.ValueAt(a[k+1], i)
			}
			out, err := appendJavaFormat(dst, specs, vals, types)
			if err != nil {
				firstErr = err
				return dst, false
			}
			return out, true
		})
		if err == nil && firstErr != nil {
			res.Release()
			return nil, firstErr
		}
		return res, err
	}
	return b, nil
}
