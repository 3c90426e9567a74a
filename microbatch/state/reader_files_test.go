package state

import (
	"fmt"
	"math/rand/v2"
	"path"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/storage"
)

func TestRestorableRange(t *testing.T) {
	for _, tc := range []struct {
		files  string // d<v> delta, s<v> snapshot
		lo, hi int64
	}{
		{"d1", 0, 1},
		{"d1 d2 d3", 0, 3},
		{"s3 d4 d5", 3, 5},             // purged below the snapshot
		{"d3 d4 s5 d6", 5, 6},          // deltas 3, 4 lack 1..2: only from 5
		{"d3 d4", -1, -1},              // nothing restorable
		{"d1 d2 d4 d5", 0, 2},          // 3 missing: 4, 5 unreachable
		{"d1 d2 s4 d5", 4, 5},          // a gap healed by a snapshot
		{"s1", 0, 1},                   // a lone snapshot (version 0 is empty)
		{"d1 s2 d2 d3", 0, 3},          // snapshot beside its delta
		{"s10 d11 d12 d14", 10, 12},    // the newest delta is cut off
		{"d2 d3 s3 d4 d5 s5", 3, 5},    // several snapshots
		{"d1 d2 d3 s3 d5 s6 d7", 6, 7}, // latest run after a gap
	} {
		t.Run(tc.files, func(t *testing.T) {
			deltas, snaps := map[int64]bool{}, map[int64]bool{}
			var versions []int64
			seen := map[int64]bool{}
			var kind byte
			var v int64
			for _, f := range splitFields(tc.files) {
				if _, err := fmt.Sscanf(f, "%c%d", &kind, &v); err != nil {
					t.Fatal(err)
				}
				if kind == 'd' {
					deltas[v] = true
				} else {
					snaps[v] = true
				}
				if !seen[v] {
					seen[v] = true
					versions = append(versions, v)
				}
			}
			lo, hi := restorableRange(versions, deltas, snaps)
			if lo != tc.lo || hi != tc.hi {
				t.Fatalf("range %d..%d, want %d..%d", lo, hi, tc.lo, tc.hi)
			}
		})
	}
}

func splitFields(s string) []string {
	var out []string
	cur := ""
	for _, r := range s + " " {
		if r == ' ' {
			if cur != "" {
				out = append(out, cur)
			}
			cur = ""
			continue
		}
		cur += string(r)
	}
	return out
}

// Files follows commits, snapshots and purges; NumRows counts a version's
// keys.
func TestReaderFilesAndNumRows(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fsys := storage.NewMem()
	spec := pairSpec(1)
	op, st := openStore(t, fsys, spec, Options{Mem: mem, SnapshotInterval: 3})
	defer op.Close()
	r, err := OpenReader(ctx, fsys, "ckpt/state", 0, mem)
	must(t, err)
	if sf, err := r.Files(ctx, 0, ""); err != nil || sf.MinVersion != -1 || sf.MaxVersion != -1 || sf.Bytes != 0 {
		t.Fatalf("files before any commit: %+v %v", sf, err)
	}
	must(t, st.Load(ctx, 0))
	for v := int64(1); v <= 7; v++ {
		k := i64s(mem, []int64{v}, nil)
		w := i64s(mem, []int64{0}, nil)
		c := i64s(mem, []int64{v}, nil)
		must(t, st.Put([]arrow.Array{k, w}, []arrow.Array{c}))
		k.Release()
		w.Release()
		c.Release()
		mustCommit(t, st)
	}
	must(t, st.Flush(ctx))
	sf, err := r.Files(ctx, 0, "")
	must(t, err)
	if sf.MinVersion != 0 || sf.MaxVersion != 7 || sf.Deltas != 7 || sf.Snapshots == 0 || sf.Bytes <= 0 {
		t.Fatalf("files after 7 commits: %+v", sf)
	}
	for v := int64(0); v <= 7; v++ {
		if n, err := r.NumRows(ctx, 0, "", v); err != nil || n != v {
			t.Fatalf("NumRows(version %d) = %d, %v; want %d", v, n, err, v)
		}
	}
	must(t, op.Purge(ctx, 5))
	sf, err = r.Files(ctx, 0, "")
	must(t, err)
	if sf.MinVersion < 3 || sf.MinVersion > 5 || sf.MaxVersion != 7 {
		t.Fatalf("files after purging below 5: %+v; want versions from the snapshot at or below 5 to 7", sf)
	}
	// Removing the newest delta (and the background snapshot of it, if
	// one was written) leaves the versions before it.
	must(t, fsys.Remove(ctx, path.Join(storeDir("ckpt/state", 0, 0, ""), "7.delta")))
	_ = fsys.Remove(ctx, path.Join(storeDir("ckpt/state", 0, 0, ""), "7.snapshot"))
	if sf, err := r.Files(ctx, 0, ""); err != nil || sf.MaxVersion != 6 {
		t.Fatalf("files without 7.delta: %+v %v", sf, err)
	}
	if _, err := r.Files(ctx, 1, ""); err == nil {
		t.Fatal("Files of a partition out of range succeeded")
	}
	if _, err := r.NumRows(ctx, 0, "nope", 1); err == nil {
		t.Fatal("NumRows of a missing store succeeded")
	}
}

