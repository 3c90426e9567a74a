package fileformat

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// pqNode is one node of a Parquet file's schema tree, rebuilt from the
// footer's flat depth-first element list. We read the raw elements rather
// than parquet-go's typed nodes so that every logical/converted annotation
// (and every malformed one) is handled here, with our error messages.
type pqNode struct {
	el       *format.SchemaElement
	name     string
	path     string // dotted path, for messages
	children []*pqNode
	leaf     int // leaf column index, -1 for groups
	def, rep int // definition and repetition level when this node is present
}

func (n *pqNode) isLeaf() bool { return n.leaf >= 0 }

func (n *pqNode) repetition() format.FieldRepetitionType {
	if n.el.RepetitionType.Valid {
		return n.el.RepetitionType.V
	}
	return format.Required
}

func (n *pqNode) optional() bool { return n.repetition() == format.Optional }
func (n *pqNode) repeated() bool { return n.repetition() == format.Repeated }

// maxSchemaDepth bounds recursion on corrupt footers.
const maxSchemaDepth = 64

// buildPQTree turns the flat schema element list into a tree and assigns
// leaf column indexes and levels.
func buildPQTree(elems []format.SchemaElement) (*pqNode, []*pqNode, error) {
	if len(elems) == 0 {
		return nil, nil, fmt.Errorf("%w: parquet footer has an empty schema", ErrMalformed)
	}
	var leaves []*pqNode
	pos := 0
	var build func(parent *pqNode, depth int) (*pqNode, error)
	build = func(parent *pqNode, depth int) (*pqNode, error) {
		if pos >= len(elems) {
			return nil, fmt.Errorf("%w: parquet schema element list ends early", ErrMalformed)
		}
		if depth > maxSchemaDepth {
			return nil, fmt.Errorf("%w: parquet schema nested deeper than %d", ErrMalformed, maxSchemaDepth)
		}
		el := &elems[pos]
		pos++
		n := &pqNode{el: el, name: el.Name, leaf: -1}
		if parent != nil {
			n.def, n.rep = parent.def, parent.rep
			if parent.path != "" {
				n.path = parent.path + "." + el.Name
			} else {
				n.path = el.Name
			}
			switch n.repetition() {
			case format.Optional:
				n.def++
			case format.Repeated:
				n.def++
				n.rep++
			}
		}
		if n.def > 250 || n.rep > 250 {
			return nil, fmt.Errorf("%w: parquet schema levels too deep at %q", ErrMalformed, n.path)
		}
		nc := 0
		if el.NumChildren.Valid {
			nc = int(el.NumChildren.V)
		}
		if nc < 0 || nc > len(elems)-pos {
			return nil, fmt.Errorf("%w: parquet schema element %q claims %d children", ErrMalformed, el.Name, nc)
		}
		if nc == 0 && parent != nil {
			if !el.Type.Valid {
				if el.NumChildren.Valid {
					// An empty group: legal but carries no data.
					return n, nil
				}
				return nil, fmt.Errorf("%w: parquet column %q has no physical type", ErrMalformed, n.path)
			}
			n.leaf = len(leaves)
			leaves = append(leaves, n)
			return n, nil
		}
		for i := 0; i < nc; i++ {
			c, err := build(n, depth+1)
			if err != nil {
				return nil, err
			}
			n.children = append(n.children, c)
		}
		return n, nil
	}
	root, err := build(nil, 0)
	if err != nil {
		return nil, nil, err
	}
	if pos != len(elems) {
		return nil, nil, fmt.Errorf("%w: parquet schema has %d stray elements", ErrMalformed, len(elems)-pos)
	}
	return root, leaves, nil
}

func (n *pqNode) child(name string) *pqNode {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	for _, c := range n.children {
		if strings.EqualFold(c.name, name) {
			return c
		}
	}
	return nil
}

func (n *pqNode) isListAnnotated() bool {
	if lt := n.el.LogicalType.Value; lt != nil {
		if _, ok := lt.(*format.ListType); ok {
			return true
		}
	}
	return n.el.ConvertedType.Valid && n.el.ConvertedType.V == deprecated.List
}

func (n *pqNode) isMapAnnotated() bool {
	if lt := n.el.LogicalType.Value; lt != nil {
		if _, ok := lt.(*format.MapType); ok {
			return true
		}
	}
	return n.el.ConvertedType.Valid && (n.el.ConvertedType.V == deprecated.Map || n.el.ConvertedType.V == deprecated.MapKeyValue)
}

