package dataframe

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/internal/datadriven"
	"github.com/sluicehq/sluice/internal/tableformat"
)

// fixedClock makes current_timestamp() reproducible in golden files.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// TestQueries runs the golden query scripts under testdata/query. Every
// query runs with 1 and 3 shuffle partitions; both must give the same rows.
func TestQueries(t *testing.T) {
	files, _ := filepath.Glob("testdata/query/*.txt")
	if len(files) == 0 {
		t.Fatal("no testdata/query files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			h := &harness{mem: mem, tables: map[string]*tableData{}}
			defer h.release()
			datadriven.RunFile(t, f, h.run)
		})
	}
}

type tableData struct {
	schema  *arrow.Schema
	batches []arrow.RecordBatch
}

type harness struct {
	mem    memory.Allocator
	tables map[string]*tableData
}

func (h *harness) release() {
	for _, td := range h.tables {
		for _, b := range td.batches {
			b.Release()
		}
	}
}

func (h *harness) session(parts int) *Session {
	return NewSessionWith(Config{ShufflePartitions: parts, Allocator: h.mem, BatchSize: 4,
		Clock: fixedClock{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}})
}

func (h *harness) run(t *testing.T, c *datadriven.Case) string {
	switch c.Cmd {
	case "table":
		return h.table(t, c)
	case "query", "explain", "schema", "show", "count":
		ordered := c.Arg("ordered", "false") == "true"
		var outs []string
		partCounts := []int{1, 3}
		if c.Arg("parts", "") == "1" {
			// Results that depend on the partitioning (dropDuplicates'
			// "first" row, sample) are pinned at one partition.
			partCounts = []int{1}
		}
		for _, parts := range partCounts {
			df := h.script(h.session(parts), c.Input)
			var out string
			switch c.Cmd {
			case "query":
				out = renderResult(df, ordered)
			case "explain":
				if parts == 3 {
					continue
				}
				// Blank lines would end the expected output block.
				out = strings.ReplaceAll(df.Explain(c.Arg("extended", "false") == "true"), "\n\n", "\n")
			case "show":
				n, _ := strconv.Atoi(c.Arg("n", "20"))
				s, err := df.ShowString(n, c.Arg("truncate", "true") == "true")
				if err != nil {
					out = "error: " + err.Error()
				} else {
					out = strings.TrimSuffix(s, "\n")
				}
			case "count":
				n, err := df.Count()
				if err != nil {
					out = "error: " + err.Error()
				} else {
					out = strconv.FormatInt(n, 10)
				}
			case "schema":
				s, err := df.SchemaString()
				if err != nil {
					out = "error: " + err.Error()
				} else {
					out = s
				}
			}
			outs = append(outs, out)
		}
		if len(outs) == 2 && outs[0] != outs[1] {
			t.Errorf("%s: 1 and 3 partitions disagree:\n%s\nvs\n%s", c.Pos, outs[0], outs[1])
		}
		return outs[0]
	}
	c.Fatalf(t, "unknown command %q", c.Cmd)
	return ""
}

// table NAME: first input line "schema: DDL", then one JSON object per row;
// a line "--batch--" starts a new batch.
func (h *harness) table(t *testing.T, c *datadriven.Case) string {
	lines := datadriven.Lines(c.Input)
	if len(c.Args) != 1 || len(lines) == 0 || !strings.HasPrefix(lines[0], "schema:") {
		c.Fatalf(t, "usage: table NAME, then 'schema: DDL' and JSON rows")
	}
	schema, err := expr.ParseDDL(strings.TrimPrefix(lines[0], "schema:"))
	if err != nil {
		return "error: " + err.Error()
	}
	td := &tableData{schema: schema}
	var rows []string
	flush := func() {
		b, err := rowsFromJSON(h.mem, schema, rows)
		if err != nil {
			c.Fatalf(t, "%v", err)
		}
		td.batches = append(td.batches, b)
		rows = nil
	}
	for _, l := range lines[1:] {
		if l == "--batch--" {
			flush()
			continue
		}
		rows = append(rows, l)
	}
	flush()
	if old, ok := h.tables[c.Args[0]]; ok {
		for _, b := range old.batches {
			b.Release()
		}
	}
	h.tables[c.Args[0]] = td
	return "ok"
}

// script builds a DataFrame from one step per line (see testdata/query/README).
func (h *harness) script(s *Session, text string) *DataFrame {
	return h.scriptFrom(s, nil, text, nil)
}

