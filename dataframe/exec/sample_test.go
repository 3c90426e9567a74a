package exec

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

func TestSampleDeterministic(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	src := newBatchesOp(seqSchema, splitRows(t, mem, seqSchema, seqRows(5000), 3, 300))
	defer src.release()
	for _, repl := range []bool{false, true} {
		a := sortedRows(run(t, mem, NewSample(src, 0.3, repl, 7), 0))
		b := sortedRows(run(t, mem, NewSample(src, 0.3, repl, 7), 0))
		c := sortedRows(run(t, mem, NewSample(src, 0.3, repl, 8), 0))
		if len(a) == 0 || !equalStrings(a, b) {
			t.Errorf("replacement=%v: same seed gave different samples", repl)
		}
		if equalStrings(a, c) {
			t.Errorf("replacement=%v: different seeds gave the same sample", repl)
		}
	}
	// Like Spark, the sample depends on the partitioning.
	other := newBatchesOp(seqSchema, splitRows(t, mem, seqSchema, seqRows(5000), 2, 300))
	defer other.release()
	if equalStrings(sortedRows(run(t, mem, NewSample(src, 0.3, false, 7), 0)), sortedRows(run(t, mem, NewSample(other, 0.3, false, 7), 0))) {
		t.Errorf("a different partitioning gave the same sample")
	}
}

// TestSamplePerPartitionStream: partitions with identical rows draw from
// different random streams.
func TestSamplePerPartitionStream(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	same := [][]arrow.RecordBatch{
		{mkBatch(t, mem, seqSchema, seqRows(200))},
		{mkBatch(t, mem, seqSchema, seqRows(200))},
	}
	src := newBatchesOp(seqSchema, same)
	defer src.release()
	op := NewSample(src, 0.5, false, 3)
	var picked [2][]int64
	for p := 0; p < 2; p++ {
		it, err := op.Execute(context.Background(), NewTaskContext(mem, time.Unix(0, 0)), p)
		if err != nil {
			t.Fatal(err)
		}
		for {
			b, err := it.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			picked[p] = append(picked[p], b.Column(0).(*array.Int64).Int64Values()...)
			b.Release()
		}
		it.Close()
	}
	if slices.Equal(picked[0], picked[1]) {
		t.Errorf("both partitions picked the same rows %v", picked[0])
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSampleFractions(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	const n = 20000
	src := newBatchesOp(seqSchema, splitRows(t, mem, seqSchema, seqRows(n), 2, 4096))
	defer src.release()
	cases := []struct {
		f    float64
		repl bool
	}{{0, false}, {1, false}, {0.1, false}, {0.5, false}, {0, true}, {0.5, true}, {2.5, true}, {17, true}}
	for _, c := range cases {
		var got [][]any
		if c.repl {
			got = make([][]any, countRows(t, mem, NewSample(src, c.f, c.repl, 1)))
		} else {
			got = run(t, mem, NewSample(src, c.f, c.repl, 1), 0)
		}
		mean := c.f * n
		// Bernoulli: sd = sqrt(n f (1-f)); Poisson: sd = sqrt(n f). Allow 5 sd.
		sd := math.Sqrt(n * c.f * (1 - c.f))
		if c.repl {
			sd = math.Sqrt(n * c.f)
		}
		if d := math.Abs(float64(len(got)) - mean); d > 5*sd+0.5 {
			t.Errorf("fraction %v replacement %v: %d rows, want about %.0f (sd %.1f)", c.f, c.repl, len(got), mean, sd)
		}
		if !c.repl {
			// Without replacement no row repeats and input order is kept.
			for i := 1; i < len(got); i++ {
				if got[i][0].(int64) <= got[i-1][0].(int64) && sameBatchOrder(got[i-1], got[i]) {
					t.Fatalf("fraction %v: row order broken at %d", c.f, i)
				}
			}
		}
	}
}

// sameBatchOrder is a loose check helper: rows from different partitions
// can interleave, so only rows within 4096 ids of each other are compared.
func sameBatchOrder(a, b []any) bool {
	return a[0].(int64)/4096 == b[0].(int64)/4096
}

func TestPoissonMoments(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, lambda := range []float64{0.1, 1, 5, 16, 37.5} {
		const draws = 50000
		var sum, sumSq float64
		for i := 0; i < draws; i++ {
			k := float64(poisson(r, lambda))
			sum += k
			sumSq += k * k
		}
		mean := sum / draws
		variance := sumSq/draws - mean*mean
		if math.Abs(mean-lambda) > 5*math.Sqrt(lambda/draws) {
			t.Errorf("lambda %v: mean %v", lambda, mean)
		}
		if math.Abs(variance-lambda)/lambda > 0.05 {
			t.Errorf("lambda %v: variance %v", lambda, variance)
		}
	}
}

func TestSampleErrors(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	src := newBatchesOp(seqSchema, nil)
	for _, c := range []struct {
		f    float64
		repl bool
	}{{-0.1, false}, {1.5, false}, {math.NaN(), true}, {math.Inf(1), true}} {
		if _, err := runErr(mem, NewSample(src, c.f, c.repl, 1), 0); !errors.Is(err, ErrExec) {
			t.Errorf("fraction %v: %v", c.f, err)
		}
	}
	if got, want := NewSample(src, 0.25, false, 42).String(), "Sample 0.0, 0.25, false, 42"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
