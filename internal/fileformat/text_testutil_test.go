package fileformat

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sluicehq/sluice/dataframe/expr"
)

// Test helpers shared by the text-format tests: a tiny DDL parser for
// schemas, a row renderer, and a runner for testdata case files.

// parseTestSchema parses "a int, b struct<x:int,y:array<string>>".
func parseTestSchema(t testing.TB, s string) *arrow.Schema {
	t.Helper()
	s = strings.TrimSpace(s)
	if s == "" {
		return arrow.NewSchema(nil, nil)
	}
	var fields []arrow.Field
	for _, part := range splitTop(s, ',') {
		part = strings.TrimSpace(part)
		sp := strings.IndexAny(part, " :")
		if sp < 0 {
			t.Fatalf("bad field %q", part)
		}
		dt, err := parseTestType(strings.TrimSpace(part[sp+1:]))
		if err != nil {
			t.Fatal(err)
		}
		fields = append(fields, arrow.Field{Name: part[:sp], Type: dt, Nullable: true})
	}
	return arrow.NewSchema(fields, nil)
}

func splitTop(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '<', '(':
			depth++
		case '>', ')':
			depth--
		case sep:
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func parseTestType(s string) (arrow.DataType, error) {
	switch s {
	case "boolean":
		return arrow.FixedWidthTypes.Boolean, nil
	case "tinyint":
		return arrow.PrimitiveTypes.Int8, nil
	case "smallint":
		return arrow.PrimitiveTypes.Int16, nil
	case "int":
		return arrow.PrimitiveTypes.Int32, nil
	case "bigint":
		return arrow.PrimitiveTypes.Int64, nil
	case "float":
		return arrow.PrimitiveTypes.Float32, nil
	case "double":
		return arrow.PrimitiveTypes.Float64, nil
	case "string":
		return arrow.BinaryTypes.String, nil
	case "binary":
		return arrow.BinaryTypes.Binary, nil
	case "date":
		return expr.Date, nil
	case "timestamp":
		return expr.Timestamp, nil
	case "timestamp_ms":
		return &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, nil
	case "map":
		return arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String), nil
	}
	switch {
	case strings.HasPrefix(s, "decimal(") && strings.HasSuffix(s, ")"):
		ps := strings.Split(s[8:len(s)-1], ",")
		p, _ := strconv.Atoi(strings.TrimSpace(ps[0]))
		sc, _ := strconv.Atoi(strings.TrimSpace(ps[1]))
		return &arrow.Decimal128Type{Precision: int32(p), Scale: int32(sc)}, nil
	case strings.HasPrefix(s, "array<") && strings.HasSuffix(s, ">"):
		et, err := parseTestType(s[6 : len(s)-1])
		if err != nil {
			return nil, err
		}
		return arrow.ListOf(et), nil
	case strings.HasPrefix(s, "struct<") && strings.HasSuffix(s, ">"):
		var fields []arrow.Field
		for _, part := range splitTop(s[7:len(s)-1], ',') {
			c := strings.IndexByte(part, ':')
			if c < 0 {
				return nil, fmt.Errorf("bad struct field %q", part)
			}
			ft, err := parseTestType(strings.TrimSpace(part[c+1:]))
			if err != nil {
				return nil, err
			}
			fields = append(fields, arrow.Field{Name: strings.TrimSpace(part[:c]), Type: ft, Nullable: true})
		}
		return arrow.StructOf(fields...), nil
	}
	return nil, fmt.Errorf("unknown test type %q", s)
}

