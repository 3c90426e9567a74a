// Package avro decodes Avro binary data straight into Arrow columns: the
// Kafka source's valueFormat "avro" (values framed by a Confluent schema
// registry, or raw with a fixed schema). A schema is parsed once; records
// written with another (writer) schema are resolved against the reader's
// by Avro's rules (fields by name or alias, defaults, numeric promotion).
// Types map as in Spark's SchemaConverters: record -> struct, array ->
// array, map -> map<string,_>, enum -> string, fixed/bytes -> binary,
// decimal -> decimal, date -> date, timestamp-* -> timestamp, a union of
// null and one type -> that type, nullable.
package avro

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// ErrSchema reports an Avro schema that cannot be parsed or mapped.
var ErrSchema = errors.New("avro: schema")

// ErrData reports Avro data that does not decode with its schema.
var ErrData = errors.New("avro: malformed data")

type kind int

const (
	kNull kind = iota
	kBoolean
	kInt
	kLong
	kFloat
	kDouble
	kBytes
	kString
	kRecord
	kEnum
	kArray
	kMap
	kUnion
	kFixed
)

var kindNames = map[string]kind{
	"null": kNull, "boolean": kBoolean, "int": kInt, "long": kLong, "float": kFloat,
	"double": kDouble, "bytes": kBytes, "string": kString,
}

// node is one parsed Avro type.
type node struct {
	kind     kind
	name     string // full name of records, enums and fixed
	aliases  []string
	fields   []*field // record
	symbols  []string // enum
	enumDef  string   // enum default symbol, "" if none
	items    *node    // array
	values   *node    // map
	branches []*node  // union
	size     int      // fixed
	logical  string
	prec     int // decimal
	scale    int
}

type field struct {
	name    string
	aliases []string
	typ     *node
	def     any // the default's JSON value
	hasDef  bool
}

// Schema is a parsed Avro schema.
type Schema struct {
	root *node
	text string
}

// String is the schema's JSON text as given.
func (s *Schema) String() string { return s.text }

// Parse reads an Avro schema in its JSON form.
func Parse(text string) (*Schema, error) {
	var raw any
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: not JSON: %v", ErrSchema, err)
	}
	p := &parser{named: map[string]*node{}}
	root, err := p.parse(raw, "")
	if err != nil {
		return nil, err
	}
	return &Schema{root: root, text: text}, nil
}

type parser struct {
	named map[string]*node
	depth int
}

func fullName(name, ns string) string {
	if strings.Contains(name, ".") || ns == "" {
		return name
	}
	return ns + "." + name
}

