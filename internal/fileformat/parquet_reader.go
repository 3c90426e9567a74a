package fileformat

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"
)

const pqDefaultBatchSize = 64 * 1024

// pqFile is an opened Parquet file with its schema tree.
type pqFile struct {
	path   string
	ra     io.ReaderAt
	size   int64
	closer io.Closer // nil: the caller owns ra
	pf     *parquet.File
	root   *pqNode
	leaves []*pqNode
}

// openPQ opens path (a local path, file:// or a remote URL, see
// ListFiles) and parses its footer. parquet-go may panic on some
// malformed footers; that is turned into ErrMalformed naming the file.
func openPQ(ctx context.Context, path string) (pf *pqFile, err error) {
	r, size, c, name, err := openRandom(ctx, path)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	return openPQReaderAt(name, r, size, c)
}

func openPQReaderAt(path string, r io.ReaderAt, size int64, closer io.Closer) (pf *pqFile, err error) {
	defer recoverMalformed(&err, path)
	if size < 12 {
		return nil, fmt.Errorf("%w: file %s is %d bytes, too short for Parquet", ErrMalformed, path, size)
	}
	if err := checkFooterSize(path, r, size); err != nil {
		return nil, err
	}
	p, err := parquet.OpenFile(r, size,
		parquet.SkipPageIndex(true),
		parquet.SkipBloomFilters(true),
		parquet.ReadBufferSize(256*1024),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: file %s: %v", ErrMalformed, path, err)
	}
	root, leaves, err := buildPQTree(p.Metadata().Schema)
	if err != nil {
		return nil, fmt.Errorf("file %s: %w", path, err)
	}
	for i, rg := range p.RowGroups() {
		if len(rg.ColumnChunks()) != len(leaves) {
			return nil, fmt.Errorf("%w: file %s: row group %d has %d columns, schema has %d", ErrMalformed, path, i, len(rg.ColumnChunks()), len(leaves))
		}
		if rg.NumRows() < 0 {
			return nil, fmt.Errorf("%w: file %s: row group %d has %d rows", ErrMalformed, path, i, rg.NumRows())
		}
	}
	// Column chunk locations must lie inside the file: parquet-go trusts them.
	for i := range p.Metadata().RowGroups {
		for j := range p.Metadata().RowGroups[i].Columns {
			md := &p.Metadata().RowGroups[i].Columns[j].MetaData
			in := func(off int64) bool { return off >= 0 && off < size }
			if !in(md.DataPageOffset) || (md.DictionaryPageOffset != 0 && !in(md.DictionaryPageOffset)) ||
				md.TotalCompressedSize < 0 || md.TotalCompressedSize > size || md.NumValues < 0 {
				return nil, fmt.Errorf("%w: file %s: row group %d column %d points outside the file", ErrMalformed, path, i, j)
			}
		}
	}
	return &pqFile{path: path, ra: r, size: size, closer: closer, pf: p, root: root, leaves: leaves}, nil
}

func (f *pqFile) close() error {
	if f.closer != nil {
		return f.closer.Close()
	}
	return nil
}

// recoverMalformed turns a panic inside parquet-go (which trusts some
// footer and page fields) into an ErrMalformed error naming the file.
func recoverMalformed(err *error, path string) {
	if r := recover(); r != nil {
		if os.Getenv("SLUICE_DEBUG_PANICS") != "" {
			fmt.Fprintf(os.Stderr, "parquet panic on %s: %v\n%s", path, r, debug.Stack())
		}
		*err = fmt.Errorf("%w: file %s: corrupt parquet data (%v)", ErrMalformed, path, r)
	}
}

// topCol is one output column of a Parquet reader.
type topCol struct {
	plan    *readPlan
	leaves  []*readPlan
	cursors []*leafCursor
	flat    bool
	width   int
}

type parquetReader struct {
	ctx    context.Context
	f      *pqFile
	mem    memory.Allocator
	schema *arrow.Schema
	cols   []*topCol
	rgs    []int // row groups to read, after pruning
	rgi    int
	left   int64 // rows left in the current row group
	batch  int
	chunks []*leafChunk
	err    error
}

