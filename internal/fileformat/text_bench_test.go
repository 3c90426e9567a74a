package fileformat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Throughput benchmarks; run on one core with
//
//	taskset -c 0 go test -run - -bench 'CSVRead|JSONDecode' -benchtime 3x ./internal/fileformat
//
// and read the rows/s (events/s) metric. On a shared machine wall time
// understates the speed; the rows/cpu-s metrics divide by the process's
// CPU time instead (all threads, so GC counts).

// cpuSeconds is the user+system CPU time of the process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// reportRate reports n items per wall second and per CPU second.
func reportRate(b *testing.B, n float64, cpu0 float64, unit string) {
	b.ReportMetric(n/b.Elapsed().Seconds(), unit+"/s")
	if cpu := cpuSeconds() - cpu0; cpu > 0 {
		b.ReportMetric(n/cpu, unit+"/cpu-s")
	}
}

func csvBenchData(rows int) []byte {
	var buf bytes.Buffer
	r := rand.New(rand.NewPCG(1, 2))
	buf.WriteString("id,price,name,ts\n")
	base := int64(1767323045) // 2026-01-02
	for i := 0; i < rows; i++ {
		ts := base + int64(i)
		fmt.Fprintf(&buf, "%d,%.2f,user_%d,2026-01-%02d %02d:%02d:%02d.%06d\n",
			r.Int64N(1<<40), r.Float64()*1000, r.IntN(100000), 1+int(ts/86400%28), ts/3600%24, ts/60%60, ts%60, r.IntN(1000000))
	}
	return buf.Bytes()
}

func BenchmarkCSVRead(b *testing.B) {
	const rows = 1 << 20
	data := csvBenchData(rows)
	schema := parseTestSchema(b, "id bigint, price double, name string, ts timestamp")
	mem := memory.NewGoAllocator()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		r, err := CSV.(StreamFormat).NewReader(context.Background(), bytes.NewReader(data), "bench.csv",
			ReadOptions{Schema: schema, Mem: mem, Options: map[string]string{"header": "true"}})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			batch, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += int(batch.NumRows())
			batch.Release()
		}
		r.Close()
		if n != rows {
			b.Fatalf("read %d rows", n)
		}
	}
	reportRate(b, float64(rows)*float64(b.N), cpu0, "rows")
}

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

// BenchmarkJSONDecodeYSB decodes YSB events into the full 7-string schema
// and into a 3-field subset, 64Ki events per batch. warm cycles 4Ki
// distinct events (about 800 KB, like a fetched Kafka batch still in
// cache); cold reads 64Ki distinct events (13 MB), so the first touch of
// each event is a cache miss.
func BenchmarkJSONDecodeYSB(b *testing.B) {
	const perBatch = 1 << 16
	for _, data := range []struct {
		name     string
		distinct int
	}{{"warm", 1 << 12}, {"cold", 1 << 16}} {
		events := ysbEvents(data.distinct)
		size := 0
		for _, e := range events {
			size += len(e)
		}
		size *= perBatch / len(events)
		for _, tc := range []struct{ name, schema string }{
			{"all", "user_id string, page_id string, ad_id string, ad_type string, event_type string, event_time string, ip_address string"},
			{"subset", "ad_id string, event_type string, event_time string"},
		} {
			b.Run(data.name+"/"+tc.name, func(b *testing.B) {
				dec, err := NewJSONDecoder(parseTestSchema(b, tc.schema), memory.NewGoAllocator(), nil)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(size))
				b.ResetTimer()
				cpu0 := cpuSeconds()
				for i := 0; i < b.N; i++ {
					for k := 0; k < perBatch; k++ {
						if err := dec.Append(events[k%len(events)]); err != nil {
							b.Fatal(err)
						}
					}
					dec.NewBatch().Release()
				}
				reportRate(b, float64(perBatch)*float64(b.N), cpu0, "events")
			})
		}
	}
}

// BenchmarkJSONRead measures the file path (line splitting + decoding).
func BenchmarkJSONRead(b *testing.B) {
	events := ysbEvents(1 << 18)
	data := bytes.Join(events, []byte("\n"))
	schema := parseTestSchema(b, "ad_id string, event_type string, event_time string")
	mem := memory.NewGoAllocator()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		r, err := JSON.(StreamFormat).NewReader(context.Background(), bytes.NewReader(data), "bench.json", ReadOptions{Schema: schema, Mem: mem})
		if err != nil {
			b.Fatal(err)
		}
		for {
			batch, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			batch.Release()
		}
		r.Close()
	}
	reportRate(b, float64(len(events))*float64(b.N), cpu0, "events")
}

func BenchmarkCSVWrite(b *testing.B) {
	data := csvBenchData(1 << 18)
	schema := parseTestSchema(b, "id bigint, price double, name string, ts timestamp")
	mem := memory.NewGoAllocator()
	r, _ := CSV.(StreamFormat).NewReader(context.Background(), bytes.NewReader(data), "bench.csv",
		ReadOptions{Schema: schema, Mem: mem, Options: map[string]string{"header": "true"}, BatchSize: 1 << 20})
	batch, err := r.Next()
	if err != nil {
		b.Fatal(err)
	}
	defer batch.Release()
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		w, _ := CSV.NewWriter(io.Discard, schema, WriteOptions{Mem: mem})
		if err := w.Write(batch); err != nil {
			b.Fatal(err)
		}
		w.Close()
	}
	reportRate(b, float64(batch.NumRows())*float64(b.N), cpu0, "rows")
}

// BenchmarkJSONDecodeYSBStdlib is the yardstick: encoding/json into a
// struct per event (no Arrow at all).
func BenchmarkJSONDecodeYSBStdlib(b *testing.B) {
	events := ysbEvents(1 << 16)
	type ysb struct {
		UserID    string `json:"user_id"`
		PageID    string `json:"page_id"`
		AdID      string `json:"ad_id"`
		AdType    string `json:"ad_type"`
		EventType string `json:"event_type"`
		EventTime string `json:"event_time"`
		IP        string `json:"ip_address"`
	}
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		for _, e := range events {
			var v ysb
			if err := json.Unmarshal(e, &v); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportRate(b, float64(len(events))*float64(b.N), cpu0, "events")
}
