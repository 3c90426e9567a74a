package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrCrashed fails writers and locks that were open when Mem.Crash ran.
var ErrCrashed = errors.New("storage: lost in a simulated crash")

// Mem is an in-memory FS for tests that can simulate a crash.
//
// Durability model: WriteFile is durable when it returns (it has fsync
// semantics); a streamed file is durable only once its Writer's Close
// returned nil; removals are immediate. Crash drops everything not durable:
// every Writer still open fails from then on and never publishes, and
// every lock is released (the crashed process is gone). A test simulates
// "the process died after the Nth write" by injecting a fault with
// SetHooks(FailNth(...)), letting the code under test stop on the error,
// calling Crash, and starting again on the same Mem.
//
// List returns entries in random order on purpose, so code that relies on
// listing order fails in tests. Names are slash paths; "a/b" and "/a/b"
// are the same file.
type Mem struct {
	mu    sync.Mutex
	nodes map[string]*memNode            // cleaned path -> file or directory
	kids  map[string]map[string]struct{} // directory -> base names
	locks map[string]*memLock
	hooks Hooks
	now   func() time.Time
	epoch atomic.Uint64
}

type memNode struct {
	dir  bool
	data []byte // never modified once stored
	mod  time.Time
}

var _ FS = (*Mem)(nil)
var _ Locker = (*Mem)(nil)

// NewMem returns an empty in-memory FS.
func NewMem() *Mem {
	m := &Mem{
		nodes: map[string]*memNode{"/": {dir: true}},
		kids:  map[string]map[string]struct{}{"/": {}},
		locks: map[string]*memLock{},
		now:   time.Now,
	}
	return m
}

var (
	memRegistryMu sync.Mutex
	memRegistry   = map[string]*Mem{}
)

// NamedMem returns the process-wide Mem called name, creating it on first
// use. Open("mem://name/...") uses it, so a test can reach the FS the code
// under test opened by URL (to crash it or inject faults). Tests should use
// unique names (t.Name()).
func NamedMem(name string) *Mem {
	memRegistryMu.Lock()
	defer memRegistryMu.Unlock()
	m, ok := memRegistry[name]
	if !ok {
		m = NewMem()
		memRegistry[name] = m
	}
	return m
}

// SetHooks installs fault-injection or logging hooks (replacing earlier
// ones).
func (m *Mem) SetHooks(h Hooks) {
	m.mu.Lock()
	m.hooks = h
	m.mu.Unlock()
}

// SetClock sets the clock of modification times (default time.Now).
func (m *Mem) SetClock(now func() time.Time) {
	m.mu.Lock()
	m.now = now
	m.mu.Unlock()
}

// Crash simulates the death of every process using m: open writers are
// lost and fail with ErrCrashed, locks are released. Completed writes stay.
func (m *Mem) Crash() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.epoch.Add(1)
	m.locks = map[string]*memLock{}
}

func (m *Mem) getHooks() Hooks {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hooks
}

func memClean(name string) string { return path.Clean("/" + name) }

func (m *Mem) ReadFile(ctx context.Context, name string) ([]byte, error) {
	h := m.getHooks()
	if err := h.before(OpReadFile, name); err != nil {
		return nil, err
	}
	b, err := m.readFile(ctx, name)
	return b, h.after(OpReadFile, name, err)
}

func (m *Mem) readFile(ctx context.Context, name string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.fileLocked("read", name)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(n.data), nil
}

func (m *Mem) WriteFile(ctx context.Context, name string, data []byte, opts WriteOptions) error {
	h := m.getHooks()
	if err := h.before(OpWriteFile, name); err != nil {
		return err
	}
	err := ctx.Err()
	if err == nil {
		m.mu.Lock()
		err = m.putLocked(name, bytes.Clone(data), opts.CreateIfAbsent)
		m.mu.Unlock()
	}
	return h.after(OpWriteFile, name, err)
}

func (m *Mem) Create(ctx context.Context, name string, opts WriteOptions) (Writer, error) {
	h := m.getHooks()
	if err := h.before(OpCreate, name); err != nil {
		return nil, err
	}
	err := ctx.Err()
	if err == nil && strings.HasSuffix(name, "/") {
		err = newPathError("create", name, errors.New("name ends in a slash"))
	}
	if err = h.after(OpCreate, name, err); err != nil {
		return nil, err
	}
	return &memWriter{m: m, name: name, noReplace: opts.CreateIfAbsent, epoch: m.epoch.Load(), h: h}, nil
}