// listParts resolves a LIST-annotated group to its repeated node and its
// element node, following the backward-compatibility rules of the Parquet
// LogicalTypes spec (3-level lists and the legacy 2-level forms).
func (n *pqNode) listParts() (repeated, element *pqNode, err error) {
	if len(n.children) != 1 || !n.children[0].repeated() {
		return nil, nil, fmt.Errorf("%w: parquet LIST %q must have one repeated child", ErrMalformed, n.path)
	}
	r := n.children[0]
	if r.isLeaf() || len(r.children) != 1 || r.name == "array" || r.name == n.name+"_tuple" {
		return r, r, nil // 2-level: the repeated node is the element
	}
	return r, r.children[0], nil
}

// arrowTypeOf proposes the Arrow type of a file node (Infer's mapping).
func arrowTypeOf(n *pqNode) (arrow.DataType, error) {
	if n.repeated() {
		// An unannotated repeated field is a required list of its element.
		et, err := arrowTypeOfElem(n)
		if err != nil {
			return nil, err
		}
		return arrow.ListOfNonNullable(et), nil
	}
	return arrowTypeOfElem(n)
}

// arrowTypeOfElem maps a node ignoring its own repetition.
func arrowTypeOfElem(n *pqNode) (arrow.DataType, error) {
	if n.isLeaf() {
		return leafArrowType(n)
	}
	switch {
	case n.isListAnnotated():
		_, e, err := n.listParts()
		if err != nil {
			return nil, err
		}
		var et arrow.DataType
		if e.repeated() {
			et, err = arrowTypeOfElem(e)
		} else {
			et, err = arrowTypeOf(e)
		}
		if err != nil {
			return nil, err
		}
		if e.optional() {
			return arrow.ListOf(et), nil
		}
		return arrow.ListOfNonNullable(et), nil
	case n.isMapAnnotated():
		kv, k, v, err := n.mapParts()
		if err != nil {
			return nil, err
		}
		_ = kv
		kt, err := arrowTypeOf(k)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, fmt.Errorf("%w: parquet MAP %q without values is not supported", ErrSchemaMismatch, n.path)
		}
		vt, err := arrowTypeOf(v)
		if err != nil {
			return nil, err
		}
		mt := arrow.MapOf(kt, vt)
		if !v.optional() {
			mt = arrow.MapOfWithMetadata(kt, arrow.Metadata{}, vt, arrow.Metadata{})
			mt.SetItemNullable(false)
		}
		return mt, nil
	}
	if len(n.children) == 0 {
		return nil, fmt.Errorf("%w: parquet column %q is an empty group", ErrSchemaMismatch, n.path)
	}
	fields := make([]arrow.Field, len(n.children))
	for i, c := range n.children {
		t, err := arrowTypeOf(c)
		if err != nil {
			return nil, err
		}
		fields[i] = arrow.Field{Name: c.name, Type: t, Nullable: c.optional()}
	}
	return arrow.StructOf(fields...), nil
}

func (n *pqNode) mapParts() (kv, key, value *pqNode, err error) {
	if len(n.children) != 1 || !n.children[0].repeated() || n.children[0].isLeaf() {
		return nil, nil, nil, fmt.Errorf("%w: parquet MAP %q must have one repeated key_value group", ErrMalformed, n.path)
	}
	kv = n.children[0]
	if len(kv.children) < 1 || len(kv.children) > 2 {
		return nil, nil, nil, fmt.Errorf("%w: parquet MAP %q must have a key and a value", ErrMalformed, n.path)
	}
	key = kv.children[0]
	if len(kv.children) == 2 {
		value = kv.children[1]
	}
	return kv, key, value, nil
}

