package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/clickgen"
	"github.com/sluicehq/sluice/sinks"
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

// The stream mode runs the stateful job, prints the events line with the
// same groups/total/max as the batch mode, the overhead line and the
// checkpoint bytes, keeps its checkpoints in --checkpoint (state files
// included), and refuses to reuse them.
func TestBenchClicksStream(t *testing.T) {
	dir := t.TempDir()
	var batchOut, errb bytes.Buffer
	if code := run([]string{"bench", "clicks", "--events", "30000", "--reps", "1"}, &batchOut, &errb); code != exitOK {
		t.Fatalf("batch: exit %d: %s", code, errb.String())
	}
	wantSum := regexp.MustCompile(`groups=\d+ total=\d+ max=\d+`).FindString(batchOut.String())
	if wantSum == "" {
		t.Fatalf("batch line %q", batchOut.String())
	}
	var out bytes.Buffer
	errb.Reset()
	code := run([]string{"bench", "clicks", "--events", "30000", "--mode", "stream", "--batches", "10", "--reps", "2", "--checkpoint", dir}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 && len(lines) != 3 { // no CPU time line where it is unknown
		t.Fatalf("stdout:\n%s", out.String())
	}
	m := regexp.MustCompile(`^clicks: 30000 events in [0-9.]+s = [0-9.]+ M events/s (groups=\d+ total=\d+ max=\d+) batches=10 \(\+[01] without data\)$`).FindStringSubmatch(lines[0])
	if m == nil {
		t.Fatalf("events line %q", lines[0])
	}
	if m[1] != wantSum {
		t.Errorf("stream %s, batch %s", m[1], wantSum)
	}
	if !regexp.MustCompile(`^overhead p50=[0-9.]+ms p99=[0-9.]+ms$`).MatchString(lines[1]) {
		t.Errorf("overhead line %q", lines[1])
	}
	if !regexp.MustCompile(`^checkpoint bytes/batch avg=[1-9]\d* max=[1-9]\d* \(offsets avg=[1-9]\d* commits avg=[1-9]\d* state avg=[1-9]\d*\)$`).MatchString(lines[2]) {
		t.Errorf("checkpoint line %q", lines[2])
	}
	if len(lines) == 4 && !regexp.MustCompile(`^cpu: [0-9.]+s = [0-9.]+ M events per CPU-second \(least of the reps\)$`).MatchString(lines[3]) {
		t.Errorf("cpu line %q", lines[3])
	}
	for _, rep := range []string{"rep-0", "rep-1"} {
		ents, err := os.ReadDir(filepath.Join(dir, rep, "commits"))
		if err != nil || len(ents) < 10 {
			t.Errorf("%s: %d commits (%v), want 10 or 11", rep, len(ents), err)
		}
		deltas, _ := filepath.Glob(filepath.Join(dir, rep, "state", "*", "*", "*.delta"))
		if len(deltas) < 10 {
			t.Errorf("%s: %d state deltas, want one per batch and partition", rep, len(deltas))
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

// The upsert sink keeps the last count of each (window, user) and is
// idempotent when a batch is replayed.
func TestUpsertSink(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	wt := arrow.StructOf(arrow.Field{Name: "start", Type: arrow.FixedWidthTypes.Timestamp_us}, arrow.Field{Name: "end", Type: arrow.FixedWidthTypes.Timestamp_us})
	schema := arrow.NewSchema([]arrow.Field{{Name: "window", Type: wt}, {Name: "user_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "clicks", Type: arrow.PrimitiveTypes.Int64}}, nil)
	batch := func(js string) arrow.RecordBatch {
		b, _, err := array.RecordFromJSON(mem, schema, strings.NewReader(js))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	u, err := newUpsertSink()
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	add := func(id int64, js string) {
		b := batch(js)
		defer b.Release()
		rr, err := array.NewRecordReader(schema, []arrow.RecordBatch{b})
		if err != nil {
			t.Fatal(err)
		}
		defer rr.Release()
		if err := u.AddBatch(context.Background(), id, sinks.Update, rr); err != nil {
			t.Fatal(err)
		}
	}
	add(0, `[{"window": {"start": 0, "end": 300000000}, "user_id": 1, "clicks": 2},
		{"window": {"start": 0, "end": 300000000}, "user_id": 2, "clicks": 1}]`)
	add(1, `[{"window": {"start": 0, "end": 300000000}, "user_id": 1, "clicks": 5},
		{"window": {"start": 300000000, "end": 600000000}, "user_id": 1, "clicks": 3}]`)
	add(1, `[{"window": {"start": 0, "end": 300000000}, "user_id": 1, "clicks": 5},
		{"window": {"start": 300000000, "end": 600000000}, "user_id": 1, "clicks": 3}]`)
	add(2, `[]`)
	if got, want := u.summary(), (clicksSummary{groups: 3, total: 9, max: 5}); got != want {
		t.Fatalf("summary %s, want %s", got, want)
	}
	b := batch(`[{"window": null, "user_id": 1, "clicks": 1}]`)
	defer b.Release()
	if err := u.add(b); err == nil {
		t.Fatal("a NULL window was accepted")
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
