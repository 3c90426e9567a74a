package wal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"sync"

	"github.com/sluicehq/sluice/internal/storage"
)

// DefaultMinBatchesToRetain is how many offsets/commits entries Purge
// keeps by default (Spark: spark.sql.streaming.minBatchesToRetain).
const DefaultMinBatchesToRetain = 100

// Options configure OpenCheckpoint. Zero values take the documented
// default.
type Options struct {
	// MinBatchesToRetain is how many of the newest offsets and commits
	// entries Purge keeps. Default 100; must be at least 1 (recovery
	// re-runs the last batch from the entry before it).
	MinBatchesToRetain int
	// DisableLock skips the exclusive-use lock, for storage that cannot
	// lock or for read-only inspection. Without
	// it, a second query on the checkpoint is only caught when it writes an
	// offsets entry that differs from the first query's.
	DisableLock bool
	// NewQueryID makes the id of a new checkpoint; default a random UUID.
	NewQueryID func() string
}

// Checkpoint is a query's checkpoint directory, held for exclusive use
// until Close:
//
//	metadata           {"id":"<query uuid>"}
//	offsets/<N>        OffsetSeq of batch N
//	commits/<N>        CommitMetadata of batch N
//	sources/<i>/<N>    per-source logs
//	state/...          state store files (StateDir)
//	.lock              the exclusive-use lock (local disk)
//
// Exclusive use: on local disk OpenCheckpoint takes flock(2) on .lock for
// the life of the Checkpoint; the kernel releases it when the process dies,
// even by SIGKILL, so a crashed query never leaves a stale lock. On Mem it
// is an in-process lock that Mem.Crash releases. On S3 it is a lease object
// (.lock written with If-None-Match: *, renewed with If-Match, taken over
// once expired: see storage.S3.Lock), so a query restarted after a crash
// waits out the lease TTL; the create-if-absent writes of offsets/<N>
// still stop a second writer.
type Checkpoint struct {
	location string
	fs       storage.FS
	root     string
	meta     Metadata
	offsets  *OffsetLog
	commits  *CommitLog
	retain   int

	mu   sync.Mutex
	lock io.Closer
}

// OpenCheckpoint opens (creating if needed) the checkpoint at location: a
// directory path, file:///path, mem://name/dir (tests) or
// s3://bucket/prefix?params (storage.ParseS3Location; Location and error
// messages show it with secrets redacted). It fails with an error wrapping
// ErrCheckpointInUse, naming the checkpoint, if another query holds it.
func OpenCheckpoint(ctx context.Context, location string, opts Options) (*Checkpoint, error) {
	fsys, root, err := storage.Open(location)
	if err != nil {
		return nil, fmt.Errorf("wal: checkpoint location: %w", err)
	}
	return openCheckpoint(ctx, fsys, root, storage.RedactLocation(location), opts)
}

// OpenCheckpointFS is OpenCheckpoint on a given FS and root, for tests that
// wrap an FS with faults (storage.WithHooks).
func OpenCheckpointFS(ctx context.Context, fsys storage.FS, root string, opts Options) (*Checkpoint, error) {
	return openCheckpoint(ctx, fsys, root, root, opts)
}

func openCheckpoint(ctx context.Context, fsys storage.FS, root, location string, opts Options) (*Checkpoint, error) {
	retain := opts.MinBatchesToRetain
	switch {
	case retain == 0:
		retain = DefaultMinBatchesToRetain
	case retain < 0:
		return nil, fmt.Errorf("wal: checkpoint %s: MinBatchesToRetain is %d; use at least 1 (default %d)", location, retain, DefaultMinBatchesToRetain)
	}
	if err := fsys.MkdirAll(ctx, root); err != nil {
		return nil, fmt.Errorf("wal: checkpoint %s: %w", location, err)
	}
	c := &Checkpoint{location: location, fs: fsys, root: root, retain: retain}
	if !opts.DisableLock {
		if err := c.takeLock(ctx); err != nil {
			return nil, err
		}
	}
	meta, err := LoadOrCreateMetadata(ctx, fsys, path.Join(root, "metadata"), opts.NewQueryID)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("wal: checkpoint %s: %w", location, err)
	}
	c.meta = meta
	c.offsets = NewOffsetLog(fsys, path.Join(root, "offsets"))
	c.offsets.log.checkpoint = location
	c.commits = NewCommitLog(fsys, path.Join(root, "commits"))
	c.commits.log.checkpoint = location
	return c, nil
}

