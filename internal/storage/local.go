package storage

import (
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Local is the local disk. Names are OS paths.
//
// Every write goes to a temp file in the target directory (named with
// tempPrefix, so List hides it), is fsynced, then renamed into place and
// the directory fsynced. Create-if-absent publishes with renameat2
// RENAME_NOREPLACE, or link(2) + unlink where the file system lacks it:
// both fail with EEXIST if the name exists, atomically. A crash can leave a
// temp file behind, never a partial file under its real name.
type Local struct{}

var _ FS = Local{}
var _ Locker = Local{}

// tempPrefix starts the names of in-progress writes on Local.
const tempPrefix = ".sluice-tmp-"

// IsTemp reports whether a base name is an in-progress (or abandoned) write
// of Local.
func IsTemp(base string) bool { return strings.HasPrefix(base, tempPrefix) }

func (Local) ReadFile(ctx context.Context, name string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, localErr("read", name, err)
	}
	return b, nil
}

func (l Local) WriteFile(ctx context.Context, name string, data []byte, opts WriteOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, tmp, err := createTemp(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return localErr("write", name, err)
	}
	return publish(f, tmp, name, opts.CreateIfAbsent)
}

func (Local) Create(ctx context.Context, name string, opts WriteOptions) (Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, tmp, err := createTemp(name)
	if err != nil {
		return nil, err
	}
	return &localWriter{f: f, bw: bufio.NewWriterSize(f, 256<<10), tmp: tmp, name: name, noReplace: opts.CreateIfAbsent}, nil
}

func (Local) Open(ctx context.Context, name string) (File, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, localErr("open", name, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, localErr("open", name, err)
	}
	if st.IsDir() {
		f.Close()
		return nil, newPathError("open", name, errors.New("is a directory"))
	}
	return localFile{File: f, size: st.Size()}, nil
}

func (Local) List(ctx context.Context, dir string) ([]FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, localErr("list", dir, err)
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, localErr("list", dir, err)
	}
	out := make([]FileInfo, 0, len(ents))
	for _, e := range ents {
		if IsTemp(e.Name()) {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since ReadDir
		}
		if err != nil {
			return nil, localErr("list", dir, err)
		}
		out = append(out, fileInfo(info))
	}
	return out, nil
}

func (Local) Stat(ctx context.Context, name string) (FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return FileInfo{}, err
	}
	info, err := os.Stat(name)
	if err != nil {
		return FileInfo{}, localErr("stat", name, err)
	}
	return fileInfo(info), nil
}

func (Local) Remove(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return localErr("remove", name, err)
	}
	return nil
}

func (Local) RemoveAll(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.RemoveAll(name); err != nil {
		return localErr("remove", name, err)
	}
	return nil
}

func (Local) MkdirAll(ctx context.Context, dir string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return mkdirAllDurable(dir)
}

// Lock takes flock(2) on name (created if missing). The descriptor is
// close-on-exec, so child processes do not inherit the lock, and the
// kernel releases it when this process dies.
func (Local) Lock(ctx context.Context, name string) (io.Closer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := mkdirAllDurable(filepath.Dir(name)); err != nil {
		return nil, err
	}
	return lockFile(name)
}

type localFile struct {
	*os.File
	size int64
}

func (f localFile) Size() int64 { return f.size }

type localWriter struct {
	f         *os.File
	bw        *bufio.Writer
	tmp, name string
	noReplace bool
	done      bool
	err       error
}

func (w *localWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, newPathError("write", w.name, ErrClosed)
	}
	n, err := w.bw.Write(p)
	if err != nil {
		return n, localErr("write", w.name, err)
	}
	return n, nil
}

func (w *localWriter) Close() error {
	if w.done {
		return w.err
	}
	w.done = true
	if err := w.bw.Flush(); err != nil {
		w.f.Close()
		os.Remove(w.tmp)
		w.err = localErr("write", w.name, err)
		return w.err
	}
	w.err = publish(w.f, w.tmp, w.name, w.noReplace)
	return w.err
}

func (w *localWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.err = newPathError("write", w.name, errors.New("aborted"))
	w.f.Close()
	if err := os.Remove(w.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return localErr("abort", w.name, err)
	}
	return nil
}

// createTemp opens a new temp file beside name, creating missing parent
// directories durably.
func createTemp(name string) (*os.File, string, error) {
	dir, base := filepath.Split(name)
	if base == "" {
		return nil, "", newPathError("write", name, errors.New("name ends in a separator"))
	}
	if dir == "" {
		dir = "."
	}
	if len(base) > 64 {
		base = base[:64]
	}
	for attempt := 0; ; attempt++ {
		tmp := filepath.Join(dir, tempPrefix+base+"-"+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			return f, tmp, nil
		}
		switch {
		case errors.Is(err, fs.ErrExist) && attempt < 10:
			continue
		case errors.Is(err, fs.ErrNotExist) && attempt == 0:
			if err := mkdirAllDurable(dir); err != nil {
				return nil, "", err
			}
			continue
		}
		return nil, "", localErr("write", name, err)
	}
}

// publish fsyncs and closes the temp file f, moves it to name and fsyncs
// the directory. On error the temp file is gone.
func publish(f *os.File, tmp, name string, noReplace bool) error {
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return localErr("sync", name, err)
	}
	if noReplace {
		err = renameNoReplace(tmp, name)
	} else {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return localErr("write", name, err)
	}
	if err := syncDir(filepath.Dir(name)); err != nil {
		return localErr("sync", name, err)
	}
	return nil
}

// linkNoReplace publishes tmp as name with link(2), which fails with
// EEXIST when name exists, then drops the temp name.
func linkNoReplace(tmp, name string) error {
	if err := os.Link(tmp, name); err != nil {
		return err
	}
	return os.Remove(tmp)
}

// mkdirAllDurable creates dir and missing parents, fsyncing each parent
// after creating a child in it, so the new directories survive a crash.
func mkdirAllDurable(dir string) error {
	info, err := os.Stat(dir)
	if err == nil {
		if !info.IsDir() {
			return newPathError("mkdir", dir, errors.New("not a directory"))
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return localErr("mkdir", dir, err)
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllDurable(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o777); err != nil && !errors.Is(err, fs.ErrExist) {
		return localErr("mkdir", dir, err)
	}
	if err := syncDir(parent); err != nil {
		return localErr("sync", parent, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// localErr turns an os error into a PathError whose Err is our sentinel
// when it is one of them.
func localErr(op, name string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return newPathError(op, name, ErrNotExist)
	case errors.Is(err, fs.ErrExist):
		return newPathError(op, name, ErrExist)
	}
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return newPathError(op, name, err)
}

func fileInfo(info fs.FileInfo) FileInfo {
	return FileInfo{Name: info.Name(), Size: info.Size(), ModTime: info.ModTime(), IsDir: info.IsDir()}
}
