package files

import (
	"context"
	"fmt"
	"path"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sinks"
)

// fileNamer gives the relative names of the files one writer creates.
// Names must be a pure function of the input (the batch id and the order
// of rows), so that a replayed batch overwrites the files of its crashed
// attempt instead of adding new ones.
type fileNamer func(part string, seq int) string

// dataWriter writes rows into files of one output directory: one open
// file per partition directory, rolled at MaxRecordsPerFile and
// TargetFileSize. Files are published (storage Create, visible on Close)
// as they are finished; nothing names them until the manifest does.
type dataWriter struct {
	ctx      context.Context
	fs       storage.FS
	dir      string
	format   fileformat.Format
	wopts    fileformat.WriteOptions
	mem      memory.Allocator
	name     fileNamer
	now      func() int64
	batch    int64
	maxRows  int64
	target   int64
	data     *arrow.Schema // written columns (input minus partition columns)
	dataCols []int
	parts    []partCol
	open     map[string]*outFile
	order    []string
	seq      int
	done     []fileformat.ManifestFile
	keyBuf   []byte
}

// partCol formats one partition column's directory value.
type partCol struct {
	idx  int
	name string // escaped for the directory
	raw  string // as in the schema
	dt   arrow.DataType
}

type outFile struct {
	w       storage.Writer
	cw      *countingWriter
	fw      fileformat.Writer
	rel     string
	part    string
	vals    map[string]string
	rows    int64
	inBytes int64 // Arrow bytes written to the format writer
	// ratio estimates output bytes per input byte once something was
	// flushed (1 before that, which overestimates for compressed data).
	inAtFlush int64
}

