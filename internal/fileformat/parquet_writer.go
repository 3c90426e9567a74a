package fileformat

import (
	"encoding/binary"
	"fmt"
	"io"
	"reflect"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// wplan says how one Arrow field is shredded into Parquet leaf columns.
type wplan struct {
	kind     planKind
	dt       arrow.DataType
	def      int // definition level when the value is present
	rep      int // list: repetition level of its elements
	elemDef  int // list: definition level when it has elements
	leaf     int // leaf column index
	children []*wplan
	decBytes int // decimal stored as FIXED_LEN_BYTE_ARRAY of this size
	decPhys  int // 32 or 64 when the decimal is stored as INT32/INT64
}

// orderedGroup is a Parquet group that keeps the Arrow field order
// (parquet.Group is a map and sorts its fields by name).
type orderedGroup []orderedField

type orderedField struct {
	parquet.Node
	name string
}

func (f orderedField) Name() string                           { return f.name }
func (f orderedField) Value(base reflect.Value) reflect.Value { return reflect.Value{} }

func (g orderedGroup) ID() int                     { return 0 }
func (g orderedGroup) String() string              { return "group" }
func (g orderedGroup) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g orderedGroup) Optional() bool              { return false }
func (g orderedGroup) Repeated() bool              { return false }
func (g orderedGroup) Required() bool              { return true }
func (g orderedGroup) Leaf() bool                  { return false }
func (g orderedGroup) Encoding() encoding.Encoding { return nil }
func (g orderedGroup) Compression() compress.Codec { return nil }
func (g orderedGroup) GoType() reflect.Type        { return reflect.TypeOf(struct{}{}) }
func (g orderedGroup) Fields() []parquet.Field {
	fs := make([]parquet.Field, len(g))
	for i := range g {
		fs[i] = g[i]
	}
	return fs
}

