package exec

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

func seqRows(n int) [][]any {
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{int64(i), []string{"x", "yy", "zzz"}[i%3]}
	}
	return rows
}

var seqSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "s", Type: arrow.BinaryTypes.String},
}, nil)

func TestGlobalLimit(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	rows := seqRows(95)
	src := newBatchesOp(seqSchema, splitRows(t, mem, seqSchema, rows, 3, 10))
	defer src.release()
	var in [][]any
	for _, p := range src.parts {
		in = append(in, rowsOf(p)...)
	}
	for _, n := range []int64{-1, 0, 1, 7, 10, 11, 33, 94, 95, 96, 1 << 40} {
		src.executed.Store(0)
		src.pulled.Store(0)
		op := NewLimit(src, n)
		got := run(t, mem, op, 0)
		want := in[:max(0, min(int(n), len(in)))]
		if !equalRows(got, want) {
			t.Fatalf("LIMIT %d: got %d rows, want %d", n, len(got), len(want))
		}
		// It never pulls a batch it does not need.
		if n <= 0 {
			if src.executed.Load() != 0 {
				t.Errorf("LIMIT %d executed the child", n)
			}
			continue
		}
		needed := min(int64(len(in)), n)
		if pulled := src.pulled.Load(); pulled != (needed+9)/10 {
			t.Errorf("LIMIT %d pulled %d batches, want %d", n, pulled, (needed+9)/10)
		}
	}
	if op := NewLimit(src, 5); op.Partitions() != 1 || op.String() != "GlobalLimit 5" {
		t.Errorf("%s with %d partitions", op, op.Partitions())
	}
}

func TestLocalLimit(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	src := newBatchesOp(seqSchema, splitRows(t, mem, seqSchema, seqRows(95), 3, 10))
	defer src.release()
	for _, n := range []int64{0, 5, 15, 100} {
		op := NewLocalLimit(src, n)
		if op.Partitions() != 3 {
			t.Fatalf("partitions %d", op.Partitions())
		}
		var want [][]any
		for _, p := range src.parts {
			rows := rowsOf(p)
			want = append(want, rows[:min(int(n), len(rows))]...)
		}
		got := run(t, mem, op, 0)
		if !equalRows(sortRowsForCompare(got), sortRowsForCompare(want)) {
			t.Errorf("LocalLimit %d: got %d rows, want %d", n, len(got), len(want))
		}
	}
}

func sortRowsForCompare(rows [][]any) [][]any {
	return oracleSort(rows, []oracleOrder{{col: 0}})
}

// TestLimitSlicedBatchDownstream: the last batch of a limit is a slice;
// operators above must read it correctly (sort gathers sliced strings).
func TestLimitSlicedBatchDownstream(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	src := newBatchesOp(seqSchema, splitRows(t, mem, seqSchema, seqRows(40), 1, 40))
	defer src.release()
	lim := NewLocalLimit(src, 7)
	got := run(t, mem, NewSort(lim, []*expr.SortOrder{expr.NewSortOrder(ref(seqSchema, "id"), true)}), 0)
	want := oracleSort(seqRows(7), []oracleOrder{{col: 0, desc: true}})
	if !equalRows(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestLimitCloseEarly: closing before the end releases the child's batches.
func TestLimitCloseEarly(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	src := newBatchesOp(seqSchema, splitRows(t, mem, seqSchema, seqRows(50), 2, 10))
	defer src.release()
	it, err := NewLimit(src, 30).Execute(context.Background(), NewTaskContext(mem, time.Unix(0, 0)), 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := it.Next()
	if err != nil {
		t.Fatal(err)
	}
	b.Release()
	it.Close()
	it.Close()
	if _, err := it.Next(); err != io.EOF {
		t.Errorf("Next after Close: %v", err)
	}
}
