package fileformat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sluicehq/sluice/dataframe/expr"
)

// JSONDecoder decodes JSON objects straight into Arrow columns of a fixed
// schema: a hand-written scanner, no encoding/json, no maps or interfaces
// per record. It serves the JSON lines reader and any record stream (Kafka
// message values).
//
// Fields are matched by name, case-sensitively. Missing fields and JSON
// null are NULL, unknown fields are skipped (validated, not decoded). If a
// name repeats in one object the first occurrence wins (Spark: the last).
// Values must fit the field type (Spark's rules): integers must be JSON
// integers in range, floats accept numbers and NaN/Infinity (also as
// strings), decimals numbers or numeric strings, booleans true/false,
// timestamps strings (timestampFormat, or ISO-8601 by default) or integers
// (epoch seconds), dates strings, binary base64 strings; a string field
// takes any JSON value, non-strings as their JSON text. A record that is a
// JSON array of objects adds one row per object.
//
// Malformed records follow the mode option: FAILFAST (default) makes
// Append return a *MalformedError naming the field, its type and the byte
// offset, and appends nothing; DROPMALFORMED appends nothing and returns
// nil; PERMISSIVE appends a row whose unparsable fields are NULL (all NULL
// for a syntax error) and, if the schema has the string column named by
// columnNameOfCorruptRecord (default _corrupt_record), the raw record in
// it. Malformed counts the records that were not clean.
//
// A decoder is used by one goroutine. Batches must stay under 2 GiB of
// string data: call NewBatch before that (Append reports it).
type JSONDecoder struct {
	schema    *arrow.Schema
	mem       memory.Allocator
	opts      *jsonOptions
	root      jsonNode
	cols      []*textColumn // one per schema field
	corrupt   *textColumn
	n         int
	bytes     int
	malformed int
	convErr   *MalformedError // PERMISSIVE: first conversion error of the record
	scratch   []byte
}

// jsonNode decodes one field (or the record root).
type jsonNode struct {
	kind colKind
	col  *textColumn
	path string
	typ  string
	bits uint

	// struct / root
	fields []*jsonNode
	index  map[string]int
	seen   []uint32
	gen    uint32
	cache  []jsonKeyCache

	elem *jsonNode // list
}

// jsonKeyCache remembers the k-th key of the last object: records of one
// stream nearly always list their keys in the same order, so resolving a
// key is usually one comparison.
type jsonKeyCache struct {
	key   []byte // the key and its closing quote
	idx   int
	valid bool
	// Keys of up to 16 bytes (with the quote) compare as two masked words.
	w0, w1, m0, m1 uint64
}

// matches reports whether data[p:] starts with the cached key and quote.
func (c *jsonKeyCache) matches(data []byte, p int) bool {
	if !c.valid {
		return false
	}
	if len(c.key) <= 16 && len(data)-p >= 16 {
		a := binary.LittleEndian.Uint64(data[p:])
		b := binary.LittleEndian.Uint64(data[p+8:])
		return (a^c.w0)&c.m0|(b^c.w1)&c.m1 == 0
	}
	return len(data)-p >= len(c.key) && string(data[p:p+len(c.key)]) == string(c.key)
}

func (c *jsonKeyCache) set(key []byte, idx int, raw bool) {
	c.valid = raw
	c.key = append(append(c.key[:0], key...), '"')
	c.idx = idx
	var pad [16]byte
	n := copy(pad[:], c.key)
	c.w0 = binary.LittleEndian.Uint64(pad[:8])
	c.w1 = binary.LittleEndian.Uint64(pad[8:])
	c.m0, c.m1 = 0, 0
	for k := 0; k < n; k++ {
		if k < 8 {
			c.m0 |= 0xff << (8 * k)
		} else {
			c.m1 |= 0xff << (8 * (k - 8))
		}
	}
}

const maxKeyCache = 64

// NewJSONDecoder makes a decoder for schema. opts are JSON format options
// (mode, columnNameOfCorruptRecord, timestampFormat, dateFormat, timeZone).
func NewJSONDecoder(schema *arrow.Schema, mem memory.Allocator, opts map[string]string) (*JSONDecoder, error) {
	o, err := parseJSONOptions(opts)
	if err != nil {
		return nil, err
	}
	return newJSONDecoder(schema, mem, o)
}

