package avro

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Decoder appends Avro records to Arrow columns of a reader schema. Data
// written with other schemas is read through a Program compiled for each
// writer schema (Decoder.Program). A Decoder is used by one goroutine.
type Decoder struct {
	reader *Schema
	schema *arrow.Schema
	bld    *array.RecordBuilder
	self   *Program // the reader schema as the writer
	n      int
}

// NewDecoder makes a decoder whose rows have reader's (record) schema.
func NewDecoder(reader *Schema, mem memory.Allocator) (*Decoder, error) {
	sc, err := reader.ArrowSchema()
	if err != nil {
		return nil, err
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	d := &Decoder{reader: reader, schema: sc, bld: array.NewRecordBuilder(mem, sc)}
	if d.self, err = d.Program(reader); err != nil {
		d.bld.Release()
		return nil, err
	}
	return d, nil
}

// Schema is the schema of the batches.
func (d *Decoder) Schema() *arrow.Schema { return d.schema }

// Len is the number of rows appended since the last NewBatch.
func (d *Decoder) Len() int { return d.n }

// Program is a writer schema resolved against a Decoder's reader schema.
type Program struct {
	d    *Decoder
	root op
}

// op decodes one value from r into its builder (or skips it).
type op func(r *reader) error

// Program resolves writer against the reader schema (Avro's resolution
// rules); it fails if data of writer cannot be read as the reader's type.
func (d *Decoder) Program(writer *Schema) (*Program, error) {
	if writer.root.kind != kRecord {
		return nil, fmt.Errorf("%w: the writer schema's top-level type must be a record, not %s", ErrSchema, kindName(writer.root.kind))
	}
	c := &compiler{}
	root, err := c.record(writer.root, d.reader.root, nil, d.bld.Fields())
	if err != nil {
		return nil, err
	}
	return &Program{d: d, root: root}, nil
}

// Append decodes one record written with the reader schema itself.
func (d *Decoder) Append(data []byte) error { return d.self.Append(data) }

// AppendNull adds a row of NULLs.
func (d *Decoder) AppendNull() {
	for _, f := range d.bld.Fields() {
		f.AppendNull()
	}
	d.n++
}

// Append decodes one record. On error the batch so far is unusable (its
// columns may differ in length): the caller fails it.
func (p *Program) Append(data []byte) error {
	r := &reader{data: data}
	if err := p.root(r); err != nil {
		return err
	}
	if r.pos != len(data) {
		return fmt.Errorf("%w: %d bytes left after the record", ErrData, len(data)-r.pos)
	}
	p.d.n++
	return nil
}

// NewBatch returns the rows so far, owned by the caller, and starts anew.
func (d *Decoder) NewBatch() arrow.RecordBatch {
	d.n = 0
	return d.bld.NewRecordBatch()
}

// Release frees the builders.
func (d *Decoder) Release() {
	if d.bld != nil {
		d.bld.Release()
		d.bld = nil
	}
}

// reader reads Avro's binary encoding.
type reader struct {
	data  []byte
	pos   int
	depth int // nesting of records being read, bounded (recursive writer types)
}

const maxDepth = 512

func (r *reader) enter() error {
	r.depth++
	if r.depth > maxDepth {
		return r.fail(fmt.Sprintf("records nested more than %d deep", maxDepth))
	}
	return nil
}

func (r *reader) fail(what string) error {
	return fmt.Errorf("%w: %s at byte %d", ErrData, what, r.pos)
}

func (r *reader) long() (int64, error) {
	var u uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if r.pos >= len(r.data) {
			return 0, r.fail("truncated number")
		}
		b := r.data[r.pos]
		r.pos++
		u |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return int64(u>>1) ^ -int64(u&1), nil
		}
	}
	return 0, r.fail("number longer than 10 bytes")
}

func (r *reader) int() (int32, error) {
	v, err := r.long()
	if err != nil {
		return 0, err
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, r.fail("int out of range")
	}
	return int32(v), nil
}

func (r *reader) take(n int) ([]byte, error) {
	if n < 0 || n > len(r.data)-r.pos {
		return nil, r.fail(fmt.Sprintf("length %d past the end", n))
	}
	b := r.data[r.pos : r.pos+n]
	r.pos += n
	return b, nil
}

