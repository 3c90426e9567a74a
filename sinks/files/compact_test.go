package files

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sinks"
)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Sleep(ctx context.Context, d time.Duration) error { return nil }

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func dataFiles(t *testing.T, m *storage.Mem, dir string) int {
	t.Helper()
	n := 0
	var walk func(d string)
	walk = func(d string) {
		ents, _ := m.List(context.Background(), d)
		for _, e := range ents {
			switch {
			case e.Name == fileformat.ManifestDir:
			case e.IsDir:
				walk(d + "/" + e.Name)
			default:
				n++
			}
		}
	}
	walk(dir)
	return n
}

func TestCompact(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	for _, format := range []string{"parquet", "csv"} {
		t.Run(format, func(t *testing.T) {
			m := storage.NewMem()
			clock := &testClock{now: time.Unix(1_700_000_000, 0)}
			o := Options{FS: m, Path: "/o", Format: format, Mem: mem, PartitionBy: []string{"p"},
				ManifestCompactInterval: 2, ManifestMaxCompactBatches: 4, Clock: clock}
			co := CompactOptions{TargetFileSize: 1 << 20, Format: format, Clock: clock, Mem: mem}
			if format == "csv" {
				o.Compression = "gzip"
				o.FormatOptions = map[string]string{"header": "true"}
				co.Schema = "id BIGINT, x DOUBLE, s STRING"
				co.FormatOptions = map[string]string{"header": "true"}
			}
			s, _ := New(o)
			for b := 0; b < 10; b++ {
				if err := addBatch(t, s, mem, int64(b), b*3, b*3+3); err != nil {
					t.Fatal(err)
				}
			}
			before := dataFiles(t, m, "/o")
			res, err := Compact(ctx, m, "/o", co)
			if err != nil {
				t.Fatal(err)
			}
			// Pages 0-3 and 4-7 are sealed; batches 8, 9 are not.
			if res.PagesRewritten != 2 || res.FilesWritten != 6 || res.FilesDeleted != 0 || res.FilesReplaced < 12 {
				t.Errorf("result %+v", res)
			}
			replaced := res.FilesReplaced
			check := func(n int) {
				t.Helper()
				if got := readRows(t, mem, m, "/o", format, co.FormatOptions); !slices.Equal(got, wantRows(0, n)) {
					t.Errorf("rows after compaction:\n got %v\nwant %v", got, wantRows(0, n))
				}
			}
			check(30)
			files, _ := fileformat.ListCommittedFiles(ctx, m, "/o")
			if len(files) >= before {
				t.Errorf("%d files listed, %d before", len(files), before)
			}
			man, _ := fileformat.ReadManifest(ctx, m, "/o")
			var rewritten int
			for _, f := range man.Files {
				if f.Rewritten {
					rewritten++
					if format == "csv" && !strings.HasSuffix(f.Path, ".csv.gz") {
						t.Errorf("rewritten csv named %s", f.Path)
					}
				}
			}
			if rewritten != 6 || man.Chain[0].Name != "0-3.1.compact" {
				t.Errorf("%d rewritten files, chain %v", rewritten, man.Chain)
			}
			// The query keeps writing; a second run inside the grace period
			// deletes nothing and finds nothing new to do.
			for b := 10; b < 12; b++ {
				if err := addBatch(t, s, mem, int64(b), b*3, b*3+3); err != nil {
					t.Fatal(err)
				}
			}
			check(36)
			clock.advance(time.Minute)
			res, err = Compact(ctx, m, "/o", co)
			if err != nil || res.FilesDeleted != 0 || res.PagesRewritten != 1 {
				t.Errorf("second run: %+v %v", res, err)
			}
			replaced += res.FilesReplaced
			// After the grace period the replaced files go.
			clock.advance(2 * time.Hour)
			res, err = Compact(ctx, m, "/o", co)
			if err != nil || res.FilesDeleted != replaced {
				t.Errorf("third run: %+v %v", res, err)
			}
			check(36)
			if n := dataFiles(t, m, "/o"); n != len(mustList(t, m, "/o")) {
				t.Errorf("%d data files on storage, %d listed: replaced files left behind", n, len(mustList(t, m, "/o")))
			}
			if names := logNames(t, m, "/o"); slices.Contains(names, "0-3.compact") {
				t.Errorf("superseded generation kept: %v", names)
			}
		})
	}
}

func mustList(t *testing.T, m storage.FS, dir string) []fileformat.FileInfo {
	t.Helper()
	f, err := fileformat.ListCommittedFiles(context.Background(), m, dir)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCompactErrors(t *testing.T) {
	ctx := context.Background()
	m := storage.NewMem()
	m.WriteFile(ctx, "/plain/a.parquet", []byte("x"), storage.WriteOptions{})
	if _, err := Compact(ctx, m, "/plain", CompactOptions{}); !errors.Is(err, sinks.ErrSink) || !strings.Contains(err.Error(), "not a file sink's output") {
		t.Errorf("plain dir: %v", err)
	}
	_, err := Compact(ctx, m, "/plain", CompactOptions{Format: "csv", MinFiles: 1, TargetFileSize: -1})
	for _, w := range []string{"needs schema", "minFiles must be at least 2", "must not be negative"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("bad options: %v lacks %q", err, w)
		}
	}
}
