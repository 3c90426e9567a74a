package fileformat

import (
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/sluicehq/sluice/dataframe/expr"
)

// csvWriter writes batches as CSV. Like Spark: NULL is written as
// nullValue (default empty), an empty string as emptyValue (default ""),
// fields are quoted when they contain the separator, the quote character,
// a line break, or start with the comment character; inside quotes the
// quote and escape characters are preceded by escape. Doubles print as
// Java does (1.0, 1.0E10), timestamps by timestampFormat (default
// yyyy-MM-dd'T'HH:mm:ss.SSSXXX, i.e. milliseconds: set timestampFormat
// with SSSSSS to keep microseconds). Unlike Spark, values are not trimmed
// of leading/trailing blanks.
type csvWriter struct {
	w          *compressWriter
	schema     *arrow.Schema
	o          *csvOptions
	headerDone bool
	line       []byte
	cell       []byte
	cells      []cellFunc
	special    [256]bool // bytes that force quoting
}

func newCSVWriter(w io.Writer, schema *arrow.Schema, o *csvOptions) (*csvWriter, error) {
	for _, f := range schema.Fields() {
		if err := checkScalarType(f.Type); err != nil {
			return nil, fmt.Errorf("%w: csv cannot write column %q of type %s: write json or parquet, or convert the column (to_json) first",
				ErrSchemaMismatch, f.Name, expr.TypeName(f.Type))
		}
	}
	cw := &csvWriter{w: newCompressWriter(w, o.compression), schema: schema, o: o, headerDone: !o.header}
	cw.special[o.sep] = true
	cw.special['\n'] = true
	cw.special['\r'] = true
	if o.quote != 0 && o.escapeQuotes {
		cw.special[o.quote] = true
	}
	return cw, nil
}

func (w *csvWriter) writeHeader() error {
	w.headerDone = true
	w.line = w.line[:0]
	for i, f := range w.schema.Fields() {
		if i > 0 {
			w.line = append(w.line, w.o.sep)
		}
		w.line = w.appendField(w.line, []byte(f.Name))
	}
	w.line = append(w.line, '\n')
	_, err := w.w.Write(w.line)
	return err
}

func (w *csvWriter) Write(b arrow.RecordBatch) error {
	if !b.Schema().Equal(w.schema) {
		return fmt.Errorf("%w: csv writer: batch schema %s differs from the writer's %s", ErrSchemaMismatch, b.Schema(), w.schema)
	}
	if !w.headerDone {
		if err := w.writeHeader(); err != nil {
			return err
		}
	}
	cols := b.Columns()
	w.cells = w.cells[:0]
	for _, c := range cols {
		f, _, err := scalarCell(c, &w.o.dt)
		if err != nil {
			return fmt.Errorf("%w: csv writer: %v", ErrSchemaMismatch, err)
		}
		w.cells = append(w.cells, f)
	}
	n := int(b.NumRows())
	for r := 0; r < n; r++ {
		w.line = w.line[:0]
		for ci, c := range cols {
			if ci > 0 {
				w.line = append(w.line, w.o.sep)
			}
			if c.IsNull(r) {
				w.line = append(w.line, w.o.nullValue...)
				continue
			}
			w.cell = w.cells[ci](w.cell[:0], r)
			if len(w.cell) == 0 && c.DataType().ID() != arrow.NULL {
				w.line = append(w.line, w.o.emptyWrite...)
				continue
			}
			w.line = w.appendField(w.line, w.cell)
		}
		if len(w.line) == 0 && w.o.quote != 0 {
			// A blank line would be skipped on read; "" reads back as NULL.
			w.line = append(w.line, w.o.quote, w.o.quote)
		}
		w.line = append(w.line, '\n')
		if _, err := w.w.Write(w.line); err != nil {
			return err
		}
	}
	return nil
}

// appendField appends v, quoted if needed.
func (w *csvWriter) appendField(dst, v []byte) []byte {
	q := w.o.quote
	if q == 0 {
		return append(dst, v...)
	}
	need := w.o.quoteAll || (len(v) > 0 && (v[0] == q || (w.o.comment != 0 && v[0] == w.o.comment)))
	if !need {
		for _, c := range v {
			if w.special[c] {
				need = true
				break
			}
		}
	}
	if !need {
		return append(dst, v...)
	}
	esc := w.o.escape
	dst = append(dst, q)
	for _, c := range v {
		switch {
		case c == q:
			if esc == 0 || esc == q {
				dst = append(dst, q, q)
			} else {
				dst = append(dst, esc, q)
			}
		case c == esc && esc != q:
			dst = append(dst, esc, esc)
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, q)
}

func (w *csvWriter) Close() error {
	if w.w == nil {
		return nil
	}
	if !w.headerDone {
		if err := w.writeHeader(); err != nil {
			return err
		}
	}
	err := w.w.finish()
	w.w = nil
	return err
}
