package hashtab

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// This file turns gathered key values back into Arrow arrays of the key
// column's type, writing the buffers directly (no per-value builder calls).

// validityBuffer returns the validity bitmap for null (nil when no row is
// NULL) and the NULL count.
func validityBuffer(mem memory.Allocator, null []bool) (*memory.Buffer, int) {
	nulls := 0
	for _, b := range null {
		if b {
			nulls++
		}
	}
	if nulls == 0 {
		return nil, 0
	}
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(len(null)))))
	bits := buf.Bytes()
	clear(bits)
	for i, b := range null {
		if !b {
			bitutil.SetBit(bits, i)
		}
	}
	return buf, nulls
}

// makeArray wraps buffers into an array and drops the local references.
func makeArray(dt arrow.DataType, n int, bufs []*memory.Buffer, nulls int) arrow.Array {
	data := array.NewData(dt, n, bufs, nil, nulls, 0)
	arr := array.MakeFromData(data)
	data.Release()
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
	return arr
}

// buildFixed builds a kindFixed column from canonical patterns; null[i]
// marks NULL rows (null may be nil).
func buildFixed(mem memory.Allocator, kt keyType, vals []uint64, null []bool) arrow.Array {
	n := len(vals)
	if kt.width == 0 {
		return array.NewNull(n)
	}
	valid, nulls := validityBuffer(mem, null)
	buf := memory.NewResizableBuffer(mem)
	if kt.dt.ID() == arrow.BOOL {
		buf.Resize(int(bitutil.BytesForBits(int64(n))))
		bits := buf.Bytes()
		clear(bits)
		for i, v := range vals {
			if v != 0 {
				bitutil.SetBit(bits, i)
			}
		}
		return makeArray(kt.dt, n, []*memory.Buffer{valid, buf}, nulls)
	}
	buf.Resize(n * kt.width)
	p := unsafe.Pointer(unsafe.SliceData(buf.Bytes()))
	switch kt.width {
	case 8:
		copy(unsafe.Slice((*uint64)(p), n), vals)
	case 4:
		narrow(unsafe.Slice((*uint32)(p), n), vals)
	case 2:
		narrow(unsafe.Slice((*uint16)(p), n), vals)
	default:
		narrow(unsafe.Slice((*uint8)(p), n), vals)
	}
	return makeArray(kt.dt, n, []*memory.Buffer{valid, buf}, nulls)
}

func narrow[T uint8 | uint16 | uint32](dst []T, src []uint64) {
	for i, v := range src[:len(dst)] {
		dst[i] = T(v)
	}
}

// buildBytes builds a kindBytes column from its values.
func buildBytes(mem memory.Allocator, kt keyType, vals []string, null []bool) (arrow.Array, error) {
	n := len(vals)
	switch kt.dt.ID() {
	case arrow.STRING, arrow.BINARY:
		total := 0
		for _, v := range vals {
			total += len(v)
		}
		if total > math.MaxInt32 {
			return nil, fmt.Errorf("%w: %d bytes of %s keys exceed the 2 GiB of 32-bit offsets; use the large_%s type for this key",
				ErrBadInput, total, kt.dt, kt.dt)
		}
		return buildOffsets[int32](mem, kt.dt, vals, null, total), nil
	case arrow.LARGE_STRING, arrow.LARGE_BINARY:
		total := 0
		for _, v := range vals {
			total += len(v)
		}
		return buildOffsets[int64](mem, kt.dt, vals, null, total), nil
	case arrow.STRING_VIEW, arrow.BINARY_VIEW:
		bld := array.NewBuilder(mem, kt.dt)
		defer bld.Release()
		bld.Reserve(n)
		for i, v := range vals {
			if null != nil && null[i] {
				bld.AppendNull()
			} else {
				appendBytes(bld, []byte(v))
			}
		}
		return bld.NewArray(), nil
	}
	// fixed width wider than 8 bytes
	w := kt.width
	valid, nulls := validityBuffer(mem, null)
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n * w)
	b := buf.Bytes()
	for i, v := range vals {
		if len(v) == w {
			copy(b[i*w:], v)
		} else {
			clear(b[i*w : (i+1)*w])
		}
	}
	return makeArray(kt.dt, n, []*memory.Buffer{valid, buf}, nulls), nil
}

func buildOffsets[O int32 | int64](mem memory.Allocator, dt arrow.DataType, vals []string, null []bool, total int) arrow.Array {
	n := len(vals)
	valid, nulls := validityBuffer(mem, null)
	var o O
	ob := memory.NewResizableBuffer(mem)
	ob.Resize((n + 1) * int(unsafe.Sizeof(o)))
	offs := unsafe.Slice((*O)(unsafe.Pointer(unsafe.SliceData(ob.Bytes()))), n+1)
	db := memory.NewResizableBuffer(mem)
	db.Resize(total)
	data := db.Bytes()
	at := 0
	for i, v := range vals {
		offs[i] = O(at)
		at += copy(data[at:], v)
	}
	offs[n] = O(at)
	return makeArray(dt, n, []*memory.Buffer{valid, ob, db}, nulls)
}

// buildNested decodes row-encoded values into an array of type kt.dt.
func buildNested(mem memory.Allocator, kt keyType, vals []string, null []bool) (arrow.Array, error) {
	bld := array.NewBuilder(mem, kt.dt)
	defer bld.Release()
	bld.Reserve(len(vals))
	for i, v := range vals {
		if null != nil && null[i] {
			bld.AppendNull()
			continue
		}
		if _, err := decodeValue(bld, []byte(v)); err != nil {
			return nil, err
		}
	}
	return bld.NewArray(), nil
}

// buildColumn builds a key column of any kind from gathered values: vals
// for kindFixed, strs for the others.
func buildColumn(mem memory.Allocator, kt keyType, vals []uint64, strs []string, null []bool) (arrow.Array, error) {
	switch kt.kind {
	case kindFixed:
		return buildFixed(mem, kt, vals, null), nil
	case kindBytes:
		return buildBytes(mem, kt, strs, null)
	default:
		return buildNested(mem, kt, strs, null)
	}
}
