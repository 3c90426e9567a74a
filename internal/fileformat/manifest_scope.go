package fileformat

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/sluicehq/sluice/internal/storage"
)

// A manifest governs its whole directory tree, not only a listing of the
// directory itself: reading a partition directory of a file sink's output
// (out/d=mon) or a glob into it (out/*/*.parquet) must not show a crashed
// half-batch either. (Spark honours _spark_metadata only when the path is
// the sink's directory itself.) So after a directory walk or a glob, the
// nearest directory at or above where the walk started that holds a
// manifest log drops every file below it that the manifest does not name.
// A file named explicitly is read as asked.

// manifestScope is the manifest of the nearest sink directory at or above
// a listing's root. Local names are kept absolute.
type manifestScope struct {
	dir   string          // the sink directory
	sep   string          // "/" or the OS separator
	files map[string]bool // committed files, full names
}

// hides reports whether name (absolute for local paths) is below the
// sink directory and not named by its manifest.
func (s *manifestScope) hides(name string) bool {
	prefix := strings.TrimSuffix(s.dir, s.sep) + s.sep
	return strings.HasPrefix(name, prefix) && !s.files[name]
}

// findManifestFS looks for a manifest log in dir and its ancestors on
// fsys (one List per level on an object store).
func findManifestFS(ctx context.Context, fsys storage.FS, dir string) (*manifestScope, error) {
	for d := dir; ; d = path.Dir(d) {
		s, err := manifestScopeFS(ctx, fsys, d)
		if s != nil || err != nil {
			return s, err
		}
		if path.Dir(d) == d {
			return nil, nil
		}
	}
}

// manifestScopeFS is the scope of sink directory d, nil if d has no
// manifest log.
func manifestScopeFS(ctx context.Context, fsys storage.FS, d string) (*manifestScope, error) {
	m, err := ReadManifest(ctx, fsys, d)
	if err != nil || !m.Present {
		return nil, err
	}
	s := &manifestScope{dir: d, sep: "/", files: make(map[string]bool, len(m.Files))}
	for _, f := range m.Files {
		s.files[path.Join(d, f.Path)] = true
	}
	return s, nil
}

// findManifestLocal is findManifestFS on the local disk.
func findManifestLocal(ctx context.Context, dir string) (*manifestScope, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil
	}
	for d := abs; ; d = filepath.Dir(d) {
		if st, err := os.Stat(filepath.Join(d, ManifestDir)); err == nil && st.IsDir() {
			s, err := manifestScopeLocal(ctx, d)
			if s != nil || err != nil {
				return s, err
			}
		}
		if filepath.Dir(d) == d {
			return nil, nil
		}
	}
}

// manifestScopeLocal is the scope of local sink directory d (absolute),
// nil if d has no manifest log.
func manifestScopeLocal(ctx context.Context, d string) (*manifestScope, error) {
	m, err := ReadManifest(ctx, storage.Local{}, d)
	if err != nil || !m.Present {
		return nil, err
	}
	s := &manifestScope{dir: d, sep: string(filepath.Separator), files: make(map[string]bool, len(m.Files))}
	for _, f := range m.Files {
		s.files[filepath.Join(d, filepath.FromSlash(f.Path))] = true
	}
	return s, nil
}

// filterScope drops the files s hides; abs maps a listed name to the
// form of s's names.
func filterScope(files []FileInfo, s *manifestScope, abs func(string) string) []FileInfo {
	if s == nil {
		return files
	}
	out := files[:0]
	for _, f := range files {
		if !s.hides(abs(f.Path)) {
			out = append(out, f)
		}
	}
	return out
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func samePath(p string) string { return p }
