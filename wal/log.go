// Package wal holds the metadata logs of a streaming query's checkpoint,
// keyed by batch id: the offset log (what each batch reads), the commit
// log (which batches finished), per-source logs, and the query's metadata
// file. The layout is Spark's (DESIGN.md section 4), so people who know
// Spark recognise a checkpoint.
//
// Every entry is written once, create-if-absent: a second writer of the
// same batch id fails loudly (ErrConcurrentWriter) unless it writes the
// very same bytes, which is what a query replaying its last batch after a
// crash does.
package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"

	"github.com/sluicehq/sluice/internal/storage"
)

// Log is a directory of entries named by decimal batch id (dir/0, dir/1,
// ...) holding opaque bytes. The batch id is in the name, so the order of
// a listing never matters (S3 does not promise one). Names that are not a
// canonical decimal id (temp files, "007", "x.crc") are ignored.
//
// A Log is safe for concurrent use; the engine writes it from one
// goroutine.
type Log struct {
	fs  storage.FS
	dir string
	// checkpoint names the checkpoint in messages about other writers.
	checkpoint string
}

// NewLog returns the log in directory dir of fsys.
func NewLog(fsys storage.FS, dir string) *Log {
	return &Log{fs: fsys, dir: dir, checkpoint: path.Dir(dir)}
}

// Dir is the log's directory.
func (l *Log) Dir() string { return l.dir }

// Path is the name of the entry of batch id.
func (l *Log) Path(id int64) string { return path.Join(l.dir, strconv.FormatInt(id, 10)) }

// Add writes the entry of batch id, durably, if it does not exist. If it
// exists with the same bytes Add returns nil (a replay after a crash); with
// other bytes it returns an error wrapping ErrConcurrentWriter. Add is
// safe to retry after any error: a write that happened although it
// reported failure is then found identical.
func (l *Log) Add(ctx context.Context, id int64, data []byte) error {
	if id < 0 {
		return fmt.Errorf("wal: add to %s: batch id %d is negative", l.dir, id)
	}
	p := l.Path(id)
	err := l.fs.WriteFile(ctx, p, data, storage.WriteOptions{CreateIfAbsent: true})
	if err == nil {
		return nil
	}
	if !errors.Is(err, storage.ErrExist) {
		return fmt.Errorf("wal: write batch %d: %w", id, err)
	}
	old, rerr := l.fs.ReadFile(ctx, p)
	if rerr != nil {
		return fmt.Errorf("wal: batch %d: %s exists but cannot be read back: %w", id, p, rerr)
	}
	if bytes.Equal(old, data) {
		return nil
	}
	return fmt.Errorf("%w: batch %d: %s already exists with different content: another query may be running on the same checkpoint %s. Stop the other query, or give this one its own checkpoint location",
		ErrConcurrentWriter, id, p, l.checkpoint)
}

// Get returns the entry of batch id, or an error wrapping ErrNotFound.
func (l *Log) Get(ctx context.Context, id int64) ([]byte, error) {
	p := l.Path(id)
	b, err := l.fs.ReadFile(ctx, p)
	if errors.Is(err, storage.ErrNotExist) {
		return nil, fmt.Errorf("%w: batch %d (%s): %w", ErrNotFound, id, p, err)
	}
	if err != nil {
		return nil, fmt.Errorf("wal: read batch %d: %w", id, err)
	}
	return b, nil
}

// List returns the batch ids present, ascending.
func (l *Log) List(ctx context.Context) ([]int64, error) {
	ents, err := l.fs.List(ctx, l.dir)
	if err != nil {
		return nil, fmt.Errorf("wal: list %s: %w", l.dir, err)
	}
	ids := make([]int64, 0, len(ents))
	for _, e := range ents {
		if id, ok := ParseID(e.Name); ok && !e.IsDir {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// LatestID returns the highest batch id present; ok is false for an empty
// log.
func (l *Log) LatestID(ctx context.Context) (id int64, ok bool, err error) {
	ids, err := l.List(ctx)
	if err != nil || len(ids) == 0 {
		return -1, false, err
	}
	return ids[len(ids)-1], true, nil
}

// Latest returns the entry with the highest batch id; ok is false for an
// empty log. If that entry cannot be read, Latest fails naming it: it
// never falls back to an older entry, which would silently rewind the
// query.
func (l *Log) Latest(ctx context.Context) (id int64, data []byte, ok bool, err error) {
	id, ok, err = l.LatestID(ctx)
	if err != nil || !ok {
		return -1, nil, false, err
	}
	data, err = l.Get(ctx, id)
	if err != nil {
		return -1, nil, false, fmt.Errorf("wal: latest entry: %w", err)
	}
	return id, data, true, nil
}

// Purge deletes the entries with ids below keepFrom. Removal is not
// durable: after a crash a purged entry may reappear, which is harmless
// since only old entries are purged and the latest one decides recovery.
func (l *Log) Purge(ctx context.Context, keepFrom int64) error {
	ids, err := l.List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if id >= keepFrom {
			break
		}
		if err := l.fs.Remove(ctx, l.Path(id)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("wal: purge %s below batch %d: %w", l.dir, keepFrom, err)
	}
	return nil
}

// ParseID parses a log entry name: a canonical non-negative decimal (no
// sign, no leading zeros) that fits an int64.
func ParseID(name string) (int64, bool) {
	if name == "" || len(name) > 19 || (len(name) > 1 && name[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(name, 10, 64)
	return id, err == nil
}
