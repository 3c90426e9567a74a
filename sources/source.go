// Package sources defines the streaming Source contract and the registry
// of built-in sources (memory, rate, files, kafka), each in a subpackage.
// Sources speak Arrow, never DataFrames.
package sources

import (
	"context"
	"errors"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/internal/storage"
)

// ErrSource is the sentinel wrapped by source failures.
var ErrSource = errors.New("source")

// Offset is a position in a source: canonical JSON, compared byte for
// byte and stored as is in the offset log. The empty Offset (nil) is the
// position before any data.
type Offset []byte

// ReadLimit bounds how far LatestOffset may move in one batch (Spark's
// maxOffsetsPerTrigger / maxFilesPerTrigger). The zero value is no limit.
type ReadLimit struct {
	// MaxRows caps rows (records, messages) per batch; 0 means no cap.
	MaxRows int64
	// MaxFiles caps files per batch for file sources; 0 means no cap.
	MaxFiles int
	// MaxBytes caps bytes per batch for file sources; 0 means no cap.
	MaxBytes int64
}

// Source is a replayable, offset-addressed stream of Arrow batches.
//
// The engine calls a Source from one goroutine at a time. Contract:
//   - LatestOffset returns the end of the next batch given its start,
//     respecting limit; returning start (byte-equal) means no new data.
//     Offsets only move forward.
//   - GetBatch returns the rows in (start, end]. It must return the same
//     rows for the same pair, also after a restart in another process:
//     the engine replays a logged batch after a crash. start nil means
//     from the beginning. The reader's batches are owned by the caller.
//   - Commit(end) says every batch up to end is durable downstream; data
//     at or before end may be discarded.
//   - Schema is fixed for the source's lifetime.
type Source interface {
	Schema() *arrow.Schema
	LatestOffset(ctx context.Context, start Offset, limit ReadLimit) (Offset, error)
	GetBatch(ctx context.Context, start, end Offset) (array.RecordReader, error)
	Commit(ctx context.Context, end Offset) error
	Close() error
}

// Describer is an optional capability: a one-line description for progress
// reports ("MemoryStream[clicks]", "KafkaV2[Subscribe[user-clicks]]").
// Without it the engine uses the Go type name.
type Describer interface {
	Description() string
}

// InitialOffsetter is an optional capability for sources whose first batch
// does not start at the beginning (Kafka startingOffsets=latest): the
// engine asks once, when the query starts with no checkpoint, and logs it.
// Without it the first batch starts at the nil Offset.
type InitialOffsetter interface {
	InitialOffset(ctx context.Context) (Offset, error)
}

// DefaultLimiter is an optional capability: the read limit a source wants
// from its own options (maxOffsetsPerTrigger and friends). AvailableNow
// uses it to split a backlog into several batches.
type DefaultLimiter interface {
	DefaultReadLimit() ReadLimit
}

// RowCounter is an optional capability: the number of rows between two
// offsets without reading them, for progress bars and ETAs.
type RowCounter interface {
	RowsBetween(start, end Offset) (int64, bool)
}

// AvailableNowPreparer is an optional capability for Trigger.AvailableNow:
// the engine calls it once at start; from then on LatestOffset never moves
// past what was available at that moment, while still honouring read
// limits, so the backlog is split into bounded batches and the query stops.
// Sources without it are read to their latest offset in one batch.
type AvailableNowPreparer interface {
	PrepareForAvailableNow(ctx context.Context) error
}

// CheckpointAware is an optional capability for sources that keep their
// own log (the file source's seen-files log): the engine calls it once at
// Start, before recovery, with the query checkpoint's storage and the
// source's directory sources/<i>. Without it a source keeps no state of its
// own beyond its offsets.
type CheckpointAware interface {
	SetCheckpoint(ctx context.Context, fsys storage.FS, dir string) error
}

// Backlog is how much of a source one batch read and how much is left
// after it, in the source's own unit, for progress bars, ETAs and lag
// metrics.
type Backlog struct {
	// Unit names what the counts count: "offsets" (Kafka), "files",
	// "rows" (memory, rate).
	Unit string `json:"unit"`
	// Processed is the amount in (start, end], the batch's share.
	Processed int64 `json:"processed"`
	// Remaining is the amount after end that is available: up to the
	// AvailableNow snapshot once prepared, else up to what the source's
	// last LatestOffset saw.
	Remaining int64 `json:"remaining"`
	// RemainingBytes is the size of Remaining when the source knows it
	// (files), else 0.
	RemainingBytes int64 `json:"remainingBytes,omitempty"`
	// Metrics are extra figures under Spark's names (Kafka's
	// avgOffsetsBehindLatest, the file source's numFilesOutstanding); the
	// engine reports them as the source progress's "metrics".
	Metrics map[string]string `json:"-"`
}

// Backlogger is an optional capability: after each batch the engine asks
// Backlog(start, end) with the batch's offsets and reports the answer in
// the source's progress (SourceProgress.Backlog and Metrics). It must be
// cheap: it runs once per batch, so a source answers from what its last
// LatestOffset learnt (as Spark's Kafka source does) rather than asking
// the service again. An error only leaves the figures out of the
// progress; it never fails the query. Without it a source reports no
// backlog.
type Backlogger interface {
	Backlog(ctx context.Context, start, end Offset) (Backlog, error)
}
