package dataframe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/sluicehq/sluice/internal/devkafka"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/trigger"
)

const kafkaSecret = "hunter2-do-not-print"

func startKafka(t *testing.T, cfg devkafka.Config) *devkafka.Broker {
	t.Helper()
	b, err := devkafka.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func kafkaProduce(t *testing.T, b *devkafka.Broker, topic string, kvs ...string) {
	t.Helper()
	cl, err := b.Client(kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		recs = append(recs, &kgo.Record{Key: []byte(k), Value: []byte(v)})
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// kafkaConsume reads want records of topic as a read_committed consumer,
// as "key=value" sorted.
func kafkaConsume(t *testing.T, b *devkafka.Broker, topic string, want int) []string {
	t.Helper()
	cl, err := b.Client(kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []string
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(out) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, string(r.Key)+"="+string(r.Value)) })
	}
	// Anything beyond want would be a duplicate: look a moment longer.
	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	cl.PollFetches(short).EachRecord(func(r *kgo.Record) { out = append(out, string(r.Key)+"="+string(r.Value)) })
	sort.Strings(out)
	return out
}

// A stream from one topic to another through the format list: the sink's
// transactional id comes from the query id, so a restart on the same
// checkpoint carries on exactly once; batch reads see the same records.
func TestKafkaFormatStreamAndBatch(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	b := startKafka(t, devkafka.Config{Partitions: 2, Topics: []string{"in", "out"}})
	kafkaProduce(t, b, "in", "a=1", "b=2", "c=3")
	s := NewSessionWith(Config{Allocator: mem, ShufflePartitions: 2})
	ckpt := t.TempDir()
	start := func() *StreamingQuery {
		df := s.ReadStreamFormat("kafka").
			Option("kafka.bootstrap.servers", b.Addr()).
			Option("subscribe", "in").
			Option("startingOffsets", "earliest").
			Load().
			SelectExpr("key", "concat(value, '!') AS value")
		q, err := df.WriteStream().Format("kafka").
			Option("kafka.bootstrap.servers", b.Addr()).
			Option("topic", "out").
			Option("checkpointLocation", ckpt).
			Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	q := start()
	if err := q.ProcessAllAvailable(ctx); err != nil {
		t.Fatal(err)
	}
	id := q.ID()
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	kafkaProduce(t, b, "in", "d=4")
	q = start()
	if q.ID() != id {
		t.Fatalf("query id changed across a restart: %s then %s", id, q.ID())
	}
	if err := q.ProcessAllAvailable(ctx); err != nil {
		t.Fatal(err)
	}
	lp := q.LastProgress()
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"a=1!", "b=2!", "c=3!", "d=4!"}
	if got := kafkaConsume(t, b, "out", len(want)); !slices.Equal(got, want) {
		t.Fatalf("out holds %v, want %v", got, want)
	}
	if lp.Sources[0].Description != "KafkaV2[Subscribe[in]]" || lp.Sink.Description != "KafkaSink[out, exactly-once]" {
		t.Fatalf("progress describes source %q, sink %q", lp.Sources[0].Description, lp.Sink.Description)
	}
	// The batch ids were committed to the group named by the transactional id.
	txnID, err := KafkaTransactionalID(id, "out")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	offs, err := kadm.NewClient(cl).FetchOffsets(ctx, txnID)
	if err != nil || len(offs) == 0 {
		t.Fatalf("group %s: %v %v", txnID, offs, err)
	}

	// Batch reads: everything, and up to explicit ending offsets.
	batch := func(opts map[string]string) ([]string, error) {
		df := s.Read().Format("kafka").Option("kafka.bootstrap.servers", b.Addr()).Options(opts).Load().
			SelectExpr("CAST(key AS STRING) AS k", "CAST(value AS STRING) AS v")
		rows, err := df.Rows()
		if err != nil {
			return nil, err
		}
		var out []string
		for _, r := range rows {
			out = append(out, fmt.Sprintf("%v=%v", r[0], r[1]))
		}
		sort.Strings(out)
		return out, nil
	}
	if got, err := batch(map[string]string{"subscribe": "out"}); err != nil || !slices.Equal(got, want) {
		t.Fatalf("batch read of out: %v %v", got, err)
	}
	if got, err := batch(map[string]string{"subscribe": "in", "startingOffsets": "earliest"}); err != nil || len(got) != 4 {
		t.Fatalf("batch read of in: %v %v", got, err)
	}
	ends, _ := json.Marshal(map[string]map[string]int{"in": {"0": 0, "1": 0}})
	if got, err := batch(map[string]string{"subscribe": "in", "endingOffsets": string(ends)}); err != nil || len(got) != 0 {
		t.Fatalf("batch read up to offset 0: %v %v", got, err)
	}
	df := s.Read().Format("kafka").Option("kafka.bootstrap.servers", b.Addr()).Option("subscribe", "in").Load()
	if ex := df.Explain(); !strings.Contains(ex, "KafkaV2[Subscribe[in]]") {
		t.Fatalf("EXPLAIN does not name the topics:\n%s", ex)
	}
}

