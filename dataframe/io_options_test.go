package dataframe

import (
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/fileformat"
)

// allTypesDDL is a schema with every column type the file formats carry.
const allTypesDDL = "b BOOLEAN, i8 TINYINT, i16 SMALLINT, i32 INT, i64 BIGINT, f FLOAT, d DOUBLE, dec DECIMAL(12,3), s STRING, day DATE, ts TIMESTAMP"

func allTypesFrame(t *testing.T, s *Session, mem memory.Allocator) (*DataFrame, func()) {
	t.Helper()
	schema, b := apiTable(t, mem, allTypesDDL,
		`{"b":true,"i8":-8,"i16":300,"i32":70000,"i64":5000000000,"f":1.5,"d":-2.25,"dec":123456789.125,"s":"plain","day":"2026-02-28","ts":"2026-02-28 23:59:59.5"}`,
		`{"b":false,"i8":0,"i16":0,"i32":0,"i64":0,"f":0,"d":1e300,"dec":-0.001,"s":"comma, \"quote\"\nnewline","day":"1970-01-01","ts":"1969-12-31 23:59:59"}`,
		`{}`)
	return s.CreateDataFrame(schema, b), b.Release
}

// Every format writes and reads back every type it supports, exactly.
func TestFormatsRoundTripAllTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := apiSession(mem, 2)
	df, release := allTypesFrame(t, s, mem)
	defer release()
	want := mustRows(t, df.OrderBy(Col("i32").AscNullsLast()))
	dir := t.TempDir()
	for _, c := range []struct {
		format string
		write  map[string]string
		read   map[string]string
	}{
		{"parquet", nil, nil},
		{"parquet", map[string]string{"compression": "zstd"}, nil},
		{"parquet", map[string]string{"compression": "gzip", "rowGroupSize": "1"}, nil},
		{"parquet", map[string]string{"compression": "none"}, nil},
		// A quoted line break needs multiLine to read back, as in Spark.
		{"csv", map[string]string{"header": "true"}, map[string]string{"header": "true", "multiLine": "true"}},
		{"csv", map[string]string{"sep": ";", "nullValue": "\\N", "compression": "gzip"}, map[string]string{"sep": ";", "nullValue": "\\N", "multiLine": "true"}},
		{"json", nil, nil},
		{"json", map[string]string{"compression": "gzip", "timestampFormat": "yyyy/MM/dd HH:mm:ss.SSSSSS"}, map[string]string{"timestampFormat": "yyyy/MM/dd HH:mm:ss.SSSSSS"}},
	} {
		name := c.format + "-" + strings.ReplaceAll(strings.ReplaceAll(strings.Join(mapKV(c.write), "_"), "/", ""), " ", "")
		out := filepath.Join(dir, name)
		w := df.Write().Format(c.format)
		for k, v := range c.write {
			w = w.Option(k, v)
		}
		if err := w.Save(out); err != nil {
			t.Errorf("%s: write: %v", name, err)
			continue
		}
		r := s.Read().Format(c.format)
		if c.format != "parquet" {
			r = r.Schema(allTypesDDL)
		}
		for k, v := range c.read {
			r = r.Option(k, v)
		}
		back := r.Load(out)
		if err := back.Err(); err != nil {
			t.Errorf("%s: read: %v", name, err)
			continue
		}
		if !back.Schema().Equal(df.Schema()) {
			t.Errorf("%s: schema read back\n%s\nwant\n%s", name, back.Schema(), df.Schema())
		}
		got, err := back.OrderBy(Col("i32").AscNullsLast()).Rows()
		if err != nil {
			t.Errorf("%s: rows: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: read back\n got %v\nwant %v", name, got, want)
		}
	}
}

func mapKV(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+v)
	}
	sort.Strings(out)
	return out
}

