package dataframe

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/internal/fileformat"
)

func testSession(t *testing.T) (*Session, *memory.CheckedAllocator) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	return NewSessionWith(Config{Allocator: mem, ShufflePartitions: 2, BatchSize: 3}), mem
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func show(t *testing.T, df *DataFrame) string {
	t.Helper()
	s, err := df.ShowString(100, true)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The example, end to end: CSV in, aggregate, sort, Parquet out
// partitioned, read back with the partition column.
func TestCSVToPartitionedParquetRoundTrip(t *testing.T) {
	s, mem := testSession(t)
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "clicks", "a.csv"), "user_id,event_type,ts\nu1,view,2026-01-01 00:00:01\nu2,view,2026-01-01 00:00:02\nu1,click,2026-01-01 00:00:03\n")
	writeFile(t, filepath.Join(dir, "clicks", "b.csv"), "user_id,event_type,ts\nu1,view,2026-01-02 10:00:00\nu3,view,2026-01-02 11:00:00\n")
	clicks := s.Read().Schema("user_id STRING, event_type STRING, ts TIMESTAMP").Option("header", "true").CSV(filepath.Join(dir, "clicks", "*.csv"))
	views := clicks.Filter(Col("event_type").Eq(Lit("view")))
	perUser := views.GroupBy(Col("user_id"), ToDate(Col("ts")).As("day")).
		Agg(Count("*").As("views"), Max(Col("ts")).As("last_seen"))
	got := show(t, perUser.OrderBy(Col("views").Desc(), Col("user_id"), Col("day")))
	want := `+-------+----------+-----+-------------------+
|user_id|       day|views|          last_seen|
+-------+----------+-----+-------------------+
|     u1|2026-01-01|    1|2026-01-01 00:00:01|
|     u1|2026-01-02|    1|2026-01-02 10:00:00|
|     u2|2026-01-01|    1|2026-01-01 00:00:02|
|     u3|2026-01-02|    1|2026-01-02 11:00:00|
+-------+----------+-----+-------------------+
`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	out := filepath.Join(dir, "out")
	if err := perUser.Write().Mode("overwrite").PartitionBy("day").Parquet(out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "day=2026-01-02")); err != nil {
		t.Fatalf("partition directory missing: %v", err)
	}
	back := s.Read().Parquet(out)
	if cols := strings.Join(back.Columns(), ","); cols != "user_id,views,last_seen,day" {
		t.Fatalf("read back columns %s", cols)
	}
	got2 := show(t, back.Filter("day = '2026-01-02'").Select("user_id", "views").OrderBy("user_id"))
	want2 := `+-------+-----+
|user_id|views|
+-------+-----+
|     u1|    1|
|     u3|    1|
+-------+-----+
`
	if got2 != want2 {
		t.Fatalf("got\n%s\nwant\n%s", got2, want2)
	}
	// Write modes: error refuses an existing directory, ignore keeps it,
	// append adds files.
	if err := perUser.Write().PartitionBy("day").Parquet(out); !errors.Is(err, fileformat.ErrPathExists) {
		t.Fatalf("default mode on existing dir: %v", err)
	}
	if err := perUser.Write().Mode("ignore").Parquet(out); err != nil {
		t.Fatal(err)
	}
	if err := perUser.Write().Mode("append").PartitionBy("day").Parquet(out); err != nil {
		t.Fatal(err)
	}
	n, err := s.Read().Parquet(out).Count()
	if err != nil || n != 8 {
		t.Fatalf("after append: %d rows, %v", n, err)
	}
}

