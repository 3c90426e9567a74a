package kafka

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// encodeBatch builds a v2 record batch with a valid CRC around records.
func encodeBatch(base int64, attrs int16, count int32, lastDelta int32, pid int64, baseTS int64, records []byte) []byte {
	rb := kmsg.RecordBatch{
		FirstOffset: base, Magic: 2, Attributes: attrs, LastOffsetDelta: lastDelta,
		FirstTimestamp: baseTS, MaxTimestamp: baseTS + 1000, ProducerID: pid, NumRecords: count, Records: records,
	}
	out := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(out[8:], uint32(len(out)-12))
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli)))
	return out
}

// encodeRecord writes one v2 record; nil key/value encode as null.
func encodeRecord(dst []byte, tsDelta int64, offDelta int32, key, value []byte, hdrs []kgo.RecordHeader) []byte {
	var body []byte
	body = append(body, 0)
	body = kbin.AppendVarlong(body, tsDelta)
	body = kbin.AppendVarint(body, offDelta)
	body = kbin.AppendVarintBytes(body, key)
	body = kbin.AppendVarintBytes(body, value)
	body = kbin.AppendVarint(body, int32(len(hdrs)))
	for _, h := range hdrs {
		body = kbin.AppendVarintString(body, h.Key)
		body = kbin.AppendVarintBytes(body, h.Value)
	}
	dst = kbin.AppendVarint(dst, int32(len(body)))
	return append(dst, body...)
}

// randomLog builds a partition log of plain, transactional (committed or
// aborted) and control batches, plus the fetch's aborted-transaction list.
func randomLog(r *rand.Rand) (raw []byte, aborted []kmsg.FetchResponseTopicPartitionAbortedTransaction) {
	off := int64(0)
	for b := 0; b < 1+r.IntN(8); b++ {
		n := 1 + r.IntN(5)
		var recs []byte
		for i := 0; i < n; i++ {
			var key []byte
			if r.IntN(3) > 0 {
				key = []byte(fmt.Sprint("k", off+int64(i)))
			}
			var hdrs []kgo.RecordHeader
			if r.IntN(2) == 0 {
				hdrs = []kgo.RecordHeader{{Key: "h", Value: []byte{byte(i)}}, {Key: "n"}}
			}
			recs = encodeRecord(recs, int64(i*10), int32(i), key, []byte(fmt.Sprint("v", off+int64(i))), hdrs)
		}
		var attrs int16
		pid := int64(-1)
		kind := r.IntN(3)
		if kind > 0 {
			attrs |= attrTransactional
			pid = int64(1 + r.IntN(2))
		}
		if r.IntN(4) == 0 {
			attrs |= attrLogAppendTime
		}
		raw = append(raw, encodeBatch(off, attrs, int32(n), int32(n-1), pid, 1000*off, recs)...)
		first := off
		off += int64(n)
		if kind > 0 {
			// The transaction's marker: commit (1) or abort (0).
			typ := byte(1)
			if kind == 2 {
				typ = 0
				aborted = append(aborted, kmsg.FetchResponseTopicPartitionAbortedTransaction{ProducerID: pid, FirstOffset: first})
			}
			ctl := encodeRecord(nil, 0, 0, []byte{0, 0, 0, typ}, []byte{0, 0, 0, 0, 0, 0}, nil)
			raw = append(raw, encodeBatch(off, attrTransactional|attrControl, 1, 0, pid, 0, ctl)...)
			off++
		}
	}
	return raw, aborted
}

func rowsOf(t *testing.T, bb *batchBuilder) []string {
	rec, err := bb.finish()
	if err != nil {
		t.Fatal(err)
	}
	if rec == nil {
		return nil
	}
	defer rec.Release()
	var out []string
	for i := 0; i < int(rec.NumRows()); i++ {
		var row []string
		for c := 0; c < int(rec.NumCols()); c++ {
			row = append(row, rec.Column(c).ValueStr(i))
		}
		out = append(out, fmt.Sprint(row))
	}
	return out
}

// TestRawParserMatchesFranzGo: our record parser and franz-go's agree on
// random logs, for every start and end offset and both isolation levels.
func TestRawParserMatchesFranzGo(t *testing.T) {
	mem := checkedMem(t)
	schema := NewSchema(nil, true)
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 200; iter++ {
		raw, aborted := randomLog(r)
		rp := &kmsg.FetchResponseTopicPartition{RecordBatches: raw, AbortedTransactions: aborted}
		for _, committed := range []bool{true, false} {
			from, until := int64(r.IntN(5)), int64(3+r.IntN(40))
			ours, err := newBatchBuilder(schema, nil, mem)
			if err != nil {
				t.Fatal(err)
			}
			next, err := ours.appendRaw("t", 0, rp, from, until, committed, kgo.DefaultDecompressor())
			if err != nil {
				t.Fatal(err)
			}
			iso := kgo.ReadUncommitted()
			if committed {
				iso = kgo.ReadCommitted()
			}
			fp, kNext := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{Offset: from, IsolationLevel: iso, Topic: "t"}, rp, kgo.DefaultDecompressor(), nil)
			theirs, _ := newBatchBuilder(schema, nil, mem)
			if err := theirs.add(fp.Records, until); err != nil {
				t.Fatal(err)
			}
			a, b := rowsOf(t, ours), rowsOf(t, theirs)
			ours.release()
			theirs.release()
			if next != kNext || !slices.Equal(a, b) {
				t.Fatalf("iter %d committed=%v [%d,%d): next %d vs %d\nours   %v\ntheirs %v", iter, committed, from, until, next, kNext, a, b)
			}
		}
	}
}

// FuzzAppendRaw feeds arbitrary record bytes (in a batch with a valid CRC,
// so parsing goes past the header) and checks nothing panics and that
// whatever parses agrees with franz-go.
func FuzzAppendRaw(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 8; i++ {
		raw, _ := randomLog(r)
		f.Add(raw[batchHeaderLen:], int16(0), int32(3))
	}
	f.Add([]byte{}, int16(attrControl), int32(1))
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, int16(0), int32(-1))
	schema := NewSchema(nil, true)
	f.Fuzz(func(t *testing.T, recs []byte, attrs int16, count int32) {
		attrs &^= attrCompression // compressed garbage is the decompressor's business
		raw := encodeBatch(0, attrs, count, max(count-1, 0), 1, 0, recs)
		rp := &kmsg.FetchResponseTopicPartition{RecordBatches: raw}
		bb, err := newBatchBuilder(schema, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer bb.release()
		next, err := bb.appendRaw("t", 0, rp, 0, 1<<40, true, kgo.DefaultDecompressor())
		if err != nil {
			return
		}
		rec, err := bb.finish()
		if err != nil {
			t.Fatal(err)
		}
		if rec != nil {
			defer rec.Release()
			if err := array.ValidateRecordFull(rec); err != nil {
				t.Fatal(err)
			}
		}
		// What parsed cleanly, franz-go parses the same way (markers and
		// aborted batches are skipped unparsed here, so only plain ones).
		if attrs&(attrControl|attrTransactional) != 0 {
			return
		}
		fp, kNext := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{IsolationLevel: kgo.ReadCommitted(), Topic: "t"}, rp, kgo.DefaultDecompressor(), nil)
		n := 0
		if rec != nil {
			n = int(rec.NumRows())
		}
		if fp.Err == nil && (kNext != next || len(fp.Records) != n) {
			t.Fatalf("ours: %d rows, next %d; franz-go: %d records, next %d", n, next, len(fp.Records), kNext)
		}
	})
}