func newJSONDecoder(schema *arrow.Schema, mem memory.Allocator, o *jsonOptions) (*JSONDecoder, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	d := &JSONDecoder{schema: schema, mem: mem, opts: o}
	d.root.kind = kindStruct
	d.root.index = make(map[string]int)
	for _, f := range schema.Fields() {
		if f.Name == o.corruptColumn {
			if f.Type.ID() != arrow.STRING {
				return nil, fmt.Errorf("%w: json: column %q (columnNameOfCorruptRecord) must be a string, not %s",
					ErrSchemaMismatch, f.Name, expr.TypeName(f.Type))
			}
			c, _ := newTextColumn(f.Type, false)
			d.corrupt = c
			d.cols = append(d.cols, c)
			continue
		}
		c, err := newTextColumn(f.Type, true)
		if err != nil {
			return nil, fmt.Errorf("%w: json: field %q: %v", ErrSchemaMismatch, f.Name, err)
		}
		d.cols = append(d.cols, c)
		if _, dup := d.root.index[f.Name]; dup {
			return nil, fmt.Errorf("%w: json: field %q appears twice in the schema", ErrSchemaMismatch, f.Name)
		}
		d.root.index[f.Name] = len(d.root.fields)
		d.root.fields = append(d.root.fields, buildJSONNode(f.Name, c))
	}
	d.root.seen = make([]uint32, len(d.root.fields))
	for _, c := range d.cols {
		c.bind(mem)
	}
	return d, nil
}

func buildJSONNode(path string, c *textColumn) *jsonNode {
	n := &jsonNode{kind: c.kind, col: c, path: path, typ: expr.TypeName(c.dt), bits: intBits(c.kind)}
	switch c.kind {
	case kindStruct:
		n.index = make(map[string]int)
		for i, f := range c.dt.(*arrow.StructType).Fields() {
			if _, dup := n.index[f.Name]; !dup {
				n.index[f.Name] = i
			}
			n.fields = append(n.fields, buildJSONNode(path+"."+f.Name, c.children[i]))
		}
		n.seen = make([]uint32, len(n.fields))
	case kindList:
		n.elem = buildJSONNode(path+"[]", c.children[0])
	}
	return n
}

// Schema is the schema of the batches.
func (d *JSONDecoder) Schema() *arrow.Schema { return d.schema }

// Len is the number of rows appended since the last NewBatch.
func (d *JSONDecoder) Len() int { return d.n }

// Malformed counts the malformed records seen (dropped, kept with NULLs, or
// returned as errors) over the decoder's life.
func (d *JSONDecoder) Malformed() int { return d.malformed }

// NewBatch returns the rows appended so far as a batch owned by the caller
// and starts a new one.
func (d *JSONDecoder) NewBatch() arrow.RecordBatch {
	arrs := make([]arrow.Array, len(d.cols))
	for i, c := range d.cols {
		arrs[i] = c.newArray(d.mem)
	}
	b := array.NewRecordBatch(d.schema, arrs, int64(d.n))
	for _, a := range arrs {
		a.Release()
	}
	d.n, d.bytes = 0, 0
	return b
}

// Release drops the rows not yet taken by NewBatch. The decoder holds no
// Arrow memory between calls, so Release only resets.
func (d *JSONDecoder) Release() {
	for _, c := range d.cols {
		c.reset()
	}
	d.n, d.bytes = 0, 0
}

// Append decodes one record: a JSON object (or an array of objects). See
// the type's doc for what happens to malformed records.
func (d *JSONDecoder) Append(record []byte) error {
	if d.bytes+len(record) > maxBatchData {
		return fmt.Errorf("fileformat: json decoder: the batch would exceed 2 GiB of data; call NewBatch more often")
	}
	d.bytes += len(record)
	start := d.n
	d.convErr = nil
	err := d.appendRecord(record)
	if err == nil && d.convErr == nil {
		return nil
	}
	d.malformed++
	switch d.opts.mode {
	case modePermissive:
		if err != nil {
			// A syntax error: one row of NULLs.
			d.truncate(start)
			for _, c := range d.cols {
				if c != d.corrupt {
					c.appendNull()
				}
			}
			d.n = start + 1
			if d.corrupt != nil {
				d.corrupt.appendText(record)
			}
			return nil
		}
		// Conversion errors: the rows keep what parsed.
		if d.corrupt != nil {
			d.corrupt.truncate(start)
			for k := start; k < d.n; k++ {
				d.corrupt.appendText(record)
			}
		}
		return nil
	case modeDropMalformed:
		d.truncate(start)
		return nil
	}
	d.truncate(start)
	return err
}

func (d *JSONDecoder) truncate(n int) {
	for _, c := range d.cols {
		c.truncate(n)
	}
	d.n = n
}

