package files

import (
	"context"
	"errors"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sinks"
)

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want []string // substrings of the error; none: valid
	}{
		{"minimal", Options{Path: "/out"}, nil},
		{"full", Options{Path: "/out", Format: "CSV", PartitionBy: []string{"a"}, MaxRecordsPerFile: 10, TargetFileSize: 1 << 20,
			Compression: "gzip", ManifestCompactInterval: 4, ManifestMaxCompactBatches: 64, FormatOptions: map[string]string{"header": "true"}}, nil},
		{"everything wrong", Options{Format: "orc", PartitionBy: []string{"a", "A", ""}, MaxRecordsPerFile: -1, TargetFileSize: -1,
			RowGroupSize: -5, ManifestCompactInterval: 1, ManifestMaxCompactBatches: -1},
			[]string{"path is required", `format "orc"`, `names column "A" twice`, "empty column name", "maxRecordsPerFile=-1",
				"targetFileSize=-1", "rowGroupSize=-5", "manifestCompactInterval=1", "manifestMaxCompactBatches=-1"}},
		{"bad compression", Options{Path: "/o", Compression: "lzo"}, []string{`compression "lzo"`}},
		{"csv zstd", Options{Path: "/o", Format: "csv", Compression: "zstd"}, []string{"for csv use none or gzip"}},
		{"rowGroupSize for json", Options{Path: "/o", Format: "json", RowGroupSize: 10}, []string{"parquet only"}},
		{"not a power", Options{Path: "/o", ManifestCompactInterval: 10, ManifestMaxCompactBatches: 500}, []string{"must be a power of"}},
		{"compression as format option", Options{Path: "/o", FormatOptions: map[string]string{"Compression": "zstd"}}, []string{"as the sink option"}},
		{"unknown format option", Options{Path: "/o", Format: "csv", FormatOptions: map[string]string{"hedaer": "true"}}, []string{"hedaer"}},
	}
	for _, tt := range tests {
		err := tt.o.Validate()
		if len(tt.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, sinks.ErrSink) {
			t.Errorf("%s: error %v, want ErrSink", tt.name, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tt.name, err, w)
			}
		}
	}
}

func TestSupportsMode(t *testing.T) {
	s, err := New(Options{Path: "/tmp/x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SupportsMode(sinks.Append); err != nil {
		t.Errorf("append: %v", err)
	}
	for _, m := range []sinks.OutputMode{sinks.Update, sinks.Complete} {
		err := s.SupportsMode(m)
		if err == nil || !strings.Contains(err.Error(), "append only") || !strings.Contains(err.Error(), "foreachBatch") {
			t.Errorf("%s: %v", m, err)
		}
	}
	if s.Description() != "FileSink[/tmp/x]" {
		t.Errorf("description %q", s.Description())
	}
}

// storages runs f on an in-memory and a local output directory.
func storages(t *testing.T, f func(t *testing.T, fsys storage.FS, dir string)) {
	t.Run("mem", func(t *testing.T) { f(t, storage.NewMem(), "/out") })
	t.Run("local", func(t *testing.T) { f(t, storage.Local{}, t.TempDir()) })
}

func TestSinkRoundTrip(t *testing.T) {
	for _, format := range []string{"parquet", "csv", "json"} {
		for _, part := range []bool{false, true} {
			name := format
			if part {
				name += "/partitioned"
			}
			t.Run(name, func(t *testing.T) {
				storages(t, func(t *testing.T, fsys storage.FS, dir string) {
					mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
					defer mem.AssertSize(t, 0)
					o := Options{FS: fsys, Path: dir, Format: format, Mem: mem}
					if part {
						o.PartitionBy = []string{"p"}
					}
					if format == "csv" {
						o.Compression = "gzip"
					}
					s, err := New(o)
					if err != nil {
						t.Fatal(err)
					}
					for b, r := range [][2]int{{0, 10}, {10, 10}, {10, 35}} {
						if err := addBatch(t, s, mem, int64(b), r[0], r[1]); err != nil {
							t.Fatal(err)
						}
					}
					var got []string
					if part {
						got = readRows(t, mem, fsys, dir, format, nil)
					} else {
						// Without partitioning p is a data column: read it as such.
						got = readRowsUnpartitioned(t, mem, fsys, dir, format)
					}
					want := wantRows(0, 35)
					if !slices.Equal(got, want) {
						t.Errorf("rows differ:\n got %v\nwant %v", got, want)
					}
					if latest, err := s.LatestBatchID(context.Background()); err != nil || latest != 2 {
						t.Errorf("LatestBatchID = %d, %v", latest, err)
					}
					m, err := fileformat.ReadManifest(context.Background(), fsys, dir)
					if err != nil {
						t.Fatal(err)
					}
					var rows int64
					for _, f := range m.Files {
						rows += f.Rows
						if part && f.Partition["p"] == "" {
							t.Errorf("%s has no partition value", f.Path)
						}
						if format == "csv" && !strings.HasSuffix(f.Path, ".csv.gz") {
							t.Errorf("gzip csv file named %s", f.Path)
						}
					}
					if rows != 35 {
						t.Errorf("manifest counts %d rows, want 35", rows)
					}
				})
			})
		}
	}
}

func readRowsUnpartitioned(t *testing.T, mem memory.Allocator, fsys storage.FS, dir, format string) []string {
	t.Helper()
	files, err := fileformat.ListCommittedFiles(context.Background(), fsys, dir)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := fileformat.Lookup(format)
	var out []string
	for _, fi := range files {
		out = append(out, readFileRows(t, mem, fsys, f, fi, testSchema, nil)...)
	}
	slices.Sort(out)
	return out
}

func TestSinkReplay(t *testing.T) {
	storages(t, func(t *testing.T, fsys storage.FS, dir string) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		s, err := New(Options{FS: fsys, Path: dir, Mem: mem})
		if err != nil {
			t.Fatal(err)
		}
		if err := addBatch(t, s, mem, 0, 0, 10); err != nil {
			t.Fatal(err)
		}
		if err := addBatch(t, s, mem, 1, 10, 20); err != nil {
			t.Fatal(err)
		}
		// Replay of batch 1 with its manifest present: a no-op, even with
		// other rows; a fresh Sink (a restarted query) too.
		if err := addBatch(t, s, mem, 1, 100, 120); err != nil {
			t.Fatal(err)
		}
		s2, _ := New(Options{FS: fsys, Path: dir, Mem: mem})
		if err := addBatch(t, s2, mem, 1, 100, 120); err != nil {
			t.Fatal(err)
		}
		if err := addBatch(t, s2, mem, 0, 100, 120); err != nil {
			t.Fatal(err)
		}
		if got, want := readRowsUnpartitioned(t, mem, fsys, dir, "parquet"), wantRows(0, 20); !slices.Equal(got, want) {
			t.Errorf("after replays:\n got %v\nwant %v", got, want)
		}
	})
}

