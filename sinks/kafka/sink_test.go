package kafka

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/devkafka"
	"github.com/sluicehq/sluice/sinks"
)

func startBroker(t testing.TB, partitions int32, topics ...string) *devkafka.Broker {
	t.Helper()
	b, err := devkafka.Start(context.Background(), devkafka.Config{Partitions: partitions, Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func newSink(t testing.TB, o Options) *Sink {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var kvSchema = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "value", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// kv makes a reader of key/value rows from "k=v" strings ("v" alone: no key).
func kv(t testing.TB, mem memory.Allocator, pairs ...string) array.RecordReader {
	t.Helper()
	b := array.NewRecordBuilder(mem, kvSchema)
	defer b.Release()
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			b.Field(0).AppendNull()
			v = k
		} else {
			b.Field(0).(*array.StringBuilder).Append(k)
		}
		b.Field(1).(*array.StringBuilder).Append(v)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	rr, err := array.NewRecordReader(kvSchema, []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

func add(t testing.TB, s *Sink, id int64, rr array.RecordReader) error {
	t.Helper()
	defer rr.Release()
	return s.AddBatch(context.Background(), id, sinks.Append, rr)
}

// sentinel ends every partition in consume; it is not returned.
const sentinel = "--end-of-test--"

// consume reads every committed value of topic with a read_committed
// consumer. It first appends a sentinel record to every partition (not
// transactional, after everything under test): once the consumer has
// read all sentinels it has read everything before them, so a duplicate
// cannot hide behind a guessed quiet period and a slow machine only makes
// the read slower, not wrong. On a timeout it reports where the
// partitions end and what was read.
func consume(t testing.TB, b *devkafka.Broker, topic string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prod, err := b.Client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	adm := kadm.NewClient(prod)
	tds, err := adm.ListTopics(ctx, topic)
	if err == nil {
		err = tds[topic].Err
	}
	if err != nil {
		t.Fatalf("list topic %s: %v", topic, err)
	}
	parts := tds[topic].Partitions.Numbers()
	for _, p := range parts {
		if err := prod.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: p, Value: []byte(sentinel)}).FirstErr(); err != nil {
			t.Fatalf("write the end sentinel to %s-%d: %v", topic, p, err)
		}
	}
	cl, err := b.Client(kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []string
	ended := map[int32]bool{}
	for len(ended) < len(parts) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			ends, _ := adm.ListEndOffsets(context.Background(), topic)
			stable, _ := adm.ListCommittedOffsets(context.Background(), topic)
			var where []string
			ends.Each(func(o kadm.ListedOffset) {
				lso, _ := stable.Lookup(o.Topic, o.Partition)
				where = append(where, fmt.Sprintf("%s-%d: end %d, last stable %d, sentinel read %v", o.Topic, o.Partition, o.Offset, lso.Offset, ended[o.Partition]))
			})
			t.Fatalf("read_committed consumer did not reach the end of %s in 2 minutes (%s); read so far: %v", topic, strings.Join(where, "; "), out)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Value) == sentinel {
				ended[r.Partition] = true
				return
			}
			out = append(out, string(r.Value))
		})
	}
	sort.Strings(out)
	return out
}

// kcatConsume reads topic with kcat as a read_committed consumer.
func kcatConsume(t testing.TB, addr, topic string) []string {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (apt-get install kcat; .ci/run installs it): skipping the outside-client check")
	}
	out, err := exec.Command(path, "-C", "-b", addr, "-t", topic, "-X", "isolation.level=read_committed", "-e", "-q", "-f", "%s\n").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat -C: %v: %s", err, out)
	}
	lines := slices.DeleteFunc(strings.Fields(string(out)), func(l string) bool { return l == sentinel })
	sort.Strings(lines)
	return lines
}

