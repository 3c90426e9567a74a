package files

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sources"
)

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want []string
	}{
		{"json with schema", Options{Path: "/in", Format: "json", Schema: "a INT"}, nil},
		{"text", Options{Path: "/in", Format: "text"}, nil},
		{"infer", Options{Path: "/in/*.csv", Format: "csv", InferSchema: true, FormatOptions: map[string]string{"header": "true"}}, nil},
		{"archive", Options{Path: "/in", Format: "text", CleanSource: "archive", SourceArchiveDir: "/arch"}, nil},
		{"everything wrong", Options{Format: "avro", Schema: "a INT", InferSchema: true, MaxFilesPerTrigger: -1, MaxBytesPerTrigger: -1,
			MaxFileAge: -time.Second, CleanSource: "shred", SeenFilesCompactInterval: -1},
			[]string{"path is required", `format "avro"`, "not both", "maxFilesPerTrigger=-1", "maxBytesPerTrigger=-1",
				"maxFileAge=-1s", `cleanSource "shred"`, "seenFilesCompactInterval=-1"}},
		{"no schema", Options{Path: "/in", Format: "csv"}, []string{"needs a schema"}},
		{"bad ddl", Options{Path: "/in", Format: "csv", Schema: "a NOTATYPE"}, []string{"schema:"}},
		{"text with schema", Options{Path: "/in", Format: "text", Schema: "a INT"}, []string{"fixed schema"}},
		{"archive without dir", Options{Path: "/in", Format: "text", CleanSource: "archive"}, []string{"needs sourceArchiveDir"}},
		{"archive inside", Options{Path: "/in/*.txt", Format: "text", CleanSource: "archive", SourceArchiveDir: "/in/done"}, []string{"inside path"}},
		{"archive dir without archive", Options{Path: "/in", Format: "text", SourceArchiveDir: "/x"}, []string{"set cleanSource: archive"}},
		{"bad records and mode", Options{Path: "/in", Format: "csv", Schema: "a INT", BadRecordsPath: "/bad", FormatOptions: map[string]string{"mode": "PERMISSIVE"}}, []string{"replaces the mode option"}},
		{"unknown format option", Options{Path: "/in", Format: "csv", Schema: "a INT", FormatOptions: map[string]string{"haeder": "true"}}, []string{"haeder"}},
		{"format option for source", Options{Path: "/in", Format: "csv", Schema: "a INT", FormatOptions: map[string]string{"inferSchema": "true"}}, []string{"as the source option"}},
	}
	for _, tt := range tests {
		err := tt.o.Validate()
		if len(tt.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, sources.ErrSource) {
			t.Errorf("%s: %v, want ErrSource", tt.name, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tt.name, err, w)
			}
		}
	}
}

