package fileformat

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

var pqUpdateGolden = flag.Bool("update-parquet-golden", false, "rewrite testdata/parquet/golden.* from the current writer")

// pqReadBytes opens an in-memory Parquet file and drains it. It returns the
// first error; it must never panic.
func pqReadBytes(mem memory.Allocator, data []byte, opts ReadOptions) (rows int64, err error) {
	f, err := openPQReaderAt("fuzz.parquet", bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		return 0, err
	}
	opts.Mem = mem
	r, err := newParquetReaderFile(f, opts)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	for {
		b, err := r.Next()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows += b.NumRows()
		b.Release()
	}
}

func pqSampleFile(t testing.TB) []byte {
	mem := memory.NewGoAllocator()
	rec := pqLoadAllTypes(t, mem)
	defer rec.Release()
	path := pqWriteParquet(t, rec.Schema(), map[string]string{"rowGroupSize": "4"}, rec)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestParquetCorruptFiles truncates and damages a valid file at many
// places: every attempt must end in an error (or a clean read), never a
// panic, and never leak Arrow memory.
func TestParquetCorruptFiles(t *testing.T) {
	data := pqSampleFile(t)
	if _, err := pqReadBytes(memory.NewGoAllocator(), data, ReadOptions{}); err != nil {
		t.Fatalf("sample file: %v", err)
	}
	try := func(what string, b []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		_, err := pqReadBytes(mem, b, ReadOptions{})
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrSchemaMismatch) {
			t.Fatalf("%s: error %v is neither ErrMalformed nor ErrSchemaMismatch", what, err)
		}
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte("corrupt parquet data")) {
			// Leaks are only tolerated after a recovered library panic.
			mem.AssertSize(t, 0)
		}
	}
	for n := 0; n < len(data); n += max(1, len(data)/200) {
		try("truncated", data[:n])
	}
	for i := 4; i < len(data)-8; i += max(1, len(data)/300) {
		b := bytes.Clone(data)
		b[i] ^= 0x5a
		try("flipped", b)
	}
}

func FuzzParquetOpen(f *testing.F) {
	data := pqSampleFile(f)
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add(data[len(data)/2:])
	f.Add([]byte("PAR1PAR1"))
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		mem := memory.NewGoAllocator()
		pqReadBytes(mem, b, ReadOptions{BatchSize: 3})
		pqReadBytes(mem, b, ReadOptions{Filters: []Filter{{Column: "i64", Op: ">", Value: int64(0)}}})
	})
}

// TestParquetGolden reads a small file our writer produced at some point:
// readers must keep reading old files, and the writer's output changing is
// visible in review (-update-parquet-golden rewrites it).
func TestParquetGolden(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	golden := filepath.Join("testdata", "parquet", "golden.parquet")
	goldenText := filepath.Join("testdata", "parquet", "golden.txt")
	if *pqUpdateGolden {
		rec := pqLoadAllTypes(t, mem)
		path := pqWriteParquet(t, rec.Schema(), map[string]string{"rowGroupSize": "4"}, rec)
		rec.Release()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := pqReadAll(t, mem, golden, ReadOptions{})
	defer got.Release()
	text := got.Schema().String() + "\n" + pqRowsText(got)
	if *pqUpdateGolden {
		if err := os.WriteFile(goldenText, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenText)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != text {
		t.Fatalf("golden file reads differently\nwant:\n%s\ngot:\n%s", want, text)
	}
	// And it matches the JSON it was written from.
	rec := pqLoadAllTypes(t, mem)
	defer rec.Release()
	pqAssertSameRows(t, rec, got)
	_ = context.Background
}