// renderValue prints one cell for golden output.
func renderValue(arr arrow.Array, i int) string {
	if arr.IsNull(i) {
		return "NULL"
	}
	switch a := arr.(type) {
	case *array.String:
		return strconv.Quote(a.Value(i))
	case *array.Binary:
		return fmt.Sprintf("x'%x'", a.Value(i))
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		parts := make([]string, a.NumField())
		for k := range parts {
			parts[k] = st.Field(k).Name + ": " + renderValue(a.Field(k), i)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case *array.List:
		s, e := a.ValueOffsets(i)
		parts := make([]string, 0, e-s)
		for j := s; j < e; j++ {
			parts = append(parts, renderValue(a.ListValues(), int(j)))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *array.Float64:
		return string(appendJavaDouble(nil, a.Value(i), 64))
	case *array.Float32:
		return string(appendJavaDouble(nil, float64(a.Value(i)), 32))
	case *array.Timestamp:
		v := expr.ValueAt(arr, i)
		return expr.FormatValue(v, expr.Timestamp, false)
	}
	return expr.FormatValue(expr.ValueAt(arr, i), arr.DataType(), false)
}

func renderBatch(b arrow.RecordBatch) []string {
	var out []string
	for r := 0; r < int(b.NumRows()); r++ {
		parts := make([]string, b.NumCols())
		for c := range parts {
			parts[c] = renderValue(b.Column(c), r)
		}
		out = append(out, strings.Join(parts, ", "))
	}
	return out
}

// readAll drains a reader into rendered rows (and batch row counts).
func readAll(t testing.TB, r Reader) ([]string, []int, error) {
	t.Helper()
	var rows []string
	var sizes []int
	for {
		b, err := r.Next()
		if err == io.EOF {
			return rows, sizes, nil
		}
		if err != nil {
			return rows, sizes, err
		}
		if !b.Schema().Equal(r.Schema()) {
			t.Errorf("batch schema %s != reader schema %s", b.Schema(), r.Schema())
		}
		for _, c := range b.Columns() {
			validateArray(t, c)
		}
		rows = append(rows, renderBatch(b)...)
		sizes = append(sizes, int(b.NumRows()))
		b.Release()
	}
}

// textCase is one case of a testdata file:
//
//	=== name
//	options: key=value key2=value2   (values may be "quoted")
//	schema: a int, b string
//	columns: 0,2
//	batch: 2
//	escapes: true      (the input is a Go string body: \t \r \x00 ...)
//	noeol: true        (no newline after the last input line)
//	--- input
//	...
//	--- output
//	...
type textCase struct {
	name    string
	file    string
	line    int
	options map[string]string
	schema  string
	columns []int
	batch   int
	input   string
	output  []string
	hasSch  bool
}

func parseOptionsLine(t testing.TB, s string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			t.Fatalf("bad options %q", s)
		}
		k := s[:eq]
		s = s[eq+1:]
		var v string
		if strings.HasPrefix(s, `"`) {
			q, err := strconv.QuotedPrefix(s)
			if err != nil {
				t.Fatalf("bad quoted option value in %q: %v", s, err)
			}
			v, _ = strconv.Unquote(q)
			s = s[len(q):]
		} else {
			sp := strings.IndexByte(s, ' ')
			if sp < 0 {
				sp = len(s)
			}
			v, s = s[:sp], s[sp:]
		}
		m[k] = v
	}
	return m
}

func loadTextCases(t *testing.T, path string) []*textCase {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []*textCase
	var cur *textCase
	section := ""
	var input []string
	escapes, noeol := false, false
	flush := func() {
		if cur == nil {
			return
		}
		in := strings.Join(input, "\n")
		if len(input) > 0 && !noeol {
			in += "\n"
		}
		if escapes {
			body := strings.ReplaceAll(strings.ReplaceAll(in, `"`, `\"`), "\n", `\n`)
			u, err := strconv.Unquote(`"` + body + `"`)
			if err != nil {
				t.Fatalf("%s: case %s: bad escapes: %v", path, cur.name, err)
			}
			in = u
		}
		cur.input = in
		cases = append(cases, cur)
		cur, input, escapes, noeol = nil, nil, false, false
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	ln := 0
	for sc.Scan() {
		ln++
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "=== "):
			flush()
			cur = &textCase{name: strings.TrimSpace(l[4:]), file: path, line: ln, options: map[string]string{}}
			section = "head"
			continue
		case cur == nil:
			continue
		case l == "--- input":
			section = "input"
			continue
		case l == "--- output":
			section = "output"
			continue
		}
		switch section {
		case "head":
			if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
				continue
			}
			k, v, ok := strings.Cut(l, ":")
			if !ok {
				t.Fatalf("%s:%d: bad header line %q", path, ln, l)
			}
			v = strings.TrimSpace(v)
			switch k {
			case "options":
				cur.options = parseOptionsLine(t, v)
			case "schema":
				cur.schema, cur.hasSch = v, true
			case "columns":
				cur.columns = []int{}
				for _, p := range strings.Split(v, ",") {
					if p = strings.TrimSpace(p); p != "" {
						n, _ := strconv.Atoi(p)
						cur.columns = append(cur.columns, n)
					}
				}
			case "batch":
				cur.batch, _ = strconv.Atoi(v)
			case "escapes":
				escapes = v == "true"
			case "noeol":
				noeol = v == "true"
			default:
				t.Fatalf("%s:%d: unknown header %q", path, ln, k)
			}
		case "input":
			input = append(input, l)
		case "output":
			if l == "" {
				continue
			}
			cur.output = append(cur.output, l)
		}
	}
	flush()
	return cases
}

