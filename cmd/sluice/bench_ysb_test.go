package main

import (
	"bytes"
	"encoding/json"
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
	if !strings.Contains(out, "windows)") || !strings.Contains(out, "each once") {
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