// Nested columns survive Parquet and JSON.
func TestNestedRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := apiSession(mem, 2)
	ddl := "id INT, st STRUCT<a: INT, b: STRUCT<c: STRING>>, arr ARRAY<STRING>, arrst ARRAY<STRUCT<x: BIGINT>>"
	schema, b := apiTable(t, mem, ddl,
		`{"id":1,"st":{"a":1,"b":{"c":"x"}},"arr":["p",null,"q"],"arrst":[{"x":1},null]}`,
		`{"id":2,"st":{"a":null,"b":null},"arr":[],"arrst":[]}`,
		`{"id":3}`)
	defer b.Release()
	df := s.CreateDataFrame(schema, b)
	want := mustRows(t, df.OrderBy("id"))
	for _, format := range []string{"parquet", "json"} {
		out := filepath.Join(t.TempDir(), format)
		if err := df.Write().Format(format).Save(out); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		r := s.Read().Format(format)
		if format == "json" {
			r = r.Schema(ddl)
		}
		got := mustRows(t, r.Load(out).OrderBy("id"))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v\nwant %v", format, got, want)
		}
	}
}

// Save modes, one by one.
func TestWriteModes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := apiSession(mem, 2)
	schema, b := apiTable(t, mem, "id INT", `{"id":1}`, `{"id":2}`)
	defer b.Release()
	df := s.CreateDataFrame(schema, b)
	count := func(path string) int64 {
		t.Helper()
		n, err := s.Read().Parquet(path).Count()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, mode := range []string{"error", "errorifexists", "ErrorIfExists", "overwrite", "append", "ignore"} {
		out := filepath.Join(t.TempDir(), "out")
		// A missing directory is written by every mode.
		if err := df.Write().Mode(mode).Parquet(out); err != nil {
			t.Fatalf("%s on a new path: %v", mode, err)
		}
		if n := count(out); n != 2 {
			t.Fatalf("%s on a new path: %d rows", mode, n)
		}
		err := df.Filter("id = 1").Write().Mode(mode).Parquet(out)
		switch strings.ToLower(mode) {
		case "error", "errorifexists":
			if !errors.Is(err, fileformat.ErrPathExists) || !strings.Contains(err.Error(), out) {
				t.Errorf("%s on an existing path: %v", mode, err)
			}
			if n := count(out); n != 2 {
				t.Errorf("%s changed the data: %d rows", mode, n)
			}
		case "overwrite":
			if err != nil || count(out) != 1 {
				t.Errorf("overwrite: %v, %d rows", err, count(out))
			}
		case "append":
			if err != nil || count(out) != 3 {
				t.Errorf("append: %v, %d rows", err, count(out))
			}
		case "ignore":
			if err != nil || count(out) != 2 {
				t.Errorf("ignore: %v, %d rows", err, count(out))
			}
		}
	}
	// The default mode is error.
	out := filepath.Join(t.TempDir(), "d")
	if err := df.Write().Parquet(out); err != nil {
		t.Fatal(err)
	}
	if err := df.Write().Parquet(out); !errors.Is(err, fileformat.ErrPathExists) {
		t.Errorf("default mode: %v", err)
	}
	if err := df.Write().Mode("upsert").Parquet(out); err == nil || !strings.Contains(err.Error(), "upsert") {
		t.Errorf("unknown mode: %v", err)
	}
	// An empty directory counts as absent for mode error (Spark's check
	// is for existing data).
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := df.Write().Parquet(empty); err != nil {
		t.Errorf("mode error into an empty directory: %v", err)
	}
	// A failing query leaves an overwritten directory untouched.
	if err := df.Select(Expr("CAST(raise_error_not_a_function(id) AS INT)")).Write().Mode("overwrite").Parquet(out); err == nil {
		t.Error("want an analysis error")
	}
	if n := count(out); n != 2 {
		t.Errorf("failed overwrite changed the data: %d rows", n)
	}
	// An empty result writes a file whose schema reads back.
	emptyOut := filepath.Join(t.TempDir(), "e")
	if err := df.Filter("id > 5").Write().Parquet(emptyOut); err != nil {
		t.Fatal(err)
	}
	back := s.Read().Parquet(emptyOut)
	if n, err := back.Count(); err != nil || n != 0 || !back.Schema().Equal(df.Schema()) {
		t.Errorf("empty write read back: %d rows, %v, schema %s", n, err, back.Schema())
	}
}

