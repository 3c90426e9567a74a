package state

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/storage"
)

func TestStoreAggregationCycle(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fsys := storage.NewMem()
	op, st := openStore(t, fsys, pairSpec(1), Options{Mem: mem})
	defer op.Close()
	must(t, st.Load(ctx, 0))

	// Batch 0: keys (1,10) (2,10) (1,10) -> counts merged by the caller.
	users := i64s(mem, []int64{1, 2, 1}, nil)
	wins := i64s(mem, []int64{10, 10, 10}, nil)
	defer users.Release()
	defer wins.Release()
	keys := []arrow.Array{users, wins}
	slots := make([]uint32, 3)
	created := make([]bool, 3)
	n, err := st.Insert(keys, slots, created)
	must(t, err)
	if n != 2 || !created[0] || !created[1] || created[2] || slots[0] != slots[2] {
		t.Fatalf("insert: n=%d created=%v slots=%v", n, created, slots)
	}
	old, err := st.Values(nil, slots)
	must(t, err)
	if old[0].NullN() != 3 {
		t.Fatalf("new keys should have NULL values, got %v", old[0])
	}
	old[0].Release()
	cnt := i64s(mem, []int64{2, 1, 2}, nil)
	must(t, st.Set(slots, []arrow.Array{cnt}))
	cnt.Release()
	if v := mustCommit(t, st); v != 1 {
		t.Fatalf("commit gave version %d, want 1", v)
	}
	m := st.Metrics()
	if m.NumRowsTotal != 2 || m.NumRowsUpdated != 2 || m.NumRowsRemoved != 0 || m.CommitBytes == 0 {
		t.Fatalf("metrics %+v", m)
	}

	// Batch 1: in memory, no file read.
	must(t, st.Load(ctx, 1))
	if r := st.Metrics().Restores; r != 1 {
		t.Fatalf("restores = %d, want 1 (the first Load only)", r)
	}
	vals, got, err := st.Get(mem, keys)
	must(t, err)
	if s := vals[0].String(); s != "[2 1 2]" || got[0] != slots[0] {
		t.Fatalf("get: %s %v", s, got)
	}
	vals[0].Release()
	removed, err := st.Delete([]arrow.Array{users, wins})
	must(t, err)
	if removed != 2 || st.Len() != 0 {
		t.Fatalf("delete removed %d, len %d", removed, st.Len())
	}
	mustCommit(t, st)
	if m := st.Metrics(); m.NumRowsRemoved != 2 || m.NumRowsUpdated != 0 {
		t.Fatalf("metrics %+v", m)
	}

	// A fresh operator restores version 1 and version 2 from the files.
	op2, st2 := openStore(t, fsys, pairSpec(1), Options{Mem: mem})
	defer op2.Close()
	must(t, st2.Load(ctx, 1))
	want := map[string]string{"[1, 10]": "[2]", "[2, 10]": "[1]"}
	if d := dump(t, st2); !maps.Equal(d, want) {
		t.Fatalf("version 1 = %v, want %v", d, want)
	}
	must(t, st2.Load(ctx, 2))
	if d := dump(t, st2); len(d) != 0 {
		t.Fatalf("version 2 = %v, want empty", d)
	}
}

func TestStoreNullKeysSlicedInputsAndTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	spec := OperatorSpec{ID: 3, NumPartitions: 2, Stores: []StoreSpec{{
		Name: "left",
		Key:  arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.BinaryTypes.String, Nullable: true}}, nil),
		Value: arrow.NewSchema([]arrow.Field{
			{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
			{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
			{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
			{Name: "s", Type: arrow.BinaryTypes.LargeString, Nullable: true},
			{Name: "d", Type: &arrow.Decimal128Type{Precision: 20, Scale: 2}, Nullable: true},
			{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
			{Name: "st", Type: arrow.StructOf(arrow.Field{Name: "a", Type: arrow.BinaryTypes.String, Nullable: true}), Nullable: true},
		}, nil),
	}}}
	fsys := storage.NewMem()
	op, err := OpenOperator(ctx, fsys, "ckpt/state", spec, Options{Mem: mem})
	must(t, err)
	defer op.Close()
	st, err := op.Store(1, "left")
	must(t, err)
	must(t, st.Load(ctx, 0))

	rec := mustRecord(t, mem, spec.Stores[0], `[
		{"k": "skip", "i32": 0},
		{"k": "a", "i32": 1, "f": 1.5, "b": true, "s": "x", "d": "12.34", "l": [1,2], "st": {"a": "p"}},
		{"k": null, "i32": null, "f": null, "b": null, "s": null, "d": null, "l": null, "st": null},
		{"k": "c", "i32": -3, "f": -0.5, "b": false, "s": "", "d": "-1.00", "l": [], "st": {"a": null}}
	]`)
	defer rec.Release()
	sl := rec.NewSlice(1, 4) // sliced input: offset 1
	defer sl.Release()
	must(t, st.Put(sl.Columns()[:1], sl.Columns()[1:]))
	mustCommit(t, st)
	before := dump(t, st)
	if len(before) != 3 || before["[(null)]"] == "" || !strings.Contains(before["[a]"], "[1,2]") {
		t.Fatalf("state = %v", before)
	}

	op2, err := OpenOperator(ctx, fsys, "ckpt/state", spec, Options{Mem: mem})
	must(t, err)
	defer op2.Close()
	st2, err := op2.Store(1, "left")
	must(t, err)
	must(t, st2.Load(ctx, 1))
	if after := dump(t, st2); !maps.Equal(before, after) {
		t.Fatalf("restored %v\nwant     %v", after, before)
	}
	if _, err := fsys.Stat(ctx, "ckpt/state/3/1/left/1.delta"); err != nil {
		t.Fatalf("named store file: %v", err)
	}
}

func TestStoreErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fsys := storage.NewMem()
	op, st := openStore(t, fsys, pairSpec(1), Options{Mem: mem})
	defer op.Close()
	a := i64s(mem, []int64{1}, nil)
	defer a.Release()
	if err := st.Lookup([]arrow.Array{a, a}, make([]uint32, 1)); !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("before Load: %v", err)
	}
	must(t, st.Load(ctx, 0))
	if _, err := st.Insert([]arrow.Array{a}, make([]uint32, 1), nil); !errors.Is(err, ErrBadInput) {
		t.Fatalf("one key column of two: %v", err)
	}
	slots := make([]uint32, 1)
	_, err := st.Insert([]arrow.Array{a, a}, slots, nil)
	must(t, err)
	s := array.NewStringBuilder(mem)
	s.Append("x")
	str := s.NewArray()
	s.Release()
	defer str.Release()
	if err := st.Set(slots, []arrow.Array{str}); !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), `"count"`) {
		t.Fatalf("wrong value type: %v", err)
	}
	if err := st.Set([]uint32{7}, []arrow.Array{a}); !errors.Is(err, ErrBadInput) {
		t.Fatalf("bad slot: %v", err)
	}
	_, err = st.Remove(slots)
	must(t, err)
	if err := st.Set(slots, []arrow.Array{a}); !errors.Is(err, ErrBadInput) {
		t.Fatalf("set of a removed slot: %v", err)
	}
	if err := st.Load(ctx, 5); !errors.Is(err, ErrVersionUnavailable) || !strings.Contains(err.Error(), "5.delta") {
		t.Fatalf("load of a version never written: %v", err)
	}
	if _, err := op.Store(1, ""); !errors.Is(err, ErrBadInput) {
		t.Fatalf("partition out of range: %v", err)
	}
	if _, err := op.Store(0, "nope"); !errors.Is(err, ErrBadInput) {
		t.Fatalf("unknown store: %v", err)
	}
}

func TestAbortDropsChanges(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fsys := storage.NewMem()
	op, st := openStore(t, fsys, pairSpec(1), Options{Mem: mem})
	defer op.Close()
	must(t, st.Load(ctx, 0))
	k := i64s(mem, []int64{1, 2}, nil)
	defer k.Release()
	v := i64s(mem, []int64{5, 6}, nil)
	defer v.Release()
	must(t, st.Put([]arrow.Array{k, k}, []arrow.Array{v}))
	mustCommit(t, st)
	must(t, st.Load(ctx, 1))
	st.Abort() // nothing pending: stays loaded
	if st.Version() != 1 {
		t.Fatalf("abort without changes unloaded the store")
	}
	_, err := st.Delete([]arrow.Array{k, k})
	must(t, err)
	st.Abort()
	if st.Version() != -1 {
		t.Fatalf("abort with changes should unload")
	}
	must(t, st.Load(ctx, 1))
	if d := dump(t, st); len(d) != 2 {
		t.Fatalf("after abort + load: %v", d)
	}
	// Load with pending changes drops them too.
	_, err = st.Delete([]arrow.Array{k, k})
	must(t, err)
	must(t, st.Load(ctx, 1))
	if d := dump(t, st); len(d) != 2 {
		t.Fatalf("after load over pending changes: %v", d)
	}
}

