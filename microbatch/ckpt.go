package microbatch

import (
	"context"

	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sources"
)

// offsetEntry is offsets/<BatchID>: what batch BatchID reads, logged before
// it runs.
type offsetEntry struct {
	BatchID     int64
	WatermarkMs int64
	TimestampMs int64
	Conf        map[string]string
	Offsets     []sources.Offset // end offset per source; nil: no data yet
}

// commitEntry is commits/<BatchID>, written after the sink has the batch.
type commitEntry struct {
	BatchID         int64
	NextWatermarkMs int64
	// EventTimeMaxMs is each watermark node's largest event time so far.
	EventTimeMaxMs []int64
}

// checkpointStore is what the loop needs from the checkpoint (package wal).
type checkpointStore interface {
	QueryID() string
	Location() string
	LatestOffsets(ctx context.Context) (offsetEntry, bool, error)
	GetOffsets(ctx context.Context, id int64) (offsetEntry, bool, error)
	AddOffsets(ctx context.Context, e offsetEntry) error
	LatestCommit(ctx context.Context) (commitEntry, bool, error)
	AddCommit(ctx context.Context, e commitEntry) error
	// InitialOffset returns the logged start offset of source i, logging
	// compute()'s result the first time (so a restart before batch 0
	// committed starts from the same place).
	InitialOffset(ctx context.Context, source int, compute func() (sources.Offset, error)) (sources.Offset, error)
	// Purge drops log entries older than the retention, given the batch
	// that just committed.
	Purge(ctx context.Context, latest int64) error
	// Retained is how many batches the logs keep (MinBatchesToRetain).
	Retained() int
	// StateLocation is where stateful operators keep their stores.
	StateLocation() (storage.FS, string)
	// SourceDir is sources/<i>, for sources that keep their own log.
	SourceDir(i int) (storage.FS, string)
	Close() error
}