// PartitionBy writes Hive directories and reading them back restores the
// columns (integers as bigint, other values as strings, NULL as
// __HIVE_DEFAULT_PARTITION__); filters on partition columns prune
// directories.
func TestPartitionByRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := apiSession(mem, 3)
	schema, b := apiTable(t, mem, "id INT, country STRING, year INT, v DOUBLE",
		`{"id":1,"country":"fr","year":2025,"v":1.5}`,
		`{"id":2,"country":"fr","year":2026,"v":2.5}`,
		`{"id":3,"country":"us/east","year":2026,"v":null}`,
		`{"id":4,"country":null,"year":2026,"v":4.5}`,
		`{"id":5,"country":"a b=c%","year":null,"v":5.5}`)
	defer b.Release()
	df := s.CreateDataFrame(schema, b)
	for _, format := range []string{"parquet", "csv", "json"} {
		out := filepath.Join(t.TempDir(), format)
		w := df.Write().Format(format).PartitionBy("country", "year")
		if err := w.Save(out); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		for _, dir := range []string{"country=fr/year=2025", "country=us%2Feast/year=2026", "country=__HIVE_DEFAULT_PARTITION__/year=2026", "country=a b%3Dc%25/year=__HIVE_DEFAULT_PARTITION__"} {
			if _, err := os.Stat(filepath.Join(out, dir)); err != nil {
				t.Errorf("%s: directory %s missing: %v", format, dir, err)
			}
		}
		r := s.Read().Format(format)
		if format != "parquet" {
			r = r.Schema("id INT, v DOUBLE")
		}
		back := r.Load(out)
		if cols := strings.Join(back.Columns(), ","); cols != "id,v,country,year" {
			t.Errorf("%s: columns %s", format, cols)
		}
		got := mustRows(t, back.OrderBy("id"))
		want := []Row{
			{int32(1), 1.5, "fr", int64(2025)},
			{int32(2), 2.5, "fr", int64(2026)},
			{int32(3), nil, "us/east", int64(2026)},
			{int32(4), 4.5, nil, int64(2026)},
			{int32(5), 5.5, "a b=c%", nil},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: read back\n got %v\nwant %v", format, got, want)
		}
		pruned := back.Filter("year = 2026 AND country = 'fr'")
		if rows := mustRows(t, pruned); len(rows) != 1 || rows[0][0] != int32(2) {
			t.Errorf("%s: partition filter: %v", format, rows)
		}
		if rows := mustRows(t, back.Filter("country IS NULL").Select("id")); len(rows) != 1 || rows[0][0] != int32(4) {
			t.Errorf("%s: NULL partition: %v", format, rows)
		}
		// Reading one partition directory directly gives its data columns.
		one := r.Load(filepath.Join(out, "country=fr", "year=2025"))
		if rows := mustRows(t, one); len(rows) != 1 || rows[0][0] != int32(1) {
			t.Errorf("%s: one partition: %v", format, rows)
		}
	}
	if err := df.Write().PartitionBy("nope").Parquet(t.TempDir()); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown partition column: %v", err)
	}
}

