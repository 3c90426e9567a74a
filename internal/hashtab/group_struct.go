package hashtab

import (
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// A struct key column is grouped in two steps: an inner Grouper over the
// struct's fields gives every distinct struct value a dense code, and the
// outer table groups by the code column as by any 32-bit integer key.
// GROUP BY (window, user_id) thus becomes a pair of fixed-width keys, with
// the window codes few and clustered (group_pair_parts.go), instead of a
// row-encoded byte string per row; the inner Grouper holds each window
// once, not once per group. NULL structs are NULL codes (a struct with
// NULL fields is a value like any other, as in the row encoding).

// structCodes is the inner Grouper of one struct key column.
type structCodes struct {
	dt *arrow.StructType // the plain key type
	g  *Grouper          // over the fields
}

// codeKeyType is how the outer table sees a struct column.
var codeKeyType = keyType{dt: arrow.PrimitiveTypes.Uint32, kind: kindFixed, width: 4}

// newStructCodes returns the codes of a struct key type, or nil for other
// types and for structs without fields (those stay row-encoded).
func newStructCodes(dt arrow.DataType, mem memory.Allocator) (*structCodes, error) {
	st, ok := dt.(*arrow.StructType)
	if !ok || st.NumFields() == 0 {
		return nil, nil
	}
	types := make([]arrow.DataType, st.NumFields())
	for i, f := range st.Fields() {
		types[i] = f.Type
	}
	g, err := New(types, mem)
	if err != nil {
		return nil, err
	}
	return &structCodes{dt: st, g: g}, nil
}

// codeScratch is the per-call working memory of one struct column.
type codeScratch struct {
	p         *Prober // lookups (Insert goes through the inner Grouper)
	children  []arrow.Array
	fieldVals [][]uint64
	heads     []int32
	codes     []uint32
	u64       []uint64
	bits      []byte
}

func (cs *codeScratch) memoryBytes() int64 {
	b := int64(cap(cs.codes))*4 + int64(cap(cs.u64))*8 + int64(cap(cs.bits))
	if cs.p != nil {
		b += cs.p.sc.memoryBytes()
	}
	return b
}

// view returns the code column of a struct (or dictionary of struct)
// column, creating codes for new values when create is set. A value not
// in the inner Grouper (Lookup) gets the code NoGroup, which no outer key
// holds.
func (sc *structCodes) view(cs *codeScratch, arr arrow.Array, create bool) (colView, error) {
	n := arr.Len()
	if d, ok := arr.(*array.Dictionary); ok {
		return sc.viewDict(cs, d, create)
	}
	st, ok := arr.(*array.Struct)
	if !ok {
		return colView{}, fmt.Errorf("%w: a %s key column is a %T", ErrBadInput, sc.dt, arr)
	}
	codes, err := sc.codesOf(cs, st, create)
	if err != nil {
		return colView{}, err
	}
	v := colView{kind: kindFixed, n: n, u64: widenCodes(cs, codes), nulls: st.NullN()}
	if v.nulls > 0 {
		v.valid, v.voff = st.NullBitmapBytes(), st.Data().Offset()
	}
	return v, nil
}

// codesOf inserts or looks up the rows of a struct array (NULL rows
// included: their fields' values are harmless extra codes at worst).
func (sc *structCodes) codesOf(cs *codeScratch, st *array.Struct, create bool) ([]uint32, error) {
	n := st.Len()
	if st.NumField() != sc.dt.NumFields() {
		return nil, fmt.Errorf("%w: struct key column has %d fields, the Grouper was made for %d", ErrBadInput, st.NumField(), sc.dt.NumFields())
	}
	cs.children = cs.children[:0]
	for j := range st.NumField() {
		cs.children = append(cs.children, st.Field(j))
	}
	defer clear(cs.children) // drop references to the batch
	if cap(cs.codes) < n {
		cs.codes = make([]uint32, n, n+n/4)
	}
	codes := cs.codes[:n]
	if ok, err := sc.codesOfRuns(cs, codes, create); ok || err != nil {
		return codes, err
	}
	var err error
	if create {
		err = sc.g.Insert(cs.children, codes)
	} else {
		err = cs.p.Lookup(cs.children, codes)
	}
	if err != nil {
		return nil, fmt.Errorf("struct field %w", err)
	}
	return codes, nil
}

// codesOfRuns codes struct values that come in runs (a window per row of
// time-ordered input): when every field is a plain 8-byte column without
// NULLs and the rows hold few runs of equal values, only the first row of
// each run goes to the inner Grouper. It reports false, having done
// nothing, when the columns do not qualify.
func (sc *structCodes) codesOfRuns(cs *codeScratch, codes []uint32, create bool) (bool, error) {
	n := len(codes)
	if n < 64 {
		return false, nil
	}
	vals := cs.fieldVals[:0]
	for _, c := range cs.children {
		v, ok := plainWords(c)
		if !ok {
			return false, nil
		}
		vals = append(vals, v)
	}
	cs.fieldVals = vals
	defer clear(cs.fieldVals) // drop references to the batch
	// Run heads: rows whose value differs from the previous row's.
	heads := append(cs.heads[:0], 0)
	if len(vals) == 2 { // a window: start and end
		a, b := vals[0][:n], vals[1][:n]
		for i := 1; i < n; i++ {
			if a[i] != a[i-1] || b[i] != b[i-1] {
				if heads = append(heads, int32(i)); len(heads)*8 > n {
					break
				}
			}
		}
	} else {
		for i := 1; i < n && len(heads)*8 <= n; i++ {
			for _, v := range vals {
				if v[i] != v[i-1] {
					heads = append(heads, int32(i))
					break
				}
			}
		}
	}
	cs.heads = heads
	if len(heads)*8 > n {
		return false, nil // not runs: the general path is cheaper
	}
	cols := make([]arrow.Array, len(vals))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	buf := make([]uint64, len(heads))
	for f, v := range vals {
		for h, i := range heads {
			buf[h] = v[i]
		}
		kt, _ := classify(cs.children[f].DataType())
		cols[f] = buildFixed(sc.g.mem, kt, buf, nil)
	}
	hcodes := make([]uint32, len(heads))
	var err error
	if create {
		err = sc.g.Insert(cols, hcodes)
	} else {
		err = cs.p.Lookup(cols, hcodes)
	}
	if err != nil {
		return true, fmt.Errorf("struct field %w", err)
	}
	for h, start := range heads {
		end := n
		if h+1 < len(heads) {
			end = int(heads[h+1])
		}
		c := hcodes[h]
		for i := int(start); i < end; i++ {
			codes[i] = c
		}
	}
	return true, nil
}

// plainWords views an array of an 8-byte integer-like type (no floats:
// their codes are normalised) without NULLs as its words.
func plainWords(a arrow.Array) ([]uint64, bool) {
	if a.NullN() > 0 {
		return nil, false
	}
	switch a.DataType().ID() {
	case arrow.INT64, arrow.UINT64, arrow.TIMESTAMP, arrow.DATE64, arrow.TIME64, arrow.DURATION:
	default:
		return nil, false
	}
	d := a.Data()
	bufs := d.Buffers()
	if len(bufs) < 2 || bufs[1] == nil || bufs[1].Len() < (d.Offset()+d.Len())*8 {
		return nil, false
	}
	b := bufs[1].Bytes()[d.Offset()*8 : (d.Offset()+d.Len())*8]
	if len(b) == 0 {
		return nil, true
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), d.Len()), true
}

