package hashtab

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
)

// kind is how a key column is compared and stored.
type kind uint8

const (
	// kindFixed: a value of at most 8 bytes, compared and stored as its
	// canonical 64-bit pattern (integers widened, floats normalised).
	kindFixed kind = iota
	// kindBytes: strings, binaries and fixed-width values wider than 8
	// bytes (decimal128/256, month_day_nano intervals), compared as bytes.
	kindBytes
	// kindNested: struct/list/map keys, row-encoded to bytes (rowenc.go).
	kindNested
)

// keyType is what the Grouper knows of one key column.
type keyType struct {
	dt     arrow.DataType // value type: dictionaries are unwrapped
	kind   kind
	width  int  // kindFixed: bytes per value; kindBytes: 0 = variable length
	signed bool // kindFixed integers: sign-extend when widening
	float  int  // kindFixed: 16, 32 or 64 for floats, else 0
}

// classify maps a key column's type to how it is handled.
func classify(dt arrow.DataType) (keyType, error) {
	if dt == nil {
		return keyType{}, fmt.Errorf("%w: nil data type", ErrUnsupportedType)
	}
	if d, ok := dt.(*arrow.DictionaryType); ok {
		if _, nested := d.ValueType.(*arrow.DictionaryType); nested {
			return keyType{}, fmt.Errorf("%w: dictionary of dictionary %s", ErrUnsupportedType, dt)
		}
		return classify(d.ValueType)
	}
	kt := keyType{dt: plainType(dt), kind: kindFixed}
	switch dt.ID() {
	case arrow.NULL:
		kt.width = 0
	case arrow.BOOL:
		kt.width = 1
	case arrow.INT8:
		kt.width, kt.signed = 1, true
	case arrow.INT16:
		kt.width, kt.signed = 2, true
	case arrow.INT32, arrow.DATE32, arrow.TIME32, arrow.INTERVAL_MONTHS, arrow.DECIMAL32:
		kt.width, kt.signed = 4, true
	case arrow.INT64, arrow.DATE64, arrow.TIME64, arrow.TIMESTAMP, arrow.DURATION, arrow.DECIMAL64:
		kt.width, kt.signed = 8, true
	case arrow.UINT8:
		kt.width = 1
	case arrow.UINT16:
		kt.width = 2
	case arrow.UINT32:
		kt.width = 4
	case arrow.UINT64, arrow.INTERVAL_DAY_TIME:
		kt.width = 8
	case arrow.FLOAT16:
		kt.width, kt.float = 2, 16
	case arrow.FLOAT32:
		kt.width, kt.float = 4, 32
	case arrow.FLOAT64:
		kt.width, kt.float = 8, 64
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY,
		arrow.STRING_VIEW, arrow.BINARY_VIEW:
		kt.kind = kindBytes
	case arrow.FIXED_SIZE_BINARY, arrow.DECIMAL128, arrow.DECIMAL256, arrow.INTERVAL_MONTH_DAY_NANO:
		kt.kind = kindBytes
		kt.width = dt.(arrow.FixedWidthDataType).BitWidth() / 8
	case arrow.STRUCT, arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST, arrow.MAP:
		if err := checkNested(dt); err != nil {
			return keyType{}, err
		}
		kt.kind = kindNested
	default:
		return keyType{}, fmt.Errorf("%w: %s (supported: booleans, integers, floats, decimals, strings, binaries, dates, times, timestamps, durations, intervals, dictionaries of these, and structs/lists/maps of these)", ErrUnsupportedType, dt)
	}
	return kt, nil
}

// plainType is dt with every dictionary, also inside structs, lists and
// maps, replaced by its value type: the type keys are compared by and come
// back as.
func plainType(dt arrow.DataType) arrow.DataType {
	switch t := dt.(type) {
	case *arrow.DictionaryType:
		return plainType(t.ValueType)
	case *arrow.StructType:
		if !hasDict(t) {
			return t
		}
		fs := t.Fields()
		for i := range fs {
			fs[i].Type = plainType(fs[i].Type)
		}
		return arrow.StructOf(fs...)
	case *arrow.MapType:
		if !hasDict(t) {
			return t
		}
		m := arrow.MapOf(plainType(t.KeyType()), plainType(t.ItemType()))
		m.KeysSorted = t.KeysSorted
		return m
	case *arrow.ListType:
		if !hasDict(t) {
			return t
		}
		f := t.ElemField()
		f.Type = plainType(f.Type)
		return arrow.ListOfField(f)
	case *arrow.LargeListType:
		if !hasDict(t) {
			return t
		}
		f := t.ElemField()
		f.Type = plainType(f.Type)
		return arrow.LargeListOfField(f)
	case *arrow.FixedSizeListType:
		if !hasDict(t) {
			return t
		}
		f := t.ElemField()
		f.Type = plainType(f.Type)
		return arrow.FixedSizeListOfField(t.Len(), f)
	}
	return dt
}

