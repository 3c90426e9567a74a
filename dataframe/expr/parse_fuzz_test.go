package expr

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdataInputs returns the inputs of the testdata/parse cases whose
// directive is one of dirs, to seed the fuzzers.
func testdataInputs(t testing.TB, dirs ...string) []string {
	files, _ := filepath.Glob("testdata/parse/*.txt")
	var out []string
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		for i := 0; i < len(lines); i++ {
			d := strings.TrimSpace(lines[i])
			if d == "" || strings.HasPrefix(d, "#") || d == "----" {
				continue
			}
			var in []string
			j := i + 1
			for j < len(lines) && lines[j] != "----" {
				in = append(in, lines[j])
				j++
			}
			for _, want := range dirs {
				if d == want {
					out = append(out, strings.Join(in, "\n"))
				}
			}
			// Skip the expected output.
			for j++; j < len(lines) && lines[j] != ""; j++ {
			}
			i = j
		}
	}
	return out
}

// FuzzParseExpr checks that no input panics the expression parser and that
// every error is a *ParseError positioned inside the text.
func FuzzParseExpr(f *testing.F) {
	for _, s := range testdataInputs(f, "expr", "tree", "exprs", "sort") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if e, err := ParseExpr(text); err != nil {
			checkParseError(t, text, err)
			_ = err.Error()
		} else {
			_ = e.String()
		}
		if es, err := ParseExprs(text); err != nil {
			checkParseError(t, text, err)
		} else {
			for _, e := range es {
				_ = e.String()
			}
		}
		if s, err := ParseSortOrder(text); err != nil {
			checkParseError(t, text, err)
		} else {
			_ = s.String()
		}
	})
}

// FuzzParseDDL checks the same for the DDL and type parsers.
func FuzzParseDDL(f *testing.F) {
	for _, s := range testdataInputs(f, "ddl", "type") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if s, err := ParseDDL(text); err != nil {
			checkParseError(t, text, err)
			_ = err.Error()
		} else {
			_ = s.String()
		}
		if dt, err := ParseType(text); err != nil {
			checkParseError(t, text, err)
		} else {
			_ = TypeName(dt)
		}
	})
}
