package fileformat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

func dsTouch(t *testing.T, root string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func dsRel(root string, fs []FileInfo) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		r, _ := filepath.Rel(root, f.Path)
		out[i] = filepath.ToSlash(r)
		if len(f.Partition) > 0 {
			var kv []string
			for _, k := range f.PartitionKeys {
				kv = append(kv, k+"="+f.Partition[k])
			}
			out[i] += " {" + strings.Join(kv, ",") + "}"
		}
	}
	return out
}

func TestListFiles(t *testing.T) {
	root := t.TempDir()
	dsTouch(t, root,
		"a.csv", "b.parquet", "_SUCCESS", ".a.csv.crc", "_temporary/x/part-0.csv", ".hidden/c.csv",
		"sub/c.csv", "sub/deeper/d.csv",
		"tbl/year=2024/month=01/p1.parquet", "tbl/year=2024/month=02/p2.parquet",
		"tbl/year=__HIVE_DEFAULT_PARTITION__/month=03/p3.parquet", "tbl/year=2025/month=a%2Fb/p4.parquet",
		"tbl/_sluice_log/0",
	)
	ctx := context.Background()
	cases := []struct {
		pattern string
		want    []string
	}{
		{"a.csv", []string{"a.csv"}},
		{"sub", []string{"sub/c.csv", "sub/deeper/d.csv"}},
		{"*.csv", []string{"a.csv"}},
		{"sub/*", []string{"sub/c.csv", "sub/deeper/d.csv"}},
		{"sub/*.csv", []string{"sub/c.csv"}},
		{"**/*.csv", []string{"a.csv", "sub/c.csv", "sub/deeper/d.csv"}},
		{"tbl/year=2024/*/*.parquet", []string{"tbl/year=2024/month=01/p1.parquet {month=01}", "tbl/year=2024/month=02/p2.parquet {month=02}"}},
		{"tbl", []string{
			"tbl/year=2024/month=01/p1.parquet {year=2024,month=01}",
			"tbl/year=2024/month=02/p2.parquet {year=2024,month=02}",
			"tbl/year=2025/month=a%2Fb/p4.parquet {year=2025,month=a/b}",
			"tbl/year=__HIVE_DEFAULT_PARTITION__/month=03/p3.parquet {year=__HIVE_DEFAULT_PARTITION__,month=03}",
		}},
	}
	for _, c := range cases {
		t.Run(c.pattern, func(t *testing.T) {
			got, err := ListFiles(ctx, filepath.Join(root, c.pattern))
			if err != nil {
				t.Fatal(err)
			}
			if g := dsRel(root, got); strings.Join(g, "\n") != strings.Join(c.want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(c.want, "\n"))
			}
			for _, f := range got {
				if f.Size <= 0 || f.ModTime.IsZero() {
					t.Fatalf("%s: size %d modtime %v", f.Path, f.Size, f.ModTime)
				}
			}
		})
	}
	for _, missing := range []string{"nope", "nope/*.csv", "*.json"} {
		p := filepath.Join(root, missing)
		_, err := ListFiles(ctx, p)
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), root) {
			t.Fatalf("%s: %v", missing, err)
		}
	}
	// An empty directory lists nothing, without error.
	empty := filepath.Join(root, "empty")
	os.Mkdir(empty, 0o755)
	if got, err := ListFiles(ctx, "file://"+empty); err != nil || len(got) != 0 {
		t.Fatalf("empty dir: %v %v", got, err)
	}
}

