package expr

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata/parse files")

// TestParseData runs testdata/parse/*.txt. Each case is a directive line,
// the input (one or more lines), "----", and the expected output up to a
// blank line. Directives:
//
//	expr   ParseExpr, then String()
//	tree   ParseExpr, then an indented tree with literal types
//	exprs  ParseExprs, one String() per line
//	sort   ParseSortOrder, then String()
//	type   ParseType, then TypeName
//	ddl    ParseDDL, one field per line
//
// An error prints Error() (message, excerpt with caret, hint). Lines
// starting with # between cases are comments. Run with -rewrite to
// regenerate the expected output after a deliberate change.
func TestParseData(t *testing.T) {
	files, err := filepath.Glob("testdata/parse/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runParseFile(t, file) })
	}
}

type parseCase struct {
	directive string
	input     string
	expected  string
	line      int
}

func runParseFile(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var out strings.Builder
	var cases int
	for i := 0; i < len(lines); {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			out.WriteString(l)
			out.WriteByte('\n')
			i++
			continue
		}
		c := parseCase{directive: strings.TrimSpace(l), line: i + 1}
		i++
		var in []string
		for i < len(lines) && lines[i] != "----" {
			in = append(in, lines[i])
			i++
		}
		if i == len(lines) {
			t.Fatalf("%s:%d: case has no ---- line", file, c.line)
		}
		i++
		var exp []string
		for i < len(lines) && lines[i] != "" {
			exp = append(exp, lines[i])
			i++
		}
		c.input = strings.Join(in, "\n")
		c.expected = strings.Join(exp, "\n")
		got := runParseCase(t, c)
		cases++
		if !*rewrite && got != c.expected {
			t.Errorf("%s:%d: %s\n%s\n--- got:\n%s\n--- want:\n%s", file, c.line, c.directive, c.input, got, c.expected)
		}
		fmt.Fprintf(&out, "%s\n%s\n----\n%s\n", c.directive, c.input, got)
	}
	if cases == 0 {
		t.Fatalf("%s: no cases", file)
	}
	if *rewrite {
		s := strings.TrimRight(out.String(), "\n") + "\n"
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func runParseCase(t *testing.T, c parseCase) string {
	t.Helper()
	var res string
	var err error
	switch c.directive {
	case "expr", "tree":
		var e Expr
		if e, err = ParseExpr(c.input); err == nil {
			if c.directive == "tree" {
				var b strings.Builder
				dumpTree(&b, e, 0)
				res = strings.TrimRight(b.String(), "\n")
			} else {
				res = e.String()
			}
		}
	case "exprs":
		var es []Expr
		if es, err = ParseExprs(c.input); err == nil {
			parts := make([]string, len(es))
			for i, e := range es {
				parts[i] = e.String()
			}
			res = strings.Join(parts, "\n")
		}
	case "sort":
		var s *SortOrder
		if s, err = ParseSortOrder(c.input); err == nil {
			res = s.String()
		}
	case "type":
		var dt arrow.DataType
		if dt, err = ParseType(c.input); err == nil {
			res = TypeName(dt)
		}
	case "ddl":
		var s *arrow.Schema
		if s, err = ParseDDL(c.input); err == nil {
			res = formatSchema(s)
		}
	default:
		t.Fatalf("line %d: unknown directive %q", c.line, c.directive)
	}
	if err != nil {
		checkParseError(t, c.input, err)
		return err.Error()
	}
	return res
}

// checkParseError asserts the error contract: a *ParseError wrapping
// ErrParse, positioned inside the text.
func checkParseError(t testing.TB, text string, err error) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("%q: error %T is not a *ParseError: %v", text, err, err)
	}
	if !errors.Is(err, ErrParse) {
		t.Fatalf("%q: error does not wrap ErrParse: %v", text, err)
	}
	if pe.Pos.Offset < 0 || pe.Pos.Offset > len(text) {
		t.Fatalf("%q: error offset %d outside the text: %v", text, pe.Pos.Offset, err)
	}
	if want := PosOf(text, pe.Pos.Offset); want != pe.Pos {
		t.Fatalf("%q: error position %+v, want %+v", text, pe.Pos, want)
	}
}

func formatSchema(s *arrow.Schema) string {
	if s.NumFields() == 0 {
		return "(empty)"
	}
	var lines []string
	for _, f := range s.Fields() {
		l := QuoteIdent(f.Name) + " " + TypeName(f.Type)
		if !f.Nullable {
			l += " NOT NULL"
		}
		if c, ok := f.Metadata.GetValue("comment"); ok {
			l += " COMMENT '" + c + "'"
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}

// dumpTree writes e as an indented tree, with the type of every literal.
func dumpTree(b *strings.Builder, e Expr, depth int) {
	b.WriteString(strings.Repeat("  ", depth))
	switch n := e.(type) {
	case *Column:
		parts := make([]string, len(n.Parts))
		for i, p := range n.Parts {
			parts[i] = QuoteIdent(p)
		}
		fmt.Fprintf(b, "col %s\n", strings.Join(parts, " . "))
	case *Star:
		fmt.Fprintf(b, "star %s\n", n.String())
	case *Literal:
		fmt.Fprintf(b, "lit %s %s\n", FormatValue(n.Value, n.Type, true), TypeName(n.Type))
	case *Call:
		fmt.Fprintf(b, "call %s", n.Name)
		if n.Distinct {
			b.WriteString(" distinct")
		}
		if n.Star {
			b.WriteString(" *")
		}
		b.WriteByte('\n')
	case *Cast:
		fmt.Fprintf(b, "cast %s", TypeName(n.To))
		if n.Try {
			b.WriteString(" try")
		}
		b.WriteByte('\n')
	case *Alias:
		fmt.Fprintf(b, "alias %s\n", QuoteIdent(n.Name))
	case *Field:
		fmt.Fprintf(b, "field %s\n", QuoteIdent(n.Name))
	default:
		fmt.Fprintf(b, "%T %s\n", e, e)
	}
	for _, c := range e.Children() {
		dumpTree(b, c, depth+1)
	}
}
