package microbatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sources"
	"github.com/sluicehq/sluice/wal"
)

// OpenCheckpoint opens (creating if needed) the checkpoint at location, a
// local path or a storage URL, for exclusive use by one query.
func OpenCheckpoint(ctx context.Context, location string) (checkpointStore, error) {
	return OpenCheckpointWith(ctx, location, wal.Options{})
}

// OpenCheckpointWith is OpenCheckpoint with wal options.
func OpenCheckpointWith(ctx context.Context, location string, opts wal.Options) (checkpointStore, error) {
	c, err := wal.OpenCheckpoint(ctx, location, opts)
	if err != nil {
		return nil, err
	}
	return newWalStore(c), nil
}

// OpenCheckpointFS is OpenCheckpointWith on a given FS and root: the seam
// through which tests wrap the checkpoint's storage with faults
// (storage.WithHooks), for example to kill the process at a chosen write
// (internal/crashtest).
func OpenCheckpointFS(ctx context.Context, fsys storage.FS, root string, opts wal.Options) (checkpointStore, error) {
	c, err := wal.OpenCheckpointFS(ctx, fsys, root, opts)
	if err != nil {
		return nil, err
	}
	return newWalStore(c), nil
}

// walStore adapts wal.Checkpoint to the loop.
//
// On storage whose exclusive-use lock is a lease (S3), the lease can be
// lost while the query runs (renewals failed for a whole TTL, or another
// query took it over). From then on every write the engine makes to the
// checkpoint fails with the reason, wrapping wal.ErrCheckpointInUse:
// offsets and commits here, state and source logs through the FS that
// StateLocation and SourceDir return. The loop turns that error into the
// query's failure, so the query stops instead of writing beside another
// holder; the sink call of a batch in flight is never reached without
// its offsets (written after the check), and its commit is refused.
type walStore struct {
	c     *wal.Checkpoint
	lease storage.Lease // nil: the lock cannot be lost
	// guarded is c.FS() with writes refused once the lease is lost; c.FS()
	// itself when there is no lease.
	guarded storage.FS
	// purgeListed: this run listed the logs once; every id below
	// purgedBelow is gone since. Only the purge goroutine uses them.
	purgeListed bool
	purgedBelow int64
	// purgeDone is closed when the purge in flight (if any) ended, with
	// purgeErr its result.
	purgeDone chan struct{}
	purgeErr  error
}

func newWalStore(c *wal.Checkpoint) *walStore {
	w := &walStore{c: c, lease: c.Lease(), guarded: c.FS()}
	if w.lease != nil {
		w.guarded = storage.WithHooks(c.FS(), storage.Hooks{Before: func(op storage.Op, name string) error {
			switch op {
			case storage.OpReadFile, storage.OpOpen, storage.OpList, storage.OpStat, storage.OpWrite:
				return nil
			}
			return w.leaseErr()
		}})
	}
	return w
}

// leaseErr reports a lost lease on the checkpoint, nil while it is held.
func (w *walStore) leaseErr() error {
	if w.lease == nil {
		return nil
	}
	select {
	case <-w.lease.Lost():
	default:
		return nil
	}
	return fmt.Errorf("%w: checkpoint %s: this query lost its exclusive use (%v), so it stops writing: another query may hold the checkpoint now. "+
		"Make sure only one query runs on it, then restart this one (it waits until the other holder's lease expires)",
		wal.ErrCheckpointInUse, w.c.Location(), w.lease.Err())
}

func (w *walStore) QueryID() string  { return w.c.QueryID() }
func (w *walStore) Retained() int    { return w.c.MinBatchesToRetain() }
func (w *walStore) Location() string { return w.c.Location() }
func (w *walStore) Close() error {
	w.waitPurge() // its error would only say some old entries remain
	return w.c.Close()
}

func toEntry(id int64, s wal.OffsetSeq) offsetEntry {
	e := offsetEntry{BatchID: id, WatermarkMs: s.Metadata.BatchWatermarkMs, TimestampMs: s.Metadata.BatchTimestampMs,
		Conf: s.Metadata.Conf, Offsets: make([]sources.Offset, len(s.Offsets))}
	for i, o := range s.Offsets {
		if len(o) > 0 {
			e.Offsets[i] = sources.Offset(o)
		}
	}
	return e
}

func (w *walStore) LatestOffsets(ctx context.Context) (offsetEntry, bool, error) {
	id, s, ok, err := w.c.Offsets().Latest(ctx)
	if err != nil || !ok {
		return offsetEntry{}, ok, err
	}
	return toEntry(id, s), true, nil
}

func (w *walStore) GetOffsets(ctx context.Context, id int64) (offsetEntry, bool, error) {
	s, err := w.c.Offsets().Get(ctx, id)
	if errors.Is(err, wal.ErrNotFound) {
		return offsetEntry{}, false, nil
	}
	if err != nil {
		return offsetEntry{}, false, err
	}
	return toEntry(id, s), true, nil
}

