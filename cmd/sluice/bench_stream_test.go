package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/clickgen"
)

func TestSplitRows(t *testing.T) {
	tests := []struct {
		total int64
		batch int
		n     int
		want  []int64
	}{
		{100, 30, 10, []int64{10, 10, 10, 10, 10, 10, 10, 10, 10, 10}},
		{103, 16, 4, []int64{26, 26, 26, 25}},
		{5, 2, 1, []int64{5}},
		{3, 3, 5, []int64{1, 1, 1, 0, 0}},
		{0, 4, 3, []int64{0, 0, 0}},
	}
	for _, tt := range tests {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		events := clickgen.Batches(mem, tt.total, tt.batch)
		parts := splitRows(events, tt.total, tt.n)
		var got []int64
		for _, p := range parts {
			n := int64(0)
			for _, b := range p {
				n += b.NumRows()
				b.Release()
			}
			got = append(got, n)
		}
		for _, b := range events {
			b.Release()
		}
		if len(got) != len(tt.want) {
			t.Fatalf("split %d rows in %d: %v, want %v", tt.total, tt.n, got, tt.want)
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Fatalf("split %d rows in %d: %v, want %v", tt.total, tt.n, got, tt.want)
			}
		}
		mem.AssertSize(t, 0)
	}
}

// The stream mode prints the events line (with rows=, checked against the
// batch count) and the overhead line, keeps its checkpoints in
// --checkpoint, and refuses to reuse them.
func TestBenchClicksStream(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := run([]string{"bench", "clicks", "--events", "30000", "--mode", "stream", "--batches", "10", "--reps", "2", "--checkpoint", dir}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdout:\n%s", out.String())
	}
	if !regexp.MustCompile(`^clicks: 30000 events in [0-9.]+s = [0-9.]+ M events/s rows=[1-9][0-9]* batches=10$`).MatchString(lines[0]) {
		t.Errorf("events line %q", lines[0])
	}
	if !regexp.MustCompile(`^overhead p50=[0-9.]+ms p99=[0-9.]+ms$`).MatchString(lines[1]) {
		t.Errorf("overhead line %q", lines[1])
	}
	for _, rep := range []string{"rep-0", "rep-1"} {
		ents, err := os.ReadDir(filepath.Join(dir, rep, "commits"))
		if err != nil || len(ents) != 10 {
			t.Errorf("%s: %d commits (%v), want 10", rep, len(ents), err)
		}
	}
	out.Reset()
	errb.Reset()
	code = run([]string{"bench", "clicks", "--events", "30000", "--mode", "stream", "--reps", "1", "--checkpoint", dir}, &out, &errb)
	if code != exitFail || !strings.Contains(errb.String(), "already exists") {
		t.Fatalf("reusing a checkpoint: exit %d, stderr %q", code, errb.String())
	}
	code = run([]string{"bench", "clicks", "--events", "1000", "--mode", "sideways"}, &out, &errb)
	if code != exitUsage {
		t.Fatalf("bad mode: exit %d", code)
	}
}

// The batch mode still prints its line.
func TestBenchClicksBatch(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"bench", "clicks", "--events", "30000", "--reps", "1"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !regexp.MustCompile(`^clicks: 30000 events in [0-9.]+s = [0-9.]+ M events/s groups=\d+ total=\d+ max=\d+\n$`).MatchString(out.String()) {
		t.Fatalf("batch line %q", out.String())
	}
}
