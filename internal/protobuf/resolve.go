package protobuf

import (
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// wellKnown are the google/protobuf files a schema may import without a
// schema reference, as protoc ships them (types only).
var wellKnown = map[string]string{
	"google/protobuf/timestamp.proto": `syntax = "proto3"; package google.protobuf;
		message Timestamp { int64 seconds = 1; int32 nanos = 2; }`,
	"google/protobuf/duration.proto": `syntax = "proto3"; package google.protobuf;
		message Duration { int64 seconds = 1; int32 nanos = 2; }`,
	"google/protobuf/empty.proto": `syntax = "proto3"; package google.protobuf; message Empty {}`,
	"google/protobuf/any.proto": `syntax = "proto3"; package google.protobuf;
		message Any { string type_url = 1; bytes value = 2; }`,
	"google/protobuf/field_mask.proto": `syntax = "proto3"; package google.protobuf;
		message FieldMask { repeated string paths = 1; }`,
	"google/protobuf/wrappers.proto": `syntax = "proto3"; package google.protobuf;
		message DoubleValue { double value = 1; } message FloatValue { float value = 1; }
		message Int64Value { int64 value = 1; } message UInt64Value { uint64 value = 1; }
		message Int32Value { int32 value = 1; } message UInt32Value { uint32 value = 1; }
		message BoolValue { bool value = 1; } message StringValue { string value = 1; }
		message BytesValue { bytes value = 1; }`,
	"google/protobuf/struct.proto": `syntax = "proto3"; package google.protobuf;
		message Struct { map<string, Value> fields = 1; }
		message Value { oneof kind { NullValue null_value = 1; double number_value = 2; string string_value = 3;
			bool bool_value = 4; Struct struct_value = 5; ListValue list_value = 6; } }
		enum NullValue { NULL_VALUE = 0; }
		message ListValue { repeated Value values = 1; }`,
}

// timestampName is the message decoded as an Arrow timestamp.
const timestampName = "google.protobuf.Timestamp"

// Schema is a parsed root file with its imports, every type name resolved.
type Schema struct {
	root     *File
	messages map[string]*Message // by full name
	enums    map[string]*Enum
}

// Parse parses and compiles one self-contained .proto text (it may import
// only the well-known google/protobuf files).
func Parse(text string) (*Schema, error) {
	f, err := ParseFile("", text)
	if err != nil {
		return nil, err
	}
	return Compile(f, nil)
}

// Compile resolves root's type names against itself and its imports:
// imports maps an import path to its parsed file (a schema registry's
// references); the well-known google/protobuf files are built in.
func Compile(root *File, imports map[string]*File) (*Schema, error) {
	s := &Schema{root: root, messages: map[string]*Message{}, enums: map[string]*Enum{}}
	var files []*File
	seen := map[string]bool{}
	var visit func(f *File) error
	visit = func(f *File) error {
		files = append(files, f)
		for _, imp := range f.Imports {
			if seen[imp] {
				continue
			}
			seen[imp] = true
			dep, ok := imports[imp]
			if !ok {
				text, wk := wellKnown[imp]
				if !wk {
					return schemaErr("import %q: no such file (a schema registry gives imports as schema references; only the well-known google/protobuf files are built in)", imp)
				}
				var err error
				if dep, err = ParseFile(imp, text); err != nil {
					return err
				}
			}
			if err := visit(dep); err != nil {
				return err
			}
		}
		return nil
	}
	seen[root.Name] = true
	if err := visit(root); err != nil {
		return nil, err
	}
	for _, f := range files {
		for _, m := range f.Messages {
			if err := s.register(f.Package, m); err != nil {
				return nil, err
			}
		}
		for _, e := range f.Enums {
			if err := s.registerEnum(f.Package, e); err != nil {
				return nil, err
			}
		}
	}
	for _, f := range files {
		for _, m := range f.Messages {
			if err := s.resolve(m); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

func join(scope, name string) string {
	if scope == "" {
		return name
	}
	return scope + "." + name
}

func (s *Schema) register(scope string, m *Message) error {
	m.FullName = join(scope, m.Name)
	if s.messages[m.FullName] != nil || s.enums[m.FullName] != nil {
		return schemaErr("type %s is defined twice", m.FullName)
	}
	s.messages[m.FullName] = m
	for _, sub := range m.Messages {
		if err := s.register(m.FullName, sub); err != nil {
			return err
		}
	}
	for _, e := range m.Enums {
		if err := s.registerEnum(m.FullName, e); err != nil {
			return err
		}
	}
	return nil
}

func (s *Schema) registerEnum(scope string, e *Enum) error {
	e.FullName = join(scope, e.Name)
	if s.messages[e.FullName] != nil || s.enums[e.FullName] != nil {
		return schemaErr("type %s is defined twice", e.FullName)
	}
	s.enums[e.FullName] = e
	return nil
}

// resolve finds the types of m's named fields (and its nested messages'),
// searching scopes from the innermost outwards as protoc does.
func (s *Schema) resolve(m *Message) error {
	nums := map[int32]string{}
	for _, f := range m.Fields {
		if prev, dup := nums[f.Number]; dup {
			return schemaErr("message %s: fields %s and %s share number %d", m.FullName, prev, f.Name, f.Number)
		}
		nums[f.Number] = f.Name
		if f.kind != kNone {
			continue
		}
		msg, enum := s.lookup(m.FullName, f.TypeName)
		switch {
		case msg != nil:
			f.kind, f.msg = kMessage, msg
		case enum != nil:
			f.kind, f.enum = kEnum, enum
		default:
			return schemaErr("message %s: field %s has unknown type %s", m.FullName, f.Name, f.TypeName)
		}
	}
	for _, sub := range m.Messages {
		if err := s.resolve(sub); err != nil {
			return err
		}
	}
	return nil
}

func (s *Schema) lookup(scope, name string) (*Message, *Enum) {
	if full, ok := strings.CutPrefix(name, "."); ok {
		return s.messages[full], s.enums[full]
	}
	for {
		full := join(scope, name)
		if m, e := s.messages[full], s.enums[full]; m != nil || e != nil {
			return m, e
		}
		if scope == "" {
			return nil, nil
		}
		if i := strings.LastIndexByte(scope, '.'); i >= 0 {
			scope = scope[:i]
		} else {
			scope = ""
		}
	}
}

// Message finds a message by its full name (package.Outer.Name, a
// leading dot allowed) or, when unambiguous, by a name relative to the
// root file's package or its short name. "" is the root file's first
// message (Confluent's default).
func (s *Schema) Message(name string) (*Message, error) {
	name = strings.TrimPrefix(name, ".")
	if name == "" {
		return s.MessageAt([]int{0})
	}
	if m := s.messages[name]; m != nil && !m.mapEntry {
		return m, nil
	}
	if m := s.messages[join(s.root.Package, name)]; m != nil && !m.mapEntry {
		return m, nil
	}
	var found []string
	for full, m := range s.messages {
		if !m.mapEntry && (m.Name == name || strings.HasSuffix(full, "."+name)) {
			found = append(found, full)
		}
	}
	slices.Sort(found)
	switch len(found) {
	case 1:
		return s.messages[found[0]], nil
	case 0:
		return nil, schemaErr("no message %s in the schema (messages: %s)", name, strings.Join(s.rootMessages(), ", "))
	}
	return nil, schemaErr("message name %s is ambiguous (%s); use the full name", name, strings.Join(found, ", "))
}

func (s *Schema) rootMessages() []string {
	var out []string
	var walk func(ms []*Message)
	walk = func(ms []*Message) {
		for _, m := range ms {
			if !m.mapEntry {
				out = append(out, m.FullName)
				walk(m.Messages)
			}
		}
	}
	walk(s.root.Messages)
	return out
}

// MessageAt is the message at a Confluent message index path: the index
// of a top-level message of the root file, then of a nested message in it,
// and so on (map entries count, as protoc generates them).
func (s *Schema) MessageAt(index []int) (*Message, error) {
	if len(index) == 0 {
		index = []int{0}
	}
	ms := s.root.Messages
	var m *Message
	for _, i := range index {
		if i < 0 || i >= len(ms) {
			return nil, schemaErr("message index %v: no message at %d (the schema has %d there)", index, i, len(ms))
		}
		m = ms[i]
		ms = m.Messages
	}
	return m, nil
}

// ArrowSchema is the Arrow schema of m's rows: one nullable field per
// message field, in declaration order.
func (m *Message) ArrowSchema() (*arrow.Schema, error) {
	fs, err := structFields(m, nil)
	if err != nil {
		return nil, err
	}
	return arrow.NewSchema(fs, nil), nil
}

func structFields(m *Message, stack []*Message) ([]arrow.Field, error) {
	if slices.Contains(stack, m) {
		return nil, schemaErr("message %s is recursive, which has no Arrow type", m.FullName)
	}
	if len(stack) >= maxNesting {
		return nil, schemaErr("message %s is nested more than %d deep", m.FullName, maxNesting)
	}
	stack = append(stack, m)
	fs := make([]arrow.Field, len(m.Fields))
	for i, f := range m.Fields {
		dt, err := fieldType(f, stack)
		if err != nil {
			return nil, err
		}
		fs[i] = arrow.Field{Name: f.Name, Type: dt, Nullable: true}
	}
	return fs, nil
}

func fieldType(f *Field, stack []*Message) (arrow.DataType, error) {
	if f.kind == kMap {
		kt, err := singleType(f.msg.Fields[0], stack)
		if err != nil {
			return nil, err
		}
		vt, err := singleType(f.msg.Fields[1], stack)
		if err != nil {
			return nil, err
		}
		return arrow.MapOf(kt, vt), nil
	}
	dt, err := singleType(f, stack)
	if err != nil {
		return nil, err
	}
	if f.Repeated {
		return arrow.ListOf(dt), nil
	}
	return dt, nil
}

func singleType(f *Field, stack []*Message) (arrow.DataType, error) {
	switch f.kind {
	case kDouble:
		return expr.Float64, nil
	case kFloat:
		return expr.Float32, nil
	case kInt32, kSint32, kSfixed32:
		return expr.Int32, nil
	case kInt64, kSint64, kSfixed64, kUint32, kFixed32, kUint64, kFixed64:
		return expr.Int64, nil
	case kBool:
		return expr.Boolean, nil
	case kString, kEnum:
		return expr.String, nil
	case kBytes:
		return expr.Binary, nil
	case kMessage:
		if f.msg.FullName == timestampName {
			return expr.Timestamp, nil
		}
		fs, err := structFields(f.msg, stack)
		if err != nil {
			return nil, err
		}
		return arrow.StructOf(fs...), nil
	}
	return nil, schemaErr("field %s has no type", f.Name)
}
