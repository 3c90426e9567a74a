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

// TestFirings runs job.yaml the way each cron firing of sluice schedule
// does (availableNow from the checkpoint), twice, with a new log file in
// between: each firing takes only what is new.
func TestFirings(t *testing.T) {
	root := t.TempDir()
	in := filepath.Join(root, "data", "incoming")
	if err := os.CopyFS(in, os.DirFS("data/incoming")); err != nil {
		t.Fatal(err)
	}
	if rows := fire(t, root); rows != 5 {
		t.Errorf("first firing read %d rows, want 5", rows)
	}
	check(t, root, "testdata/first.txt")
	if rows := fire(t, root); rows != 0 {
		t.Errorf("a firing with nothing new read %d rows", rows)
	}
	more, err := os.ReadFile("data/more/access-0002.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "access-0002.json"), more, 0o644); err != nil {
		t.Fatal(err)
	}
	if rows := fire(t, root); rows != 2 {
		t.Errorf("third firing read %d rows, want the new file's 2", rows)
	}
	check(t, root, "testdata/second.txt")
}

// fire runs one firing of job.yaml with its paths under root and returns
// the input rows it read.
func fire(t *testing.T, root string) int64 {
	t.Helper()
	data, err := os.ReadFile("job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := jobspec.Parse([]byte(strings.ReplaceAll(string(data), "examples/scheduled/", root+"/")), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Trigger.Cron == "" {
		t.Fatal("job.yaml has no cron trigger: sluice schedule refuses it")
	}
	w, err := sp.Writer(sp.NewSession()) // a cron trigger runs as availableNow
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
	var rows int64
	for _, p := range q.RecentProgress() {
		rows += p.NumInputRows
	}
	return rows
}

func check(t *testing.T, root, golden string) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var out strings.Builder
	if err := show(dataframe.NewSessionWith(dataframe.Config{Allocator: mem}), filepath.Join(root, "out", "server-errors"), &out); err != nil {
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