func (r *reader) bytes() ([]byte, error) {
	n, err := r.long()
	if err != nil {
		return nil, err
	}
	if n < 0 || n > int64(len(r.data)-r.pos) {
		return nil, r.fail(fmt.Sprintf("length %d past the end", n))
	}
	return r.take(int(n))
}

// blockCount reads an array or map block's count (a negative count is
// followed by the block's size in bytes). Counts are bounded by the data
// left, so a corrupt count cannot loop for long.
func (r *reader) blockCount() (int, error) {
	n, err := r.long()
	if err != nil {
		return 0, err
	}
	if n < 0 {
		if n == math.MinInt64 {
			return 0, r.fail("bad block count")
		}
		n = -n
		if _, err := r.long(); err != nil {
			return 0, err
		}
	}
	if n > int64(len(r.data)-r.pos)+1024 {
		return 0, r.fail(fmt.Sprintf("block of %d items in %d bytes", n, len(r.data)-r.pos))
	}
	return int(n), nil
}

type compiler struct {
	depth int
}

func (c *compiler) record(w, rd *node, sb *array.StructBuilder, fields []array.Builder) (op, error) {
	if rd.kind != kRecord || (w.name != rd.name && !contains(rd.aliases, w.name) && shortName(w.name) != shortName(rd.name)) {
		return nil, fmt.Errorf("%w: writer record %s cannot be read as %s", ErrSchema, w.name, describe(rd))
	}
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > 64 {
		return nil, fmt.Errorf("%w: records nested more than 64 levels deep", ErrSchema)
	}
	used := make([]bool, len(rd.fields))
	ops := make([]op, 0, len(w.fields)+len(rd.fields))
	for _, wf := range w.fields {
		j := -1
		for k, rf := range rd.fields {
			if rf.name == wf.name || contains(rf.aliases, wf.name) {
				j = k
				break
			}
		}
		if j < 0 {
			s, err := c.skip(wf.typ)
			if err != nil {
				return nil, err
			}
			ops = append(ops, s)
			continue
		}
		used[j] = true
		o, err := c.value(wf.typ, rd.fields[j].typ, fields[j])
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", wf.name, err)
		}
		ops = append(ops, o)
	}
	for j, rf := range rd.fields {
		if used[j] {
			continue
		}
		o, err := defaultOp(rf, fields[j])
		if err != nil {
			return nil, err
		}
		ops = append(ops, o)
	}
	return func(r *reader) error {
		if err := r.enter(); err != nil {
			return err
		}
		defer func() { r.depth-- }()
		if sb != nil {
			sb.Append(true)
		}
		for _, o := range ops {
			if err := o(r); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s || shortName(x) == s {
			return true
		}
	}
	return false
}

func shortName(s string) string {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return s[i+1:]
		}
	}
	return s
}

func describe(n *node) string {
	if n.name != "" {
		return kindName(n.kind) + " " + n.name
	}
	return kindName(n.kind)
}

// defaultOp fills a reader field the writer does not have: its default
// when that is a plain value that fits the column (a string, number or
// boolean), NULL otherwise (null, absent, or a record/array default).
func defaultOp(f *field, b array.Builder) (op, error) {
	text := ""
	switch v := f.def.(type) {
	case string:
		text = v
	case bool:
		text = fmt.Sprint(v)
	case json.Number:
		text = v.String()
	}
	if f.hasDef && f.def != nil && text != "" {
		probe := array.NewBuilder(memory.DefaultAllocator, b.Type())
		err := probe.AppendValueFromString(text)
		probe.Release()
		if err == nil {
			return func(*reader) error { return b.AppendValueFromString(text) }, nil
		}
	}
	return func(*reader) error { b.AppendNull(); return nil }, nil
}

