// Package sinks defines the streaming Sink contract and the registry of
// built-in sinks (console, memory, foreachBatch, files, kafka), each in a
// subpackage. Sinks speak Arrow, never DataFrames.
package sinks

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// ErrSink is the sentinel wrapped by sink failures.
var ErrSink = errors.New("sink")

// OutputMode says which rows of the result table a batch delivers.
type OutputMode int

const (
	// Append: only rows that will never change again (new rows of a
	// stateless query; windows closed by the watermark).
	Append OutputMode = iota
	// Update: the rows that changed in this batch (upserts by key).
	Update
	// Complete: the whole result table, every batch.
	Complete
)

func (m OutputMode) String() string { return [...]string{"append", "update", "complete"}[m] }

// ParseOutputMode accepts append, update, complete (any case).
func ParseOutputMode(s string) (OutputMode, error) {
	switch strings.ToLower(s) {
	case "append":
		return Append, nil
	case "update":
		return Update, nil
	case "complete":
		return Complete, nil
	}
	return 0, fmt.Errorf("%w: unknown output mode %q; use append, update or complete", ErrSink, s)
}

// Sink receives the rows of one micro-batch.
//
// AddBatch may be called more than once with the same batchID (after a
// crash the engine replays the last uncommitted batch); a Sink must make
// the second call a no-op or an exact overwrite. When AddBatch returns nil
// the batch is durable.
//
// The engine calls AddBatch from one goroutine at a time. rows is owned by
// the caller: a Sink that keeps a batch beyond the call must Retain it.
type Sink interface {
	AddBatch(ctx context.Context, batchID int64, mode OutputMode, rows array.RecordReader) error
	Close() error
}

// Describer is an optional capability: a one-line description for progress
// ("MemorySink[clicks]", "ConsoleSink"). Without it the engine uses the Go
// type name.
type Describer interface {
	Description() string
}

// ModeChecker is an optional capability: a sink that supports only some
// output modes (files: append only) says so at Start(), with the reason.
type ModeChecker interface {
	SupportsMode(mode OutputMode) error
}
