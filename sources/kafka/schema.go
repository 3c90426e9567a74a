package kafka

import (
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/sources"
)

// HeadersType is the headers column's type, as in Spark:
// array<struct<key:string,value:binary>>.
var HeadersType = arrow.ListOf(arrow.StructOf(
	arrow.Field{Name: "key", Type: expr.String, Nullable: true},
	arrow.Field{Name: "value", Type: expr.Binary, Nullable: true},
))

// Column positions in every schema.
const (
	colKey = iota
	colValue
	colTopic
	colPartition
	colOffset
	colTimestamp
	colTimestampType
	colHeaders
)

// NewSchema is the source's schema: Spark's key, value, topic, partition,
// offset, timestamp, timestampType, plus headers when includeHeaders. A
// non-nil valueSchema (valueFormat json) makes value a struct of it.
func NewSchema(valueSchema *arrow.Schema, includeHeaders bool) *arrow.Schema {
	var vt arrow.DataType = expr.Binary
	if valueSchema != nil {
		vt = arrow.StructOf(valueSchema.Fields()...)
	}
	fs := []arrow.Field{
		{Name: "key", Type: expr.Binary, Nullable: true},
		{Name: "value", Type: vt, Nullable: true},
		{Name: "topic", Type: expr.String, Nullable: true},
		{Name: "partition", Type: expr.Int32, Nullable: true},
		{Name: "offset", Type: expr.Int64, Nullable: true},
		{Name: "timestamp", Type: expr.Timestamp, Nullable: true},
		{Name: "timestampType", Type: expr.Int32, Nullable: true},
	}
	if includeHeaders {
		fs = append(fs, arrow.Field{Name: "headers", Type: HeadersType, Nullable: true})
	}
	return arrow.NewSchema(fs, nil)
}

// batchBuilder turns fetched records into Arrow columns.
type batchBuilder struct {
	schema *arrow.Schema
	mem    memory.Allocator
	key    *bytesCol
	value  *bytesCol    // binary values
	dec    valueDecoder // decoded values (valueFormat json, avro)
	nulls  []bool       // decoded values: the value was NULL (tombstone)
	topic  *bytesCol
	part   *fixedCol
	off    *fixedCol
	ts     *fixedCol
	tsType *fixedCol
	hdr    *array.ListBuilder
	hdrS   *array.StructBuilder
	hdrK   *array.StringBuilder
	hdrV   *array.BinaryBuilder
	n      int
	// scratch for raw parsing
	headers []kgo.RecordHeader
	aborts  map[int64][]int64
}

func newBatchBuilder(schema *arrow.Schema, newDec func(memory.Allocator) (valueDecoder, error), mem memory.Allocator) (*batchBuilder, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	b := &batchBuilder{schema: schema, mem: mem}
	if newDec != nil {
		dec, err := newDec(mem)
		if err != nil {
			return nil, err
		}
		b.dec = dec
	} else {
		b.value = newBytesCol(mem, expr.Binary)
	}
	b.key = newBytesCol(mem, expr.Binary)
	b.topic = newBytesCol(mem, expr.String)
	b.part = newFixedCol(mem, expr.Int32, 4)
	b.off = newFixedCol(mem, expr.Int64, 8)
	b.ts = newFixedCol(mem, expr.Timestamp, 8)
	b.tsType = newFixedCol(mem, expr.Int32, 4)
	if schema.NumFields() > colHeaders {
		b.hdr = array.NewListBuilder(mem, HeadersType.Elem())
		b.hdrS = b.hdr.ValueBuilder().(*array.StructBuilder)
		b.hdrK = b.hdrS.FieldBuilder(0).(*array.StringBuilder)
		b.hdrV = b.hdrS.FieldBuilder(1).(*array.BinaryBuilder)
	}
	return b, nil
}

// reserve makes room for about rows more records of bytes bytes.
func (b *batchBuilder) reserve(rows, bytes int, topic string) {
	b.key.reserve(rows, 0)
	if b.value != nil {
		b.value.reserve(rows, bytes)
	}
	b.topic.reserve(rows, rows*len(topic))
	b.part.reserve(rows)
	b.off.reserve(rows)
	b.ts.reserve(rows)
	b.tsType.reserve(rows)
}

