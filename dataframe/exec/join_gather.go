package exec

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Gathers where some output rows have no source row: the NULL-padded side
// of an outer join, explode_outer's element of an empty list.

// takeOrNull gathers rows idx of arr; a negative index yields NULL.
func takeOrNull(mem memory.Allocator, arr arrow.Array, idx []int32) (arrow.Array, error) {
	nulls := 0
	for _, j := range idx {
		if j < 0 {
			nulls++
		}
	}
	if nulls == 0 {
		return Take(mem, arr, idx)
	}
	if nulls == len(idx) || arr.DataType().ID() == arrow.NULL {
		return array.MakeArrayOfNull(mem, arr.DataType(), len(idx)), nil
	}
	clamped := make([]int32, len(idx))
	for i, j := range idx {
		clamped[i] = max(j, 0)
	}
	out, err := Take(mem, arr, clamped)
	if err != nil {
		return nil, err
	}
	defer out.Release()
	return maskNulls(mem, out, idx), nil
}

// maskNulls returns arr with the rows where idx is negative set to NULL.
func maskNulls(mem memory.Allocator, arr arrow.Array, idx []int32) arrow.Array {
	n := arr.Len()
	off := arr.Data().Offset()
	buf := memory.NewResizableBuffer(mem)
	defer buf.Release()
	buf.Resize(int(bitutil.BytesForBits(int64(off + n))))
	bits := buf.Bytes()
	if arr.NullN() > 0 {
		copy(bits, arr.NullBitmapBytes())
	} else {
		for i := range bits {
			bits[i] = 0xff
		}
	}
	for i, j := range idx {
		if j < 0 {
			bitutil.ClearBit(bits, off+i)
		}
	}
	nulls := n - bitutil.CountSetBits(bits, off, n)
	d := arr.Data()
	bufs := append([]*memory.Buffer{buf}, d.Buffers()[1:]...)
	var nd *array.Data
	if dict := d.Dictionary(); dict != nil {
		nd = array.NewDataWithDictionary(d.DataType(), n, bufs, nulls, off, dict.(*array.Data))
	} else {
		nd = array.NewData(d.DataType(), n, bufs, d.Children(), nulls, off)
	}
	defer nd.Release()
	return array.MakeFromData(nd)
}

// nullableInt32 builds an int32 array of vals, NULL where idx is negative
// (idx may be nil: no NULLs).
func nullableInt32(mem memory.Allocator, vals []int32, idx []int32) arrow.Array {
	n := len(vals)
	vb := memory.NewResizableBuffer(mem)
	defer vb.Release()
	vb.Resize(n * 4)
	if n > 0 {
		copy(unsafe.Slice((*int32)(unsafe.Pointer(&vb.Bytes()[0])), n), vals)
	}
	var valid *memory.Buffer
	nulls := 0
	for _, j := range idx {
		if j < 0 {
			nulls++
		}
	}
	if nulls > 0 {
		valid = memory.NewResizableBuffer(mem)
		defer valid.Release()
		valid.Resize(int(bitutil.BytesForBits(int64(n))))
		bits := valid.Bytes()
		for i := range bits {
			bits[i] = 0
		}
		for i, j := range idx {
			if j >= 0 {
				bitutil.SetBit(bits, i)
			}
		}
	}
	d := array.NewData(arrow.PrimitiveTypes.Int32, n, []*memory.Buffer{valid, vb}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}
