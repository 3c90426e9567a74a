package fileformat

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// JSON values inside columns (from_json, to_json): the same scanner and
// the same rendering as JSON lines files, one value per row.

// AppendObject is Append for a value that must be exactly one JSON object
// (from_json): a top-level array is malformed instead of several rows, so
// every call adds one row in PERMISSIVE mode.
func (d *JSONDecoder) AppendObject(record []byte) error {
	if i := skipWS(record, 0); i < len(record) && record[i] == '[' {
		d.malformed++
		err := &MalformedError{Offset: i, Reason: "expected a JSON object, found an array"}
		switch d.opts.mode {
		case modePermissive:
			for _, c := range d.cols {
				if c != d.corrupt {
					c.appendNull()
				}
			}
			if d.corrupt != nil {
				d.corrupt.appendText(record)
			}
			d.n++
			return nil
		case modeDropMalformed:
			return nil
		}
		return err
	}
	return d.Append(record)
}

// CheckJSONType reports whether values of dt can be written as JSON.
func CheckJSONType(dt arrow.DataType) error { return checkJSONType(dt) }

// JSONEncoder renders struct and list values as JSON text exactly as the
// JSON writer renders rows (Jackson's escaping, Spark's number, date and
// timestamp forms; ignoreNullFields drops NULL struct fields, default
// true). It is safe for concurrent use.
type JSONEncoder struct {
	o *jsonOptions
}

// NewJSONEncoder takes JSON write options (timestampFormat, dateFormat,
// timeZone, ignoreNullFields).
func NewJSONEncoder(opts map[string]string) (*JSONEncoder, error) {
	o, err := parseJSONOptions(opts)
	if err != nil {
		return nil, err
	}
	return &JSONEncoder{o: o}, nil
}

// Encode renders every row of arr (a struct or list array) as a JSON
// string; NULL rows stay NULL. The result is owned by the caller.
func (e *JSONEncoder) Encode(mem memory.Allocator, arr arrow.Array) (*array.String, error) {
	if err := checkJSONType(arr.DataType()); err != nil {
		return nil, fmt.Errorf("%w: json: %v", ErrSchemaMismatch, err)
	}
	switch arr.(type) {
	case *array.Struct, *array.List:
	default:
		return nil, fmt.Errorf("%w: json: only structs and arrays are rendered as JSON values, not %s", ErrSchemaMismatch, arr.DataType())
	}
	w := &jsonWriter{o: e.o}
	cell, err := w.newCell(arr)
	if err != nil {
		return nil, fmt.Errorf("%w: json: %v", ErrSchemaMismatch, err)
	}
	n := arr.Len()
	offs := memory.NewResizableBuffer(mem)
	defer offs.Release()
	offs.Resize(arrow.Int32Traits.BytesRequired(n + 1))
	off := arrow.Int32Traits.CastFromBytes(offs.Bytes())
	var valid *memory.Buffer
	nulls := arr.NullN()
	if nulls > 0 {
		valid = memory.NewResizableBuffer(mem)
		defer valid.Release()
		valid.Resize(int(bitutil.BytesForBits(int64(n))))
		clear(valid.Bytes())
	}
	data := make([]byte, 0, 64*n)
	for i := 0; i < n; i++ {
		off[i] = int32(len(data))
		if arr.IsNull(i) {
			continue
		}
		if valid != nil {
			bitutil.SetBit(valid.Bytes(), i)
		}
		data = w.appendValue(data, cell, i)
		if len(data) > maxBatchData {
			return nil, fmt.Errorf("fileformat: json: the rendered values exceed 2 GiB; use smaller batches")
		}
	}
	off[n] = int32(len(data))
	buf := memory.NewResizableBuffer(mem)
	defer buf.Release()
	buf.Resize(len(data))
	copy(buf.Bytes(), data)
	d := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{valid, offs, buf}, nil, nulls, 0)
	defer d.Release()
	return array.NewStringData(d), nil
}