// value compiles reading writer type w into builder b of reader type rd.
func (c *compiler) value(w, rd *node, b array.Builder) (op, error) {
	if w.kind == kUnion {
		branches := make([]op, len(w.branches))
		for i, wb := range w.branches {
			o, err := c.value(wb, rd, b)
			if err != nil {
				// A branch the reader cannot take fails only when used.
				msg := err
				o = func(r *reader) error { return fmt.Errorf("%w: union branch %d: %v", ErrData, i, msg) }
			}
			branches[i] = o
		}
		return func(r *reader) error {
			i, err := r.long()
			if err != nil {
				return err
			}
			if i < 0 || i >= int64(len(branches)) {
				return r.fail(fmt.Sprintf("union branch %d of %d", i, len(branches)))
			}
			return branches[i](r)
		}, nil
	}
	if rd.kind == kUnion {
		if w.kind == kNull {
			return func(*reader) error { b.AppendNull(); return nil }, nil
		}
		nn, err := nonNull(rd)
		if err != nil {
			return nil, err
		}
		rd = nn
	}
	if w.kind == kNull {
		if rd.kind != kNull {
			return nil, fmt.Errorf("%w: null cannot be read as %s", ErrSchema, describe(rd))
		}
		return func(*reader) error { b.AppendNull(); return nil }, nil
	}
	mismatch := func() error {
		return fmt.Errorf("%w: %s cannot be read as %s", ErrSchema, describe(w), describe(rd))
	}
	switch rd.kind {
	case kNull:
		return nil, mismatch()
	case kBoolean:
		if w.kind != kBoolean {
			return nil, mismatch()
		}
		bb := b.(*array.BooleanBuilder)
		return func(r *reader) error {
			v, err := r.take(1)
			if err != nil {
				return err
			}
			if v[0] > 1 {
				return r.fail("boolean byte is not 0 or 1")
			}
			bb.Append(v[0] == 1)
			return nil
		}, nil
	case kInt:
		if w.kind != kInt {
			return nil, mismatch()
		}
		if rd.logical == "date" {
			db := b.(*array.Date32Builder)
			return func(r *reader) error {
				v, err := r.int()
				db.Append(arrow.Date32(v))
				return err
			}, nil
		}
		ib := b.(*array.Int32Builder)
		return func(r *reader) error {
			v, err := r.int()
			ib.Append(v)
			return err
		}, nil
	case kLong:
		if w.kind != kInt && w.kind != kLong {
			return nil, mismatch()
		}
		read := func(r *reader) (int64, error) { return r.long() }
		if w.kind == kInt {
			read = func(r *reader) (int64, error) { v, err := r.int(); return int64(v), err }
		}
		if tb, ok := b.(*array.TimestampBuilder); ok {
			unit := rd.logical
			if w.logical != "" {
				unit = w.logical // the writer knows what its numbers mean
			}
			mul, div := int64(1), int64(1)
			switch unit {
			case "timestamp-millis", "local-timestamp-millis":
				mul = 1000
			case "timestamp-nanos", "local-timestamp-nanos":
				div = 1000
			}
			return func(r *reader) error {
				v, err := read(r)
				if div > 1 {
					v = floorDiv(v, div)
				}
				tb.Append(arrow.Timestamp(v * mul))
				return err
			}, nil
		}
		lb := b.(*array.Int64Builder)
		return func(r *reader) error {
			v, err := read(r)
			lb.Append(v)
			return err
		}, nil
	case kFloat:
		fb := b.(*array.Float32Builder)
		switch w.kind {
		case kFloat:
			return func(r *reader) error {
				v, err := r.take(4)
				if err != nil {
					return err
				}
				fb.Append(math.Float32frombits(binary.LittleEndian.Uint32(v)))
				return nil
			}, nil
		case kInt, kLong:
			return func(r *reader) error { v, err := r.long(); fb.Append(float32(v)); return err }, nil
		}
		return nil, mismatch()
	case kDouble:
		db := b.(*array.Float64Builder)
		switch w.kind {
		case kDouble:
			return func(r *reader) error {
				v, err := r.take(8)
				if err != nil {
					return err
				}
				db.Append(math.Float64frombits(binary.LittleEndian.Uint64(v)))
				return nil
			}, nil
		case kFloat:
			return func(r *reader) error {
				v, err := r.take(4)
				if err != nil {
					return err
				}
				db.Append(float64(math.Float32frombits(binary.LittleEndian.Uint32(v))))
				return nil
			}, nil
		case kInt, kLong:
			return func(r *reader) error { v, err := r.long(); db.Append(float64(v)); return err }, nil
		}
		return nil, mismatch()
	case kString:
		if w.kind != kString && w.kind != kBytes {
			return nil, mismatch()
		}
		sb := b.(*array.StringBuilder)
		return func(r *reader) error {
			v, err := r.bytes()
			if err != nil {
				return err
			}
			if !utf8.Valid(v) {
				return r.fail("string is not valid UTF-8")
			}
			sb.BinaryBuilder.Append(v)
			return nil
		}, nil
	case kEnum:
		if w.kind != kEnum {
			return nil, mismatch()
		}
		// The writer's index names a writer symbol; the reader must know it.
		syms := make([]string, len(w.symbols))
		bad := make([]bool, len(w.symbols))
		for i, s := range w.symbols {
			syms[i] = s
			if !contains(rd.symbols, s) {
				if rd.enumDef == "" {
					bad[i] = true
				}
				syms[i] = rd.enumDef
			}
		}
		sb := b.(*array.StringBuilder)
		return func(r *reader) error {
			i, err := r.long()
			if err != nil {
				return err
			}
			if i < 0 || i >= int64(len(syms)) {
				return r.fail(fmt.Sprintf("enum index %d of %d", i, len(syms)))
			}
			if bad[i] {
				return r.fail(fmt.Sprintf("enum symbol %s is not in the reader's enum %s", w.symbols[i], rd.name))
			}
			sb.Append(syms[i])
			return nil
		}, nil
	case kBytes, kFixed:
		var read func(r *reader) ([]byte, error)
		switch {
		case w.kind == kFixed && (rd.kind == kFixed || rd.logical == "decimal" || rd.kind == kBytes):
			if rd.kind == kFixed && rd.size != w.size {
				return nil, mismatch()
			}
			size := w.size
			read = func(r *reader) ([]byte, error) { return r.take(size) }
		case w.kind == kBytes || w.kind == kString:
			if rd.kind == kFixed {
				return nil, mismatch()
			}
			read = (*reader).bytes
		default:
			return nil, mismatch()
		}
		if db, ok := b.(*array.Decimal128Builder); ok {
			if w.logical == "decimal" && w.scale != rd.scale {
				return nil, fmt.Errorf("%w: decimal scale %d cannot be read as scale %d", ErrSchema, w.scale, rd.scale)
			}
			return func(r *reader) error {
				v, err := read(r)
				if err != nil {
					return err
				}
				d, ok := decimalFromTwos(v, rd.prec)
				if !ok {
					return r.fail(fmt.Sprintf("decimal does not fit precision %d", rd.prec))
				}
				db.Append(d)
				return nil
			}, nil
		}
		bb := b.(*array.BinaryBuilder)
		return func(r *reader) error {
			v, err := read(r)
			if err != nil {
				return err
			}
			bb.Append(v)
			return nil
		}, nil
	case kRecord:
		if w.kind != kRecord {
			return nil, mismatch()
		}
		sb := b.(*array.StructBuilder)
		fields := make([]array.Builder, sb.NumField())
		for i := range fields {
			fields[i] = sb.FieldBuilder(i)
		}
		return c.record(w, rd, sb, fields)
	case kArray:
		if w.kind != kArray {
			return nil, mismatch()
		}
		lb := b.(*array.ListBuilder)
		item, err := c.value(w.items, rd.items, lb.ValueBuilder())
		if err != nil {
			return nil, err
		}
		return func(r *reader) error {
			lb.Append(true)
			return blocks(r, item)
		}, nil
	case kMap:
		if w.kind != kMap {
			return nil, mismatch()
		}
		mb := b.(*array.MapBuilder)
		kb := mb.KeyBuilder().(*array.StringBuilder)
		val, err := c.value(w.values, rd.values, mb.ItemBuilder())
		if err != nil {
			return nil, err
		}
		return func(r *reader) error {
			mb.Append(true)
			return blocks(r, func(r *reader) error {
				k, err := r.bytes()
				if err != nil {
					return err
				}
				if !utf8.Valid(k) {
					return r.fail("map key is not valid UTF-8")
				}
				kb.BinaryBuilder.Append(k)
				return val(r)
			})
		}, nil
	}
	return nil, mismatch()
}

