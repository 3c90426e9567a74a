package fileformat

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/sluicehq/sluice/dataframe/expr"
)

// Schema inference for CSV and JSON, following Spark's CSVInferSchema and
// JsonInferSchema. Inference runs only when asked (Format.Infer, or Open
// with inferSchema=true); it reads the sampled rows (samplingRatio,
// default all; maxRows, a sluice extension, caps the rows read).

// inferType is a point in the widening lattice of inferred types.
type inferType struct {
	kind   inferKind
	prec   int32 // decimal
	fields map[string]*inferType
	elem   *inferType
}

type inferKind uint8

const (
	infNull inferKind = iota
	infBool
	infInt  // CSV only: fits int32
	infLong // fits int64
	infDecimal
	infDouble
	infDate
	infTimestamp
	infString
	infStruct
	infList
)

var (
	tNull      = &inferType{kind: infNull}
	tBool      = &inferType{kind: infBool}
	tInt       = &inferType{kind: infInt}
	tLong      = &inferType{kind: infLong}
	tDouble    = &inferType{kind: infDouble}
	tDate      = &inferType{kind: infDate}
	tTimestamp = &inferType{kind: infTimestamp}
	tString    = &inferType{kind: infString}
)

func decimalType(prec int32) *inferType { return &inferType{kind: infDecimal, prec: prec} }

func isNumericInfer(k inferKind) bool {
	return k == infInt || k == infLong || k == infDecimal || k == infDouble
}

// mergeInfer widens two inferred types to one that holds both (Spark's
// compatibleType): numbers widen up to double, date and timestamp to
// timestamp, structs and arrays merge member-wise, anything else to
// string.
func mergeInfer(a, b *inferType) *inferType {
	switch {
	case a.kind == infNull:
		return b
	case b.kind == infNull:
		return a
	case a.kind == b.kind && a.kind != infDecimal && a.kind != infStruct && a.kind != infList:
		return a
	case isNumericInfer(a.kind) && isNumericInfer(b.kind):
		if a.kind == infDouble || b.kind == infDouble {
			return tDouble
		}
		if a.kind == infDecimal || b.kind == infDecimal {
			p := max(decimalDigits(a), decimalDigits(b))
			if p > 38 {
				return tDouble
			}
			return decimalType(p)
		}
		return tLong // int + long
	case (a.kind == infDate || a.kind == infTimestamp) && (b.kind == infDate || b.kind == infTimestamp):
		return tTimestamp
	case a.kind == infStruct && b.kind == infStruct:
		m := &inferType{kind: infStruct, fields: make(map[string]*inferType, len(a.fields)+len(b.fields))}
		for k, v := range a.fields {
			m.fields[k] = v
		}
		for k, v := range b.fields {
			if old, ok := m.fields[k]; ok {
				m.fields[k] = mergeInfer(old, v)
			} else {
				m.fields[k] = v
			}
		}
		return m
	case a.kind == infList && b.kind == infList:
		return &inferType{kind: infList, elem: mergeInfer(a.elem, b.elem)}
	}
	return tString
}

// decimalDigits is the integer digits a type needs as a decimal(p, 0).
func decimalDigits(t *inferType) int32 {
	switch t.kind {
	case infInt:
		return 10
	case infLong:
		return 19
	}
	return t.prec
}

// toArrow turns an inferred type into the schema type. Types never seen
// with a value become string (or are dropped when dropNull).
func (t *inferType) toArrow(dropNull bool) (arrow.DataType, bool) {
	switch t.kind {
	case infNull:
		if dropNull {
			return nil, false
		}
		return arrow.BinaryTypes.String, true
	case infBool:
		return arrow.FixedWidthTypes.Boolean, true
	case infInt:
		return arrow.PrimitiveTypes.Int32, true
	case infLong:
		return arrow.PrimitiveTypes.Int64, true
	case infDecimal:
		return &arrow.Decimal128Type{Precision: t.prec, Scale: 0}, true
	case infDouble:
		return arrow.PrimitiveTypes.Float64, true
	case infDate:
		return expr.Date, true
	case infTimestamp:
		return expr.Timestamp, true
	case infStruct:
		fields := structFields(t, dropNull)
		if len(fields) == 0 {
			return nil, false // Spark drops empty structs
		}
		return arrow.StructOf(fields...), true
	case infList:
		et, ok := t.elem.toArrow(false)
		if !ok {
			et = arrow.BinaryTypes.String
		}
		return arrow.ListOf(et), true
	}
	return arrow.BinaryTypes.String, true
}

