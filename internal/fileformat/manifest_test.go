package fileformat

import (
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/storage"
)

func TestParseManifestName(t *testing.T) {
	tests := []struct {
		name string
		want ManifestObject
		ok   bool
	}{
		{"0", ManifestObject{Name: "0"}, true},
		{"42", ManifestObject{Name: "42", First: 42, Last: 42}, true},
		{"0-9.compact", ManifestObject{Name: "0-9.compact", First: 0, Last: 9, Compact: true}, true},
		{"10-19.3.compact", ManifestObject{Name: "10-19.3.compact", First: 10, Last: 19, Gen: 3, Compact: true}, true},
		{"007", ManifestObject{}, false},
		{"-1", ManifestObject{}, false},
		{"9-0.compact", ManifestObject{}, false},
		{"0-9.0.compact", ManifestObject{}, false},
		{"0-9.01.compact", ManifestObject{}, false},
		{"0-9.x.compact", ManifestObject{}, false},
		{"0.compact", ManifestObject{}, false},
		{"version", ManifestObject{}, false},
		{".sluice-tmp-3-abc", ManifestObject{}, false},
		{"", ManifestObject{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseManifestName(tt.name)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("ParseManifestName(%q) = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
		if ok {
			var round string
			if got.Compact {
				round = ManifestCompactName(got.First, got.Last, got.Gen)
			} else {
				round = ManifestEntryName(got.First)
			}
			if round != tt.name {
				t.Errorf("name round trip %q -> %q", tt.name, round)
			}
		}
	}
}

func objs(names ...string) []ManifestObject {
	var out []ManifestObject
	for _, n := range names {
		o, ok := ParseManifestName(n)
		if !ok {
			panic(n)
		}
		out = append(out, o)
	}
	return out
}

func chainNames(t *testing.T, names ...string) (string, error) {
	t.Helper()
	c, err := ChainManifest(objs(names...))
	var out []string
	for _, o := range c {
		out = append(out, o.Name)
	}
	return strings.Join(out, " "), err
}

func TestChainManifest(t *testing.T) {
	tests := []struct {
		in      []string
		want    string
		wantErr bool
	}{
		{nil, "", false},
		{[]string{"0"}, "0", false},
		{[]string{"2", "0", "1"}, "0 1 2", false},
		// The widest compact ending at a point wins; its inputs are skipped.
		{[]string{"0", "1", "2", "0-2.compact", "3"}, "0-2.compact 3", false},
		{[]string{"0-9.compact", "10-19.compact", "0-99.compact", "100", "101"}, "0-99.compact 100 101", false},
		// Superseded partial compacts are skipped.
		{[]string{"0-9.compact", "10-19.compact", "20", "0-19.compact"}, "0-19.compact 20", false},
		// Higher generation wins for the same range.
		{[]string{"0-9.compact", "0-9.2.compact", "0-9.1.compact", "10"}, "0-9.2.compact 10", false},
		// A compact beats an entry of the same single batch.
		{[]string{"5", "5-5.compact"}, "5-5.compact", false},
		// A log may start after batch 0.
		{[]string{"57", "58"}, "57 58", false},
		// Stale entries below a compact (a removal undone by a crash) are ignored.
		{[]string{"3", "0-9.compact", "10"}, "0-9.compact 10", false},
		// A missing entry between existing objects is a gap.
		{[]string{"0", "1", "3"}, "", true},
		{[]string{"0-9.compact", "11"}, "", true},
	}
	for _, tt := range tests {
		got, err := chainNames(t, tt.in...)
		if (err != nil) != tt.wantErr {
			t.Errorf("ChainManifest(%v) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrManifest) {
				t.Errorf("ChainManifest(%v): error %v does not wrap ErrManifest", tt.in, err)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("ChainManifest(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestManifestEncodeDecode(t *testing.T) {
	files := []ManifestFile{
		{Path: "a=1/part-0.parquet", Size: 10, Rows: 2, ModTimeMs: 1000, Batch: 3, Partition: map[string]string{"a": "1"}},
		{Path: "part-1.parquet", Size: 0, Rows: 0, Batch: 3},
	}
	e, err := EncodeManifestEntry(files)
	if err != nil {
		t.Fatal(err)
	}
	h, body, err := ManifestBody("3", e, false)
	if err != nil || h.First != 0 || h.Last != 0 || h.Sealed {
		t.Fatalf("ManifestBody entry: %v %+v", err, h)
	}
	got, err := DecodeManifestFiles("3", body, nil)
	if err != nil || len(got) != 2 || got[0].Partition["a"] != "1" || got[1].Path != "part-1.parquet" {
		t.Fatalf("decode entry: %v %+v", err, got)
	}
	empty, _ := EncodeManifestEntry(nil)
	c, err := EncodeManifestCompact(ManifestHeader{First: 3, Last: 4, Sealed: true}, body, mustBody(t, empty))
	if err != nil {
		t.Fatal(err)
	}
	h, body, err = ManifestBody("3-4.compact", c, true)
	if err != nil || h.First != 3 || h.Last != 4 || !h.Sealed {
		t.Fatalf("compact header: %v %+v", err, h)
	}
	if got, err := DecodeManifestFiles("c", body, nil); err != nil || len(got) != 2 {
		t.Fatalf("decode compact: %v %+v", err, got)
	}

	bad := []struct{ name, data string }{
		{"empty", ""},
		{"no version", `{"path":"x"}` + "\n"},
		{"newer", "v9\n"},
		{"bad json", "v1\n{\"path\":\n"},
		{"absolute path", "v1\n{\"path\":\"/etc/passwd\"}\n"},
		{"dotdot path", "v1\n{\"path\":\"a/../../x\"}\n"},
		{"empty path", "v1\n{\"size\":3}\n"},
	}
	for _, b := range bad {
		_, body, err := ManifestBody(b.name, []byte(b.data), false)
		if err == nil {
			_, err = DecodeManifestFiles(b.name, body, nil)
		}
		if !errors.Is(err, ErrManifest) {
			t.Errorf("%s: error %v, want ErrManifest", b.name, err)
		}
	}
	if _, _, err := ManifestBody("c", []byte("v1\nnot json\n"), true); !errors.Is(err, ErrManifest) {
		t.Errorf("compact without header: %v", err)
	}
}

func mustBody(t *testing.T, entry []byte) []byte {
	t.Helper()
	_, b, err := ManifestBody("x", entry, false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeManifestDataset writes a sink-like directory on fsys: committed
// batches 0 and 1 and the leftover files of a crashed batch 2.
func writeManifestDataset(t *testing.T, fsys storage.FS, dir string) {
	t.Helper()
	ctx := context.Background()
	put := func(name, data string) {
		if err := fsys.WriteFile(ctx, path.Join(dir, name), []byte(data), storage.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put("_sluice_log/version", "v1")
	put("p=1/part-0-0.json", `{"a":1}`+"\n")
	put("p=2/part-1-0.json", `{"a":2}`+"\n")
	put("p=2/part-2-0.json", `{"a":3}`+"\n") // crashed batch 2: no manifest
	put("part-2-1.json", `{"a":4}`+"\n")
	for b, f := range []string{"p=1/part-0-0.json", "p=2/part-1-0.json"} {
		e, err := EncodeManifestEntry([]ManifestFile{{Path: f, Size: 8, Rows: 1, Batch: int64(b), ModTimeMs: 5000}})
		if err != nil {
			t.Fatal(err)
		}
		put("_sluice_log/"+ManifestEntryName(int64(b)), string(e))
	}
}

func TestListCommittedFilesHidesCrashedBatch(t *testing.T) {
	ctx := context.Background()
	check := func(t *testing.T, files []FileInfo, dir string) {
		t.Helper()
		var got []string
		for _, f := range files {
			rel, _ := filepath.Rel(dir, f.Path)
			got = append(got, filepath.ToSlash(rel)+":"+f.Partition["p"])
		}
		want := []string{"p=1/part-0-0.json:1", "p=2/part-1-0.json:2"}
		if !slices.Equal(got, want) {
			t.Errorf("files = %v, want %v", got, want)
		}
	}
	t.Run("mem", func(t *testing.T) {
		m := storage.NewMem()
		writeManifestDataset(t, m, "/out")
		files, err := ListCommittedFiles(ctx, m, "/out")
		if err != nil {
			t.Fatal(err)
		}
		check(t, files, "/out")
		files, err = ListFilesFS(ctx, m, "/out")
		if err != nil {
			t.Fatal(err)
		}
		check(t, files, "/out")
		if files[0].ModTime.UnixMilli() != 5000 || files[0].Size != 8 {
			t.Errorf("manifest size/modtime not used: %+v", files[0])
		}
	})
	t.Run("local", func(t *testing.T) {
		dir := t.TempDir()
		writeManifestDataset(t, storage.Local{}, dir)
		files, err := ListFiles(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		check(t, files, dir)
		// A glob matching the directory honours the manifest too.
		files, err = ListFiles(ctx, filepath.Join(filepath.Dir(dir), filepath.Base(dir)[:3]+"*"))
		if err != nil {
			t.Fatal(err)
		}
		check(t, files, dir)
	})
	t.Run("manifest present but empty", func(t *testing.T) {
		m := storage.NewMem()
		ctx := context.Background()
		m.WriteFile(ctx, "/o/_sluice_log/version", []byte("v1"), storage.WriteOptions{})
		m.WriteFile(ctx, "/o/part-0-0.json", []byte("{}\n"), storage.WriteOptions{})
		files, err := ListCommittedFiles(ctx, m, "/o")
		if err != nil || len(files) != 0 {
			t.Errorf("a managed directory before its first commit lists %v, %v; want nothing", files, err)
		}
	})
	t.Run("no manifest", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "x.json"), []byte("{}\n"), 0o644)
		files, err := ListFiles(ctx, dir)
		if err != nil || len(files) != 1 {
			t.Errorf("plain directory: %v %v", files, err)
		}
	})
	t.Run("gap is an error", func(t *testing.T) {
		m := storage.NewMem()
		writeManifestDataset(t, m, "/out")
		e, _ := EncodeManifestEntry(nil)
		m.WriteFile(ctx, "/out/_sluice_log/3", e, storage.WriteOptions{})
		if _, err := ListCommittedFiles(ctx, m, "/out"); !errors.Is(err, ErrManifest) {
			t.Errorf("gap at batch 2: %v, want ErrManifest", err)
		}
	})
}
