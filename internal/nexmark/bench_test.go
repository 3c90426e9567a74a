package nexmark

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// BenchmarkGenerateRange measures generating 10,000 events as Arrow
// batches.
func BenchmarkGenerateRange(b *testing.B) {
	cfg := Config{Events: 1 << 40}
	mem := memory.NewGoAllocator()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p, a, bid, err := GenerateRange(cfg, mem, int64(i)*10_000, int64(i+1)*10_000)
		if err != nil {
			b.Fatal(err)
		}
		p.Release()
		a.Release()
		bid.Release()
	}
	b.ReportMetric(float64(b.N)*10_000/b.Elapsed().Seconds(), "events/s")
}