func TestEmptyCommitsAndGlobalKey(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	spec := OperatorSpec{ID: 1, NumPartitions: 1, Stores: []StoreSpec{{
		Key:   arrow.NewSchema([]arrow.Field{{Name: "g", Type: arrow.Null, Nullable: true}}, nil),
		Value: arrow.NewSchema([]arrow.Field{{Name: "sum", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil),
	}}}
	fsys := storage.NewMem()
	op, st := openStore(t, fsys, spec, Options{Mem: mem, SnapshotInterval: 2})
	defer op.Close()
	must(t, st.Load(ctx, 0))
	for i := 0; i < 5; i++ {
		mustCommit(t, st) // no changes: empty deltas, empty snapshots
	}
	must(t, st.Flush(ctx))
	g := array.NewNull(1)
	defer g.Release()
	f := array.NewFloat64Builder(mem)
	f.Append(2.5)
	val := f.NewArray()
	f.Release()
	defer val.Release()
	must(t, st.Put([]arrow.Array{g}, []arrow.Array{val}))
	mustCommit(t, st)
	op2, st2 := openStore(t, fsys, spec, Options{Mem: mem})
	defer op2.Close()
	must(t, st2.Load(ctx, 6))
	if d := dump(t, st2); d["[(null)]"] != "[2.5]" || len(d) != 1 {
		t.Fatalf("global state %v", d)
	}
	must(t, st2.Load(ctx, 4))
	if st2.Len() != 0 {
		t.Fatalf("version 4 should be empty")
	}
}

func mustRecord(t testing.TB, mem memory.Allocator, spec StoreSpec, js string) arrow.RecordBatch {
	t.Helper()
	fields := append(append([]arrow.Field{}, spec.Key.Fields()...), spec.Value.Fields()...)
	rec, _, err := array.RecordFromJSON(mem, arrow.NewSchema(fields, nil), strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// stepClock advances by step on every reading.
type stepClock struct {
	t    time.Time
	step time.Duration
}

func (c *stepClock) Now() time.Time { c.t = c.t.Add(c.step); return c.t }

func TestMetricsAndClock(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fsys := storage.NewMem()
	op, err := OpenOperator(ctx, fsys, "s", pairSpec(2), Options{Mem: mem, Clock: &stepClock{step: 5 * time.Millisecond}})
	must(t, err)
	defer op.Close()
	for p := 0; p < 2; p++ {
		st, err := op.Store(p, "")
		must(t, err)
		must(t, st.Load(ctx, 0))
		k := i64s(mem, []int64{1, 2, 3}, nil)
		must(t, st.Put([]arrow.Array{k, k}, []arrow.Array{k}))
		k.Release()
		mustCommit(t, st)
		if m := st.Metrics(); m.CommitTimeMs != 5 || m.NumRowsUpdated != 3 || m.MemoryUsedBytes <= 0 || m.Version != 1 {
			t.Fatalf("partition %d metrics %+v", p, m)
		}
	}
	m := op.Metrics()
	if m.NumRowsTotal != 6 || m.NumRowsUpdated != 6 || m.CommitTimeMs != 5 || m.Version != 1 || m.Restores != 2 {
		t.Fatalf("operator metrics %+v", m)
	}
	must(t, op.Close())
	if _, err := op.Store(0, ""); !errors.Is(err, ErrClosed) {
		t.Fatalf("store after close: %v", err)
	}
}

// Past one value segment (65536 slots) and through a compaction that
// renumbers the slots, with a snapshot being written meanwhile.
func TestLargeTableCompaction(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fsys := storage.NewMem()
	op, st := openStore(t, fsys, pairSpec(1), Options{Mem: mem, SnapshotInterval: 1})
	defer op.Close()
	must(t, st.Load(ctx, 0))
	const n = 200_000
	fillPairs(t, st, mem, n)
	mustCommit(t, st) // snapshot 1 starts
	// Remove 3 of 4 keys while the snapshot may still be copying.
	a, w := make([]int64, 0, n), make([]int64, 0, n)
	for i := 0; i < n; i++ {
		if i%4 != 0 {
			a, w = append(a, int64(i)), append(w, int64(i%97*300_000))
		}
	}
	ka, kw := i64s(mem, a, nil), i64s(mem, w, nil)
	removed, err := st.Delete([]arrow.Array{ka, kw})
	must(t, err)
	ka.Release()
	kw.Release()
	if removed != len(a) {
		t.Fatalf("removed %d of %d", removed, len(a))
	}
	must(t, st.Flush(ctx))
	mustCommit(t, st) // compacts: 150k dead, 50k live
	if m := st.Metrics(); m.NumRowsTotal != n/4 || m.NumRowsRemoved != int64(len(a)) {
		t.Fatalf("metrics %+v", m)
	}
	check := func(s *Store) {
		t.Helper()
		got := dump(t, s)
		if len(got) != n/4 {
			t.Fatalf("%d keys, want %d", len(got), n/4)
		}
		for i := 0; i < n; i += 4 {
			k := fmt.Sprintf("[%d, %d]", i, i%97*300_000)
			if got[k] != fmt.Sprintf("[%d]", i) {
				t.Fatalf("key %s = %q", k, got[k])
			}
		}
	}
	check(st)
	must(t, st.Flush(ctx))
	op2, st2 := openStore(t, fsys, pairSpec(1), Options{Mem: mem})
	defer op2.Close()
	must(t, st2.Load(ctx, 1)) // from snapshot 1, written around the removals
	if st2.Len() != n {
		t.Fatalf("version 1 has %d keys", st2.Len())
	}
	must(t, st2.Load(ctx, 2))
	check(st2)
}

// A re-run whose float sums differ in the last bit (folded in another
// order) conflicts under ReplayFail and keeps the first run's file under
// ReplayKeepFile; an identical re-run commits under both.
func TestReplayOfFloatSums(t *testing.T) {
	for _, policy := range []ReplayPolicy{ReplayFail, ReplayKeepFile} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		spec := OperatorSpec{ID: 0, NumPartitions: 1, Stores: []StoreSpec{{
			Key:   arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int64}}, nil),
			Value: arrow.NewSchema([]arrow.Field{{Name: "sum", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil),
		}}}
		fsys := storage.NewMem()
		var lose bool
		fsys.SetHooks(storage.Hooks{After: func(op storage.Op, name string, err error) error {
			if op == storage.OpWriteFile && lose {
				lose = false
				return errors.New("ack lost")
			}
			return err
		}})
		op, st := openStore(t, fsys, spec, Options{Mem: mem, OnReplayMismatch: policy})
		put := func(v float64) {
			k := i64s(mem, []int64{7}, nil)
			b := array.NewFloat64Builder(mem)
			b.Append(v)
			f := b.NewArray()
			b.Release()
			must(t, st.Put([]arrow.Array{k}, []arrow.Array{f}))
			k.Release()
			f.Release()
		}
		must(t, st.Load(ctx, 0))
		a, b, c := 0.1, 0.2, 0.3
		first := a + b + c
		put(first)
		lose = true
		if _, err := st.Commit(ctx); err == nil {
			t.Fatal("lost ack not reported")
		}
		st.Abort()
		must(t, st.Load(ctx, 0))
		put(c + b + a) // differs from first in the last bit
		_, err := st.Commit(ctx)
		if policy == ReplayFail {
			if !errors.Is(err, ErrDeltaConflict) || !strings.Contains(err.Error(), "value column 0") {
				t.Fatalf("ReplayFail: %v", err)
			}
			st.Abort()
			must(t, st.Load(ctx, 0))
			put(first)
			mustCommit(t, st) // the identical re-run
		} else {
			must(t, err)
			if m := st.Metrics(); m.ReplayMismatches != 1 {
				t.Fatalf("metrics %+v", m)
			}
		}
		if got := dump(t, st)["[7]"]; got != fmt.Sprintf("[%v]", first) {
			t.Fatalf("%v: state %s, want the first run's %v", policy, got, first)
		}
		op.Close()
		mem.AssertSize(t, 0)
	}
}