// TestSinkCrashedHalfBatch kills the write of batch 1's manifest: its
// data files exist but are invisible; the replay rewrites the same names
// and commits exactly once.
func TestSinkCrashedHalfBatch(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	m := storage.NewMem()
	failManifest := storage.Hooks{Before: func(op storage.Op, name string) error {
		if op == storage.OpWriteFile && strings.HasSuffix(name, "/_sluice_log/1") {
			return storage.ErrInjected
		}
		return nil
	}}
	s, _ := New(Options{FS: storage.WithHooks(m, failManifest), Path: "/out", Mem: mem, MaxRecordsPerFile: 4})
	if err := addBatch(t, s, mem, 0, 0, 10); err != nil {
		t.Fatal(err)
	}
	if err := addBatch(t, s, mem, 1, 10, 20); !errors.Is(err, storage.ErrInjected) {
		t.Fatalf("batch 1: %v, want the injected fault", err)
	}
	m.Crash()
	ents, _ := m.List(context.Background(), "/out")
	var onDisk []string
	for _, e := range ents {
		if !e.IsDir {
			onDisk = append(onDisk, e.Name)
		}
	}
	if len(onDisk) != 6 { // 3 files of batch 0 and 3 of the half batch
		t.Fatalf("files on storage: %v", onDisk)
	}
	if got, want := readRowsUnpartitioned(t, mem, m, "/out", "parquet"), wantRows(0, 10); !slices.Equal(got, want) {
		t.Errorf("half batch visible:\n got %v\nwant %v", got, want)
	}
	// Restart: replay batch 1.
	s2, _ := New(Options{FS: m, Path: "/out", Mem: mem, MaxRecordsPerFile: 4})
	if err := addBatch(t, s2, mem, 1, 10, 20); err != nil {
		t.Fatal(err)
	}
	ents, _ = m.List(context.Background(), "/out")
	if n := len(ents) - 1; n != 6 { // same names overwritten; minus _sluice_log
		t.Errorf("replay left %d files, want 6", n)
	}
	if got, want := readRowsUnpartitioned(t, mem, m, "/out", "parquet"), wantRows(0, 20); !slices.Equal(got, want) {
		t.Errorf("after replay:\n got %v\nwant %v", got, want)
	}
}