func (c *Checkpoint) takeLock(ctx context.Context) error {
	lockName := path.Join(c.root, ".lock")
	locker, ok := c.fs.(storage.Locker)
	if !ok {
		return fmt.Errorf("wal: checkpoint %s: its storage cannot lock, so sluice cannot make sure no other query uses it; set DisableLock to run without the check", c.location)
	}
	l, err := locker.Lock(ctx, lockName)
	switch {
	case errors.Is(err, storage.ErrLocked):
		return fmt.Errorf("%w: checkpoint %s is in use by another running query (it holds %s). Stop that query first, or give this one its own checkpoint location",
			ErrCheckpointInUse, c.location, lockName)
	case errors.Is(err, storage.ErrUnsupported):
		return fmt.Errorf("wal: checkpoint %s: its storage cannot lock, so sluice cannot make sure no other query uses it; set DisableLock to run without the check: %w", c.location, err)
	case err != nil:
		return fmt.Errorf("wal: checkpoint %s: lock: %w", c.location, err)
	}
	c.lock = l
	return nil
}

// Close releases the checkpoint. It is safe to call more than once.
func (c *Checkpoint) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lock == nil {
		return nil
	}
	err := c.lock.Close()
	c.lock = nil
	if err != nil {
		return fmt.Errorf("wal: checkpoint %s: release lock: %w", c.location, err)
	}
	return nil
}

// Lease is the exclusive-use lock when it can be lost while held (an S3
// lease: see storage.Lease), nil otherwise (flock, Mem) or after Close.
// A holder of a lost lease must stop writing the checkpoint: another
// query may have taken it over.
func (c *Checkpoint) Lease() storage.Lease {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, _ := c.lock.(storage.Lease)
	return l
}

// Location is the checkpoint location as given to OpenCheckpoint, with
// secrets (an S3 secret key in the query) redacted.
func (c *Checkpoint) Location() string { return c.location }

// FS is the checkpoint's storage; names under it start with Root.
func (c *Checkpoint) FS() storage.FS { return c.fs }

// Root is the checkpoint's directory in FS.
func (c *Checkpoint) Root() string { return c.root }

// Metadata is the checkpoint's metadata file.
func (c *Checkpoint) Metadata() Metadata { return c.meta }

// QueryID is the query's persistent id (Spark's StreamingQuery.id).
func (c *Checkpoint) QueryID() string { return c.meta.ID }

// Offsets is the offset log.
func (c *Checkpoint) Offsets() *OffsetLog { return c.offsets }

// Commits is the commit log.
func (c *Checkpoint) Commits() *CommitLog { return c.commits }

// Sources is the log of source i, sources/<i>/, for sources that keep
// their own per-batch records (the file source's seen files).
func (c *Checkpoint) Sources(i int) *Log {
	l := NewLog(c.fs, path.Join(c.root, "sources", strconv.Itoa(i)))
	l.checkpoint = c.location
	return l
}

// StateDir is the directory of the state stores, state/.
func (c *Checkpoint) StateDir() string { return path.Join(c.root, "state") }

// MinBatchesToRetain is the resolved retention.
func (c *Checkpoint) MinBatchesToRetain() int { return c.retain }

// Purge deletes offsets and commits entries older than the newest
// MinBatchesToRetain, given the batch that just committed, and returns
// the first batch id kept (0 when nothing was purged); callers purge state
// versions and source logs below it. The engine calls it after
// commits/<latest> is written.
func (c *Checkpoint) Purge(ctx context.Context, latest int64) (keepFrom int64, err error) {
	keepFrom = latest - int64(c.retain) + 1
	if keepFrom <= 0 {
		return 0, nil
	}
	// Offsets first: an orphaned commit below the kept range is harmless,
	// and recovery reads only the newest entries.
	if err := c.offsets.Purge(ctx, keepFrom); err != nil {
		return keepFrom, err
	}
	return keepFrom, c.commits.Purge(ctx, keepFrom)
}
