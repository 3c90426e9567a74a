package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/microbatch"
)

// TestProgressOutputModes: which output each --log-format gives on a
// writer that is not a terminal, and the flag errors.
func TestProgressOutputModes(t *testing.T) {
	p := &microbatch.Progress{ID: "id", Name: "q", BatchID: 4, NumInputRows: 7, StateOperators: []microbatch.StateOperator{}}
	for _, c := range []struct {
		format, want string
	}{
		{"", p.JSON() + "\n"}, // auto: not a terminal
		{"auto", p.JSON() + "\n"},
		{"json", p.JSON() + "\n"},
		{"text", "\x1b[2Kq | waiting for the first batch\r\x1b[2Kq | batch 4 | in 0 rows/s | processed 0 rows/s\n"},
	} {
		var buf bytes.Buffer
		out, err := startProgress(progressFlags{LogFormat: c.format}, &buf)
		if err != nil {
			t.Fatal(err)
		}
		l := out.Listener(false)
		l.OnQueryStarted(microbatch.StartedEvent{ID: "id", Name: "q"})
		l.OnQueryProgress(microbatch.ProgressEvent{Progress: p})
		out.Close()
		if buf.String() != c.want {
			t.Errorf("--log-format %q: %q, want %q", c.format, buf.String(), c.want)
		}
	}
	for _, f := range []progressFlags{{LogFormat: "yaml"}, {MetricsAddr: "no-port"}} {
		if _, err := startProgress(f, &bytes.Buffer{}); !errors.Is(err, errProgressFlags) {
			t.Errorf("%+v: %v, want errProgressFlags", f, err)
		}
	}
}

// TestRunProgress runs an availableNow file job: JSON lines carry the
// file source's backlog; --log-format text ends with the summary line.
func TestRunProgress(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("in/1.csv", "user_id,amount\na,1\nb,2\n")
	write("in/2.csv", "user_id,amount\nc,3\n")
	job := func(ck string) string {
		name := filepath.Join(dir, ck+".yaml")
		write(ck+".yaml", `name: totals
sources:
  orders:
    csv: {header: "true", maxFilesPerTrigger: "1"}
    path: `+filepath.Join(dir, "in")+`
    schema: "user_id STRING, amount INT"
query: SELECT user_id, amount FROM orders
sink: {parquet: {}, path: `+filepath.Join(dir, ck+"-out")+`}
trigger: {availableNow: true}
checkpoint: `+filepath.Join(dir, ck)+`
`)
		return name
	}
	var stderr bytes.Buffer
	if code := run([]string{"run", job("a")}, &bytes.Buffer{}, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var backlogs []string
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var p microbatch.Progress
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatalf("not a JSON progress line: %q: %v", l, err)
		}
		b, _ := json.Marshal(p.Sources[0].Backlog)
		backlogs = append(backlogs, string(b))
	}
	want := []string{`{"unit":"files","processed":1,"remaining":1,"remainingBytes":19}`, `{"unit":"files","processed":1,"remaining":0}`}
	if strings.Join(backlogs, "\n") != strings.Join(want, "\n") {
		t.Errorf("backlogs:\n%s\nwant:\n%s", strings.Join(backlogs, "\n"), strings.Join(want, "\n"))
	}
	stderr.Reset()
	if code := run([]string{"run", "--log-format", "text", job("b")}, &bytes.Buffer{}, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	final := stderr.String()[strings.LastIndex(stderr.String(), "\x1b[2K")+4:]
	if !strings.HasPrefix(final, "totals done in ") || !strings.HasSuffix(final, ": 2 batches, 3 input rows\n") {
		t.Errorf("final status line %q", final)
	}
	stderr.Reset()
	if code := run([]string{"run", "--log-format", "xml", job("c")}, &bytes.Buffer{}, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "want auto, text or json") {
		t.Errorf("bad --log-format: exit %d: %s", code, stderr.String())
	}
}

// TestProgressWriter: a message written while the status line is drawn
// goes above it, on a line of its own; in JSON mode it is passed through.
func TestProgressWriter(t *testing.T) {
	for _, c := range []struct{ format, want string }{
		{"text", "\x1b[2Kq | waiting for the first batch\r\x1b[Jsluice run: stopping\n\x1b[2Kq | waiting for the first batch\r\x1b[2Kq | waiting for the first batch\n"},
		{"json", "sluice run: stopping\n"},
	} {
		var buf bytes.Buffer
		out, err := startProgress(progressFlags{LogFormat: c.format}, &buf)
		if err != nil {
			t.Fatal(err)
		}
		out.Listener(false).OnQueryStarted(microbatch.StartedEvent{ID: "id", Name: "q"})
		fmt.Fprintf(out.Writer(), "sluice run: stopping\n")
		out.Close()
		if buf.String() != c.want {
			t.Errorf("%s: %q, want %q", c.format, buf.String(), c.want)
		}
	}
}