func hasDict(dt arrow.DataType) bool {
	switch t := dt.(type) {
	case *arrow.DictionaryType:
		return true
	case *arrow.StructType:
		for _, f := range t.Fields() {
			if hasDict(f.Type) {
				return true
			}
		}
	case *arrow.MapType:
		return hasDict(t.Elem())
	case arrow.ListLikeType:
		return hasDict(t.Elem())
	}
	return false
}

// colView is one key column of one batch, normalised so that the hot loops
// see a plain typed slice: kindFixed columns as canonical uint64 patterns
// (zero-copy for 64-bit integer types), byte-like and nested columns as
// strings that point into the Arrow buffers (or into the row-encoding
// arena). Dictionaries are resolved to their values. A view is valid until
// the next call that reuses its normaliser.
type colView struct {
	kind  kind
	n     int
	u64   []uint64
	str   []string
	valid []byte // validity bitmap, nil when nulls == 0
	voff  int    // bit offset of row 0 in valid
	nulls int
	// For a dictionary column viewed with keepDict: the dictionary's view
	// and each row's index into it (-1 for a NULL row); u64 and str are
	// then not filled.
	dict *colView
	idx  []int
}

func (v *colView) isNull(i int) bool {
	return v.nulls != 0 && !bitutil.BitIsSet(v.valid, v.voff+i)
}

// normalizer builds colViews for one key column, reusing its scratch
// buffers from batch to batch.
type normalizer struct {
	kt keyType
	// keepDict: view dictionary columns as dictionary + indices instead of
	// gathering their values (for callers that resolve each dictionary
	// entry once).
	keepDict bool
	dictView colView
	u64      []uint64
	str      []string
	bits     []byte
	idx      []int
	enc      rowEncoder
	dict     *normalizer // for the values of dictionary-encoded batches
}

func newNormalizer(kt keyType) *normalizer { return &normalizer{kt: kt} }

// view normalises arr, whose value type has already been checked.
func (nz *normalizer) view(arr arrow.Array) (colView, error) {
	if d, ok := arr.(*array.Dictionary); ok {
		return nz.viewDict(d)
	}
	n := arr.Len()
	v := colView{kind: nz.kt.kind, n: n, nulls: arr.NullN()}
	if v.nulls > 0 {
		if b := arr.NullBitmapBytes(); b != nil {
			v.valid, v.voff = b, arr.Data().Offset()
		} else {
			// NULL-typed arrays carry no bitmap: every row is NULL.
			v.valid, v.voff, v.nulls = nz.zeroBits(n), 0, n
		}
	}
	switch nz.kt.kind {
	case kindFixed:
		if err := checkFixedBuffer(arr, nz.kt); err != nil {
			return colView{}, err
		}
		v.u64 = nz.fixed(arr)
	case kindBytes:
		if err := checkFixedBuffer(arr, nz.kt); err != nil {
			return colView{}, err
		}
		v.str = nz.bytes(arr)
	case kindNested:
		v.str = nz.enc.encodeColumn(arr, nz.strs(n))
	}
	return v, nil
}

func (nz *normalizer) zeroBits(n int) []byte {
	nb := int(bitutil.BytesForBits(int64(n)))
	if cap(nz.bits) < nb {
		nz.bits = make([]byte, nb)
	}
	b := nz.bits[:nb]
	clear(b)
	return b
}

func (nz *normalizer) u64s(n int) []uint64 {
	if cap(nz.u64) < n {
		nz.u64 = make([]uint64, n, n+n/4)
	}
	return nz.u64[:n]
}

func (nz *normalizer) strs(n int) []string {
	if cap(nz.str) < n {
		nz.str = make([]string, n, n+n/4)
	}
	return nz.str[:n]
}

// checkFixedBuffer makes sure the value buffer covers the array, so that
// fixed can slice it unchecked.
func checkFixedBuffer(arr arrow.Array, kt keyType) error {
	n := arr.Len()
	if kt.width == 0 || n == 0 {
		return nil
	}
	data := arr.Data()
	bufs := data.Buffers()
	need := (data.Offset() + n) * kt.width
	if kt.dt.ID() == arrow.BOOL {
		need = int(bitutil.BytesForBits(int64(data.Offset() + n)))
	}
	if len(bufs) < 2 || bufs[1] == nil || bufs[1].Len() < need {
		return fmt.Errorf("%w: %s array of %d rows at offset %d has a value buffer shorter than %d bytes", ErrBadInput, kt.dt, n, data.Offset(), need)
	}
	return nil
}

