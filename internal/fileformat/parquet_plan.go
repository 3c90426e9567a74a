package fileformat

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/parquet-go/parquet-go/format"

	"github.com/sluicehq/sluice/dataframe/expr"
)

type planKind uint8

const (
	planLeaf planKind = iota
	planStruct
	planList
)

// readPlan mirrors the Arrow type being produced for one column and says
// which file node (and levels) feed each part of it.
type readPlan struct {
	kind     planKind
	dt       arrow.DataType
	node     *pqNode
	def      int // definition level at which this value is non-null
	rep      int // list: repetition level of the repeated node
	elemDef  int // list: definition level at which the list has elements
	children []*readPlan
	lo, hi   int // leaves of this subtree, as indexes into the column's leaf list
	conv     convKind
	fixedLen int
}

// planBuilder assigns leaf numbers while building one top-level column.
type planBuilder struct {
	file   string
	leaves []*readPlan
}

func (b *planBuilder) mismatch(n *pqNode, format string, args ...any) error {
	return fmt.Errorf("%w: file %s: column %q: %s", ErrSchemaMismatch, b.file, n.path, fmt.Sprintf(format, args...))
}

// plan builds the plan of node n (with its own repetition) read as target.
func (b *planBuilder) plan(n *pqNode, target arrow.DataType) (*readPlan, error) {
	if n.repeated() {
		lt, ok := target.(*arrow.ListType)
		if !ok {
			return nil, b.mismatch(n, "file has a repeated field, schema wants %s", expr.TypeName(target))
		}
		lo := len(b.leaves)
		elem, err := b.planElem(n, lt.Elem())
		if err != nil {
			return nil, err
		}
		return &readPlan{kind: planList, dt: target, node: n, def: n.def - 1, rep: n.rep, elemDef: n.def,
			children: []*readPlan{elem}, lo: lo, hi: len(b.leaves)}, nil
	}
	return b.planElem(n, target)
}

// planElem builds the plan of n ignoring its own repetition.
func (b *planBuilder) planElem(n *pqNode, target arrow.DataType) (*readPlan, error) {
	lo := len(b.leaves)
	if n.isLeaf() {
		cv, fl, err := b.leafConv(n, target)
		if err != nil {
			return nil, err
		}
		p := &readPlan{kind: planLeaf, dt: target, node: n, def: n.def, conv: cv, fixedLen: fl, lo: lo, hi: lo + 1}
		b.leaves = append(b.leaves, p)
		return p, nil
	}
	switch {
	case n.isListAnnotated():
		lt, ok := target.(*arrow.ListType)
		if !ok {
			return nil, b.mismatch(n, "file has a list, schema wants %s", expr.TypeName(target))
		}
		r, e, err := n.listParts()
		if err != nil {
			return nil, err
		}
		var elem *readPlan
		if e == r {
			elem, err = b.planElem(r, lt.Elem())
		} else {
			elem, err = b.plan(e, lt.Elem())
		}
		if err != nil {
			return nil, err
		}
		return &readPlan{kind: planList, dt: target, node: n, def: n.def, rep: r.rep, elemDef: r.def,
			children: []*readPlan{elem}, lo: lo, hi: len(b.leaves)}, nil
	case n.isMapAnnotated():
		mt, ok := target.(*arrow.MapType)
		if !ok {
			return nil, b.mismatch(n, "file has a map, schema wants %s", expr.TypeName(target))
		}
		kv, k, v, err := n.mapParts()
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, b.mismatch(n, "map without values is not supported")
		}
		kp, err := b.plan(k, mt.KeyType())
		if err != nil {
			return nil, err
		}
		vp, err := b.plan(v, mt.ItemType())
		if err != nil {
			return nil, err
		}
		entries := &readPlan{kind: planStruct, dt: mt.Elem(), node: kv, def: kv.def,
			children: []*readPlan{kp, vp}, lo: lo, hi: len(b.leaves)}
		return &readPlan{kind: planList, dt: target, node: n, def: n.def, rep: kv.rep, elemDef: kv.def,
			children: []*readPlan{entries}, lo: lo, hi: len(b.leaves)}, nil
	}
	st, ok := target.(*arrow.StructType)
	if !ok {
		return nil, b.mismatch(n, "file has a struct, schema wants %s", expr.TypeName(target))
	}
	p := &readPlan{kind: planStruct, dt: target, node: n, def: n.def, lo: lo}
	for _, f := range st.Fields() {
		c := n.child(f.Name)
		if c == nil {
			return nil, fmt.Errorf("%w: file %s: column %q: field %q is missing from the file", ErrSchemaMismatch, b.file, n.path, f.Name)
		}
		cp, err := b.plan(c, f.Type)
		if err != nil {
			return nil, err
		}
		p.children = append(p.children, cp)
	}
	if len(p.children) == 0 {
		return nil, b.mismatch(n, "an empty struct cannot be read")
	}
	p.hi = len(b.leaves)
	return p, nil
}