// Mistakes are reported when the DataFrame or query is made, not at run.
func TestKafkaFormatErrors(t *testing.T) {
	ctx := context.Background()
	s := NewSession()
	cases := []struct {
		name string
		df   func() *DataFrame
		want string
	}{
		{"batch from latest", func() *DataFrame {
			return s.Read().Format("kafka").Option("kafka.bootstrap.servers", "x:1").Option("subscribe", "t").Option("startingOffsets", "latest").Load()
		}, "startingOffsets latest is not allowed in a batch read"},
		{"schema", func() *DataFrame {
			return s.Read().Format("kafka").Schema("a INT").Option("kafka.bootstrap.servers", "x:1").Option("subscribe", "t").Load()
		}, "fixed schema"},
		{"paths", func() *DataFrame {
			return s.ReadStreamFormat("kafka").Option("kafka.bootstrap.servers", "x:1").Option("subscribe", "t").Load("somewhere")
		}, "takes no paths"},
		{"no topics", func() *DataFrame {
			return s.ReadStreamFormat("kafka").Option("kafka.bootstrap.servers", "x:1").Load()
		}, "set exactly one of subscribe, subscribePattern and assign"},
		{"group.id", func() *DataFrame {
			return s.ReadStreamFormat("kafka").Option("kafka.bootstrap.servers", "x:1").Option("subscribe", "t").Option("kafka.group.id", "g").Load()
		}, "not in a consumer group"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.df().Err(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error containing %q, got %v", c.want, err)
			}
		})
	}
	// The sink checks its input's columns at Start.
	b := startKafka(t, devkafka.Config{Topics: []string{"in"}})
	src := s.ReadStreamFormat("kafka").Option("kafka.bootstrap.servers", b.Addr()).Option("subscribe", "in").Load()
	_, err := src.SelectExpr("offset").WriteStream().Format("kafka").
		Option("kafka.bootstrap.servers", b.Addr()).Option("topic", "out").
		Option("checkpointLocation", t.TempDir()).Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "no value column") {
		t.Fatalf("sink without a value column: %v", err)
	}
	_, err = src.SelectExpr("value").WriteStream().Format("kafka").
		Option("kafka.bootstrap.servers", b.Addr()).
		Option("checkpointLocation", t.TempDir()).Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "no topic") {
		t.Fatalf("sink without a topic: %v", err)
	}
}

