package fileformat

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sluicehq/sluice/dataframe/expr"
)

// CSV is the "csv" format: Spark's CSV options and semantics, with one
// deliberate difference: mode defaults to FAILFAST (Spark: PERMISSIVE), so
// a bad row is an error naming file, line, column and value rather than a
// row of NULLs. Set mode=PERMISSIVE (optionally with a string column named
// by columnNameOfCorruptRecord, default _corrupt_record, to keep the raw
// line) or mode=DROPMALFORMED for Spark's behaviour.
//
// Reading: an unquoted empty field and a field equal to nullValue are
// NULL; a quoted empty field reads as emptyValue (default ""), which is
// NULL too while nullValue is "" (as in Spark). Blank lines are skipped.
// A UTF-8 BOM is dropped, CRLF line ends are accepted, files ending in
// .gz are gunzipped. Binary columns are base64 (Spark has no CSV binary).
var CSV Format = csvFormat{}

type csvFormat struct{}

func (csvFormat) Name() string { return "csv" }

func (csvFormat) ValidateOptions(opts map[string]string) error {
	_, err := parseCSVOptions(opts)
	return err
}

func (f csvFormat) Open(ctx context.Context, path string, opts ReadOptions) (Reader, error) {
	o, err := parseCSVOptions(opts.Options)
	if err != nil {
		return nil, err
	}
	if opts.Schema == nil {
		if !o.inferSchema {
			return nil, errNoSchema("csv", DisplayName(path))
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
	r, err := newCSVReader(ctx, file, name, opts, o)
	if err != nil {
		file.Close()
		return nil, err
	}
	r.closers = append(r.closers, file)
	return r, nil
}

// NewReader reads CSV from r (see StreamFormat). A schema is required:
// inference needs a second pass, so call Infer first.
func (csvFormat) NewReader(ctx context.Context, r io.Reader, name string, opts ReadOptions) (Reader, error) {
	o, err := parseCSVOptions(opts.Options)
	if err != nil {
		return nil, err
	}
	if opts.Schema == nil {
		return nil, errNoSchema("csv", name)
	}
	return newCSVReader(ctx, r, name, opts, o)
}

func (csvFormat) Infer(ctx context.Context, path string, opts ReadOptions) (*arrow.Schema, error) {
	o, err := parseCSVOptions(opts.Options)
	if err != nil {
		return nil, err
	}
	file, name, err := openInput(ctx, path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return inferCSV(ctx, file, name, o)
}

func (csvFormat) InferReader(ctx context.Context, r io.Reader, name string, opts ReadOptions) (*arrow.Schema, error) {
	o, err := parseCSVOptions(opts.Options)
	if err != nil {
		return nil, err
	}
	return inferCSV(ctx, r, name, o)
}

func (csvFormat) NewWriter(w io.Writer, schema *arrow.Schema, opts WriteOptions) (Writer, error) {
	o, err := parseCSVOptions(opts.Options)
	if err != nil {
		return nil, err
	}
	return newCSVWriter(w, schema, o)
}

const defaultBatchSize = 64 << 10

// csvReader reads one CSV stream into batches.
type csvReader struct {
	ctx     context.Context
	name    string
	src     *lineSource
	closers []io.Closer
	o       *csvOptions
	tok     csvTokenizer
	mem     memory.Allocator

	schema     *arrow.Schema // output, after projection
	dataFields []arrow.Field // the CSV columns, in file order
	convs      []csvConv     // one per CSV column; col nil if not projected
	cols       []*textColumn // one per output column
	corrupt    *textColumn   // output column for raw malformed records, or nil
	batchSize  int

	line       int // physical line of the next record
	headerDone bool
	done       bool
	pending    error // returned by the Next after the batch that precedes it
	rows       int
	scratch    []byte
}

// csvConv converts one CSV column's text into its output column.
type csvConv struct {
	col  *textColumn
	name string
	typ  string
	bits uint
}

func newCSVReader(ctx context.Context, r io.Reader, name string, opts ReadOptions, o *csvOptions) (*csvReader, error) {
	in, zc, err := decompressor(r, name)
	if err != nil {
		return nil, err
	}
	cr := &csvReader{
		ctx: ctx, name: name, src: newLineSource(in), o: o, tok: o.tokenizer(),
		mem: opts.Mem, batchSize: opts.BatchSize, line: 1, headerDone: !o.header,
	}
	if zc != nil {
		cr.closers = append(cr.closers, zc)
	}
	if cr.mem == nil {
		cr.mem = memory.DefaultAllocator
	}
	if cr.batchSize <= 0 {
		cr.batchSize = defaultBatchSize
	}
	full := opts.Schema.Fields()
	// The corrupt-record column is filled by the reader (in PERMISSIVE mode;
	// NULL otherwise), never by a CSV column, as in Spark.
	corruptIdx := -1
	for i, f := range full {
		if f.Name == o.corruptColumn {
			if f.Type.ID() != arrow.STRING {
				return nil, fmt.Errorf("%w: csv %s: column %q (columnNameOfCorruptRecord) must be a string, not %s",
					ErrSchemaMismatch, name, f.Name, expr.TypeName(f.Type))
			}
			corruptIdx = i
			continue
		}
		cr.dataFields = append(cr.dataFields, f)
	}
	proj := opts.Columns
	if proj == nil {
		proj = make([]int, len(full))
		for i := range proj {
			proj[i] = i
		}
	}
	cr.convs = make([]csvConv, len(cr.dataFields))
	outFields := make([]arrow.Field, 0, len(proj))
	for _, fi := range proj {
		if fi < 0 || fi >= len(full) {
			return nil, fmt.Errorf("%w: csv %s: projected column index %d out of range (schema has %d columns)", ErrSchemaMismatch, name, fi, len(full))
		}
		f := full[fi]
		outFields = append(outFields, f)
		if fi == corruptIdx {
			c, _ := newTextColumn(f.Type, false)
			cr.corrupt = c
			cr.cols = append(cr.cols, c)
			continue
		}
		di := fi
		if corruptIdx >= 0 && fi > corruptIdx {
			di--
		}
		c, err := newTextColumn(f.Type, false)
		if err != nil {
			return nil, fmt.Errorf("%w: csv %s: column %q: %v", ErrSchemaMismatch, name, f.Name, err)
		}
		if cr.convs[di].col != nil {
			return nil, fmt.Errorf("%w: csv %s: column %q projected twice", ErrSchemaMismatch, name, f.Name)
		}
		cr.convs[di] = csvConv{col: c, name: f.Name, typ: expr.TypeName(f.Type), bits: intBits(c.kind)}
		cr.cols = append(cr.cols, c)
	}
	cr.schema = arrow.NewSchema(outFields, nil)
	for _, c := range cr.cols {
		c.bind(cr.mem)
	}
	return cr, nil
}

func intBits(k colKind) uint {
	switch k {
	case kindInt8:
		return 8
	case kindInt16:
		return 16
	case kindInt32:
		return 32
	}
	return 64
}

func (r *csvReader) Schema() *arrow.Schema { return r.schema }

func (r *csvReader) Close() error {
	var first error
	for i := len(r.closers) - 1; i >= 0; i-- {
		if err := r.closers[i].Close(); err != nil && first == nil {
			first = err
		}
	}
	r.closers = nil
	for _, c := range r.cols {
		c.reset()
	}
	return first
}

// Next returns the next batch. When a record fails (FAILFAST) after some
// rows of the batch were read, those rows are returned first and the error
// by the following call.
func (r *csvReader) Next() (arrow.RecordBatch, error) {
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
	if err != nil && r.rows > 0 {
		r.pending = err
		return r.batch(), nil
	}
	if err != nil {
		r.done = true
	}
	return b, err
}

func (r *csvReader) next() (arrow.RecordBatch, error) {
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	r.rows = 0
	dataBytes := 0
	for r.rows < r.batchSize && dataBytes < maxBatchData/2 {
		data := r.src.window()
		n, lines, st, msg := r.tok.record(data, r.src.eof)
		if st == recNeedMore {
			if !r.src.more() && r.src.err != nil {
				return nil, fmt.Errorf("fileformat: csv %s: read: %w", r.name, r.src.err)
			}
			continue
		}
		if st == recEnd {
			r.done = true
			break
		}
		lineNo := r.line
		r.line += lines
		raw := data[:n]
		r.src.advance(n)
		dataBytes += n
		if st == recSkip {
			continue
		}
		if !r.headerDone {
			r.headerDone = true
			if st == recError {
				return nil, &MalformedError{File: r.name, Line: lineNo, Offset: -1, Reason: "header: " + msg}
			}
			if err := r.checkHeader(); err != nil {
				return nil, err
			}
			continue
		}
		if st == recError {
			if err := r.malformed(&MalformedError{File: r.name, Line: lineNo, Offset: -1, Reason: msg}, raw, true); err != nil {
				return nil, err
			}
			continue
		}
		if err := r.convert(lineNo, raw); err != nil {
			return nil, err
		}
	}
	if r.rows == 0 && r.done {
		return nil, io.EOF
	}
	return r.batch(), nil
}

func (r *csvReader) batch() arrow.RecordBatch {
	arrs := make([]arrow.Array, len(r.cols))
	for i, c := range r.cols {
		arrs[i] = c.newArray(r.mem)
	}
	b := array.NewRecordBatch(r.schema, arrs, int64(r.rows))
	for _, a := range arrs {
		a.Release()
	}
	r.rows = 0
	return b
}

// checkHeader compares header names with the schema when enforceSchema is
// false (case-insensitively, like Spark's default).
func (r *csvReader) checkHeader() error {
	if r.o.enforceSchema {
		return nil
	}
	names := make([]string, len(r.tok.fields))
	for i, f := range r.tok.fields {
		names[i] = string(f.b)
	}
	want := make([]string, len(r.dataFields))
	for i, f := range r.dataFields {
		want[i] = f.Name
	}
	if len(names) != len(want) {
		return fmt.Errorf("%w: csv %s: the header has %d columns [%s] but the schema has %d [%s]; fix the schema or set enforceSchema=true to ignore header names",
			ErrSchemaMismatch, r.name, len(names), strings.Join(names, ", "), len(want), strings.Join(want, ", "))
	}
	for i := range names {
		if !strings.EqualFold(names[i], want[i]) {
			return fmt.Errorf("%w: csv %s: header column %d is %q but the schema names it %q; fix the schema or set enforceSchema=true to ignore header names",
				ErrSchemaMismatch, r.name, i+1, names[i], want[i])
		}
	}
	return nil
}

// malformed applies the mode to a bad record whose columns have not been
// appended (appended=false means some were: they are rolled back or kept).
func (r *csvReader) malformed(e *MalformedError, raw []byte, nothingAppended bool) error {
	switch r.o.mode {
	case modeFailFast:
		r.truncate()
		return e
	case modeDropMalformed:
		r.truncate()
		return nil
	}
	// PERMISSIVE: a syntax error leaves every column NULL.
	if nothingAppended {
		for _, c := range r.cols {
			if c != r.corrupt {
				c.appendNull()
			}
		}
	}
	if r.corrupt != nil {
		r.corrupt.appendText(trimLineEnd(raw))
	}
	r.rows++
	return nil
}

// truncate drops a partly appended record.
func (r *csvReader) truncate() {
	for _, c := range r.cols {
		c.truncate(r.rows)
	}
}

func trimLineEnd(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		b = b[:len(b)-1]
	}
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return b
}

// convert appends one tokenized record.
func (r *csvReader) convert(lineNo int, raw []byte) error {
	fields := r.tok.fields
	if len(r.cols) == 0 {
		r.rows++
		return nil
	}
	var bad *MalformedError
	if len(fields) != len(r.convs) {
		bad = &MalformedError{File: r.name, Line: lineNo, Offset: -1,
			Reason: fmt.Sprintf("expected %d columns, found %d", len(r.convs), len(fields))}
		if r.o.mode != modePermissive {
			return r.malformed(bad, raw, true)
		}
	}
	for i := range r.convs {
		cv := &r.convs[i]
		if cv.col == nil {
			continue
		}
		if i >= len(fields) {
			cv.col.appendNull()
			continue
		}
		if reason, ok := r.convertField(cv, fields[i]); !ok {
			if bad == nil {
				bad = &MalformedError{File: r.name, Line: lineNo, Offset: -1, Column: cv.name, Type: cv.typ,
					Value: shortValue(fields[i].b), Reason: reason}
			}
			if r.o.mode != modePermissive {
				return r.malformed(bad, raw, false)
			}
			cv.col.appendNull()
		}
	}
	if bad != nil {
		return r.malformed(bad, raw, false)
	}
	if r.corrupt != nil {
		r.corrupt.appendNull()
	}
	r.rows++
	return nil
}

// convertField appends one field; on failure nothing is appended and a
// reason may explain beyond "cannot parse".
func (r *csvReader) convertField(cv *csvConv, f csvField) (string, bool) {
	c := cv.col
	v := f.b
	if len(v) == 0 {
		if !f.quoted {
			c.appendNull()
			return "", true
		}
		v = r.o.emptyReadB
	}
	if bytesToString(v) == r.o.nullValue {
		c.appendNull()
		return "", true
	}
	switch c.kind {
	case kindString:
		c.appendText(v)
	case kindInt64, kindInt32, kindInt16, kindInt8:
		x, ok := parseIntBytes(v, cv.bits)
		if !ok {
			return intReason(v), false
		}
		c.appendInt(x)
	case kindFloat64, kindFloat32:
		var x float64
		switch bytesToString(v) {
		case r.o.nanValue:
			x = math.NaN()
		case r.o.positiveInf:
			x = math.Inf(1)
		case r.o.negativeInf:
			x = math.Inf(-1)
		default:
			bits := 64
			if c.kind == kindFloat32 {
				bits = 32
			}
			var ok bool
			if x, ok = parseFloatBytes(v, bits); !ok {
				return "", false
			}
		}
		c.appendFloat(x)
	case kindTimestamp:
		us, ok := r.o.dt.parseTimestamp(v)
		if !ok {
			return timestampReason(&r.o.dt), false
		}
		c.appendTimestamp(us)
	case kindDate:
		d, ok := r.o.dt.parseDate(v)
		if !ok {
			return dateReason(&r.o.dt), false
		}
		c.appendInt(int64(d))
	case kindBool:
		b, ok := parseBoolBytes(v)
		if !ok {
			return "", false
		}
		c.appendBool(b)
	case kindDecimal:
		d, ok := parseDecimalBytes(v, c.decPrec, c.decScale)
		if !ok {
			return "", false
		}
		c.appendDecimal(d)
	case kindBinary:
		return appendBase64(c, v)
	case kindNull:
		c.appendNull()
	}
	return "", true
}

// appendBase64 decodes standard base64 (padding optional) into c.
func appendBase64(c *textColumn, v []byte) (string, bool) {
	c.reserveData(len(v))
	n := len(c.data)
	var err error
	if len(v)%4 == 0 {
		c.data, err = base64.StdEncoding.AppendDecode(c.data, v)
	} else {
		c.data, err = base64.RawStdEncoding.AppendDecode(c.data, v)
	}
	if err != nil {
		c.data = c.data[:n]
		return "not valid base64", false
	}
	c.offsets = append(c.offsets, int32(len(c.data)))
	c.n++
	return "", true
}

func intReason(v []byte) string {
	digitsOnly := len(v) > 0
	for i, ch := range v {
		if !(ch >= '0' && ch <= '9' || i == 0 && (ch == '-' || ch == '+')) {
			digitsOnly = false
		}
	}
	if digitsOnly {
		return "out of range"
	}
	return ""
}

func timestampReason(o *datetimeOptions) string {
	if o.tsParse != nil {
		return fmt.Sprintf("does not match timestampFormat %q", o.tsParse.text)
	}
	return ""
}

func dateReason(o *datetimeOptions) string {
	if o.dtParse != nil {
		return fmt.Sprintf("does not match dateFormat %q", o.dtParse.text)
	}
	return ""
}
