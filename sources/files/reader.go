package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"

	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sources"
)

// fileReader reads the files of one batch, one after the other, as an
// array.RecordReader. Each Arrow batch has the source's schema: the data
// columns, then the partition columns of the file. The batch returned by
// RecordBatch belongs to the reader until the next call to Next.
type fileReader struct {
	refs  atomic.Int64
	s     *Source
	ctx   context.Context
	files []seenFile
	first int64 // log offsets covered, for bad-record file names
	last  int64

	i       int
	cur     fileformat.Reader
	curFile storage.File
	curInfo seenFile
	curRow  int64 // records of the current file read so far
	rec     arrow.RecordBatch
	err     error
	done    bool
	bad     *badCollector // nil without BadRecordsPath
	badText bool          // CSV/JSON: a corrupt-record column is read
}

func newFileReader(ctx context.Context, s *Source, files []seenFile, first, last int64) *fileReader {
	r := &fileReader{s: s, ctx: ctx, files: files, first: first, last: last}
	r.refs.Store(1)
	if s.badFS != nil {
		r.bad = &badCollector{}
		name := s.format.Name()
		r.badText = name == "csv" || name == "json"
	}
	return r
}

func (r *fileReader) Retain() { r.refs.Add(1) }

func (r *fileReader) Release() {
	if r.refs.Add(-1) == 0 {
		r.releaseRec()
		r.closeFile()
	}
}

func (r *fileReader) Schema() *arrow.Schema { return r.s.schema }

func (r *fileReader) RecordBatch() arrow.RecordBatch { return r.rec }

// Record is the deprecated name of RecordBatch.
func (r *fileReader) Record() arrow.RecordBatch { return r.rec }

func (r *fileReader) Err() error { return r.err }

func (r *fileReader) releaseRec() {
	if r.rec != nil {
		r.rec.Release()
		r.rec = nil
	}
}

func (r *fileReader) closeFile() {
	if r.cur != nil {
		r.cur.Close()
		r.cur = nil
	}
	if r.curFile != nil {
		r.curFile.Close()
		r.curFile = nil
	}
}

func (r *fileReader) Next() bool {
	r.releaseRec()
	for {
		if r.err != nil || r.done {
			return false
		}
		if r.cur == nil {
			if r.i == len(r.files) {
				r.finish()
				return false
			}
			f := r.files[r.i]
			r.i++
			if err := r.open(f); err != nil {
				r.fail(f, err)
			}
			continue
		}
		b, err := r.cur.Next()
		if err == io.EOF {
			r.closeFile()
			continue
		}
		if err != nil {
			r.fail(r.curInfo, err)
			r.closeFile()
			continue
		}
		out, err := r.shape(b)
		b.Release()
		if err != nil {
			r.err = fmt.Errorf("%w: file source: %s: %w", sources.ErrSource, r.curInfo.Path, err)
			return false
		}
		if out.NumRows() == 0 {
			out.Release()
			continue
		}
		r.rec = out
		return true
	}
}

// fail handles a file that cannot be opened or read: with BadRecordsPath
// a malformed file is recorded and skipped (rows read before stay);
// otherwise the batch fails naming the file.
func (r *fileReader) fail(f seenFile, err error) {
	if r.bad != nil && errors.Is(err, fileformat.ErrMalformed) {
		r.bad.addFile(f.Path, err, r.curRow)
		return
	}
	if r.err == nil {
		r.err = fmt.Errorf("%w: file source: read %s: %w", sources.ErrSource, f.Path, err)
	}
}

func (r *fileReader) open(f seenFile) error {
	r.curInfo, r.curRow = f, 0
	file, err := r.s.fs.Open(r.ctx, f.Path)
	if err != nil {
		return err
	}
	ro := r.s.readOptions(r.badText)
	var rd fileformat.Reader
	switch ff := r.s.format.(type) {
	case fileformat.ReaderAtFormat:
		rd, err = ff.OpenReaderAt(r.ctx, file, file.Size(), f.Path, ro)
	case fileformat.StreamFormat:
		rd, err = ff.NewReader(r.ctx, file, f.Path, ro)
	default:
		err = fmt.Errorf("format %s cannot read from storage", r.s.format.Name())
	}
	if err != nil {
		file.Close()
		return err
	}
	r.cur, r.curFile = rd, file
	return nil
}

