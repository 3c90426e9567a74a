package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/internal/jobspec"
)

var update = flag.Bool("update", false, "rewrite testdata/*.txt")

// TestJob runs job.yaml as the README says, twice: the first run converts
// data/in, the second, after data/more's file arrives, only the new file.
func TestJob(t *testing.T) {
	root := t.TempDir()
	in := filepath.Join(root, "data", "in")
	if err := os.CopyFS(in, os.DirFS("data/in")); err != nil {
		t.Fatal(err)
	}
	runJob(t, root)
	checkOutput(t, root, "testdata/first.txt")

	more, err := os.ReadFile("data/more/orders-2026-03-03.csv")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "orders-2026-03-03.csv"), more, 0o644); err != nil {
		t.Fatal(err)
	}
	runJob(t, root)
	checkOutput(t, root, "testdata/second.txt")
}

// runJob runs job.yaml with its paths moved under root, to the end
// (availableNow).
func runJob(t *testing.T, root string) {
	t.Helper()
	data, err := os.ReadFile("job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(data), "examples/files-to-parquet/", root+"/")
	sp, err := jobspec.Parse([]byte(text), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	w, err := sp.Writer(sp.NewSession())
	if err != nil {
		t.Fatal(err)
	}
	q, err := w.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := q.AwaitTermination(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func checkOutput(t *testing.T, root, golden string) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var out strings.Builder
	if err := show(dataframe.NewSessionWith(dataframe.Config{Allocator: mem}), filepath.Join(root, "out", "orders"), &out); err != nil {
		t.Fatal(err)
	}
	if *update {
		os.WriteFile(golden, []byte(out.String()), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("output differs from %s (go test -update accepts it):\n%s", golden, out.String())
	}
}
