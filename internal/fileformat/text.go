package fileformat

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sluicehq/sluice/dataframe/expr"
)

// Text is the "text" format: one string column "value" per line (\n or
// \r\n ends a line; a final line without one counts). Empty lines are rows
// of "". With wholetext=true a file is one row. Writing needs exactly one
// string column; NULL is written as an empty line, as Spark does.
var Text Format = textFormat{}

type textFormat struct{}

// TextSchema is the schema of the text format.
var TextSchema = arrow.NewSchema([]arrow.Field{{Name: "value", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)

func (textFormat) Name() string { return "text" }

func (textFormat) ValidateOptions(opts map[string]string) error {
	return newOptionSet("text", textOptionSpecs, opts).err()
}

func (textFormat) Infer(ctx context.Context, path string, opts ReadOptions) (*arrow.Schema, error) {
	if err := newOptionSet("text", textOptionSpecs, opts.Options).err(); err != nil {
		return nil, err
	}
	return TextSchema, nil
}

func (f textFormat) InferReader(ctx context.Context, r io.Reader, name string, opts ReadOptions) (*arrow.Schema, error) {
	return f.Infer(ctx, name, opts)
}

func (f textFormat) Open(ctx context.Context, path string, opts ReadOptions) (Reader, error) {
	file, name, err := openInput(ctx, path)
	if err != nil {
		return nil, err
	}
	r, err := f.newReader(ctx, file, name, opts)
	if err != nil {
		file.Close()
		return nil, err
	}
	r.closers = append(r.closers, file)
	return r, nil
}

// NewReader reads text lines from r (see StreamFormat).
func (f textFormat) NewReader(ctx context.Context, r io.Reader, name string, opts ReadOptions) (Reader, error) {
	return f.newReader(ctx, r, name, opts)
}

func (textFormat) newReader(ctx context.Context, r io.Reader, name string, opts ReadOptions) (*textReader, error) {
	s := newOptionSet("text", textOptionSpecs, opts.Options)
	if err := s.err(); err != nil {
		return nil, err
	}
	schema := opts.Schema
	if schema == nil {
		schema = TextSchema
	}
	if err := checkTextSchema(schema); err != nil {
		return nil, fmt.Errorf("%w: text %s: %v", ErrSchemaMismatch, name, err)
	}
	out, err := projectSchema(schema, opts.Columns)
	if err != nil {
		return nil, fmt.Errorf("text %s: %w", name, err)
	}
	in, zc, err := decompressor(r, name)
	if err != nil {
		return nil, err
	}
	tr := &textReader{ctx: ctx, name: name, src: newLineSource(in), schema: out, mem: opts.Mem,
		batchSize: opts.BatchSize, whole: s.boolean("wholetext", false)}
	if zc != nil {
		tr.closers = append(tr.closers, zc)
	}
	if tr.mem == nil {
		tr.mem = memory.DefaultAllocator
	}
	if tr.batchSize <= 0 {
		tr.batchSize = defaultBatchSize
	}
	tr.col, _ = newTextColumn(arrow.BinaryTypes.String, false)
	tr.col.bind(tr.mem)
	return tr, nil
}

func checkTextSchema(s *arrow.Schema) error {
	if s.NumFields() != 1 || s.Field(0).Type.ID() != arrow.STRING {
		names := make([]string, s.NumFields())
		for i, f := range s.Fields() {
			names[i] = f.Name + " " + expr.TypeName(f.Type)
		}
		return fmt.Errorf("the text format has exactly one string column, not %v; select one string column (e.g. to_json or concat_ws) first", names)
	}
	return nil
}

func (textFormat) NewWriter(w io.Writer, schema *arrow.Schema, opts WriteOptions) (Writer, error) {
	s := newOptionSet("text", textOptionSpecs, opts.Options)
	if err := s.err(); err != nil {
		return nil, err
	}
	if err := checkTextSchema(schema); err != nil {
		return nil, fmt.Errorf("%w: text writer: %v", ErrSchemaMismatch, err)
	}
	return &textWriter{w: newCompressWriter(w, s.str("compression", "none")), schema: schema}, nil
}

type textReader struct {
	ctx       context.Context
	name      string
	src       *lineSource
	closers   []io.Closer
	schema    *arrow.Schema
	mem       memory.Allocator
	col       *textColumn
	batchSize int
	whole     bool
	done      bool
}

func (r *textReader) Schema() *arrow.Schema { return r.schema }

func (r *textReader) Next() (arrow.RecordBatch, error) {
	if r.done {
		return nil, io.EOF
	}
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	if r.whole {
		for r.src.more() {
		}
		if r.src.err != nil {
			return nil, fmt.Errorf("fileformat: text %s: read: %w", r.name, r.src.err)
		}
		r.col.appendText(r.src.window())
		r.src.advance(len(r.src.window()))
		r.done = true
		return r.batch(), nil
	}
	bytes := 0
	for r.col.n < r.batchSize && bytes < maxBatchData/2 {
		line, ok := r.src.nextLine()
		if !ok {
			if r.src.err != nil {
				return nil, fmt.Errorf("fileformat: text %s: read: %w", r.name, r.src.err)
			}
			r.done = true
			break
		}
		bytes += len(line) + 1
		r.col.appendText(line)
	}
	if r.col.n == 0 && r.done {
		return nil, io.EOF
	}
	return r.batch(), nil
}

func (r *textReader) batch() arrow.RecordBatch {
	n := r.col.n
	var cols []arrow.Array
	if r.schema.NumFields() == 1 {
		cols = []arrow.Array{r.col.newArray(r.mem)}
	} else {
		r.col.reset()
	}
	b := array.NewRecordBatch(r.schema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return b
}

func (r *textReader) Close() error {
	var first error
	for i := len(r.closers) - 1; i >= 0; i-- {
		if err := r.closers[i].Close(); err != nil && first == nil {
			first = err
		}
	}
	r.closers = nil
	r.col.reset()
	return first
}

type textWriter struct {
	w      *compressWriter
	schema *arrow.Schema
}

func (w *textWriter) Write(b arrow.RecordBatch) error {
	if err := checkTextSchema(b.Schema()); err != nil {
		return fmt.Errorf("%w: text writer: %v", ErrSchemaMismatch, err)
	}
	col := b.Column(0).(*array.String)
	for i := 0; i < col.Len(); i++ {
		if col.IsValid(i) {
			if _, err := w.w.WriteString(col.Value(i)); err != nil {
				return err
			}
		}
		if err := w.w.WriteByte('\n'); err != nil {
			return err
		}
	}
	return nil
}

func (w *textWriter) Close() error {
	if w.w == nil {
		return nil
	}
	err := w.w.finish()
	w.w = nil
	return err
}