func (d *JSONDecoder) appendRecord(data []byte) error {
	i := skipWS(data, 0)
	if i >= len(data) {
		return &MalformedError{Offset: 0, Reason: "empty record, expected a JSON object"}
	}
	switch data[i] {
	case '{':
		e, err := d.row(data, i)
		if err != nil {
			return err
		}
		i = e
	case '[':
		i = skipWS(data, i+1)
		if i < len(data) && data[i] == ']' {
			i++
			break
		}
		for {
			if i >= len(data) || data[i] != '{' {
				return d.syntax(&d.root, syntaxErr(i, "expected a JSON object in the top-level array"))
			}
			e, err := d.row(data, i)
			if err != nil {
				return err
			}
			i = skipWS(data, e)
			if i < len(data) && data[i] == ',' {
				i = skipWS(data, i+1)
				continue
			}
			if i < len(data) && data[i] == ']' {
				i++
				break
			}
			return d.syntax(&d.root, syntaxErr(i, "expected ',' or ']' in the top-level array"))
		}
	default:
		return d.syntax(&d.root, syntaxErr(i, "expected a JSON object"))
	}
	if i = skipWS(data, i); i < len(data) {
		return d.syntax(&d.root, syntaxErr(i, "unexpected data after the JSON value"))
	}
	return nil
}

// row decodes one top-level object into a new row.
func (d *JSONDecoder) row(data []byte, i int) (int, error) {
	e, err := d.object(&d.root, data, i, 0)
	if err != nil {
		return 0, err
	}
	if d.corrupt != nil {
		d.corrupt.appendNull()
	}
	d.n++
	return e, nil
}

func (d *JSONDecoder) syntax(n *jsonNode, e *jsonSyntaxError) *MalformedError {
	return &MalformedError{Column: n.path, Type: n.typ, Offset: e.pos, Reason: e.msg}
}

// object decodes the object at data[i] == '{' into the fields of n.
func (d *JSONDecoder) object(n *jsonNode, data []byte, i, depth int) (int, error) {
	if depth > maxJSONDepth {
		return 0, d.syntax(n, syntaxErr(i, "nesting too deep"))
	}
	n.gen++
	if n.gen == 0 {
		clear(n.seen)
		n.gen = 1
	}
	found := 0
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == '}' {
		i++
	} else {
		for k := 0; ; k++ {
			if i >= len(data) || data[i] != '"' {
				return 0, d.syntax(n, syntaxErr(i, "expected a field name"))
			}
			idx := -1
			// Fast path: the same key as in this position of the previous
			// object (cached with its closing quote, so a match is exact).
			if k < len(n.cache) && n.cache[k].matches(data, i+1) {
				idx = n.cache[k].idx
				i += 1 + len(n.cache[k].key)
			} else {
				ke, esc, serr := scanString(data, i+1)
				if serr != nil {
					return 0, d.syntax(n, serr)
				}
				key := data[i+1 : ke]
				if esc {
					d.scratch = appendUnescaped(d.scratch[:0], key)
					key = d.scratch
				}
				idx = n.lookup(k, key, !esc)
				i = ke + 1
			}
			if i < len(data) && data[i] == ':' {
				i++
			} else {
				i = skipWS(data, i)
				if i >= len(data) || data[i] != ':' {
					return 0, d.syntax(n, syntaxErr(i, "expected ':' after a field name"))
				}
				i++
			}
			if i < len(data) && data[i] <= ' ' {
				i = skipWS(data, i)
			}
			if idx >= 0 && n.seen[idx] != n.gen {
				n.seen[idx] = n.gen
				found++
				var err error
				if i, err = d.value(n.fields[idx], data, i, depth+1); err != nil {
					return 0, err
				}
			} else {
				var serr *jsonSyntaxError
				if i, serr = skipValue(data, i, depth+1); serr != nil {
					return 0, d.syntax(n, serr)
				}
			}
			if i < len(data) {
				if c := data[i]; c == ',' {
					i++
					if i < len(data) && data[i] <= ' ' {
						i = skipWS(data, i)
					}
					continue
				} else if c == '}' {
					i++
					break
				}
			}
			i = skipWS(data, i)
			if i < len(data) && data[i] == ',' {
				i = skipWS(data, i+1)
				continue
			}
			if i < len(data) && data[i] == '}' {
				i++
				break
			}
			return 0, d.syntax(n, syntaxErr(i, "expected ',' or '}' after a field value"))
		}
	}
	if found < len(n.fields) {
		for k, f := range n.fields {
			if n.seen[k] != n.gen {
				f.col.appendNull()
			}
		}
	}
	return i, nil
}

