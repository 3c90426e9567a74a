package fileformat

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/storage"
)

// A partition directory of a sink's output, or a glob into it, lists only
// committed files: the manifest of the sink directory above still rules.
// A file named explicitly is listed as asked; a plain directory beside
// the sink's is unaffected.
func TestManifestGovernsSubdirectoriesAndGlobs(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		rel  string // below the parent of the sink directory "out"
		want []string
	}{
		{"out/p=2", []string{"out/p=2/part-1-0.json"}},
		{"out/p=2/", []string{"out/p=2/part-1-0.json"}},
		{"out/*/*.json", []string{"out/p=1/part-0-0.json", "out/p=2/part-1-0.json"}},
		{"out/p=*", []string{"out/p=1/part-0-0.json", "out/p=2/part-1-0.json"}},
		{"out/**/*.json", []string{"out/p=1/part-0-0.json", "out/p=2/part-1-0.json"}},
		{"*/p=2/*.json", []string{"out/p=2/part-1-0.json", "plain/p=2/x.json"}},
		{"out/p=2/part-2-0.json", []string{"out/p=2/part-2-0.json"}}, // named: read as asked
		{"plain", []string{"plain/p=2/x.json"}},
	}
	run := func(t *testing.T, list func(string) ([]FileInfo, error), root string, rel func(string) string) {
		for _, tt := range tests {
			files, err := list(tt.rel)
			if err != nil {
				t.Errorf("%s: %v", tt.rel, err)
				continue
			}
			var got []string
			for _, f := range files {
				got = append(got, rel(f.Path))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s lists %v, want %v", tt.rel, got, tt.want)
			}
		}
	}
	t.Run("mem", func(t *testing.T) {
		m := storage.NewMem()
		writeManifestDataset(t, m, "/d/out")
		m.WriteFile(ctx, "/d/plain/p=2/x.json", []byte("{}\n"), storage.WriteOptions{})
		run(t, func(p string) ([]FileInfo, error) { return ListFilesFS(ctx, m, "/d/"+p) }, "/d",
			func(p string) string { return strings.TrimPrefix(p, "/d/") })
	})
	t.Run("local", func(t *testing.T) {
		dir := t.TempDir()
		writeManifestDataset(t, storage.Local{}, filepath.Join(dir, "out"))
		os.MkdirAll(filepath.Join(dir, "plain", "p=2"), 0o755)
		os.WriteFile(filepath.Join(dir, "plain", "p=2", "x.json"), []byte("{}\n"), 0o644)
		run(t, func(p string) ([]FileInfo, error) { return ListFiles(ctx, filepath.Join(dir, p)) }, dir,
			func(p string) string { r, _ := filepath.Rel(dir, p); return filepath.ToSlash(r) })
		// Relative paths too.
		wd, _ := os.Getwd()
		if err := os.Chdir(filepath.Join(dir, "out")); err != nil {
			t.Fatal(err)
		}
		defer os.Chdir(wd)
		files, err := ListFiles(ctx, "p=2")
		if err != nil || len(files) != 1 || files[0].Path != filepath.Join("p=2", "part-1-0.json") {
			t.Errorf("relative p=2: %v, %v", files, err)
		}
		files, err = ListFiles(ctx, ".")
		if err != nil || len(files) != 2 {
			t.Errorf("relative .: %v, %v", files, err)
		}
	})
}