// scriptFrom runs steps starting from df (nil: the script starts with
// "from"); lookup, when set, resolves names before the static tables.
func (h *harness) scriptFrom(s *Session, df *DataFrame, text string, lookup func(string) *DataFrame) *DataFrame {
	from := func(name string) *DataFrame {
		if lookup != nil {
			if d := lookup(name); d != nil {
				return d
			}
		}
		td, ok := h.tables[name]
		if !ok {
			return &DataFrame{s: s, err: fmt.Errorf("test: no table %q", name)}
		}
		return s.CreateDataFrame(td.schema, td.batches...)
	}
	exprs := func(text string) []any {
		es, err := expr.ParseExprs(text)
		if err != nil {
			return []any{Column{err: err}}
		}
		out := make([]any, len(es))
		for i, e := range es {
			out[i] = Column{e: e}
		}
		return out
	}
	cols := func(text string) []Column {
		var out []Column
		for _, a := range exprs(text) {
			out = append(out, a.(Column))
		}
		return out
	}
	for _, line := range datadriven.Lines(text) {
		verb, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch verb {
		case "from":
			df = from(rest)
		case "filter":
			df = df.Filter(rest)
		case "select":
			df = df.Select(exprs(rest)...)
		case "selectexpr":
			df = df.SelectExpr(splitTopLevel(rest)...)
		case "withcolumns":
			// withcolumns NAME EXPR ; NAME EXPR ...
			m := map[string]Column{}
			var order []string
			for _, part := range strings.Split(rest, ";") {
				name, e, _ := strings.Cut(strings.TrimSpace(part), " ")
				m[name] = Expr(e)
				order = append(order, name)
			}
			df = df.WithColumns(m, order...)
		case "withcolumn":
			name, e, _ := strings.Cut(rest, " ")
			df = df.WithColumn(name, Expr(e))
		case "withcolumnrenamed":
			a, b, _ := strings.Cut(rest, " ")
			df = df.WithColumnRenamed(a, b)
		case "drop":
			df = df.Drop(strings.Split(rest, ",")...)
		case "groupby":
			keys, aggs, _ := strings.Cut(rest, "|")
			var ks []any
			if strings.TrimSpace(keys) != "" {
				ks = exprs(keys)
			}
			df = df.GroupBy(ks...).Agg(cols(aggs)...)
		case "agg":
			df = df.Agg(cols(rest)...)
		case "orderby":
			es, err := parseOrders(rest)
			if err != nil {
				df = df.fail(err)
				continue
			}
			df = df.OrderBy(es...)
		case "limit":
			n, _ := strconv.Atoi(rest)
			df = df.Limit(n)
		case "distinct":
			df = df.Distinct()
		case "dropduplicates":
			var names []string
			if rest != "" {
				names = strings.Split(rest, ",")
			}
			df = df.DropDuplicates(names...)
		case "dropduplicateswithinwatermark":
			var names []string
			if rest != "" {
				names = strings.Split(rest, ",")
			}
			df = df.DropDuplicatesWithinWatermark(names...)
		case "union":
			df = df.Union(from(rest))
		case "unionbyname":
			// unionbyname T [allowmissing]
			name, opt, _ := strings.Cut(rest, " ")
			df = df.UnionByName(from(name), opt == "allowmissing")
		case "crossjoin":
			df = df.CrossJoin(from(rest))
		case "alias":
			df = df.Alias(rest)
		case "withwatermark":
			col, delay, _ := strings.Cut(rest, " ")
			df = df.WithWatermark(col, delay)
		case "join":
			// join TABLE [AS alias] how on COND | join TABLE how using a,b
			f := strings.Fields(rest)
			other := from(f[0])
			f = f[1:]
			if len(f) >= 2 && strings.EqualFold(f[0], "as") {
				other = other.Alias(f[1])
				f = f[2:]
			}
			how := f[0]
			switch {
			case len(f) >= 2 && f[1] == "using":
				df = df.Join(other, strings.Split(f[2], ","), how)
			case len(f) >= 2 && f[1] == "on":
				_, cond, _ := strings.Cut(rest, " on ")
				df = df.Join(other, Expr(cond), how)
			default:
				df = df.Join(other, nil, how)
			}
		case "explode":
			df = df.Select(append([]any{Col("*")}, exprs(rest)...)...)
		case "sample":
			f := strings.Fields(rest)
			frac, _ := strconv.ParseFloat(f[0], 64)
			seed, _ := strconv.ParseInt(f[1], 10, 64)
			df = df.Sample(frac, seed, len(f) > 2 && f[2] == "replace")
		default:
			return &DataFrame{s: s, err: fmt.Errorf("test: unknown step %q", verb)}
		}
	}
	return df
}

