package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
)

// Op names an FS operation, for fault injection and logging.
type Op string

const (
	OpReadFile  Op = "readfile"
	OpWriteFile Op = "writefile"
	OpCreate    Op = "create"
	OpWrite     Op = "write" // one Writer.Write
	OpClose     Op = "close" // Writer.Close: publishing a streamed file
	OpOpen      Op = "open"
	OpList      Op = "list"
	OpStat      Op = "stat"
	OpRemove    Op = "remove"
	OpRemoveAll Op = "removeall"
	OpMkdirAll  Op = "mkdirall"
	OpLock      Op = "lock"
)

// ErrInjected is the default error of injected faults.
var ErrInjected = errors.New("storage: injected fault")

// Hooks observe or fail FS operations. Either may be nil.
type Hooks struct {
	// Before runs before the operation; an error fails it without doing it.
	Before func(op Op, name string) error
	// After runs after the operation with its result and returns the result
	// the caller sees: returning an error for a successful write models a
	// lost acknowledgement (the write happened, the caller thinks it did
	// not). It cannot hide a failure: nil for a failed operation keeps the
	// original error.
	After func(op Op, name string, err error) error
}

func (h Hooks) before(op Op, name string) error {
	if h.Before == nil {
		return nil
	}
	if err := h.Before(op, name); err != nil {
		return newPathError(string(op), name, err)
	}
	return nil
}

func (h Hooks) after(op Op, name string, err error) error {
	if h.After == nil {
		return err
	}
	if e := h.After(op, name, err); e != nil && e != err {
		var pe *PathError
		if !errors.As(e, &pe) {
			e = newPathError(string(op), name, e)
		}
		return e
	}
	return err
}

// FailNth returns hooks that fail the nth (1-based) operation among ops
// (all operations when ops is empty) with err (ErrInjected if nil), before
// it happens. Only that one call fails.
func FailNth(n int, err error, ops ...Op) Hooks {
	if err == nil {
		err = ErrInjected
	}
	var count atomic.Int64
	return Hooks{Before: func(op Op, name string) error {
		if len(ops) > 0 && !slices.Contains(ops, op) {
			return nil
		}
		if count.Add(1) == int64(n) {
			return fmt.Errorf("%w (operation %d: %s)", err, n, op)
		}
		return nil
	}}
}

// LogHooks returns hooks that log every operation and its result.
func LogHooks(logf func(format string, args ...any)) Hooks {
	return Hooks{After: func(op Op, name string, err error) error {
		if err != nil {
			logf("storage: %s %s: %v", op, name, err)
		} else {
			logf("storage: %s %s", op, name)
		}
		return err
	}}
}

// WithHooks wraps fsys so that h sees every operation, including the
// Write and Close calls of its Writers. Lock is passed through when fsys
// is a Locker, and fails with ErrUnsupported otherwise.
func WithHooks(fsys FS, h Hooks) FS { return &hooked{fs: fsys, h: h} }

type hooked struct {
	fs FS
	h  Hooks
}

var _ Locker = (*hooked)(nil)

func (f *hooked) ReadFile(ctx context.Context, name string) ([]byte, error) {
	if err := f.h.before(OpReadFile, name); err != nil {
		return nil, err
	}
	b, err := f.fs.ReadFile(ctx, name)
	return b, f.h.after(OpReadFile, name, err)
}

func (f *hooked) WriteFile(ctx context.Context, name string, data []byte, opts WriteOptions) error {
	if err := f.h.before(OpWriteFile, name); err != nil {
		return err
	}
	return f.h.after(OpWriteFile, name, f.fs.WriteFile(ctx, name, data, opts))
}

func (f *hooked) Create(ctx context.Context, name string, opts WriteOptions) (Writer, error) {
	if err := f.h.before(OpCreate, name); err != nil {
		return nil, err
	}
	w, err := f.fs.Create(ctx, name, opts)
	if err = f.h.after(OpCreate, name, err); err != nil {
		if w != nil {
			w.Abort()
		}
		return nil, err
	}
	return &hookedWriter{w: w, name: name, h: f.h}, nil
}

func (f *hooked) Open(ctx context.Context, name string) (File, error) {
	if err := f.h.before(OpOpen, name); err != nil {
		return nil, err
	}
	r, err := f.fs.Open(ctx, name)
	if err = f.h.after(OpOpen, name, err); err != nil {
		if r != nil {
			r.Close()
		}
		return nil, err
	}
	return r, nil
}

func (f *hooked) List(ctx context.Context, dir string) ([]FileInfo, error) {
	if err := f.h.before(OpList, dir); err != nil {
		return nil, err
	}
	l, err := f.fs.List(ctx, dir)
	return l, f.h.after(OpList, dir, err)
}

func (f *hooked) Stat(ctx context.Context, name string) (FileInfo, error) {
	if err := f.h.before(OpStat, name); err != nil {
		return FileInfo{}, err
	}
	fi, err := f.fs.Stat(ctx, name)
	return fi, f.h.after(OpStat, name, err)
}

func (f *hooked) Remove(ctx context.Context, name string) error {
	if err := f.h.before(OpRemove, name); err != nil {
		return err
	}
	return f.h.after(OpRemove, name, f.fs.Remove(ctx, name))
}

func (f *hooked) RemoveAll(ctx context.Context, name string) error {
	if err := f.h.before(OpRemoveAll, name); err != nil {
		return err
	}
	return f.h.after(OpRemoveAll, name, f.fs.RemoveAll(ctx, name))
}

func (f *hooked) MkdirAll(ctx context.Context, dir string) error {
	if err := f.h.before(OpMkdirAll, dir); err != nil {
		return err
	}
	return f.h.after(OpMkdirAll, dir, f.fs.MkdirAll(ctx, dir))
}

func (f *hooked) Lock(ctx context.Context, name string) (io.Closer, error) {
	if err := f.h.before(OpLock, name); err != nil {
		return nil, err
	}
	l, ok := f.fs.(Locker)
	if !ok {
		return nil, f.h.after(OpLock, name, newPathError("lock", name, ErrUnsupported))
	}
	c, err := l.Lock(ctx, name)
	if err = f.h.after(OpLock, name, err); err != nil {
		if c != nil {
			c.Close()
		}
		return nil, err
	}
	return c, nil
}

type hookedWriter struct {
	w    Writer
	name string
	h    Hooks
}

func (w *hookedWriter) Write(p []byte) (int, error) {
	if err := w.h.before(OpWrite, w.name); err != nil {
		return 0, err
	}
	n, err := w.w.Write(p)
	return n, w.h.after(OpWrite, w.name, err)
}

func (w *hookedWriter) Close() error {
	if err := w.h.before(OpClose, w.name); err != nil {
		w.w.Abort()
		return err
	}
	return w.h.after(OpClose, w.name, w.w.Close())
}

func (w *hookedWriter) Abort() error { return w.w.Abort() }
