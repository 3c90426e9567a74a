package fileformat

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// JSON is the "json" format: JSON lines, one object per line (Spark's
// default multiLine=false; multiLine=true is rejected). Decoding is done by
// JSONDecoder (see there for the type rules); blank lines are skipped and
// mode defaults to FAILFAST (Spark: PERMISSIVE). Writing follows Spark's
// to_json: one object per line, fields in schema order, NULL fields
// omitted (ignoreNullFields=true), timestamps as
// "2026-01-02T03:04:05.000Z" (timestampFormat), binary as base64.
var JSON Format = jsonFormat{}

type jsonFormat struct{}

func (jsonFormat) Name() string { return "json" }

func (jsonFormat) ValidateOptions(opts map[string]string) error {
	_, err := parseJSONOptions(opts)
	return err
}

func (f jsonFormat) Open(ctx context.Context, path string, opts ReadOptions) (Reader, error) {
	o, err := parseJSONOptions(opts.Options)
	if err != nil {
		return nil, err
	}
	if opts.Schema == nil {
		if !o.inferSchema {
			return nil, errNoSchema("json", DisplayName(path))
		}
		s, err := f.Infer(ctx, path, opts)
		if err != nil {
			return nil, err
		}
		opts.Schema = s
	}
	file, name, err := openInput(ctx, path)
	if err != nil {
		return nil, err
	}
	r, err := newJSONReader(ctx, file, name, opts, o)
	if err != nil {
		file.Close()
		return nil, err
	}
	r.closers = append(r.closers, file)
	return r, nil
}

// NewReader reads JSON lines from r (see StreamFormat). A schema is
// required.
func (jsonFormat) NewReader(ctx context.Context, r io.Reader, name string, opts ReadOptions) (Reader, error) {
	o, err := parseJSONOptions(opts.Options)
	if err != nil {
		return nil, err
	}
	if opts.Schema == nil {
		return nil, errNoSchema("json", name)
	}
	return newJSONReader(ctx, r, name, opts, o)
}

func (jsonFormat) Infer(ctx context.Context, path string, opts ReadOptions) (*arrow.Schema, error) {
	o, err := parseJSONOptions(opts.Options)
	if err != nil {
		return nil, err
	}
	file, name, err := openInput(ctx, path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return inferJSON(ctx, file, name, o)
}

func (jsonFormat) InferReader(ctx context.Context, r io.Reader, name string, opts ReadOptions) (*arrow.Schema, error) {
	o, err := parseJSONOptions(opts.Options)
	if err != nil {
		return nil, err
	}
	return inferJSON(ctx, r, name, o)
}

func (jsonFormat) NewWriter(w io.Writer, schema *arrow.Schema, opts WriteOptions) (Writer, error) {
	o, err := parseJSONOptions(opts.Options)
	if err != nil {
		return nil, err
	}
	return newJSONWriter(w, schema, o)
}

type jsonReader struct {
	ctx       context.Context
	name      string
	src       *lineSource
	closers   []io.Closer
	dec       *JSONDecoder
	batchSize int
	line      int
	done      bool
	pending   error
}

func newJSONReader(ctx context.Context, r io.Reader, name string, opts ReadOptions, o *jsonOptions) (*jsonReader, error) {
	in, zc, err := decompressor(r, name)
	if err != nil {
		return nil, err
	}
	schema, err := projectSchema(opts.Schema, opts.Columns)
	if err != nil {
		return nil, fmt.Errorf("json %s: %w", name, err)
	}
	mem := opts.Mem
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	dec, err := newJSONDecoder(schema, mem, o)
	if err != nil {
		return nil, err
	}
	jr := &jsonReader{ctx: ctx, name: name, src: newLineSource(in), dec: dec, batchSize: opts.BatchSize}
	if zc != nil {
		jr.closers = append(jr.closers, zc)
	}
	if jr.batchSize <= 0 {
		jr.batchSize = defaultBatchSize
	}
	return jr, nil
}

// projectSchema applies ReadOptions.Columns.
func projectSchema(s *arrow.Schema, cols []int) (*arrow.Schema, error) {
	if cols == nil {
		return s, nil
	}
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		if c < 0 || c >= s.NumFields() {
			return nil, fmt.Errorf("%w: projected column index %d out of range (schema has %d columns)", ErrSchemaMismatch, c, s.NumFields())
		}
		fields[i] = s.Field(c)
	}
	return arrow.NewSchema(fields, nil), nil
}

func (r *jsonReader) Schema() *arrow.Schema { return r.dec.Schema() }

// Next returns the next batch; like the CSV reader it returns the rows
// before a failing record first and the error on the following call.
func (r *jsonReader) Next() (arrow.RecordBatch, error) {
	if r.pending != nil {
		err := r.pending
		r.pending = nil
		r.done = true
		return nil, err
	}
	if r.done {
		return nil, io.EOF
	}
	b, err := r.next()
	if err != nil && r.dec.Len() > 0 {
		r.pending = err
		return r.dec.NewBatch(), nil
	}
	if err != nil {
		r.done = true
	}
	return b, err
}

func (r *jsonReader) next() (arrow.RecordBatch, error) {
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	bytes := 0
	for r.dec.Len() < r.batchSize && bytes < maxBatchData/2 {
		line, ok := r.src.nextLine()
		if !ok {
			if r.src.err != nil {
				return nil, fmt.Errorf("fileformat: json %s: read: %w", r.name, r.src.err)
			}
			r.done = true
			break
		}
		r.line++
		bytes += len(line) + 1
		if skipWS(line, 0) == len(line) {
			continue
		}
		if err := r.dec.Append(line); err != nil {
			if me, ok := asMalformed(err); ok {
				me.File, me.Line = r.name, r.line
			}
			return nil, err
		}
	}
	if r.dec.Len() == 0 && r.done {
		return nil, io.EOF
	}
	return r.dec.NewBatch(), nil
}

func (r *jsonReader) Close() error {
	var first error
	for i := len(r.closers) - 1; i >= 0; i-- {
		if err := r.closers[i].Close(); err != nil && first == nil {
			first = err
		}
	}
	r.closers = nil
	r.dec.Release()
	return first
}