// parquetNodeOf maps an Arrow field to a Parquet node and its shredding
// plan. leaves counts leaf columns in depth-first order.
func parquetNodeOf(f arrow.Field, parentDef, parentRep int, leaves *int) (parquet.Node, *wplan, error) {
	def := parentDef
	if f.Nullable {
		def++
	}
	wrap := func(n parquet.Node) parquet.Node {
		if f.Nullable {
			return parquet.Optional(n)
		}
		return parquet.Required(n)
	}
	leaf := func(n parquet.Node) (parquet.Node, *wplan, error) {
		p := &wplan{kind: planLeaf, dt: f.Type, def: def, leaf: *leaves}
		*leaves++
		return wrap(n), p, nil
	}
	switch t := f.Type.(type) {
	case *arrow.BooleanType:
		return leaf(parquet.Leaf(parquet.BooleanType))
	case *arrow.Int8Type:
		return leaf(parquet.Int(8))
	case *arrow.Int16Type:
		return leaf(parquet.Int(16))
	case *arrow.Int32Type:
		return leaf(parquet.Leaf(parquet.Int32Type))
	case *arrow.Int64Type:
		return leaf(parquet.Leaf(parquet.Int64Type))
	case *arrow.Float32Type:
		return leaf(parquet.Leaf(parquet.FloatType))
	case *arrow.Float64Type:
		return leaf(parquet.Leaf(parquet.DoubleType))
	case *arrow.StringType:
		return leaf(parquet.Encoded(parquet.String(), &parquet.RLEDictionary))
	case *arrow.BinaryType:
		return leaf(parquet.Leaf(parquet.ByteArrayType))
	case *arrow.Date32Type:
		return leaf(parquet.Date())
	case *arrow.TimestampType:
		return leaf(parquet.Timestamp(parquet.Microsecond))
	case *arrow.Decimal128Type:
		p, s := int(t.Precision), int(t.Scale)
		if p < 1 || p > 38 || s < 0 || s > p {
			return nil, nil, fmt.Errorf("%w: parquet: column %q: decimal(%d,%d) cannot be written", ErrSchemaMismatch, f.Name, p, s)
		}
		var n parquet.Node
		var wp wplan
		switch {
		case p <= 9:
			n, wp.decPhys = parquet.Decimal(s, p, parquet.Int32Type), 32
		case p <= 18:
			n, wp.decPhys = parquet.Decimal(s, p, parquet.Int64Type), 64
		default:
			wp.decBytes = decimalBytes(p)
			n = parquet.Decimal(s, p, parquet.FixedLenByteArrayType(wp.decBytes))
		}
		node, pl, err := leaf(n)
		pl.decBytes, pl.decPhys = wp.decBytes, wp.decPhys
		return node, pl, err
	case *arrow.StructType:
		if t.NumFields() == 0 {
			return nil, nil, fmt.Errorf("%w: parquet: column %q: an empty struct cannot be written", ErrSchemaMismatch, f.Name)
		}
		g := make(orderedGroup, t.NumFields())
		p := &wplan{kind: planStruct, dt: f.Type, def: def}
		for i, cf := range t.Fields() {
			cn, cp, err := parquetNodeOf(cf, def, parentRep, leaves)
			if err != nil {
				return nil, nil, err
			}
			g[i] = orderedField{Node: cn, name: cf.Name}
			p.children = append(p.children, cp)
		}
		return wrap(g), p, nil
	case *arrow.MapType:
		kf := arrow.Field{Name: "key", Type: t.KeyType(), Nullable: false}
		vf := arrow.Field{Name: "value", Type: t.ItemType(), Nullable: t.ItemField().Nullable}
		kn, kp, err := parquetNodeOf(kf, def+1, parentRep+1, leaves)
		if err != nil {
			return nil, nil, err
		}
		vn, vp, err := parquetNodeOf(vf, def+1, parentRep+1, leaves)
		if err != nil {
			return nil, nil, err
		}
		entries := &wplan{kind: planStruct, dt: t.Elem(), def: def + 1, children: []*wplan{kp, vp}}
		p := &wplan{kind: planList, dt: f.Type, def: def, rep: parentRep + 1, elemDef: def + 1, children: []*wplan{entries}}
		return wrap(parquet.Map(kn, vn)), p, nil
	case *arrow.ListType:
		ef := t.ElemField()
		ef.Name = "element"
		en, ep, err := parquetNodeOf(ef, def+1, parentRep+1, leaves)
		if err != nil {
			return nil, nil, err
		}
		p := &wplan{kind: planList, dt: f.Type, def: def, rep: parentRep + 1, elemDef: def + 1, children: []*wplan{ep}}
		return wrap(parquet.List(en)), p, nil
	}
	return nil, nil, fmt.Errorf("%w: parquet: column %q: type %s cannot be written to Parquet", ErrSchemaMismatch, f.Name, expr.TypeName(f.Type))
}

// decimalBytes is the smallest two's complement width holding precision p
// (Spark's minBytesForPrecision).
func decimalBytes(p int) int {
	for n := 1; ; n++ {
		// 2^(8n-1) > 10^p  <=>  (8n-1)*log10(2) > p
		if float64(8*n-1)*0.30102999566398120 > float64(p) {
			return n
		}
	}
}

type parquetWriter struct {
	w       *parquet.Writer
	schema  *arrow.Schema
	plans   []*wplan
	cws     []*parquet.ColumnWriter
	cfg     parquetWriteConfig
	inGroup int64
	vals    []parquet.Value
	closed  bool
}

