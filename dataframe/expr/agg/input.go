package agg

import (
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Helpers that read Arrow arrays as typed slices once per batch, so update
// loops index plain Go slices. Every helper honours the array's offset.

// nullBits returns the validity bitmap and the bit offset of row 0, or nil
// when every row is valid. A NULL-typed array has no bitmap but is all
// NULL: it gets a zeroed one.
func nullBits(a arrow.Array) ([]byte, int) {
	if a.DataType().ID() == arrow.NULL {
		if a.Len() == 0 {
			return nil, 0
		}
		return make([]byte, (a.Len()+7)/8), 0
	}
	if a.NullN() == 0 {
		return nil, 0
	}
	return a.NullBitmapBytes(), a.Data().Offset()
}

func bitSet(b []byte, i int) bool { return b[i>>3]&(1<<(uint(i)&7)) != 0 }

// fixedValues reinterprets the data buffer of a fixed-width array as []T,
// starting at the array's offset. T must have the array's element width.
func fixedValues[T any](a arrow.Array) []T {
	d := a.Data()
	bufs := d.Buffers()
	if d.Len() == 0 || len(bufs) < 2 || bufs[1] == nil || bufs[1].Len() == 0 {
		return nil
	}
	b := bufs[1].Bytes()
	var zero T
	all := unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/int(unsafe.Sizeof(zero)))
	return all[d.Offset() : d.Offset()+d.Len()]
}

// boolBytes expands a boolean array's values (ignoring validity) into one
// byte per row, reusing scratch.
func boolBytes(a arrow.Array, scratch []uint8) []uint8 {
	n := a.Len()
	out := scratch[:0]
	if cap(out) < n {
		out = make([]uint8, n)
	}
	out = out[:n]
	bufs := a.Data().Buffers()
	if n == 0 || len(bufs) < 2 || bufs[1] == nil {
		clear(out)
		return out
	}
	bits, off := bufs[1].Bytes(), a.Data().Offset()
	for i := range out {
		out[i] = (bits[(off+i)>>3] >> (uint(off+i) & 7)) & 1
	}
	return out
}

// binaryParts returns the offsets (n+1 of them, for the array's rows) and
// the data of a string or binary array.
func binaryParts(a arrow.Array) ([]int32, []byte) {
	d := a.Data()
	bufs := d.Buffers()
	if len(bufs) < 3 || bufs[1] == nil {
		return make([]int32, d.Len()+1), nil
	}
	all := arrow.Int32Traits.CastFromBytes(bufs[1].Bytes())
	offs := all[d.Offset() : d.Offset()+d.Len()+1]
	var data []byte
	if bufs[2] != nil {
		data = bufs[2].Bytes()
	}
	return offs, data
}

// checkArgs verifies the operator handed over the columns Bind promised.
func checkArgs(name string, args []arrow.Array, want int, gids []uint32) error {
	if len(args) != want {
		return fmt.Errorf("%w: %s: got %d argument columns, want %d", expr.ErrType, name, len(args), want)
	}
	for i, a := range args {
		if a.Len() != len(gids) {
			return fmt.Errorf("%w: %s: argument %d has %d rows but %d group ids were given", expr.ErrType, name, i+1, a.Len(), len(gids))
		}
	}
	return nil
}

// checkState verifies MergeState input against the binding's State shape.
func checkState(name string, state []arrow.Array, fields []arrow.Field, gids []uint32) error {
	if len(state) != len(fields) {
		return fmt.Errorf("%w: %s: got %d state columns, want %d", expr.ErrType, name, len(state), len(fields))
	}
	for i, s := range state {
		if !sameLayout(s.DataType(), fields[i].Type) {
			return fmt.Errorf("%w: %s: state column %q is %s, want %s", expr.ErrType, name, fields[i].Name, expr.TypeName(s.DataType()), expr.TypeName(fields[i].Type))
		}
		if s.Len() != len(gids) {
			return fmt.Errorf("%w: %s: state column %q has %d rows but %d group ids were given", expr.ErrType, name, fields[i].Name, s.Len(), len(gids))
		}
	}
	return nil
}

// sameLayout is type equality that ignores the nullability and names of
// nested fields, which storage formats do not always preserve.
func sameLayout(a, b arrow.DataType) bool {
	if arrow.TypeEqual(a, b) {
		return true
	}
	switch x := a.(type) {
	case *arrow.ListType:
		y, ok := b.(*arrow.ListType)
		return ok && sameLayout(x.Elem(), y.Elem())
	case *arrow.StructType:
		y, ok := b.(*arrow.StructType)
		if !ok || x.NumFields() != y.NumFields() {
			return false
		}
		for i := 0; i < x.NumFields(); i++ {
			if !sameLayout(x.Field(i).Type, y.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

// checkEmit verifies State/Result arguments: n groups exist and sel names
// existing groups.
func checkEmit(name string, n, groups int, sel []uint32) error {
	if n < 0 || n > groups {
		return fmt.Errorf("%w: %s: asked for %d groups but only %d exist", expr.ErrType, name, n, groups)
	}
	for _, g := range sel {
		if int(g) >= groups {
			return fmt.Errorf("%w: %s: selected group %d but only %d exist", expr.ErrType, name, g, groups)
		}
	}
	return nil
}

// outLen is the number of rows State/Result emit.
func outLen(n int, sel []uint32) int {
	if sel != nil {
		return len(sel)
	}
	return n
}

// listParts flattens a list column for MergeState: the element values of
// rows [0, n) (a slice of the child, owned by the caller) and one group id
// per element (NoGroup for elements of NULL lists or NoGroup rows).
func listParts(l *array.List, gids []uint32, scratch []uint32) (arrow.Array, []uint32) {
	offs := l.Offsets()
	o := l.Data().Offset()
	n := l.Len()
	if n == 0 {
		return array.NewSlice(l.ListValues(), 0, 0), scratch[:0]
	}
	start, end := int64(offs[o]), int64(offs[o+n])
	eg := scratch[:0]
	for i := 0; i < n; i++ {
		g := gids[i]
		if l.IsNull(i) {
			g = expr.NoGroup
		}
		for k := offs[o+i]; k < offs[o+i+1]; k++ {
			eg = append(eg, g)
		}
	}
	return array.NewSlice(l.ListValues(), start, end), eg
}