// fixed returns the canonical 64-bit patterns of a kindFixed column.
func (nz *normalizer) fixed(arr arrow.Array) []uint64 {
	n := arr.Len()
	kt := nz.kt
	data := arr.Data()
	if kt.width == 0 || n == 0 { // NULL type
		out := nz.u64s(n)
		clear(out)
		return out
	}
	buf := data.Buffers()[1].Bytes()
	off := data.Offset()
	if kt.dt.ID() == arrow.BOOL {
		out := nz.u64s(n)
		for i := range out {
			out[i] = 0
			if bitutil.BitIsSet(buf, off+i) {
				out[i] = 1
			}
		}
		return out
	}
	raw := buf[off*kt.width : (off+n)*kt.width]
	p := unsafe.Pointer(unsafe.SliceData(raw))
	switch kt.float {
	case 64:
		return canonF64(unsafe.Slice((*float64)(p), n), nz.u64s(n))
	case 32:
		return canonF32(unsafe.Slice((*float32)(p), n), nz.u64s(n))
	case 16:
		return canonF16(unsafe.Slice((*uint16)(p), n), nz.u64s(n))
	}
	switch kt.width {
	case 8:
		return unsafe.Slice((*uint64)(p), n) // zero-copy
	case 4:
		if kt.signed {
			return widenS(unsafe.Slice((*int32)(p), n), nz.u64s(n))
		}
		return widenU(unsafe.Slice((*uint32)(p), n), nz.u64s(n))
	case 2:
		if kt.signed {
			return widenS(unsafe.Slice((*int16)(p), n), nz.u64s(n))
		}
		return widenU(unsafe.Slice((*uint16)(p), n), nz.u64s(n))
	default:
		if kt.signed {
			return widenS(unsafe.Slice((*int8)(p), n), nz.u64s(n))
		}
		return widenU(unsafe.Slice((*uint8)(p), n), nz.u64s(n))
	}
}

func widenS[T int8 | int16 | int32](src []T, dst []uint64) []uint64 {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = uint64(int64(x))
	}
	return dst
}

func widenU[T uint8 | uint16 | uint32](src []T, dst []uint64) []uint64 {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = uint64(x)
	}
	return dst
}

const (
	canonNaN64 = 0x7ff8000000000000
	canonNaN32 = 0x7fc00000
	canonNaN16 = 0x7e00
)

// canonF64 maps -0.0 to 0.0 and every NaN to one NaN (Spark's
// NormalizeFloatingNumbers), so equal keys have equal bit patterns.
func canonF64(src []float64, dst []uint64) []uint64 {
	dst = dst[:len(src)]
	for i, f := range src {
		b := math.Float64bits(f)
		if f != f {
			b = canonNaN64
		} else if f == 0 {
			b = 0
		}
		dst[i] = b
	}
	return dst
}

func canonF32(src []float32, dst []uint64) []uint64 {
	dst = dst[:len(src)]
	for i, f := range src {
		b := math.Float32bits(f)
		if f != f {
			b = canonNaN32
		} else if f == 0 {
			b = 0
		}
		dst[i] = uint64(b)
	}
	return dst
}

func canonF16(src []uint16, dst []uint64) []uint64 {
	dst = dst[:len(src)]
	for i, b := range src {
		switch {
		case b&0x7c00 == 0x7c00 && b&0x3ff != 0:
			b = canonNaN16
		case b == 0x8000:
			b = 0
		}
		dst[i] = uint64(b)
	}
	return dst
}

// bstr views b[lo:hi] as a string without copying.
func bstr(b []byte, lo, hi int) string {
	s := b[lo:hi]
	return unsafe.String(unsafe.SliceData(s), len(s))
}

// bytes returns string views of a kindBytes column.
func (nz *normalizer) bytes(arr arrow.Array) []string {
	n := arr.Len()
	out := nz.strs(n)
	if n == 0 {
		return out
	}
	switch a := arr.(type) {
	case *array.String:
		offsetViews(a.ValueOffsets(), a.ValueBytes(), out)
	case *array.LargeString:
		offsetViews(a.ValueOffsets(), a.ValueBytes(), out)
	case *array.Binary:
		offsetViews(a.ValueOffsets(), a.ValueBytes(), out)
	case *array.LargeBinary:
		offsetViews(a.ValueOffsets(), a.ValueBytes(), out)
	case *array.StringView:
		for i := range out {
			out[i] = a.Value(i)
		}
	case *array.BinaryView:
		for i := range out {
			b := a.Value(i)
			out[i] = unsafe.String(unsafe.SliceData(b), len(b))
		}
	default: // fixed width wider than 8 bytes
		w := nz.kt.width
		data := arr.Data()
		buf := data.Buffers()[1].Bytes()
		base := data.Offset() * w
		for i := range out {
			out[i] = bstr(buf, base+i*w, base+(i+1)*w)
		}
	}
	return out
}

