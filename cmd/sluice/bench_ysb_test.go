package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// benchOK runs sluice bench with args and returns its stdout; the command
// must succeed.
func benchOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := runBench(args, &out, &errb); code != exitOK {
		t.Fatalf("sluice bench %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String()
}

// The bench commands on tiny inputs, so they cannot rot: each checks its
// answer against the reference and fails otherwise.
func TestBenchYSBMemory(t *testing.T) {
	out := benchOK(t, "ysb", "--events", "30000", "--event-rate", "1000", "--batches", "3", "--reps", "1", "--peers", "")
	if !strings.Contains(out, "ok: 300 groups = reference") || !strings.Contains(out, "GOMAXPROCS=") {
		t.Fatalf("output:\n%s", out)
	}
	out = benchOK(t, "ysb", "--events", "30000", "--event-rate", "1000", "--batches", "2", "--reps", "1", "--peers", "", "--sql", "--json")
	var r benchResult
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &r); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if r.Workload != "ysb" || r.Engine != "sluice" || r.Events != 30000 || r.Machine.Cores < 1 || r.Machine.CPU == "" || !strings.HasPrefix(r.Check, "ok") {
		t.Fatalf("--json result %+v", r)
	}
}

func TestBenchYSBKafka(t *testing.T) {
	out := benchOK(t, "ysb", "--kafka", "--events", "25000", "--event-rate", "1000", "--batches", "2", "--reps", "1", "--peers", "")
	if !strings.Contains(out, "ok: 200 groups = reference, each once") || !strings.Contains(out, "kafka+json") {
		t.Fatalf("output:\n%s", out)
	}
}

// The live mode needs windows of wall time to close: 10 s each.
func TestBenchYSBKafkaLive(t *testing.T) {
	if testing.Short() {
		t.Skip("live mode runs for 25 s of wall time")
	}
	out := benchOK(t, "ysb", "--kafka", "--rate", "2000", "--duration", "25s", "--reps", "1", "--peers", "")
	if !strings.Contains(out, "counts)") || !strings.Contains(out, "each once") {
		t.Fatalf("output:\n%s", out)
	}
}

func TestBenchYSBFlags(t *testing.T) {
	for _, args := range [][]string{
		{"ysb", "--rate", "100"},
		{"ysb", "--events", "0"},
		{"ysb", "--no-such-flag"},
	} {
		var out, errb bytes.Buffer
		if code := runBench(args, &out, &errb); code != exitUsage {
			t.Errorf("%v: exit %d, want usage (%d); stderr %s", args, code, exitUsage, errb.String())
		}
	}
}

func TestBenchNexmark(t *testing.T) {
	out := benchOK(t, "nexmark", "--events", "3000", "--batches", "3", "--reps", "1", "--query", "q0,q2,q4,q7")
	for _, q := range []string{"nexmark-q0", "nexmark-q2", "nexmark-q4", "nexmark-q7"} {
		if !strings.Contains(out, q) {
			t.Fatalf("no %s line:\n%s", q, out)
		}
	}
	if strings.Count(out, "= reference") != 4 {
		t.Fatalf("not every answer was checked:\n%s", out)
	}
	var out2, errb bytes.Buffer
	if code := runBench([]string{"nexmark", "--query", "q99"}, &out2, &errb); code != exitUsage {
		t.Fatalf("--query q99: exit %d", code)
	}
}

// With --input and a peers directory without duckdbjob, bench clicks
// says the peer is skipped and still succeeds.
func TestBenchClicksPeerMissing(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := runBench([]string{"clicks", "--input", "/work/peers/data/events_1M.parquet", "--reps", "1", "--peers", dir}, &out, &errb); code != exitOK {
		if _, err := os.Stat("/work/peers/data/events_1M.parquet"); err != nil {
			t.Skip("no peers data here")
		}
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "peer duckdbjob: not found") {
		t.Fatalf("stderr: %s", errb.String())
	}
}