func TestPartitionSchemaAndPruning(t *testing.T) {
	root := t.TempDir()
	dsTouch(t, root,
		"year=2024/city=paris/a", "year=2024/city=oslo/b", "year=2025/city=paris/c",
		"year=__HIVE_DEFAULT_PARTITION__/city=__HIVE_DEFAULT_PARTITION__/d")
	files, err := ListFiles(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := PartitionSchema(files)
	if err != nil {
		t.Fatal(err)
	}
	if got := ps.String(); !strings.Contains(got, "year: type=int64") || !strings.Contains(got, "city: type=utf8") || ps.Field(0).Name != "year" {
		t.Fatalf("partition schema %s", got)
	}
	cases := []struct {
		filters []Filter
		want    string
	}{
		{nil, "a b c d"},
		{[]Filter{{Column: "year", Op: "=", Value: int64(2024)}}, "a b"},
		{[]Filter{{Column: "year", Op: ">", Value: int32(2024)}}, "c"},
		{[]Filter{{Column: "year", Op: "isnull"}}, "d"},
		{[]Filter{{Column: "year", Op: "isnotnull"}, {Column: "city", Op: "=", Value: "paris"}}, "a c"},
		{[]Filter{{Column: "city", Op: "in", Value: []any{"oslo", nil}}}, "b"},
		{[]Filter{{Column: "city", Op: "!=", Value: "paris"}}, "b"},
		{[]Filter{{Column: "other", Op: "=", Value: int64(1)}}, "a b c d"},
		{[]Filter{{Column: "year", Op: "=", Value: "x"}}, "a b c"}, // incomparable: kept, but NULL = x is never true
	}
	for _, c := range cases {
		got, err := PrunePartitions(files, c.filters)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range got {
			names = append(names, filepath.Base(f.Path))
		}
		sort.Strings(names)
		if strings.Join(names, " ") != c.want {
			t.Fatalf("%v: got %v want %s", c.filters, names, c.want)
		}
	}
	// Mixed layouts are an error naming both files.
	dsTouch(t, root, "loose")
	files, _ = ListFiles(context.Background(), root)
	if _, err := PartitionSchema(files); !errors.Is(err, ErrSchemaMismatch) || !strings.Contains(err.Error(), "loose") {
		t.Fatalf("conflict: %v", err)
	}
}

func TestEscapePathName(t *testing.T) {
	for _, s := range []string{"plain", "a/b", "a=b", "50%", "x:y?*", "new\nline", "ünïcode", "[]{}^#'\"\\"} {
		e := escapePathName(s)
		if strings.ContainsAny(e, "/=:?*\n") {
			t.Fatalf("%q escaped to %q", s, e)
		}
		if u := unescapePathName(e); u != s {
			t.Fatalf("%q -> %q -> %q", s, e, u)
		}
	}
	if escapePathName("a/b=c") != "a%2Fb%3Dc" {
		t.Fatal(escapePathName("a/b=c"))
	}
}

func TestGroupFiles(t *testing.T) {
	var files []FileInfo
	for i, sz := range []int64{100, 10, 90, 20, 50, 50, 1} {
		files = append(files, FileInfo{Path: fmt.Sprintf("f%d", i), Size: sz})
	}
	g := GroupFiles(files, 3)
	if len(g) != 3 {
		t.Fatalf("%d groups", len(g))
	}
	total, n := int64(0), 0
	for _, grp := range g {
		var s int64
		for _, f := range grp {
			s += f.Size
			n++
		}
		if s > 130 {
			t.Fatalf("unbalanced group of %d bytes: %v", s, grp)
		}
		total += s
	}
	if n != len(files) || total != 321 {
		t.Fatalf("files lost: %d %d", n, total)
	}
	if len(GroupFiles(files[:2], 8)) != 2 || len(GroupFiles(nil, 4)) != 0 {
		t.Fatal("group count")
	}
}

// dsBatch builds (id int64, city string, year int64) rows.
func dsBatch(mem memory.Allocator, ids []int64, cities []*string, years []int64) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "year", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	ib := array.NewInt64Builder(mem)
	cb := array.NewStringBuilder(mem)
	yb := array.NewInt64Builder(mem)
	defer ib.Release()
	defer cb.Release()
	defer yb.Release()
	for i := range ids {
		ib.Append(ids[i])
		if cities[i] == nil {
			cb.AppendNull()
		} else {
			cb.Append(*cities[i])
		}
		yb.Append(years[i])
	}
	cols := []arrow.Array{ib.NewArray(), cb.NewArray(), yb.NewArray()}
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	return array.NewRecordBatch(schema, cols, int64(len(ids)))
}

