package kafka

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/sluicehq/sluice/internal/devkafka"
	"github.com/sluicehq/sluice/sources"
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

// producer is a client that writes records to explicit partitions.
func producer(t testing.TB, b *devkafka.Broker, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := b.Client(append([]kgo.Opt{kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// produce writes values (key k<i> unless the value is "nullkey:...") to a partition.
func produce(t testing.TB, cl *kgo.Client, topic string, part int32, values ...string) {
	t.Helper()
	var recs []*kgo.Record
	for _, v := range values {
		r := &kgo.Record{Topic: topic, Partition: part, Value: []byte(v), Key: []byte("k" + v)}
		recs = append(recs, r)
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// rows renders a reader's rows as "topic/partition/offset=value" sorted.
func rows(t testing.TB, rr array.RecordReader) []string {
	t.Helper()
	defer rr.Release()
	var out []string
	for rr.Next() {
		b := rr.RecordBatch()
		out = append(out, renderBatch(b)...)
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func renderBatch(b arrow.RecordBatch) []string {
	var out []string
	topic := b.Column(colTopic).(*array.String)
	part := b.Column(colPartition).(*array.Int32)
	off := b.Column(colOffset).(*array.Int64)
	for i := 0; i < int(b.NumRows()); i++ {
		var v string
		switch vc := b.Column(colValue).(type) {
		case *array.Binary:
			if vc.IsNull(i) {
				v = "NULL"
			} else {
				v = string(vc.Value(i))
			}
		default:
			v = vc.ValueStr(i)
		}
		out = append(out, fmt.Sprintf("%s/%d/%d=%s", topic.Value(i), part.Value(i), off.Value(i), v))
	}
	return out
}

func checkedMem(t testing.TB) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

func newSource(t testing.TB, o Options) *Source {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// batch runs LatestOffset + GetBatch from start and returns the end and rows.
func batch(t testing.TB, s *Source, start sources.Offset, limit sources.ReadLimit) (sources.Offset, []string) {
	t.Helper()
	ctx := context.Background()
	end, err := s.LatestOffset(ctx, start, limit)
	if err != nil {
		t.Fatal(err)
	}
	if string(end) == string(start) {
		return end, nil
	}
	rr, err := s.GetBatch(ctx, start, end)
	if err != nil {
		t.Fatal(err)
	}
	return end, rows(t, rr)
}

func kcat(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (apt-get install kcat; .ci/run installs it): skipping the outside-client check")
	}
	return p
}

// kcatProduce writes lines with kcat -P (key:value with -K:).
func kcatProduce(t testing.TB, addr, topic string, part int, lines ...string) {
	t.Helper()
	cmd := exec.Command(kcat(t), "-P", "-b", addr, "-t", topic, "-p", fmt.Sprint(part), "-K", ":")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v: %s", err, out)
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func plainAuth(user, pass string) sasl.Mechanism {
	return plain.Auth{User: user, Pass: pass}.AsMechanism()
}