// readOptions are the format's options for reading one file; bad adds
// the corrupt-record column in PERMISSIVE mode.
func (s *Source) readOptions(bad bool) fileformat.ReadOptions {
	ro := fileformat.ReadOptions{Schema: s.sc.data, Mem: s.mem, BatchSize: s.o.BatchSize, Options: s.o.FormatOptions}
	if bad {
		opts := make(map[string]string, len(s.o.FormatOptions)+2)
		for k, v := range s.o.FormatOptions {
			opts[k] = v
		}
		opts["mode"] = "PERMISSIVE"
		opts["columnNameOfCorruptRecord"] = badRecordColumn
		ro.Options = opts
		fields := append(append([]arrow.Field(nil), s.sc.data.Fields()...), arrow.Field{Name: badRecordColumn, Type: arrow.BinaryTypes.String, Nullable: true})
		ro.Schema = arrow.NewSchema(fields, nil)
	}
	return ro
}

// shape turns a batch as read into the source's schema: malformed rows
// out (to the bad-record collector), partition columns in.
func (r *fileReader) shape(b arrow.RecordBatch) (arrow.RecordBatch, error) {
	start := r.curRow
	r.curRow += b.NumRows()
	var data arrow.RecordBatch
	if r.badText {
		var err error
		if data, err = r.splitBad(b, start); err != nil {
			return nil, err
		}
	} else {
		b.Retain()
		data = b
	}
	defer data.Release()
	if r.s.sc.part == nil {
		data.Retain()
		return data, nil
	}
	return fileformat.AppendPartitionColumns(r.s.mem, data, r.s.sc.part, fileformat.FileInfo{Path: r.curInfo.Path, Partition: r.curInfo.Partition})
}

// splitBad records the rows whose corrupt-record column is set and
// returns the others without that column. start is the file's record
// number before b.
func (r *fileReader) splitBad(b arrow.RecordBatch, start int64) (arrow.RecordBatch, error) {
	nc := int(b.NumCols()) - 1
	corrupt := b.Column(nc).(*array.String)
	cols := b.Columns()[:nc]
	schema := r.s.sc.data
	if corrupt.NullN() == corrupt.Len() {
		return array.NewRecordBatch(schema, cols, b.NumRows()), nil
	}
	keep := make([]int32, 0, b.NumRows())
	for i := 0; i < corrupt.Len(); i++ {
		if corrupt.IsNull(i) {
			keep = append(keep, int32(i))
			continue
		}
		raw := corrupt.Value(i)
		r.bad.addRecord(r.curInfo.Path, start+int64(i)+1, raw, r.s.reason(r.ctx, r.curInfo.Path, raw))
	}
	ib := array.NewInt32Builder(r.s.mem)
	ib.AppendValues(keep, nil)
	idx := ib.NewArray()
	ib.Release()
	defer idx.Release()
	cctx := compute.WithAllocator(r.ctx, r.s.mem)
	out := make([]arrow.Array, nc)
	for c := range out {
		a, err := compute.TakeArray(cctx, cols[c], idx)
		if err != nil {
			for _, x := range out[:c] {
				x.Release()
			}
			return nil, err
		}
		out[c] = a
	}
	rec := array.NewRecordBatch(schema, out, int64(len(keep)))
	for _, a := range out {
		a.Release()
	}
	return rec, nil
}

// finish writes the batch's bad records, once the whole batch was read.
func (r *fileReader) finish() {
	r.done = true
	if r.bad == nil {
		return
	}
	if err := r.bad.flush(r.ctx, r.s, r.first, r.last); err != nil {
		r.err = err
	}
}