func strp(s string) *string { return &s }

// dsReadDataset lists dir, reads every file with partition columns added
// and renders the rows sorted, one per line.
func dsReadDataset(t *testing.T, mem memory.Allocator, dir string) []string {
	t.Helper()
	files, err := ListFiles(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := PartitionSchema(files)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, f := range files {
		r, err := Parquet{}.Open(context.Background(), f.Path, ReadOptions{Mem: mem})
		if err != nil {
			t.Fatal(err)
		}
		for {
			b, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			full, err := AppendPartitionColumns(mem, b, ps, f)
			b.Release()
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < int(full.NumRows()); i++ {
				var parts []string
				for j := 0; j < int(full.NumCols()); j++ {
					parts = append(parts, full.ColumnName(j)+"="+expr.FormatValue(expr.ValueAt(full.Column(j), i), full.Column(j).DataType(), false))
				}
				sort.Strings(parts)
				rows = append(rows, strings.Join(parts, " "))
			}
			full.Release()
		}
		r.Close()
	}
	sort.Strings(rows)
	return rows
}

func dsEmit(recs ...arrow.RecordBatch) func(func(arrow.RecordBatch) error) error {
	return func(emit func(arrow.RecordBatch) error) error {
		for _, r := range recs {
			if err := emit(r); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestWriteDatasetModes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "out")
	b1 := dsBatch(mem, []int64{1, 2}, []*string{strp("a"), strp("b")}, []int64{1, 1})
	defer b1.Release()
	b2 := dsBatch(mem, []int64{3}, []*string{strp("c")}, []int64{2})
	defer b2.Release()
	schema := b1.Schema()

	if err := WriteDataset(ctx, dir, Parquet{}, schema, dsEmit(b1), DatasetWriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "_SUCCESS")); err != nil {
		t.Fatal("no _SUCCESS marker")
	}
	if got := dsReadDataset(t, mem, dir); len(got) != 2 {
		t.Fatalf("after first write: %v", got)
	}
	// error mode refuses a non-empty directory.
	err := WriteDataset(ctx, dir, Parquet{}, schema, dsEmit(b2), DatasetWriteOptions{Mode: "errorifexists"})
	if !errors.Is(err, ErrPathExists) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("error mode: %v", err)
	}
	// ignore does nothing (and does not run the query).
	ran := false
	if err := WriteDataset(ctx, dir, Parquet{}, schema, func(func(arrow.RecordBatch) error) error { ran = true; return nil }, DatasetWriteOptions{Mode: "ignore"}); err != nil || ran {
		t.Fatalf("ignore: %v ran=%v", err, ran)
	}
	// append adds.
	if err := WriteDataset(ctx, dir, Parquet{}, schema, dsEmit(b2), DatasetWriteOptions{Mode: "append"}); err != nil {
		t.Fatal(err)
	}
	if got := dsReadDataset(t, mem, dir); len(got) != 3 {
		t.Fatalf("after append: %v", got)
	}
	// A failing overwrite keeps the old data whole and leaves no debris.
	boom := errors.New("query failed")
	err = WriteDataset(ctx, dir, Parquet{}, schema, func(emit func(arrow.RecordBatch) error) error {
		if err := emit(b2); err != nil {
			return err
		}
		return boom
	}, DatasetWriteOptions{Mode: "overwrite"})
	if !errors.Is(err, boom) {
		t.Fatalf("failing overwrite: %v", err)
	}
	if got := dsReadDataset(t, mem, dir); len(got) != 3 {
		t.Fatalf("after failed overwrite: %v", got)
	}
	ents, _ := os.ReadDir(filepath.Dir(dir))
	if len(ents) != 1 {
		t.Fatalf("debris next to the output: %v", ents)
	}
	// A failing append leaves nothing either.
	err = WriteDataset(ctx, dir, Parquet{}, schema, func(emit func(arrow.RecordBatch) error) error {
		emit(b1)
		return boom
	}, DatasetWriteOptions{Mode: "append"})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if got := dsReadDataset(t, mem, dir); len(got) != 3 {
		t.Fatalf("after failed append: %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "_temporary")); !os.IsNotExist(err) {
		t.Fatal("_temporary left behind")
	}
	// overwrite replaces.
	if err := WriteDataset(ctx, dir, Parquet{}, schema, dsEmit(b2), DatasetWriteOptions{Mode: "overwrite"}); err != nil {
		t.Fatal(err)
	}
	if got := dsReadDataset(t, mem, dir); len(got) != 1 || got[0] != "city=c id=3 year=2" {
		t.Fatalf("after overwrite: %v", got)
	}
	if err := WriteDataset(ctx, dir, Parquet{}, schema, dsEmit(b2), DatasetWriteOptions{Mode: "sometimes"}); !errors.Is(err, ErrOption) {
		t.Fatalf("bad mode: %v", err)
	}
}

func TestWriteDatasetPartitioned(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "out")
	b := dsBatch(mem, []int64{1, 2, 3, 4, 5, 6, 7},
		[]*string{strp("paris"), strp("a/b=c"), nil, strp("paris"), strp(""), strp("oslo"), strp("paris")},
		[]int64{2024, 2024, 2025, 2025, 2024, 2024, 2024})
	defer b.Release()
	err := WriteDataset(ctx, dir, Parquet{}, b.Schema(), dsEmit(b), DatasetWriteOptions{
		PartitionBy: []string{"year", "city"}, MaxRecordsPerFile: 1, JobID: "job1", Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	files, err := ListFiles(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	got := dsRel(dir, files)
	for _, want := range []string{
		"year=2024/city=a%2Fb%3Dc/part-00002-job1.parquet {year=2024,city=a/b=c}",
		"year=2025/city=__HIVE_DEFAULT_PARTITION__/part-00003-job1.parquet {year=2025,city=__HIVE_DEFAULT_PARTITION__}",
	} {
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Fatalf("missing %q in\n%s", want, strings.Join(got, "\n"))
		}
	}
	if len(files) != 7 { // MaxRecordsPerFile 1: one file per row
		t.Fatalf("%d files:\n%s", len(files), strings.Join(got, "\n"))
	}
	// Data files do not contain the partition columns.
	s, err := Parquet{}.Infer(ctx, files[0].Path, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.NumFields() != 1 || s.Field(0).Name != "id" {
		t.Fatalf("data file schema %s", s)
	}
	rows := dsReadDataset(t, mem, dir)
	want := []string{
		"city=NULL id=3 year=2025", "city=NULL id=5 year=2024", "city=a/b=c id=2 year=2024", "city=oslo id=6 year=2024",
		"city=paris id=1 year=2024", "city=paris id=4 year=2025", "city=paris id=7 year=2024",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows\n%s\nwant\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	if err := WriteDataset(ctx, filepath.Join(t.TempDir(), "x"), Parquet{}, b.Schema(), dsEmit(b), DatasetWriteOptions{PartitionBy: []string{"nosuch"}}); !errors.Is(err, ErrOption) {
		t.Fatalf("unknown partition column: %v", err)
	}
}

func TestWriteDatasetEmpty(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := filepath.Join(t.TempDir(), "out")
	b := dsBatch(mem, nil, nil, nil)
	defer b.Release()
	if err := WriteDataset(context.Background(), dir, Parquet{}, b.Schema(), dsEmit(b), DatasetWriteOptions{}); err != nil {
		t.Fatal(err)
	}
	files, err := ListFiles(context.Background(), dir)
	if err != nil || len(files) != 1 {
		t.Fatalf("%v %v", files, err)
	}
	s, err := Parquet{}.Infer(context.Background(), files[0].Path, ReadOptions{})
	if err != nil || !s.Equal(b.Schema()) {
		t.Fatalf("schema of the empty dataset: %v %v", s, err)
	}
}
