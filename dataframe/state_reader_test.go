package dataframe

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/testutil/versitygw"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/sinks"
	memsrc "github.com/sluicehq/sluice/sources/memory"
)

// stateRow is the input of the state reader tests.
type stateRow struct {
	User string
	N    int64
}

// discardSink drops what a query writes.
type discardSink struct{}

func (discardSink) AddBatch(_ context.Context, _ int64, _ sinks.OutputMode, rows array.RecordReader) error {
	for rows.Next() {
	}
	return rows.Err()
}
func (discardSink) Close() error { return nil }

// runCounts runs a count and sum per user over batches of input, one
// micro-batch each, with its checkpoint at loc, then stops.
func runCounts(t *testing.T, s *Session, loc string, batches [][]stateRow, opts map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	in := memsrc.NewStream[stateRow](s)
	defer in.Close()
	w := s.ReadStream(in).GroupBy("user").Agg(Count("*").As("c"), Sum("n").As("total")).
		WriteStream().Sink(discardSink{}).OutputMode(Update).Option("checkpointLocation", loc)
	for k, v := range opts {
		w = w.Option(k, v)
	}
	q, err := w.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	for _, b := range batches {
		if _, err := in.AddData(b...); err != nil {
			t.Fatal(err)
		}
		if err := q.ProcessAllAvailable(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

var stateBatches = [][]stateRow{
	{{"a", 1}, {"b", 2}},
	{{"a", 3}, {"c", 5}},
	{{"b", 10}, {"d", 0}, {"e", 7}},
}

// stateAfter is the state (user -> "count sum") after each batch.
var stateAfter = []map[string]string{
	{"a": "1 1", "b": "1 2"},
	{"a": "2 4", "b": "1 2", "c": "1 5"},
	{"a": "2 4", "b": "2 12", "c": "1 5", "d": "1 0", "e": "1 7"},
}

// stateRows reads format("statestore") rows as user -> "count sum",
// checking the columns and the partition ids on the way.
func stateRows(t *testing.T, df *DataFrame, parts int) map[string]string {
	t.Helper()
	if got := df.Columns(); !slices.Equal(got, []string{"key", "value", "partition_id"}) {
		t.Fatalf("columns %v", got)
	}
	rows, err := df.Rows()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		key, val := r[0].(map[string]any), r[1].(map[string]any)
		if len(key) != 1 || len(val) != 2 {
			t.Fatalf("row %v: want key {user}, value {agg0_count, agg1_sum}", r)
		}
		user := key["user"].(string)
		if _, dup := out[user]; dup {
			t.Fatalf("key %s twice", user)
		}
		if p := r[2].(int32); p < 0 || int(p) >= parts {
			t.Fatalf("row %v: partition out of 0..%d", r, parts-1)
		}
		out[user] = fmt.Sprint(val["agg0_count"], " ", val["agg1_sum"])
	}
	return out
}

func TestStateStoreReader(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := NewSessionWith(Config{ShufflePartitions: 3, Allocator: mem})
	loc := filepath.Join(t.TempDir(), "ckpt")
	runCounts(t, s, loc, stateBatches, nil)

	for b, want := range stateAfter {
		df := s.Read().Format("statestore").Option("batchId", fmt.Sprint(b)).Load(loc)
		if got := stateRows(t, df, 3); !mapsEqual(got, want) {
			t.Errorf("batch %d: state %v, want %v", b, got, want)
		}
	}
	// Defaults: operator 0, the last committed batch; path as an option.
	df := s.Read().Format("statestore").Option("path", loc).Option("operatorId", "0").Option("storeName", "").Load()
	if got := stateRows(t, df, 3); !mapsEqual(got, stateAfter[2]) {
		t.Errorf("default batch: state %v, want %v", got, stateAfter[2])
	}
	// Spark's name for the main store, and options in any case.
	df = s.Read().Format("StateStore").Option("STORENAME", "default").Option("batchid", "0").Load(loc)
	if got := stateRows(t, df, 3); !mapsEqual(got, stateAfter[0]) {
		t.Errorf("storeName default: state %v, want %v", got, stateAfter[0])
	}
	// The state is a DataFrame like any other: filter, nested fields, SQL.
	df = s.Read().Format("statestore").Load(loc).
		Filter("value.agg0_count > 1").Select("key.user", "value.agg1_sum")
	rows, err := df.OrderBy("user").Rows()
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(rows); got != "[[a 4] [b 12]]" {
		t.Errorf("filtered state %s", got)
	}
	// Restarting the query goes on from the state the reader saw (the
	// memory source is not durable: it is given the old rows again).
	runCounts(t, s, loc, append(slices.Clone(stateBatches), []stateRow{{"a", 100}}), nil)
	df = s.Read().Format("statestore").Load(loc)
	if got := stateRows(t, df, 3); got["a"] != "3 104" || len(got) != 5 {
		t.Errorf("after batch 3: %v", got)
	}
	if !strings.Contains(df.Explain(), "batch 3") {
		t.Errorf("EXPLAIN does not say which batch is read:\n%s", df.Explain())
	}

	meta := s.Read().Format("state-metadata").Load(loc)
	rows, err = meta.Rows()
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(meta.Columns(), rows); got != "[operatorId operatorName stateStoreName numPartitions minBatchId maxBatchId] [[0 aggregate  3 0 3]]" {
		t.Errorf("state-metadata: %s", got)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Errors name what exists, at Load (not when the DataFrame runs).
func TestStateStoreReaderErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := NewSessionWith(Config{ShufflePartitions: 2, Allocator: mem})
	loc := filepath.Join(t.TempDir(), "ckpt")
	var batches [][]stateRow
	for i := 0; i < 8; i++ {
		batches = append(batches, []stateRow{{fmt.Sprint("u", i), int64(i)}})
	}
	// Keep the logs of the last 3 batches: 5..7.
	runCounts(t, s, loc, batches, map[string]string{"minBatchesToRetain": "3"})
	empty := t.TempDir()
	for _, tc := range []struct {
		name   string
		df     *DataFrame
		want   string
		target error
	}{
		{"no operator", s.Read().Format("statestore").Option("operatorId", "3").Load(loc),
			"operator 3 does not exist; operators: 0 (aggregate)", microbatch.ErrStateUnavailable},
		{"future batch", s.Read().Format("statestore").Option("batchId", "12").Load(loc),
			"batch 12 is not committed: committed batches are 5..7", microbatch.ErrStateUnavailable},
		{"purged batch", s.Read().Format("statestore").Option("batchId", "1").Load(loc),
			"batch 1 is not committed: committed batches are 5..7", microbatch.ErrStateUnavailable},
		{"no store", s.Read().Format("statestore").Option("storeName", "left").Load(loc),
			`operator 0 (aggregate) has no store "left"; stores: ""`, microbatch.ErrStateUnavailable},
		{"not a checkpoint", s.Read().Format("statestore").Load(empty),
			"has no checkpoint (no metadata file)", microbatch.ErrNotCheckpoint},
		{"metadata of no checkpoint", s.Read().Format("state-metadata").Load(filepath.Join(empty, "nope")),
			"has no checkpoint", microbatch.ErrNotCheckpoint},
		{"bad batch id", s.Read().Format("statestore").Option("batchId", "-1").Load(loc),
			`option batchId is "-1"; it must be a non-negative integer`, nil},
		{"bad operator id", s.Read().Format("statestore").Option("operatorId", "x").Load(loc),
			`option operatorId is "x"`, nil},
		{"unknown option", s.Read().Format("statestore").Option("batch", "1").Load(loc),
			`unknown option "batch"; options: path, batchId, operatorId, storeName`, nil},
		{"spark-only option", s.Read().Format("statestore").Option("readChangeFeed", "true").Load(loc),
			`option "readChangeFeed" of Spark's state reader is not supported`, nil},
		{"no path", s.Read().Format("statestore").Load(),
			"no checkpoint given", nil},
		{"two paths", s.Read().Format("statestore").Load(loc, loc),
			"one checkpoint at a time", nil},
		{"schema", s.Read().Format("statestore").Schema("a INT").Load(loc),
			"fixed schema", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.df.Err()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			if tc.target != nil && !errors.Is(err, tc.target) {
				t.Fatalf("error %v does not wrap %v", err, tc.target)
			}
			if !strings.HasPrefix(err.Error(), "dataframe: read state") {
				t.Fatalf("error %q does not say which format failed", err)
			}
		})
	}
	// A checkpoint without state (a stateless query) has no operators.
	stateless := filepath.Join(t.TempDir(), "ckpt")
	ctx := context.Background()
	in := memsrc.NewStream[stateRow](s)
	defer in.Close()
	q, err := s.ReadStream(in).Filter("n > 0").WriteStream().Sink(discardSink{}).Option("checkpointLocation", stateless).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in.AddData(stateRow{"a", 1})
	if err := q.ProcessAllAvailable(ctx); err != nil {
		t.Fatal(err)
	}
	q.Stop(ctx)
	if err := s.Read().Format("statestore").Load(stateless).Err(); err == nil || !strings.Contains(err.Error(), "has no state") {
		t.Fatalf("statestore of a stateless query: %v", err)
	}
	if n, err := s.Read().Format("state-metadata").Load(stateless).Count(); err != nil || n != 0 {
		t.Fatalf("state-metadata of a stateless query: %d rows, %v", n, err)
	}
	// Files removed after Load: the error comes when the DataFrame runs.
	df := s.Read().Format("statestore").Option("batchId", "6").Load(loc)
	if err := df.Err(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(loc, "state", "0", "1")); err != nil {
		t.Fatal(err)
	}
	if _, err := df.Rows(); err == nil || !strings.Contains(err.Error(), "partition 1") {
		t.Fatalf("reading state whose files are gone: %v", err)
	}
	meta, err := s.Read().Format("state-metadata").Load(loc).Rows()
	if err != nil || fmt.Sprint(meta) != "[[0 aggregate  2 <nil> <nil>]]" {
		t.Fatalf("state-metadata with a partition's files gone: %v %v", meta, err)
	}
}

// Chained stateful operators: each has its state, listed by
// state-metadata and readable by operatorId.
func TestStateStoreReaderChained(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := NewSessionWith(Config{ShufflePartitions: 2, Allocator: mem})
	loc := filepath.Join(t.TempDir(), "ckpt")
	type click struct {
		User string
		TS   time.Time `sluice:"ts"`
	}
	in := memsrc.NewStream[click](s)
	defer in.Close()
	df := s.ReadStream(in).WithWatermark("ts", "10 minutes").
		GroupBy(Expr("window(ts, '5 minutes')"), Col("user")).Agg(Count("*").As("n")).
		GroupBy(Expr("window(window_time(window), '1 hour')")).Agg(Count("*").As("users"), Sum("n").As("clicks"))
	q, err := df.WriteStream().Sink(discardSink{}).OutputMode(Append).Option("checkpointLocation", loc).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, b := range [][]click{
		{{"a", t0.Add(time.Minute)}, {"b", t0.Add(2 * time.Minute)}, {"a", t0.Add(3 * time.Minute)}},
		{{"c", t0.Add(30 * time.Minute)}},
	} {
		in.AddData(b...)
		if err := q.ProcessAllAvailable(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The reader takes no lock: it reads the checkpoint of a running query.
	running, err := s.Read().Format("state-metadata").Load(loc).Rows()
	if err != nil || len(running) != 2 {
		t.Fatalf("state-metadata of a running query: %v %v", running, err)
	}
	q.Stop(ctx)
	rows, err := s.Read().Format("state-metadata").Load(loc).Rows()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rows) != fmt.Sprint(running) {
		t.Errorf("state-metadata while running %v, after stop %v", running, rows)
	}
	if len(rows) != 2 || rows[0][0] != int32(0) || rows[1][0] != int32(1) || rows[1][1] != "aggregate" {
		t.Fatalf("state-metadata of a chained query: %v", rows)
	}
	last := rows[0][5].(int64)
	// Operator 0 (the 5-minute windows) evicted the first window once the
	// watermark (00:20) passed it; operator 1 has the hour.
	inner, err := s.Read().Format("statestore").Option("operatorId", "0").Load(loc).Rows()
	if err != nil {
		t.Fatal(err)
	}
	outer, err := s.Read().Format("statestore").Option("operatorId", "1").Option("batchId", fmt.Sprint(last)).Load(loc).Rows()
	if err != nil {
		t.Fatal(err)
	}
	if len(inner) != 1 || inner[0][0].(map[string]any)["user"] != "c" {
		t.Errorf("operator 0 state: %v", inner)
	}
	if len(outer) != 1 || outer[0][1].(map[string]any)["agg1_sum"] != int64(3) {
		t.Errorf("operator 1 state: %v", outer)
	}
}

// The reader works on a checkpoint in S3 (versitygw), and no message or
// EXPLAIN shows the credentials of the location.
func TestStateStoreReaderS3(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	loc := versitygw.Bucket(t, "ckpt/clicks")
	u, _ := url.Parse(loc)
	secret := u.Query().Get("secretAccessKey")
	if secret == "" {
		t.Fatal("the test location has no secret to check for")
	}
	s := NewSessionWith(Config{ShufflePartitions: 2, Allocator: mem})
	runCounts(t, s, loc, stateBatches, nil)
	for b, want := range stateAfter {
		df := s.Read().Format("statestore").Option("batchId", fmt.Sprint(b)).Load(loc)
		if got := stateRows(t, df, 2); !mapsEqual(got, want) {
			t.Errorf("batch %d on S3: state %v, want %v", b, got, want)
		}
		if strings.Contains(df.Explain(), secret) {
			t.Errorf("EXPLAIN shows the secret key:\n%s", df.Explain())
		}
	}
	rows, err := s.Read().Format("state-metadata").Load(loc).Rows()
	if err != nil || fmt.Sprint(rows) != "[[0 aggregate  2 0 2]]" {
		t.Fatalf("state-metadata on S3: %v %v", rows, err)
	}
	err = s.Read().Format("statestore").Option("batchId", "9").Load(loc).Err()
	if err == nil || !strings.Contains(err.Error(), "committed batches are 0..2") || strings.Contains(err.Error(), secret) {
		t.Fatalf("error on S3: %v", err)
	}
	info, err := microbatch.Inspect(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(fmt.Sprintf("%+v", info), secret) {
		t.Fatalf("Inspect shows the secret key: %+v", info)
	}
	if info.LastCommitted != 2 || len(info.Operators) != 1 || info.Operators[0].Rows != 5 {
		t.Fatalf("Inspect on S3: %+v", info)
	}
}

// failAtSink fails every batch from a given id on, leaving it pending.
type failAtSink struct{ from int64 }

func (f failAtSink) AddBatch(_ context.Context, id int64, _ sinks.OutputMode, rows array.RecordReader) error {
	if id >= f.from {
		return errors.New("sink down")
	}
	for rows.Next() {
	}
	return rows.Err()
}
func (failAtSink) Close() error { return nil }

// Inspect summarises a checkpoint: batches, offsets, watermark, state.
func TestInspectCheckpoint(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := NewSessionWith(Config{ShufflePartitions: 2, Allocator: mem})
	loc := filepath.Join(t.TempDir(), "ckpt")
	if _, err := microbatch.Inspect(ctx, loc); !errors.Is(err, microbatch.ErrNotCheckpoint) {
		t.Fatalf("Inspect of no checkpoint: %v", err)
	}
	type click struct {
		User string
		TS   time.Time `sluice:"ts"`
	}
	in := memsrc.NewStream[click](s)
	defer in.Close()
	q, err := s.ReadStream(in).WithWatermark("ts", "10 seconds").
		GroupBy(Expr("window(ts, '1 minute')"), Col("user")).Agg(Count("*").As("n")).
		WriteStream().Sink(failAtSink{from: 1}).OutputMode(Update).Option("checkpointLocation", loc).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	in.AddData(click{"a", t0.Add(30 * time.Second)}, click{"b", t0.Add(40 * time.Second)})
	// Batch 1 fails in the sink: the no-data batch the watermark's move
	// runs, or else the next rows' batch.
	if err := q.ProcessAllAvailable(ctx); err == nil {
		in.AddData(click{"c", t0.Add(45 * time.Second)})
	}
	if err := q.AwaitTermination(ctx); err == nil {
		t.Fatal("the query did not fail")
	}
	info, err := microbatch.Inspect(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	if info.FirstCommitted != 0 || info.LastCommitted != 0 || !slices.Equal(info.Pending, []int64{1}) {
		t.Errorf("batches: committed %d..%d, pending %v; want 0..0 and [1]", info.FirstCommitted, info.LastCommitted, info.Pending)
	}
	if !slices.Equal(info.Offsets, []string{`{"offset":0}`}) {
		t.Errorf("offsets %q", info.Offsets)
	}
	if want := t0.Add(30 * time.Second).UnixMilli(); info.WatermarkMs != want {
		t.Errorf("watermark %d, want %d (max event time 00:40 - 10s)", info.WatermarkMs, want)
	}
	if info.QueryID != q.ID() || info.Location != loc || info.BatchTimestampMs <= 0 {
		t.Errorf("query %q location %q timestamp %d", info.QueryID, info.Location, info.BatchTimestampMs)
	}
	if len(info.Operators) != 1 {
		t.Fatalf("operators %+v", info.Operators)
	}
	op := info.Operators[0]
	if op.ID != 0 || op.Name != "aggregate" || op.Rows != 2 || op.RowsBatch != 0 || op.Bytes <= 0 || op.NumPartitions != 2 {
		t.Errorf("operator %+v", op)
	}
	if st := op.Stores[0]; st.MinBatchID != 0 || st.MaxBatchID != 0 || len(st.KeyColumns) != 2 || st.ValueColumns[0] != "agg0_count: int64" {
		t.Errorf("store %+v", st)
	}
}