// runTextCases reads every case's input with format and compares the
// rendered rows (or "error: <message>") with the case's output. With
// -update the expected output is printed for review.
func runTextCases(t *testing.T, format Format, glob string) {
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no case files %s", glob)
	}
	for _, file := range files {
		for _, tc := range loadTextCases(t, file) {
			t.Run(filepath.Base(file)+"/"+tc.name, func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				got := runTextCase(t, format, tc, mem)
				if strings.Join(got, "\n") != strings.Join(tc.output, "\n") {
					t.Errorf("%s:%d: case %s\n--- got\n%s\n--- want\n%s", tc.file, tc.line, tc.name,
						strings.Join(got, "\n"), strings.Join(tc.output, "\n"))
				}
			})
		}
	}
}

func runTextCase(t *testing.T, format Format, tc *textCase, mem memory.Allocator) []string {
	name := "case." + format.Name()
	if v, ok := tc.options["_name"]; ok {
		name = v
		delete(tc.options, "_name")
	}
	if err := ValidateOptions(format.Name(), tc.options); err != nil {
		return []string{"error: " + err.Error()}
	}
	opts := ReadOptions{Options: tc.options, Mem: mem, Columns: tc.columns, BatchSize: tc.batch}
	if tc.hasSch {
		opts.Schema = parseTestSchema(t, tc.schema)
	} else {
		// Infer from the same bytes.
		dir := t.TempDir()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(tc.input), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := format.Infer(context.Background(), p, opts)
		if err != nil {
			return []string{"error: " + strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")}
		}
		opts.Schema = s
	}
	sf := format.(StreamFormat)
	r, err := sf.NewReader(context.Background(), strings.NewReader(tc.input), name, opts)
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	defer r.Close()
	rows, _, err := readAll(t, r)
	out := []string{"schema: " + schemaString(r.Schema())}
	out = append(out, rows...)
	if err != nil {
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrSchemaMismatch) {
			t.Errorf("error does not wrap ErrMalformed: %v", err)
		}
		out = append(out, "error: "+err.Error())
	}
	return out
}

func schemaString(s *arrow.Schema) string {
	parts := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		parts[i] = f.Name + " " + expr.TypeName(f.Type)
	}
	return strings.Join(parts, ", ")
}

// validateArray checks offsets and lengths recursively.
func validateArray(t testing.TB, a arrow.Array) {
	t.Helper()
	if v, ok := a.(interface{ ValidateFull() error }); ok {
		if err := v.ValidateFull(); err != nil {
			t.Errorf("invalid %s array: %v", a.DataType(), err)
		}
	}
	switch x := a.(type) {
	case *array.Struct:
		for k := 0; k < x.NumField(); k++ {
			if x.Field(k).Len() != x.Len() {
				t.Errorf("struct field %d has %d rows, struct %d", k, x.Field(k).Len(), x.Len())
			}
			validateArray(t, x.Field(k))
		}
	case *array.List:
		validateArray(t, x.ListValues())
	}
}
