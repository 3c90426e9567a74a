package fn

// Golden tests for the core operators: testdata/core_*.txt holds one call
// per line,
//
//	fn <TAB> arg <TAB> arg ... <TAB> => type <TAB> ["row", null, ...]
//	fn <TAB> arg ...              <TAB> => error: <substring>
//
// where an arg is c:<type>:<json array> (a column) or l:<type>:<json value>
// (a literal); "litonly" after the rows skips running literals as columns
// (when a literal's value decides the typing). Every case runs several ways: columns as given, columns
// sliced (offset != 0), and every literal also as a column; all must agree.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// coreType parses the Spark type names used in testdata.
func coreType(t testing.TB, s string) arrow.DataType {
	switch s {
	case "boolean":
		return expr.Boolean
	case "tinyint":
		return expr.Int8
	case "smallint":
		return expr.Int16
	case "int":
		return expr.Int32
	case "bigint":
		return expr.Int64
	case "float":
		return expr.Float32
	case "double":
		return expr.Float64
	case "string":
		return expr.String
	case "binary":
		return expr.Binary
	case "date":
		return expr.Date
	case "timestamp":
		return expr.Timestamp
	case "interval":
		return expr.Interval
	case "void":
		return expr.Null
	case "large_string":
		return arrow.BinaryTypes.LargeString
	case "dict_string":
		return &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: expr.String}
	}
	if strings.HasPrefix(s, "decimal(") {
		var p, sc int32
		if _, err := fmt.Sscanf(s, "decimal(%d,%d)", &p, &sc); err != nil {
			t.Fatalf("bad type %q", s)
		}
		return &arrow.Decimal128Type{Precision: p, Scale: sc}
	}
	if strings.HasPrefix(s, "array<") {
		return arrow.ListOf(coreType(t, strings.TrimSuffix(strings.TrimPrefix(s, "array<"), ">")))
	}
	t.Fatalf("unknown type %q in testdata", s)
	return nil
}

type coreArgSpec struct {
	col bool
	dt  arrow.DataType
	js  string // JSON array (column) or value (literal)
}

type coreCase struct {
	line     string
	fn       string
	args     []coreArgSpec
	wantType string
	want     []*string // nil entry = NULL
	wantErr  string
	litOnly  bool // "litonly" after the rows: a literal's value changes typing
}

func coreParseCases(t *testing.T, path string) []coreCase {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []coreCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for ln := 1; sc.Scan(); ln++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, "\t")
		c := coreCase{line: fmt.Sprintf("%s:%d: %s", filepath.Base(path), ln, line), fn: parts[0]}
		i := 1
		for ; i < len(parts) && !strings.HasPrefix(parts[i], "=>"); i++ {
			p := parts[i]
			kind, rest, _ := strings.Cut(p, ":")
			tn, js := coreSplitType(rest)
			c.args = append(c.args, coreArgSpec{col: kind == "c", dt: coreType(t, tn), js: js})
		}
		if i >= len(parts) {
			t.Fatalf("%s: missing =>", c.line)
		}
		res := strings.TrimSpace(strings.TrimPrefix(parts[i], "=>"))
		if strings.HasPrefix(res, "error:") {
			c.wantErr = strings.TrimSpace(strings.TrimPrefix(res, "error:"))
		} else {
			c.wantType = res
			if i+1 >= len(parts) {
				t.Fatalf("%s: missing expected rows", c.line)
			}
			if err := json.Unmarshal([]byte(parts[i+1]), &c.want); err != nil {
				t.Fatalf("%s: expected rows: %v", c.line, err)
			}
			c.litOnly = i+2 < len(parts) && parts[i+2] == "litonly"
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// coreSplitType splits "decimal(10,2):[...]" at the colon after the type.
func coreSplitType(s string) (string, string) {
	depth := 0
	for i, r := range s {
		switch r {
		case '(', '<':
			depth++
		case ')', '>':
			depth--
		case ':':
			if depth == 0 {
				return s[:i], s[i+1:]
			}
		}
	}
	return s, ""
}

// coreLiteral builds a literal from a JSON value of type dt.
func coreLiteral(t testing.TB, mem memory.Allocator, dt arrow.DataType, js string) *expr.Literal {
	a := coreArr(t, mem, dt, "["+js+"]")
	defer a.Release()
	return &expr.Literal{Value: expr.ValueAt(a, 0), Type: dt}
}

// coreColumn builds a column of rows rows; sliced prepends a junk row and
// slices it off, so the array has offset 1.
func coreColumn(t testing.TB, mem memory.Allocator, spec coreArgSpec, rows int, sliced bool) arrow.Array {
	js := spec.js
	if !spec.col { // a literal repeated
		var b strings.Builder
		b.WriteByte('[')
		for i := 0; i < rows; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(js)
		}
		b.WriteByte(']')
		js = b.String()
	}
	if dt, ok := spec.dt.(*arrow.DictionaryType); ok {
		vals := coreArr(t, mem, dt.ValueType, js)
		defer vals.Release()
		bld := array.NewDictionaryBuilder(mem, dt)
		defer bld.Release()
		if sliced {
			bld.AppendNull()
		}
		for i := 0; i < vals.Len(); i++ {
			if vals.IsNull(i) {
				bld.AppendNull()
			} else if err := bld.(*array.BinaryDictionaryBuilder).AppendString(vals.(*array.String).Value(i)); err != nil {
				t.Fatal(err)
			}
		}
		a := bld.NewArray()
		if sliced {
			return coreSlice(a, 1, a.Len())
		}
		return a
	}
	if sliced {
		inner := strings.TrimSpace(js)[1:]
		if strings.TrimSpace(inner) == "]" {
			js = "[null]"
		} else {
			js = "[null," + inner
		}
		a := coreArr(t, mem, spec.dt, js)
		return coreSlice(a, 1, a.Len())
	}
	return coreArr(t, mem, spec.dt, js)
}

