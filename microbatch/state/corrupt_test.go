package state

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/storage"
)

// writeVersions commits versions 1..n of a small state (snapshot at 2).
func writeVersions(t *testing.T, fsys storage.FS, mem memory.Allocator, n int) {
	t.Helper()
	op, st := openStore(t, fsys, pairSpec(1), Options{Mem: mem, SnapshotInterval: 2})
	defer op.Close()
	must(t, st.Load(ctx, 0))
	for v := 1; v <= n; v++ {
		k := i64s(mem, []int64{int64(v), int64(v + 1)}, nil)
		c := i64s(mem, []int64{int64(v), 7}, nil)
		must(t, st.Put([]arrow.Array{k, k}, []arrow.Array{c}))
		k.Release()
		c.Release()
		mustCommit(t, st)
		must(t, st.Flush(ctx))
	}
}

func TestCorruptFilesAreNamed(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := "ckpt/state/0/0/"
	tests := []struct {
		name    string
		file    string // damaged
		damage  func(b []byte) []byte
		load    int64
		wantErr error
		msg     string
	}{
		{"flipped byte in a delta", "3.delta", func(b []byte) []byte { b[len(b)/2] ^= 0x40; return b }, 3, ErrCorrupt, "checksum mismatch"},
		{"truncated snapshot", "2.snapshot", func(b []byte) []byte { return b[:len(b)-5] }, 3, ErrCorrupt, "truncated"},
		{"empty delta", "1.delta", func(b []byte) []byte { return nil }, 1, ErrCorrupt, "too short"},
		{"not a state file", "3.delta", func(b []byte) []byte { return []byte(strings.Repeat("{json}", 10)) }, 3, ErrCorrupt, "bad magic"},
		{"newer format", "3.delta", func(b []byte) []byte { b[8] = 9; return reseal(b) }, 3, ErrCorrupt, "format version 9"},
		{"garbage body with a valid checksum", "3.delta", func(b []byte) []byte {
			for i := headerLen; i < len(b)-trailerLen; i++ {
				b[i] = byte(i * 7)
			}
			return reseal(b)
		}, 3, ErrCorrupt, "3.delta"},
		{"uncompressed garbage", "3.delta", func(b []byte) []byte {
			b[10] = codecNone
			return reseal(b)
		}, 3, ErrCorrupt, "arrow ipc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := storage.NewMem()
			writeVersions(t, fsys, mem, 3)
			name := dir + tc.file
			b, err := fsys.ReadFile(ctx, name)
			must(t, err)
			must(t, fsys.WriteFile(ctx, name, tc.damage(b), storage.WriteOptions{}))
			op, st := openStore(t, fsys, pairSpec(1), Options{Mem: mem})
			defer op.Close()
			err = st.Load(ctx, tc.load)
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v\nwant %v naming %s and saying %q", err, tc.wantErr, name, tc.msg)
			}
		})
	}
}

func TestMisplacedFilesAreRefused(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fsys := storage.NewMem()
	writeVersions(t, fsys, mem, 3)
	// 3.delta copied over 1.delta: a renamed file
	b, err := fsys.ReadFile(ctx, "ckpt/state/0/0/3.delta")
	must(t, err)
	must(t, fsys.WriteFile(ctx, "ckpt/state/0/0/1.delta", b, storage.WriteOptions{}))
	op, st := openStore(t, fsys, pairSpec(1), Options{Mem: mem})
	defer op.Close()
	if err := st.Load(ctx, 1); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), `holds version "3", expected 1`) {
		t.Fatalf("renamed delta: %v", err)
	}
	// another partition's file
	must(t, fsys.WriteFile(ctx, "ckpt/state/0/0/1.delta", mustRead(t, fsys, "ckpt/state/0/0/3.delta"), storage.WriteOptions{}))
	other := pairSpec(2)
	op2, err := OpenOperator(ctx, storage.NewMem(), "ckpt/state", other, Options{Mem: mem})
	must(t, err)
	defer op2.Close()
	st2, err := op2.Store(1, "")
	must(t, err)
	must(t, st2.Load(ctx, 0))
	mustCommit(t, st2)
	must(t, fsys.WriteFile(ctx, "ckpt/state/0/0/1.delta", mustRead(t, op2.fs, "ckpt/state/0/1/1.delta"), storage.WriteOptions{}))
	if err := st.Load(ctx, 1); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "partition 1") {
		t.Fatalf("another partition's delta: %v", err)
	}
}

func TestSnapshotFallbackAndPurge(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fsys := storage.NewMem()
	writeVersions(t, fsys, mem, 7) // snapshots 2, 4, 6
	op, st := openStore(t, fsys, pairSpec(1), Options{Mem: mem})
	defer op.Close()
	must(t, st.Load(ctx, 7))
	want := dump(t, st)
	// A lost snapshot (crash before it landed) costs more deltas, nothing else.
	must(t, fsys.Remove(ctx, "ckpt/state/0/0/6.snapshot"))
	must(t, st.Load(ctx, 5))
	must(t, st.Load(ctx, 7))
	if got := dump(t, st); len(got) != len(want) {
		t.Fatalf("restore without the newest snapshot: %v, want %v", got, want)
	}
	// Purge keeping version 5: snapshot 4 and deltas 5.. stay.
	must(t, op.Purge(ctx, 5))
	names := listNames(t, fsys, "ckpt/state/0/0")
	if strings.Join(names, " ") != "4.snapshot 5.delta 6.delta 7.delta" {
		t.Fatalf("after purge: %v", names)
	}
	for v := int64(5); v <= 7; v++ {
		must(t, st.Load(ctx, v))
	}
	if err := st.Load(ctx, 3); !errors.Is(err, ErrVersionUnavailable) {
		t.Fatalf("purged version: %v", err)
	}
}

func listNames(t *testing.T, fsys storage.FS, dir string) []string {
	infos, err := fsys.List(ctx, dir)
	must(t, err)
	var out []string
	for _, fi := range infos {
		out = append(out, fi.Name)
	}
	slices.Sort(out)
	return out
}

func mustRead(t *testing.T, fsys storage.FS, name string) []byte {
	t.Helper()
	b, err := fsys.ReadFile(ctx, name)
	must(t, err)
	return b
}

// reseal recomputes a damaged file's checksum, so the damage reaches the
// decoder.
func reseal(b []byte) []byte {
	n := len(b) - trailerLen
	binary.LittleEndian.PutUint32(b[n+8:], crc32.Checksum(b[:n], castagnoli))
	return b
}