func (m *Mem) Open(ctx context.Context, name string) (File, error) {
	h := m.getHooks()
	if err := h.before(OpOpen, name); err != nil {
		return nil, err
	}
	b, err := func() ([]byte, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		n, err := m.fileLocked("open", name)
		if err != nil {
			return nil, err
		}
		return n.data, nil
	}()
	if err = h.after(OpOpen, name, err); err != nil {
		return nil, err
	}
	return memFile{bytes.NewReader(b)}, nil
}

func (m *Mem) List(ctx context.Context, dir string) ([]FileInfo, error) {
	h := m.getHooks()
	if err := h.before(OpList, dir); err != nil {
		return nil, err
	}
	l, err := m.list(ctx, dir)
	return l, h.after(OpList, dir, err)
}

func (m *Mem) list(ctx context.Context, dir string) ([]FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := memClean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nodes[p]
	if !ok {
		return nil, nil
	}
	if !n.dir {
		return nil, newPathError("list", dir, errors.New("not a directory"))
	}
	out := make([]FileInfo, 0, len(m.kids[p]))
	for base := range m.kids[p] { // map order: random on purpose
		out = append(out, m.nodes[path.Join(p, base)].info(base))
	}
	return out, nil
}

func (m *Mem) Stat(ctx context.Context, name string) (FileInfo, error) {
	h := m.getHooks()
	if err := h.before(OpStat, name); err != nil {
		return FileInfo{}, err
	}
	fi, err := func() (FileInfo, error) {
		if err := ctx.Err(); err != nil {
			return FileInfo{}, err
		}
		p := memClean(name)
		m.mu.Lock()
		defer m.mu.Unlock()
		n, ok := m.nodes[p]
		if !ok {
			return FileInfo{}, newPathError("stat", name, ErrNotExist)
		}
		return n.info(path.Base(p)), nil
	}()
	return fi, h.after(OpStat, name, err)
}

func (m *Mem) Remove(ctx context.Context, name string) error {
	h := m.getHooks()
	if err := h.before(OpRemove, name); err != nil {
		return err
	}
	err := ctx.Err()
	if err == nil {
		p := memClean(name)
		m.mu.Lock()
		if n, ok := m.nodes[p]; ok {
			if n.dir && len(m.kids[p]) > 0 {
				err = newPathError("remove", name, errors.New("directory not empty"))
			} else if p == "/" {
				err = newPathError("remove", name, errors.New("cannot remove the root"))
			} else {
				m.deleteLocked(p)
			}
		}
		m.mu.Unlock()
	}
	return h.after(OpRemove, name, err)
}

func (m *Mem) RemoveAll(ctx context.Context, name string) error {
	h := m.getHooks()
	if err := h.before(OpRemoveAll, name); err != nil {
		return err
	}
	err := ctx.Err()
	if err == nil {
		m.mu.Lock()
		m.removeAllLocked(memClean(name))
		m.mu.Unlock()
	}
	return h.after(OpRemoveAll, name, err)
}

func (m *Mem) MkdirAll(ctx context.Context, dir string) error {
	h := m.getHooks()
	if err := h.before(OpMkdirAll, dir); err != nil {
		return err
	}
	err := ctx.Err()
	if err == nil {
		m.mu.Lock()
		err = m.mkdirLocked(dir, memClean(dir))
		m.mu.Unlock()
	}
	return h.after(OpMkdirAll, dir, err)
}

// Lock takes an in-process lock on name, released by Close or Crash.
func (m *Mem) Lock(ctx context.Context, name string) (io.Closer, error) {
	h := m.getHooks()
	if err := h.before(OpLock, name); err != nil {
		return nil, err
	}
	l, err := func() (*memLock, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p := memClean(name)
		m.mu.Lock()
		defer m.mu.Unlock()
		if _, held := m.locks[p]; held {
			return nil, newPathError("lock", name, ErrLocked)
		}
		l := &memLock{m: m, p: p}
		m.locks[p] = l
		return l, nil
	}()
	if err = h.after(OpLock, name, err); err != nil {
		if l != nil {
			l.Close()
		}
		return nil, err
	}
	return l, nil
}