// structFields lists the fields sorted by name, as Spark's JSON inference
// does.
func structFields(t *inferType, dropNull bool) []arrow.Field {
	names := make([]string, 0, len(t.fields))
	for k := range t.fields {
		names = append(names, k)
	}
	slices.Sort(names)
	fields := make([]arrow.Field, 0, len(names))
	for _, n := range names {
		dt, ok := t.fields[n].toArrow(dropNull)
		if !ok {
			continue
		}
		fields = append(fields, arrow.Field{Name: n, Type: dt, Nullable: true})
	}
	return fields
}

// sampler picks rows for samplingRatio deterministically (evenly spaced),
// so inference is repeatable.
type sampler struct {
	ratio float64
	k     int
	taken int
	max   int
}

func (s *sampler) take() bool {
	k := s.k
	s.k++
	if s.ratio < 1 && int(float64(k+1)*s.ratio) == int(float64(k)*s.ratio) {
		return false
	}
	s.taken++
	return true
}

func (s *sampler) full() bool { return s.max > 0 && s.taken >= s.max }

// inferCSV infers the schema of a CSV stream.
func inferCSV(ctx context.Context, r io.Reader, name string, o *csvOptions) (*arrow.Schema, error) {
	in, zc, err := decompressor(r, name)
	if err != nil {
		return nil, err
	}
	if zc != nil {
		defer zc.Close()
	}
	src := newLineSource(in)
	tok := o.tokenizer()
	strictDate := o.dt.dtParse
	if strictDate == nil {
		strictDate, _ = compileDatetimePattern("yyyy-MM-dd")
	}
	var names []string
	var types []*inferType
	smp := sampler{ratio: o.samplingRatio, max: o.maxRows}
	line := 1
	first := true
	for !smp.full() {
		if line%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		n, lines, st, msg := tok.record(src.window(), src.eof)
		if st == recNeedMore {
			if !src.more() && src.err != nil {
				return nil, fmt.Errorf("fileformat: csv %s: read: %w", name, src.err)
			}
			continue
		}
		if st == recEnd {
			break
		}
		lineNo := line
		line += lines
		src.advance(n)
		if st == recSkip {
			continue
		}
		if st == recError {
			if o.mode == modeFailFast {
				return nil, &MalformedError{File: name, Line: lineNo, Offset: -1, Reason: msg}
			}
			continue
		}
		if first {
			first = false
			names = csvColumnNames(tok.fields, o.header)
			types = make([]*inferType, len(names))
			for i := range types {
				types[i] = tNull
			}
			if o.header {
				continue
			}
		}
		if !smp.take() {
			continue
		}
		for i := 0; i < len(tok.fields) && i < len(types); i++ {
			types[i] = mergeInfer(types[i], inferCSVValue(tok.fields[i], o, strictDate))
		}
	}
	fields := make([]arrow.Field, len(names))
	for i, n := range names {
		dt, _ := types[i].toArrow(false)
		fields[i] = arrow.Field{Name: n, Type: dt, Nullable: true}
	}
	return arrow.NewSchema(fields, nil), nil
}

// csvColumnNames names the columns from the header (empty names become
// _c<i>, duplicates get their index appended, as in Spark) or _c0, _c1...
func csvColumnNames(fields []csvField, header bool) []string {
	names := make([]string, len(fields))
	if !header {
		for i := range names {
			names[i] = "_c" + strconv.Itoa(i)
		}
		return names
	}
	count := map[string]int{}
	for _, f := range fields {
		count[strings.ToLower(string(f.b))]++
	}
	for i, f := range fields {
		n := string(f.b)
		switch {
		case n == "":
			n = "_c" + strconv.Itoa(i)
		case count[strings.ToLower(n)] > 1:
			n += strconv.Itoa(i)
		}
		names[i] = n
	}
	return names
}

