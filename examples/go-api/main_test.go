package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
)

var update = flag.Bool("update", false, "rewrite testdata/output.txt")

// TestRun runs the example and compares its output with
// testdata/output.txt (what the README shows).
func TestRun(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := dataframe.NewSessionWith(dataframe.Config{Allocator: mem})
	defer s.DropTempView("click_counts") // the memory sink's table holds its rows

	var out bytes.Buffer
	if err := run(context.Background(), s, &out, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("testdata/output.txt", out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/output.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != string(want) {
		t.Errorf("output differs from testdata/output.txt (go test -update to accept):\n%s", got)
	}
}
