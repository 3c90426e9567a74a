package kafka

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/devkafka"
)

// ysbEvent is a Yahoo Streaming Benchmark event (about 250 bytes).
func ysbEvents(n int) [][]byte {
	r := rand.New(rand.NewPCG(3, 4))
	uuid := func() string {
		return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint64()&0xffffffffffff)
	}
	ads := make([]string, 1000)
	for i := range ads {
		ads[i] = uuid()
	}
	types := []string{"view", "click", "purchase"}
	adTypes := []string{"banner", "modal", "sponsored-search", "mail", "mobile"}
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf(`{"user_id":"%s","page_id":"%s","ad_id":"%s","ad_type":"%s","event_type":"%s","event_time":"%d","ip_address":"1.2.3.4"}`,
			uuid(), uuid(), ads[r.IntN(len(ads))], adTypes[r.IntN(len(adTypes))], types[r.IntN(len(types))], 1700000000123+int64(i)))
	}
	return out
}

const ysbSchema = "user_id STRING, page_id STRING, ad_id STRING, ad_type STRING, event_type STRING, event_time STRING, ip_address STRING"

// benchBroker is the broker of the benchmarks: an embedded one (its CPU
// counts in the numbers), or the one at $SLUICE_KAFKA_BENCH_BROKER, e.g.
// `taskset -c 1 sluice dev kafka --addr 127.0.0.1:19092` on another core,
// so that events/cpu-s is the client's cost alone. Topics get a fresh
// name per run.
func benchBroker(b *testing.B, parts int32, topic string) (addr, name string) {
	b.Helper()
	ctx := context.Background()
	if addr = os.Getenv("SLUICE_KAFKA_BENCH_BROKER"); addr == "" {
		br, err := devkafka.Start(ctx, devkafka.Config{Partitions: parts, Topics: []string{topic}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { br.Close() })
		return br.Addr(), topic
	}
	name = fmt.Sprintf("%s-%d", topic, time.Now().UnixNano())
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, parts, 1, nil, name); err != nil {
		b.Fatal(err)
	}
	return addr, name
}

// loadYSB makes a topic holding n events over parts partitions.
func loadYSB(b *testing.B, n int, parts int32) (addr, topic string) {
	addr, topic = benchBroker(b, parts, "ysb")
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ProducerLinger(5*time.Millisecond), kgo.ProducerBatchMaxBytes(1<<20), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	events := ysbEvents(1 << 14)
	ctx := context.Background()
	for i := 0; i < n; i++ {
		cl.Produce(ctx, &kgo.Record{Topic: topic, Value: events[i%len(events)]}, func(_ *kgo.Record, err error) {
			if err != nil {
				panic(err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	return addr, topic
}

// BenchmarkSourceYSB reads n YSB events per iteration from kfake over
// loopback in micro-batches of 100k offsets, decoding the values into 7
// string columns (json) or keeping them binary. Run it on one core:
//
//	taskset -c 0 go test -run - -bench SourceYSB -benchtime 3x ./sources/kafka
//
// By default the broker runs in the same process, so its CPU is in the
// numbers (the CPU profile shows its share under kfake); see benchBroker
// for measuring against a broker on another core.
func BenchmarkSourceYSB(b *testing.B) {
	const n = 1 << 19
	addr, topic := loadYSB(b, n, 4)
	for _, format := range []string{"json", "binary"} {
		b.Run(format, func(b *testing.B) {
			o := Options{BootstrapServers: addr, Subscribe: topic, StartingOffsets: "earliest", MaxOffsetsPerTrigger: 100_000,
				Mem: memory.NewGoAllocator(), Logger: nil}
			if format == "json" {
				o.ValueFormat, o.ValueSchema = "json", ysbSchema
			}
			s, err := New(o)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			initial, err := s.InitialOffset(ctx)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(n) * 250)
			if path := os.Getenv("SLUICE_KAFKA_PROFILE"); path != "" {
				f, err := os.Create(path + "." + format)
				if err != nil {
					b.Fatal(err)
				}
				pprof.StartCPUProfile(f)
				defer func() { pprof.StopCPUProfile(); f.Close() }()
			}
			b.ResetTimer()
			cpu0 := cpuTime()
			rows := 0
			for i := 0; i < b.N; i++ {
				start := initial
				for {
					end, err := s.LatestOffset(ctx, start, s.DefaultReadLimit())
					if err != nil {
						b.Fatal(err)
					}
					if string(end) == string(start) {
						break
					}
					rr, err := s.GetBatch(ctx, start, end)
					if err != nil {
						b.Fatal(err)
					}
					for rr.Next() {
						rows += int(rr.RecordBatch().NumRows())
					}
					if err := rr.Err(); err != nil {
						b.Fatal(err)
					}
					rr.Release()
					start = end
				}
			}
			if rows != n*b.N {
				b.Fatalf("read %d rows, want %d", rows, n*b.N)
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(rows)/(cpuTime()-cpu0).Seconds(), "events/cpu-s")
		})
	}
}

// cpuTime is the process's CPU time: client and in-process broker together.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