func TestExactlyOnce(t *testing.T) {
	b := startBroker(t, 2, "out")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	o := Options{BootstrapServers: b.Addr(), Topic: "out", TransactionalID: "q1-sink"}
	s := newSink(t, o)
	if err := add(t, s, 0, kv(t, mem, "a=1", "b=2")); err != nil {
		t.Fatal(err)
	}
	if err := add(t, s, 1, kv(t, mem, "c=3")); err != nil {
		t.Fatal(err)
	}
	// A replay of batch 1 in the same process is skipped.
	if err := add(t, s, 1, kv(t, mem, "c=3")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// After a restart the committed batch id comes from Kafka.
	s2 := newSink(t, o)
	if err := add(t, s2, 1, kv(t, mem, "c=3")); err != nil {
		t.Fatal(err)
	}
	if err := add(t, s2, 2, kv(t, mem, "4")); err != nil { // no key
		t.Fatal(err)
	}
	// An empty batch commits nothing and fails nothing.
	if err := add(t, s2, 3, kv(t, mem)); err != nil {
		t.Fatal(err)
	}
	want := []string{"1", "2", "3", "4"}
	if got := consume(t, b, "out"); !slices.Equal(got, want) {
		t.Fatalf("read_committed consumer saw %v, want %v", got, want)
	}
	if got := kcatConsume(t, b.Addr(), "out"); !slices.Equal(got, want) {
		t.Fatalf("kcat saw %v, want %v", got, want)
	}
}

func TestAbortedTransactionsInvisible(t *testing.T) {
	b := startBroker(t, 1, "out")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	o := Options{BootstrapServers: b.Addr(), Topic: "out", TransactionalID: "q2-sink"}
	s := newSink(t, o)
	if err := add(t, s, 0, kv(t, mem, "a")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// A crashed writer: its transaction holds records but never ends.
	ctx := context.Background()
	crashed, err := b.Client(kgo.TransactionalID("q2-sink"), kgo.TransactionTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if err := crashed.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := crashed.ProduceSync(ctx, &kgo.Record{Topic: "out", Value: []byte("crashed")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// The restarted sink fences it, which aborts its transaction.
	s2 := newSink(t, o)
	if err := add(t, s2, 1, kv(t, mem, "b")); err != nil {
		t.Fatal(err)
	}
	crashed.Close()
	// An explicit abort by another writer is invisible too.
	other, err := b.Client(kgo.TransactionalID("other"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := other.ProduceSync(ctx, &kgo.Record{Topic: "out", Value: []byte("aborted")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := other.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
	if err := add(t, s2, 2, kv(t, mem, "c")); err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "b", "c"}
	if got := consume(t, b, "out"); !slices.Equal(got, want) {
		t.Fatalf("read_committed consumer saw %v, want %v", got, want)
	}
	if got := kcatConsume(t, b.Addr(), "out"); !slices.Equal(got, want) {
		t.Fatalf("kcat saw %v, want %v", got, want)
	}
}

func TestZombieFenced(t *testing.T) {
	b := startBroker(t, 1, "out")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	o := Options{BootstrapServers: b.Addr(), Topic: "out", TransactionalID: "q3-sink"}
	zombie := newSink(t, o)
	if err := add(t, zombie, 0, kv(t, mem, "a")); err != nil {
		t.Fatal(err)
	}
	next := newSink(t, o)
	if err := add(t, next, 0, kv(t, mem, "a")); err != nil { // replay: skipped
		t.Fatal(err)
	}
	if err := add(t, next, 1, kv(t, mem, "b")); err != nil {
		t.Fatal(err)
	}
	err := add(t, zombie, 1, kv(t, mem, "b-zombie"))
	if !errors.Is(err, ErrFenced) {
		t.Fatalf("zombie write: %v, want ErrFenced", err)
	}
	if err := add(t, zombie, 2, kv(t, mem, "c-zombie")); !errors.Is(err, ErrFenced) {
		t.Fatalf("zombie stays fenced: %v", err)
	}
	if err := add(t, next, 2, kv(t, mem, "c")); err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "b", "c"}
	if got := consume(t, b, "out"); !slices.Equal(got, want) {
		t.Fatalf("read_committed consumer saw %v, want %v", got, want)
	}
}

func TestAtLeastOnceRewritesReplays(t *testing.T) {
	b := startBroker(t, 1, "out")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := newSink(t, Options{BootstrapServers: b.Addr(), Topic: "out", DeliveryGuarantee: AtLeastOnce})
	for _, id := range []int64{0, 0} {
		if err := add(t, s, id, kv(t, mem, "a")); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := consume(t, b, "out"), []string{"a", "a"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestColumns(t *testing.T) {
	b := startBroker(t, 3, "t1", "t2")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "value", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "topic", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "partition", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "headers", Type: arrow.ListOf(arrow.StructOf(
			arrow.Field{Name: "key", Type: arrow.BinaryTypes.String, Nullable: true},
			arrow.Field{Name: "value", Type: arrow.BinaryTypes.Binary, Nullable: true})), Nullable: true},
	}, nil)
	rb := array.NewRecordBuilder(mem, schema)
	defer rb.Release()
	vb := rb.Field(0).(*array.BinaryBuilder)
	tb := rb.Field(1).(*array.StringBuilder)
	pb := rb.Field(2).(*array.Int32Builder)
	hb := rb.Field(3).(*array.ListBuilder)
	hs := hb.ValueBuilder().(*array.StructBuilder)
	for i, row := range []struct {
		v, topic string
		part     int32
	}{{"x", "t1", 2}, {"y", "t2", 1}, {"", "t2", 0}} {
		vb.Append([]byte(row.v))
		tb.Append(row.topic)
		pb.Append(row.part)
		hb.Append(true)
		hs.Append(true)
		hs.FieldBuilder(0).(*array.StringBuilder).Append(fmt.Sprint("h", i))
		hs.FieldBuilder(1).(*array.BinaryBuilder).Append([]byte("hv"))
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	// Offset the batch so sliced arrays are covered.
	sl := rec.NewSlice(0, 3)
	defer sl.Release()
	rr, _ := array.NewRecordReader(schema, []arrow.RecordBatch{sl})
	s := newSink(t, Options{BootstrapServers: b.Addr(), TransactionalID: "cols"})
	if err := s.CheckSchema(schema); err != nil {
		t.Fatal(err)
	}
	if err := add(t, s, 0, rr); err != nil {
		t.Fatal(err)
	}
	cl, err := b.Client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		"t1": {2: kgo.NewOffset().AtStart()}, "t2": {0: kgo.NewOffset().AtStart(), 1: kgo.NewOffset().AtStart()},
	}), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []string
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(got) < 3 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			h := ""
			for _, x := range r.Headers {
				h += x.Key + ":" + string(x.Value)
			}
			got = append(got, fmt.Sprintf("%s/%d=%q %s", r.Topic, r.Partition, r.Value, h))
		})
	}
	sort.Strings(got)
	want := []string{`t1/2="x" h0:hv`, `t2/0="" h2:hv`, `t2/1="y" h1:hv`}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestSchemaErrors(t *testing.T) {
	s, err := New(Options{BootstrapServers: "x:1", TransactionalID: "q"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		schema *arrow.Schema
		want   string
	}{
		{arrow.NewSchema([]arrow.Field{{Name: "key", Type: arrow.BinaryTypes.String}}, nil), "no value column"},
		{arrow.NewSchema([]arrow.Field{{Name: "value", Type: arrow.PrimitiveTypes.Int64}}, nil), "to_json"},
		{arrow.NewSchema([]arrow.Field{{Name: "value", Type: arrow.BinaryTypes.String}}, nil), "no topic"},
		{arrow.NewSchema([]arrow.Field{{Name: "value", Type: arrow.BinaryTypes.String}, {Name: "partition", Type: arrow.BinaryTypes.String}, {Name: "topic", Type: arrow.BinaryTypes.String}}, nil), "partition must be"},
	} {
		err := s.CheckSchema(tc.schema)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, sinks.ErrSink) {
			t.Errorf("%s: %v, want %q", tc.schema, err, tc.want)
		}
	}
}

func TestOptions(t *testing.T) {
	_, err := ParseOptions(map[string]string{
		"deliveryGuarantee":       "maybe",
		"kafka.acks":              "1",
		"kafka.compression.type":  "brotli",
		"kafka.security.protocol": "SASL_SSL",
		"kafka.sasl.jaas.config":  `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="hunter2";`,
		"kafka.ssl.ca.location":   "/nonexistent.pem",
		"bogus":                   "1",
	})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"kafka.bootstrap.servers is required", "deliveryGuarantee", "kafka.acks", "compression.type", "ssl.ca.location", `unknown option "bogus"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "hunter2") {
		t.Errorf("error shows the password:\n%s", msg)
	}
	o, err := ParseOptions(map[string]string{"kafka.bootstrap.servers": "h:1", "topic": "t", "transactionalId": "x",
		"kafka.security.protocol": "SASL_PLAINTEXT", "kafka.sasl.mechanism": "SCRAM-SHA-512", "kafka.sasl.username": "u", "kafka.sasl.password": "hunter2"})
	if err != nil {
		t.Fatal(err)
	}
	if s := o.String(); strings.Contains(s, "hunter2") || !strings.Contains(s, "***") {
		t.Errorf("String shows secrets: %s", s)
	}
	if _, err := ParseOptions(map[string]string{"kafka.bootstrap.servers": "h:1", "topic": "t"}); err == nil || !strings.Contains(err.Error(), "transactionalId") {
		t.Errorf("exactly-once without transactionalId: %v", err)
	}
}

// TestFailedBatchAborted: a batch that fails half-way leaves nothing
// visible, and the next attempt of the same batch id writes it once.
func TestFailedBatchAborted(t *testing.T) {
	b := startBroker(t, 2, "out")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "value", Type: arrow.BinaryTypes.String},
		{Name: "partition", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	batch := func(parts ...int64) array.RecordReader {
		rb := array.NewRecordBuilder(mem, schema)
		defer rb.Release()
		for i, p := range parts {
			rb.Field(0).(*array.StringBuilder).Append(fmt.Sprint("v", i, "-p", p))
			if p < 0 {
				rb.Field(1).AppendNull()
			} else {
				rb.Field(1).(*array.Int64Builder).Append(p)
			}
		}
		rec := rb.NewRecordBatch()
		defer rec.Release()
		rr, _ := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
		return rr
	}
	s := newSink(t, Options{BootstrapServers: b.Addr(), Topic: "out", TransactionalID: "fail"})
	if err := add(t, s, 0, batch(0, 1, 7)); err == nil || errors.Is(err, ErrFenced) {
		t.Fatalf("partition 7 of 2: %v", err)
	}
	if err := add(t, s, 0, batch(0, 1, -1)); err != nil {
		t.Fatal(err)
	}
	if got, want := consume(t, b, "out"), []string{"v0-p0", "v1-p1", "v2-p-1"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// The topic option wins over a topic column (Spark), and a key column
// sends every record of a key to one partition.
func TestTopicOptionOverridesColumn(t *testing.T) {
	b := startBroker(t, 3, "opt", "col")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "key", Type: arrow.BinaryTypes.String},
		{Name: "value", Type: arrow.BinaryTypes.String},
		{Name: "topic", Type: arrow.BinaryTypes.String},
	}, nil)
	rb := array.NewRecordBuilder(mem, schema)
	defer rb.Release()
	for i := 0; i < 30; i++ {
		rb.Field(0).(*array.StringBuilder).Append(fmt.Sprint("k", i%3))
		rb.Field(1).(*array.StringBuilder).Append(fmt.Sprint(i))
		rb.Field(2).(*array.StringBuilder).Append("col")
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	rr, _ := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	s := newSink(t, Options{BootstrapServers: b.Addr(), Topic: "opt", TransactionalID: "override"})
	if err := add(t, s, 0, rr); err != nil {
		t.Fatal(err)
	}
	if got := consume(t, b, "opt"); len(got) != 30 {
		t.Fatalf("topic opt holds %d records, want 30", len(got))
	}
	if got := consume(t, b, "col"); len(got) != 0 {
		t.Fatalf("the topic column was used: %v", got)
	}
	cl, err := b.Client(kgo.ConsumeTopics("opt"), kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	partOf := map[string]int32{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for n := 0; n < 30 && ctx.Err() == nil; {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if string(r.Value) == sentinel {
				return
			}
			n++
			if p, ok := partOf[string(r.Key)]; ok && p != r.Partition {
				t.Errorf("key %s in partitions %d and %d", r.Key, p, r.Partition)
			}
			partOf[string(r.Key)] = r.Partition
		})
	}
	if len(partOf) != 3 {
		t.Fatalf("keys seen: %v", partOf)
	}
}

// TestCommitVerified: a commit the client reports but Kafka does not have
// (franz-go can end a transaction it was asked to commit with an abort
// and return nil) is found by reading the batch id back, and the batch is
// written again; if that keeps happening AddBatch fails, never claiming
// success. The broker turns EndTxn(commit) into an abort to simulate it.
func TestCommitVerified(t *testing.T) {
	b := startBroker(t, 2, "out")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var flips atomic.Int32
	flip := func(n int32) {
		flips.Store(n)
		b.Cluster().ControlKey(kmsg.EndTxn.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
			if r := req.(*kmsg.EndTxnRequest); r.Commit && flips.Load() > 0 {
				flips.Add(-1)
				r.Commit = false
			}
			return nil, nil, false
		})
	}
	s := newSink(t, Options{BootstrapServers: b.Addr(), Topic: "out", TransactionalID: "verify"})
	flip(1)
	if err := add(t, s, 0, kv(t, mem, "k=a")); err != nil {
		t.Fatalf("one silently aborted commit: %v", err)
	}
	if flips.Load() != 0 {
		t.Fatal("the commit was never flipped: the test tests nothing")
	}
	flip(maxAttempts)
	err := add(t, s, 1, kv(t, mem, "k=b"))
	if !errors.Is(err, errNotCommitted) {
		t.Fatalf("every commit aborted: %v, want errNotCommitted", err)
	}
	// The engine retries the batch (here: after a restart).
	s2 := newSink(t, Options{BootstrapServers: b.Addr(), Topic: "out", TransactionalID: "verify"})
	if err := add(t, s2, 1, kv(t, mem, "k=b")); err != nil {
		t.Fatal(err)
	}
	if got := consume(t, b, "out"); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("read_committed consumer saw %v, want [a b]", got)
	}
}