// offsetViews slices data (which starts at offs[0]) by the offsets.
func offsetViews[O int32 | int64](offs []O, data []byte, out []string) {
	base := offs[0]
	offs = offs[:len(out)+1]
	for i := range out {
		out[i] = bstr(data, int(offs[i]-base), int(offs[i+1]-base))
	}
}

// viewDict resolves a dictionary-encoded column to its values: the
// dictionary is normalised once, then gathered by index, so keys hash and
// compare by value whatever dictionary each batch carries.
func (nz *normalizer) viewDict(d *array.Dictionary) (colView, error) {
	if nz.dict == nil {
		nz.dict = newNormalizer(nz.kt)
	}
	dv, err := nz.dict.view(d.Dictionary())
	if err != nil {
		return colView{}, err
	}
	n := d.Len()
	ind := d.Indices()
	idx := nz.indices(ind)
	// A row is NULL when its index is NULL or its dictionary value is; it
	// then reads value 0 of a zero view.
	var bits []byte
	nulls := 0
	if ind.NullN() > 0 || dv.nulls > 0 {
		bits = nz.zeroBits(n)
	}
	for i, j := range idx {
		if uint(j) >= uint(dv.n) {
			if ind.IsNull(i) {
				idx[i] = -1
				nulls++
				continue
			}
			return colView{}, fmt.Errorf("%w: dictionary index %d out of range [0, %d) at row %d", ErrBadInput, j, dv.n, i)
		}
		if bits != nil {
			if ind.IsValid(i) && !dv.isNull(j) {
				bitutil.SetBit(bits, i)
			} else {
				idx[i] = -1
				nulls++
			}
		}
	}
	v := colView{kind: nz.kt.kind, n: n}
	if nulls > 0 {
		v.valid, v.voff, v.nulls = bits, 0, nulls
	}
	if nz.keepDict {
		nz.dictView = dv
		v.dict, v.idx = &nz.dictView, idx
		return v, nil
	}
	if nz.kt.kind == kindFixed {
		out := nz.u64s(n)
		for i, j := range idx {
			if j >= 0 {
				out[i] = dv.u64[j]
			} else {
				out[i] = 0
			}
		}
		v.u64 = out
	} else {
		out := nz.strs(n)
		for i, j := range idx {
			if j >= 0 {
				out[i] = dv.str[j]
			} else {
				out[i] = ""
			}
		}
		v.str = out
	}
	return v, nil
}

// indices widens dictionary indices to int (a NULL index reads whatever
// its slot holds; viewDict masks it).
func (nz *normalizer) indices(ind arrow.Array) []int {
	n := ind.Len()
	if cap(nz.idx) < n {
		nz.idx = make([]int, n, n+n/4)
	}
	out := nz.idx[:n]
	switch a := ind.(type) {
	case *array.Int8:
		gatherIdx(a.Int8Values(), out)
	case *array.Int16:
		gatherIdx(a.Int16Values(), out)
	case *array.Int32:
		gatherIdx(a.Int32Values(), out)
	case *array.Int64:
		gatherIdx(a.Int64Values(), out)
	case *array.Uint8:
		gatherIdx(a.Uint8Values(), out)
	case *array.Uint16:
		gatherIdx(a.Uint16Values(), out)
	case *array.Uint32:
		gatherIdx(a.Uint32Values(), out)
	case *array.Uint64:
		gatherIdx(a.Uint64Values(), out)
	default:
		for i := range out {
			out[i] = -1
		}
	}
	return out
}

func gatherIdx[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64](src []T, out []int) {
	for i, x := range src[:len(out)] {
		out[i] = int(x) // negative or huge values fail viewDict's range check
	}
}

func (nz *normalizer) memoryBytes() int64 {
	b := int64(cap(nz.u64))*8 + int64(cap(nz.str))*16 + int64(cap(nz.bits)) + int64(cap(nz.idx))*8 +
		int64(cap(nz.enc.buf)) + int64(cap(nz.enc.ends))*8
	if nz.dict != nil {
		b += nz.dict.memoryBytes()
	}
	return b
}