// lookup resolves the k-th key of an object to a field index, -1 if
// unknown, and remembers it for the next object (raw: the key had no
// escapes, so its bytes can be matched in place).
func (n *jsonNode) lookup(k int, key []byte, raw bool) int {
	idx, ok := n.index[string(key)]
	if !ok {
		idx = -1
	}
	if k < maxKeyCache {
		for len(n.cache) <= k {
			n.cache = append(n.cache, jsonKeyCache{})
		}
		n.cache[k].set(key, idx, raw)
	}
	return idx
}

// value decodes one JSON value at data[i] into n's column.
func (d *JSONDecoder) value(n *jsonNode, data []byte, i, depth int) (int, error) {
	if i >= len(data) {
		return 0, d.syntax(n, syntaxErr(i, "unexpected end of input, expected a value"))
	}
	c := data[i]
	if c == 'n' {
		if hasLiteral(data, i, "null") {
			n.col.appendNull()
			return i + 4, nil
		}
		return 0, d.syntax(n, syntaxErr(i, "invalid literal"))
	}
	col := n.col
	switch n.kind {
	case kindString:
		if c == '"' {
			e, esc, serr := scanString(data, i+1)
			if serr != nil {
				return 0, d.syntax(n, serr)
			}
			if esc {
				col.reserveData(e - i)
				col.data = appendUnescaped(col.data, data[i+1:e])
				col.offsets = append(col.offsets, int32(len(col.data)))
				col.n++
			} else {
				col.appendBytes(data[i+1 : e])
			}
			return e + 1, nil
		}
		e, serr := skipValue(data, i, depth)
		if serr != nil {
			return 0, d.syntax(n, serr)
		}
		col.appendBytes(data[i:e])
		return e, nil
	case kindInt64, kindInt32, kindInt16, kindInt8:
		if c == '-' || (c >= '0' && c <= '9') {
			e, kind, serr := scanNumber(data, i)
			if serr != nil {
				return 0, d.syntax(n, serr)
			}
			if kind == numInt {
				if v, ok := parseIntBytes(data[i:e], n.bits); ok {
					col.appendInt(v)
					return e, nil
				}
				return d.convert(n, data, i, e, "out of range")
			}
			return d.convert(n, data, i, e, "not an integer")
		}
	case kindFloat64, kindFloat32:
		if c == '"' {
			e, str, err := d.stringValue(n, data, i)
			if err != nil {
				return 0, err
			}
			if v, ok := specialFloat(str); ok {
				col.appendFloat(v)
				return e, nil
			}
			return d.convert(n, data, i, e, "expected a number")
		}
		e, kind, serr := scanNumber(data, i)
		if serr != nil {
			if isValueStart(c) {
				break
			}
			return 0, d.syntax(n, serr)
		}
		var v float64
		if kind == numSpecial {
			v, _ = specialFloat(data[i:e])
		} else {
			bits := 64
			if n.kind == kindFloat32 {
				bits = 32
			}
			var ok bool
			if v, ok = parseFloatBytes(data[i:e], bits); !ok {
				return d.convert(n, data, i, e, "")
			}
		}
		col.appendFloat(v)
		return e, nil
	case kindBool:
		if c == 't' && hasLiteral(data, i, "true") {
			col.appendBool(true)
			return i + 4, nil
		}
		if c == 'f' && hasLiteral(data, i, "false") {
			col.appendBool(false)
			return i + 5, nil
		}
	case kindTimestamp:
		if c == '"' {
			e, str, err := d.stringValue(n, data, i)
			if err != nil {
				return 0, err
			}
			us, ok := d.opts.dt.parseTimestamp(str)
			if !ok {
				return d.convert(n, data, i, e, timestampReason(&d.opts.dt))
			}
			col.appendTimestamp(us)
			return e, nil
		}
		if c == '-' || (c >= '0' && c <= '9') {
			e, kind, serr := scanNumber(data, i)
			if serr != nil {
				return 0, d.syntax(n, serr)
			}
			if kind != numInt {
				return d.convert(n, data, i, e, "epoch seconds must be an integer")
			}
			s, ok := parseIntBytes(data[i:e], 64)
			if !ok || s > math.MaxInt64/microsPerSecond || s < math.MinInt64/microsPerSecond {
				return d.convert(n, data, i, e, "out of range")
			}
			col.appendTimestamp(s * microsPerSecond)
			return e, nil
		}
	case kindDate:
		if c == '"' {
			e, str, err := d.stringValue(n, data, i)
			if err != nil {
				return 0, err
			}
			v, ok := d.opts.dt.parseDate(str)
			if !ok {
				return d.convert(n, data, i, e, dateReason(&d.opts.dt))
			}
			col.appendInt(int64(v))
			return e, nil
		}
	case kindDecimal:
		var e int
		var txt []byte
		if c == '"' {
			var err error
			if e, txt, err = d.stringValue(n, data, i); err != nil {
				return 0, err
			}
		} else if c == '-' || (c >= '0' && c <= '9') {
			var serr *jsonSyntaxError
			if e, _, serr = scanNumber(data, i); serr != nil {
				return 0, d.syntax(n, serr)
			}
			txt = data[i:e]
		} else {
			break
		}
		v, ok := parseDecimalBytes(txt, col.decPrec, col.decScale)
		if !ok {
			return d.convert(n, data, i, e, fmt.Sprintf("does not fit %s", n.typ))
		}
		col.appendDecimal(v)
		return e, nil
	case kindBinary:
		if c == '"' {
			e, str, err := d.stringValue(n, data, i)
			if err != nil {
				return 0, err
			}
			if reason, ok := appendBase64(col, str); !ok {
				return d.convert(n, data, i, e, reason)
			}
			return e, nil
		}
	case kindStruct:
		if c == '{' {
			e, err := d.object(n, data, i, depth)
			if err != nil {
				return 0, err
			}
			col.endStruct()
			return e, nil
		}
	case kindList:
		if c == '[' {
			if depth > maxJSONDepth {
				return 0, d.syntax(n, syntaxErr(i, "nesting too deep"))
			}
			i = skipWS(data, i+1)
			if i < len(data) && data[i] == ']' {
				col.endList()
				return i + 1, nil
			}
			for {
				var err error
				if i, err = d.value(n.elem, data, i, depth+1); err != nil {
					return 0, err
				}
				i = skipWS(data, i)
				if i < len(data) && data[i] == ',' {
					i = skipWS(data, i+1)
					continue
				}
				if i < len(data) && data[i] == ']' {
					col.endList()
					return i + 1, nil
				}
				return 0, d.syntax(n, syntaxErr(i, "expected ',' or ']' in an array"))
			}
		}
	case kindNull:
		// Only null fits; handled above.
	}
	// The JSON value has the wrong type for the field.
	e, serr := skipValue(data, i, depth)
	if serr != nil {
		return 0, d.syntax(n, serr)
	}
	return d.convert(n, data, i, e, "expected "+jsonExpect(n.kind)+", found "+jsonKindOf(c))
}

