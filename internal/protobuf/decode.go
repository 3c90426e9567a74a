package protobuf

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Decoder appends wire-format messages of one message type to Arrow
// columns. Fields are matched by number, so data written with an older or
// newer compatible version of the message decodes too (unknown fields are
// skipped, missing ones defaulted). A Decoder is used by one goroutine.
type Decoder struct {
	msg    *Message
	schema *arrow.Schema
	bld    *array.RecordBuilder
	root   *plan
	frames []*frame // scratch per nesting depth
	n      int
	// reserve is the previous batch's row count, and bins/binBytes its
	// string and binary builders with their data sizes, reserved at the
	// first row of the next batch so the builders do not grow step by step.
	reserve  int
	bins     []*array.BinaryBuilder
	binBytes []int
}

// NewDecoder makes a decoder whose rows are messages m.
func NewDecoder(m *Message, mem memory.Allocator) (*Decoder, error) {
	sc, err := m.ArrowSchema()
	if err != nil {
		return nil, err
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	d := &Decoder{msg: m, schema: sc, bld: array.NewRecordBuilder(mem, sc)}
	d.root = build(m, d.bld.Fields())
	for _, f := range d.root.fields {
		switch {
		case f.val.str != nil:
			d.bins = append(d.bins, f.val.str.BinaryBuilder)
		case f.val.bin != nil:
			d.bins = append(d.bins, f.val.bin)
		}
	}
	d.binBytes = make([]int, len(d.bins))
	return d, nil
}

// Message is the decoder's message type.
func (d *Decoder) Message() *Message { return d.msg }

// Schema is the schema of the batches.
func (d *Decoder) Schema() *arrow.Schema { return d.schema }

// Len is the number of rows appended since the last NewBatch.
func (d *Decoder) Len() int { return d.n }

// Append decodes one message. On error the batch so far is unusable (its
// columns may be uneven): the caller fails it.
func (d *Decoder) Append(data []byte) error {
	if d.n == 0 && d.reserve > 0 {
		d.bld.Reserve(d.reserve)
		for i, b := range d.bins {
			b.ReserveData(d.binBytes[i])
		}
	}
	if err := d.message(d.root, data, 0); err != nil {
		return err
	}
	d.n++
	return nil
}

// AppendNull adds a row of NULLs.
func (d *Decoder) AppendNull() {
	for _, f := range d.bld.Fields() {
		f.AppendNull()
	}
	d.n++
}

// NewBatch returns the rows so far, owned by the caller, and starts anew.
func (d *Decoder) NewBatch() arrow.RecordBatch {
	d.reserve, d.n = d.n, 0
	for i, b := range d.bins {
		d.binBytes[i] = b.DataLen()
	}
	return d.bld.NewRecordBatch()
}

// Release frees the builders.
func (d *Decoder) Release() { d.bld.Release() }

// plan is a message type bound to the builders of its fields.
type plan struct {
	m      *Message
	fields []fplan
	dense  []int32 // field number -> index+1 (0: unknown), numbers < len
	sparse map[int32]int32
}

// fplan is one field: where its values go.
type fplan struct {
	f      *Field
	wire   int // wire type of one value
	packed bool
	val    sink // the value (singular), the element (repeated)
	lb     *array.ListBuilder
	mb     *array.MapBuilder
	entry  *plan // map entries
}

// sink appends values of one kind to one builder.
type sink struct {
	kind kind
	ts   bool // google.protobuf.Timestamp
	b    array.Builder
	i32  *array.Int32Builder
	i64  *array.Int64Builder
	f32  *array.Float32Builder
	f64  *array.Float64Builder
	bl   *array.BooleanBuilder
	str  *array.StringBuilder
	bin  *array.BinaryBuilder
	tsb  *array.TimestampBuilder
	st   *array.StructBuilder
	sub  *plan
	enum *Enum
}

func build(m *Message, bs []array.Builder) *plan {
	p := &plan{m: m, fields: make([]fplan, len(m.Fields))}
	maxNum := int32(0)
	for _, f := range m.Fields {
		maxNum = max(maxNum, f.Number)
	}
	if maxNum < 1024 {
		p.dense = make([]int32, maxNum+1)
	} else {
		p.sparse = map[int32]int32{}
	}
	for i, f := range m.Fields {
		fp := &p.fields[i]
		fp.f, fp.wire = f, wireOf(f.kind)
		switch {
		case f.kind == kMap:
			fp.mb = bs[i].(*array.MapBuilder)
			fp.entry = build(f.msg, []array.Builder{fp.mb.KeyBuilder(), fp.mb.ItemBuilder()})
		case f.Repeated:
			fp.lb = bs[i].(*array.ListBuilder)
			fp.val = newSink(f, fp.lb.ValueBuilder())
			fp.packed = fp.wire != wLen
		default:
			fp.val = newSink(f, bs[i])
		}
		if p.dense != nil {
			p.dense[f.Number] = int32(i + 1)
		} else {
			p.sparse[f.Number] = int32(i + 1)
		}
	}
	return p
}

func newSink(f *Field, b array.Builder) sink {
	s := sink{kind: f.kind, b: b, enum: f.enum}
	switch b := b.(type) {
	case *array.Int32Builder:
		s.i32 = b
	case *array.Int64Builder:
		s.i64 = b
	case *array.Float32Builder:
		s.f32 = b
	case *array.Float64Builder:
		s.f64 = b
	case *array.BooleanBuilder:
		s.bl = b
	case *array.StringBuilder:
		s.str = b
	case *array.BinaryBuilder:
		s.bin = b
	case *array.TimestampBuilder:
		s.tsb, s.ts = b, true
	case *array.StructBuilder:
		s.st = b
		fs := make([]array.Builder, b.NumField())
		for i := range fs {
			fs[i] = b.FieldBuilder(i)
		}
		s.sub = build(f.msg, fs)
	}
	return s
}

func (p *plan) index(num int32) int {
	if p.dense != nil {
		if num < int32(len(p.dense)) {
			return int(p.dense[num]) - 1
		}
		return -1
	}
	return int(p.sparse[num]) - 1
}

// occ is one occurrence of a known field in a message's bytes.
type occ struct {
	field  int32
	wire   uint8
	v      uint64 // varint, fixed32 or fixed64 value
	lo, hi int    // length-delimited value
}

// frame is the scratch of one nesting depth.
type frame struct {
	occ         []occ
	next        []int32 // next occurrence of the same field, -1 none
	first, last []int32 // per field, -1 none
	winners     []int32 // per oneof: the field set last, -1 none
	merge       []byte
}

func (d *Decoder) frame(depth int) *frame {
	for len(d.frames) <= depth {
		d.frames = append(d.frames, &frame{})
	}
	return d.frames[depth]
}

func dataErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrData, fmt.Sprintf(format, args...))
}