func newJSONSource(t *testing.T, w *world, o Options) *Source {
	t.Helper()
	o.FS = w.fs
	if o.Path == "" {
		o.Path = "/in"
	}
	o.Format = "json"
	if o.Schema == "" && !o.InferSchema {
		o.Schema = "id BIGINT"
	}
	s, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetCheckpoint(context.Background(), w.fs, "/ckpt/sources/0"); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOrderAndLimits(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	w := newWorld(t)
	w.put("/in/c.json", 30, `{"id":3}`)
	w.put("/in/a.json", 10, `{"id":1}`)
	w.put("/in/z.json", 20, `{"id":22}`) // same time as b: ties by path
	w.put("/in/b.json", 20, `{"id":2}`)
	w.put("/in/_ignored.json", 5, `{"id":99}`)
	w.put("/in/.hidden", 5, `{"id":99}`)
	s := newJSONSource(t, w, Options{MaxFilesPerTrigger: 1, Mem: mem})
	if got := s.DefaultReadLimit(); got.MaxFiles != 1 {
		t.Errorf("DefaultReadLimit = %+v", got)
	}
	e := &engine{t: t, s: s}
	var order []string
	var offsets []string
	for {
		off, rows := e.step()
		if rows == nil {
			break
		}
		order = append(order, rows...)
		offsets = append(offsets, off)
	}
	if want := []string{"1", "2", "22", "3"}; !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	if offsets[0] != `{"logOffset":0}` || offsets[3] != `{"logOffset":3}` {
		t.Errorf("offsets %v", offsets)
	}
	// New files later are picked up.
	w.put("/in/d.json", 40, `{"id":4}`)
	if _, rows := e.step(); !slices.Equal(rows, []string{"4"}) {
		t.Errorf("late file: %v", rows)
	}

	t.Run("maxBytesPerTrigger", func(t *testing.T) {
		w := newWorld(t)
		for i := 0; i < 5; i++ {
			w.put(fmt.Sprintf("/in/f%d.json", i), i, fmt.Sprintf(`{"id":%d}`+"\n", i)) // 9 bytes each
		}
		w.put("/in/g.json", 9, strings.Repeat(`{"id":7}`+"\n", 10))
		s := newJSONSource(t, w, Options{MaxBytesPerTrigger: 20, Mem: mem})
		e := &engine{t: t, s: s}
		var sizes []int
		for {
			_, rows := e.step()
			if rows == nil {
				break
			}
			sizes = append(sizes, len(rows))
		}
		// 2 files of 9 bytes fit in 20; the 90-byte file goes alone (a
		// soft cap: at least one file per batch).
		if want := []int{2, 2, 1, 10}; !slices.Equal(sizes, want) {
			t.Errorf("rows per batch %v, want %v", sizes, want)
		}
	})
	t.Run("latestFirst", func(t *testing.T) {
		w := newWorld(t)
		for i := 0; i < 4; i++ {
			w.put(fmt.Sprintf("/in/f%d.json", i), i*10, fmt.Sprintf(`{"id":%d}`, i))
		}
		s := newJSONSource(t, w, Options{LatestFirst: true, MaxFilesPerTrigger: 3, Mem: mem})
		e := &engine{t: t, s: s}
		if _, rows := e.step(); !slices.Equal(rows, []string{"3", "2", "1"}) {
			t.Errorf("first batch %v, want newest first", rows)
		}
		if _, rows := e.step(); !slices.Equal(rows, []string{"0"}) {
			t.Errorf("second batch %v", rows)
		}
	})
	t.Run("no limit", func(t *testing.T) {
		w := newWorld(t)
		for i := 0; i < 4; i++ {
			w.put(fmt.Sprintf("/in/f%d.json", i), 100-i, fmt.Sprintf(`{"id":%d}`, i))
		}
		s := newJSONSource(t, w, Options{Mem: mem})
		e := &engine{t: t, s: s}
		if _, rows := e.step(); !slices.Equal(rows, []string{"3", "2", "1", "0"}) {
			t.Errorf("one batch in time order: %v", rows)
		}
		if off, rows := e.step(); rows != nil || off != `{"logOffset":0}` {
			t.Errorf("no new data must return the start offset: %s %v", off, rows)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		w := newWorld(t)
		s := newJSONSource(t, w, Options{Path: "/nothing/yet", Mem: mem})
		e := &engine{t: t, s: s}
		if off, rows := e.step(); rows != nil || off != "" {
			t.Errorf("%q %v", off, rows)
		}
		w.put("/nothing/yet/a.json", 1, `{"id":1}`)
		if _, rows := e.step(); !slices.Equal(rows, []string{"1"}) {
			t.Errorf("%v", rows)
		}
	})
}

func TestMaxFileAge(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	w := newWorld(t)
	w.put("/in/old.json", 0, `{"id":0}`)
	w.put("/in/new.json", 100, `{"id":100}`)
	s := newJSONSource(t, w, Options{MaxFileAge: 10 * time.Second, Mem: mem})
	e := &engine{t: t, s: s}
	// The first batch takes every file, however old.
	if _, rows := e.step(); !slices.Equal(sorted(rows), []string{"0", "100"}) {
		t.Errorf("first batch %v", rows)
	}
	w.put("/in/late-but-old.json", 80, `{"id":80}`) // older than 100-10: ignored
	w.put("/in/recent.json", 95, `{"id":95}`)
	if _, rows := e.step(); !slices.Equal(rows, []string{"95"}) {
		t.Errorf("second batch %v, want only the file within maxFileAge", rows)
	}
	// latestFirst with maxFilesPerTrigger ignores maxFileAge, as Spark.
	w2 := newWorld(t)
	w2.put("/in/new.json", 100, `{"id":100}`)
	s2 := newJSONSource(t, w2, Options{MaxFileAge: 10 * time.Second, LatestFirst: true, MaxFilesPerTrigger: 5, Mem: mem})
	e2 := &engine{t: t, s: s2}
	e2.step()
	w2.put("/in/old.json", 1, `{"id":1}`)
	if _, rows := e2.step(); !slices.Equal(rows, []string{"1"}) {
		t.Errorf("latestFirst+maxFiles must ignore maxFileAge: %v", rows)
	}
}

func TestReplayAndRestart(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	w := newWorld(t)
	for i := 0; i < 6; i++ {
		w.put(fmt.Sprintf("/in/f%d.json", i), i, fmt.Sprintf(`{"id":%d}`, i))
	}
	s := newJSONSource(t, w, Options{MaxFilesPerTrigger: 2, Mem: mem})
	e := &engine{t: t, s: s}
	e.step() // batch 0: f0 f1
	start := e.committed
	end, err := s.LatestOffset(ctx, start, s.DefaultReadLimit()) // batch 1 logged: f2 f3
	if err != nil {
		t.Fatal(err)
	}
	first := readAll(t, s, start, end)
	// More files arrive; the logged range still means the same files.
	w.put("/in/zz.json", 3, `{"id":33}`)
	if again := readAll(t, s, start, end); !slices.Equal(again, first) || !slices.Equal(first, []string{"2", "3"}) {
		t.Errorf("replay %v, first %v", again, first)
	}
	// Restart: a new source on the same checkpoint.
	s2 := newJSONSource(t, w, Options{MaxFilesPerTrigger: 2, Mem: mem})
	if again := readAll(t, s2, start, end); !slices.Equal(again, first) {
		t.Errorf("after restart %v, want %v", again, first)
	}
	// The entry logged before the "crash" is reused, not a new one.
	end2, err := s2.LatestOffset(ctx, start, s2.DefaultReadLimit())
	if err != nil || string(end2) != string(end) {
		t.Errorf("LatestOffset after restart = %s, %v; want %s", end2, err, end)
	}
	e2 := &engine{t: t, s: s2, committed: start}
	var rest []string
	for {
		_, rows := e2.step()
		if rows == nil {
			break
		}
		rest = append(rest, rows...)
	}
	if want := []string{"2", "3", "33", "4", "5"}; !slices.Equal(rest, want) {
		t.Errorf("after restart %v, want %v", rest, want)
	}
	// Offsets the log does not know are an error, not silence.
	if _, err := s2.GetBatch(ctx, nil, encodeOffset(99)); err == nil {
		t.Error("GetBatch beyond the log succeeded")
	}
	if _, err := s2.LatestOffset(ctx, sources.Offset(`{"x":1}`), sources.ReadLimit{}); err == nil {
		t.Error("foreign offset accepted")
	}
	// Without a checkpoint, a restarted query's offsets are rejected with
	// the reason.
	s3, _ := New(ctx, Options{FS: w.fs, Path: "/in", Format: "json", Schema: "id BIGINT"})
	if _, err := s3.LatestOffset(ctx, end, sources.ReadLimit{}); err == nil || !strings.Contains(err.Error(), "SetCheckpoint") {
		t.Errorf("no checkpoint: %v", err)
	}
}

func TestSeenLogCompactionBounded(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	w := newWorld(t)
	o := Options{MaxFileAge: 20 * time.Second, SeenFilesCompactInterval: 5, Mem: mem}
	s := newJSONSource(t, w, o)
	e := &engine{t: t, s: s}
	var all []string
	maxObjs, maxCompact := 0, 0
	for i := 0; i < 300; i++ {
		w.put(fmt.Sprintf("/in/f%04d.json", i), i, fmt.Sprintf(`{"id":%d}`, i))
		if i == 150 { // restart in the middle
			s = newJSONSource(t, w, o)
			e = &engine{t: t, s: s, committed: e.committed}
		}
		_, rows := e.step()
		all = append(all, rows...)
		ents, _ := w.fs.List(ctx, "/ckpt/sources/0")
		maxObjs = max(maxObjs, len(ents))
		for _, en := range ents {
			if strings.HasSuffix(en.Name, ".compact") {
				maxCompact = max(maxCompact, int(en.Size))
			}
		}
	}
	if len(all) != 300 {
		t.Fatalf("read %d rows, want 300", len(all))
	}
	// schema + at most one compact + the entries since it (interval) + lag.
	if maxObjs > 8 {
		t.Errorf("the log held up to %d objects; compaction should keep it near the interval (5)", maxObjs)
	}
	// The compact holds only the files of the last 20 s (one per second).
	if maxCompact > 25*60 { // 300 files would be ~14 KB
		t.Errorf("a compact grew to %d bytes; maxFileAge should bound it", maxCompact)
	}
	if len(s.log.seen) > 25 {
		t.Errorf("the seen set holds %d files", len(s.log.seen))
	}
	// Old files are never re-read: rewrite an old one (modtime 5 s):
	// older than maxFileAge, it is ignored.
	w.put("/in/f0005.json", 5, `{"id":5}`)
	if _, rows := e.step(); rows != nil {
		t.Errorf("an old file was read again: %v", rows)
	}
}

func TestCleanSource(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	for _, mode := range []string{"delete", "archive"} {
		t.Run(mode, func(t *testing.T) {
			w := newWorld(t)
			w.put("/in/a.json", 1, `{"id":1}`)
			w.put("/in/sub/b.json", 2, `{"id":2}`)
			o := Options{CleanSource: mode, MaxFilesPerTrigger: 1, Mem: mem}
			if mode == "archive" {
				o.SourceArchiveDir = "/archive"
			}
			s := newJSONSource(t, w, o)
			end, err := s.LatestOffset(ctx, nil, s.DefaultReadLimit())
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, s, nil, end)
			if !w.exists("/in/a.json") {
				t.Fatal("cleaned before commit")
			}
			if err := s.Commit(ctx, end); err != nil {
				t.Fatal(err)
			}
			if w.exists("/in/a.json") {
				t.Error("not cleaned after commit")
			}
			if mode == "archive" {
				data, err := w.fs.ReadFile(ctx, "/archive/in/a.json")
				if err != nil || string(data) != `{"id":1}` {
					t.Errorf("archived copy: %q %v", data, err)
				}
			}
			if !w.exists("/in/sub/b.json") {
				t.Error("a file of a later batch was cleaned")
			}
			// Commit again (a restart repeats it): idempotent.
			if err := s.Commit(ctx, end); err != nil {
				t.Errorf("repeated commit: %v", err)
			}
			e := &engine{t: t, s: s, committed: end}
			if _, rows := e.step(); !slices.Equal(rows, []string{"2"}) {
				t.Errorf("second batch %v", rows)
			}
			if w.exists("/in/sub/b.json") {
				t.Error("b not cleaned")
			}
			if mode == "archive" && !w.exists("/archive/in/sub/b.json") {
				t.Error("b not archived under its original path")
			}
		})
	}
}

func TestPartitionColumnsAndFormats(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	w := newWorld(t)
	w.put("/in/d=1/h=x/a.csv", 1, "k,v\n1,a\n2,\n")
	w.put("/in/d=2/h=__HIVE_DEFAULT_PARTITION__/b.csv", 2, "k,v\n3,c\n")
	s, err := New(context.Background(), Options{FS: w.fs, Path: "/in", Format: "csv", Schema: "k INT, v STRING, d INT",
		PartitionColumns: []string{"d", "h"}, FormatOptions: map[string]string{"header": "true"}, Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Schema().String(); !strings.Contains(got, "d: type=int32") || !strings.Contains(got, "h: type=utf8") {
		t.Errorf("schema %s", got)
	}
	e := &engine{t: t, s: s}
	if _, rows := e.step(); !slices.Equal(rows, []string{"1|a|1|x", "2|NULL|1|x", "3|c|2|NULL"}) {
		t.Errorf("rows %v", rows)
	}

	// Text and a glob.
	w.put("/logs/2024/app.log", 1, "line one\nline two\n")
	w.put("/logs/2024/app.txt", 1, "skipped\n")
	ts, err := New(context.Background(), Options{FS: w.fs, Path: "/logs/*/*.log", Format: "text", Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	e = &engine{t: t, s: ts}
	if _, rows := e.step(); !slices.Equal(rows, []string{"line one", "line two"}) {
		t.Errorf("text rows %v", rows)
	}
}

func TestSchemaInferredOnceAndFixed(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	w := newWorld(t)
	w.put("/in/a.json", 1, `{"id":1,"name":"x"}`)
	o := Options{FS: w.fs, Path: "/in", Format: "json", InferSchema: true, CleanSource: "delete", Mem: mem}
	s, err := NewWithCheckpoint(ctx, o, w.fs, "/ckpt/sources/0")
	if err != nil {
		t.Fatal(err)
	}
	want := s.Schema()
	if want.NumFields() != 2 {
		t.Fatalf("inferred %s", want)
	}
	e := &engine{t: t, s: s}
	e.step() // reads and deletes a.json
	// The only file left would infer another schema.
	w.put("/in/b.json", 2, `{"id":2.5,"other":true}`)
	s2, err := NewWithCheckpoint(ctx, o, w.fs, "/ckpt/sources/0")
	if err != nil {
		t.Fatal(err)
	}
	if !s2.Schema().Equal(want) {
		t.Errorf("after restart the schema is %s, want the fixed %s", s2.Schema(), want)
	}
	// New re-infers; SetCheckpoint catches the difference.
	s3, err := New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	err = s3.SetCheckpoint(ctx, w.fs, "/ckpt/sources/0")
	if !errors.Is(err, ErrSchemaChanged) || !strings.Contains(err.Error(), "id bigint, name string") {
		t.Errorf("re-inferred schema: %v", err)
	}
	// The logged file is readable by people.
	data, _ := w.fs.ReadFile(ctx, "/ckpt/sources/0/schema")
	if !strings.Contains(string(data), `"ddl":"id bigint, name string"`) {
		t.Errorf("schema file %s", data)
	}
	// No files at all: a clear error.
	if _, err := New(ctx, Options{FS: w.fs, Path: "/empty", Format: "json", InferSchema: true}); !errors.Is(err, ErrNoFiles) {
		t.Errorf("no files: %v", err)
	}
}

func TestAvailableNow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	w := newWorld(t)
	for i := 0; i < 5; i++ {
		w.put(fmt.Sprintf("/in/f%d.json", i), i, fmt.Sprintf(`{"id":%d}`, i))
	}
	s := newJSONSource(t, w, Options{MaxFilesPerTrigger: 2, Mem: mem})
	if err := s.PrepareForAvailableNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := &engine{t: t, s: s}
	_, rows := e.step()
	w.put("/in/later.json", 9, `{"id":9}`)
	var all []string
	all = append(all, rows...)
	for {
		_, rows := e.step()
		if rows == nil {
			break
		}
		all = append(all, rows...)
	}
	if want := []string{"0", "1", "2", "3", "4"}; !slices.Equal(all, want) {
		t.Errorf("AvailableNow read %v, want %v (not the later file)", all, want)
	}
}

func TestLocalParquet(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	writeParquet(t, mem, storage.Local{}, dir+"/in/a.parquet", 0, 100)
	writeParquet(t, mem, storage.Local{}, dir+"/in/b.parquet", 100, 150)
	s, err := NewWithCheckpoint(context.Background(), Options{Path: dir + "/in", Format: "parquet", InferSchema: true, Mem: mem},
		storage.Local{}, dir+"/ckpt/sources/0")
	if err != nil {
		t.Fatal(err)
	}
	e := &engine{t: t, s: s}
	_, rows := e.step()
	if len(rows) != 150 || rows[0] != "0|0.0|s0" {
		t.Errorf("%d rows, first %v", len(rows), rows[:min(1, len(rows))])
	}
	if s.Description() != "FileStreamSource["+dir+"/in]" {
		t.Errorf("description %s", s.Description())
	}
}