func TestSinkLocalHalfBatchInvisibleToListFiles(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	s, _ := New(Options{Path: dir, Mem: mem})
	if err := addBatch(t, s, mem, 0, 0, 10); err != nil {
		t.Fatal(err)
	}
	// A crashed batch 1: a data file without its manifest entry.
	w, _ := storage.Local{}.Create(context.Background(), path.Join(dir, "part-000001-00000.parquet"), storage.WriteOptions{})
	w.Write([]byte("PAR1 half written"))
	w.Close()
	files, err := fileformat.ListFiles(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || !strings.HasSuffix(files[0].Path, "part-000000-00000.parquet") {
		t.Errorf("ListFiles = %v, want only batch 0's file", files)
	}
}

func TestSinkRollsFiles(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	t.Run("maxRecordsPerFile", func(t *testing.T) {
		m := storage.NewMem()
		s, _ := New(Options{FS: m, Path: "/o", Mem: mem, MaxRecordsPerFile: 3})
		if err := addBatch(t, s, mem, 0, 0, 10); err != nil {
			t.Fatal(err)
		}
		man, _ := fileformat.ReadManifest(ctx, m, "/o")
		var rows []int64
		var names []string
		for _, f := range man.Files {
			rows = append(rows, f.Rows)
			names = append(names, f.Path)
		}
		if !slices.Equal(rows, []int64{3, 3, 3, 1}) {
			t.Errorf("rows per file %v", rows)
		}
		if !slices.Equal(names, []string{"part-000000-00000.parquet", "part-000000-00001.parquet", "part-000000-00002.parquet", "part-000000-00003.parquet"}) {
			t.Errorf("names %v", names)
		}
	})
	t.Run("targetFileSize", func(t *testing.T) {
		m := storage.NewMem()
		s, _ := New(Options{FS: m, Path: "/o", Format: "json", Mem: mem, TargetFileSize: 2000})
		if err := addBatch(t, s, mem, 0, 0, 500); err != nil {
			t.Fatal(err)
		}
		man, _ := fileformat.ReadManifest(ctx, m, "/o")
		if len(man.Files) < 5 {
			t.Errorf("%d files for ~%d bytes with a 2000-byte target", len(man.Files), 500*45)
		}
		var rows int64
		for _, f := range man.Files[:len(man.Files)-1] {
			rows += f.Rows
			if f.Size > 4000 || f.Size < 500 {
				t.Errorf("%s has %d bytes, target 2000", f.Path, f.Size)
			}
		}
		if got := readRowsUnpartitioned(t, mem, m, "/o", "json"); !slices.Equal(got, wantRows(0, 500)) {
			t.Errorf("rolled files lose rows: %d", len(got))
		}
	})
	t.Run("partitioned", func(t *testing.T) {
		m := storage.NewMem()
		s, _ := New(Options{FS: m, Path: "/o", Mem: mem, PartitionBy: []string{"p"}, MaxRecordsPerFile: 2})
		if err := addBatch(t, s, mem, 0, 0, 10); err != nil {
			t.Fatal(err)
		}
		man, _ := fileformat.ReadManifest(ctx, m, "/o")
		dirs := map[string]int64{}
		for _, f := range man.Files {
			dirs[path.Dir(f.Path)] += f.Rows
			if f.Rows > 2 {
				t.Errorf("%s: %d rows", f.Path, f.Rows)
			}
		}
		want := map[string]int64{"p=a": 4, "p=b%2Fc": 4, "p=__HIVE_DEFAULT_PARTITION__": 2}
		for k, v := range want {
			if dirs[k] != v {
				t.Errorf("partition dirs %v, want %v", dirs, want)
				break
			}
		}
	})
}

func TestSinkEmptyBatchAndNoColumns(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	m := storage.NewMem()
	s, _ := New(Options{FS: m, Path: "/o", Mem: mem})
	if err := addBatch(t, s, mem, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	man, err := fileformat.ReadManifest(context.Background(), m, "/o")
	if err != nil || man.Latest != 0 || len(man.Files) != 0 {
		t.Errorf("empty batch: %+v %v", man, err)
	}
	s2, _ := New(Options{FS: m, Path: "/o2", Mem: mem, PartitionBy: []string{"id", "x", "s", "p"}})
	if err := addBatch(t, s2, mem, 0, 0, 3); err == nil || !strings.Contains(err.Error(), "every column is a partition column") {
		t.Errorf("all partition columns: %v", err)
	}
	s3, _ := New(Options{FS: m, Path: "/o3", Mem: mem, PartitionBy: []string{"nope"}})
	if err := addBatch(t, s3, mem, 0, 0, 3); err == nil || !strings.Contains(err.Error(), `"nope" is not in the result`) {
		t.Errorf("missing partition column: %v", err)
	}
	if err := addBatch(t, s3, mem, -1, 0, 3); err == nil {
		t.Error("negative batch id accepted")
	}
	if err := s.AddBatch(context.Background(), 1, sinks.Update, nil); err == nil {
		t.Error("update mode accepted by AddBatch")
	}
}

func TestSinkConcurrentWriter(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	m := storage.NewMem()
	a, _ := New(Options{FS: m, Path: "/o", Mem: mem})
	b, _ := New(Options{FS: m, Path: "/o", Mem: mem})
	if _, err := b.LatestBatchID(context.Background()); err != nil { // b loads before a writes
		t.Fatal(err)
	}
	if err := addBatch(t, a, mem, 0, 0, 5); err != nil {
		t.Fatal(err)
	}
	if err := addBatch(t, b, mem, 0, 0, 7); !errors.Is(err, ErrConcurrentWriter) {
		t.Errorf("second writer of batch 0: %v, want ErrConcurrentWriter", err)
	}
}
