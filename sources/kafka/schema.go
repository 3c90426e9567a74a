package kafka

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/internal/fileformat"
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
	key    *array.BinaryBuilder
	value  *array.BinaryBuilder // binary values
	dec    *fileformat.JSONDecoder
	nulls  []bool // json values: the value was NULL (tombstone)
	topic  *array.StringBuilder
	part   *array.Int32Builder
	off    *array.Int64Builder
	ts     *array.TimestampBuilder
	tsType *array.Int32Builder
	hdr    *array.ListBuilder
	hdrS   *array.StructBuilder
	hdrK   *array.StringBuilder
	hdrV   *array.BinaryBuilder
	n      int
	bytes  int
}

func newBatchBuilder(schema *arrow.Schema, valueSchema *arrow.Schema, valueOpts map[string]string, mem memory.Allocator) (*batchBuilder, error) {
	b := &batchBuilder{schema: schema, mem: mem}
	b.key = array.NewBinaryBuilder(mem, expr.Binary)
	if valueSchema != nil {
		dec, err := fileformat.NewJSONDecoder(valueSchema, mem, valueOpts)
		if err != nil {
			b.release()
			return nil, fmt.Errorf("%w: kafka source: valueSchema/valueOptions: %w", sources.ErrSource, err)
		}
		b.dec = dec
	} else {
		b.value = array.NewBinaryBuilder(mem, expr.Binary)
	}
	b.topic = array.NewStringBuilder(mem)
	b.part = array.NewInt32Builder(mem)
	b.off = array.NewInt64Builder(mem)
	b.ts = array.NewTimestampBuilder(mem, expr.Timestamp)
	b.tsType = array.NewInt32Builder(mem)
	if schema.NumFields() > colHeaders {
		b.hdr = array.NewListBuilder(mem, HeadersType.Elem())
		b.hdrS = b.hdr.ValueBuilder().(*array.StructBuilder)
		b.hdrK = b.hdrS.FieldBuilder(0).(*array.StringBuilder)
		b.hdrV = b.hdrS.FieldBuilder(1).(*array.BinaryBuilder)
	}
	return b, nil
}

var emptyObject = []byte("{}")

// add appends the records with offsets below until. JSON values that
// decode to several rows (a JSON array) repeat the record's columns; values
// dropped by mode DROPMALFORMED drop the record.
func (b *batchBuilder) add(recs []*kgo.Record, until int64) error {
	m := len(recs)
	for m > 0 && recs[m-1].Offset >= until {
		m--
	}
	recs = recs[:m]
	if m == 0 {
		return nil
	}
	kb, vb := 0, 0
	for _, r := range recs {
		kb += len(r.Key)
		vb += len(r.Value)
	}
	b.key.Reserve(m)
	growData(b.key, kb)
	if b.value != nil {
		b.value.Reserve(m)
		growData(b.value, vb)
	}
	b.topic.Reserve(m)
	growData(b.topic.BinaryBuilder, m*len(recs[0].Topic))
	b.part.Reserve(m)
	b.off.Reserve(m)
	b.ts.Reserve(m)
	b.tsType.Reserve(m)
	for _, r := range recs {
		rows := 1
		if b.dec != nil {
			before := b.dec.Len()
			v := r.Value
			if v == nil {
				v = emptyObject
			}
			if err := b.dec.Append(v); err != nil {
				return fmt.Errorf("%w: kafka source: %s-%d offset %d: value does not match valueSchema: %w", sources.ErrSource, r.Topic, r.Partition, r.Offset, err)
			}
			rows = b.dec.Len() - before
			for k := 0; k < rows; k++ {
				b.nulls = append(b.nulls, r.Value == nil)
			}
		}
		for k := 0; k < rows; k++ {
			b.appendMeta(r)
		}
		b.bytes += len(r.Key) + len(r.Value)
	}
	return nil
}

// growData reserves n more data bytes, at least doubling the buffer:
// arrow's ReserveData grows to the exact size, which copies the whole
// buffer on every call.
func growData(b *array.BinaryBuilder, n int) {
	if b.DataCap() < b.DataLen()+n {
		b.ReserveData(max(n, b.DataCap()))
	}
}

func (b *batchBuilder) appendMeta(r *kgo.Record) {
	if r.Key == nil {
		b.key.AppendNull()
	} else {
		b.key.Append(r.Key)
	}
	if b.value != nil {
		if r.Value == nil {
			b.value.AppendNull()
		} else {
			b.value.Append(r.Value)
		}
	}
	b.topic.Append(r.Topic)
	b.part.UnsafeAppend(r.Partition)
	b.off.UnsafeAppend(r.Offset)
	b.ts.UnsafeAppend(arrow.Timestamp(r.Timestamp.UnixMicro()))
	b.tsType.UnsafeAppend(int32(r.Attrs.TimestampType()))
	if b.hdr != nil {
		b.hdr.Append(true)
		for _, h := range r.Headers {
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
	cols = append(cols, b.key.NewArray())
	if b.value != nil {
		cols = append(cols, b.value.NewArray())
	} else {
		v, err := b.structValue()
		if err != nil {
			return nil, err
		}
		cols = append(cols, v)
	}
	cols = append(cols, b.topic.NewArray(), b.part.NewArray(), b.off.NewArray(), b.ts.NewArray(), b.tsType.NewArray())
	if b.hdr != nil {
		cols = append(cols, b.hdr.NewArray())
	}
	n := b.n
	b.n, b.bytes = 0, 0
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
	for _, x := range []interface{ Release() }{b.key, b.value, b.topic, b.part, b.off, b.ts, b.tsType, b.hdr} {
		if x != nil && !isNilBuilder(x) {
			x.Release()
		}
	}
	if b.dec != nil {
		b.dec.Release()
	}
}

func isNilBuilder(x interface{ Release() }) bool {
	switch v := x.(type) {
	case *array.BinaryBuilder:
		return v == nil
	case *array.StringBuilder:
		return v == nil
	case *array.Int32Builder:
		return v == nil
	case *array.Int64Builder:
		return v == nil
	case *array.TimestampBuilder:
		return v == nil
	case *array.ListBuilder:
		return v == nil
	}
	return false
}
