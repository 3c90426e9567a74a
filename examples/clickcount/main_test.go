package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/internal/devkafka"
	"github.com/sluicehq/sluice/internal/jobspec"
	"github.com/sluicehq/sluice/trigger"
)

// TestClickCount writes sample clicks to an embedded broker, runs job.yaml
// and the Go program over them, and checks that each one's committed
// output ends at the right count per user and window.
func TestClickCount(t *testing.T) {
	ctx := context.Background()
	b, err := devkafka.Start(ctx, devkafka.Config{Partitions: 2, Topics: []string{"user-clicks", "click-counts-output", "click-counts-go"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	t0 := time.Date(2026, 1, 1, 0, 4, 0, 0, time.UTC) // the clicks cross a window boundary at 00:05
	clicks := sampleClicks(1000, t0)
	if err := produceClicks(ctx, b.Addr(), clicks); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{}
	for _, c := range clicks {
		want[c.UserID+" "+c.Timestamp.Truncate(5*time.Minute).Format(time.RFC3339)]++
	}

	t.Run("job.yaml", func(t *testing.T) {
		sp := loadSpec(t, "job.yaml", b.Addr())
		sp.Checkpoint = t.TempDir()
		w, err := sp.Writer(sp.NewSession())
		if err != nil {
			t.Fatal(err)
		}
		q, err := w.Trigger(trigger.AvailableNow()).Start(ctx) // process the backlog and stop
		if err != nil {
			t.Fatal(err)
		}
		if err := q.AwaitTermination(ctx); err != nil {
			t.Fatal(err)
		}
		checkCounts(t, b.Addr(), "click-counts-output", want)
	})

	t.Run("main.go", func(t *testing.T) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		s := dataframe.NewSessionWith(dataframe.Config{Allocator: mem})
		var out strings.Builder
		cfg := config{Brokers: b.Addr(), Output: "click-counts-go", Checkpoint: t.TempDir(), Once: true}
		if err := run(ctx, s, cfg, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "batch 0: 1000 clicks in") {
			t.Errorf("progress lines: %q", out.String())
		}
		checkCounts(t, b.Addr(), "click-counts-go", want)
	})

	t.Run("watch.yaml", func(t *testing.T) {
		sp := loadSpec(t, "watch.yaml", b.Addr())
		w, err := sp.Writer(sp.NewSession())
		if err == nil {
			err = w.Validate()
		}
		if err != nil {
			t.Fatal(err)
		}
	})
}

// loadSpec reads a spec of this directory, pointed at broker.
func loadSpec(t *testing.T, name, broker string) *jobspec.Spec {
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(data), "127.0.0.1:9092", broker)
	sp, err := jobspec.Parse([]byte(text), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	sp.File = name
	if err := sp.Validate(); err != nil {
		t.Fatal(err)
	}
	return sp
}

// checkCounts reads topic with read_committed; the last count of each user
// and window must be want's.
func checkCounts(t *testing.T, broker, topic string, want map[string]float64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[string]float64{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(got) < len(want) || !equal(got, want) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		fs.EachRecord(func(r *kgo.Record) {
			var v struct {
				UserID      string    `json:"user_id"`
				WindowStart time.Time `json:"window_start"`
				Clicks      float64   `json:"clicks"`
			}
			if err := json.Unmarshal(r.Value, &v); err != nil {
				t.Errorf("%s: %q: %v", topic, r.Value, err)
				return
			}
			k := v.UserID + " " + v.WindowStart.UTC().Format(time.RFC3339)
			if v.Clicks < got[k] {
				t.Errorf("%s: %s went down from %v to %v", topic, k, got[k], v.Clicks)
			}
			got[k] = v.Clicks
		})
	}
	if !equal(got, want) {
		t.Errorf("%s: final counts\n got %v\nwant %v", topic, got, want)
	}
}

func equal(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
