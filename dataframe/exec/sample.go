package exec

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/apache/arrow-go/v18/arrow"
)

// sampleOp keeps a random fraction of rows, per partition: Bernoulli
// sampling (each row kept with probability fraction), or with replacement
// each row repeated Poisson(fraction) times, as Spark's sample does.
//
// The random stream of partition p is seeded by (seed, p) and consumed in
// row order, so a given seed, partitioning and input order always select
// the same rows; like Spark, a different partitioning of the same data
// selects different rows.
type sampleOp struct {
	child           Operator
	fraction        float64
	withReplacement bool
	seed            int64
}

// NewSample samples child. fraction must be in [0, 1] without replacement
// and >= 0 with replacement (the expected number of copies of each row).
func NewSample(child Operator, fraction float64, withReplacement bool, seed int64) Operator {
	return &sampleOp{child: child, fraction: fraction, withReplacement: withReplacement, seed: seed}
}

func (s *sampleOp) Schema() *arrow.Schema { return s.child.Schema() }
func (s *sampleOp) Partitions() int       { return s.child.Partitions() }
func (s *sampleOp) Children() []Operator  { return []Operator{s.child} }

// String follows Spark: Sample lowerBound, upperBound, withReplacement, seed.
func (s *sampleOp) String() string {
	return fmt.Sprintf("Sample 0.0, %v, %v, %d", s.fraction, s.withReplacement, s.seed)
}

func (s *sampleOp) Execute(ctx context.Context, tc *TaskContext, p int) (Iterator, error) {
	f := s.fraction
	switch {
	case math.IsNaN(f) || f < 0 || math.IsInf(f, 1):
		return nil, errorf("sample fraction must be a number >= 0, got %v", f)
	case !s.withReplacement && f > 1:
		return nil, errorf("sample fraction without replacement must be in [0, 1], got %v; use withReplacement to draw rows more than once", f)
	}
	in, err := s.child.Execute(ctx, tc, p)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(s.seed), uint64(p)^0x9e3779b97f4a7c15))
	return &sampleIter{tc: tc, op: s, in: in, rng: rng}, nil
}

type sampleIter struct {
	tc  *TaskContext
	op  *sampleOp
	in  Iterator
	rng *rand.Rand
	sel []int32
}

func (it *sampleIter) Next() (arrow.RecordBatch, error) {
	b, err := it.in.Next()
	if err != nil {
		return nil, err
	}
	defer b.Release()
	n := int(b.NumRows())
	f := it.op.fraction
	sel := it.sel[:0]
	if it.op.withReplacement {
		for i := 0; i < n; i++ {
			for k := poisson(it.rng, f); k > 0; k-- {
				sel = append(sel, int32(i))
			}
		}
	} else {
		for i := 0; i < n; i++ {
			if it.rng.Float64() < f {
				sel = append(sel, int32(i))
			}
		}
	}
	it.sel = sel
	if len(sel) == n && !it.op.withReplacement {
		b.Retain()
		return b, nil
	}
	return TakeBatch(it.tc.Mem, b, sel)
}

func (it *sampleIter) Close() { it.in.Close() }

// poisson draws from Poisson(lambda) by Knuth's product of uniforms, in
// chunks of lambda <= 16 (a sum of Poissons is Poisson), so large
// fractions stay exact without underflowing exp(-lambda).
func poisson(r *rand.Rand, lambda float64) int {
	k := 0
	for lambda > 0 {
		l := min(lambda, 16)
		lambda -= l
		limit := math.Exp(-l)
		p := r.Float64()
		for p > limit {
			k++
			p *= r.Float64()
		}
	}
	return k
}
