package dataframe

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/microbatch"
	memsrc "github.com/sluicehq/sluice/sources/memory"
)

// The progress JSON's stateOperators report each stateful operator's
// state after the batch, with Spark's names: the keys in state, the keys
// the batch put and removed, the memory the state holds, the commit time
// and the late rows dropped (counted after the partial aggregation, as
// Spark).
func TestProgressStateOperatorMetrics(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := NewSessionWith(Config{ShufflePartitions: 2, Allocator: mem})
	type click struct {
		User string
		TS   time.Time `sluice:"ts"`
	}
	in := memsrc.NewStream[click](s)
	defer in.Close()
	q, err := s.ReadStream(in).WithWatermark("ts", "5 seconds").
		GroupBy(Expr("window(ts, '10 seconds')"), Col("user")).Agg(Count("*").As("n")).
		WriteStream().Sink(discardSink{}).OutputMode(Update).
		Option("checkpointLocation", filepath.Join(t.TempDir(), "ckpt")).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	at := func(sec int) time.Time { return time.Date(2026, 1, 1, 0, 0, sec, 0, time.UTC) }

	type metrics struct {
		OperatorName              string `json:"operatorName"`
		NumRowsTotal              *int64 `json:"numRowsTotal"`
		NumRowsUpdated            *int64 `json:"numRowsUpdated"`
		NumRowsRemoved            *int64 `json:"numRowsRemoved"`
		MemoryUsedBytes           *int64 `json:"memoryUsedBytes"`
		CommitTimeMs              *int64 `json:"commitTimeMs"`
		NumRowsDroppedByWatermark *int64 `json:"numRowsDroppedByWatermark"`
		NumShufflePartitions      int    `json:"numShufflePartitions"`
	}
	check := func(p *microbatch.Progress) metrics {
		t.Helper()
		var doc struct {
			StateOperators []metrics `json:"stateOperators"`
		}
		if err := json.Unmarshal([]byte(p.JSON()), &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.StateOperators) != 1 {
			t.Fatalf("batch %d: stateOperators %s", p.BatchID, p.JSON())
		}
		m := doc.StateOperators[0]
		for name, v := range map[string]*int64{"numRowsTotal": m.NumRowsTotal, "numRowsUpdated": m.NumRowsUpdated,
			"numRowsRemoved": m.NumRowsRemoved, "memoryUsedBytes": m.MemoryUsedBytes, "commitTimeMs": m.CommitTimeMs,
			"numRowsDroppedByWatermark": m.NumRowsDroppedByWatermark} {
			if v == nil || *v < 0 {
				t.Fatalf("batch %d: %s missing or negative in %s", p.BatchID, name, p.JSON())
			}
		}
		// A few keys of a string and a window struct take some bytes, and
		// far less than a megabyte.
		if *m.MemoryUsedBytes <= 0 || *m.MemoryUsedBytes > 1<<20 {
			t.Errorf("batch %d: memoryUsedBytes %d is implausible for %d keys", p.BatchID, *m.MemoryUsedBytes, *m.NumRowsTotal)
		}
		if *m.CommitTimeMs > 10_000 {
			t.Errorf("batch %d: commitTimeMs %d", p.BatchID, *m.CommitTimeMs)
		}
		if m.OperatorName != "stateStoreSave" || m.NumShufflePartitions != 2 {
			t.Errorf("batch %d: operatorName %q, numShufflePartitions %d", p.BatchID, m.OperatorName, m.NumShufflePartitions)
		}
		return m
	}
	seen := int64(-1)
	total := int64(0)
	for i, step := range []struct {
		rows []click
		// of the data batch
		total, updated, dropped int64
		// of the step's batches: the data batch and any no-data batch the
		// watermark's move caused
		removed int64
	}{
		// Three groups; the watermark becomes 01:35 (01:40 - 5s), which
		// closes the windows [0s, 10s) of a and b: a no-data batch evicts
		// them.
		{rows: []click{{"a", at(1)}, {"b", at(2)}, {"a", at(3)}, {"a", at(100)}}, total: 3, updated: 3, removed: 2},
		// c's window [0s, 10s) is closed: its two rows are one late group
		// after the partial aggregation. a's window [100s, 110s) changes,
		// d's is new.
		{rows: []click{{"c", at(3)}, {"c", at(4)}, {"a", at(101)}, {"d", at(102)}}, total: 2, updated: 2, dropped: 1},
		// Only late rows: nothing put, nothing removed.
		{rows: []click{{"e", at(50)}, {"f", at(60)}}, total: 2, dropped: 2},
	} {
		if _, err := in.AddData(step.rows...); err != nil {
			t.Fatal(err)
		}
		if err := q.ProcessAllAvailable(ctx); err != nil {
			t.Fatal(err)
		}
		var removed int64
		data := 0
		for _, p := range q.RecentProgress() {
			if p.BatchID <= seen {
				continue
			}
			seen = p.BatchID
			m := check(p)
			removed += *m.NumRowsRemoved
			if *m.NumRowsTotal != total+*m.NumRowsUpdated-*m.NumRowsRemoved && p.NumInputRows == 0 {
				t.Errorf("no-data batch %d: total %d, was %d, removed %d", p.BatchID, *m.NumRowsTotal, total, *m.NumRowsRemoved)
			}
			total = *m.NumRowsTotal
			if p.NumInputRows == 0 {
				if *m.NumRowsUpdated != 0 || *m.NumRowsDroppedByWatermark != 0 {
					t.Errorf("no-data batch %d: %s", p.BatchID, p.JSON())
				}
				continue
			}
			data++
			got := [3]int64{*m.NumRowsTotal, *m.NumRowsUpdated, *m.NumRowsDroppedByWatermark}
			if want := [3]int64{step.total, step.updated, step.dropped}; got != want {
				t.Errorf("step %d, batch %d: total, updated, dropped = %v, want %v\n%s", i, p.BatchID, got, want, p.PrettyJSON())
			}
		}
		if data != 1 || removed != step.removed {
			t.Errorf("step %d: %d data batches, %d rows removed; want 1 and %d", i, data, removed, step.removed)
		}
	}
}