// scan lists the occurrences of p's fields in data, skipping unknown
// fields and values whose wire type does not fit their field (as protobuf
// parsers treat them: unknown).
func (d *Decoder) scan(p *plan, data []byte, fr *frame) error {
	fr.occ, fr.next = fr.occ[:0], fr.next[:0]
	fr.first, fr.last = fr.first[:0], fr.last[:0]
	for range p.fields {
		fr.first = append(fr.first, -1)
		fr.last = append(fr.last, -1)
	}
	pos := 0
	for pos < len(data) {
		tag, n := binary.Uvarint(data[pos:])
		if n <= 0 {
			return dataErr("message %s: bad field tag at byte %d", p.m.FullName, pos)
		}
		pos += n
		num, wire := tag>>3, uint8(tag&7)
		if num == 0 || num > 1<<29-1 {
			return dataErr("message %s: field number %d at byte %d is invalid", p.m.FullName, num, pos-n)
		}
		o := occ{wire: wire}
		switch wire {
		case wVarint:
			v, n := binary.Uvarint(data[pos:])
			if n <= 0 {
				return dataErr("message %s: field %d: bad varint at byte %d", p.m.FullName, num, pos)
			}
			o.v, pos = v, pos+n
		case wI64:
			if len(data)-pos < 8 {
				return dataErr("message %s: field %d: truncated 8-byte value", p.m.FullName, num)
			}
			o.v, pos = binary.LittleEndian.Uint64(data[pos:]), pos+8
		case wI32:
			if len(data)-pos < 4 {
				return dataErr("message %s: field %d: truncated 4-byte value", p.m.FullName, num)
			}
			o.v, pos = uint64(binary.LittleEndian.Uint32(data[pos:])), pos+4
		case wLen:
			l, n := binary.Uvarint(data[pos:])
			if n <= 0 || l > uint64(len(data)-pos-n) {
				return dataErr("message %s: field %d: length at byte %d runs past the end of the message", p.m.FullName, num, pos)
			}
			o.lo = pos + n
			o.hi = o.lo + int(l)
			pos = o.hi
		case wSGroup:
			end, err := skipGroup(data, pos, num, 0)
			if err != nil {
				return fmt.Errorf("message %s: %w", p.m.FullName, err)
			}
			pos = end
			continue // groups are never a known field here
		default:
			return dataErr("message %s: field %d has wire type %d", p.m.FullName, num, wire)
		}
		fi := p.index(int32(num))
		if fi < 0 {
			continue
		}
		fp := &p.fields[fi]
		if int(wire) != fp.wire && !(fp.packed && wire == wLen) {
			continue
		}
		o.field = int32(fi)
		k := int32(len(fr.occ))
		fr.occ = append(fr.occ, o)
		fr.next = append(fr.next, -1)
		if fr.first[fi] < 0 {
			fr.first[fi] = k
		} else {
			fr.next[fr.last[fi]] = k
		}
		fr.last[fi] = k
	}
	return nil
}