// SASL passwords reach the broker but never an error, EXPLAIN, a
// description or a progress report.
func TestKafkaFormatHidesSecrets(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	b := startKafka(t, devkafka.Config{Topics: []string{"in", "out"},
		Opts:       []kfake.Opt{kfake.EnableSASL(), kfake.Superuser("PLAIN", "admin", kafkaSecret)},
		ClientOpts: []kgo.Opt{kgo.SASL(plain.Auth{User: "admin", Pass: kafkaSecret}.AsMechanism())}})
	kafkaProduce(t, b, "in", "a=1", "b=2")
	jaas := `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="` + kafkaSecret + `";`
	auth := map[string]string{
		"kafka.bootstrap.servers":  b.Addr(),
		"kafka.security.protocol":  "SASL_PLAINTEXT",
		"kafka.sasl.mechanism":     "PLAIN",
		"kafka.sasl.jaas.config":   jaas,
		"kafka.request.timeout.ms": "1000",
	}
	var texts []string
	check := func(what, text string) {
		t.Helper()
		texts = append(texts, text)
		if strings.Contains(text, kafkaSecret) || strings.Contains(text, "hunter2") {
			t.Fatalf("%s shows the password:\n%s", what, text)
		}
	}
	s := NewSessionWith(Config{Allocator: mem})

	// Errors of bad options next to the secret ones.
	bad := s.ReadStreamFormat("kafka").Options(auth).Option("subscribe", "in").Option("kafka.bogus", "1").Option("startingOffsets", "{oops").Load()
	if bad.Err() == nil {
		t.Fatal("bad options accepted")
	}
	check("a source options error", bad.Err().Error())
	check("EXPLAIN of a failed DataFrame", bad.Explain())
	_, err := withOptions(s.ReadStreamFormat("kafka").Options(auth).Option("subscribe", "in").Load().
		WriteStream().Format("kafka"), auth).Option("topic", "out").Option("kafka.compression.type", "nope").
		Option("checkpointLocation", t.TempDir()).Start(ctx)
	if err == nil {
		t.Fatal("bad sink options accepted")
	}
	check("a sink options error", err.Error())
	// A wrong password: the broker refuses, the error does not echo it.
	wrong := map[string]string{}
	for k, v := range auth {
		wrong[k] = strings.ReplaceAll(v, kafkaSecret, kafkaSecret+"-wrong")
	}
	if _, err := s.Read().Format("kafka").Options(wrong).Option("subscribe", "in").Load().Count(); err == nil {
		t.Fatal("a wrong password was accepted")
	} else {
		check("a refused login", err.Error())
	}

	// A working query over SASL.
	in := s.ReadStreamFormat("kafka").Options(auth).Option("subscribe", "in").Option("startingOffsets", "earliest").Load()
	check("EXPLAIN", in.Explain(true))
	ckpt := t.TempDir()
	q, err := withOptions(in.SelectExpr("key", "value").WriteStream().Format("kafka"), auth).Option("topic", "out").
		Option("checkpointLocation", ckpt).Trigger(trigger.AvailableNow()).Start(ctx)
	if err != nil {
		check("start error", err.Error())
		t.Fatal(err)
	}
	if err := q.AwaitTermination(ctx); err != nil {
		check("query error", err.Error())
		t.Fatal(err)
	}
	progress, _ := json.Marshal(q.RecentProgress())
	check("progress", string(progress))
	if !strings.Contains(string(progress), `"numInputRows":2`) {
		t.Fatalf("the query did not read the two records: %s", progress)
	}
	// Nothing of the checkpoint holds the password (offsets, commits,
	// metadata, state).
	files := 0
	err = filepath.WalkDir(ckpt, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		check("checkpoint file "+path, string(data))
		return nil
	})
	if err != nil || files < 3 {
		t.Fatalf("checkpoint walk: %d files, %v", files, err)
	}
	n, err := s.Read().Format("kafka").Options(auth).Option("subscribe", "out").Load().Count()
	if err != nil || n != 2 {
		t.Fatalf("batch read over SASL: %d %v", n, err)
	}
	for _, text := range texts {
		t.Logf("checked: %.300s", text)
	}
	if !errors.Is(bad.Err(), ErrStreaming) {
		t.Fatalf("source option errors wrap ErrStreaming: %v", bad.Err())
	}
}

func withOptions(w *DataStreamWriter, opts map[string]string) *DataStreamWriter {
	for k, v := range opts {
		w = w.Option(k, v)
	}
	return w
}

