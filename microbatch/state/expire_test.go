package state

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/storage"
)

// windowTime is the EventTimeFunc of pairSpec keys read as (user, window
// end): the window column, NoEventTime when NULL.
func windowTime(keys []arrow.Array, rows []int, out []int64) error {
	w, ok := keys[1].(*array.Int64)
	if !ok {
		return fmt.Errorf("window key is %s", keys[1].DataType())
	}
	for j := range out {
		i := j
		if rows != nil {
			i = rows[j]
		}
		if w.IsNull(i) {
			out[j] = NoEventTime
		} else {
			out[j] = w.Value(i)
		}
	}
	return nil
}

// Expire against a model: random inserts of (user, window) keys, a
// rising watermark, commits, compactions and restarts; every step, Expire
// hands fn exactly the live keys at or below the watermark and removes
// them, and the state equals the model's.
func TestExpireModel(t *testing.T) {
	defer setSmall()()
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			if seed%2 == 0 { // time columns beyond their codes
				defer func(m int) { maxTimeCodes = m }(maxTimeCodes)
				maxTimeCodes = 3
			}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(seed, 7))
			fsys := storage.NewMem()
			opts := Options{Mem: mem, SnapshotInterval: 1 + r.IntN(3), EventTime: windowTime}
			op, st := openStore(t, fsys, pairSpec(1), opts)
			defer func() { op.Close() }()
			must(t, st.Load(ctx, 0))
			model := map[string]int64{} // key -> window (NoEventTime: NULL)
			wm := int64(-1)
			for step := 0; step < 40; step++ {
				// Insert: windows around the watermark, some NULL.
				n := r.IntN(60)
				us, ws := make([]int64, n), make([]int64, n)
				valid := make([]bool, n)
				for i := range n {
					us[i], ws[i], valid[i] = int64(r.IntN(30)), wm+1+int64(r.IntN(5)), r.IntN(10) > 0
					k := fmt.Sprintf("[%d, %s]", us[i], nullable(ws[i], valid[i]))
					if valid[i] {
						model[k] = ws[i]
					} else {
						model[k] = NoEventTime
					}
				}
				ku, kw := i64s(mem, us, nil), i64s(mem, ws, valid)
				slots := make([]uint32, n)
				_, err := st.Insert([]arrow.Array{ku, kw}, slots, nil)
				must(t, err)
				one := i64s(mem, make([]int64, n), nil)
				must(t, st.Set(slots, []arrow.Array{one}))
				releaseAll([]arrow.Array{ku, kw, one})

				// Expire up to a rising watermark.
				wm += int64(r.IntN(3))
				var want, got []string
				for k, w := range model {
					if w <= wm {
						want = append(want, k)
						delete(model, k)
					}
				}
				removed, err := st.Expire(wm, 1+r.IntN(20), func(slots []uint32) error {
					keys, err := st.Keys(mem, slots)
					if err != nil {
						return err
					}
					defer releaseAll(keys)
					for i := range slots {
						got = append(got, rowString(keys, i))
					}
					return nil
				})
				must(t, err)
				slices.Sort(want)
				slices.Sort(got)
				if !slices.Equal(got, want) || removed != len(want) {
					t.Fatalf("step %d: expired %v (removed %d), want %v", step, got, removed, want)
				}
				v := mustCommit(t, st)
				if r.IntN(5) == 0 { // restart: the times are rebuilt from the keys
					must(t, op.Close())
					op, st = openStore(t, fsys, pairSpec(1), opts)
					must(t, st.Load(ctx, v))
				}
				have := dump(t, st)
				if len(have) != len(model) {
					t.Fatalf("step %d: state has %d keys, model %d", step, len(have), len(model))
				}
				for k := range model {
					if _, ok := have[k]; !ok {
						t.Fatalf("step %d: key %s missing", step, k)
					}
				}
			}
		})
	}
}

func nullable(v int64, valid bool) string {
	if !valid {
		return "(null)"
	}
	return fmt.Sprint(v)
}

// An fn error leaves the rest of the expired keys for the next Expire;
// without EventTime, Expire fails.
func TestExpireErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	op, st := openStore(t, storage.NewMem(), pairSpec(1), Options{Mem: mem, EventTime: windowTime})
	defer op.Close()
	must(t, st.Load(ctx, 0))
	ku := i64s(mem, []int64{1, 2, 3, 4}, nil)
	kw := i64s(mem, []int64{10, 10, 20, 30}, nil)
	must(t, st.Put([]arrow.Array{ku, kw}, []arrow.Array{ku}))
	releaseAll([]arrow.Array{ku, kw})
	boom := errors.New("boom")
	calls := 0
	removed, err := st.Expire(20, 1, func(slots []uint32) error {
		if calls++; calls == 2 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || removed != 1 {
		t.Fatalf("removed %d, err %v", removed, err)
	}
	removed, err = st.Expire(20, 0, nil)
	if err != nil || removed != 2 || st.Len() != 1 {
		t.Fatalf("second Expire: removed %d, err %v, %d keys left", removed, err, st.Len())
	}
	if removed, err = st.Expire(25, 0, nil); err != nil || removed != 0 {
		t.Fatalf("nothing below 25 left: removed %d, err %v", removed, err)
	}
	mustCommit(t, st)

	op2, st2 := openStore(t, storage.NewMem(), pairSpec(1), Options{Mem: mem})
	defer op2.Close()
	must(t, st2.Load(ctx, 0))
	if _, err := st2.Expire(1, 0, nil); !errors.Is(err, ErrBadInput) {
		t.Fatalf("Expire without EventTime: %v", err)
	}
	op3, st3 := openStore(t, storage.NewMem(), pairSpec(1), Options{Mem: mem, EventTime: func([]arrow.Array, []int, []int64) error { return boom }})
	defer op3.Close()
	must(t, st3.Load(ctx, 0))
	ku = i64s(mem, []int64{1}, nil)
	defer ku.Release()
	if _, err := st3.Insert([]arrow.Array{ku, ku}, make([]uint32, 1), nil); !errors.Is(err, boom) {
		t.Fatalf("Insert with a failing EventTime: %v", err)
	}
	st3.Abort()
}
