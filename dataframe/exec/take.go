package exec

import (
	"context"
	"encoding/binary"
	"math/bits"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// SelectionFromMask returns the row indexes where mask is true (NULL counts
// as false, SQL WHERE semantics), appended to sel[:0]. It walks the bitmap
// a 64-bit word at a time.
func SelectionFromMask(mask *array.Boolean, sel []int32) []int32 {
	sel = sel[:0]
	n := mask.Len()
	if n == 0 {
		return sel
	}
	off := mask.Data().Offset()
	vals := mask.Data().Buffers()[1].Bytes()
	var valid []byte
	if mask.NullN() > 0 {
		valid = mask.NullBitmapBytes()
	}
	word := func(base int) uint64 {
		w := loadBits(vals, off+base, min(64, n-base))
		if valid != nil {
			w &= loadBits(valid, off+base, min(64, n-base))
		}
		return w
	}
	count := 0
	for base := 0; base < n; base += 64 {
		count += bits.OnesCount64(word(base))
	}
	if cap(sel) < count {
		sel = make([]int32, count)
	}
	sel = sel[:count]
	k := 0
	for base := 0; base < n; base += 64 {
		for w := word(base); w != 0; w &= w - 1 {
			sel[k] = int32(base + bits.TrailingZeros64(w))
			k++
		}
	}
	return sel
}

// loadBits reads n (<= 64) bits starting at bit pos into a word.
func loadBits(buf []byte, pos, n int) uint64 {
	var w uint64
	byteIdx, shift := pos/8, uint(pos%8)
	need := (int(shift) + n + 7) / 8
	var tmp [9]byte
	copy(tmp[:], buf[byteIdx:min(len(buf), byteIdx+need)])
	w = binary.LittleEndian.Uint64(tmp[:8]) >> shift
	if shift > 0 {
		w |= uint64(tmp[8]) << (64 - shift)
	}
	if n < 64 {
		w &= (1 << uint(n)) - 1
	}
	return w
}

// TakeBatch gathers rows idx of b into a new batch owned by the caller.
func TakeBatch(mem memory.Allocator, b arrow.RecordBatch, idx []int32) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, b.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i := range cols {
		c, err := Take(mem, b.Column(i), idx)
		if err != nil {
			return nil, err
		}
		cols[i] = c
	}
	return array.NewRecordBatch(b.Schema(), cols, int64(len(idx))), nil
}

// Take gathers rows idx of arr. Fixed-width and string columns take a fast
// typed path; other types go through arrow's compute.Take.
func Take(mem memory.Allocator, arr arrow.Array, idx []int32) (arrow.Array, error) {
	switch a := arr.(type) {
	case *array.Int64:
		return takeFixed(mem, arr, a.Int64Values(), idx), nil
	case *array.Int32:
		return takeFixed(mem, arr, a.Int32Values(), idx), nil
	case *array.Int16:
		return takeFixed(mem, arr, a.Int16Values(), idx), nil
	case *array.Int8:
		return takeFixed(mem, arr, a.Int8Values(), idx), nil
	case *array.Float64:
		return takeFixed(mem, arr, a.Float64Values(), idx), nil
	case *array.Float32:
		return takeFixed(mem, arr, a.Float32Values(), idx), nil
	case *array.Date32:
		return takeFixed(mem, arr, a.Date32Values(), idx), nil
	case *array.Timestamp:
		return takeFixed(mem, arr, a.TimestampValues(), idx), nil
	case *array.String:
		return takeString(mem, arr, a.ValueOffsets(), a.ValueBytes(), idx), nil
	case *array.Binary:
		return takeString(mem, arr, a.ValueOffsets(), a.ValueBytes(), idx), nil
	}
	ctx := compute.WithAllocator(context.Background(), mem)
	ib := array.NewInt32Builder(mem)
	defer ib.Release()
	ib.AppendValues(idx, nil)
	ia := ib.NewArray()
	defer ia.Release()
	return compute.TakeArray(ctx, arr, ia)
}

// takeValidity builds the validity bitmap of the gathered rows, or nil
// when the source has no nulls.
func takeValidity(mem memory.Allocator, arr arrow.Array, idx []int32) (*memory.Buffer, int) {
	if arr.NullN() == 0 {
		return nil, 0
	}
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(len(idx)))))
	bits := buf.Bytes()
	for i := range bits {
		bits[i] = 0
	}
	src := arr.NullBitmapBytes()
	off := arr.Data().Offset()
	nulls := 0
	for i, j := range idx {
		if bitutil.BitIsSet(src, off+int(j)) {
			bitutil.SetBit(bits, i)
		} else {
			nulls++
		}
	}
	return buf, nulls
}

func takeFixed[T int8 | int16 | int32 | int64 | float32 | float64 | arrow.Date32 | arrow.Timestamp](mem memory.Allocator, arr arrow.Array, vals []T, idx []int32) arrow.Array {
	var zero T
	size := int(unsafe.Sizeof(zero))
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(len(idx) * size)
	var out []T
	if len(idx) > 0 {
		out = unsafe.Slice((*T)(unsafe.Pointer(&buf.Bytes()[0])), len(idx))
	}
	for i, j := range idx {
		out[i] = vals[j]
	}
	valid, nulls := takeValidity(mem, arr, idx)
	data := array.NewData(arr.DataType(), len(idx), []*memory.Buffer{valid, buf}, nil, nulls, 0)
	defer data.Release()
	buf.Release()
	if valid != nil {
		valid.Release()
	}
	return array.MakeFromData(data)
}

func takeString(mem memory.Allocator, arr arrow.Array, offs []int32, data []byte, idx []int32) arrow.Array {
	// ValueOffsets of a sliced array are absolute while ValueBytes starts at
	// the slice's first value: index data relative to base.
	var base int32
	if len(offs) > 0 {
		base = offs[0]
	}
	total := 0
	for _, j := range idx {
		total += int(offs[j+1] - offs[j])
	}
	ob := memory.NewResizableBuffer(mem)
	ob.Resize((len(idx) + 1) * 4)
	outOffs := unsafe.Slice((*int32)(unsafe.Pointer(&ob.Bytes()[0])), len(idx)+1)
	db := memory.NewResizableBuffer(mem)
	db.Resize(total)
	outData := db.Bytes()
	pos := int32(0)
	for i, j := range idx {
		outOffs[i] = pos
		pos += int32(copy(outData[pos:], data[offs[j]-base:offs[j+1]-base]))
	}
	outOffs[len(idx)] = pos
	valid, nulls := takeValidity(mem, arr, idx)
	d := array.NewData(arr.DataType(), len(idx), []*memory.Buffer{valid, ob, db}, nil, nulls, 0)
	defer d.Release()
	ob.Release()
	db.Release()
	if valid != nil {
		valid.Release()
	}
	return array.MakeFromData(d)
}