// leafArrowType maps a primitive column to the engine's Arrow type.
func leafArrowType(n *pqNode) (arrow.DataType, error) {
	el := n.el
	phys := el.Type.V
	lt := el.LogicalType.Value
	ct := deprecated.ConvertedType(-1)
	if el.ConvertedType.Valid {
		ct = el.ConvertedType.V
	}
	if d, ok := decimalOf(el); ok {
		if d.Precision < 1 || d.Precision > 38 || d.Scale < 0 || d.Scale > d.Precision {
			return nil, fmt.Errorf("%w: parquet column %q: decimal(%d,%d) is outside decimal(38)", ErrSchemaMismatch, n.path, d.Precision, d.Scale)
		}
		switch phys {
		case format.Int32, format.Int64, format.ByteArray, format.FixedLenByteArray:
			return &arrow.Decimal128Type{Precision: d.Precision, Scale: d.Scale}, nil
		}
		return nil, fmt.Errorf("%w: parquet column %q: decimal on %s", ErrMalformed, n.path, phys)
	}
	unsupported := func(what string) error {
		return fmt.Errorf("%w: parquet column %q has unsupported type %s", ErrSchemaMismatch, n.path, what)
	}
	switch phys {
	case format.Boolean:
		return arrow.FixedWidthTypes.Boolean, nil
	case format.Int32:
		switch t := lt.(type) {
		case *format.IntType:
			return intTypeOf(t.BitWidth, t.IsSigned), nil
		case *format.DateType:
			return arrow.FixedWidthTypes.Date32, nil
		case *format.TimeType:
			return nil, unsupported("TIME")
		}
		switch ct {
		case deprecated.Int8:
			return arrow.PrimitiveTypes.Int8, nil
		case deprecated.Int16:
			return arrow.PrimitiveTypes.Int16, nil
		case deprecated.Uint8:
			return arrow.PrimitiveTypes.Int16, nil
		case deprecated.Uint16:
			return arrow.PrimitiveTypes.Int32, nil
		case deprecated.Uint32:
			return arrow.PrimitiveTypes.Int64, nil
		case deprecated.Date:
			return arrow.FixedWidthTypes.Date32, nil
		case deprecated.TimeMillis:
			return nil, unsupported("TIME_MILLIS")
		}
		return arrow.PrimitiveTypes.Int32, nil
	case format.Int64:
		switch t := lt.(type) {
		case *format.IntType:
			if !t.IsSigned && t.BitWidth == 64 {
				return &arrow.Decimal128Type{Precision: 20, Scale: 0}, nil
			}
			return intTypeOf(t.BitWidth, t.IsSigned), nil
		case *format.TimestampType:
			return expr.Timestamp, nil
		case *format.TimeType:
			return nil, unsupported("TIME")
		}
		switch ct {
		case deprecated.TimestampMillis, deprecated.TimestampMicros:
			return expr.Timestamp, nil
		case deprecated.Uint64:
			return &arrow.Decimal128Type{Precision: 20, Scale: 0}, nil
		case deprecated.TimeMicros:
			return nil, unsupported("TIME_MICROS")
		}
		return arrow.PrimitiveTypes.Int64, nil
	case format.Int96:
		return expr.Timestamp, nil
	case format.Float:
		return arrow.PrimitiveTypes.Float32, nil
	case format.Double:
		return arrow.PrimitiveTypes.Float64, nil
	case format.ByteArray:
		switch lt.(type) {
		case *format.StringType, *format.EnumType, *format.JsonType:
			return arrow.BinaryTypes.String, nil
		}
		switch ct {
		case deprecated.UTF8, deprecated.Enum, deprecated.Json:
			return arrow.BinaryTypes.String, nil
		}
		return arrow.BinaryTypes.Binary, nil
	case format.FixedLenByteArray:
		if !el.TypeLength.Valid || el.TypeLength.V < 0 {
			return nil, fmt.Errorf("%w: parquet column %q: FIXED_LEN_BYTE_ARRAY without a length", ErrMalformed, n.path)
		}
		return arrow.BinaryTypes.Binary, nil
	}
	return nil, unsupported(phys.String())
}

func intTypeOf(bits int8, signed bool) arrow.DataType {
	switch {
	case bits <= 8 && signed:
		return arrow.PrimitiveTypes.Int8
	case bits <= 8 || (bits <= 16 && signed):
		return arrow.PrimitiveTypes.Int16
	case bits <= 16 || (bits <= 32 && signed):
		return arrow.PrimitiveTypes.Int32
	default:
		return arrow.PrimitiveTypes.Int64
	}
}

type decimalSpec struct{ Precision, Scale int32 }

func decimalOf(el *format.SchemaElement) (decimalSpec, bool) {
	if d, ok := el.LogicalType.Value.(*format.DecimalType); ok {
		return decimalSpec{d.Precision, d.Scale}, true
	}
	if el.ConvertedType.Valid && el.ConvertedType.V == deprecated.Decimal {
		return decimalSpec{el.Precision.V, el.Scale.V}, true
	}
	return decimalSpec{}, false
}

// fileArrowSchema is the schema Infer proposes for a file.
func fileArrowSchema(root *pqNode) (*arrow.Schema, error) {
	fields := make([]arrow.Field, 0, len(root.children))
	for _, c := range root.children {
		t, err := arrowTypeOf(c)
		if err != nil {
			return nil, err
		}
		fields = append(fields, arrow.Field{Name: c.name, Type: t, Nullable: c.optional()})
	}
	return arrow.NewSchema(fields, nil), nil
}