// leafConv picks the conversion from a file leaf to the target type. Safe
// widenings are allowed (int8 -> int16 -> int32 -> int64, float -> double,
// decimal(p,s) -> decimal(p',s) with p' >= p, string <-> binary); anything
// else is ErrSchemaMismatch naming the file and the column.
func (b *planBuilder) leafConv(n *pqNode, target arrow.DataType) (convKind, int, error) {
	ft, err := leafArrowType(n)
	if err != nil {
		return 0, 0, fmt.Errorf("file %s: %w", b.file, err)
	}
	bad := func() (convKind, int, error) {
		return 0, 0, b.mismatch(n, "file type %s cannot be read as %s", expr.TypeName(ft), expr.TypeName(target))
	}
	phys := n.el.Type.V
	tid := target.ID()
	switch phys {
	case format.Boolean:
		if tid == arrow.BOOL {
			return cvBool, 0, nil
		}
	case format.Int32, format.Int64:
		if fd, ok := ft.(*arrow.Decimal128Type); ok {
			td, ok := target.(*arrow.Decimal128Type)
			if !ok || td.Scale != fd.Scale || td.Precision < fd.Precision {
				return bad()
			}
			switch {
			case phys == format.Int32:
				return cvI32Dec, 0, nil
			case fd.Precision == 20 && !isSignedDecimal(n):
				return cvU64Dec, 0, nil
			default:
				return cvI64Dec, 0, nil
			}
		}
		if ft.ID() == arrow.TIMESTAMP {
			tt, ok := target.(*arrow.TimestampType)
			if !ok || tt.Unit != arrow.Microsecond {
				return bad()
			}
			return timestampConv(n), 0, nil
		}
		if ft.ID() == arrow.DATE32 {
			if tid == arrow.DATE32 {
				return cvCopy4, 0, nil
			}
			return bad()
		}
		fr, tr := intRank(ft.ID()), intRank(tid)
		if fr == 0 || tr == 0 || tr < fr {
			return bad()
		}
		if phys == format.Int64 {
			if tid == arrow.INT64 {
				return cvCopy8, 0, nil
			}
			return bad()
		}
		if ft.ID() == arrow.INT64 { // uint32 stored in INT32
			return cvU32toI64, 0, nil
		}
		switch tid {
		case arrow.INT8:
			return cvI32toI8, 0, nil
		case arrow.INT16:
			return cvI32toI16, 0, nil
		case arrow.INT32:
			return cvCopy4, 0, nil
		case arrow.INT64:
			return cvI32toI64, 0, nil
		}
	case format.Int96:
		if tt, ok := target.(*arrow.TimestampType); ok && tt.Unit == arrow.Microsecond {
			return cvInt96, 0, nil
		}
	case format.Float:
		switch tid {
		case arrow.FLOAT32:
			return cvCopy4, 0, nil
		case arrow.FLOAT64:
			return cvF32toF64, 0, nil
		}
	case format.Double:
		if tid == arrow.FLOAT64 {
			return cvCopy8, 0, nil
		}
	case format.ByteArray, format.FixedLenByteArray:
		fl := 0
		if phys == format.FixedLenByteArray {
			fl = int(n.el.TypeLength.V)
		}
		if fd, ok := ft.(*arrow.Decimal128Type); ok {
			td, ok := target.(*arrow.Decimal128Type)
			if !ok || td.Scale != fd.Scale || td.Precision < fd.Precision {
				return bad()
			}
			if phys == format.FixedLenByteArray {
				return cvFixedDec, fl, nil
			}
			return cvBytesDec, 0, nil
		}
		if tid == arrow.STRING || tid == arrow.BINARY {
			if phys == format.FixedLenByteArray {
				return cvFixedBytes, fl, nil
			}
			return cvBytes, 0, nil
		}
	}
	return bad()
}

func isSignedDecimal(n *pqNode) bool {
	_, ok := decimalOf(n.el)
	return ok
}

func timestampConv(n *pqNode) convKind {
	if t, ok := n.el.LogicalType.Value.(*format.TimestampType); ok {
		switch t.Unit.Value.(type) {
		case *format.MilliSeconds:
			return cvMilliToMicro
		case *format.NanoSeconds:
			return cvNanoToMicro
		}
		return cvCopy8
	}
	if n.el.ConvertedType.Valid && n.el.ConvertedType.V == 9 { // TIMESTAMP_MILLIS
		return cvMilliToMicro
	}
	return cvCopy8
}

func intRank(id arrow.Type) int {
	switch id {
	case arrow.INT8:
		return 1
	case arrow.INT16:
		return 2
	case arrow.INT32:
		return 3
	case arrow.INT64:
		return 4
	}
	return 0
}
