package fileformat

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/sluicehq/sluice/internal/storage"
)

// ListFilesFS is ListFiles over any storage.FS (local disk, memory, object
// stores): pattern is a name in fsys (a file, a directory listed
// recursively, or a glob with path.Match segments and `**`). Hidden names
// ("_x", ".x") and in-progress writes are skipped; a directory with a
// manifest log (ManifestDir) lists only its committed files. Partition
// values come from `k=v` directories below the pattern's fixed prefix.
// The result is sorted by path; a pattern naming nothing wraps
// ErrNotFound.
func ListFilesFS(ctx context.Context, fsys storage.FS, pattern string) ([]FileInfo, error) {
	if pattern == "" {
		return nil, fmt.Errorf("%w: empty path", ErrNotFound)
	}
	p := pattern
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	var out []FileInfo
	var err error
	governed := false // p is a file, or a directory listed by its own manifest
	scopeRoot := p
	if hasGlobMeta(p) {
		out, err = listGlobFS(ctx, fsys, p)
		if err == nil && len(out) == 0 {
			err = fmt.Errorf("%w: no file matches %q", ErrNotFound, pattern)
		}
		scopeRoot = globBase(p, "/")
	} else {
		out, err = listPathFS(ctx, fsys, p, p, true, &governed)
		scopeRoot = path.Dir(p)
	}
	if err != nil {
		return nil, err
	}
	if !governed {
		scope, err := findManifestFS(ctx, fsys, scopeRoot)
		if err != nil {
			return nil, err
		}
		out = filterScope(out, scope, samePath)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// listPathFS lists one file or directory tree; base is where partition
// directories start. mustExist: a missing p is ErrNotFound (else empty).
// governed (if not nil) is set when p is a file or a directory listed
// by its own manifest.
func listPathFS(ctx context.Context, fsys storage.FS, p, base string, mustExist bool, governed *bool) ([]FileInfo, error) {
	st, err := fsys.Stat(ctx, p)
	exists := err == nil
	switch {
	case exists && !st.IsDir:
		setTrue(governed)
		return []FileInfo{fsFileInfo(base, p, st)}, nil
	case err != nil && !errors.Is(err, storage.ErrNotExist):
		return nil, fmt.Errorf("fileformat: list %s: %w", p, err)
	}
	// A directory, or on an object store perhaps a prefix.
	ents, err := fsys.List(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("fileformat: list %s: %w", p, err)
	}
	if len(ents) == 0 && !exists && mustExist {
		return nil, fmt.Errorf("%w: %s does not exist", ErrNotFound, p)
	}
	if hasManifestEntry(ents) {
		m, err := ReadManifest(ctx, fsys, p)
		if err != nil {
			return nil, err
		}
		if m.Present {
			setTrue(governed)
			return manifestFileInfos(p, m.Files, path.Join, func(_, file string) (map[string]string, []string) {
				return slashPartitionOf(base, file)
			}), nil
		}
	}
	var out []FileInfo
	if err := walkFS(ctx, fsys, p, ents, base, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// walkFS appends the visible files under dir (whose entries are ents).
func walkFS(ctx context.Context, fsys storage.FS, dir string, ents []storage.FileInfo, base string, out *[]FileInfo) error {
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		if hiddenName(e.Name) || storage.IsTemp(e.Name) {
			continue
		}
		q := path.Join(dir, e.Name)
		if !e.IsDir {
			*out = append(*out, fsFileInfo(base, q, e))
			continue
		}
		sub, err := fsys.List(ctx, q)
		if err != nil {
			return fmt.Errorf("fileformat: list %s: %w", q, err)
		}
		if hasManifestEntry(sub) {
			files, err := listPathFS(ctx, fsys, q, base, false, nil)
			if err != nil {
				return err
			}
			*out = append(*out, files...)
			continue
		}
		if err := walkFS(ctx, fsys, q, sub, base, out); err != nil {
			return err
		}
	}
	return nil
}

func hasManifestEntry(ents []storage.FileInfo) bool {
	for _, e := range ents {
		if e.Name == ManifestDir {
			return true
		}
	}
	return false
}

// listGlobFS expands a glob: from the fixed prefix, directories are listed
// level by level and matched segment by segment.
func listGlobFS(ctx context.Context, fsys storage.FS, p string) ([]FileInfo, error) {
	segs := strings.Split(p, "/")
	fixed := 0
	for fixed < len(segs) && !hasGlobMeta(segs[fixed]) {
		fixed++
	}
	base := strings.Join(segs[:fixed], "/")
	if base == "" {
		base = "/"
	}
	pat := segs[fixed:]
	for _, s := range pat {
		if _, err := path.Match(s, ""); err != nil && s != "**" {
			return nil, fmt.Errorf("%w: bad glob %q: %v", ErrOption, p, err)
		}
	}
	var out []FileInfo
	seen := map[string]bool{}
	var sinkDirs []string // sink directories the walk passed through
	var walk func(dir string, parts []string) error
	walk = func(dir string, parts []string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		ents, err := fsys.List(ctx, dir)
		if err != nil {
			return fmt.Errorf("fileformat: list %s: %w", dir, err)
		}
		if dir != base && hasManifestEntry(ents) {
			sinkDirs = append(sinkDirs, dir)
		}
		for _, e := range ents {
			if storage.IsTemp(e.Name) {
				continue
			}
			rel := append(parts[:len(parts):len(parts)], e.Name)
			if hiddenName(e.Name) && !literalHidden(pat, len(rel)-1, e.Name) {
				continue
			}
			q := path.Join(dir, e.Name)
			full, prefix := globMatch(pat, rel)
			switch {
			case full && e.IsDir:
				files, err := listPathFS(ctx, fsys, q, base, false, nil)
				if err != nil {
					return err
				}
				for _, f := range files {
					if !seen[f.Path] {
						seen[f.Path] = true
						out = append(out, f)
					}
				}
			case full:
				if !seen[q] {
					seen[q] = true
					out = append(out, fsFileInfo(base, q, e))
				}
			case e.IsDir && prefix:
				if err := walk(q, rel); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(base, nil); err != nil {
		return nil, err
	}
	for _, d := range sinkDirs {
		scope, err := manifestScopeFS(ctx, fsys, d)
		if err != nil {
			return nil, err
		}
		out = filterScope(out, scope, samePath)
	}
	return out, nil
}

func fsFileInfo(base, name string, st storage.FileInfo) FileInfo {
	fi := FileInfo{Path: name, Size: st.Size, ModTime: st.ModTime}
	fi.Partition, fi.PartitionKeys = slashPartitionOf(base, name)
	return fi
}

// slashPartitionOf parses `k=v` directories between base and the file,
// on slash-separated names.
func slashPartitionOf(base, file string) (map[string]string, []string) {
	dir := path.Dir(file)
	rel := ""
	switch {
	case dir == base:
		return nil, nil
	case base == "/" && strings.HasPrefix(dir, "/"):
		rel = dir[1:]
	case strings.HasPrefix(dir, base+"/"):
		rel = dir[len(base)+1:]
	default:
		return nil, nil
	}
	var m map[string]string
	var keys []string
	for _, seg := range strings.Split(rel, "/") {
		k, v, ok := strings.Cut(seg, "=")
		if !ok || k == "" {
			continue
		}
		if m == nil {
			m = map[string]string{}
		}
		k = unescapePathName(k)
		if _, dup := m[k]; !dup {
			keys = append(keys, k)
		}
		m[k] = unescapePathName(v)
	}
	return m, keys
}

// EscapePartitionValue escapes a partition value (or column name) for a
// Hive directory name as Spark does; "" should be written as
// HiveDefaultPartition by the caller.
func EscapePartitionValue(s string) string { return escapePathName(s) }

func setTrue(b *bool) {
	if b != nil {
		*b = true
	}
}

// globBase is the fixed directory prefix of a glob (before the first
// segment with a meta character).
func globBase(p, sep string) string {
	segs := strings.Split(p, sep)
	fixed := 0
	for fixed < len(segs) && !hasGlobMeta(segs[fixed]) {
		fixed++
	}
	base := strings.Join(segs[:fixed], sep)
	if base == "" {
		if strings.HasPrefix(p, sep) {
			return sep
		}
		return "."
	}
	return base
}