func newParquetReader(ctx context.Context, path string, opts ReadOptions) (_ *parquetReader, err error) {
	f, err := openPQ(ctx, path)
	if err != nil {
		return nil, err
	}
	r, err := newParquetReaderFile(f, opts)
	if err != nil {
		return nil, err
	}
	r.ctx = ctx
	return r, nil
}

// newParquetReaderFile builds a reader over an opened file; on error the
// file is closed.
func newParquetReaderFile(f *pqFile, opts ReadOptions) (_ *parquetReader, err error) {
	path := f.path
	defer func() {
		if err != nil {
			f.close()
		}
	}()
	defer recoverMalformed(&err, path)
	schema := opts.Schema
	if schema == nil {
		if schema, err = fileArrowSchema(f.root); err != nil {
			return nil, fmt.Errorf("file %s: %w", path, err)
		}
	}
	fields := schema.Fields()
	if opts.Columns != nil {
		proj := make([]arrow.Field, len(opts.Columns))
		for i, c := range opts.Columns {
			if c < 0 || c >= len(fields) {
				return nil, fmt.Errorf("%w: column index %d outside schema of %d fields", ErrOption, c, len(fields))
			}
			proj[i] = fields[c]
		}
		fields = proj
	}
	mem := opts.Mem
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	r := &parquetReader{f: f, mem: mem, schema: arrow.NewSchema(fields, nil), batch: opts.BatchSize}
	if r.batch <= 0 {
		r.batch = pqDefaultBatchSize
	}
	for _, fld := range fields {
		n := f.root.child(fld.Name)
		if n == nil {
			return nil, fmt.Errorf("%w: file %s: column %q is missing from the file (file has %s)", ErrSchemaMismatch, path, fld.Name, childNames(f.root))
		}
		b := &planBuilder{file: path}
		p, err := b.plan(n, fld.Type)
		if err != nil {
			return nil, err
		}
		tc := &topCol{plan: p, leaves: b.leaves, width: outWidth(fld.Type)}
		tc.flat = p.kind == planLeaf && p.node.rep == 0
		for _, lp := range b.leaves {
			tc.cursors = append(tc.cursors, newLeafCursor(lp, path, mem))
		}
		r.cols = append(r.cols, tc)
	}
	k, n, err := parseSplit(opts.Options)
	if err != nil {
		return nil, err
	}
	rgs := f.pf.Metadata().RowGroups
	for i := range rgs {
		if i%n != k {
			continue
		}
		if len(opts.Filters) > 0 && rowGroupCannotMatch(f, i, opts.Filters) {
			continue
		}
		r.rgs = append(r.rgs, i)
	}
	return r, nil
}

