package exec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

var dedupSchema = arrow.NewSchema([]arrow.Field{
	{Name: "k", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "seq", Type: arrow.PrimitiveTypes.Int64},
}, nil)

// oracleDedup keeps the first row per key tuple, NULLs equal, -0.0 = 0.0
// and NaN = NaN (Spark normalises floating keys).
func oracleDedup(rows [][]any, keys []int) [][]any {
	seen := map[string]bool{}
	var out [][]any
	for _, r := range rows {
		var k string
		for _, c := range keys {
			v := r[c]
			if f, ok := v.(float64); ok {
				if f == 0 {
					f = 0
				}
				if math.IsNaN(f) {
					v = "NaN"
				} else {
					v = f
				}
			}
			k += fmt.Sprintf("%T:%v|", v, v)
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}

func TestDedupRandom(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(31, 31))
	for iter := 0; iter < 30; iter++ {
		rows := make([][]any, r.IntN(300))
		for i := range rows {
			rows[i] = []any{randValue(r, arrow.PrimitiveTypes.Int64, 0.1), randValue(r, arrow.BinaryTypes.String, 0.1), randValue(r, arrow.PrimitiveTypes.Float64, 0.1), int64(i)}
		}
		keySets := [][]int{{0}, {1}, {2}, {0, 1}, {0, 1, 2}, nil}
		keys := keySets[r.IntN(len(keySets))]
		src := newBatchesOp(dedupSchema, splitRows(t, mem, dedupSchema, rows, 1+r.IntN(3), 1+r.IntN(40)))
		var in [][]any
		for _, p := range src.parts {
			in = append(in, rowsOf(p)...)
		}
		var kexprs []expr.Expr
		oracleKeys := keys
		for _, c := range keys {
			kexprs = append(kexprs, ref(dedupSchema, dedupSchema.Field(c).Name))
		}
		if keys == nil {
			oracleKeys = []int{0, 1, 2, 3} // every column
		}
		op := NewDedup(src, kexprs, false)
		got := run(t, mem, op, 0)
		want := oracleDedup(in, oracleKeys)
		// Unpartitioned dedup reads partitions in order: exactly the first rows.
		if !equalRows(got, want) {
			t.Fatalf("iter %d %s:\ngot  %v\nwant %v", iter, op, head(got), head(want))
		}
		src.release()
	}
}

// TestDedupPartitioned: with the child hash-partitioned by the keys, every
// partition deduplicates alone and the result is the same set.
func TestDedupPartitioned(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(32, 32))
	rows := make([][]any, 500)
	for i := range rows {
		rows[i] = []any{int64(r.IntN(40)), randValue(r, arrow.BinaryTypes.String, 0.1), float64(i), int64(i)}
	}
	// Partition by k % 3, preserving order within each partition.
	parts := make([][][]any, 3)
	for _, row := range rows {
		p := row[0].(int64) % 3
		parts[p] = append(parts[p], row)
	}
	batches := make([][]arrow.RecordBatch, 3)
	for p := range parts {
		batches[p] = splitRows(t, mem, dedupSchema, parts[p], 1, 17)[0]
	}
	src := newBatchesOp(dedupSchema, batches)
	defer src.release()
	op := NewDedup(src, []expr.Expr{ref(dedupSchema, "k")}, true)
	if op.Partitions() != 3 {
		t.Fatalf("partitions %d", op.Partitions())
	}
	got := run(t, mem, op, 0)
	var want [][]any
	for _, p := range parts {
		want = append(want, oracleDedup(p, []int{0})...)
	}
	if !equalRows(oracleSort(got, []oracleOrder{{col: 3}}), oracleSort(want, []oracleOrder{{col: 3}})) {
		t.Errorf("got %d rows, want %d", len(got), len(want))
	}
	if got, want := op.String(), "Deduplicate [k]"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