func coreRunCase(t *testing.T, mem memory.Allocator, c coreCase, sliced, litAsCol bool) {
	t.Helper()
	rows := 1
	for _, a := range c.args {
		if a.col {
			var v []json.RawMessage
			if err := json.Unmarshal([]byte(a.js), &v); err != nil {
				t.Fatalf("%s: column json: %v", c.line, err)
			}
			rows = len(v)
		}
	}
	var cols []arrow.Array
	var exprs []expr.Expr
	colIdx := 0
	for _, a := range c.args {
		if a.col || litAsCol {
			cols = append(cols, coreColumn(t, mem, a, rows, sliced))
			exprs = append(exprs, nil)
			colIdx++
			continue
		}
		exprs = append(exprs, coreLiteral(t, mem, a.dt, a.js))
	}
	var b arrow.RecordBatch
	if len(cols) == 0 {
		b = array.NewRecordBatch(arrow.NewSchema(nil, nil), nil, int64(rows))
	} else {
		b = coreBatch(cols...)
	}
	defer b.Release()
	ci := 0
	for i := range exprs {
		if exprs[i] == nil {
			exprs[i] = coreRef(b, ci)
			ci++
		}
	}
	got, dt, err := coreCall(t, mem, c.fn, b, exprs...)
	mode := fmt.Sprintf("(sliced=%v litAsCol=%v literalsAsArrays=%v)", sliced, litAsCol, coreLiteralsAsArrays)
	if c.wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s %s: want error containing %q, got %v (rows %v)", c.line, mode, c.wantErr, err, got)
		}
		return
	}
	if err != nil {
		t.Errorf("%s %s: %v", c.line, mode, err)
		return
	}
	if tn := expr.TypeName(dt); tn != c.wantType {
		t.Errorf("%s %s: type %s, want %s", c.line, mode, tn, c.wantType)
	}
	want := make([]string, len(c.want))
	for i, w := range c.want {
		if w == nil {
			want[i] = "NULL"
		} else {
			want[i] = *w
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s %s:\n got %s\nwant %s", c.line, mode, coreQuote(got), coreQuote(want))
	}
}

func coreQuote(rows []string) string {
	q := make([]string, len(rows))
	for i, r := range rows {
		q[i] = strconv.Quote(r)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func TestCoreGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/core_*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/core_*.txt: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			for _, c := range coreParseCases(t, path) {
				hasLit := false
				for _, a := range c.args {
					hasLit = hasLit || !a.col
				}
				coreRunCase(t, mem, c, false, false)
				coreRunCase(t, mem, c, true, false)
				if hasLit && !c.litOnly {
					coreRunCase(t, mem, c, false, true)
					coreRunCase(t, mem, c, true, true)
				}
				if hasLit {
					coreLiteralsAsArrays = true
					coreRunCase(t, mem, c, true, false)
					coreLiteralsAsArrays = false
				}
			}
		})
	}
}
