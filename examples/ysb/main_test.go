package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
)

// TestYSB runs the example over a small file set and checks every count
// against a plain-Go count over the same JSON files.
func TestYSB(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	if err := newGenerator(10, 10).writeFiles(dir, 30_000, 5); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	got, err := run(context.Background(), dataframe.NewSessionWith(dataframe.Config{Allocator: mem}), dir, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "30000 events in 3 micro-batches") {
		t.Errorf("output:\n%s", out.String())
	}
	want := reference(t, dir)
	if len(got) != len(want) {
		t.Errorf("%d campaign windows, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d views, want %d", k, got[k], v)
		}
	}
}

// reference counts views per campaign and window straight from the files.
func reference(t *testing.T, dir string) map[string]int64 {
	campaign := map[string]string{}
	ads, err := os.ReadFile(filepath.Join(dir, "ads.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(ads)), "\n")[1:] {
		ad, c, _ := strings.Cut(line, ",")
		campaign[ad] = c
	}
	counts := map[string]int64{}
	files, _ := filepath.Glob(filepath.Join(dir, "events", "*.json"))
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var e struct {
				AdID      string `json:"ad_id"`
				EventType string `json:"event_type"`
				EventTime string `json:"event_time"`
			}
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatal(err)
			}
			if e.EventType != "view" {
				continue
			}
			ms, _ := strconv.ParseInt(e.EventTime, 10, 64)
			w := time.UnixMilli(ms - ms%10_000).UTC().Format(time.RFC3339)
			counts[fmt.Sprintf("%s %s", campaign[e.AdID], w)]++
		}
		f.Close()
	}
	return counts
}