func newParquetWriter(out io.Writer, schema *arrow.Schema, opts WriteOptions) (*parquetWriter, error) {
	cfg, err := parseParquetWriteOptions(opts.Options)
	if err != nil {
		return nil, err
	}
	if schema.NumFields() == 0 {
		return nil, fmt.Errorf("%w: parquet: cannot write a schema without columns", ErrSchemaMismatch)
	}
	root := make(orderedGroup, schema.NumFields())
	pw := &parquetWriter{schema: schema, cfg: cfg}
	leaves := 0
	for i, f := range schema.Fields() {
		n, p, err := parquetNodeOf(f, 0, 0, &leaves)
		if err != nil {
			return nil, err
		}
		root[i] = orderedField{Node: n, name: f.Name}
		pw.plans = append(pw.plans, p)
	}
	ps := parquet.NewSchema("schema", root)
	pw.w = parquet.NewWriter(out, ps,
		parquet.Compression(cfg.codec),
		parquet.PageBufferSize(cfg.pageSize),
		parquet.DictionaryMaxBytes(cfg.dictMax),
		parquet.CreatedBy("sluice", "", ""),
	)
	pw.cws = pw.w.ColumnWriters()
	if len(pw.cws) != leaves {
		return nil, fmt.Errorf("%w: parquet: schema has %d leaf columns, writer %d", ErrSchemaMismatch, leaves, len(pw.cws))
	}
	return pw, nil
}

// writeChunkRows is how many rows go to the column writers per call: a
// page is cut only between calls, so this bounds page overshoot.
const writeChunkRows = 4096

func (pw *parquetWriter) Write(b arrow.RecordBatch) error {
	if pw.closed {
		return fmt.Errorf("%w: parquet: write after close", ErrOption)
	}
	if !b.Schema().Equal(pw.schema) && !sameFieldTypes(b.Schema(), pw.schema) {
		return fmt.Errorf("%w: parquet: batch schema %s does not match writer schema %s", ErrSchemaMismatch, b.Schema(), pw.schema)
	}
	n := int(b.NumRows())
	for lo := 0; lo < n; {
		k := min(writeChunkRows, n-lo)
		if room := pw.cfg.rowGroupSize - pw.inGroup; int64(k) > room {
			k = int(room)
		}
		for i, p := range pw.plans {
			if err := pw.writeColumn(p, b.Column(i), lo, lo+k); err != nil {
				return fmt.Errorf("parquet: column %q: %w", pw.schema.Field(i).Name, err)
			}
		}
		lo += k
		pw.inGroup += int64(k)
		if pw.inGroup >= pw.cfg.rowGroupSize {
			if err := pw.w.Flush(); err != nil {
				return fmt.Errorf("parquet: flush row group: %w", err)
			}
			pw.inGroup = 0
		}
	}
	return nil
}

func sameFieldTypes(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := range a.Fields() {
		if !arrow.TypeEqual(a.Field(i).Type, b.Field(i).Type) {
			return false
		}
	}
	return true
}

// writeColumn writes rows [lo, hi) of one top-level column.
func (pw *parquetWriter) writeColumn(p *wplan, arr arrow.Array, lo, hi int) error {
	if p.kind == planLeaf {
		pw.appendLeaf(p, arr, lo, hi, 0)
		_, err := pw.cws[p.leaf].WriteRowValues(pw.vals)
		return err
	}
	// Nested: shred row by row into per-leaf value lists.
	per := make(map[int][]parquet.Value)
	for i := lo; i < hi; i++ {
		pw.shred(p, arr, i, 0, 0, per)
	}
	for leaf, vs := range per {
		if _, err := pw.cws[leaf].WriteRowValues(vs); err != nil {
			return err
		}
	}
	return nil
}