func widenCodes(cs *codeScratch, codes []uint32) []uint64 {
	n := len(codes)
	if cap(cs.u64) < n {
		cs.u64 = make([]uint64, n, n+n/4)
	}
	out := cs.u64[:n]
	for i, c := range codes {
		out[i] = uint64(c)
	}
	return out
}

// viewDict codes a dictionary's struct values once, then gathers them by
// index. A row is NULL when its index or its dictionary value is.
func (sc *structCodes) viewDict(cs *codeScratch, d *array.Dictionary, create bool) (colView, error) {
	dict, ok := d.Dictionary().(*array.Struct)
	if !ok {
		return colView{}, fmt.Errorf("%w: a %s key column has a dictionary of %s", ErrBadInput, sc.dt, d.Dictionary().DataType())
	}
	dcodes, err := sc.codesOf(cs, dict, create)
	if err != nil {
		return colView{}, err
	}
	n := d.Len()
	if cap(cs.u64) < n {
		cs.u64 = make([]uint64, n, n+n/4)
	}
	out := cs.u64[:n]
	nb := int(bitutil.BytesForBits(int64(n)))
	if cap(cs.bits) < nb {
		cs.bits = make([]byte, nb)
	}
	bits := cs.bits[:nb]
	clear(bits)
	ind := d.Indices()
	nulls := 0
	for i := range n {
		if ind.IsNull(i) {
			out[i] = 0
			nulls++
			continue
		}
		j := d.GetValueIndex(i)
		if j < 0 || j >= len(dcodes) {
			return colView{}, fmt.Errorf("%w: dictionary index %d out of range [0, %d) at row %d", ErrBadInput, j, len(dcodes), i)
		}
		if dict.IsNull(j) {
			out[i] = 0
			nulls++
			continue
		}
		out[i] = uint64(dcodes[j])
		bitutil.SetBit(bits, i)
	}
	v := colView{kind: kindFixed, n: n, u64: out}
	if nulls > 0 {
		v.valid, v.nulls = bits, nulls
	}
	return v, nil
}

