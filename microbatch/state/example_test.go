package state_test

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/microbatch/state"
)

// A streaming count per (user, window): each batch merges its partial
// counts into the state, evicts windows below the watermark and commits.
// A real operator folds buffers with the accumulators' MergeState; here
// the buffer is a plain count.
func Example() {
	ctx := context.Background()
	mem := memory.NewGoAllocator()
	i64 := func(v ...int64) arrow.Array {
		b := array.NewInt64Builder(mem)
		defer b.Release()
		b.AppendValues(v, nil)
		return b.NewArray()
	}
	spec := state.OperatorSpec{ID: 0, Name: "aggregate", NumPartitions: 1, Stores: []state.StoreSpec{{
		Key:   arrow.NewSchema([]arrow.Field{{Name: "user", Type: arrow.PrimitiveTypes.Int64}, {Name: "window", Type: arrow.PrimitiveTypes.Int64}}, nil),
		Value: arrow.NewSchema([]arrow.Field{{Name: "count", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil),
	}}}
	op, err := state.OpenOperator(ctx, storage.NewMem(), "ckpt/state", spec, state.Options{Mem: mem})
	if err != nil {
		panic(err)
	}
	defer op.Close()
	st, _ := op.Store(0, "")

	batch := func(batchID int64, users, windows, counts []int64, watermark int64) {
		if err := st.Load(ctx, batchID); err != nil { // in memory after the first batch
			panic(err)
		}
		u, w, c := i64(users...), i64(windows...), i64(counts...)
		defer u.Release()
		defer w.Release()
		defer c.Release()
		slots := make([]uint32, len(users))
		if _, err := st.Insert([]arrow.Array{u, w}, slots, nil); err != nil {
			panic(err)
		}
		old, _ := st.Values(nil, slots) // NULL for new keys
		merged := array.NewInt64Builder(mem)
		for i, n := range counts {
			merged.Append(old[0].(*array.Int64).Value(i) + n) // a NULL's value is 0
		}
		old[0].Release()
		vals := merged.NewArray()
		merged.Release()
		if err := st.Set(slots, []arrow.Array{vals}); err != nil {
			panic(err)
		}
		vals.Release()
		// Evict the windows that end before the watermark.
		err := st.Scan(nil, 0, func(slots []uint32, keys, _ []arrow.Array) error {
			var old []uint32
			for i, win := range keys[1].(*array.Int64).Int64Values() {
				if win+300 <= watermark {
					old = append(old, slots[i])
				}
			}
			_, err := st.Remove(old)
			return err
		})
		if err != nil {
			panic(err)
		}
		v, err := st.Commit(ctx)
		if err != nil {
			panic(err)
		}
		m := st.Metrics()
		fmt.Printf("batch %d -> version %d: %d keys, %d updated, %d removed\n", batchID, v, m.NumRowsTotal, m.NumRowsUpdated, m.NumRowsRemoved)
	}
	batch(0, []int64{1, 2}, []int64{0, 0}, []int64{3, 1}, 0)
	batch(1, []int64{1, 3}, []int64{0, 300}, []int64{2, 5}, 0)
	batch(2, []int64{3}, []int64{600}, []int64{1}, 300)

	u, w := i64(3, 1), i64(300, 0)
	defer u.Release()
	defer w.Release()
	vals, _, _ := st.Get(nil, []arrow.Array{u, w})
	fmt.Println(vals[0])
	vals[0].Release()
	// Output:
	// batch 0 -> version 1: 2 keys, 2 updated, 0 removed
	// batch 1 -> version 2: 3 keys, 2 updated, 0 removed
	// batch 2 -> version 3: 2 keys, 1 updated, 2 removed
	// [5 (null)]
}