// appendLeaf appends the values of a top-level leaf column (repetition 0)
// with a typed loop per Arrow type. Only the definition level matters to
// parquet-go's column buffers, so it is the one field set (and only for
// nullable columns).
func (pw *parquetWriter) appendLeaf(p *wplan, arr arrow.Array, lo, hi int, _ int) {
	def := p.def
	k := hi - lo
	if cap(pw.vals) < k {
		pw.vals = make([]parquet.Value, k)
	}
	out := pw.vals[:k]
	pw.vals = out
	switch a := arr.(type) {
	case *array.Int64:
		vs := a.Int64Values()[lo:hi]
		for i, x := range vs {
			out[i] = parquet.Int64Value(x)
		}
	case *array.Float64:
		vs := a.Float64Values()[lo:hi]
		for i, x := range vs {
			out[i] = parquet.DoubleValue(x)
		}
	case *array.Int32:
		vs := a.Int32Values()[lo:hi]
		for i, x := range vs {
			out[i] = parquet.Int32Value(x)
		}
	case *array.Float32:
		vs := a.Float32Values()[lo:hi]
		for i, x := range vs {
			out[i] = parquet.FloatValue(x)
		}
	case *array.Int16:
		vs := a.Int16Values()[lo:hi]
		for i, x := range vs {
			out[i] = parquet.Int32Value(int32(x))
		}
	case *array.Int8:
		vs := a.Int8Values()[lo:hi]
		for i, x := range vs {
			out[i] = parquet.Int32Value(int32(x))
		}
	case *array.Date32:
		vs := a.Date32Values()[lo:hi]
		for i, x := range vs {
			out[i] = parquet.Int32Value(int32(x))
		}
	case *array.Timestamp:
		vs := a.TimestampValues()[lo:hi]
		mul, div := int64(1), int64(1)
		switch a.DataType().(*arrow.TimestampType).Unit {
		case arrow.Second:
			mul = 1_000_000
		case arrow.Millisecond:
			mul = 1000
		case arrow.Nanosecond:
			div = 1000
		}
		for i, x := range vs {
			out[i] = parquet.Int64Value(pqFloorDiv(int64(x)*mul, div))
		}
	case *array.String:
		data, offs := varData(a)
		for i := range out {
			out[i] = parquet.ByteArrayValue(data[offs[lo+i]:offs[lo+i+1]])
		}
	case *array.Binary:
		data, offs := varData(a)
		for i := range out {
			out[i] = parquet.ByteArrayValue(data[offs[lo+i]:offs[lo+i+1]])
		}
	default:
		for i := range out {
			out[i] = pw.value(p, arr, lo+i, 0, def-1)
		}
		return // value sets levels and nulls itself
	}
	if def == 0 {
		return
	}
	if arr.NullN() == 0 {
		for i := range out {
			out[i].SetDefinitionLevel(def)
		}
		return
	}
	for i := range out {
		if arr.IsNull(lo + i) {
			out[i] = parquet.NullValue()
			out[i].SetDefinitionLevel(def - 1)
		} else {
			out[i].SetDefinitionLevel(def)
		}
	}
}

// value converts element i of a leaf array (rep/def levels given for the
// non-null case: def is the parent's level, p.def is used when present).
func (pw *parquetWriter) value(p *wplan, arr arrow.Array, i int, rep, parentDef int) parquet.Value {
	col := p.leaf
	if arr.IsNull(i) {
		return parquet.NullValue().Level(rep, parentDef, col)
	}
	var v parquet.Value
	switch a := arr.(type) {
	case *array.Boolean:
		v = parquet.BooleanValue(a.Value(i))
	case *array.Int8:
		v = parquet.Int32Value(int32(a.Value(i)))
	case *array.Int16:
		v = parquet.Int32Value(int32(a.Value(i)))
	case *array.Int32:
		v = parquet.Int32Value(a.Value(i))
	case *array.Int64:
		v = parquet.Int64Value(a.Value(i))
	case *array.Float32:
		v = parquet.FloatValue(a.Value(i))
	case *array.Float64:
		v = parquet.DoubleValue(a.Value(i))
	case *array.String:
		data, offs := varData(a)
		v = parquet.ByteArrayValue(data[offs[i]:offs[i+1]])
	case *array.Binary:
		v = parquet.ByteArrayValue(a.Value(i))
	case *array.Date32:
		v = parquet.Int32Value(int32(a.Value(i)))
	case *array.Timestamp:
		us := int64(a.Value(i))
		switch a.DataType().(*arrow.TimestampType).Unit {
		case arrow.Second:
			us *= 1_000_000
		case arrow.Millisecond:
			us *= 1000
		case arrow.Nanosecond:
			us = pqFloorDiv(us, 1000)
		}
		v = parquet.Int64Value(us)
	case *array.Decimal128:
		d := a.Value(i)
		switch p.decPhys {
		case 32:
			v = parquet.Int32Value(int32(d.LowBits()))
		case 64:
			v = parquet.Int64Value(int64(d.LowBits()))
		default:
			v = parquet.FixedLenByteArrayValue(pw.decimalBytes(d, p.decBytes))
		}
	default:
		return parquet.NullValue().Level(rep, parentDef, col)
	}
	return v.Level(rep, p.def, col)
}

