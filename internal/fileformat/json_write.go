package fileformat

import (
	"fmt"
	"io"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/sluicehq/sluice/dataframe/expr"
)

// jsonWriter writes one JSON object per row and line.
type jsonWriter struct {
	w      *compressWriter
	schema *arrow.Schema
	o      *jsonOptions
	line   []byte
	tmp    []byte
}

func newJSONWriter(w io.Writer, schema *arrow.Schema, o *jsonOptions) (*jsonWriter, error) {
	for _, f := range schema.Fields() {
		if err := checkJSONType(f.Type); err != nil {
			return nil, fmt.Errorf("%w: json cannot write column %q: %v", ErrSchemaMismatch, f.Name, err)
		}
	}
	return &jsonWriter{w: newCompressWriter(w, o.compression), schema: schema, o: o}, nil
}

func checkJSONType(dt arrow.DataType) error {
	switch t := dt.(type) {
	case *arrow.StructType:
		for _, f := range t.Fields() {
			if err := checkJSONType(f.Type); err != nil {
				return err
			}
		}
		return nil
	case *arrow.ListType:
		return checkJSONType(t.Elem())
	}
	if err := checkScalarType(dt); err != nil {
		return fmt.Errorf("type %s is not supported (supported: %s)", expr.TypeName(dt), supportedTypesText)
	}
	return nil
}

// jsonCell writes one column (recursively for struct and list).
type jsonCell struct {
	arr   arrow.Array
	f     cellFunc
	kind  cellKind
	names [][]byte // struct: `"name":` pre-escaped
	kids  []*jsonCell
	list  *array.List
}

func (w *jsonWriter) newCell(arr arrow.Array) (*jsonCell, error) {
	f, kind, err := scalarCell(arr, &w.o.dt)
	if err != nil {
		return nil, err
	}
	c := &jsonCell{arr: arr, f: f, kind: kind}
	switch a := arr.(type) {
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		for k := 0; k < a.NumField(); k++ {
			kid, err := w.newCell(a.Field(k))
			if err != nil {
				return nil, err
			}
			c.kids = append(c.kids, kid)
			c.names = append(c.names, jsonFieldName(st.Field(k).Name))
		}
	case *array.List:
		c.list = a
		kid, err := w.newCell(a.ListValues())
		if err != nil {
			return nil, err
		}
		c.kids = []*jsonCell{kid}
	}
	return c, nil
}

func jsonFieldName(name string) []byte {
	b := appendJSONString(nil, []byte(name))
	return append(b, ':')
}

func (w *jsonWriter) Write(b arrow.RecordBatch) error {
	if !b.Schema().Equal(w.schema) {
		return fmt.Errorf("%w: json writer: batch schema %s differs from the writer's %s", ErrSchemaMismatch, b.Schema(), w.schema)
	}
	root := &jsonCell{}
	for k, col := range b.Columns() {
		c, err := w.newCell(col)
		if err != nil {
			return fmt.Errorf("%w: json writer: %v", ErrSchemaMismatch, err)
		}
		root.kids = append(root.kids, c)
		root.names = append(root.names, jsonFieldName(w.schema.Field(k).Name))
	}
	n := int(b.NumRows())
	for r := 0; r < n; r++ {
		w.line = w.appendObject(w.line[:0], root, r)
		w.line = append(w.line, '\n')
		if _, err := w.w.Write(w.line); err != nil {
			return err
		}
	}
	return nil
}

func (w *jsonWriter) appendObject(dst []byte, c *jsonCell, i int) []byte {
	dst = append(dst, '{')
	first := true
	for k, kid := range c.kids {
		null := kid.arr.IsNull(i)
		if null && w.o.ignoreNullFields {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, c.names[k]...)
		if null {
			dst = append(dst, "null"...)
			continue
		}
		dst = w.appendValue(dst, kid, i)
	}
	return append(dst, '}')
}

func (w *jsonWriter) appendValue(dst []byte, c *jsonCell, i int) []byte {
	switch c.kind {
	case cellNumber:
		return c.f(dst, i)
	case cellFloat:
		var v float64
		switch a := c.arr.(type) {
		case *array.Float32:
			v = float64(a.Value(i))
		case *array.Float64:
			v = a.Value(i)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			dst = append(dst, '"')
			dst = c.f(dst, i)
			return append(dst, '"')
		}
		return c.f(dst, i)
	case cellString:
		if s, ok := c.arr.(*array.String); ok {
			return appendJSONString(dst, stringToBytes(s.Value(i)))
		}
		w.tmp = c.f(w.tmp[:0], i)
		return appendJSONString(dst, w.tmp)
	}
	if c.list != nil {
		start, end := c.list.ValueOffsets(i)
		kid := c.kids[0]
		dst = append(dst, '[')
		for j := int(start); j < int(end); j++ {
			if j > int(start) {
				dst = append(dst, ',')
			}
			if kid.arr.IsNull(j) {
				dst = append(dst, "null"...)
				continue
			}
			dst = w.appendValue(dst, kid, j)
		}
		return append(dst, ']')
	}
	return w.appendObject(dst, c, i)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted and escaped as Jackson does: ", \ and
// control characters; everything else (including non-ASCII) as is.
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func (w *jsonWriter) Close() error {
	if w.w == nil {
		return nil
	}
	err := w.w.finish()
	w.w = nil
	return err
}
