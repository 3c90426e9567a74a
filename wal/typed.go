package wal

import (
	"context"
	"fmt"
)

// Codec turns the entries of a typed log into bytes and back.
//
// Encode must be deterministic (same value, same bytes): a replayed batch
// is recognised by byte equality. Decode gets the entry's name for its
// error messages and must not panic on any input.
type Codec[T any] struct {
	Encode func(v T) ([]byte, error)
	Decode func(name string, data []byte) (T, error)
}

// TypedLog is a Log whose entries are values of T. Sources and sinks with
// their own logs (file source seen-files, file sink manifest) build one
// with their own Codec over Checkpoint.Sources(i) or a Log of their own.
type TypedLog[T any] struct {
	log   *Log
	codec Codec[T]
}

// NewTypedLog types log with codec.
func NewTypedLog[T any](log *Log, codec Codec[T]) *TypedLog[T] {
	return &TypedLog[T]{log: log, codec: codec}
}

// Log is the untyped log underneath.
func (l *TypedLog[T]) Log() *Log { return l.log }

// Add encodes v and adds it as batch id (see Log.Add).
func (l *TypedLog[T]) Add(ctx context.Context, id int64, v T) error {
	data, err := l.codec.Encode(v)
	if err != nil {
		return fmt.Errorf("wal: encode batch %d for %s: %w", id, l.log.dir, err)
	}
	return l.log.Add(ctx, id, data)
}

// Get returns the entry of batch id; a missing one wraps ErrNotFound, an
// undecodable one ErrCorrupt or ErrUnsupportedVersion.
func (l *TypedLog[T]) Get(ctx context.Context, id int64) (T, error) {
	data, err := l.log.Get(ctx, id)
	if err != nil {
		var zero T
		return zero, err
	}
	return l.codec.Decode(l.log.Path(id), data)
}

// Latest returns the entry with the highest batch id; ok is false for an
// empty log. A corrupt latest entry is an error naming its file, never a
// fallback to an older entry.
func (l *TypedLog[T]) Latest(ctx context.Context) (id int64, v T, ok bool, err error) {
	id, data, ok, err := l.log.Latest(ctx)
	if err != nil || !ok {
		return -1, v, false, err
	}
	v, err = l.codec.Decode(l.log.Path(id), data)
	if err != nil {
		return -1, v, false, fmt.Errorf("wal: latest entry: %w", err)
	}
	return id, v, true, nil
}

// LatestID returns the highest batch id without reading the entry.
func (l *TypedLog[T]) LatestID(ctx context.Context) (int64, bool, error) {
	return l.log.LatestID(ctx)
}

// List returns the batch ids present, ascending.
func (l *TypedLog[T]) List(ctx context.Context) ([]int64, error) { return l.log.List(ctx) }

// Purge deletes the entries below keepFrom.
func (l *TypedLog[T]) Purge(ctx context.Context, keepFrom int64) error {
	return l.log.Purge(ctx, keepFrom)
}