// CSV options through the reader.
func TestCSVOptions(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := apiSession(mem, 2)
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, body)
		return p
	}
	for _, c := range []struct {
		name string
		body string
		ddl  string
		opts map[string]string
		want []Row
		err  string
	}{
		{"header", "a,b\n1,x\n2,y\n", "a INT, b STRING", map[string]string{"header": "true"},
			[]Row{{int32(1), "x"}, {int32(2), "y"}}, ""},
		{"noheader", "1,x\n2,y\n", "a INT, b STRING", nil,
			[]Row{{int32(1), "x"}, {int32(2), "y"}}, ""},
		{"delimiter", "1;x\n2;y\n", "a INT, b STRING", map[string]string{"delimiter": ";"},
			[]Row{{int32(1), "x"}, {int32(2), "y"}}, ""},
		{"tab", "1\tx\n", "a INT, b STRING", map[string]string{"sep": "\t"}, []Row{{int32(1), "x"}}, ""},
		{"quote", "1,'a,b'\n2,'it''s'\n", "a INT, b STRING", map[string]string{"quote": "'", "escape": "'"},
			[]Row{{int32(1), "a,b"}, {int32(2), "it's"}}, ""},
		{"escape", "1,\"say \\\"hi\\\"\"\n", "a INT, b STRING", nil, []Row{{int32(1), `say "hi"`}}, ""},
		{"nullValue", "1,NA\nNA,x\n", "a INT, b STRING", map[string]string{"nullValue": "NA"},
			[]Row{{int32(1), nil}, {nil, "x"}}, ""},
		// As in Spark, "" is the emptyValue, which equals the default
		// nullValue "" and so reads as NULL; with another nullValue a quoted
		// empty field is an empty string (an unquoted one is still NULL).
		{"empty", "1,\n2,\"\"\n", "a INT, b STRING", nil, []Row{{int32(1), nil}, {int32(2), nil}}, ""},
		{"emptyValue", "1,\n2,\"\"\n", "a INT, b STRING", map[string]string{"nullValue": "NA"}, []Row{{int32(1), nil}, {int32(2), ""}}, ""},
		{"comment", "#skip\n1,x\n", "a INT, b STRING", map[string]string{"comment": "#"}, []Row{{int32(1), "x"}}, ""},
		{"whitespace", " 1 , x \n", "a INT, b STRING", map[string]string{"ignoreLeadingWhiteSpace": "true", "ignoreTrailingWhiteSpace": "true"},
			[]Row{{int32(1), "x"}}, ""},
		{"multiLine", "1,\"two\nlines\"\n", "a INT, b STRING", map[string]string{"multiLine": "true"}, []Row{{int32(1), "two\nlines"}}, ""},
		{"dateFormat", "15/03/2026,2026.03.15 10:11\n", "d DATE, t TIMESTAMP", map[string]string{"dateFormat": "dd/MM/yyyy", "timestampFormat": "yyyy.MM.dd HH:mm"},
			[]Row{{time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 15, 10, 11, 0, 0, time.UTC)}}, ""},
		// A short row is malformed: an error by default (FAILFAST), padded
		// with NULLs in PERMISSIVE mode.
		{"missingColumns", "1\n", "a INT, b STRING", nil, nil, "missingColumns.csv:1"},
		{"missingPermissive", "1\n", "a INT, b STRING", map[string]string{"mode": "PERMISSIVE"}, []Row{{int32(1), nil}}, ""},
		{"failfast", "1,x\nbad,y\n", "a INT, b STRING", nil, nil, "failfast.csv:2"},
		{"permissive", "1,x\nbad,y\n", "a INT, b STRING, _corrupt_record STRING", map[string]string{"mode": "PERMISSIVE"},
			[]Row{{int32(1), "x", nil}, {nil, "y", "bad,y"}}, ""},
		{"dropmalformed", "1,x\nbad,y\n3,z\n", "a INT, b STRING", map[string]string{"mode": "DROPMALFORMED"},
			[]Row{{int32(1), "x"}, {int32(3), "z"}}, ""},
	} {
		p := file(c.name+".csv", c.body)
		df := s.Read().Schema(c.ddl).Options(c.opts).CSV(p)
		rows, err := df.Rows()
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(rows, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, rows, c.want)
		}
	}

	// Inference (opt-in) types columns from the data.
	p := file("infer.csv", "i,l,d,b,day,ts,s\n1,5000000000,1.5,true,2026-01-02,2026-01-02 03:04:05,x\n2,,2.5,false,2026-01-03,2026-01-02 03:04:06,\n")
	df := s.Read().Option("header", "true").Option("inferSchema", "true").CSV(p)
	if err := df.Err(); err != nil {
		t.Fatal(err)
	}
	if got, want := df.Schema().String(), "schema:\n  fields: 7\n    - i: type=int32, nullable\n    - l: type=int64, nullable\n    - d: type=float64, nullable\n    - b: type=bool, nullable\n    - day: type=date32, nullable\n    - ts: type=timestamp[us, tz=UTC], nullable\n    - s: type=utf8, nullable"; got != want {
		t.Errorf("inferred schema\n%s\nwant\n%s", got, want)
	}
	// Without a schema and without inferSchema, CSV is an error that says
	// what to do.
	if err := s.Read().CSV(p).Err(); !errors.Is(err, fileformat.ErrNoSchema) || !strings.Contains(err.Error(), "inferSchema") {
		t.Errorf("no schema: %v", err)
	}
	// A .gz file is decompressed by its extension.
	gz := filepath.Join(dir, "z.csv.gz")
	f, err := os.Create(gz)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write([]byte("1,x\n2,y\n"))
	zw.Close()
	f.Close()
	if n, err := s.Read().Schema("a INT, b STRING").CSV(gz).Count(); err != nil || n != 2 {
		t.Errorf("gzip CSV: %d rows, %v", n, err)
	}
	// Bad option values are errors naming the option.
	for _, opts := range []map[string]string{{"header": "yes"}, {"mode": "LENIENT"}, {"sep": ""}, {"encoding": "latin1"}, {"delimitr": ","}} {
		if err := s.Read().Schema("a INT").Options(opts).CSV(p).Err(); err == nil || !errors.Is(err, fileformat.ErrOption) {
			t.Errorf("option %v: %v", opts, err)
		}
	}
}

