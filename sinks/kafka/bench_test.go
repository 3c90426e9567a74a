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

	"github.com/sluicehq/sluice/sinks"
)

// BenchmarkSinkTransactional writes batches of 100k 200-byte records to
// kfake over loopback, one transaction per batch (and at-least-once for
// comparison). Run it on one core:
//
//	taskset -c 0 go test -run - -bench Sink -benchtime 20x ./sinks/kafka
//
// The broker runs in the same process, so its CPU is in events/cpu-s.
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
			br := startBroker(b, 4, "out")
			s := newSink(b, Options{BootstrapServers: br.Addr(), Topic: "out", DeliveryGuarantee: g, TransactionalID: "bench"})
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