// JSON in, JSON out: values decoded by the source option and by from_json
// agree, and to_json(struct(...)) makes the sink's values.
func TestKafkaJSONPipeline(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	b := startKafka(t, devkafka.Config{Partitions: 2, Topics: []string{"clicks", "counts", "counts2"}})
	kafkaProduce(t, b, "clicks",
		`u1={"user":"u1","ts":"2026-01-01T00:00:01Z"}`,
		`u2={"user":"u2","ts":"2026-01-01T00:00:02Z"}`,
		`u1={"user":"u1","ts":"2026-01-01T00:00:03Z"}`,
		`u1={"user":"u1","ts":"2026-01-01T00:00:09Z"}`)
	s := NewSessionWith(Config{Allocator: mem, ShufflePartitions: 2})
	src := func(opts ...string) *DataFrame {
		r := s.ReadStreamFormat("kafka").Option("kafka.bootstrap.servers", b.Addr()).
			Option("subscribe", "clicks").Option("startingOffsets", "earliest")
		for i := 0; i < len(opts); i += 2 {
			r = r.Option(opts[i], opts[i+1])
		}
		return r.Load()
	}
	run := func(df *DataFrame, topic string) {
		t.Helper()
		counts := df.WithWatermark("ts", "1 minute").
			GroupBy(Window(Col("ts"), "5 seconds"), Col("user")).
			Agg(Count("*").As("n")).
			Select(Col("user").As("key"), ToJSON(Struct(Col("user"), Col("window.start").As("start"), Col("n"))).As("value"))
		q, err := counts.WriteStream().Format("kafka").OutputMode(Update).
			Option("kafka.bootstrap.servers", b.Addr()).Option("topic", topic).
			Option("checkpointLocation", t.TempDir()).Trigger(trigger.AvailableNow()).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.AwaitTermination(ctx); err != nil {
			t.Fatal(err)
		}
	}
	run(src("valueFormat", "json", "valueSchema", "user STRING, ts TIMESTAMP").Select(Col("value.user").As("user"), Col("value.ts").As("ts")), "counts")
	run(src().Select(FromJSON(Col("value"), "user STRING, ts TIMESTAMP").As("v")).SelectExpr("v.user AS user", "v.ts AS ts"), "counts2")
	want := []string{
		`u1={"user":"u1","start":"2026-01-01T00:00:00.000Z","n":2}`,
		`u1={"user":"u1","start":"2026-01-01T00:00:05.000Z","n":1}`,
		`u2={"user":"u2","start":"2026-01-01T00:00:00.000Z","n":1}`,
	}
	for _, topic := range []string{"counts", "counts2"} {
		if got := kafkaConsume(t, b, topic, len(want)); !slices.Equal(got, want) {
			t.Errorf("%s holds\n%s\nwant\n%s", topic, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	// The SQL spellings.
	rows, err := s.Read().Format("kafka").Option("kafka.bootstrap.servers", b.Addr()).Option("subscribe", "clicks").Load().
		SelectExpr("from_json(value, 'user STRING, ts TIMESTAMP', 'mode', 'FAILFAST') AS v").
		SelectExpr("to_json(struct(v.user, v.ts)) AS j").OrderBy("j").Rows()
	if err != nil || len(rows) != 4 || rows[0][0] != `{"user":"u1","ts":"2026-01-01T00:00:01.000Z"}` {
		t.Fatalf("SQL from_json/to_json: %v %v", rows, err)
	}
}

// A broker restart (same address and data directory) in the middle of a
// running query: the query rides it out and the output stays exactly once.
func TestKafkaBrokerRestartMidStream(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	dir := t.TempDir()
	b, err := devkafka.Start(ctx, devkafka.Config{DataDir: dir, Partitions: 2, Topics: []string{"in", "out"}})
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	kafkaProduce(t, b, "in", "a=1", "b=2")
	s := NewSessionWith(Config{Allocator: mem})
	q, err := s.ReadStreamFormat("kafka").Option("kafka.bootstrap.servers", addr).Option("subscribe", "in").
		Option("startingOffsets", "earliest").Load().
		WriteStream().Format("kafka").Option("kafka.bootstrap.servers", addr).Option("topic", "out").
		Option("checkpointLocation", t.TempDir()).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	if err := q.ProcessAllAvailable(ctx); err != nil {
		t.Fatal(err)
	}
	b.Close()
	time.Sleep(300 * time.Millisecond) // the query meets a dead broker
	b, err = devkafka.Start(ctx, devkafka.Config{DataDir: dir, Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	kafkaProduce(t, b, "in", "c=3", "d=4")
	if err := q.ProcessAllAvailable(ctx); err != nil {
		t.Fatal(err)
	}
	if err := q.Exception(); err != nil {
		t.Fatal(err)
	}
	want := []string{"a=1", "b=2", "c=3", "d=4"}
	if got := kafkaConsume(t, b, "out", len(want)); !slices.Equal(got, want) {
		t.Fatalf("out holds %v, want %v", got, want)
	}
}

// Complete and update mode to Kafka: complete rewrites the whole table
// each batch, update writes only the changed groups; the group key is the
// record key, so every upsert of a key lands in one partition, in order.
// AvailableNow with maxOffsetsPerTrigger splits the backlog into bounded
// batches.
func TestKafkaOutputModes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	b := startKafka(t, devkafka.Config{Partitions: 3, Topics: []string{"in", "complete", "update"}})
	kafkaProduce(t, b, "in", "a=1", "b=1", "a=2", "c=1", "a=3")
	s := NewSessionWith(Config{Allocator: mem, ShufflePartitions: 2})
	run := func(mode OutputMode, topic string) []*microbatch.Progress {
		t.Helper()
		counts := s.ReadStreamFormat("kafka").Option("kafka.bootstrap.servers", b.Addr()).
			Option("subscribe", "in").Option("startingOffsets", "earliest").Option("maxOffsetsPerTrigger", "2").Load().
			SelectExpr("CAST(key AS STRING) AS k").GroupBy("k").Agg(Count("*").As("n")).
			SelectExpr("k AS key", "CAST(n AS STRING) AS value")
		q, err := counts.WriteStream().Format("kafka").OutputMode(mode).
			Option("kafka.bootstrap.servers", b.Addr()).Option("topic", topic).
			Option("checkpointLocation", t.TempDir()).Trigger(trigger.AvailableNow()).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.AwaitTermination(ctx); err != nil {
			t.Fatal(err)
		}
		return q.RecentProgress()
	}
	progress := run(Complete, "complete")
	var sizes []int64
	for _, p := range progress {
		if p.NumInputRows > 0 {
			sizes = append(sizes, p.NumInputRows)
		}
	}
	// 5 records over 3 partitions, at most 2 offsets per batch (a partition
	// with a backlog below one share still gets one offset).
	if len(sizes) < 3 || slices.ContainsFunc(sizes, func(n int64) bool { return n > 3 }) {
		t.Fatalf("AvailableNow with maxOffsetsPerTrigger=2 ran batches of %v rows", sizes)
	}
	run(Update, "update")
	// Every record of a topic, per key in partition order.
	read := func(topic string) (map[string][]string, int) {
		rows, err := s.Read().Format("kafka").Option("kafka.bootstrap.servers", b.Addr()).Option("subscribe", topic).Load().
			SelectExpr("CAST(key AS STRING) AS k", "CAST(value AS STRING) AS v", "partition", "offset").OrderBy("partition", "offset").Rows()
		if err != nil {
			t.Fatal(err)
		}
		byKey := map[string][]string{}
		part := map[string]any{}
		for _, r := range rows {
			k := r[0].(string)
			if p, ok := part[k]; ok && p != r[2] {
				t.Fatalf("%s: key %s in partitions %v and %v", topic, k, p, r[2])
			}
			part[k] = r[2]
			byKey[k] = append(byKey[k], r[1].(string))
		}
		return byKey, len(rows)
	}
	complete, n := read("complete")
	if n <= 5 || complete["a"][len(complete["a"])-1] != "3" || complete["b"][len(complete["b"])-1] != "1" || complete["c"][len(complete["c"])-1] != "1" {
		t.Fatalf("complete mode wrote %d records: %v", n, complete)
	}
	// Complete mode rewrites unchanged groups: b's count appears in every
	// batch from the one that first saw it.
	if len(complete["b"]) < 2 {
		t.Fatalf("complete mode did not rewrite the whole table each batch: %v", complete)
	}
	update, n := read("update")
	// Update mode writes a group only when it changed: a's counts 1, 2, 3
	// at most once each, in order (two of a's records may share a batch).
	if !slices.IsSorted(update["a"]) || update["a"][len(update["a"])-1] != "3" || len(update["a"]) > 3 ||
		!slices.Equal(update["b"], []string{"1"}) || !slices.Equal(update["c"], []string{"1"}) || n > 5 {
		t.Fatalf("update mode wrote %d records: %v", n, update)
	}
}

// Protobuf values through the format's options: raw messages of a .proto
// given as text decode into the value struct, reachable from SQL.
func TestKafkaProtobufValues(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := startKafka(t, devkafka.Config{Topics: []string{"pb"}})
	msg := func(user string, n byte) string {
		// field 1 (string), field 2 (varint): the wire format by hand.
		return string(append(append([]byte{0x0a, byte(len(user))}, user...), 0x10, n))
	}
	kafkaProduce(t, b, "pb", "k1="+msg("ann", 3), "k2="+msg("bob", 5))
	s := NewSessionWith(Config{Allocator: mem})
	rows, err := s.Read().Format("kafka").Option("kafka.bootstrap.servers", b.Addr()).Option("subscribe", "pb").
		Option("valueFormat", "protobuf").
		Option("protobufSchema", `syntax = "proto3"; package shop; message Click { string user = 1; int32 n = 2; }`).
		Option("protobufMessage", "shop.Click").Load().
		SelectExpr("value.user AS user", "value.n * 2 AS n2").OrderBy("user").Rows()
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(rows); got != "[[ann 6] [bob 10]]" {
		t.Fatalf("rows %s", got)
	}
}
