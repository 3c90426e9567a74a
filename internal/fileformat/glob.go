package fileformat

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ErrNotFound: a path or glob names no file.
var ErrNotFound = errors.New("fileformat: path not found")

// FileInfo is one data file of a dataset.
type FileInfo struct {
	Path    string
	Size    int64
	ModTime time.Time
	// Partition holds the Hive partition values (`k=v` directories between
	// the listed root and the file), unescaped; nil when there are none.
	Partition map[string]string
	// PartitionKeys are the keys of Partition in directory order (outermost
	// first), which is the order of the partition columns.
	PartitionKeys []string
}

// ListFiles lists the data files named by pattern: a file, a directory
// (recursively), or a glob whose segments use path.Match syntax, plus `**`
// for any number of directories. Like Spark, names starting with "_" or
// "." are skipped (files and directories) while walking, and a directory
// matched by a glob is listed recursively. Hive partition values are taken
// from `k=v` directories below the pattern's fixed prefix. A directory
// named by the pattern (or matched by a glob) that holds a file sink's
// manifest log (ManifestDir) lists exactly the files the manifest names,
// so a crashed half-batch is never read. The result is sorted by path; a
// pattern that names nothing is an error wrapping ErrNotFound.
//
// A remote location (s3://bucket/prefix?params, mem://name/dir) is listed
// through internal/storage, with the same rules; its files are named by
// URLs that Format.Open and Infer read (see location.go), with secrets
// redacted. In an s3:// location a '?' starts the query, so it cannot be
// a glob character there.
func ListFiles(ctx context.Context, pattern string) ([]FileInfo, error) {
	if IsRemote(pattern) {
		return listRemote(ctx, pattern)
	}
	p := strings.TrimPrefix(pattern, "file://")
	if p == "" {
		return nil, fmt.Errorf("%w: empty path", ErrNotFound)
	}
	p = filepath.Clean(p)
	var out []FileInfo
	var err error
	governed := false // p is a file, or a directory listed by its own manifest
	var scopeRoot string
	if hasGlobMeta(p) {
		out, err = listGlob(ctx, p)
		scopeRoot = filepath.FromSlash(globBase(filepath.ToSlash(p), "/"))
	} else {
		out, err = listPath(ctx, p, p, &governed)
		scopeRoot = filepath.Dir(p)
	}
	if err != nil {
		return nil, err
	}
	if !governed {
		scope, err := findManifestLocal(ctx, scopeRoot)
		if err != nil {
			return nil, err
		}
		out = filterScope(out, scope, absPath)
	}
	if len(out) == 0 && hasGlobMeta(p) {
		return nil, fmt.Errorf("%w: no file matches %q", ErrNotFound, pattern)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func hasGlobMeta(p string) bool { return strings.ContainsAny(p, "*?[") }

// hiddenName reports names Spark skips when listing: _SUCCESS, _temporary,
// _sluice_log, .crc files, dot directories.
func hiddenName(name string) bool {
	return strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".")
}

// listPath lists one file or one directory tree; base is the root against
// which partition directories are parsed.
// governed (if not nil) is set when p is a file or a directory listed by
// its own manifest.
func listPath(ctx context.Context, p, base string, governed *bool) ([]FileInfo, error) {
	st, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist", ErrNotFound, p)
		}
		return nil, fmt.Errorf("fileformat: list %s: %w", p, err)
	}
	if !st.IsDir() {
		setTrue(governed)
		return []FileInfo{fileInfo(base, p, st)}, nil
	}
	// A file sink's output: only the files its manifest log names.
	if files, ok, err := listManifestLocal(ctx, p, base); ok || err != nil {
		setTrue(governed)
		return files, err
	}
	var out []FileInfo
	err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("fileformat: list %s: %w", q, err)
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if q != p && hiddenName(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("fileformat: list %s: %w", q, err)
		}
		if !info.Mode().IsRegular() {
			// Follow symlinks to regular files.
			st, err := os.Stat(q)
			if err != nil || !st.Mode().IsRegular() {
				return nil
			}
			info = st
		}
		out = append(out, fileInfo(base, q, info))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// listGlob expands a glob: the fixed directory prefix is walked and each
