package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRunMetrics runs a windowed count over a rate source with
// --metrics-addr 127.0.0.1:0, scrapes /metrics over HTTP while it runs
// and checks the series named in docs/cli.md, then stops it with Ctrl-C
// (SIGINT) and checks the server stopped with it.
func TestRunMetrics(t *testing.T) {
	// Catch SIGINT here too, so it never kills the test binary between
	// run's handlers.
	guard := make(chan os.Signal, 8)
	signal.Notify(guard, os.Interrupt)
	defer signal.Stop(guard)
	dir := t.TempDir()
	job := filepath.Join(dir, "job.yaml")
	spec := fmt.Sprintf(`name: metered
sources:
  r:
    rate: {rowsPerBatch: "100", advanceMillisPerBatch: "1000"}
    watermark: {column: timestamp, delay: 2s}
query: SELECT window.end AS w, count(*) AS n FROM r GROUP BY window(timestamp, '10 seconds')
sink: {memory: {}}
outputMode: update
trigger: {processingTime: 20ms}
checkpoint: %s
`, filepath.Join(dir, "ck"))
	if err := os.WriteFile(job, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	errb := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"run", "--log-format", "json", "--metrics-addr", "127.0.0.1:0", job}, io.Discard, errb)
	}()
	stopped := false
	defer func() {
		if !stopped {
			sendInterrupt(t)
			<-done
		}
	}()
	addrLine := regexp.MustCompile(`metrics at (http://\S+/metrics)`)
	var url string
	deadline := time.Now().Add(20 * time.Second)
	for url == "" {
		if m := addrLine.FindStringSubmatch(errb.String()); m != nil {
			url = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no metrics address in:\n%s", errb.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	var m scrape
	for {
		m = scrapeMetrics(t, url)
		if v, ok := m.lookup(t, "sluice_query_batches_total", `query="metered"`); ok && v >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than 4 batches in time:\n%s", m.text)
		}
		time.Sleep(20 * time.Millisecond)
	}
	batches := m.value(t, "sluice_query_batches_total", `query="metered"`)
	// A scrape may land between a batch's counter updates: allow one batch.
	near := func(name string, got, want float64) {
		t.Helper()
		if got != want && got != want-100 {
			t.Errorf("%s = %v, want %v (or one batch less)", name, got, want)
		}
	}
	near("input rows", m.value(t, "sluice_query_input_rows_total", `query="metered"`), 100*batches)
	near("source rows", m.value(t, "sluice_source_input_rows_total", `source="RatePerMicroBatchStream[rowsPerBatch=100]"`), 100*batches)
	// One scrape reads the series one after another while batches run:
	// the histogram may be a batch ahead of or behind the counter.
	if got := m.value(t, "sluice_query_batch_duration_seconds_count", `query="metered"`); got < batches-1 || got > batches+1 {
		t.Errorf("batch duration count %v with %v batches", got, batches)
	}
	if got := m.value(t, "sluice_query_last_batch_id", `query="metered"`); got < batches-2 || got > batches {
		t.Errorf("last batch id %v with %v batches", got, batches)
	}
	for _, series := range []string{"sluice_query_processed_rows_per_second", "sluice_query_watermark_seconds", "sluice_query_active"} {
		if got := m.value(t, series, `query="metered"`); got <= 0 {
			t.Errorf("%s = %v, want > 0", series, got)
		}
	}
	if got := m.value(t, "sluice_state_rows", `operator="stateStoreSave"`, `index="0"`); got < 1 {
		t.Errorf("state rows %v, want the open windows", got)
	}
	m.value(t, "sluice_state_memory_bytes", `operator="stateStoreSave"`)
	if got := m.value(t, "sluice_source_backlog", `unit="rows"`); got != 0 {
		t.Errorf("a rate-micro-batch source has no backlog, got %v", got)
	}
	if !regexp.MustCompile(`sluice_query_batches_total\{query="metered",query_id="[0-9a-f-]{36}"\}`).MatchString(m.text) {
		t.Errorf("no query_id label:\n%s", m.text)
	}
	sendInterrupt(t)
	stopped = true
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d:\n%s", code, errb.String())
	}
	if _, err := http.Get(url); err == nil {
		t.Error("the metrics server still answers after the command ended")
	}
	// --log-format json: every progress line is JSON.
	for _, l := range strings.Split(errb.String(), "\n") {
		if l != "" && !strings.HasPrefix(l, "{") && !strings.HasPrefix(l, "sluice") {
			t.Errorf("not a JSON progress line: %q", l)
		}
	}
}

// scrape is one /metrics answer.
type scrape struct{ text string }

func scrapeMetrics(t *testing.T, url string) scrape {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return scrape{text: string(b)}
}

// value is the sample of name whose labels contain every one of labels.
func (s scrape) value(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	v, ok := s.lookup(t, name, labels...)
	if !ok {
		t.Fatalf("no %s%v in:\n%s", name, labels, s.text)
	}
	return v
}

// lookup is value, reporting whether there is such a sample.
func (s scrape) lookup(t *testing.T, name string, labels ...string) (float64, bool) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(s.text))
	sc.Buffer(nil, 1<<20)
next:
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, name+"{") && !strings.HasPrefix(l, name+" ") {
			continue
		}
		for _, lb := range labels {
			if !strings.Contains(l, lb) {
				continue next
			}
		}
		v, err := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		return v, true
	}
	return 0, false
}

// lockedBuffer is a bytes.Buffer safe for a writer and a reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// sendInterrupt sends SIGINT to the test process, as Ctrl-C would.
func sendInterrupt(t *testing.T) {
	t.Helper()
	p, err := os.FindProcess(os.Getpid())
	if err == nil {
		err = p.Signal(os.Interrupt)
	}
	if err != nil {
		t.Fatal(err)
	}
}