// add appends the records with offsets below until (the kgo path, for
// old message formats). JSON values that decode to several rows (a JSON
// array) repeat the record's columns; values dropped by mode DROPMALFORMED
// drop the record.
func (b *batchBuilder) add(recs []*kgo.Record, until int64) error {
	for _, r := range recs {
		if r.Offset >= until {
			break
		}
		if err := b.row(r.Key, r.Value, r.Topic, r.Partition, r.Offset, r.Timestamp.UnixMilli(), int32(r.Attrs.TimestampType()), r.Headers); err != nil {
			return err
		}
	}
	return nil
}

// row appends one record (several rows for a JSON array value).
func (b *batchBuilder) row(key, value []byte, topic string, part int32, off, tsMs int64, tsType int32, hdrs []kgo.RecordHeader) error {
	rows := 1
	if b.dec != nil {
		before := b.dec.Len()
		if err := b.dec.Append(value); err != nil {
			return fmt.Errorf("%w: kafka source: %s-%d offset %d: %w", sources.ErrSource, topic, part, off, err)
		}
		rows = b.dec.Len() - before
		for k := 0; k < rows; k++ {
			b.nulls = append(b.nulls, value == nil)
		}
	}
	for k := 0; k < rows; k++ {
		b.key.append(key, key == nil)
		if b.value != nil {
			b.value.append(value, value == nil)
		}
		b.topic.append(unsafeBytes(topic), false)
		b.part.append32(part)
		b.off.append64(off)
		b.ts.append64(tsMs * 1000)
		b.tsType.append32(tsType)
		if b.hdr != nil {
			b.hdr.Append(true)
			for _, h := range hdrs {
				b.hdrS.Append(true)
				b.hdrK.Append(h.Key)
				if h.Value == nil {
					b.hdrV.AppendNull()
				} else {
					b.hdrV.Append(h.Value)
				}
			}
		}
		b.n++
	}
	return nil
}

// finish returns the rows so far as a batch (nil if none) and resets.
func (b *batchBuilder) finish() (arrow.RecordBatch, error) {
	if b.n == 0 {
		return nil, nil
	}
	cols := make([]arrow.Array, 0, b.schema.NumFields())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	cols = append(cols, b.key.newArray())
	if b.value != nil {
		cols = append(cols, b.value.newArray())
	} else {
		v, err := b.structValue()
		if err != nil {
			return nil, err
		}
		cols = append(cols, v)
	}
	cols = append(cols, b.topic.newArray(), b.part.newArray(), b.off.newArray(), b.ts.newArray(), b.tsType.newArray())
	if b.hdr != nil {
		cols = append(cols, b.hdr.NewArray())
	}
	n := b.n
	b.n = 0
	return array.NewRecordBatch(b.schema, cols, int64(n)), nil
}

// structValue wraps the decoder's columns (no copy) as the value struct,
// NULL where the record's value was NULL.
func (b *batchBuilder) structValue() (arrow.Array, error) {
	rb := b.dec.NewBatch()
	defer rb.Release()
	nulls := b.nulls
	b.nulls = b.nulls[:0]
	var bitmap *memory.Buffer
	nullCount := 0
	for _, isNull := range nulls {
		if isNull {
			nullCount++
		}
	}
	if nullCount > 0 {
		bitmap = memory.NewResizableBuffer(b.mem)
		bitmap.Resize(int(bitutil.BytesForBits(int64(len(nulls)))))
		bits := bitmap.Bytes()
		for i, isNull := range nulls {
			bitutil.SetBitTo(bits, i, !isNull)
		}
		defer bitmap.Release()
	}
	vt := b.schema.Field(colValue).Type.(*arrow.StructType)
	return array.NewStructArrayWithFieldsAndNulls(rb.Columns(), vt.Fields(), bitmap, nullCount, 0)
}

func (b *batchBuilder) release() {
	for _, c := range []*bytesCol{b.key, b.value, b.topic} {
		if c != nil {
			c.release()
		}
	}
	for _, c := range []*fixedCol{b.part, b.off, b.ts, b.tsType} {
		if c != nil {
			c.release()
		}
	}
	if b.hdr != nil {
		b.hdr.Release()
	}
	if b.dec != nil {
		b.dec.Release()
	}
}

// unsafeBytes views a string's bytes without copying; they are only read.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