func (w *walStore) AddOffsets(ctx context.Context, e offsetEntry) error {
	if err := w.leaseErr(); err != nil {
		return err
	}
	s := wal.OffsetSeq{Metadata: wal.OffsetSeqMetadata{BatchWatermarkMs: e.WatermarkMs, BatchTimestampMs: e.TimestampMs, Conf: e.Conf},
		Offsets: make([]json.RawMessage, len(e.Offsets))}
	for i, o := range e.Offsets {
		if len(o) > 0 {
			s.Offsets[i] = json.RawMessage(o)
		}
	}
	return w.c.Offsets().Add(ctx, e.BatchID, s)
}

func (w *walStore) LatestCommit(ctx context.Context) (commitEntry, bool, error) {
	id, c, ok, err := w.c.Commits().Latest(ctx)
	if err != nil || !ok {
		return commitEntry{}, ok, err
	}
	return commitEntry{BatchID: id, NextWatermarkMs: c.NextBatchWatermarkMs, EventTimeMaxMs: c.EventTimeMaxMs}, true, nil
}

func (w *walStore) AddCommit(ctx context.Context, e commitEntry) error {
	if err := w.leaseErr(); err != nil {
		return err
	}
	return w.c.Commits().Add(ctx, e.BatchID, wal.CommitMetadata{NextBatchWatermarkMs: e.NextWatermarkMs, EventTimeMaxMs: e.EventTimeMaxMs})
}

// InitialOffset keeps a source's starting offset in sources/<i>/0, as
// Spark's Kafka source keeps its initial offsets.
func (w *walStore) InitialOffset(ctx context.Context, i int, compute func() (sources.Offset, error)) (sources.Offset, error) {
	log := w.c.Sources(i)
	data, err := log.Get(ctx, 0)
	if err == nil {
		return sources.Offset(data), nil
	}
	if !errors.Is(err, wal.ErrNotFound) {
		return nil, err
	}
	o, err := compute()
	if err != nil {
		return nil, err
	}
	if err := w.leaseErr(); err != nil {
		return nil, err
	}
	if err := log.Add(ctx, 0, o); err != nil {
		// Lost a race with ourselves after a crash: read what is logged.
		if data, gerr := log.Get(ctx, 0); gerr == nil {
			return sources.Offset(data), nil
		}
		return nil, err
	}
	return o, nil
}

// Purge drops log entries that fell out of the retention window, in the
// background: removals need not be durable and touch only entries no
// recovery reads, so the next batch does not wait for them (two unlinks
// cost about 0.2 ms on local disk, a tenth of a one-row batch). A purge
// error surfaces at the next Purge; Close waits for the purge in flight.
//
// The first purge of a run lists the logs (to catch what earlier runs
// left); after that the window moves by one id per batch, so a purge
// removes just those ids. Listing both logs every batch cost more than the
// rest of a one-row batch (with 100 retained entries, two directory reads
// and 200 stats).
func (w *walStore) Purge(ctx context.Context, latest int64) error {
	keepFrom := latest - int64(w.c.MinBatchesToRetain()) + 1
	if keepFrom <= 0 {
		return nil
	}
	if err := w.leaseErr(); err != nil {
		return err
	}
	if err := w.waitPurge(); err != nil {
		return err
	}
	done := make(chan struct{})
	w.purgeDone = done
	go func(ctx context.Context) {
		defer close(done)
		w.purgeErr = w.purge(ctx, keepFrom)
	}(context.WithoutCancel(ctx)) // a Stop must not leave the purge half done
	return nil
}

// waitPurge waits for the purge in flight and returns its error.
func (w *walStore) waitPurge() error {
	if w.purgeDone == nil {
		return nil
	}
	<-w.purgeDone
	w.purgeDone = nil
	err := w.purgeErr
	w.purgeErr = nil
	return err
}

func (w *walStore) purge(ctx context.Context, keepFrom int64) error {
	if !w.purgeListed {
		if _, err := w.c.Purge(ctx, keepFrom+int64(w.c.MinBatchesToRetain())-1); err != nil {
			return err
		}
		w.purgeListed, w.purgedBelow = true, keepFrom
		return nil
	}
	fsys := w.c.FS()
	for id := w.purgedBelow; id < keepFrom; id++ {
		// Offsets first, as wal.Checkpoint.Purge: an orphaned commit below
		// the window is harmless.
		if err := fsys.Remove(ctx, w.c.Offsets().Log().Path(id)); err != nil {
			return fmt.Errorf("wal: checkpoint %s: purge batch %d: %w", w.c.Location(), id, err)
		}
		if err := fsys.Remove(ctx, w.c.Commits().Log().Path(id)); err != nil {
			return fmt.Errorf("wal: checkpoint %s: purge batch %d: %w", w.c.Location(), id, err)
		}
		w.purgedBelow = id + 1
	}
	return nil
}

func (w *walStore) StateLocation() (storage.FS, string) { return w.guarded, w.c.StateDir() }

func (w *walStore) SourceDir(i int) (storage.FS, string) { return w.guarded, w.c.Sources(i).Dir() }
