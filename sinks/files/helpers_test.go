package files

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sinks"
)

var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "p", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// mkBatch makes rows lo..hi-1 of the test schema: id=i, x=i/2, s="s<i>"
// (NULL every 7th), p="a" or "b" by parity (NULL every 5th).
func mkBatch(mem memory.Allocator, lo, hi int) arrow.RecordBatch {
	ib := array.NewInt64Builder(mem)
	fb := array.NewFloat64Builder(mem)
	sb := array.NewStringBuilder(mem)
	pb := array.NewStringBuilder(mem)
	defer ib.Release()
	defer fb.Release()
	defer sb.Release()
	defer pb.Release()
	for i := lo; i < hi; i++ {
		ib.Append(int64(i))
		fb.Append(float64(i) / 2)
		if i%7 == 3 {
			sb.AppendNull()
		} else {
			sb.Append(fmt.Sprintf("s%d", i))
		}
		switch {
		case i%5 == 4:
			pb.AppendNull()
		case i%2 == 0:
			pb.Append("a")
		default:
			pb.Append("b/c") // needs escaping in a directory name
		}
	}
	cols := []arrow.Array{ib.NewArray(), fb.NewArray(), sb.NewArray(), pb.NewArray()}
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	return array.NewRecordBatch(testSchema, cols, int64(hi-lo))
}

// wantRows is the row text of mkBatch rows lo..hi-1.
func wantRows(lo, hi int) []string {
	var out []string
	for i := lo; i < hi; i++ {
		s := fmt.Sprintf("s%d", i)
		if i%7 == 3 {
			s = "NULL"
		}
		p := "a"
		switch {
		case i%5 == 4:
			p = "NULL"
		case i%2 == 1:
			p = "b/c"
		}
		out = append(out, fmt.Sprintf("%d|%s|%s|%s", i, expr.FormatValue(float64(i)/2, arrow.PrimitiveTypes.Float64, false), s, p))
	}
	slices.Sort(out)
	return out
}

func addBatch(t *testing.T, s *Sink, mem memory.Allocator, batch int64, lo, hi int) error {
	t.Helper()
	b := mkBatch(mem, lo, hi)
	defer b.Release()
	rr, err := array.NewRecordReader(testSchema, []arrow.RecordBatch{b})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	return s.AddBatch(context.Background(), batch, sinks.Append, rr)
}

// readRows reads every committed row of a dataset written with
// PartitionBy p, in the test schema's column order, sorted.
func readRows(t *testing.T, mem memory.Allocator, fsys storage.FS, dir, format string, opts map[string]string) []string {
	t.Helper()
	ctx := context.Background()
	files, err := fileformat.ListCommittedFiles(ctx, fsys, dir)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := fileformat.Lookup(format)
	data := arrow.NewSchema(testSchema.Fields()[:3], nil)
	var out []string
	for _, fi := range files {
		out = append(out, readFileRows(t, mem, fsys, f, fi, data, opts)...)
	}
	slices.Sort(out)
	return out
}

func readFileRows(t *testing.T, mem memory.Allocator, fsys storage.FS, f fileformat.Format, fi fileformat.FileInfo, data *arrow.Schema, opts map[string]string) []string {
	t.Helper()
	ctx := context.Background()
	file, err := fsys.Open(ctx, fi.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	ro := fileformat.ReadOptions{Schema: data, Mem: mem, Options: opts}
	var r fileformat.Reader
	if ra, ok := f.(fileformat.ReaderAtFormat); ok {
		r, err = ra.OpenReaderAt(ctx, file, file.Size(), fi.Path, ro)
	} else {
		r, err = f.(fileformat.StreamFormat).NewReader(ctx, file, fi.Path, ro)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p := "NULL"
	if v, ok := fi.Partition["p"]; ok && v != fileformat.HiveDefaultPartition {
		p = v
	}
	var out []string
	for {
		b, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < int(b.NumRows()); i++ {
			var cells []string
			for c := 0; c < int(b.NumCols()); c++ {
				cells = append(cells, expr.FormatValue(expr.ValueAt(b.Column(c), i), b.Schema().Field(c).Type, false))
			}
			if _, ok := fi.Partition["p"]; ok {
				cells = append(cells, p)
			}
			out = append(out, strings.Join(cells, "|"))
		}
		b.Release()
	}
	return out
}

func logNames(t *testing.T, fsys storage.FS, dir string) []string {
	t.Helper()
	ents, err := fsys.List(context.Background(), dir+"/"+fileformat.ManifestDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name)
	}
	slices.Sort(out)
	return out
}