type countingWriter struct {
	w storage.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func newDataWriter(ctx context.Context, fsys storage.FS, dir string, format fileformat.Format, schema *arrow.Schema,
	partitionBy []string, o *Options, batch int64, name fileNamer, now func() int64) (*dataWriter, error) {
	dw := &dataWriter{ctx: ctx, fs: fsys, dir: dir, format: format, mem: o.Mem, name: name, now: now, batch: batch,
		maxRows: o.MaxRecordsPerFile, target: o.TargetFileSize, open: map[string]*outFile{}}
	dw.wopts = fileformat.WriteOptions{Mem: o.Mem, Options: o.writeOptions()}
	isPart := map[int]bool{}
	for _, p := range partitionBy {
		idx := schema.FieldIndices(p)
		if len(idx) == 0 {
			return nil, fmt.Errorf("%w: file sink %s: partition column %q is not in the result (columns: %s)", sinks.ErrSink, dir, p, fieldNames(schema))
		}
		f := schema.Field(idx[0])
		switch f.Type.ID() {
		case arrow.STRUCT, arrow.LIST, arrow.MAP, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST, arrow.BINARY, arrow.LARGE_BINARY:
			return nil, fmt.Errorf("%w: file sink %s: cannot partition by %q of type %s; use a column of an atomic type", sinks.ErrSink, dir, p, expr.TypeName(f.Type))
		}
		isPart[idx[0]] = true
		dw.parts = append(dw.parts, partCol{idx: idx[0], name: fileformat.EscapePartitionValue(f.Name), raw: f.Name, dt: f.Type})
	}
	var fields []arrow.Field
	for i, f := range schema.Fields() {
		if !isPart[i] {
			dw.dataCols = append(dw.dataCols, i)
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("%w: file sink %s: every column is a partition column; nothing is left to write in the files", sinks.ErrSink, dir)
	}
	dw.data = arrow.NewSchema(fields, nil)
	return dw, nil
}

func fieldNames(s *arrow.Schema) string {
	out := ""
	for i, f := range s.Fields() {
		if i > 0 {
			out += ", "
		}
		out += f.Name
	}
	return out
}

// write routes the rows of b to their partitions' files.
func (dw *dataWriter) write(b arrow.RecordBatch) error {
	if err := dw.ctx.Err(); err != nil {
		return err
	}
	n := int(b.NumRows())
	if n == 0 {
		return nil
	}
	if len(dw.parts) == 0 {
		return dw.writeTo("", -1, b, b)
	}
	// One key per row; rows of a key are gathered with Take.
	groups := map[string]int{}
	var keys []string
	var first []int
	var idx [][]int32
	for i := 0; i < n; i++ {
		dw.keyBuf = dw.partKey(dw.keyBuf[:0], b, i)
		g, ok := groups[string(dw.keyBuf)]
		if !ok {
			g = len(keys)
			k := string(dw.keyBuf)
			groups[k] = g
			keys = append(keys, k)
			first = append(first, i)
			idx = append(idx, nil)
		}
		idx[g] = append(idx[g], int32(i))
	}
	if len(keys) == 1 {
		return dw.writeTo(keys[0], first[0], b, b)
	}
	cctx := compute.WithAllocator(dw.ctx, dw.mem)
	for g, k := range keys {
		ib := array.NewInt32Builder(dw.mem)
		ib.AppendValues(idx[g], nil)
		ix := ib.NewArray()
		ib.Release()
		cols := make([]arrow.Array, b.NumCols())
		var err error
		for c := range cols {
			if cols[c], err = compute.TakeArray(cctx, b.Column(c), ix); err != nil {
				break
			}
		}
		ix.Release()
		if err == nil {
			sub := array.NewRecordBatch(b.Schema(), cols, int64(len(idx[g])))
			err = dw.writeTo(k, first[g], b, sub)
			sub.Release()
		}
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// partKey appends row i's partition directory (col=value/...) to dst.
func (dw *dataWriter) partKey(dst []byte, b arrow.RecordBatch, i int) []byte {
	for j, p := range dw.parts {
		if j > 0 {
			dst = append(dst, '/')
		}
		dst = append(dst, p.name...)
		dst = append(dst, '=')
		s, null := partValue(b.Column(p.idx), p.dt, i)
		if null || s == "" {
			dst = append(dst, fileformat.HiveDefaultPartition...)
		} else {
			dst = append(dst, fileformat.EscapePartitionValue(s)...)
		}
	}
	return dst
}

// partValue is the text of a partition value, with fast paths for the
// usual string and integer columns.
func partValue(col arrow.Array, dt arrow.DataType, i int) (string, bool) {
	if col.IsNull(i) {
		return "", true
	}
	switch a := col.(type) {
	case *array.String:
		return a.Value(i), false
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10), false
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10), false
	}
	return expr.FormatValue(expr.ValueAt(col, i), dt, false), false
}

// partValues are the unescaped partition values of row i, for the
// manifest.
func (dw *dataWriter) partValues(b arrow.RecordBatch, i int) map[string]string {
	if len(dw.parts) == 0 {
		return nil
	}
	m := make(map[string]string, len(dw.parts))
	for _, p := range dw.parts {
		s, null := partValue(b.Column(p.idx), p.dt, i)
		if null || s == "" {
			s = fileformat.HiveDefaultPartition
		}
		m[p.raw] = s
	}
	return m
}

// writeTo writes the data columns of b (rows of partition part; row rep
// of src represents the partition's values) to the partition's files.
func (dw *dataWriter) writeTo(part string, rep int, src, b arrow.RecordBatch) error {
	cols := make([]arrow.Array, len(dw.dataCols))
	for i, c := range dw.dataCols {
		cols[i] = b.Column(c)
	}
	data := array.NewRecordBatch(dw.data, cols, b.NumRows())
	defer data.Release()
	n := data.NumRows()
	perRow := float64(recordBytes(data)) / float64(n)
	for off := int64(0); off < n; {
		of, err := dw.file(part, rep, src)
		if err != nil {
			return err
		}
		k := n - off
		if dw.maxRows > 0 {
			k = min(k, dw.maxRows-of.rows)
		}
		if dw.target > 0 {
			k = min(k, max(1, int64(float64(dw.target-of.estimate())/(perRow*of.ratio()))))
		}
		chunk := data
		if off != 0 || k != n {
			chunk = data.NewSlice(off, off+k)
		}
		err = of.fw.Write(chunk)
		if chunk != data {
			chunk.Release()
		}
		if err != nil {
			return fmt.Errorf("%w: file sink %s: write %s: %w", sinks.ErrSink, dw.dir, of.rel, err)
		}
		before := of.cw.n
		of.rows += k
		of.inBytes += int64(perRow * float64(k))
		if of.cw.n != before {
			of.inAtFlush = of.inBytes
		}
		off += k
		if (dw.maxRows > 0 && of.rows >= dw.maxRows) || (dw.target > 0 && of.estimate() >= dw.target) {
			if err := dw.closeFile(part); err != nil {
				return err
			}
		}
	}
	return nil
}

func (of *outFile) ratio() float64 {
	if of.cw.n == 0 || of.inAtFlush == 0 {
		return 1
	}
	return float64(of.cw.n) / float64(of.inAtFlush)
}

// estimate is the file's size if it were closed now.
func (of *outFile) estimate() int64 {
	return of.cw.n + int64(float64(of.inBytes-of.inAtFlush)*of.ratio())
}

func (dw *dataWriter) file(part string, rep int, src arrow.RecordBatch) (*outFile, error) {
	if of, ok := dw.open[part]; ok {
		return of, nil
	}
	rel := dw.name(part, dw.seq)
	dw.seq++
	w, err := dw.fs.Create(dw.ctx, path.Join(dw.dir, rel), storage.WriteOptions{})
	if err != nil {
		return nil, fmt.Errorf("%w: file sink %s: create %s: %w", sinks.ErrSink, dw.dir, rel, err)
	}
	cw := &countingWriter{w: w}
	fw, err := dw.format.NewWriter(cw, dw.data, dw.wopts)
	if err != nil {
		w.Abort()
		return nil, fmt.Errorf("%w: file sink %s: %w", sinks.ErrSink, dw.dir, err)
	}
	of := &outFile{w: w, cw: cw, fw: fw, rel: rel, part: part}
	if rep >= 0 {
		of.vals = dw.partValues(src, rep)
	}
	dw.open[part] = of
	dw.order = append(dw.order, part)
	return of, nil
}

// closeFile finishes and publishes the open file of part.
func (dw *dataWriter) closeFile(part string) error {
	of := dw.open[part]
	delete(dw.open, part)
	if err := of.fw.Close(); err != nil {
		of.w.Abort()
		return fmt.Errorf("%w: file sink %s: finish %s: %w", sinks.ErrSink, dw.dir, of.rel, err)
	}
	if err := of.w.Close(); err != nil {
		return fmt.Errorf("%w: file sink %s: publish %s: %w", sinks.ErrSink, dw.dir, of.rel, err)
	}
	dw.done = append(dw.done, fileformat.ManifestFile{Path: of.rel, Size: of.cw.n, Rows: of.rows,
		ModTimeMs: dw.now(), Batch: dw.batch, Partition: of.vals})
	return nil
}

// finish closes every open file, in the order they were opened, and
// returns the files written.
func (dw *dataWriter) finish() ([]fileformat.ManifestFile, error) {
	for _, part := range dw.order {
		if _, ok := dw.open[part]; !ok {
			continue
		}
		if err := dw.closeFile(part); err != nil {
			dw.abort()
			return nil, err
		}
	}
	return dw.done, nil
}

// abort discards the open files (published ones stay, unnamed by any
// manifest, so invisible).
func (dw *dataWriter) abort() {
	for part, of := range dw.open {
		of.w.Abort()
		delete(dw.open, part)
	}
}

// recordBytes is the size of the buffers a batch references (a slice
// counts its whole buffers: an estimate, used only to roll files).
func recordBytes(b arrow.RecordBatch) int64 {
	var n int64
	for _, c := range b.Columns() {
		n += dataBytes(c.Data())
	}
	return n
}

func dataBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		n += dataBytes(c)
	}
	return n
}