// Bad input: each error names the file, row or column and nothing panics.
func TestBadInputErrors(t *testing.T) {
	s, mem := testSession(t)
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	writeFile(t, bad, "id,ts\n1,2026-01-01 00:00:00\n2,yesterday\n")
	_, err := s.Read().Schema("id INT, ts TIMESTAMP").Option("header", "true").CSV(bad).Rows()
	if err == nil || !strings.Contains(err.Error(), "bad.csv:3") || !strings.Contains(err.Error(), "ts") {
		t.Fatalf("malformed CSV row: %v", err)
	}

	pq := filepath.Join(dir, "pq")
	ints := s.Read().Schema("id INT, ts TIMESTAMP").Option("header", "true").CSV(bad).Limit(0)
	if err := ints.Select("id").Write().Parquet(pq); err != nil {
		t.Fatal(err)
	}
	_, err = s.Read().Schema("id STRING").Parquet(pq).Rows()
	if !errors.Is(err, fileformat.ErrSchemaMismatch) || !strings.Contains(err.Error(), "id") {
		t.Fatalf("parquet schema mismatch: %v", err)
	}

	missing := s.Read().Parquet(filepath.Join(dir, "nope"))
	if err := missing.Err(); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("missing path: %v", err)
	}
	if _, err := missing.Count(); err == nil {
		t.Fatal("action on a failed DataFrame must fail")
	}

	df := s.Read().Schema("id INT, ts TIMESTAMP").Option("header", "true").CSV(bad)
	f := df.Select(Call("no_such_fn", Col("id")))
	if err := f.Err(); !errors.Is(err, expr.ErrUnknownFunction) || !strings.Contains(err.Error(), "no_such_fn") {
		t.Fatalf("unknown function: %v", err)
	}
	if !strings.Contains(f.Explain(), "no_such_fn") {
		t.Fatalf("Explain should show the error: %s", f.Explain())
	}
	if err := df.Select("idd").Err(); err == nil || !strings.Contains(err.Error(), "Did you mean `id`") {
		t.Fatalf("unknown column: %v", err)
	}
	if err := s.Read().Option("delimitr", ";").CSV(bad).Err(); err == nil || !strings.Contains(err.Error(), "delimitr") {
		t.Fatalf("unknown option: %v", err)
	}
}

func TestJSONLinesAndInference(t *testing.T) {
	s, mem := testSession(t)
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "e.json"), `{"user":"a","n":1,"tags":["x"]}
{"user":"b","n":2,"tags":[]}
{"user":"a","n":3}
`)
	df := s.Read().Option("inferSchema", "true").JSON(filepath.Join(dir, "e.json"))
	if err := df.Err(); err != nil {
		t.Fatal(err)
	}
	got := show(t, df.GroupBy("user").Agg(Sum("n").As("total")).OrderBy("user"))
	want := `+----+-----+
|user|total|
+----+-----+
|   a|    4|
|   b|    2|
+----+-----+
`
	if got != want {
		t.Fatalf("got\n%s", got)
	}
	if err := s.Read().JSON(filepath.Join(dir, "e.json")).Err(); !errors.Is(err, fileformat.ErrNoSchema) {
		t.Fatalf("no schema and no inferSchema: %v", err)
	}
}

// Projection and predicate pushdown reach the Parquet scan.
func TestExplainShowsPushdown(t *testing.T) {
	s, mem := testSession(t)
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	src := s.Read().Schema("id INT, name STRING, score DOUBLE").Option("header", "true")
	writeFile(t, filepath.Join(dir, "in.csv"), "id,name,score\n1,a,1.5\n2,b,2.5\n")
	if err := src.CSV(filepath.Join(dir, "in.csv")).Write().Parquet(filepath.Join(dir, "pq")); err != nil {
		t.Fatal(err)
	}
	q := s.Read().Parquet(filepath.Join(dir, "pq")).Filter("id > 1 AND 1 + 1 = 2").Select("name")
	ex := q.Explain(true)
	for _, want := range []string{"== Analyzed Logical Plan ==", "== Optimized Logical Plan ==", "== Physical Plan ==", "PushedFilters", "FileScan parquet [id, name]"} {
		if !strings.Contains(ex, want) {
			t.Errorf("EXPLAIN lacks %q:\n%s", want, ex)
		}
	}
	if strings.Contains(strings.Split(ex, "== Optimized")[1], "1 + 1") {
		t.Errorf("constant not folded:\n%s", ex)
	}
	rows, err := q.Rows()
	if err != nil || len(rows) != 1 || rows[0][0] != "b" {
		t.Fatalf("rows %v err %v", rows, err)
	}
}
