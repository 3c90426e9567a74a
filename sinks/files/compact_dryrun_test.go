package files

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/storage"
)

// A dry run reports what a real run does, and changes nothing; the
// files of ranges the sink may still rewrite are counted as unsealed.
func TestCompactDryRun(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	m := storage.NewMem()
	clock := &testClock{now: time.Unix(1_700_000_000, 0)}
	s, _ := New(Options{FS: m, Path: "/o", Mem: mem, PartitionBy: []string{"p"}, ManifestCompactInterval: 2, ManifestMaxCompactBatches: 4, Clock: clock})
	for b := 0; b < 10; b++ {
		if err := addBatch(t, s, mem, int64(b), b*3, b*3+3); err != nil {
			t.Fatal(err)
		}
	}
	snapshot := func() []string {
		var names []string
		var walk func(d string)
		walk = func(d string) {
			ents, _ := m.List(ctx, d)
			for _, e := range ents {
				if e.IsDir {
					walk(d + "/" + e.Name)
				} else {
					names = append(names, d+"/"+e.Name)
				}
			}
		}
		walk("/o")
		slices.Sort(names)
		return names
	}
	co := CompactOptions{TargetFileSize: 1 << 20, Clock: clock, Mem: mem}
	before := snapshot()
	dry := co
	dry.DryRun = true
	planned, err := Compact(ctx, m, "/o", dry)
	if err != nil {
		t.Fatal(err)
	}
	if after := snapshot(); !slices.Equal(before, after) {
		t.Fatalf("a dry run changed the directory:\nbefore %v\nafter  %v", before, after)
	}
	if planned.UnsealedFiles == 0 {
		t.Errorf("dry run: batches 8, 9 are not sealed, yet no unsealed files: %+v", planned)
	}
	done, err := Compact(ctx, m, "/o", co)
	if err != nil {
		t.Fatal(err)
	}
	if planned.PagesRewritten != done.PagesRewritten || planned.FilesReplaced != done.FilesReplaced ||
		planned.FilesWritten != done.FilesWritten || planned.BytesReplaced != done.BytesReplaced ||
		planned.UnsealedFiles != done.UnsealedFiles || done.PagesRewritten == 0 {
		t.Errorf("dry run %+v\nreal run %+v", planned, done)
	}
	// Past the grace period, a dry run counts the files a real run deletes.
	clock.advance(2 * time.Hour)
	before = snapshot()
	planned, err = Compact(ctx, m, "/o", dry)
	if err != nil || !slices.Equal(before, snapshot()) {
		t.Fatalf("second dry run: %v, or the directory changed", err)
	}
	done, err = Compact(ctx, m, "/o", co)
	if err != nil || planned.FilesDeleted != done.FilesDeleted || done.FilesDeleted == 0 {
		t.Errorf("deletions: dry %+v real %+v %v", planned, done, err)
	}
	if got := readRows(t, mem, m, "/o", "parquet", nil); !slices.Equal(got, wantRows(0, 30)) {
		t.Errorf("rows after compaction: %v", got)
	}
}
