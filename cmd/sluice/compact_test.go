package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/sinks"
	sinkfiles "github.com/sluicehq/sluice/sinks/files"
)

// sinkDir writes batches of two rows each with the file sink (ranges
// sealed every 4 batches) and returns the directory.
func sinkDir(t *testing.T, format string, batches int, opts map[string]string) string {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := filepath.Join(t.TempDir(), "out")
	o, err := sinkfiles.ParseOptions(format, []string{"p"}, map[string]string{"path": dir,
		"manifestCompactInterval": "2", "manifestMaxCompactBatches": "4"})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range opts {
		if o.FormatOptions == nil {
			o.FormatOptions = map[string]string{}
		}
		o.FormatOptions[k] = v
	}
	o.Mem = mem
	s, err := sinkfiles.New(o)
	if err != nil {
		t.Fatal(err)
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "p", Type: arrow.BinaryTypes.String}}, nil)
	for b := 0; b < batches; b++ {
		ib := array.NewInt64Builder(mem)
		sb := array.NewStringBuilder(mem)
		ib.AppendValues([]int64{int64(2 * b), int64(2*b + 1)}, nil)
		sb.AppendValues([]string{"x", "x"}, nil)
		cols := []arrow.Array{ib.NewArray(), sb.NewArray()}
		rec := array.NewRecordBatch(schema, cols, 2)
		rr, _ := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
		err := s.AddBatch(context.Background(), int64(b), sinks.Append, rr)
		rr.Release()
		rec.Release()
		for _, c := range cols {
			c.Release()
		}
		ib.Release()
		sb.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func dirFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	slices.Sort(out)
	return out
}

func runCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCompactCommand(t *testing.T) {
	dir := sinkDir(t, "parquet", 10, nil)
	before := dirFiles(t, dir)

	code, out, errOut := runCLI("compact", dir, "--dry-run")
	if code != exitOK {
		t.Fatalf("dry run: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"dry run: nothing was changed", "would rewrite 2 manifest ranges: 8 small files", "into 2 files", "left 2 files of the newest batches"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if after := dirFiles(t, dir); !slices.Equal(before, after) {
		t.Fatalf("the dry run changed the directory")
	}

	// Flags after PATH work too.
	code, out, errOut = runCLI("compact", "--target-file-size", "1MB", dir, "--grace-period", "1h")
	if code != exitOK || !strings.Contains(out, "rewrote 2 manifest ranges: 8 small files") || !strings.Contains(out, "(parquet)") {
		t.Fatalf("compact: exit %d\n%s%s", code, out, errOut)
	}
	s := dataframe.NewSession()
	n, err := s.Read().Parquet(dir).Count()
	if err != nil || n != 20 {
		t.Fatalf("rows after compaction: %d %v", n, err)
	}
	code, out, _ = runCLI("compact", dir)
	if code != exitOK || !strings.Contains(out, "nothing to merge") {
		t.Fatalf("second run: exit %d\n%s", code, out)
	}
}

func TestCompactCommandCSV(t *testing.T) {
	dir := sinkDir(t, "csv", 8, map[string]string{"header": "true"})
	code, out, errOut := runCLI("compact", dir, "--schema", "id BIGINT", "--option", "header=true")
	if code != exitOK || !strings.Contains(out, "(csv)") || !strings.Contains(out, "rewrote 2 manifest ranges") {
		t.Fatalf("csv: exit %d\n%s%s", code, out, errOut)
	}
	rows, err := dataframe.NewSession().Read().Schema("id BIGINT").Option("header", "true").CSV(dir).OrderBy("id").Rows()
	if err != nil || len(rows) != 16 || rows[15][0] != int64(15) {
		t.Fatalf("csv rows after compaction: %v %v", rows, err)
	}
}

func TestCompactCommandErrors(t *testing.T) {
	plain := t.TempDir()
	os.WriteFile(filepath.Join(plain, "a.parquet"), []byte("x"), 0o644)
	csvDir := sinkDir(t, "csv", 2, nil)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"compact"}, exitUsage, "give exactly one PATH"},
		{[]string{"compact", "a", "b"}, exitUsage, "give exactly one PATH (got 2)"},
		{[]string{"compact", plain, "--target-file-size", "big"}, exitUsage, "--target-file-size"},
		{[]string{"compact", plain, "--bogus"}, exitUsage, "flag provided but not defined"},
		{[]string{"compact", plain, "--option", "header"}, exitUsage, "want key=value"},
		{[]string{"compact", plain}, exitFail, "not a file sink's output"},
		{[]string{"compact", csvDir}, exitFail, "needs schema"},
		{[]string{"compact", "s3://bucket/x?accessKeyId=a&secretAccessKey=hunter2&region=us-east-1&endpoint=http://127.0.0.1:1&maxAttempts=1"}, exitFail, "s3://bucket/x"},
	} {
		code, _, errOut := runCLI(c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant exit %d and %q", c.args, code, errOut, c.code, c.want)
		}
		if strings.Contains(errOut, "hunter2") {
			t.Errorf("%v: the secret is in the message:\n%s", c.args, errOut)
		}
	}
	code, _, errOut := runCLI("compact", "--help")
	if code != exitOK || !strings.Contains(errOut, "Examples:") || !strings.Contains(errOut, "--dry-run") || !strings.Contains(errOut, "-target-file-size") {
		t.Errorf("help: exit %d\n%s", code, errOut)
	}
	if _, _, usage := runCLI(); !strings.Contains(usage, "compact") {
		t.Errorf("the command list lacks compact:\n%s", usage)
	}
}