// skipGroup skips a (deprecated) group up to its end tag.
func skipGroup(data []byte, pos int, num uint64, depth int) (int, error) {
	if depth > maxNesting {
		return 0, dataErr("groups nested too deeply")
	}
	for pos < len(data) {
		tag, n := binary.Uvarint(data[pos:])
		if n <= 0 {
			return 0, dataErr("bad tag in group %d", num)
		}
		pos += n
		switch tag & 7 {
		case wVarint:
			_, n := binary.Uvarint(data[pos:])
			if n <= 0 {
				return 0, dataErr("bad varint in group %d", num)
			}
			pos += n
		case wI64:
			pos += 8
		case wI32:
			pos += 4
		case wLen:
			l, n := binary.Uvarint(data[pos:])
			if n <= 0 || l > uint64(len(data)-pos-n) {
				return 0, dataErr("bad length in group %d", num)
			}
			pos += n + int(l)
		case wSGroup:
			end, err := skipGroup(data, pos, tag>>3, depth+1)
			if err != nil {
				return 0, err
			}
			pos = end
		case wEGroup:
			if tag>>3 != num {
				return 0, dataErr("group %d ends with the end tag of %d", num, tag>>3)
			}
			return pos, nil
		default:
			return 0, dataErr("bad wire type in group %d", num)
		}
		if pos > len(data) {
			break
		}
	}
	return 0, dataErr("group %d is not closed", num)
}

// message decodes data as p's message into p's builders: one value per
// field.
func (d *Decoder) message(p *plan, data []byte, depth int) error {
	fr := d.frame(depth)
	if err := d.scan(p, data, fr); err != nil {
		return err
	}
	// The member of each oneof seen last wins; the others are NULL.
	winners := fr.winners[:0]
	if len(p.m.Oneofs) > 0 {
		for range p.m.Oneofs {
			winners = append(winners, -1)
		}
		fr.winners = winners
		for i, fp := range p.fields {
			if o := fp.f.Oneof; o >= 0 && fr.last[i] >= 0 && (winners[o] < 0 || fr.last[i] > fr.last[winners[o]]) {
				winners[o] = int32(i)
			}
		}
	}
	for i := range p.fields {
		fp := &p.fields[i]
		f := fp.f
		switch {
		case f.kind == kMap:
			fp.mb.Append(true)
			for k := fr.first[i]; k >= 0; k = fr.next[k] {
				o := fr.occ[k]
				if err := d.message(fp.entry, data[o.lo:o.hi], depth+1); err != nil {
					return err
				}
			}
		case f.Repeated:
			fp.lb.Append(true)
			for k := fr.first[i]; k >= 0; k = fr.next[k] {
				o := fr.occ[k]
				if fp.packed && o.wire == wLen {
					if err := d.packed(fp, data[o.lo:o.hi]); err != nil {
						return err
					}
					continue
				}
				if err := d.value(&fp.val, o, data, depth); err != nil {
					return err
				}
			}
		case fr.last[i] < 0 || f.Oneof >= 0 && winners[f.Oneof] != int32(i):
			if f.Presence || f.kind == kMessage {
				fp.val.b.AppendNull()
			} else {
				fp.val.zero()
			}
		case f.kind == kMessage && fr.first[i] != fr.last[i]:
			// A message field given several times merges: parsing the
			// concatenation of its encodings is exactly that.
			fr.merge = fr.merge[:0]
			for k := fr.first[i]; k >= 0; k = fr.next[k] {
				fr.merge = append(fr.merge, data[fr.occ[k].lo:fr.occ[k].hi]...)
			}
			if err := d.value(&fp.val, occ{wire: wLen, hi: len(fr.merge)}, fr.merge, depth); err != nil {
				return err
			}
		default:
			if err := d.value(&fp.val, fr.occ[fr.last[i]], data, depth); err != nil {
				return err
			}
		}
	}
	return nil
}

