// Package fileformat reads and writes the file formats of batch queries,
// the streaming file source and the file sink: Parquet (parquet-go), CSV and
// JSON lines. Every format moves Arrow record batches; none knows about
// DataFrames. Formats are registered in one list (Formats).
package fileformat

import (
	"context"
	"errors"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Sentinels callers test with errors.Is.
var (
	// ErrSchemaMismatch: a file's columns or types differ from the schema
	// the query expects.
	ErrSchemaMismatch = errors.New("fileformat: schema mismatch")
	// ErrMalformed: a row or value cannot be parsed.
	ErrMalformed = errors.New("fileformat: malformed record")
	// ErrOption: an unknown or invalid format option.
	ErrOption = errors.New("fileformat: invalid option")
	// ErrNoSchema: the format needs a schema (or inferSchema) and has none.
	ErrNoSchema = errors.New("fileformat: no schema")
)

// Format is one file format.
type Format interface {
	// Name is the format's name in the API and job specs: "parquet", "csv", "json".
	Name() string
	// Infer reads enough of the file to propose a schema. Parquet reads its
	// footer; CSV and JSON sample rows (option samplingRatio / maxRows).
	Infer(ctx context.Context, path string, opts ReadOptions) (*arrow.Schema, error)
	// Open starts reading path. Batches follow opts.Schema (projected by
	// opts.Columns). The reader is used by one goroutine.
	Open(ctx context.Context, path string, opts ReadOptions) (Reader, error)
	// NewWriter writes batches of schema to w. Close flushes the footer but
	// does not close w.
	NewWriter(w io.Writer, schema *arrow.Schema, opts WriteOptions) (Writer, error)
}

// ReadOptions configure reading one file.
type ReadOptions struct {
	// Schema is the full data schema of the file (without partition
	// columns). Required for CSV and JSON unless Options["inferSchema"] is
	// true; Parquet checks the file against it and reports
	// ErrSchemaMismatch naming the column.
	Schema *arrow.Schema
	// Columns projects Schema: the reader returns only these field indexes,
	// in this order. nil reads all. Parquet reads only these column chunks.
	Columns []int
	// Filters let a reader skip data that cannot match (Parquet: row groups
	// by min/max statistics). Readers may ignore them: the engine applies
	// the full predicate afterwards.
	Filters []Filter
	// BatchSize caps rows per batch; 0 means 64Ki.
	BatchSize int
	Mem       memory.Allocator
	// Options are the format options by Spark name (header, delimiter,
	// quote, escape, nullValue, inferSchema, mode, ...), already validated
	// by ValidateOptions.
	Options map[string]string
}

// Filter is a simple predicate `Column Op Value` pushed down to a reader.
// Value is in the engine's Go representation (see expr.Literal). Op is one
// of "=", "!=", "<", "<=", ">", ">=", "isnull", "isnotnull", "in" (Value is
// then []any).
type Filter struct {
	Column string
	Op     string
	Value  any
}

// Reader yields record batches of one file.
type Reader interface {
	// Schema is the schema of the batches (after projection).
	Schema() *arrow.Schema
	// Next returns the next batch, owned by the caller, or (nil, io.EOF).
	// Errors name the file, and for text formats the line and column.
	Next() (arrow.RecordBatch, error)
	Close() error
}

// WriteOptions configure writing one file.
type WriteOptions struct {
	Mem memory.Allocator
	// Options by Spark name: compression (snappy|zstd|gzip|none for parquet,
	// none|gzip for text), header, delimiter, nullValue, rowGroupSize, ...
	Options map[string]string
}

// Writer writes record batches to one file.
type Writer interface {
	// Write appends a batch. The caller keeps ownership.
	Write(b arrow.RecordBatch) error
	// Close writes any footer. It does not close the underlying io.Writer.
	Close() error
}

// Lookup returns the format registered under name (case-insensitive).
func Lookup(name string) (Format, bool) {
	for _, f := range Formats {
		if equalFold(f.Name(), name) {
			return f, true
		}
	}
	return nil, false
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
