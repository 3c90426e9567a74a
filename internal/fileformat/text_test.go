package fileformat

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestTextReadCases(t *testing.T) { runTextCases(t, Text, "testdata/text/*.txt") }

func TestFormatsRegistered(t *testing.T) {
	for _, n := range []string{"csv", "JSON", "text"} {
		if _, ok := Lookup(n); !ok {
			t.Errorf("format %s not registered", n)
		}
	}
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gz(t *testing.T, s string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(s))
	zw.Close()
	return buf.Bytes()
}

func TestOpenGzipAndCompressedExtensions(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	schema := parseTestSchema(t, "a int, b string")
	p := writeFile(t, "x.csv.gz", gz(t, "1,x\n2,y\n"))
	r, err := CSV.Open(ctx, p, ReadOptions{Schema: schema, Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := readAll(t, r)
	r.Close()
	if err != nil || strings.Join(rows, ";") != `1, "x";2, "y"` {
		t.Errorf("gzip csv: %v %v", rows, err)
	}
	// An empty .gz file reads as empty.
	p = writeFile(t, "empty.json.gz", nil)
	r, err = JSON.Open(ctx, p, ReadOptions{Schema: schema, Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err = readAll(t, r)
	r.Close()
	if err != nil || len(rows) != 0 {
		t.Errorf("empty gz: %v %v", rows, err)
	}
	// Not gzip data behind a .gz name.
	p = writeFile(t, "bad.csv.gz", []byte("1,x\n"))
	if _, err := CSV.Open(ctx, p, ReadOptions{Schema: schema, Mem: mem}); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "not a gzip stream") {
		t.Errorf("bad gzip: %v", err)
	}
	p = writeFile(t, "x.csv.bz2", []byte("1,x\n"))
	if _, err := CSV.Open(ctx, p, ReadOptions{Schema: schema, Mem: mem}); err == nil || !strings.Contains(err.Error(), "bz2-compressed input is not supported") {
		t.Errorf("bz2: %v", err)
	}
	if _, err := CSV.Open(ctx, filepath.Join(t.TempDir(), "missing.csv"), ReadOptions{Schema: schema}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestNoSchema(t *testing.T) {
	p := writeFile(t, "x.csv", []byte("1\n"))
	for _, f := range []Format{CSV, JSON} {
		_, err := f.Open(context.Background(), p, ReadOptions{})
		if !errors.Is(err, ErrNoSchema) || !strings.Contains(err.Error(), "pass a schema") || !strings.Contains(err.Error(), "inferSchema=true") {
			t.Errorf("%s: %v", f.Name(), err)
		}
	}
	// Text has a fixed schema.
	r, err := Text.Open(context.Background(), p, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
}

func TestOpenWithInferSchema(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	p := writeFile(t, "x.csv", []byte("id,name,score\n1,ann,1.5\n2,bob,\n"))
	r, err := CSV.Open(context.Background(), p, ReadOptions{Mem: mem, Options: map[string]string{"header": "true", "inferSchema": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := schemaString(r.Schema()); got != "id int, name string, score double" {
		t.Errorf("schema %s", got)
	}
	rows, _, err := readAll(t, r)
	if err != nil || strings.Join(rows, ";") != `1, "ann", 1.5;2, "bob", NULL` {
		t.Errorf("rows %v %v", rows, err)
	}
	p = writeFile(t, "x.json", []byte(`{"b":1,"a":"x"}`+"\n"))
	r2, err := JSON.Open(context.Background(), p, ReadOptions{Mem: mem, Options: map[string]string{"inferSchema": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if got := schemaString(r2.Schema()); got != "a string, b bigint" {
		t.Errorf("json schema %s", got)
	}
	rows, _, err = readAll(t, r2)
	if err != nil || strings.Join(rows, ";") != `"x", 1` {
		t.Errorf("json rows %v %v", rows, err)
	}
}

func TestProjectionToNoColumnsCountsRows(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	schema := parseTestSchema(t, "a int, b int")
	for _, tc := range []struct {
		f  Format
		in string
	}{
		{CSV, "1,2\n3,4\n5,6\n"},
		{JSON, "{\"a\":1}\n{}\n\n{\"b\":2}\n"},
		{Text, "x\ny\nz\n"},
	} {
		sch := schema
		if tc.f == Text {
			sch = TextSchema
		}
		r, err := tc.f.(StreamFormat).NewReader(ctx, strings.NewReader(tc.in), "x", ReadOptions{Schema: sch, Mem: mem, Columns: []int{}, BatchSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for {
			b, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.NumCols() != 0 {
				t.Errorf("%s: %d columns", tc.f.Name(), b.NumCols())
			}
			total += int(b.NumRows())
			b.Release()
		}
		r.Close()
		if total != 3 {
			t.Errorf("%s: counted %d rows, want 3", tc.f.Name(), total)
		}
	}
}

func TestBatchSizes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var sb strings.Builder
	for i := 0; i < 1000; i++ {
		sb.WriteString("1,x\n")
	}
	r, err := CSV.(StreamFormat).NewReader(context.Background(), strings.NewReader(sb.String()), "x.csv",
		ReadOptions{Schema: parseTestSchema(t, "a int, b string"), Mem: mem, BatchSize: 300})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, sizes, err := readAll(t, r)
	if err != nil || len(sizes) != 4 || sizes[0] != 300 || sizes[3] != 100 {
		t.Errorf("sizes %v %v", sizes, err)
	}
}

// A record larger than the read buffer, split across many reads.
func TestLongRecordsAndSmallReads(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	long := strings.Repeat("x", 3<<20)
	in := "1,\"" + long + "\nmore\"\n2,short\n"
	r, err := CSV.(StreamFormat).NewReader(context.Background(), &oneByteReader{r: strings.NewReader(in), n: 4093}, "x.csv",
		ReadOptions{Schema: parseTestSchema(t, "a int, b string"), Mem: mem, Options: map[string]string{"multiLine": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	if b.NumRows() != 2 || renderValue(b.Column(1), 1) != `"short"` || len(renderValue(b.Column(1), 0)) != len(long)+len("\nmore")+3 {
		t.Errorf("got %d rows", b.NumRows())
	}
}

// oneByteReader returns at most n bytes per Read.
type oneByteReader struct {
	r io.Reader
	n int
}

func (o *oneByteReader) Read(p []byte) (int, error) {
	if len(p) > o.n {
		p = p[:o.n]
	}
	return o.r.Read(p)
}

func TestContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r, err := CSV.(StreamFormat).NewReader(ctx, strings.NewReader("1\n"), "x.csv", ReadOptions{Schema: parseTestSchema(t, "a int")})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := r.Next(); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v", err)
	}
}

func TestReadError(t *testing.T) {
	boom := errors.New("boom")
	for _, f := range []Format{CSV, JSON, Text} {
		sch := parseTestSchema(t, "a string")
		first := "\"x\"\n"
		if f == JSON {
			first = `{"a":"x"}` + "\n"
		}
		r, err := f.(StreamFormat).NewReader(context.Background(), io.MultiReader(strings.NewReader(first), &errReader{boom}), "x", ReadOptions{Schema: sch})
		if err != nil {
			t.Fatal(err)
		}
		for {
			b, err := r.Next()
			if err != nil {
				if !errors.Is(err, boom) {
					t.Errorf("%s: got %v", f.Name(), err)
				}
				break
			}
			b.Release()
		}
		r.Close()
	}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

func TestInferReader(t *testing.T) {
	for _, tc := range []struct {
		f    Format
		in   string
		want string
	}{
		{CSV, "1,x\n", "_c0 int, _c1 string"},
		{JSON, `{"a":[1]}` + "\n", "a array<bigint>"},
		{Text, "x\n", "value string"},
	} {
		s, err := tc.f.(StreamFormat).InferReader(context.Background(), strings.NewReader(tc.in), "x", ReadOptions{})
		if err != nil || schemaString(s) != tc.want {
			t.Errorf("%s: %v %v", tc.f.Name(), s, err)
		}
	}
}