func childNames(n *pqNode) string {
	names := make([]string, len(n.children))
	for i, c := range n.children {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

func (r *parquetReader) Schema() *arrow.Schema { return r.schema }

// startRowGroup opens the column chunks of the next row group to read,
// after checking their page headers (see checkChunkPages).
func (r *parquetReader) startRowGroup() (bool, error) {
	for r.rgi < len(r.rgs) {
		i := r.rgs[r.rgi]
		g := r.f.pf.RowGroups()[i]
		r.rgi++
		if g.NumRows() == 0 {
			continue
		}
		meta := &r.f.pf.Metadata().RowGroups[i]
		chunks := g.ColumnChunks()
		for _, c := range r.cols {
			for _, cur := range c.cursors {
				leaf := cur.plan.node.leaf
				if err := checkChunkPages(r.f.path, cur.plan.node.path, r.f.ra, r.f.size, &meta.Columns[leaf].MetaData, g.NumRows(), cur.maxRep > 0); err != nil {
					return false, err
				}
				cur.start(chunks[leaf].Pages())
			}
		}
		r.left = g.NumRows()
		return true, nil
	}
	return false, nil
}

func (r *parquetReader) Next() (rec arrow.RecordBatch, err error) {
	if r.err != nil {
		return nil, r.err
	}
	defer func() {
		if err != nil && err != io.EOF {
			r.err = err
		}
	}()
	defer recoverMalformed(&err, r.f.path)
	if r.ctx != nil {
		if err := r.ctx.Err(); err != nil {
			return nil, err
		}
	}
	if r.left == 0 {
		ok, err := r.startRowGroup()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, io.EOF
		}
	}
	n := int(min(int64(r.batch), r.left))
	arrs := make([]arrow.Array, 0, len(r.cols))
	defer func() {
		for _, a := range arrs {
			a.Release()
		}
	}()
	for _, c := range r.cols {
		var a arrow.Array
		if c.flat {
			a, err = r.readFlat(c, n)
		} else {
			a, err = r.readNested(c, n)
		}
		if err != nil {
			return nil, err
		}
		arrs = append(arrs, a)
	}
	r.left -= int64(n)
	return array.NewRecordBatch(r.schema, arrs, int64(n)), nil
}

func (r *parquetReader) readFlat(c *topCol, n int) (arrow.Array, error) {
	cur := c.cursors[0]
	out := newColBuf(r.mem, c.width)
	defer out.release()
	out.reserve(n)
	out.hint = n
	v := validity{mem: r.mem}
	defer v.release()
	got, err := cur.readFlat(n, out, &v)
	if err != nil {
		return nil, err
	}
	if got != n {
		return nil, fmt.Errorf("%w: file %s: column %q has fewer values than the row group's %d rows", ErrMalformed, r.f.path, cur.plan.node.path, n)
	}
	vb, nulls := v.finish()
	offs, vals := out.finish()
	var bufs []*memory.Buffer
	if c.width == 0 {
		bufs = []*memory.Buffer{vb, offs, vals}
	} else {
		bufs = []*memory.Buffer{vb, vals}
	}
	d := array.NewData(c.plan.dt, n, bufs, nil, nulls, 0)
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
	defer d.Release()
	return array.MakeFromData(d), nil
}

func (r *parquetReader) readNested(c *topCol, n int) (arrow.Array, error) {
	chunks := make([]*leafChunk, len(c.cursors))
	ents := make([][]int32, len(c.cursors))
	defer func() {
		for _, ch := range chunks {
			if ch != nil {
				ch.dense.release()
			}
		}
	}()
	for i, cur := range c.cursors {
		ch := &leafChunk{dense: newColBuf(r.mem, outWidth(cur.plan.dt))}
		chunks[i] = ch
		got, err := cur.readLevels(n, ch)
		if err != nil {
			return nil, err
		}
		if got != n {
			return nil, fmt.Errorf("%w: file %s: column %q has fewer rows than the row group's %d", ErrMalformed, r.f.path, cur.plan.node.path, n)
		}
		e := make([]int32, 0, n)
		for pos := range ch.defs {
			if cur.maxRep == 0 || ch.reps[pos] == 0 {
				e = append(e, int32(pos))
			}
		}
		if len(ch.defs) == 0 { // required leaf, no levels
			for pos := 0; pos < n; pos++ {
				e = append(e, int32(pos))
			}
		}
		ents[i] = e
	}
	d, err := assemble(r.mem, c.plan, chunks, ents, r.f.path)
	if err != nil {
		return nil, err
	}
	defer d.Release()
	return array.MakeFromData(d), nil
}

func (r *parquetReader) Close() error {
	for _, c := range r.cols {
		for _, cur := range c.cursors {
			cur.close()
		}
	}
	r.cols = nil
	return r.f.close()
}

// SplitOption is the read option that restricts a Parquet reader to part
// of a file: "k/n" reads the row groups whose index modulo n is k, so n
// readers of the same file (k = 0..n-1) read it in parallel without
// overlap. See Parquet.Splits.
const SplitOption = "rowGroupSplit"

func parseSplit(opts map[string]string) (k, n int, err error) {
	v := ""
	for key, val := range opts {
		if strings.EqualFold(key, SplitOption) {
			v = val
		}
	}
	if v == "" {
		return 0, 1, nil
	}
	a, b, ok := strings.Cut(v, "/")
	k, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 0 || k >= n {
		return 0, 1, fmt.Errorf("%w: parquet option %s=%q: want k/n with 0 <= k < n", ErrOption, SplitOption, v)
	}
	return k, n, nil
}

// Splits reports how many parts path can be read in (its row groups) and
// its row count, from the footer. A scan with fewer files than
// partitions reads a file with rowGroupSplit=k/n in n tasks.
func (Parquet) Splits(ctx context.Context, path string) (rowGroups int, rows int64, err error) {
	f, err := openPQ(ctx, path)
	if err != nil {
		return 0, 0, err
	}
	defer f.close()
	md := f.pf.Metadata()
	return len(md.RowGroups), md.NumRows, nil
}
