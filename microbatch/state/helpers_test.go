package state

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/storage"
)

var ctx = context.Background()

// pairSpec is the aggregation shape of the targets: (int64, int64) ->
// int64 count.
func pairSpec(parts int) OperatorSpec {
	return OperatorSpec{ID: 0, Name: "aggregate", NumPartitions: parts, Stores: []StoreSpec{{
		Key:   arrow.NewSchema([]arrow.Field{{Name: "user_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "window", Type: arrow.PrimitiveTypes.Int64}}, nil),
		Value: arrow.NewSchema([]arrow.Field{{Name: "count", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil),
	}}}
}

func i64s(mem memory.Allocator, vals []int64, valid []bool) arrow.Array {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.AppendValues(vals, valid)
	return b.NewArray()
}

func openStore(t testing.TB, fsys storage.FS, spec OperatorSpec, opts Options) (*Operator, *Store) {
	t.Helper()
	op, err := OpenOperator(ctx, fsys, "ckpt/state", spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	st, err := op.Store(0, spec.Stores[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	return op, st
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustCommit(t testing.TB, st *Store) int64 {
	t.Helper()
	v, err := st.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// dump returns the state as key -> value strings, for comparisons.
func dump(t testing.TB, st *Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := st.Scan(nil, 1000, func(slots []uint32, keys, vals []arrow.Array) error {
		for i := range slots {
			k := rowString(keys, i)
			if _, dup := out[k]; dup {
				t.Fatalf("key %s twice in the scan", k)
			}
			out[k] = rowString(vals, i)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