// decimalBytes renders d as big-endian two's complement of n bytes. The
// bytes live in a per-call arena (parquet values reference them).
func (pw *parquetWriter) decimalBytes(d decimal128.Num, n int) []byte {
	var buf [16]byte
	binary.BigEndian.PutUint64(buf[0:8], uint64(d.HighBits()))
	binary.BigEndian.PutUint64(buf[8:16], d.LowBits())
	out := make([]byte, n)
	copy(out, buf[16-n:])
	return out
}

// shred emits the values of slot i of arr (plan p) for every leaf below p,
// with rep the repetition level of the first value and parentDef the
// definition level of the enclosing (present) parent.
func (pw *parquetWriter) shred(p *wplan, arr arrow.Array, i int, rep, parentDef int, per map[int][]parquet.Value) {
	if arr.IsNull(i) {
		pw.emitNull(p, rep, parentDef, per)
		return
	}
	switch p.kind {
	case planLeaf:
		per[p.leaf] = append(per[p.leaf], pw.value(p, arr, i, rep, parentDef))
	case planStruct:
		s := arr.(*array.Struct)
		for j, c := range p.children {
			pw.shred(c, s.Field(j), i, rep, p.def, per)
		}
	case planList:
		var start, end int64
		var values arrow.Array
		switch a := arr.(type) {
		case *array.Map:
			start, end = a.ValueOffsets(i)
			values = a.ListValues()
		case *array.List:
			start, end = a.ValueOffsets(i)
			values = a.ListValues()
		}
		if start == end {
			pw.emitNull(p.children[0], rep, p.def, per)
			return
		}
		for j := start; j < end; j++ {
			r := p.rep
			if j == start {
				r = rep
			}
			pw.shred(p.children[0], values, int(j), r, p.elemDef, per)
		}
	}
}

// emitNull writes one absent value (at definition level def) to every leaf
// below p.
func (pw *parquetWriter) emitNull(p *wplan, rep, def int, per map[int][]parquet.Value) {
	if p.kind == planLeaf {
		per[p.leaf] = append(per[p.leaf], parquet.NullValue().Level(rep, def, p.leaf))
		return
	}
	for _, c := range p.children {
		pw.emitNull(c, rep, def, per)
	}
}

func (pw *parquetWriter) Close() error {
	if pw.closed {
		return nil
	}
	pw.closed = true
	if err := pw.w.Close(); err != nil {
		return fmt.Errorf("parquet: close: %w", err)
	}
	return nil
}

// varData returns the data buffer and the offsets (one per row plus one,
// absolute into data) of a string or binary array, honouring its offset.
func varData(a arrow.Array) ([]byte, []int32) {
	d := a.Data()
	bufs := d.Buffers()
	var data []byte
	if len(bufs) > 2 && bufs[2] != nil {
		data = bufs[2].Bytes()
	}
	offs := arrow.Int32Traits.CastFromBytes(bufs[1].Bytes())[d.Offset() : d.Offset()+d.Len()+1]
	return data, offs
}