// build turns gathered codes (null[i]: NULL struct) back into a struct
// array of the key type.
func (sc *structCodes) build(mem memory.Allocator, codes []uint64, null []bool) (arrow.Array, error) {
	n := len(codes)
	if sc.g.Len() == 0 {
		// Only NULL structs were ever inserted.
		return array.MakeArrayOfNull(mem, sc.dt, n), nil
	}
	sel := make([]uint32, n)
	for i, c := range codes {
		if null != nil && null[i] {
			continue // code 0 stands in under a NULL
		}
		if c >= uint64(sc.g.Len()) {
			return nil, fmt.Errorf("%w: struct code %d out of range", ErrBadInput, c)
		}
		sel[i] = uint32(c)
	}
	children, err := sc.children(mem, sel)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, c := range children {
			c.Release()
		}
	}()
	valid, nulls := validityBuffer(mem, null)
	childData := make([]arrow.ArrayData, len(children))
	for i, c := range children {
		childData[i] = c.Data()
	}
	data := array.NewData(sc.dt, n, []*memory.Buffer{valid}, childData, nulls, 0)
	if valid != nil {
		valid.Release()
	}
	defer data.Release()
	return array.MakeFromData(data), nil
}

// children gathers the fields of the struct values coded sel. Fields of 8
// bytes are looked up in the (few) distinct values and written straight
// into their Arrow buffers; others go through the inner Grouper's Keys.
func (sc *structCodes) children(mem memory.Allocator, sel []uint32) ([]arrow.Array, error) {
	fg, ok := sc.g.impl.(fixedGatherer)
	if !ok || len(sel) < 4*sc.g.Len() {
		return sc.g.Keys(mem, sel)
	}
	out := make([]arrow.Array, 0, len(sc.g.kts))
	for c, kt := range sc.g.kts {
		if sc.g.codes[c] != nil || kt.kind != kindFixed || kt.width != 8 {
			// Not a flat 8-byte field: the general path for all.
			for _, a := range out {
				a.Release()
			}
			return sc.g.Keys(mem, sel)
		}
	}
	distinct := make([]uint64, sc.g.Len())
	for c, kt := range sc.g.kts {
		dnull := fg.gatherFixed(c, nil, distinct)
		out = append(out, gatherWide(mem, kt, len(sel), func(dst []uint64) []bool {
			var null []bool
			if dnull != nil {
				null = make([]bool, len(sel))
			}
			for i, code := range sel {
				dst[i] = distinct[code]
				if dnull != nil {
					null[i] = dnull[code]
				}
			}
			return null
		}))
	}
	return out, nil
}