// packed appends the elements of a packed repeated scalar field.
func (d *Decoder) packed(fp *fplan, b []byte) error {
	for pos := 0; pos < len(b); {
		o := occ{wire: uint8(fp.wire)}
		switch fp.wire {
		case wVarint:
			v, n := binary.Uvarint(b[pos:])
			if n <= 0 {
				return dataErr("field %s: bad varint in packed values", fp.f.Name)
			}
			o.v, pos = v, pos+n
		case wI64:
			if len(b)-pos < 8 {
				return dataErr("field %s: packed values are not a multiple of 8 bytes", fp.f.Name)
			}
			o.v, pos = binary.LittleEndian.Uint64(b[pos:]), pos+8
		case wI32:
			if len(b)-pos < 4 {
				return dataErr("field %s: packed values are not a multiple of 4 bytes", fp.f.Name)
			}
			o.v, pos = uint64(binary.LittleEndian.Uint32(b[pos:])), pos+4
		}
		if err := d.value(&fp.val, o, nil, 0); err != nil {
			return err
		}
	}
	return nil
}

// value appends one occurrence's value.
func (d *Decoder) value(s *sink, o occ, data []byte, depth int) error {
	v := o.v
	switch s.kind {
	case kDouble:
		s.f64.Append(math.Float64frombits(v))
	case kFloat:
		s.f32.Append(math.Float32frombits(uint32(v)))
	case kInt32, kSfixed32:
		s.i32.Append(int32(v))
	case kSint32:
		u := uint32(v)
		s.i32.Append(int32(u>>1) ^ -int32(u&1))
	case kInt64, kSfixed64, kUint64, kFixed64:
		s.i64.Append(int64(v))
	case kSint64:
		s.i64.Append(int64(v>>1) ^ -int64(v&1))
	case kUint32, kFixed32:
		s.i64.Append(int64(uint32(v)))
	case kBool:
		s.bl.Append(v != 0)
	case kEnum:
		n := int32(v)
		if name, ok := s.enum.byNumber[n]; ok {
			s.str.Append(name)
		} else {
			s.str.Append(strconv.FormatInt(int64(n), 10)) // a value added after this schema
		}
	case kString:
		b := data[o.lo:o.hi]
		if !utf8.Valid(b) {
			return dataErr("a string field holds invalid UTF-8")
		}
		s.str.BinaryBuilder.Append(b)
	case kBytes:
		s.bin.Append(data[o.lo:o.hi])
	case kMessage:
		b := data[o.lo:o.hi]
		if s.ts {
			return appendTimestamp(s.tsb, b)
		}
		if depth+1 > maxNesting {
			return dataErr("messages nested too deeply")
		}
		s.st.Append(true)
		return d.message(s.sub, b, depth+1)
	}
	return nil
}

// zero appends the default of a field without presence.
func (s *sink) zero() {
	switch s.kind {
	case kDouble:
		s.f64.Append(0)
	case kFloat:
		s.f32.Append(0)
	case kInt32, kSint32, kSfixed32:
		s.i32.Append(0)
	case kInt64, kSint64, kSfixed64, kUint32, kFixed32, kUint64, kFixed64:
		s.i64.Append(0)
	case kBool:
		s.bl.Append(false)
	case kEnum:
		if name, ok := s.enum.byNumber[0]; ok {
			s.str.Append(name)
		} else {
			s.str.Append(s.enum.Values[0].Name)
		}
	case kString:
		s.str.Append("")
	case kBytes:
		s.bin.Append([]byte{})
	default:
		s.b.AppendNull()
	}
}

// appendTimestamp reads google.protobuf.Timestamp {seconds, nanos} as
// microseconds since the epoch.
func appendTimestamp(b *array.TimestampBuilder, data []byte) error {
	var sec, nanos int64
	for pos := 0; pos < len(data); {
		tag, n := binary.Uvarint(data[pos:])
		if n <= 0 {
			return dataErr("google.protobuf.Timestamp: bad field tag")
		}
		pos += n
		var v uint64
		switch tag & 7 {
		case wVarint:
			v, n = binary.Uvarint(data[pos:])
			if n <= 0 {
				return dataErr("google.protobuf.Timestamp: bad varint")
			}
			pos += n
		case wI64:
			pos += 8
		case wI32:
			pos += 4
		case wLen:
			l, n := binary.Uvarint(data[pos:])
			if n <= 0 || l > uint64(len(data)-pos-n) {
				return dataErr("google.protobuf.Timestamp: bad length")
			}
			pos += n + int(l)
		default:
			return dataErr("google.protobuf.Timestamp: wire type %d", tag&7)
		}
		if pos > len(data) {
			return dataErr("google.protobuf.Timestamp: truncated")
		}
		switch {
		case tag == 1<<3|wVarint:
			sec = int64(v)
		case tag == 2<<3|wVarint:
			nanos = int64(int32(v))
		}
	}
	b.Append(arrow.Timestamp(sec*1_000_000 + nanos/1000))
	return nil
}
