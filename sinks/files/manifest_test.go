package files

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
)

// checkManifest reads the manifest as a reader does and checks it names
// one file per batch 0..latest, in order.
func checkManifest(t *testing.T, fsys storage.FS, dir string, first, latest int64) *fileformat.Manifest {
	t.Helper()
	m, err := fileformat.ReadManifest(context.Background(), fsys, dir)
	if err != nil {
		t.Fatalf("after batch %d: %v", latest, err)
	}
	if m.Latest != latest {
		t.Fatalf("manifest latest %d, want %d", m.Latest, latest)
	}
	if int64(len(m.Files)) != latest-first+1 {
		t.Fatalf("after batch %d: %d files, want %d (chain %v)", latest, len(m.Files), latest-first+1, m.Chain)
	}
	for i, f := range m.Files {
		if f.Batch != first+int64(i) {
			t.Fatalf("after batch %d: file %d is from batch %d, want %d", latest, i, f.Batch, first+int64(i))
		}
	}
	return m
}

func TestManifestCompactionBounded(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	m := storage.NewMem()
	o := Options{FS: m, Path: "/o", Mem: mem, ManifestCompactInterval: 3, ManifestMaxCompactBatches: 9}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	maxObjs := 0
	for b := int64(0); b < 200; b++ {
		if b == 100 { // a restart: the new sink reads the open ranges from storage
			s, _ = New(o)
		}
		if err := addBatch(t, s, mem, b, int(b), int(b)+1); err != nil {
			t.Fatal(err)
		}
		man := checkManifest(t, m, "/o", 0, b)
		names := logNames(t, m, "/o")
		// Sealed pages grow with the batches; everything else is bounded.
		sealed := 0
		for _, n := range names {
			if o, ok := fileformat.ParseManifestName(n); ok && o.Compact && o.Last-o.First+1 == 9 {
				sealed++
			}
		}
		if int64(sealed) != (b+1)/9 {
			t.Fatalf("after batch %d: %d sealed pages (%v)", b, sealed, names)
		}
		maxObjs = max(maxObjs, len(names)-sealed)
		// A reader reads the sealed pages plus at most 2 objects per level.
		if len(man.Chain) > sealed+4 {
			t.Fatalf("after batch %d the chain has %d objects: %v", b, len(man.Chain), man.Chain)
		}
	}
	if maxObjs > 12 {
		t.Errorf("up to %d unsealed objects at once; retention should keep it near 2 levels x (interval-1) + lag", maxObjs)
	}
	// Sealed compacts say so.
	data, err := m.ReadFile(context.Background(), "/o/_sluice_log/18-26.compact")
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := fileformat.ManifestBody("18-26.compact", data, true)
	if err != nil || !h.Sealed || h.First != 18 || h.Last != 26 {
		t.Errorf("header %+v %v", h, err)
	}
	if got := readRowsUnpartitioned(t, mem, m, "/o", "parquet"); !slices.Equal(got, wantRows(0, 200)) {
		t.Errorf("rows after 200 batches: %d", len(got))
	}
}

func TestManifestCompactionCrash(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	m := storage.NewMem()
	fail := true
	hooks := storage.Hooks{Before: func(op storage.Op, name string) error {
		if fail && op == storage.OpWriteFile && strings.HasSuffix(name, "/0-9.compact") {
			return storage.ErrInjected
		}
		return nil
	}}
	o := Options{FS: storage.WithHooks(m, hooks), Path: "/o", Mem: mem}
	s, _ := New(o)
	for b := int64(0); b < 9; b++ {
		if err := addBatch(t, s, mem, b, int(b), int(b)+1); err != nil {
			t.Fatal(err)
		}
	}
	// Batch 9 closes a range: its compact is its commit point.
	if err := addBatch(t, s, mem, 9, 9, 10); err == nil {
		t.Fatal("the injected compaction failure was not reported")
	}
	checkManifest(t, m, "/o", 0, 8) // batch 9 is not visible
	fail = false
	s, _ = New(o) // restart; the engine replays batch 9
	if err := addBatch(t, s, mem, 9, 9, 10); err != nil {
		t.Fatal(err)
	}
	checkManifest(t, m, "/o", 0, 9)
	if names := logNames(t, m, "/o"); !slices.Contains(names, "0-9.compact") || slices.Contains(names, "9") {
		t.Errorf("batch 9 must be committed by its compact alone: %v", names)
	}
	for b := int64(10); b < 25; b++ {
		if err := addBatch(t, s, mem, b, int(b), int(b)+1); err != nil {
			t.Fatal(err)
		}
	}
	checkManifest(t, m, "/o", 0, 24)
	if got := readRowsUnpartitioned(t, mem, m, "/o", "parquet"); !slices.Equal(got, wantRows(0, 25)) {
		t.Errorf("rows: %v", got)
	}
}

// A query may start writing at any batch id (its sink was changed).
func TestManifestStartsLate(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	m := storage.NewMem()
	s, _ := New(Options{FS: m, Path: "/o", Mem: mem, ManifestCompactInterval: 3, ManifestMaxCompactBatches: 9})
	for b := int64(57); b < 90; b++ {
		if err := addBatch(t, s, mem, b, int(b), int(b)+1); err != nil {
			t.Fatal(err)
		}
		checkManifest(t, m, "/o", 57, b)
	}
	names := logNames(t, m, "/o")
	if !slices.Contains(names, "57-62.compact") || !slices.Contains(names, "81-89.compact") {
		t.Errorf("compacts %v", names)
	}
}

// The compaction geometry is fixed by the first writer: a restart with
// other options keeps the log's.
func TestManifestGeometryFixed(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	m := storage.NewMem()
	s, _ := New(Options{FS: m, Path: "/o", Mem: mem, ManifestCompactInterval: 3, ManifestMaxCompactBatches: 9})
	for b := int64(0); b < 20; b++ {
		if err := addBatch(t, s, mem, b, int(b), int(b)+1); err != nil {
			t.Fatal(err)
		}
	}
	s, _ = New(Options{FS: m, Path: "/o", Mem: mem, ManifestCompactInterval: 4, ManifestMaxCompactBatches: 16})
	for b := int64(20); b < 60; b++ {
		if err := addBatch(t, s, mem, b, int(b), int(b)+1); err != nil {
			t.Fatal(err)
		}
		checkManifest(t, m, "/o", 0, b)
	}
	if names := logNames(t, m, "/o"); !slices.Contains(names, "45-53.compact") {
		t.Errorf("the first geometry (3, 9) was not kept: %v", names)
	}
}