// JSON lines options through the reader.
func TestJSONOptions(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := apiSession(mem, 2)
	dir := t.TempDir()
	p := filepath.Join(dir, "a.json")
	writeFile(t, p, `{"a":1,"b":"x","n":{"c":[1,2]},"ts":"2026-01-02T03:04:05Z"}
{"a":null,"extra":true}

{"b":"z","a":3,"ts":"2026-01-02 03:04:06"}
`)
	rows := mustRows(t, s.Read().Schema("a BIGINT, b STRING, n STRUCT<c: ARRAY<INT>>, ts TIMESTAMP").JSON(p))
	want := []Row{
		{int64(1), "x", map[string]any{"c": []any{int32(1), int32(2)}}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{nil, nil, nil, nil},
		{int64(3), "z", nil, time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("JSON with schema\n got %v\nwant %v", rows, want)
	}
	inferred := s.Read().Option("inferSchema", "true").JSON(p)
	if err := inferred.Err(); err != nil {
		t.Fatal(err)
	}
	if cols := strings.Join(inferred.Columns(), ","); cols != "a,b,extra,n,ts" {
		t.Errorf("inferred columns %s (Spark sorts them by name)", cols)
	}
	bad := filepath.Join(dir, "bad.json")
	writeFile(t, bad, "{\"a\":1}\n{\"a\":\n{\"a\":3}\n")
	if _, err := s.Read().Schema("a INT").JSON(bad).Rows(); err == nil || !strings.Contains(err.Error(), "bad.json:2") {
		t.Errorf("malformed JSON line: %v", err)
	}
	got := mustRows(t, s.Read().Schema("a INT, _corrupt_record STRING").Option("mode", "PERMISSIVE").JSON(bad))
	if len(got) != 3 || got[1][0] != nil || got[1][1] != `{"a":` {
		t.Errorf("permissive JSON: %v", got)
	}
	if n, err := s.Read().Schema("a INT").Option("mode", "DROPMALFORMED").JSON(bad).Count(); err != nil || n != 2 {
		t.Errorf("dropmalformed JSON: %d %v", n, err)
	}
	// A value of the wrong type is malformed too.
	wrong := filepath.Join(dir, "wrong.json")
	writeFile(t, wrong, `{"a":"one"}`+"\n")
	if _, err := s.Read().Schema("a INT").JSON(wrong).Rows(); err == nil || !strings.Contains(err.Error(), "wrong.json:1") {
		t.Errorf("wrong JSON type: %v", err)
	}
}

// Paths: globs, directories, several paths; hidden files are skipped.
func TestReadPaths(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := apiSession(mem, 2)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "x", "a.csv"), "1\n2\n")
	writeFile(t, filepath.Join(dir, "x", "b.csv"), "3\n")
	writeFile(t, filepath.Join(dir, "x", "_SUCCESS"), "")
	writeFile(t, filepath.Join(dir, "x", ".hidden.csv"), "99\n")
	writeFile(t, filepath.Join(dir, "y", "c.csv"), "4\n")
	r := s.Read().Schema("a INT")
	for _, c := range []struct {
		paths []string
		want  int64
	}{
		{[]string{filepath.Join(dir, "x")}, 3},
		{[]string{filepath.Join(dir, "x", "*.csv")}, 3},
		{[]string{filepath.Join(dir, "*", "*.csv")}, 4},
		{[]string{filepath.Join(dir, "x", "a.csv"), filepath.Join(dir, "y")}, 3},
		{[]string{filepath.Join(dir, "x", "[ab].csv")}, 3},
	} {
		n, err := r.CSV(c.paths...).Count()
		if err != nil || n != c.want {
			t.Errorf("%v: %d rows, %v; want %d", c.paths, n, err, c.want)
		}
	}
	for _, paths := range [][]string{{filepath.Join(dir, "nope")}, {filepath.Join(dir, "x", "*.parquet")}, {}} {
		if err := r.CSV(paths...).Err(); err == nil {
			t.Errorf("%v: no error", paths)
		}
	}
	if err := s.Read().Format("orc").Load(dir).Err(); err == nil || !strings.Contains(err.Error(), "orc") {
		t.Errorf("unknown format: %v", err)
	}
	// An empty directory with a schema is an empty table.
	empty := filepath.Join(dir, "empty")
	os.MkdirAll(empty, 0o755)
	if n, err := r.CSV(empty).Count(); err != nil || n != 0 {
		t.Errorf("empty directory: %d, %v", n, err)
	}
}

