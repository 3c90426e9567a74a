package plan

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/fileformat"
)

// LocalRelation is a leaf over in-memory batches. The plan does not own
// the batches: whoever created the DataFrame keeps them alive.
type LocalRelation struct {
	Attrs   []Attribute
	Batches []arrow.RecordBatch
	// Name describes the data in EXPLAIN (e.g. a view or stream name).
	Name string
	// Snapshot, when set, supplies the batches at execution time instead
	// of Batches (a memory sink's table, which grows while queries run):
	// it returns retained batches and the function that releases them.
	Snapshot func() ([]arrow.RecordBatch, func())
	// Open, when set, reads the rows when the query runs, from data
	// outside the plan that may fail to read (a checkpoint's state, read
	// by the state data source). Its batches must have Attrs' schema and
	// are allocated from mem; the scan releases the reader.
	Open func(ctx context.Context, mem memory.Allocator) (array.RecordReader, error)
}

func (r *LocalRelation) Output() []Attribute      { return r.Attrs }
func (r *LocalRelation) Children() []Node         { return nil }
func (r *LocalRelation) WithChildren([]Node) Node { return r }
func (r *LocalRelation) String() string {
	rows := int64(0)
	for _, b := range r.Batches {
		rows += b.NumRows()
	}
	name := r.Name
	if name != "" {
		name += " "
	}
	if r.Open != nil {
		return fmt.Sprintf("LocalRelation %s[%s]", name, attrNames(r.Attrs))
	}
	return fmt.Sprintf("LocalRelation %s[%s], %d rows", name, attrNames(r.Attrs), rows)
}

// FileScan reads files of one format. Files are listed when the DataFrame
// is created (like Spark's InMemoryFileIndex); Columns and PushedFilters are
// set by the optimizer.
type FileScan struct {
	Format          string
	Paths           []string
	Options         map[string]string
	DataSchema      *arrow.Schema // columns inside the files
	PartitionSchema *arrow.Schema // Hive partition columns from directory names
	Files           []fileformat.FileInfo
	// Columns selects fields of DataSchema ++ PartitionSchema, in order;
	// nil means all.
	Columns       []int
	PushedFilters []fileformat.Filter
	Qualifier     string
}

// AllAttrs is the unprojected output: data columns then partition columns.
func (s *FileScan) AllAttrs() []Attribute {
	out := AttrsOf(s.DataSchema, s.Qualifier)
	if s.PartitionSchema != nil {
		out = append(out, AttrsOf(s.PartitionSchema, s.Qualifier)...)
	}
	return out
}

func (s *FileScan) Output() []Attribute {
	all := s.AllAttrs()
	if s.Columns == nil {
		return all
	}
	out := make([]Attribute, len(s.Columns))
	for i, c := range s.Columns {
		out[i] = all[c]
	}
	return out
}
func (s *FileScan) Children() []Node         { return nil }
func (s *FileScan) WithChildren([]Node) Node { return s }
func (s *FileScan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "FileScan %s [%s] %d files from %s", s.Format, attrNames(s.Output()), len(s.Files), strings.Join(s.Paths, ", "))
	if len(s.PushedFilters) > 0 {
		parts := make([]string, len(s.PushedFilters))
		for i, f := range s.PushedFilters {
			parts[i] = FileFilterString(f)
		}
		fmt.Fprintf(&b, ", PushedFilters: [%s]", strings.Join(parts, ", "))
	}
	return b.String()
}

// FileFilterString renders a pushed filter for EXPLAIN: "id > 1",
// "name isnotnull", "k in [1 2]".
func FileFilterString(f fileformat.Filter) string {
	if f.Value == nil {
		return f.Column + " " + f.Op
	}
	return fmt.Sprintf("%s %s %v", f.Column, f.Op, f.Value)
}

func attrNames(as []Attribute) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.Name
	}
	return strings.Join(parts, ", ")
}
