package fileformat

import (
	"io"
	"strings"

	"context"
	"errors"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/storage"
)

func TestListFilesFS(t *testing.T) {
	ctx := context.Background()
	m := storage.NewMem()
	for _, n := range []string{
		"/in/a.json", "/in/b.csv", "/in/_SUCCESS", "/in/.hidden", "/in/_tmp/x.json",
		"/in/d=1/c.json", "/in/d=2/e=x/f.json", "/in/sub/g.json",
	} {
		if err := m.WriteFile(ctx, n, []byte("{}\n"), storage.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		pattern string
		want    []string
		err     error
	}{
		{"/in", []string{"/in/a.json", "/in/b.csv", "/in/d=1/c.json", "/in/d=2/e=x/f.json", "/in/sub/g.json"}, nil},
		{"/in/", []string{"/in/a.json", "/in/b.csv", "/in/d=1/c.json", "/in/d=2/e=x/f.json", "/in/sub/g.json"}, nil},
		{"/in/a.json", []string{"/in/a.json"}, nil},
		{"/in/*.json", []string{"/in/a.json"}, nil},
		{"/in/*/*.json", []string{"/in/d=1/c.json", "/in/sub/g.json"}, nil},
		{"/in/**/*.json", []string{"/in/a.json", "/in/d=1/c.json", "/in/d=2/e=x/f.json", "/in/sub/g.json"}, nil},
		{"/in/d=*", []string{"/in/d=1/c.json", "/in/d=2/e=x/f.json"}, nil},
		{"/in/_tmp/*.json", []string{"/in/_tmp/x.json"}, nil},
		{"/missing", nil, ErrNotFound},
		{"/in/*.parquet", nil, ErrNotFound},
		{"/in/[", nil, ErrOption},
		{"", nil, ErrNotFound},
	}
	for _, tt := range tests {
		files, err := ListFilesFS(ctx, m, tt.pattern)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%q: error %v, want %v", tt.pattern, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.pattern, err)
			continue
		}
		var got []string
		for _, f := range files {
			got = append(got, f.Path)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q = %v, want %v", tt.pattern, got, tt.want)
		}
	}
	files, _ := ListFilesFS(ctx, m, "/in")
	for _, f := range files {
		if f.Path == "/in/d=2/e=x/f.json" {
			if f.Partition["d"] != "2" || f.Partition["e"] != "x" || !slices.Equal(f.PartitionKeys, []string{"d", "e"}) {
				t.Errorf("partitions of %s: %v %v", f.Path, f.Partition, f.PartitionKeys)
			}
		}
		if f.Path == "/in/a.json" && f.Partition != nil {
			t.Errorf("a.json has partitions %v", f.Partition)
		}
	}
	// An empty existing directory lists as empty, not an error.
	m.MkdirAll(ctx, "/empty")
	if files, err := ListFilesFS(ctx, m, "/empty"); err != nil || len(files) != 0 {
		t.Errorf("empty dir: %v %v", files, err)
	}
}

func TestParquetOpenReaderAt(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	m := storage.NewMem()
	schema, rec := pqTestRecord(t, mem)
	defer rec.Release()
	w, err := m.Create(ctx, "/x.parquet", storage.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pw, err := Parquet{}.NewWriter(w, schema, WriteOptions{Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	if err := pw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := m.Open(ctx, "/x.parquet")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := Parquet{}.InferReaderAt(ctx, f, f.Size(), "/x.parquet", ReadOptions{})
	if err != nil || !s.Equal(schema) {
		t.Fatalf("InferReaderAt = %v, %v; want %v", s, err, schema)
	}
	n, err := Parquet{}.RowCountReaderAt(ctx, f, f.Size(), "/x.parquet")
	if err != nil || n != rec.NumRows() {
		t.Fatalf("RowCountReaderAt = %d, %v", n, err)
	}
	r, err := Parquet{}.OpenReaderAt(ctx, f, f.Size(), "/x.parquet", ReadOptions{Schema: schema, Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if !equalRecords(got, rec) {
		t.Errorf("read back %v, want %v", got, rec)
	}
	got.Release()
	r.Close()
	// Garbage is ErrMalformed, not a panic.
	if _, err := (Parquet{}).OpenReaderAt(ctx, stringReaderAt("PAR1 not really PAR1"), 20, "bad", ReadOptions{}); !errors.Is(err, ErrMalformed) {
		t.Errorf("garbage: %v", err)
	}
}

func pqTestRecord(t *testing.T, mem memory.Allocator) (*arrow.Schema, arrow.RecordBatch) {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	rec, _, err := array.RecordFromJSON(mem, schema, strings.NewReader(`[{"id":1,"s":"a"},{"id":null,"s":"bb"},{"id":3,"s":null}]`))
	if err != nil {
		t.Fatal(err)
	}
	return schema, rec
}

func equalRecords(a, b arrow.RecordBatch) bool { return array.RecordEqual(a, b) }

type stringReaderAt string

func (s stringReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(s)) {
		return 0, io.EOF
	}
	n := copy(p, s[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
