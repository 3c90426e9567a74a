package state

import (
	"errors"
	"maps"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/storage"
)

func TestReaderReadsEveryCommittedVersion(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fsys := storage.NewMem()
	spec := pairSpec(2)
	op, err := OpenOperator(ctx, fsys, "ckpt/state", spec, Options{Mem: mem, SnapshotInterval: 2})
	must(t, err)
	defer op.Close()
	want := map[int64]map[string]string{0: {}} // version -> rows of both partitions
	for p := 0; p < 2; p++ {
		st, err := op.Store(p, "")
		must(t, err)
		must(t, st.Load(ctx, 0))
	}
	for v := int64(1); v <= 5; v++ {
		rows := maps.Clone(want[v-1])
		for p := 0; p < 2; p++ {
			st, _ := op.Store(p, "")
			k := i64s(mem, []int64{int64(p), v}, nil)
			w := i64s(mem, []int64{v, v}, nil)
			c := i64s(mem, []int64{v * 10, v * 20}, nil)
			must(t, st.Put([]arrow.Array{k, w}, []arrow.Array{c}))
			k.Release()
			w.Release()
			c.Release()
			if v == 4 { // drop partition p's rows of version 2
				d1 := i64s(mem, []int64{int64(p)}, nil)
				d2 := i64s(mem, []int64{2}, nil)
				_, err := st.Delete([]arrow.Array{d1, d2})
				must(t, err)
				d1.Release()
				d2.Release()
				delete(rows, rowKey(p, int64(p), 2))
			}
			mustCommit(t, st)
			rows[rowKey(p, int64(p), v)] = rowVal(v * 10)
			rows[rowKey(p, v, v)] = rowVal(v * 20)
		}
		want[v] = rows
	}
	for p := 0; p < 2; p++ {
		st, _ := op.Store(p, "")
		must(t, st.Flush(ctx))
	}

	ids, err := ListOperators(ctx, fsys, "ckpt/state")
	must(t, err)
	if len(ids) != 1 || ids[0] != 0 {
		t.Fatalf("operators %v", ids)
	}
	r, err := OpenReader(ctx, fsys, "ckpt/state", 0, mem)
	must(t, err)
	if r.Spec().NumPartitions != 2 {
		t.Fatalf("spec %+v", r.Spec())
	}
	if lv, err := r.LatestVersion(ctx, 1, ""); err != nil || lv != 5 {
		t.Fatalf("latest version %d %v", lv, err)
	}
	for v := int64(0); v <= 5; v++ {
		rr, err := r.ReadAll(ctx, "", v)
		must(t, err)
		got := map[string]string{}
		for rr.Next() {
			rec := rr.RecordBatch()
			cols := rec.Columns()
			for i := 0; i < int(rec.NumRows()); i++ {
				got["p"+cols[3].ValueStr(i)+rowString(cols[:2], i)] = rowString(cols[2:3], i)
			}
		}
		must(t, rr.Err())
		rr.Release()
		if !maps.Equal(got, want[v]) {
			t.Fatalf("version %d: got %v\nwant %v", v, got, want[v])
		}
	}
	if _, err := r.Read(ctx, 0, "", 9); !errors.Is(err, ErrVersionUnavailable) {
		t.Fatalf("read of a version never written: %v", err)
	}
	if _, err := r.Read(ctx, 2, "", 1); !errors.Is(err, ErrBadInput) {
		t.Fatalf("read of partition out of range: %v", err)
	}
}

func rowKey(p int, a, b int64) string {
	return "p" + itoa(int64(p)) + "[" + itoa(a) + ", " + itoa(b) + "]"
}

func rowVal(v int64) string { return "[" + itoa(v) + "]" }

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
