package dataframe

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// sqlFuzzSession registers every table of the SQL corpus as an empty
// view, so the corpus queries (the seeds) plan and their mutations reach
// the planner.
func sqlFuzzSession(t testing.TB) (*Session, []string) {
	files, _ := filepath.Glob("testdata/sql/*.txt")
	if len(files) == 0 {
		t.Fatal("no testdata/sql files")
	}
	s := NewSession()
	var seeds []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		for i := 0; i < len(lines); i++ {
			d := strings.Fields(lines[i])
			if len(d) == 0 || (d[0] != "query" && d[0] != "plan" && d[0] != "table") {
				continue
			}
			var in []string
			j := i + 1
			for ; j < len(lines) && lines[j] != "----"; j++ {
				in = append(in, lines[j])
			}
			i = j
			if d[0] == "table" {
				schema, err := expr.ParseDDL(strings.TrimPrefix(in[0], "schema:"))
				if err != nil {
					t.Fatal(err)
				}
				if err := s.CreateDataFrame(schema).CreateOrReplaceTempView(d[1]); err != nil {
					t.Fatal(err)
				}
				continue
			}
			text, _, _ := strings.Cut(strings.Join(in, "\n"), "\n==\n")
			seeds = append(seeds, text)
		}
	}
	return s, seeds
}

// FuzzSQL plans arbitrary statements over the corpus's views: nothing
// panics, and every error is a syntax error or an analysis error placed
// inside the text (a *expr.ParseError or *expr.SQLError).
func FuzzSQL(f *testing.F) {
	s, seeds := sqlFuzzSession(f)
	for _, q := range seeds {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, text string) {
		// A statement that takes seconds to plan is a bug too (and would
		// stall the fuzzer without a report).
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				panic(fmt.Sprintf("planning %q takes more than 10s", text))
			}
		}()
		df := s.SQL(text)
		if err := df.Err(); err != nil {
			checkPositioned(t, text, err)
			return
		}
		_ = df.Explain(true)
	})
}

// Every error of the corpus carries a position in the text.
func TestSQLErrorsArePositioned(t *testing.T) {
	s, seeds := sqlFuzzSession(t)
	for _, q := range seeds {
		if err := s.SQL(q).Err(); err != nil {
			checkPositioned(t, q, err)
		}
	}
}

func checkPositioned(t *testing.T, text string, err error) {
	t.Helper()
	var pos expr.Pos
	var se *expr.SQLError
	var pe *expr.ParseError
	switch {
	case errors.As(err, &se):
		pos = se.Pos
		if se.Msg == "" || se.Err == nil {
			t.Fatalf("%q: analysis error without message or cause: %#v", text, se)
		}
	case errors.As(err, &pe):
		pos = pe.Pos
	default:
		t.Fatalf("%q: error without a position (%T): %v", text, err, err)
	}
	if pos.Offset < 0 || pos.Offset > len(text) || expr.PosOf(text, pos.Offset) != pos {
		t.Fatalf("%q: position %+v is not in the text: %v", text, pos, err)
	}
	_ = err.Error()
}
