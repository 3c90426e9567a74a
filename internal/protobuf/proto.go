// Package protobuf decodes Protocol Buffers wire data straight into Arrow
// columns: the Kafka source's valueFormat "protobuf" (values framed by a
// Confluent schema registry, or raw messages of a given .proto schema).
//
// It reads .proto schema text as a schema registry stores it (proto2 and
// proto3: package, import, messages with nested messages and enums, scalar
// types, repeated fields packed or not, map<k,v>, oneof, optional;
// reserved ranges, options, services and extensions are ignored), resolves
// type names across imported files, and compiles a message into a decoder
// bound to Arrow builders, so no Go map or interface value is made per
// record. It does not depend on google.golang.org/protobuf.
//
// Types map as in Spark's from_protobuf: message -> struct, repeated ->
// list, map<k,v> -> map, enum -> string (the value's name),
// google.protobuf.Timestamp -> timestamp (microseconds, UTC), bytes ->
// binary, int32/sint32/sfixed32 -> int, int64/sint64/sfixed64 -> bigint,
// uint32/fixed32 -> bigint (lossless), uint64/fixed64 -> bigint (two's
// complement, as Spark without upcasting), float, double, bool, string.
//
// Absent fields follow proto3: fields without presence (proto3 scalars and
// enums) take their zero value; fields with presence (messages, proto3
// optional, oneof members, every proto2 singular field) are NULL; repeated
// fields and maps are empty. Unknown fields are skipped.
package protobuf

import (
	"errors"
	"fmt"
)

// ErrSchema reports a .proto schema that cannot be parsed, resolved or
// mapped to Arrow.
var ErrSchema = errors.New("protobuf: schema")

// ErrData reports wire data that does not decode as its message.
var ErrData = errors.New("protobuf: data")

// scalar kinds of fields.
type kind uint8

const (
	kNone kind = iota
	kDouble
	kFloat
	kInt32
	kInt64
	kUint32
	kUint64
	kSint32
	kSint64
	kFixed32
	kFixed64
	kSfixed32
	kSfixed64
	kBool
	kString
	kBytes
	kMessage // a named type resolved to a message
	kEnum    // a named type resolved to an enum
	kMap
)

var scalarKinds = map[string]kind{
	"double": kDouble, "float": kFloat, "int32": kInt32, "int64": kInt64,
	"uint32": kUint32, "uint64": kUint64, "sint32": kSint32, "sint64": kSint64,
	"fixed32": kFixed32, "fixed64": kFixed64, "sfixed32": kSfixed32, "sfixed64": kSfixed64,
	"bool": kBool, "string": kString, "bytes": kBytes,
}

// wire types.
const (
	wVarint = 0
	wI64    = 1
	wLen    = 2
	wSGroup = 3
	wEGroup = 4
	wI32    = 5
)

// wireOf is the wire type of a singular value of k.
func wireOf(k kind) int {
	switch k {
	case kDouble, kFixed64, kSfixed64:
		return wI64
	case kFloat, kFixed32, kSfixed32:
		return wI32
	case kString, kBytes, kMessage, kMap:
		return wLen
	}
	return wVarint
}

// File is one parsed .proto file.
type File struct {
	Name     string // the import path it is known by
	Syntax   string // proto2 or proto3
	Package  string
	Imports  []string
	Messages []*Message
	Enums    []*Enum
}

// Message is a message type.
type Message struct {
	Name     string // short name
	FullName string // package.Outer.Name, set by Compile
	Fields   []*Field
	Oneofs   []string
	Messages []*Message
	Enums    []*Enum
	file     *File
	mapEntry bool
}

// Field is a field of a message.
type Field struct {
	Name     string
	Number   int32
	Repeated bool
	// Presence: the field tells "absent" from its zero value (messages,
	// proto3 optional, oneof members, proto2 singular fields).
	Presence bool
	Oneof    int    // index into Message.Oneofs, -1 none
	TypeName string // as written, for named types
	kind     kind
	msg      *Message // kMessage, kMap (the entry)
	enum     *Enum
}

// Enum is an enum type.
type Enum struct {
	Name     string
	FullName string
	Values   []EnumValue
	byNumber map[int32]string
}

// EnumValue is one name = number of an enum.
type EnumValue struct {
	Name   string
	Number int32
}

func schemaErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSchema, fmt.Sprintf(format, args...))
}
