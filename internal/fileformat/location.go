package fileformat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/internal/storage"
)

// Batch reads of files that are not on the local disk (s3://, mem://).
//
// ListFiles of such a location lists it through internal/storage (with
// the manifest honoured, as on local disk) and names every file by a URL:
// the location's scheme and host, the file's key, and the location's
// query with its secrets redacted (storage.RedactLocation), as in
//
//	s3://bucket/out/part-00000-....parquet?endpoint=http://127.0.0.1:7070&accessKeyId=AK&secretAccessKey=REDACTED
//
// so that a file name can be printed, planned and logged without leaking a
// secret. The file system itself is remembered under the redacted
// location, and Format.Open / Infer of such a URL reads through it. A
// location whose credentials come from the AWS chain (no secret in the
// query) also opens in a process that never listed it.

// remoteFSs maps the redacted scheme://host?query of a listed location to
// its file system (which holds the secrets).
var remoteFSs = struct {
	sync.Mutex
	m map[string]storage.FS
}{m: map[string]storage.FS{}}

// IsRemote reports whether p names a file through internal/storage rather
// than the local disk: a URL with a scheme other than file://.
func IsRemote(p string) bool {
	scheme, _, ok := strings.Cut(p, "://")
	return ok && scheme != "" && !strings.EqualFold(scheme, "file") && !strings.ContainsAny(scheme, "/\\")
}

// splitLocation cuts scheme://host/key?query into "scheme://host", the
// key as a cleaned, unescaped slash name ("/key", "/" for none) and the
// raw query.
func splitLocation(loc string) (base, key, query string) {
	scheme, rest, _ := strings.Cut(loc, "://")
	rest, query, _ = strings.Cut(rest, "?")
	host, key, _ := strings.Cut(rest, "/")
	if k, err := url.PathUnescape(key); err == nil {
		key = k
	}
	return scheme + "://" + host, path.Clean("/" + key), query
}

// remoteKey is the registry key of a location: its redacted base and query.
func remoteKey(base, query string) string {
	if query == "" {
		return base
	}
	return storage.RedactLocation(base + "/?" + query)
}

// fileURL names file key of the location base?query, with the query's
// secrets redacted.
// The key is escaped as a URL path, so names holding '?', '%' or '#'
// survive.
func fileURL(base, key, query string) string {
	u := base + (&url.URL{Path: key}).EscapedPath()
	if query == "" {
		return u
	}
	_, red, _ := strings.Cut(storage.RedactLocation(base+"/?"+query), "?")
	return u + "?" + red
}

// DisplayName is how messages name a file: a remote file's URL without
// its query (which holds endpoints and credential ids), a local path
// as is.
func DisplayName(p string) string {
	if !IsRemote(p) {
		return p
	}
	base, key, _ := splitLocation(p)
	return base + key
}

// listRemote is ListFiles for a remote location.
func listRemote(ctx context.Context, pattern string) ([]FileInfo, error) {
	fsys, root, err := storage.Open(pattern)
	if err != nil {
		return nil, err // storage redacts the location
	}
	base, _, query := splitLocation(pattern)
	files, err := ListFilesFS(ctx, fsys, root)
	if err != nil {
		return nil, fmt.Errorf("%s%s: %w", base, root, err)
	}
	remoteFSs.Lock()
	remoteFSs.m[remoteKey(base, query)] = fsys
	remoteFSs.Unlock()
	// files are sorted by key (ListFilesFS); the URLs keep that order.
	for i := range files {
		files[i].Path = fileURL(base, files[i].Path, query)
	}
	return files, nil
}

// errSecretUnknown: a file URL whose secret was redacted, in a process
// that did not list its location.
var errSecretUnknown = errors.New("its credentials were redacted and this process has not listed the location; list it first (Read().Load of the directory), or give credentials through the environment or a profile instead of the URL")

// openRemote opens a remote file named by a URL from ListFiles (or any
// storage location naming one file). name is the file's DisplayName.
func openRemote(ctx context.Context, p string) (f storage.File, name string, err error) {
	base, key, query := splitLocation(p)
	name = base + key
	remoteFSs.Lock()
	fsys := remoteFSs.m[remoteKey(base, query)]
	remoteFSs.Unlock()
	if fsys == nil {
		if storage.RedactLocation(p) == p && hasSecretParam(query) {
			return nil, name, fmt.Errorf("fileformat: open %s: %w", name, errSecretUnknown)
		}
		var root string
		if fsys, root, err = storage.Open(p); err != nil {
			return nil, name, fmt.Errorf("fileformat: open %s: %w", name, err)
		}
		key = root
	}
	f, err = fsys.Open(ctx, key)
	if err != nil {
		if errors.Is(err, storage.ErrNotExist) {
			err = errors.Join(ErrNotFound, err)
		}
		return nil, name, fmt.Errorf("fileformat: open %s: %w", name, err)
	}
	return f, name, nil
}

func hasSecretParam(query string) bool {
	for _, kv := range strings.Split(query, "&") {
		k, _, _ := strings.Cut(kv, "=")
		if strings.EqualFold(k, "secretAccessKey") || strings.EqualFold(k, "sessionToken") {
			return true
		}
	}
	return false
}

// openInput opens a file for a sequential (text) reader: a local path, a
// file:// URL or a remote URL. name is how messages name it, and what
// picks the decompression.
func openInput(ctx context.Context, p string) (io.ReadCloser, string, error) {
	if IsRemote(p) {
		f, name, err := openRemote(ctx, p)
		if err != nil {
			return nil, name, err
		}
		return f, name, nil
	}
	f, err := openLocal(p)
	if err != nil {
		return nil, p, err
	}
	return f, p, nil
}

// openRandom opens a file for random access (Parquet).
func openRandom(ctx context.Context, p string) (io.ReaderAt, int64, io.Closer, string, error) {
	if IsRemote(p) {
		f, name, err := openRemote(ctx, p)
		if err != nil {
			return nil, 0, nil, name, err
		}
		return f, f.Size(), f, name, nil
	}
	f, err := os.Open(strings.TrimPrefix(p, "file://"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, 0, nil, p, fmt.Errorf("parquet: open %s: %w", p, errors.Join(ErrNotFound, err))
		}
		return nil, 0, nil, p, fmt.Errorf("parquet: open %s: %w", p, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, nil, p, fmt.Errorf("parquet: stat %s: %w", p, err)
	}
	return f, st.Size(), f, p, nil
}