// restorableRange agrees with the restore planner on random file sets:
// every version in lo..hi restores, hi is the newest that does, and lo-1
// does not (unless lo is 0).
func TestRestorableRangeMatchesPlan(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for iter := 0; iter < 2000; iter++ {
		vf := versionFiles{deltas: map[int64]bool{}}
		snaps := map[int64]bool{}
		var versions []int64
		maxV := 1 + rng.Int64N(15)
		for v := int64(1); v <= maxV; v++ {
			if rng.IntN(4) > 0 {
				vf.deltas[v] = true
			}
			if rng.IntN(5) == 0 {
				snaps[v] = true
				vf.snaps = append(vf.snaps, v)
			}
			if vf.deltas[v] || snaps[v] {
				versions = append(versions, v)
			}
		}
		if len(versions) == 0 {
			continue
		}
		lo, hi := restorableRange(versions, vf.deltas, snaps)
		ok := func(v int64) bool { _, err := vf.plan(v); return err == nil }
		newest := int64(-1)
		for v := versions[len(versions)-1]; v >= 1; v-- {
			if ok(v) {
				newest = v
				break
			}
		}
		desc := fmt.Sprintf("deltas %v snapshots %v", vf.deltas, vf.snaps)
		if hi != newest {
			t.Fatalf("%s: hi %d, newest restorable %d", desc, hi, newest)
		}
		if hi < 0 {
			if lo != -1 {
				t.Fatalf("%s: lo %d without hi", desc, lo)
			}
			continue
		}
		for v := lo; v <= hi; v++ {
			if !ok(v) {
				t.Fatalf("%s: version %d in %d..%d does not restore", desc, v, lo, hi)
			}
		}
		if lo > 0 && ok(lo-1) {
			t.Fatalf("%s: lo %d but %d restores too", desc, lo, lo-1)
		}
	}
}

// FuzzRestorableRange: byte i says which files version i+1 has (bit 0 a
// delta, bit 1 a snapshot); the range must never panic and must agree
// with the restore planner at its ends.
func FuzzRestorableRange(f *testing.F) {
	f.Add([]byte{1, 1, 1})
	f.Add([]byte{0, 0, 2, 1, 1})
	f.Add([]byte{1, 0, 1, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 200 {
			data = data[:200]
		}
		vf := versionFiles{deltas: map[int64]bool{}}
		snaps := map[int64]bool{}
		var versions []int64
		for i, b := range data {
			v := int64(i + 1)
			if b&1 != 0 {
				vf.deltas[v] = true
			}
			if b&2 != 0 {
				snaps[v] = true
				vf.snaps = append(vf.snaps, v)
			}
			if b&3 != 0 {
				versions = append(versions, v)
			}
		}
		if len(versions) == 0 {
			return
		}
		lo, hi := restorableRange(versions, vf.deltas, snaps)
		if (lo < 0) != (hi < 0) || lo > hi {
			t.Fatalf("range %d..%d", lo, hi)
		}
		if hi < 0 {
			return
		}
		for _, v := range []int64{lo, hi} {
			if _, err := vf.plan(v); err != nil {
				t.Fatalf("version %d of range %d..%d does not restore: %v", v, lo, hi, err)
			}
		}
		if _, err := vf.plan(hi + 1); err == nil && hi+1 <= versions[len(versions)-1] {
			t.Fatalf("range ends at %d but %d restores", hi, hi+1)
		}
	})
}
