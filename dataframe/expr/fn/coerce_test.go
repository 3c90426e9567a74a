package fn

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

func TestCommonType(t *testing.T) {
	d := func(p, s int32) arrow.DataType { return &arrow.Decimal128Type{Precision: p, Scale: s} }
	dict := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: expr.String}
	for _, tc := range []struct {
		a, b arrow.DataType
		want string // "" = no common type
	}{
		{expr.Int32, expr.Int64, "bigint"},
		{expr.Int8, expr.Int16, "smallint"},
		{expr.Int64, expr.Float32, "float"},
		{expr.Int32, expr.Float64, "double"},
		{expr.Null, expr.Date, "date"},
		{expr.String, expr.Null, "string"},
		{expr.Int32, d(5, 2), "decimal(12,2)"},
		{expr.Int64, d(38, 2), "decimal(38,2)"},
		{d(10, 2), d(5, 4), "decimal(12,4)"},
		{d(10, 2), expr.Float64, "double"},
		{expr.Date, expr.Timestamp, "timestamp"},
		{expr.String, expr.Int32, "string"},
		{expr.Timestamp, expr.String, "string"},
		{expr.String, expr.Boolean, ""},
		{expr.String, expr.Binary, ""},
		{expr.Boolean, expr.Int32, ""},
		{dict, expr.String, "string"},
		{arrow.BinaryTypes.LargeString, expr.String, "string"},
		{arrow.PrimitiveTypes.Uint32, expr.Int32, "bigint"},
		{arrow.ListOf(expr.Int32), arrow.ListOf(expr.Int64), "array<bigint>"},
		{arrow.ListOf(expr.Int32), expr.Int64, ""},
		{arrow.StructOf(arrow.Field{Name: "a", Type: expr.Int32}), arrow.StructOf(arrow.Field{Name: "A", Type: expr.Float64}), "struct<a:double>"},
		{arrow.StructOf(arrow.Field{Name: "a", Type: expr.Int32}), arrow.StructOf(arrow.Field{Name: "b", Type: expr.Int32}), ""},
	} {
		got, ok := CommonType(tc.a, tc.b)
		name := ""
		if ok {
			name = expr.TypeName(got)
		}
		if name != tc.want {
			t.Errorf("CommonType(%s, %s) = %q, want %q", expr.TypeName(tc.a), expr.TypeName(tc.b), name, tc.want)
		}
		if back, ok2 := CommonType(tc.b, tc.a); ok != ok2 || (ok && !strings.EqualFold(expr.TypeName(back), name)) {
			t.Errorf("CommonType not symmetric for %s, %s", expr.TypeName(tc.a), expr.TypeName(tc.b))
		}
	}
}

func TestCanCastAgreesWithCastKernel(t *testing.T) {
	types := []arrow.DataType{
		expr.Null, expr.Boolean, expr.Int8, expr.Int16, expr.Int32, expr.Int64, expr.Float32, expr.Float64,
		&arrow.Decimal128Type{Precision: 10, Scale: 2}, expr.String, expr.Binary, expr.Date, expr.Timestamp, expr.Interval,
		arrow.ListOf(expr.Int32), arrow.ListOf(expr.String), arrow.StructOf(arrow.Field{Name: "a", Type: expr.Int32}),
		arrow.BinaryTypes.LargeString, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: expr.String},
	}
	for _, from := range types {
		for _, to := range types {
			_, err := CastKernel(from, to, true)
			if can := CanCast(from, to); can != (err == nil) {
				t.Errorf("CanCast(%s, %s) = %v but CastKernel error = %v", from, to, can, err)
			}
		}
	}
	for _, tc := range []struct {
		from, to arrow.DataType
		want     bool
	}{
		{expr.String, expr.Int32, true}, {expr.Int32, expr.String, true}, {expr.Date, expr.Int32, false},
		{expr.Int32, expr.Date, false}, {expr.Timestamp, expr.Int64, true}, {expr.Int64, expr.Timestamp, true},
		{expr.Boolean, expr.Date, false}, {expr.Binary, expr.Int32, false}, {expr.Int32, expr.Binary, true},
		{expr.Interval, expr.Int64, false}, {arrow.ListOf(expr.Int32), arrow.ListOf(expr.String), true},
	} {
		if got := CanCast(tc.from, tc.to); got != tc.want {
			t.Errorf("CanCast(%s, %s) = %v, want %v", expr.TypeName(tc.from), expr.TypeName(tc.to), got, tc.want)
		}
	}
}

func TestBindErrorsNameOperatorAndTypes(t *testing.T) {
	f, _ := Lookup("+")
	_, err := f.Bind([]expr.Arg{{Type: expr.String}, {Type: expr.Boolean}})
	if err == nil || !strings.Contains(err.Error(), "cannot apply + to string and boolean") {
		t.Fatalf("got %v", err)
	}
	f, _ = Lookup("<")
	_, err = f.Bind([]expr.Arg{{Type: expr.Date}, {Type: expr.Boolean}})
	if err == nil || !strings.Contains(err.Error(), "cannot apply < to date and boolean") {
		t.Fatalf("got %v", err)
	}
}

// likeRegexpForTest is the regexp form of a LIKE pattern without escapes
// or underscores, to cross-check the fast paths.
func likeRegexpForTest(pat string) *regexp.Regexp {
	parts := strings.Split(pat, "%")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(`(?s)\A` + strings.Join(parts, ".*") + `\z`)
}

func utf8Valid(s string) bool { return utf8.ValidString(s) }
