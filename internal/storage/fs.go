// Package storage is the one file-system interface under the WAL, the
// state store, file sources and file sinks. It is shaped after what an
// object store can do (whole-object reads and writes, conditional create,
// prefix listing) so that S3 fits without callers renaming anything, and
// after pebble's vfs in size: a few methods, each with a precise contract.
//
// Implementations: Local (the local disk), Mem (in memory, crashable, with
// fault injection) and WithHooks (fault injection and logging over any FS).
// Open picks one from a location URL.
package storage

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"time"
)

// FS is a file system or object store.
//
// Names are slash-separated paths that callers build with path.Join from
// the root Open returned (on Local they are OS paths); they never end in a
// slash. No caller needs rename: everything an object store cannot do
// atomically is left out.
//
// Every method is safe for concurrent use. Writes are atomic: a reader sees
// a file's old content or its new content, never a mix or a prefix. A write
// that returned nil is durable: it survives a crash of the process or the
// machine. Missing parent directories are created by the writes themselves
// (as on an object store), so MkdirAll is never required before a write.
type FS interface {
	// ReadFile returns the whole content of name, or an error wrapping
	// ErrNotExist.
	ReadFile(ctx context.Context, name string) ([]byte, error)

	// WriteFile makes data the whole content of name, atomically and
	// durably. With opts.CreateIfAbsent it fails with an error wrapping
	// ErrExist when name exists, and among writers racing to create the
	// same name exactly one succeeds (Local: link(2)/renameat2
	// RENAME_NOREPLACE; S3: PutObject with If-None-Match: *). Without it,
	// an existing file is replaced.
	WriteFile(ctx context.Context, name string, data []byte, opts WriteOptions) error

	// Create starts a streaming write of a large file. Nothing is visible
	// under name until Writer.Close returns nil, at which point the file is
	// complete and durable (Local: temp file, fsync, rename, directory
	// fsync; S3: a multipart upload completed at Close). With
	// opts.CreateIfAbsent, Close (or Create itself) fails with ErrExist when
	// name exists.
	Create(ctx context.Context, name string, opts WriteOptions) (Writer, error)

	// Open opens name for reading, or fails wrapping ErrNotExist. The File
	// reads the content as of Open (a later overwrite of name does not
	// change what it returns).
	Open(ctx context.Context, name string) (File, error)

	// List returns the entries directly under dir (one level), in no
	// particular order: callers sort if they need to. A missing dir lists
	// as empty, without error (an object store cannot tell the two apart).
	// Files of writes still in progress are never listed.
	List(ctx context.Context, dir string) ([]FileInfo, error)

	// Stat describes name, or fails wrapping ErrNotExist. Directories are
	// reported by Local and Mem; object stores know only files.
	Stat(ctx context.Context, name string) (FileInfo, error)

	// Remove deletes the file (or empty directory) name. A missing name is
	// not an error. A removal need not be durable: after a crash a removed
	// file may reappear, so only remove what is safe to see again (purged
	// log entries, old state versions).
	Remove(ctx context.Context, name string) error

	// RemoveAll deletes name and everything under it. Missing is not an
	// error. Same durability as Remove.
	RemoveAll(ctx context.Context, name string) error

	// MkdirAll creates dir and its parents, durably. A no-op on object
	// stores, where directories do not exist.
	MkdirAll(ctx context.Context, dir string) error
}

// WriteOptions modify WriteFile and Create.
type WriteOptions struct {
	// CreateIfAbsent fails the write with ErrExist if the name exists,
	// atomically with respect to concurrent writers.
	CreateIfAbsent bool
}

// Writer is a file being written by Create. It is used by one goroutine.
type Writer interface {
	io.Writer
	// Close publishes the file: on nil it is visible under its name,
	// complete and durable. On error nothing was published and the writer
	// is done (no need to Abort). Close after Close returns the first
	// result.
	Close() error
	// Abort discards the write; the name is untouched. It is a no-op after
	// Close, so `defer w.Abort()` is the idiom.
	Abort() error
}

// File is a file open for reading. Parquet needs ReadAt and Size; CSV and
// JSON read sequentially. ReadAt may be called from several goroutines;
// Read may not.
type File interface {
	io.Reader
	io.ReaderAt
	io.Closer
	Size() int64
}

// FileInfo describes one file or directory.
type FileInfo struct {
	Name    string // base name, without the directory
	Size    int64
	ModTime time.Time
	IsDir   bool
}

// Locker is an optional capability of an FS: exclusive ownership of a name
// for as long as the holder lives, used to stop two queries from sharing a
// checkpoint.
//
// Lock fails at once (it does not wait) with an error wrapping ErrLocked
// when another holder has the lock. The lock is released by Close on the
// returned handle, or by the death of the holder: on Local it is flock(2)
// on the named file, which the kernel drops when the process dies, even by
// SIGKILL; on Mem it is an in-process table that Crash clears. S3 has no
// such primitive; it will use a lease object written with If-None-Match: *
// and renewed with If-Match, taken over once expired.
type Locker interface {
	Lock(ctx context.Context, name string) (io.Closer, error)
}

// Sentinels callers test with errors.Is. ErrNotExist and ErrExist also
// match io/fs.ErrNotExist and io/fs.ErrExist.
var (
	ErrNotExist    error = &sentinel{"does not exist", fs.ErrNotExist}
	ErrExist       error = &sentinel{"already exists", fs.ErrExist}
	ErrLocked            = errors.New("storage: locked by another holder")
	ErrUnsupported       = errors.New("storage: not supported")
	ErrClosed            = errors.New("storage: writer already closed")
)

type sentinel struct {
	msg string
	std error
}

func (s *sentinel) Error() string        { return "storage: " + s.msg }
func (s *sentinel) Is(target error) bool { return target == s.std }

// PathError records the operation and the name that failed, like
// io/fs.PathError.
type PathError struct {
	Op   string
	Path string
	Err  error
}

func (e *PathError) Error() string {
	msg := e.Err.Error()
	if s, ok := e.Err.(*sentinel); ok {
		msg = s.msg
	}
	return "storage: " + e.Op + " " + e.Path + ": " + msg
}

func (e *PathError) Unwrap() error { return e.Err }

func newPathError(op, name string, err error) error {
	return &PathError{Op: op, Path: name, Err: err}
}