func (p *parser) parse(raw any, ns string) (*node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 64 {
		return nil, fmt.Errorf("%w: nested more than 64 levels deep", ErrSchema)
	}
	switch v := raw.(type) {
	case string:
		if k, ok := kindNames[v]; ok {
			return &node{kind: k}, nil
		}
		if n, ok := p.named[fullName(v, ns)]; ok {
			return n, nil
		}
		if n, ok := p.named[v]; ok {
			return n, nil
		}
		return nil, fmt.Errorf("%w: unknown type %q", ErrSchema, v)
	case []any:
		u := &node{kind: kUnion}
		for _, b := range v {
			n, err := p.parse(b, ns)
			if err != nil {
				return nil, err
			}
			if n.kind == kUnion {
				return nil, fmt.Errorf("%w: a union directly inside a union", ErrSchema)
			}
			u.branches = append(u.branches, n)
		}
		if len(u.branches) == 0 {
			return nil, fmt.Errorf("%w: an empty union", ErrSchema)
		}
		return u, nil
	case map[string]any:
		return p.parseObject(v, ns)
	}
	return nil, fmt.Errorf("%w: a type must be a name, an object or a union array, not %v", ErrSchema, raw)
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func num(m map[string]any, k string) (int, bool) {
	n, ok := m[k].(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	if err != nil || i < 0 || i > 1<<30 {
		return 0, false
	}
	return int(i), true
}

func strs(m map[string]any, k string) []string {
	arr, _ := m[k].([]any)
	var out []string
	for _, a := range arr {
		if s, ok := a.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) define(n *node, m map[string]any, ns string) (string, error) {
	name := str(m, "name")
	if name == "" {
		return "", fmt.Errorf("%w: a named type without a name", ErrSchema)
	}
	if s := str(m, "namespace"); s != "" && !strings.Contains(name, ".") {
		ns = s
	}
	n.name = fullName(name, ns)
	if i := strings.LastIndexByte(n.name, '.'); i >= 0 {
		ns = n.name[:i]
	} else {
		ns = ""
	}
	if _, dup := p.named[n.name]; dup {
		return "", fmt.Errorf("%w: type %s is defined twice", ErrSchema, n.name)
	}
	for _, a := range strs(m, "aliases") {
		n.aliases = append(n.aliases, fullName(a, ns))
	}
	p.named[n.name] = n
	return ns, nil
}

func (p *parser) parseObject(m map[string]any, ns string) (*node, error) {
	t, ok := m["type"]
	if !ok {
		return nil, fmt.Errorf("%w: an object without \"type\"", ErrSchema)
	}
	ts, isName := t.(string)
	if !isName {
		// {"type": {...}} or {"type": [...]}: a wrapper.
		return p.parse(t, ns)
	}
	n := &node{logical: str(m, "logicalType")}
	switch ts {
	case "record", "error":
		n.kind = kRecord
		inner, err := p.define(n, m, ns)
		if err != nil {
			return nil, err
		}
		fs, ok := m["fields"].([]any)
		if !ok {
			return nil, fmt.Errorf("%w: record %s has no fields array", ErrSchema, n.name)
		}
		seen := map[string]bool{}
		for _, f := range fs {
			fm, ok := f.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%w: record %s: a field must be an object", ErrSchema, n.name)
			}
			fd := &field{name: str(fm, "name"), aliases: strs(fm, "aliases")}
			if fd.name == "" || seen[fd.name] {
				return nil, fmt.Errorf("%w: record %s: field without a name or named twice (%q)", ErrSchema, n.name, fd.name)
			}
			seen[fd.name] = true
			ft, ok := fm["type"]
			if !ok {
				return nil, fmt.Errorf("%w: record %s: field %s has no type", ErrSchema, n.name, fd.name)
			}
			typ, err := p.parse(ft, inner)
			if err != nil {
				return nil, fmt.Errorf("record %s, field %s: %w", n.name, fd.name, err)
			}
			fd.typ = typ
			fd.def, fd.hasDef = fm["default"]
			n.fields = append(n.fields, fd)
		}
		return n, nil
	case "enum":
		n.kind = kEnum
		if _, err := p.define(n, m, ns); err != nil {
			return nil, err
		}
		n.symbols = strs(m, "symbols")
		if len(n.symbols) == 0 {
			return nil, fmt.Errorf("%w: enum %s has no symbols", ErrSchema, n.name)
		}
		n.enumDef = str(m, "default")
		return n, nil
	case "fixed":
		n.kind = kFixed
		if _, err := p.define(n, m, ns); err != nil {
			return nil, err
		}
		size, ok := num(m, "size")
		if !ok {
			return nil, fmt.Errorf("%w: fixed %s needs a size", ErrSchema, n.name)
		}
		n.size = size
	case "array":
		n.kind = kArray
		items, err := p.parse(m["items"], ns)
		if err != nil {
			return nil, err
		}
		n.items = items
		return n, nil
	case "map":
		n.kind = kMap
		values, err := p.parse(m["values"], ns)
		if err != nil {
			return nil, err
		}
		n.values = values
		return n, nil
	default:
		k, ok := kindNames[ts]
		if !ok {
			inner, err := p.parse(ts, ns) // {"type": "SomeNamedType"}
			if err != nil {
				return nil, err
			}
			return inner, nil
		}
		n.kind = k
	}
	if n.logical == "decimal" {
		n.prec, _ = num(m, "precision")
		n.scale, _ = num(m, "scale")
		if n.prec < 1 || n.prec > 38 || n.scale > n.prec {
			n.logical = "" // invalid decimals are their underlying type, as the spec says
		}
	}
	return n, nil
}

// ArrowSchema maps a record schema to the columns it decodes into.
func (s *Schema) ArrowSchema() (*arrow.Schema, error) {
	if s.root.kind != kRecord {
		return nil, fmt.Errorf("%w: the top-level type must be a record, not %s", ErrSchema, kindName(s.root.kind))
	}
	dt, err := arrowType(s.root, map[*node]bool{})
	if err != nil {
		return nil, err
	}
	return arrow.NewSchema(dt.(*arrow.StructType).Fields(), nil), nil
}

func kindName(k kind) string {
	for n, kk := range kindNames {
		if kk == k {
			return n
		}
	}
	return [...]string{kRecord: "record", kEnum: "enum", kArray: "array", kMap: "map", kUnion: "union", kFixed: "fixed"}[k]
}

// nonNull is a union's one non-null branch (promoting int/long/float/
// double unions to the widest), or an error for other unions.
func nonNull(u *node) (*node, error) {
	var bs []*node
	for _, b := range u.branches {
		if b.kind != kNull {
			bs = append(bs, b)
		}
	}
	switch len(bs) {
	case 0:
		return &node{kind: kNull}, nil
	case 1:
		return bs[0], nil
	}
	widest := bs[0]
	for _, b := range bs {
		if !isNumeric(b.kind) || b.logical != "" {
			return nil, fmt.Errorf("%w: unions of several types (%s) are not supported; only a type or null", ErrSchema, unionNames(u))
		}
		if b.kind > widest.kind {
			widest = b
		}
	}
	return widest, nil
}

func isNumeric(k kind) bool { return k == kInt || k == kLong || k == kFloat || k == kDouble }

func unionNames(u *node) string {
	var ns []string
	for _, b := range u.branches {
		if b.name != "" {
			ns = append(ns, b.name)
		} else {
			ns = append(ns, kindName(b.kind))
		}
	}
	return strings.Join(ns, ", ")
}

func arrowType(n *node, open map[*node]bool) (arrow.DataType, error) {
	switch n.kind {
	case kNull:
		return arrow.Null, nil
	case kBoolean:
		return expr.Boolean, nil
	case kInt:
		if n.logical == "date" {
			return expr.Date, nil
		}
		return expr.Int32, nil
	case kLong:
		switch n.logical {
		case "timestamp-millis", "timestamp-micros", "timestamp-nanos", "local-timestamp-millis", "local-timestamp-micros", "local-timestamp-nanos":
			return expr.Timestamp, nil
		}
		return expr.Int64, nil
	case kFloat:
		return expr.Float32, nil
	case kDouble:
		return expr.Float64, nil
	case kBytes, kFixed:
		if n.logical == "decimal" {
			return &arrow.Decimal128Type{Precision: int32(n.prec), Scale: int32(n.scale)}, nil
		}
		return expr.Binary, nil
	case kString, kEnum:
		return expr.String, nil
	case kRecord:
		if open[n] {
			return nil, fmt.Errorf("%w: record %s contains itself; recursive types have no Arrow form", ErrSchema, n.name)
		}
		open[n] = true
		defer delete(open, n)
		fs := make([]arrow.Field, len(n.fields))
		for i, f := range n.fields {
			dt, err := arrowType(f.typ, open)
			if err != nil {
				return nil, err
			}
			fs[i] = arrow.Field{Name: f.name, Type: dt, Nullable: true}
		}
		return arrow.StructOf(fs...), nil
	case kArray:
		dt, err := arrowType(n.items, open)
		if err != nil {
			return nil, err
		}
		return arrow.ListOf(dt), nil
	case kMap:
		dt, err := arrowType(n.values, open)
		if err != nil {
			return nil, err
		}
		return arrow.MapOf(expr.String, dt), nil
	case kUnion:
		b, err := nonNull(n)
		if err != nil {
			return nil, err
		}
		return arrowType(b, open)
	}
	return nil, fmt.Errorf("%w: unknown kind %d", ErrSchema, n.kind)
}