// The optimizer reads only the needed Parquet columns and pushes filters
// into the scan, where row-group statistics skip data.
func TestParquetPushdown(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := apiSession(mem, 2)
	schema, b := apiTable(t, mem, "id INT, name STRING, score DOUBLE",
		`{"id":1,"name":"a","score":1}`, `{"id":2,"name":"b","score":2}`, `{"id":3,"name":"c","score":3}`, `{"id":4,"name":"d","score":4}`)
	defer b.Release()
	out := filepath.Join(t.TempDir(), "pq")
	if err := s.CreateDataFrame(schema, b).Write().Option("rowGroupSize", "1").Parquet(out); err != nil {
		t.Fatal(err)
	}
	q := s.Read().Parquet(out).Filter("id >= 3 AND name != 'zz'").Select("name")
	ex := q.Explain(true)
	opt := ex[strings.Index(ex, "== Optimized Logical Plan =="):]
	for _, want := range []string{"FileScan parquet [id, name]", "PushedFilters"} {
		if !strings.Contains(opt, want) {
			t.Errorf("EXPLAIN lacks %q:\n%s", want, ex)
		}
	}
	if strings.Contains(opt, "score") {
		t.Errorf("score should be pruned:\n%s", ex)
	}
	rows := mustRows(t, q.OrderBy("name"))
	if !reflect.DeepEqual(rows, []Row{{"c"}, {"d"}}) {
		t.Errorf("rows %v", rows)
	}
	// A count reads no column values but still counts every row.
	if n, err := s.Read().Parquet(out).Count(); err != nil || n != 4 {
		t.Errorf("count: %d %v", n, err)
	}
}

