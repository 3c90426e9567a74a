package exec

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// TestTopNRandom checks TopN against a stable full sort cut at n, with small
// batches so that threshold filtering and compaction both run.
func TestTopNRandom(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(11, 11))
	fields := []arrow.Field{
		{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "seq", Type: arrow.PrimitiveTypes.Int64},
	}
	schema := arrow.NewSchema(fields, nil)
	for iter := 0; iter < 40; iter++ {
		rows := make([][]any, r.IntN(800))
		for i := range rows {
			rows[i] = []any{randValue(r, fields[0].Type, 0.1), randValue(r, fields[1].Type, 0.1), randValue(r, fields[2].Type, 0.1), int64(i)}
		}
		var orders []oracleOrder
		for _, c := range r.Perm(3)[:1+r.IntN(2)] {
			orders = append(orders, oracleOrder{col: c, desc: r.IntN(2) == 0, nullsFirst: r.IntN(2) == 0})
		}
		src := newBatchesOp(schema, splitRows(t, mem, schema, rows, 1+r.IntN(4), 1+r.IntN(60)))
		var in [][]any
		for _, p := range src.parts {
			in = append(in, rowsOf(p)...)
		}
		sorted := oracleSort(in, orders)
		for _, n := range []int64{0, 1, 3, int64(r.IntN(100)), int64(len(rows)), int64(len(rows)) + 5} {
			bs := 1 + r.IntN(64)
			got := run(t, mem, NewTopN(src, sortOrders(schema, orders), n), bs)
			want := sorted[:min(int(n), len(sorted))]
			if !equalRows(got, want) {
				t.Fatalf("iter %d n=%d orders %+v batch %d:\ngot  %v\nwant %v", iter, n, orders, bs, head(got), head(want))
			}
		}
		src.release()
	}
}

func TestTopNZeroSkipsChild(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}}, nil)
	src := newBatchesOp(schema, splitRows(t, mem, schema, [][]any{{int64(1)}}, 1, 1))
	defer src.release()
	if got := run(t, mem, NewTopN(src, []*expr.SortOrder{expr.NewSortOrder(ref(schema, "a"), false)}, 0), 0); len(got) != 0 {
		t.Errorf("LIMIT 0: %v", got)
	}
	if n := src.executed.Load(); n != 0 {
		t.Errorf("child executed %d times for LIMIT 0", n)
	}
}

func TestTopNExplain(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "views", Type: arrow.PrimitiveTypes.Int64}, {Name: "page id", Type: arrow.BinaryTypes.String}}, nil)
	op := NewTopN(newBatchesOp(schema, nil), []*expr.SortOrder{expr.NewSortOrder(ref(schema, "views"), true)}, 10)
	want := "TakeOrderedAndProject(limit=10, orderBy=[views DESC NULLS LAST], output=[views, `page id`])"
	if got := op.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if op.Partitions() != 1 {
		t.Error("TopN must have one partition")
	}
}

func BenchmarkTopN(b *testing.B) {
	const n = 1 << 20
	mem := newMem()
	schema := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int64}}, nil)
	r := rand.New(rand.NewPCG(1, 2))
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{r.Int64()}
	}
	src := newBatchesOp(schema, splitRows(b, mem, schema, rows, 1, 64*1024))
	defer src.release()
	for _, limit := range []int64{10, 10000} {
		b.Run(fmt.Sprint(limit), func(b *testing.B) {
			op := NewTopN(src, []*expr.SortOrder{expr.NewSortOrder(ref(schema, "k"), true)}, limit)
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if got := run(b, mem, op, 0); len(got) != int(limit) {
					b.Fatal(len(got))
				}
			}
			reportPerRow(b, n, cpu0)
		})
	}
}
