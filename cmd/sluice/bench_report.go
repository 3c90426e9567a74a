package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// machineInfo names where a result was measured, on every result line, so
// numbers copied elsewhere keep their context.
type machineInfo struct {
	Cores      int    `json:"cores"`
	CPU        string `json:"cpu"`
	Go         string `json:"go"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Sluice     string `json:"sluice"`
	// Load is /proc/loadavg's 1-minute load when the run started: the
	// machine may be shared, and the numbers depend on it.
	Load string `json:"load,omitempty"`
}

func currentMachine() machineInfo {
	m := machineInfo{Cores: runtime.NumCPU(), CPU: cpuModel(), Go: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0), Sluice: version}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			m.Load = f[0]
		}
	}
	return m
}

// cpuModel is /proc/cpuinfo's first "model name", or GOARCH elsewhere.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// latencyMs summarises per-count latencies: one per (campaign, window)
// final count.
type latencyMs struct {
	Counts int     `json:"counts"`
	P50    float64 `json:"p50"`
	P95    float64 `json:"p95"`
	P99    float64 `json:"p99"`
	Max    float64 `json:"max"`
}

func summarise(ds []time.Duration) *latencyMs {
	if len(ds) == 0 {
		return nil
	}
	return &latencyMs{Counts: len(ds), P50: pct(ds, 50), P95: pct(ds, 95), P99: pct(ds, 99), Max: pct(ds, 100)}
}

// benchResult is one line of a benchmark's output: sluice or a peer.
type benchResult struct {
	Workload     string      `json:"workload"` // ysb, nexmark-q5, clicks
	Engine       string      `json:"engine"`   // sluice, or the peer's name
	Mode         string      `json:"mode"`     // memory, kafka, kafka-rate, ...
	Events       int64       `json:"events"`
	Seconds      float64     `json:"seconds"`
	EventsPerSec float64     `json:"events_per_sec"`
	CPUSeconds   float64     `json:"cpu_seconds,omitempty"`
	OfferedRate  int64       `json:"offered_rate,omitempty"`
	Latency      *latencyMs  `json:"latency_ms,omitempty"`
	Check        string      `json:"check"` // how the answer was verified
	Note         string      `json:"note,omitempty"`
	Machine      machineInfo `json:"machine"`
}

// report prints results as a table, or as JSON lines with --json.
func report(w io.Writer, asJSON bool, rs []benchResult) {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, r := range rs {
			_ = enc.Encode(r)
		}
		return
	}
	if len(rs) > 0 {
		m := rs[0].Machine
		fmt.Fprintf(w, "machine: %d cores, %s; %s GOMAXPROCS=%d; sluice %s; load %s\n", m.Cores, m.CPU, m.Go, m.GOMAXPROCS, m.Sluice, m.Load)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tengine\tmode\tevents\tseconds\tM events/s\tM ev/CPU-s\tlatency p50/p95/p99/max ms\tcheck\t")
	for _, r := range rs {
		lat := "-"
		if r.Latency != nil {
			lat = fmt.Sprintf("%.1f/%.1f/%.1f/%.1f (%d counts)", r.Latency.P50, r.Latency.P95, r.Latency.P99, r.Latency.Max, r.Latency.Counts)
		}
		rate := "-"
		if r.EventsPerSec > 0 {
			rate = fmt.Sprintf("%.2f", r.EventsPerSec/1e6)
		}
		perCPU := "-"
		if r.CPUSeconds > 0 {
			perCPU = fmt.Sprintf("%.2f", float64(r.Events)/r.CPUSeconds/1e6)
		}
		mode := r.Mode
		if r.OfferedRate > 0 {
			mode += fmt.Sprintf(" @%d/s", r.OfferedRate)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.3f\t%s\t%s\t%s\t%s\t\n", r.Workload, r.Engine, mode, r.Events, r.Seconds, rate, perCPU, lat, r.Check)
	}
	tw.Flush()
	for _, r := range rs {
		if r.Note != "" {
			fmt.Fprintf(w, "note (%s, %s): %s\n", r.Workload, r.Engine, r.Note)
		}
	}
}

// peerBin is the path of a peers program (see docs/benchmarks.md), or ""
// when it is not there: peers are optional, a missing one is skipped.
func peerBin(dir, name string) string {
	if dir == "" {
		return ""
	}
	p := dir + "/" + name
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		return ""
	}
	return p
}

// runPeer runs a peer program and returns its output.
func runPeer(bin string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}
