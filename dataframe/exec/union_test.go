package exec

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestUnion(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	a := newBatchesOp(seqSchema, splitRows(t, mem, seqSchema, seqRows(25), 2, 10))
	// Same types, another name and nullability: relabelled to the first
	// child's names, nullable because this child is.
	other := arrow.NewSchema([]arrow.Field{
		{Name: "other_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "t", Type: arrow.BinaryTypes.String},
	}, nil)
	b := newBatchesOp(other, splitRows(t, mem, other, [][]any{{nil, "n"}, {int64(100), "m"}}, 1, 1))
	empty := newBatchesOp(seqSchema, [][]arrow.RecordBatch{nil, nil, nil})
	defer a.release()
	defer b.release()
	defer empty.release()

	u := NewUnion(a, empty, b)
	if got := u.Partitions(); got != 6 {
		t.Fatalf("partitions %d, want 6", got)
	}
	s := u.Schema()
	if s.Field(0).Name != "id" || !s.Field(0).Nullable || s.Field(1).Nullable {
		t.Errorf("schema %s", s)
	}
	var want [][]any
	for _, op := range []*batchesOp{a, b} {
		for _, p := range op.parts {
			want = append(want, rowsOf(p)...)
		}
	}
	got := run(t, mem, u, 0) // run checks every batch carries u.Schema()
	if !equalRows(sortedAny(got), sortedAny(want)) {
		t.Errorf("got %v, want %v", got, want)
	}
	if u.String() != "Union" || len(u.Children()) != 3 {
		t.Errorf("%s %d", u, len(u.Children()))
	}
}

func sortedAny(rows [][]any) [][]any {
	return oracleSort(rows, []oracleOrder{{col: 0, nullsFirst: true}, {col: 1}})
}

func TestUnionErrors(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	a := newBatchesOp(seqSchema, nil)
	wrongType := newBatchesOp(arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}, {Name: "s", Type: arrow.BinaryTypes.String}}, nil), nil)
	wrongCount := newBatchesOp(arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil), nil)
	for _, c := range []struct {
		op   *batchesOp
		want string
	}{{wrongType, "cast"}, {wrongCount, "columns"}} {
		_, err := runErr(mem, NewUnion(a, c.op), 0)
		if !errors.Is(err, ErrExec) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want ErrExec mentioning %q", err, c.want)
		}
	}
	if _, err := runErr(mem, NewUnion(), 0); !errors.Is(err, ErrExec) {
		t.Errorf("empty union: %v", err)
	}
}
