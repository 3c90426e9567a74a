package exec

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/plan"
	"github.com/sluicehq/sluice/internal/fileformat"
)

// FileScan reads a list of files of one format, spread over partitions,
// reading only the projected data columns and appending Hive partition
// columns as constants per file.
type FileScan struct {
	Format          fileformat.Format
	Files           []fileformat.FileInfo
	DataSchema      *arrow.Schema
	PartitionSchema *arrow.Schema
	// Columns index DataSchema ++ PartitionSchema; nil reads all.
	Columns []int
	Filters []fileformat.Filter
	Options map[string]string
	Parts   int

	schema *arrow.Schema
	groups [][]fileformat.FileInfo
}

// Init computes the output schema; call once after filling the fields.
func (s *FileScan) Init() *FileScan {
	all := append([]arrow.Field(nil), s.DataSchema.Fields()...)
	if s.PartitionSchema != nil {
		all = append(all, s.PartitionSchema.Fields()...)
	}
	if s.Columns == nil {
		s.Columns = make([]int, len(all))
		for i := range all {
			s.Columns[i] = i
		}
	}
	fields := make([]arrow.Field, len(s.Columns))
	for i, c := range s.Columns {
		fields[i] = all[c]
	}
	s.schema = arrow.NewSchema(fields, nil)
	if s.PartitionSchema != nil {
		// Skip whole directories whose partition values fail a filter.
		if kept, err := fileformat.PrunePartitions(s.Files, s.Filters); err == nil {
			s.Files = kept
		}
	}
	s.groups = fileformat.GroupFiles(s.Files, max(1, s.Parts))
	s.Parts = max(1, len(s.groups))
	return s
}

func (s *FileScan) Schema() *arrow.Schema { return s.schema }
func (s *FileScan) Partitions() int       { return s.Parts }
func (s *FileScan) Children() []Operator  { return nil }
func (s *FileScan) String() string {
	out := fmt.Sprintf("FileScan %s [%s] %d files", s.Format.Name(), fieldNames(s.schema), len(s.Files))
	if len(s.Filters) > 0 {
		parts := make([]string, len(s.Filters))
		for i, f := range s.Filters {
			parts[i] = plan.FileFilterString(f)
		}
		out += ", PushedFilters: [" + strings.Join(parts, ", ") + "]"
	}
	return out
}

func (s *FileScan) Execute(ctx context.Context, tc *TaskContext, p int) (Iterator, error) {
	var mine []fileformat.FileInfo
	if p < len(s.groups) {
		mine = s.groups[p]
	}
	nd := s.DataSchema.NumFields()
	var dataCols []int
	for _, c := range s.Columns {
		if c < nd {
			dataCols = append(dataCols, c)
		}
	}
	return &fileIter{s: s, ctx: ctx, tc: tc, files: mine, dataCols: dataCols}, nil
}

type fileIter struct {
	s        *FileScan
	ctx      context.Context
	tc       *TaskContext
	files    []fileformat.FileInfo
	dataCols []int
	cur      fileformat.Reader
	curFile  fileformat.FileInfo
}

func (it *fileIter) Next() (arrow.RecordBatch, error) {
	for {
		if err := it.ctx.Err(); err != nil {
			return nil, err
		}
		if it.cur == nil {
			if len(it.files) == 0 {
				return nil, io.EOF
			}
			it.curFile = it.files[0]
			it.files = it.files[1:]
			r, err := it.s.Format.Open(it.ctx, it.curFile.Path, fileformat.ReadOptions{
				Schema: it.s.DataSchema, Columns: it.dataCols, Filters: it.s.Filters,
				BatchSize: it.tc.BatchSize, Mem: it.tc.Mem, Options: it.s.Options,
			})
			if err != nil {
				return nil, err
			}
			it.cur = r
		}
		b, err := it.cur.Next()
		if err == io.EOF {
			cerr := it.cur.Close()
			it.cur = nil
			if cerr != nil {
				return nil, cerr
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		return it.assemble(b)
	}
}

// assemble orders data columns and partition constants as the scan's
// output schema asks.
func (it *fileIter) assemble(b arrow.RecordBatch) (arrow.RecordBatch, error) {
	defer b.Release()
	nd := it.s.DataSchema.NumFields()
	n := int(b.NumRows())
	cols := make([]arrow.Array, len(it.s.Columns))
	di := 0
	for i, c := range it.s.Columns {
		if c < nd {
			cols[i] = b.Column(di)
			cols[i].Retain()
			di++
			continue
		}
		f := it.s.PartitionSchema.Field(c - nd)
		v, err := fileformat.PartitionValueOf(it.curFile.Partition[f.Name], f.Type)
		if err != nil {
			releaseArrays(cols)
			return nil, fmt.Errorf("%s: %w", it.curFile.Path, err)
		}
		arr, err := expr.ConstArray(it.tc.Mem, v, f.Type, n)
		if err != nil {
			releaseArrays(cols)
			return nil, err
		}
		cols[i] = arr
	}
	out := array.NewRecordBatch(it.s.schema, cols, int64(n))
	releaseArrays(cols)
	return out, nil
}

func (it *fileIter) Close() {
	if it.cur != nil {
		it.cur.Close()
		it.cur = nil
	}
}