// Text files read as one string column named value.
func TestTextFormat(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := apiSession(mem, 1)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "t.txt"), "first line\nsecond\n\nlast")
	df := s.Read().Text(filepath.Join(dir, "t.txt"))
	rows := mustRows(t, df)
	if cols := strings.Join(df.Columns(), ","); cols != "value" || !reflect.DeepEqual(rows, []Row{{"first line"}, {"second"}, {""}, {"last"}}) {
		t.Errorf("text: %s %v", cols, rows)
	}
	out := filepath.Join(dir, "out")
	if err := df.Filter("value != ''").Write().Text(out); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Read().Text(out).Count(); err != nil || n != 3 {
		t.Errorf("text round trip: %d %v", n, err)
	}
	if err := df.Select(Lit(1).As("n")).Write().Text(filepath.Join(dir, "bad")); err == nil {
		t.Error("text write of a non-string column should fail")
	}
}

// A user schema may name the partition columns, giving their types (as in
// Spark); they come after the data columns.
func TestPartitionColumnsInUserSchema(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := apiSession(mem, 2)
	schema, b := apiTable(t, mem, "id INT, day DATE, hour TIMESTAMP, n INT",
		`{"id":1,"day":"2026-01-02","hour":"2026-01-02 03:00:00","n":7}`,
		`{"id":2,"day":"2026-01-03","hour":"2026-01-03 04:00:00","n":null}`,
		`{"id":3,"day":null,"hour":"2026-01-03 04:00:00","n":8}`)
	defer b.Release()
	out := filepath.Join(t.TempDir(), "p")
	if err := s.CreateDataFrame(schema, b).Write().PartitionBy("day", "hour", "n").Parquet(out); err != nil {
		t.Fatal(err)
	}
	back := s.Read().Schema("n INT, day DATE, id INT, hour TIMESTAMP").Parquet(out)
	if err := back.Err(); err != nil {
		t.Fatal(err)
	}
	if cols := strings.Join(back.Columns(), ","); cols != "id,n,day,hour" {
		t.Errorf("columns %s", cols)
	}
	got := mustRows(t, back.OrderBy("id"))
	want := []Row{
		{int32(1), int32(7), time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)},
		{int32(2), nil, time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 3, 4, 0, 0, 0, time.UTC)},
		{int32(3), int32(8), nil, time.Date(2026, 1, 3, 4, 0, 0, 0, time.UTC)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	if rows := mustRows(t, back.Filter("day = DATE '2026-01-03'").Select("id")); !reflect.DeepEqual(rows, []Row{{int32(2)}}) {
		t.Errorf("filter on a typed partition column: %v", rows)
	}
	// Without them in the schema, integers come back as bigint and other
	// values as strings (Spark would infer int, date and timestamp).
	inferred := s.Read().Schema("id INT").Parquet(out)
	if got := inferred.Schema().String(); !strings.Contains(got, "day: type=utf8") || !strings.Contains(got, "n: type=int64") {
		t.Errorf("inferred partition types:\n%s", got)
	}
	// A partition value that does not parse as the declared type is an
	// error at Load.
	if err := s.Read().Schema("id INT, day INT").Parquet(out).Err(); err == nil || !strings.Contains(err.Error(), "day") {
		t.Errorf("bad partition type: %v", err)
	}
}

// Read schemas come from DDL or from an arrow.Schema; a bad DDL string is
// an error at Load.
func TestReaderSchemas(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := apiSession(mem, 1)
	p := filepath.Join(t.TempDir(), "a.json")
	writeFile(t, p, `{"a":1,"b":{"c":"x"}}`+"\n")
	ddl := s.Read().Schema("a INT, b STRUCT<c: STRING>").JSON(p)
	as := s.Read().ArrowSchema(ddl.Schema()).JSON(p)
	for _, df := range []*DataFrame{ddl, as} {
		if rows := mustRows(t, df); !reflect.DeepEqual(rows, []Row{{int32(1), map[string]any{"c": "x"}}}) {
			t.Errorf("rows %v", rows)
		}
	}
	if err := s.Read().Schema("a INTEGR").JSON(p).Err(); err == nil || !strings.Contains(err.Error(), "INTEGR") {
		t.Errorf("bad DDL: %v", err)
	}
}