func parseOrders(text string) ([]any, error) {
	var out []any
	for _, part := range splitTopLevel(text) {
		o, err := expr.ParseSortOrder(part)
		if err != nil {
			return nil, err
		}
		out = append(out, Column{e: o})
	}
	return out, nil
}

// splitTopLevel splits on commas outside parentheses and quotes.
func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

// renderResult shows every row; unordered results are sorted so partition
// counts do not change the text.
func renderResult(df *DataFrame, ordered bool) string {
	if df.Err() != nil {
		return "error: " + df.Err().Error()
	}
	var cells [][]string
	err := df.Execute(func(b arrow.RecordBatch) error {
		for i := 0; i < int(b.NumRows()); i++ {
			r := make([]string, b.NumCols())
			for c := range r {
				r[c] = tableformat.Cell(b.Column(c), i, false)
			}
			cells = append(cells, r)
		}
		return nil
	})
	if err != nil {
		return "error: " + err.Error()
	}
	if !ordered {
		sort.Slice(cells, func(i, j int) bool { return strings.Join(cells[i], "\x00") < strings.Join(cells[j], "\x00") })
	}
	return FormatTable(df.Columns(), cells, false, 0)
}

// rowsFromJSON builds a batch from JSON objects (test input only).
func rowsFromJSON(mem memory.Allocator, schema *arrow.Schema, rows []string) (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, r := range rows {
		var obj map[string]any
		d := json.NewDecoder(strings.NewReader(r))
		d.UseNumber()
		if err := d.Decode(&obj); err != nil {
			return nil, fmt.Errorf("row %s: %w", r, err)
		}
		for i, f := range schema.Fields() {
			v, err := jsonValue(obj[f.Name], f.Type)
			if err != nil {
				return nil, fmt.Errorf("row %s column %s: %w", r, f.Name, err)
			}
			if err := expr.AppendValue(b.Field(i), v); err != nil {
				return nil, err
			}
		}
	}
	return b.NewRecordBatch(), nil
}

func jsonValue(v any, dt arrow.DataType) (any, error) {
	if v == nil {
		return nil, nil
	}
	num := func() (string, error) {
		n, ok := v.(json.Number)
		if !ok {
			return "", fmt.Errorf("want a number, got %v", v)
		}
		return n.String(), nil
	}
	switch dt.ID() {
	case arrow.BOOL:
		return v.(bool), nil
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64:
		s, err := num()
		if err != nil {
			return nil, err
		}
		x, err := strconv.ParseInt(s, 10, 64)
		switch dt.ID() {
		case arrow.INT8:
			return int8(x), err
		case arrow.INT16:
			return int16(x), err
		case arrow.INT32:
			return int32(x), err
		}
		return x, err
	case arrow.FLOAT32, arrow.FLOAT64:
		var f float64
		switch x := v.(type) {
		case string:
			f, _ = strconv.ParseFloat(x, 64) // "NaN", "Infinity"
		default:
			s, err := num()
			if err != nil {
				return nil, err
			}
			f, _ = strconv.ParseFloat(s, 64)
		}
		if dt.ID() == arrow.FLOAT32 {
			return float32(f), nil
		}
		return f, nil
	case arrow.STRING:
		return v.(string), nil
	case arrow.BINARY:
		return []byte(v.(string)), nil
	case arrow.DECIMAL128:
		s, err := num()
		if err != nil {
			return nil, err
		}
		d := dt.(*arrow.Decimal128Type)
		return decimal128.FromString(s, d.Precision, d.Scale)
	case arrow.TIMESTAMP:
		t, err := time.Parse("2006-01-02 15:04:05", v.(string))
		return arrow.Timestamp(t.UnixMicro()), err
	case arrow.DATE32:
		t, err := time.Parse("2006-01-02", v.(string))
		return arrow.Date32FromTime(t), err
	case arrow.LIST:
		items := v.([]any)
		out := make([]any, len(items))
		for i, it := range items {
			x, err := jsonValue(it, dt.(*arrow.ListType).Elem())
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case arrow.STRUCT:
		obj := v.(map[string]any)
		st := dt.(*arrow.StructType)
		out := make([]any, st.NumFields())
		for i, f := range st.Fields() {
			x, err := jsonValue(obj[f.Name], f.Type)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	}
	return nil, fmt.Errorf("test rows: unsupported type %s", dt)
}

var _ = os.Getenv
