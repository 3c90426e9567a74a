package exec

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// LocalScan yields in-memory batches, split round-robin over partitions.
// It does not own the batches: it retains each one it hands out.
type LocalScan struct {
	schema  *arrow.Schema
	batches []arrow.RecordBatch
	parts   int
	name    string
}

// NewLocalScan scans batches in parts partitions (at most one per batch).
func NewLocalScan(schema *arrow.Schema, batches []arrow.RecordBatch, parts int, name string) *LocalScan {
	parts = max(1, min(parts, len(batches)))
	return &LocalScan{schema: schema, batches: batches, parts: parts, name: name}
}

func (s *LocalScan) Schema() *arrow.Schema { return s.schema }
func (s *LocalScan) Partitions() int       { return s.parts }
func (s *LocalScan) Children() []Operator  { return nil }
func (s *LocalScan) String() string {
	return fmt.Sprintf("LocalTableScan %s[%s]", s.name, fieldNames(s.schema))
}

func (s *LocalScan) Execute(ctx context.Context, tc *TaskContext, p int) (Iterator, error) {
	var mine []arrow.RecordBatch
	for i := p; i < len(s.batches); i += s.parts {
		mine = append(mine, s.batches[i])
	}
	return &sliceIter{schema: s.schema, batches: mine}, nil
}

// sliceIter yields batches it does not own (retaining each for the caller).
type sliceIter struct {
	schema  *arrow.Schema
	batches []arrow.RecordBatch
	i       int
}

func (it *sliceIter) Next() (arrow.RecordBatch, error) {
	if it.i >= len(it.batches) {
		return nil, io.EOF
	}
	b := it.batches[it.i]
	it.i++
	if !arrow.TypeEqual(arrowStruct(b.Schema()), arrowStruct(it.schema)) {
		// Relabel (names may differ after aliasing); columns are shared.
		cols := b.Columns()
		return array.NewRecordBatch(it.schema, cols, b.NumRows()), nil
	}
	b.Retain()
	return b, nil
}
func (it *sliceIter) Close() {}

func arrowStruct(s *arrow.Schema) arrow.DataType { return arrow.StructOf(s.Fields()...) }

func fieldNames(s *arrow.Schema) string {
	parts := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		parts[i] = f.Name
	}
	return strings.Join(parts, ", ")
}

// SnapshotScan reads a table whose batches are taken when it executes (a
// memory sink's output), in one partition.
type SnapshotScan struct {
	schema *arrow.Schema
	snap   func() ([]arrow.RecordBatch, func())
	name   string
}

// NewSnapshotScan scans snap()'s batches; the release function runs on Close.
func NewSnapshotScan(schema *arrow.Schema, snap func() ([]arrow.RecordBatch, func()), name string) *SnapshotScan {
	return &SnapshotScan{schema: schema, snap: snap, name: name}
}

func (s *SnapshotScan) Schema() *arrow.Schema { return s.schema }
func (s *SnapshotScan) Partitions() int       { return 1 }
func (s *SnapshotScan) Children() []Operator  { return nil }
func (s *SnapshotScan) String() string {
	return fmt.Sprintf("InMemoryTableScan %s[%s]", s.name, fieldNames(s.schema))
}

func (s *SnapshotScan) Execute(ctx context.Context, tc *TaskContext, p int) (Iterator, error) {
	batches, release := s.snap()
	return &snapshotIter{sliceIter: sliceIter{schema: s.schema, batches: batches}, release: release}, nil
}

type snapshotIter struct {
	sliceIter
	release func()
}

func (it *snapshotIter) Close() {
	if it.release != nil {
		it.release()
		it.release = nil
	}
}
