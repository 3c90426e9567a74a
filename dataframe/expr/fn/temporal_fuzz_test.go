package fn

import (
	"errors"
	"regexp"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// FuzzDatetimePattern feeds arbitrary patterns and inputs to the pattern
// compiler, formatter and parser: they must never panic, a rejected pattern
// must say so with ErrDatetimePattern, and whatever a pattern formats must
// parse back without panicking.
func FuzzDatetimePattern(f *testing.F) {
	seeds := []struct {
		pattern, input string
		us             int64
	}{
		{"yyyy-MM-dd HH:mm:ss", "2024-02-29 13:45:30", 0},
		{"yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX", "2016-12-31T10:11:12.123456+01:00", 1709214330123456},
		{"yyyyMMddHHmmss", "20240229134530", -1},
		{"EEEE, MMMM d, yyyy h:mm a", "Thursday, February 29, 2024 1:45 PM", 951782400000000},
		{"[yyyy][-MM[-dd]]", "2024-02", -62135596800000000},
		{"D yy G QQQ qqqq VV z O ZZZZ x", "60 24 AD Q1 1st quarter UTC UTC GMT+01:00 GMT +01", 1},
		{"'quoted''s' '' [[x]]", "quoted's ' +00", 86400000000},
		{"yyyy-MM-dd Y", "", 0},
		{"[", "", 0},
		{"'", "", 0},
	}
	for _, s := range seeds {
		f.Add(s.pattern, s.input, s.us)
	}
	f.Fuzz(func(t *testing.T, pattern, input string, us int64) {
		if len(pattern) > 256 {
			return
		}
		p, err := compileDatetimePattern(pattern)
		if err != nil {
			if !errors.Is(err, ErrDatetimePattern) || !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("compile %q: error %v is not ErrDatetimePattern", pattern, err)
			}
			return
		}
		us %= maxEpochMicros
		out := p.appendFormat(nil, us)
		p.parse(out)
		p.parse([]byte(input))
	})
}

// FuzzJavaFormat covers the other two little parsers of this package:
// format_string's Java format strings and regexp_replace's Java
// replacement strings.
func FuzzJavaFormat(f *testing.F) {
	for _, s := range []string{"%d %s", "%2$s-%1$05d|%-4s|%.2f|%,d|%x|%%|%b%n", "%", "%.", "%5.", "$1 ${name} \\$ $", "%c%C%X%o%e%G"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if specs, err := compileJavaFormat(s); err == nil {
			vals := []any{int32(-42), "x", 3.5, nil, true}
			types := []arrow.DataType{expr.Int32, expr.String, expr.Float64, expr.String, expr.Boolean}
			_, _ = appendJavaFormat(nil, specs, vals, types)
		} else if !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("compileJavaFormat(%q): %v", s, err)
		}
		re := regexp.MustCompile(`(?P<name>a)(b)?`)
		if tmpl, err := javaReplacement(s, re); err == nil {
			_ = appendReplaceAll(nil, []byte("xabyab"), 0, re, tmpl, false)
		}
	})
}
