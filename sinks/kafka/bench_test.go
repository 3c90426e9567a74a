package kafka

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/sinks"
)

// BenchmarkSinkTransactional writes batches of 100k 200-byte records to
// kfake over loopback, one transaction per batch (and at-least-once for
// comparison). Run it on one core:
//
//	taskset -c 0 go test -run - -bench Sink -benchtime 20x ./sinks/kafka
//
// By default the broker runs in the same process, so its CPU is in
// records/cpu-s; with $SLUICE_KAFKA_BENCH_BROKER set to the address of a
// broker on another core (taskset -c 1 sluice dev kafka --addr
// 127.0.0.1:19092) the numbers are the sink's own.
func BenchmarkSinkTransactional(b *testing.B) {
	const rows = 100_000
	mem := memory.NewGoAllocator()
	bld := array.NewRecordBuilder(mem, kvSchema)
	defer bld.Release()
	val := make([]byte, 200)
	for i := range val {
		val[i] = 'a' + byte(i%26)
	}
	for i := 0; i < rows; i++ {
		bld.Field(0).(*array.StringBuilder).Append(fmt.Sprint("user-", i%10000))
		bld.Field(1).(*array.StringBuilder).Append(string(val))
	}
	rec := bld.NewRecordBatch()
	defer rec.Release()
	for _, g := range []string{ExactlyOnce, AtLeastOnce} {
		b.Run(g, func(b *testing.B) {
			addr, topic := benchBroker(b, 4, "out")
			s := newSink(b, Options{BootstrapServers: addr, Topic: topic, DeliveryGuarantee: g, TransactionalID: "bench-" + topic})
			if path := os.Getenv("SLUICE_KAFKA_PROFILE"); path != "" {
				f, err := os.Create(path + ".sink." + g)
				if err != nil {
					b.Fatal(err)
				}
				pprof.StartCPUProfile(f)
				defer func() { pprof.StopCPUProfile(); f.Close() }()
			}
			b.SetBytes(rows * 210)
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				rr, _ := array.NewRecordReader(kvSchema, []arrow.RecordBatch{rec})
				if err := s.AddBatch(context.Background(), int64(i), sinks.Update, rr); err != nil {
					b.Fatal(err)
				}
				rr.Release()
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(rows*b.N)/(cpuTime()-cpu0).Seconds(), "records/cpu-s")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchBroker is an embedded broker, or the one at
// $SLUICE_KAFKA_BENCH_BROKER with a fresh topic.
func benchBroker(b *testing.B, parts int32, topic string) (addr, name string) {
	b.Helper()
	if addr = os.Getenv("SLUICE_KAFKA_BENCH_BROKER"); addr == "" {
		return startBroker(b, parts, topic).Addr(), topic
	}
	name = fmt.Sprintf("%s-%d", topic, time.Now().UnixNano())
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), parts, 1, nil, name); err != nil {
		b.Fatal(err)
	}
	return addr, name
}
