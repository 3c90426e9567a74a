package exec

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ReaderScan reads rows from a reader opened when it executes, in one
// partition: data that lives outside the plan and may fail to read, such
// as a checkpoint's state (plan.LocalRelation.Open).
type ReaderScan struct {
	schema *arrow.Schema
	open   func(ctx context.Context, mem memory.Allocator) (array.RecordReader, error)
	name   string
}

// NewReaderScan scans the batches of the reader open returns; the reader
// is released when the iterator closes.
func NewReaderScan(schema *arrow.Schema, open func(ctx context.Context, mem memory.Allocator) (array.RecordReader, error), name string) *ReaderScan {
	return &ReaderScan{schema: schema, open: open, name: name}
}

func (s *ReaderScan) Schema() *arrow.Schema { return s.schema }
func (s *ReaderScan) Partitions() int       { return 1 }
func (s *ReaderScan) Children() []Operator  { return nil }
func (s *ReaderScan) String() string {
	return fmt.Sprintf("Scan %s[%s]", s.name, fieldNames(s.schema))
}

func (s *ReaderScan) Execute(ctx context.Context, tc *TaskContext, p int) (Iterator, error) {
	rr, err := s.open(ctx, tc.Mem)
	if err != nil {
		return nil, err
	}
	return &readerIter{ctx: ctx, schema: s.schema, rr: rr}, nil
}

// readerIter hands out the reader's batches, retained for the caller.
type readerIter struct {
	ctx    context.Context
	schema *arrow.Schema
	rr     array.RecordReader
}

func (it *readerIter) Next() (arrow.RecordBatch, error) {
	if it.rr == nil {
		return nil, io.EOF
	}
	if err := it.ctx.Err(); err != nil {
		return nil, err
	}
	if !it.rr.Next() {
		if err := it.rr.Err(); err != nil {
			return nil, err
		}
		return nil, io.EOF
	}
	b := it.rr.RecordBatch()
	if !arrow.TypeEqual(arrowStruct(b.Schema()), arrowStruct(it.schema)) {
		// Relabel (names may differ after aliasing); columns are shared.
		return array.NewRecordBatch(it.schema, b.Columns(), b.NumRows()), nil
	}
	b.Retain()
	return b, nil
}

func (it *readerIter) Close() {
	if it.rr != nil {
		it.rr.Release()
		it.rr = nil
	}
}
