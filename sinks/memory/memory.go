// Package memory is the memory sink: it keeps a query's output in memory
// as a table other code can read while the query runs (tests, demos,
// notebooks). Append and update add rows; complete replaces the table.
package memory

import (
	"context"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/sinks"
)

// Sink holds the output batches. It is exactly-once: a replayed batch id
// that was already added is ignored.
type Sink struct {
	name    string
	mu      sync.Mutex
	schema  *arrow.Schema
	batches []arrow.RecordBatch
	lastID  int64
}

// New makes an empty memory sink named name.
func New(name string) *Sink { return &Sink{name: name, lastID: -1} }

// AddBatch stores the batch's rows.
func (s *Sink) AddBatch(ctx context.Context, batchID int64, mode sinks.OutputMode, rows array.RecordReader) error {
	var in []arrow.RecordBatch
	for rows.Next() {
		b := rows.RecordBatch()
		b.Retain()
		in = append(in, b)
	}
	if err := rows.Err(); err != nil {
		release(in)
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if batchID <= s.lastID {
		release(in)
		return nil
	}
	s.lastID = batchID
	s.schema = rows.Schema()
	if mode == sinks.Complete {
		release(s.batches)
		s.batches = nil
	}
	s.batches = append(s.batches, in...)
	return nil
}

// Snapshot returns the current rows, retained for the caller, and a
// function that releases them.
func (s *Sink) Snapshot() (*arrow.Schema, []arrow.RecordBatch, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]arrow.RecordBatch(nil), s.batches...)
	for _, b := range out {
		b.Retain()
	}
	return s.schema, out, func() { release(out) }
}

// Close is a no-op: the table stays readable after its query stops, as in
// Spark. Drop frees it.
func (s *Sink) Close() error { return nil }

// Drop frees the stored rows.
func (s *Sink) Drop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	release(s.batches)
	s.batches = nil
	return nil
}

func (s *Sink) Description() string { return "MemorySink[" + s.name + "]" }

func release(bs []arrow.RecordBatch) {
	for _, b := range bs {
		b.Release()
	}
}