// inferCSVValue is the narrowest type of one field (Spark's inferField):
// int, bigint, decimal (integers beyond bigint), double, date, timestamp,
// boolean, else string.
func inferCSVValue(f csvField, o *csvOptions, strictDate *datetimePattern) *inferType {
	v := f.b
	if len(v) == 0 {
		if !f.quoted {
			return tNull
		}
		v = o.emptyReadB
	}
	s := bytesToString(v)
	if s == o.nullValue {
		return tNull
	}
	if _, ok := parseIntBytes(v, 32); ok {
		return tInt
	}
	if _, ok := parseIntBytes(v, 64); ok {
		return tLong
	}
	if isDigits(v) {
		d := int32(len(strings.TrimLeft(strings.TrimLeft(s, "+-"), "0")))
		if d == 0 {
			d = 1
		}
		if d <= 38 {
			return decimalType(d)
		}
		return tDouble
	}
	if s == o.nanValue || s == o.positiveInf || s == o.negativeInf || looksNumeric(v) {
		if _, ok := parseFloatBytes(v, 64); ok || s == o.nanValue || s == o.positiveInf || s == o.negativeInf {
			return tDouble
		}
	}
	if o.preferDate {
		if _, ok := strictDate.parse(v); ok {
			return tDate
		}
	}
	if _, ok := o.dt.parseTimestamp(v); ok {
		return tTimestamp
	}
	if _, ok := parseBoolBytes(v); ok {
		return tBool
	}
	return tString
}

func isDigits(v []byte) bool {
	i := 0
	if len(v) > 0 && (v[0] == '-' || v[0] == '+') {
		i = 1
	}
	if i == len(v) {
		return false
	}
	for ; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

// looksNumeric accepts [+-]digits[.digits][e[+-]digits] and the Java
// spellings NaN, Infinity.
func looksNumeric(v []byte) bool {
	switch string(v) {
	case "NaN", "Infinity", "-Infinity", "+Infinity":
		return true
	}
	digits := false
	for i, c := range v {
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c == '.' || c == 'e' || c == 'E':
		case (c == '-' || c == '+') && (i == 0 || v[i-1] == 'e' || v[i-1] == 'E'):
		default:
			return false
		}
	}
	return digits
}

// inferJSON infers the schema of a JSON lines stream: the union of the
// fields of the sampled records, nested structs and arrays, conflicting
// types widened (numbers to double, otherwise string), fields sorted by
// name. Malformed lines fail (FAILFAST), are skipped (DROPMALFORMED), or
// add the corrupt-record column (PERMISSIVE), as in Spark.
func inferJSON(ctx context.Context, r io.Reader, name string, o *jsonOptions) (*arrow.Schema, error) {
	in, zc, err := decompressor(r, name)
	if err != nil {
		return nil, err
	}
	if zc != nil {
		defer zc.Close()
	}
	src := newLineSource(in)
	root := &inferType{kind: infStruct, fields: map[string]*inferType{}}
	smp := sampler{ratio: o.samplingRatio, max: o.maxRows}
	corrupt := false
	for lineNo := 1; !smp.full(); lineNo++ {
		if lineNo%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		line, ok := src.nextLine()
		if !ok {
			if src.err != nil {
				return nil, fmt.Errorf("fileformat: json %s: read: %w", name, src.err)
			}
			break
		}
		if skipWS(line, 0) == len(line) || !smp.take() {
			continue
		}
		t, err := inferJSONRecord(line, o)
		if err != nil {
			switch o.mode {
			case modeFailFast:
				err.File, err.Line = name, lineNo
				return nil, err
			case modePermissive:
				corrupt = true
			}
			continue
		}
		root = mergeInfer(root, t)
	}
	fields := structFields(root, o.dropFieldIfAllNull)
	if corrupt {
		if _, ok := root.fields[o.corruptColumn]; !ok {
			fields = append(fields, arrow.Field{Name: o.corruptColumn, Type: arrow.BinaryTypes.String, Nullable: true})
		}
	}
	return arrow.NewSchema(fields, nil), nil
}