// blocks reads an array's or map's blocks, calling item per element.
func blocks(r *reader, item op) error {
	for {
		n, err := r.blockCount()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		for i := 0; i < n; i++ {
			if err := item(r); err != nil {
				return err
			}
		}
	}
}

// skip compiles reading past a writer value the reader does not want.
func (c *compiler) skip(w *node) (op, error) {
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > 64 {
		return nil, fmt.Errorf("%w: types nested more than 64 levels deep", ErrSchema)
	}
	switch w.kind {
	case kNull:
		return func(*reader) error { return nil }, nil
	case kBoolean:
		return func(r *reader) error { _, err := r.take(1); return err }, nil
	case kInt, kLong, kEnum:
		return func(r *reader) error { _, err := r.long(); return err }, nil
	case kFloat:
		return func(r *reader) error { _, err := r.take(4); return err }, nil
	case kDouble:
		return func(r *reader) error { _, err := r.take(8); return err }, nil
	case kBytes, kString:
		return func(r *reader) error { _, err := r.bytes(); return err }, nil
	case kFixed:
		size := w.size
		return func(r *reader) error { _, err := r.take(size); return err }, nil
	case kArray:
		item, err := c.skip(w.items)
		if err != nil {
			return nil, err
		}
		return func(r *reader) error { return blocks(r, item) }, nil
	case kMap:
		val, err := c.skip(w.values)
		if err != nil {
			return nil, err
		}
		return func(r *reader) error {
			return blocks(r, func(r *reader) error {
				if _, err := r.bytes(); err != nil {
					return err
				}
				return val(r)
			})
		}, nil
	case kUnion:
		branches := make([]op, len(w.branches))
		for i, b := range w.branches {
			o, err := c.skip(b)
			if err != nil {
				return nil, err
			}
			branches[i] = o
		}
		return func(r *reader) error {
			i, err := r.long()
			if err != nil {
				return err
			}
			if i < 0 || i >= int64(len(branches)) {
				return r.fail(fmt.Sprintf("union branch %d of %d", i, len(branches)))
			}
			return branches[i](r)
		}, nil
	case kRecord:
		// Recursive records are compiled lazily, one level at a time.
		var ops []op
		var once bool
		var cerr error
		build := func() {
			for _, f := range w.fields {
				o, err := c.skip(f.typ)
				if err != nil {
					cerr = err
					return
				}
				ops = append(ops, o)
			}
		}
		if c.depth < 32 {
			build()
			once = true
			if cerr != nil {
				return nil, cerr
			}
		}
		return func(r *reader) error {
			if !once {
				once = true
				build()
			}
			if cerr != nil {
				return cerr
			}
			if err := r.enter(); err != nil {
				return err
			}
			defer func() { r.depth-- }()
			for _, o := range ops {
				if err := o(r); err != nil {
					return err
				}
			}
			return nil
		}, nil
	}
	return nil, fmt.Errorf("%w: cannot skip %s", ErrSchema, describe(w))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// decimalFromTwos reads a big-endian two's complement unscaled value.
func decimalFromTwos(b []byte, prec int) (decimal128.Num, bool) {
	if len(b) == 0 {
		return decimal128.Num{}, true
	}
	if len(b) <= 16 {
		var buf [16]byte
		fill := byte(0)
		if b[0]&0x80 != 0 {
			fill = 0xff
		}
		for i := 0; i < 16-len(b); i++ {
			buf[i] = fill
		}
		copy(buf[16-len(b):], b)
		hi := int64(binary.BigEndian.Uint64(buf[:8]))
		lo := binary.BigEndian.Uint64(buf[8:])
		n := decimal128.New(hi, lo)
		return n, n.FitsInPrecision(int32(prec))
	}
	v := new(big.Int).SetBytes(b)
	if b[0]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	n := decimal128.FromBigInt(v)
	return n, n.BigInt().Cmp(v) == 0 && n.FitsInPrecision(int32(prec))
}