type memLock struct {
	m *Mem
	p string
}

// Close releases the lock unless a crash already did (then a newer holder
// may own the name, and must keep it).
func (l *memLock) Close() error {
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	if l.m.locks[l.p] == l {
		delete(l.m.locks, l.p)
	}
	return nil
}

func (m *Mem) fileLocked(op, name string) (*memNode, error) {
	n, ok := m.nodes[memClean(name)]
	if !ok {
		return nil, newPathError(op, name, ErrNotExist)
	}
	if n.dir {
		return nil, newPathError(op, name, errors.New("is a directory"))
	}
	return n, nil
}

// putLocked publishes data under name, creating parent directories.
func (m *Mem) putLocked(name string, data []byte, noReplace bool) error {
	if strings.HasSuffix(name, "/") {
		return newPathError("write", name, errors.New("name ends in a slash"))
	}
	p := memClean(name)
	if old, ok := m.nodes[p]; ok {
		if old.dir {
			return newPathError("write", name, errors.New("is a directory"))
		}
		if noReplace {
			return newPathError("write", name, ErrExist)
		}
	}
	dir := path.Dir(p)
	if err := m.mkdirLocked(name, dir); err != nil {
		return err
	}
	m.nodes[p] = &memNode{data: data, mod: m.now()}
	m.kids[dir][path.Base(p)] = struct{}{}
	return nil
}

func (m *Mem) mkdirLocked(name, p string) error {
	if n, ok := m.nodes[p]; ok {
		if !n.dir {
			return newPathError("mkdir", name, errors.New("not a directory: "+p))
		}
		return nil
	}
	parent := path.Dir(p)
	if err := m.mkdirLocked(name, parent); err != nil {
		return err
	}
	m.nodes[p] = &memNode{dir: true, mod: m.now()}
	m.kids[p] = map[string]struct{}{}
	m.kids[parent][path.Base(p)] = struct{}{}
	return nil
}

func (m *Mem) deleteLocked(p string) {
	delete(m.nodes, p)
	delete(m.kids, p)
	delete(m.kids[path.Dir(p)], path.Base(p))
}

func (m *Mem) removeAllLocked(p string) {
	n, ok := m.nodes[p]
	if !ok {
		return
	}
	if n.dir {
		for base := range m.kids[p] {
			m.removeAllLocked(path.Join(p, base))
		}
	}
	if p != "/" {
		m.deleteLocked(p)
	}
}

func (n *memNode) info(base string) FileInfo {
	return FileInfo{Name: base, Size: int64(len(n.data)), ModTime: n.mod, IsDir: n.dir}
}

type memFile struct{ *bytes.Reader }

func (memFile) Close() error { return nil }

type memWriter struct {
	m         *Mem
	name      string
	buf       bytes.Buffer
	noReplace bool
	epoch     uint64
	h         Hooks
	done      bool
	err       error
}

func (w *memWriter) Write(p []byte) (int, error) {
	if err := w.h.before(OpWrite, w.name); err != nil {
		return 0, err
	}
	var err error
	switch {
	case w.done:
		err = newPathError("write", w.name, ErrClosed)
	case w.m.epoch.Load() != w.epoch:
		err = newPathError("write", w.name, ErrCrashed)
	}
	n := 0
	if err == nil {
		n, _ = w.buf.Write(p)
	}
	return n, w.h.after(OpWrite, w.name, err)
}

func (w *memWriter) Close() error {
	if w.done {
		return w.err
	}
	if err := w.h.before(OpClose, w.name); err != nil {
		w.done, w.err = true, err
		return err
	}
	w.done = true
	w.m.mu.Lock()
	if w.m.epoch.Load() != w.epoch {
		w.err = newPathError("close", w.name, ErrCrashed)
	} else {
		w.err = w.m.putLocked(w.name, w.buf.Bytes(), w.noReplace)
	}
	w.m.mu.Unlock()
	w.buf = bytes.Buffer{}
	w.err = w.h.after(OpClose, w.name, w.err)
	return w.err
}

func (w *memWriter) Abort() error {
	if !w.done {
		w.done = true
		w.err = newPathError("write", w.name, errors.New("aborted"))
		w.buf = bytes.Buffer{}
	}
	return nil
}
