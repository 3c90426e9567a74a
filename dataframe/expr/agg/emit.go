package agg

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Helpers that build State/Result arrays straight from flat per-group
// slices: no builders, one pass per buffer. Row j of the output is group
// sel[j] (or j when sel is nil).

func groupAt(sel []uint32, j int) uint32 {
	if sel != nil {
		return sel[j]
	}
	return uint32(j)
}

// validityFor builds a validity bitmap for m output rows where valid[g] != 0
// marks a non-NULL group; it returns nil when nothing is NULL.
func validityFor(mem memory.Allocator, valid []uint8, m int, sel []uint32) (*memory.Buffer, int) {
	if valid == nil {
		return nil, 0
	}
	nulls := 0
	for j := 0; j < m; j++ {
		if valid[groupAt(sel, j)] == 0 {
			nulls++
		}
	}
	if nulls == 0 {
		return nil, 0
	}
	buf := memory.NewResizableBuffer(mem)
	buf.Resize((m + 7) / 8)
	bm := buf.Bytes()
	clear(bm)
	for j := 0; j < m; j++ {
		if valid[groupAt(sel, j)] != 0 {
			bm[j>>3] |= 1 << (uint(j) & 7)
		}
	}
	return buf, nulls
}

// makeArray wraps buffers into an array and drops this function's
// references to them.
func makeArray(dt arrow.DataType, m int, bufs []*memory.Buffer, children []arrow.ArrayData, nulls int) arrow.Array {
	data := array.NewData(dt, m, bufs, children, nulls, 0)
	arr := array.MakeFromData(data)
	data.Release()
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
	return arr
}

// emitFixed builds a fixed-width array of type dt (whose element width is
// T's) from per-group values; valid (nil: all valid) marks non-NULL groups.
func emitFixed[T any](mem memory.Allocator, dt arrow.DataType, vals []T, valid []uint8, n int, sel []uint32) arrow.Array {
	m := outLen(n, sel)
	var zero T
	vb := memory.NewResizableBuffer(mem)
	vb.Resize(m * int(unsafe.Sizeof(zero)))
	var out []T
	if m > 0 {
		out = unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(vb.Bytes()))), m)
	}
	if sel == nil {
		copy(out, vals[:n])
	} else {
		for j, g := range sel {
			out[j] = vals[g]
		}
	}
	nb, nulls := validityFor(mem, valid, m, sel)
	if nulls > 0 {
		for j := range out {
			if valid[groupAt(sel, j)] == 0 {
				out[j] = zero
			}
		}
	}
	return makeArray(dt, m, []*memory.Buffer{nb, vb}, nil, nulls)
}

// emitBool builds a boolean array from one byte (0/1) per group.
func emitBool(mem memory.Allocator, vals []uint8, valid []uint8, n int, sel []uint32) arrow.Array {
	m := outLen(n, sel)
	vb := memory.NewResizableBuffer(mem)
	vb.Resize((m + 7) / 8)
	bm := vb.Bytes()
	clear(bm)
	for j := 0; j < m; j++ {
		g := groupAt(sel, j)
		if vals[g] != 0 && (valid == nil || valid[g] != 0) {
			bm[j>>3] |= 1 << (uint(j) & 7)
		}
	}
	nb, nulls := validityFor(mem, valid, m, sel)
	return makeArray(arrow.FixedWidthTypes.Boolean, m, []*memory.Buffer{nb, vb}, nil, nulls)
}

// emitConst builds m rows of a non-NULL fixed-width constant.
func emitConst[T any](mem memory.Allocator, dt arrow.DataType, v T, m int) arrow.Array {
	vals := make([]T, m)
	for i := range vals {
		vals[i] = v
	}
	return emitFixed(mem, dt, vals, nil, m, nil)
}

// emitBytes builds a string or binary array from per-group slots in a heap.
func emitBytes(mem memory.Allocator, dt arrow.DataType, s *slots, valid []uint8, n int, sel []uint32) (arrow.Array, error) {
	m := outLen(n, sel)
	total := 0
	for j := 0; j < m; j++ {
		g := groupAt(sel, j)
		if valid[g] != 0 {
			total += s.len(g)
		}
	}
	if total > math.MaxInt32 {
		return nil, fmt.Errorf("%w: %d bytes of strings in one output batch exceed 2 GiB; emit fewer groups at a time", expr.ErrType, total)
	}
	ob := memory.NewResizableBuffer(mem)
	ob.Resize((m + 1) * 4)
	offs := arrow.Int32Traits.CastFromBytes(ob.Bytes())
	db := memory.NewResizableBuffer(mem)
	db.Resize(total)
	data := db.Bytes()
	pos := 0
	offs[0] = 0
	for j := 0; j < m; j++ {
		g := groupAt(sel, j)
		if valid[g] != 0 {
			pos += copy(data[pos:], s.get(g))
		}
		offs[j+1] = int32(pos)
	}
	nb, nulls := validityFor(mem, valid, m, sel)
	return makeArray(dt, m, []*memory.Buffer{nb, ob, db}, nil, nulls), nil
}

// emitNull builds m NULLs of type dt.
func emitNull(mem memory.Allocator, dt arrow.DataType, m int) arrow.Array {
	return array.MakeArrayOfNull(mem, dt, m)
}

// makeList wraps list offsets (m+1, non-NULL lists) around child data,
// taking over the caller's reference to child.
func makeList(mem memory.Allocator, dt arrow.DataType, offsets []int32, child arrow.ArrayData) arrow.Array {
	m := len(offsets) - 1
	ob := memory.NewResizableBuffer(mem)
	ob.Resize(len(offsets) * 4)
	copy(arrow.Int32Traits.CastFromBytes(ob.Bytes()), offsets)
	arr := makeArray(dt, m, []*memory.Buffer{nil, ob}, []arrow.ArrayData{child}, 0)
	child.Release()
	return arr
}