// entry's relative path is matched segment by segment.
func listGlob(ctx context.Context, p string) ([]FileInfo, error) {
	segs := strings.Split(filepath.ToSlash(p), "/")
	fixed := 0
	for fixed < len(segs) && !hasGlobMeta(segs[fixed]) {
		fixed++
	}
	base := strings.Join(segs[:fixed], "/")
	if base == "" {
		if strings.HasPrefix(p, "/") {
			base = "/"
		} else {
			base = "."
		}
	}
	base = filepath.FromSlash(base)
	pat := segs[fixed:]
	for _, s := range pat {
		if _, err := path.Match(s, ""); err != nil && s != "**" {
			return nil, fmt.Errorf("%w: bad glob %q: %v", ErrOption, p, err)
		}
	}
	if _, err := os.Stat(base); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist (glob %q)", ErrNotFound, base, p)
		}
		return nil, fmt.Errorf("fileformat: list %s: %w", base, err)
	}
	var out []FileInfo
	seen := map[string]bool{}
	var sinkDirs []string // sink directories the walk passed through
	err := filepath.WalkDir(base, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("fileformat: list %s: %w", q, err)
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if q == base {
			return nil
		}
		if d.IsDir() && d.Name() == ManifestDir && filepath.Dir(q) != base {
			sinkDirs = append(sinkDirs, filepath.Dir(q))
		}
		rel, _ := filepath.Rel(base, q)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		// Hidden names are skipped unless the pattern names them literally.
		last := parts[len(parts)-1]
		if hiddenName(last) && !literalHidden(pat, len(parts)-1, last) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		full, prefix := globMatch(pat, parts)
		if full {
			if d.IsDir() {
				fs, err := listPath(ctx, q, base, nil)
				if err != nil {
					return err
				}
				for _, f := range fs {
					if !seen[f.Path] {
						seen[f.Path] = true
						out = append(out, f)
					}
				}
				return filepath.SkipDir
			}
			if !seen[q] {
				info, err := os.Stat(q)
				if err != nil {
					return nil
				}
				if info.Mode().IsRegular() {
					seen[q] = true
					out = append(out, fileInfo(base, q, info))
				}
			}
			return nil
		}
		if d.IsDir() && !prefix {
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, d := range sinkDirs {
		scope, err := manifestScopeLocal(ctx, absPath(d))
		if err != nil {
			return nil, err
		}
		out = filterScope(out, scope, absPath)
	}
	return out, nil
}

func literalHidden(pat []string, i int, name string) bool {
	return i < len(pat) && pat[i] == name
}

// globMatch matches path segments against pattern segments ("**" matches
// zero or more segments). full: the whole path matches; prefix: some
// longer path below could still match.
func globMatch(pat, parts []string) (full, prefix bool) {
	if len(pat) == 0 {
		return len(parts) == 0, false
	}
	if pat[0] == "**" {
		// ** matches any number of segments, so anything may still match.
		for k := 0; k <= len(parts); k++ {
			if f, _ := globMatch(pat[1:], parts[k:]); f {
				return true, true
			}
		}
		return false, true
	}
	if len(parts) == 0 {
		return false, true
	}
	ok, _ := path.Match(pat[0], parts[0])
	if !ok {
		return false, false
	}
	return globMatch(pat[1:], parts[1:])
}

func fileInfo(base, p string, st fs.FileInfo) FileInfo {
	fi := FileInfo{Path: p, Size: st.Size(), ModTime: st.ModTime()}
	fi.Partition, fi.PartitionKeys = partitionOf(base, p)
	return fi
}

// partitionOf parses `k=v` directories between base and the file.
func partitionOf(base, file string) (map[string]string, []string) {
	rel, err := filepath.Rel(base, filepath.Dir(file))
	if err != nil || rel == "." {
		return nil, nil
	}
	var m map[string]string
	var keys []string
	for _, seg := range strings.Split(filepath.ToSlash(rel), "/") {
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