// inferJSONRecord infers the type of one line: an object, or an array of
// objects (one row each).
func inferJSONRecord(data []byte, o *jsonOptions) (*inferType, *MalformedError) {
	i := skipWS(data, 0)
	if i >= len(data) || (data[i] != '{' && data[i] != '[') {
		return nil, &MalformedError{Offset: i, Reason: "expected a JSON object"}
	}
	t, e, err := inferJSONValue(data, i, 0, o)
	if err != nil {
		return nil, &MalformedError{Offset: err.pos, Reason: err.msg}
	}
	if j := skipWS(data, e); j < len(data) {
		return nil, &MalformedError{Offset: j, Reason: "unexpected data after the JSON value"}
	}
	if t.kind == infList {
		if t.elem.kind == infNull {
			return &inferType{kind: infStruct, fields: map[string]*inferType{}}, nil
		}
		if t.elem.kind != infStruct {
			return nil, &MalformedError{Offset: i, Reason: "expected a JSON object in the top-level array"}
		}
		return t.elem, nil
	}
	return t, nil
}

func inferJSONValue(data []byte, i, depth int, o *jsonOptions) (*inferType, int, *jsonSyntaxError) {
	if depth > maxJSONDepth {
		return nil, 0, syntaxErr(i, "nesting too deep")
	}
	if i >= len(data) {
		return nil, 0, syntaxErr(i, "unexpected end of input, expected a value")
	}
	prim := func(t *inferType) *inferType {
		if o.primitivesAsString {
			return tString
		}
		return t
	}
	switch c := data[i]; c {
	case '{':
		t := &inferType{kind: infStruct, fields: map[string]*inferType{}}
		i = skipWS(data, i+1)
		if i < len(data) && data[i] == '}' {
			return t, i + 1, nil
		}
		for {
			if i >= len(data) || data[i] != '"' {
				return nil, 0, syntaxErr(i, "expected a field name")
			}
			ke, esc, err := scanString(data, i+1)
			if err != nil {
				return nil, 0, err
			}
			key := string(data[i+1 : ke])
			if esc {
				key = string(appendUnescaped(nil, data[i+1:ke]))
			}
			i = skipWS(data, ke+1)
			if i >= len(data) || data[i] != ':' {
				return nil, 0, syntaxErr(i, "expected ':' after a field name")
			}
			vt, e, err := inferJSONValue(data, skipWS(data, i+1), depth+1, o)
			if err != nil {
				return nil, 0, err
			}
			if old, ok := t.fields[key]; ok {
				t.fields[key] = mergeInfer(old, vt)
			} else {
				t.fields[key] = vt
			}
			i = skipWS(data, e)
			if i < len(data) && data[i] == ',' {
				i = skipWS(data, i+1)
				continue
			}
			if i < len(data) && data[i] == '}' {
				return t, i + 1, nil
			}
			return nil, 0, syntaxErr(i, "expected ',' or '}' in an object")
		}
	case '[':
		t := &inferType{kind: infList, elem: tNull}
		i = skipWS(data, i+1)
		if i < len(data) && data[i] == ']' {
			return t, i + 1, nil
		}
		for {
			et, e, err := inferJSONValue(data, i, depth+1, o)
			if err != nil {
				return nil, 0, err
			}
			t.elem = mergeInfer(t.elem, et)
			i = skipWS(data, e)
			if i < len(data) && data[i] == ',' {
				i = skipWS(data, i+1)
				continue
			}
			if i < len(data) && data[i] == ']' {
				return t, i + 1, nil
			}
			return nil, 0, syntaxErr(i, "expected ',' or ']' in an array")
		}
	case '"':
		e, _, err := scanString(data, i+1)
		if err != nil {
			return nil, 0, err
		}
		return tString, e + 1, nil
	case 't', 'f', 'n':
		e, err := skipValue(data, i, depth)
		if err != nil {
			return nil, 0, err
		}
		if c == 'n' {
			return tNull, e, nil
		}
		return prim(tBool), e, nil
	}
	e, kind, err := scanNumber(data, i)
	if err != nil {
		return nil, 0, err
	}
	if kind != numInt {
		return prim(tDouble), e, nil
	}
	if _, ok := parseIntBytes(data[i:e], 64); ok {
		return prim(tLong), e, nil
	}
	d := int32(e - i)
	if data[i] == '-' {
		d--
	}
	if d <= 38 {
		return prim(decimalType(d)), e, nil
	}
	return prim(tDouble), e, nil
}