func isValueStart(c byte) bool {
	return c == '"' || c == '{' || c == '[' || c == 't' || c == 'f'
}

// stringValue scans a JSON string at data[i] and returns its decoded body
// (in scratch when it had escapes).
func (d *JSONDecoder) stringValue(n *jsonNode, data []byte, i int) (int, []byte, error) {
	e, esc, serr := scanString(data, i+1)
	if serr != nil {
		return 0, nil, d.syntax(n, serr)
	}
	s := data[i+1 : e]
	if esc {
		d.scratch = appendUnescaped(d.scratch[:0], s)
		s = d.scratch
	}
	return e + 1, s, nil
}

// convert handles a well-formed value that does not fit the field: an
// error, or in PERMISSIVE mode a NULL and a note for the corrupt column.
func (d *JSONDecoder) convert(n *jsonNode, data []byte, start, end int, reason string) (int, error) {
	e := &MalformedError{Column: n.path, Type: n.typ, Offset: start, Value: shortValue(data[start:end]), Reason: reason}
	if len(data[start:end]) >= 2 && data[start] == '"' {
		e.Value = shortValue(data[start+1 : end-1])
	}
	if d.opts.mode != modePermissive {
		return 0, e
	}
	if d.convErr == nil {
		d.convErr = e
	}
	n.col.appendNull()
	return end, nil
}

func jsonExpect(k colKind) string {
	switch k {
	case kindBool:
		return "true or false"
	case kindInt8, kindInt16, kindInt32, kindInt64:
		return "an integer"
	case kindFloat32, kindFloat64, kindDecimal:
		return "a number"
	case kindTimestamp:
		return "a timestamp string or epoch seconds"
	case kindDate, kindBinary:
		return "a string"
	case kindStruct:
		return "an object"
	case kindList:
		return "an array"
	case kindNull:
		return "null"
	}
	return "a value"
}

func jsonKindOf(c byte) string {
	switch c {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

// asMalformed extracts the MalformedError of a decoder failure.
func asMalformed(err error) (*MalformedError, bool) {
	var me *MalformedError
	ok := errors.As(err, &me)
	return me, ok
}
