package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

var (
	demoBrokerLine = regexp.MustCompile(`broker\s+embedded Kafka on (\S+),`)
	// A console row: | user | window_start | window_end | clicks |
	demoCountRow = regexp.MustCompile(`\|\s*(alice|bob|carol|dave|erin|frank|grace|heidi)\s*\|[^|]+\|[^|]+\|\s*(\d+)\s*\|`)
)

// TestDemo runs the demo for a few seconds: counts appear on the console,
// and click-counts-output holds committed counts a read_committed consumer
// reads, consistent with the console.
func TestDemo(t *testing.T) {
	var out, errb syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- demo(ctx, demoConfig{Duration: 6 * time.Second, Addr: "127.0.0.1:0", Rate: 200,
			Progress: progressFlags{LogFormat: "json"}}, &out, &errb)
	}()

	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := demoBrokerLine.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		cancel()
		<-done
		t.Fatalf("no broker line on stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	}

	// Read the output while the demo runs, as kcat -X isolation.level=read_committed would.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("click-counts-output"),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var committed []map[string]any
	pollCtx, pollCancel := context.WithTimeout(ctx, 5*time.Second)
	for len(committed) == 0 && pollCtx.Err() == nil {
		fs := cl.PollFetches(pollCtx)
		fs.EachRecord(func(r *kgo.Record) {
			var v map[string]any
			if err := json.Unmarshal(r.Value, &v); err != nil {
				t.Errorf("click-counts-output record %q: %v", r.Value, err)
			}
			if v["user_id"] != string(r.Key) {
				t.Errorf("record key %q, value %s: want the key to be the user", r.Key, r.Value)
			}
			committed = append(committed, v)
		})
	}
	pollCancel()

	code := <-done
	stdout := out.String()
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, errb.String())
	}
	if len(committed) == 0 {
		t.Errorf("no committed records in click-counts-output\nstdout:\n%s", stdout)
	}
	for _, v := range committed {
		if c, _ := v["clicks"].(float64); c < 1 {
			t.Errorf("output %v: want clicks >= 1", v)
		}
		for _, k := range []string{"window_start", "window_end"} {
			if _, ok := v[k].(string); !ok {
				t.Errorf("output %v: no %s", v, k)
			}
		}
	}
	rows := demoCountRow.FindAllStringSubmatch(stdout, -1)
	if len(rows) == 0 {
		t.Errorf("no counts on the console:\n%s\nstderr:\n%s", stdout, errb.String())
	}
	for _, want := range []string{"kcat -C -b " + addr + " -t click-counts-output -X isolation.level=read_committed",
		"Batch: 0", "(temporary, removed at exit", "sluice demo: stopped;"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	// stderr: the pipeline's progress, one JSON line per batch.
	progress := 0
	for _, l := range strings.Split(strings.TrimSpace(errb.String()), "\n") {
		if !strings.HasPrefix(l, "{") || !strings.Contains(l, `"name":"click-counts"`) {
			t.Errorf("stderr line %q: want click-counts progress JSON", l)
		}
		progress++
	}
	if progress < 2 {
		t.Errorf("%d progress lines on stderr, want one a second", progress)
	}
}

func TestDemoUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--rate", "0"}, exitUsage, "--rate 0: want 1..1000000"},
		{[]string{"extra"}, exitUsage, "unexpected arguments"},
		{[]string{"--help"}, exitOK, "Usage: sluice demo"},
		{[]string{"--print-spec"}, exitOK, "name: click-counts"},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"demo"}, tc.args...), &out, &errb)
		if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.want) {
			t.Errorf("sluice demo %v: exit %d, output %s%s; want exit %d and %q", tc.args, code, out.String(), errb.String(), tc.code, tc.want)
		}
	}
}
