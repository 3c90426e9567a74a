package kafka

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/sources"
)

// The record set of a fetch response is parsed here, straight into the
// Arrow columns: no Record objects per message. Only the v2 batch format
// (Kafka 0.11+) is handled; older message sets go through franz-go's
// ProcessFetchPartition instead.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errOldFormat says a response holds pre-v2 message sets.
var errOldFormat = errors.New("kafka: message format before v2")

const batchHeaderLen = 61

// Batch attributes.
const (
	attrCompression   = 0x07
	attrLogAppendTime = 0x08
	attrTransactional = 0x10
	attrControl       = 0x20
)

// onlyV2 reports whether every complete batch in raw is v2.
func onlyV2(raw []byte) bool {
	for len(raw) >= 17 {
		if raw[16] != 2 {
			return false
		}
		length := int32(binary.BigEndian.Uint32(raw[8:]))
		total := 12 + int(length)
		if length < 0 || total > len(raw) {
			break
		}
		raw = raw[total:]
	}
	return true
}

// appendRaw appends the records of rp with offsets in [cur, until) and
// returns the offset to fetch next: past the last complete batch, so
// aborted transactions and markers are stepped over. With readCommitted,
// records of aborted transactions (rp.AbortedTransactions) are skipped.
func (b *batchBuilder) appendRaw(topic string, part int32, rp *kmsg.FetchResponseTopicPartition, cur, until int64, readCommitted bool, dec kgo.Decompressor) (int64, error) {
	raw := rp.RecordBatches
	if !onlyV2(raw) {
		return cur, errOldFormat
	}
	clear(b.aborts)
	if readCommitted && len(rp.AbortedTransactions) > 0 {
		if b.aborts == nil {
			b.aborts = map[int64][]int64{}
		}
		for _, a := range rp.AbortedTransactions {
			b.aborts[a.ProducerID] = append(b.aborts[a.ProducerID], a.FirstOffset)
		}
		for _, v := range b.aborts {
			slices.Sort(v)
		}
	}
	next := cur
	b.reserve(len(raw)/64, len(raw), topic)
	for len(raw) >= batchHeaderLen {
		length := int32(binary.BigEndian.Uint32(raw[8:]))
		total := 12 + int(length)
		if length < batchHeaderLen-12 || total > len(raw) {
			break // truncated at the end of the response
		}
		batch := raw[:total]
		raw = raw[total:]
		base := int64(binary.BigEndian.Uint64(batch))
		if crc := binary.BigEndian.Uint32(batch[17:]); crc != crc32.Checksum(batch[21:], castagnoli) {
			return next, fmt.Errorf("%w: kafka source: %s-%d: record batch at offset %d fails its CRC check", sources.ErrSource, topic, part, base)
		}
		attrs := binary.BigEndian.Uint16(batch[21:])
		last := base + int64(int32(binary.BigEndian.Uint32(batch[23:])))
		baseTS := int64(binary.BigEndian.Uint64(batch[27:]))
		maxTS := int64(binary.BigEndian.Uint64(batch[35:]))
		pid := int64(binary.BigEndian.Uint64(batch[43:]))
		count := int(int32(binary.BigEndian.Uint32(batch[57:])))
		if count < 0 {
			return next, fmt.Errorf("%w: kafka source: %s-%d: record batch at offset %d has a negative record count", sources.ErrSource, topic, part, base)
		}
		if last < next {
			continue // wholly before what we asked for
		}
		aborted := false
		if attrs&attrTransactional != 0 && len(b.aborts) > 0 {
			if firsts := b.aborts[pid]; len(firsts) > 0 && base >= firsts[0] {
				aborted = true
			}
		}
		recs := batch[batchHeaderLen:]
		if codec := kgo.CompressionCodecType(attrs & attrCompression); codec != 0 {
			var err error
			if recs, err = dec.Decompress(recs, codec); err != nil {
				return next, fmt.Errorf("%w: kafka source: %s-%d: decompress batch at offset %d: %w", sources.ErrSource, topic, part, base, err)
			}
		}
		if attrs&attrControl != 0 {
			// A transaction marker: an abort ends the producer's oldest
			// aborted transaction in this response.
			if aborted && isAbortMarker(recs) {
				b.aborts[pid] = b.aborts[pid][1:]
			}
			next = last + 1
			continue
		}
		if aborted {
			next = last + 1
			continue
		}
		tsType := int32(0)
		if attrs&attrLogAppendTime != 0 {
			tsType = 1
		}
		n, err := b.appendRecords(recs, count, topic, part, base, last, baseTS, maxTS, tsType, next, until)
		if err != nil {
			return next, err
		}
		if n != count {
			return next, fmt.Errorf("%w: kafka source: %s-%d: record batch at offset %d claims %d records but holds %d", sources.ErrSource, topic, part, base, count, n)
		}
		next = last + 1
	}
	return next, nil
}

// isAbortMarker reads a control batch's first record: its key is int16
// version and int16 type, 0 meaning abort.
func isAbortMarker(recs []byte) bool {
	length, used := kbin.Varint(recs)
	if used <= 0 || length < 0 || len(recs) < used+int(length) {
		return false
	}
	r := recs[used : used+int(length)]
	if len(r) < 1 {
		return false
	}
	r = r[1:] // attributes
	if _, u := kbin.Varlong(r); u > 0 {
		r = r[u:]
	} else {
		return false
	}
	if _, u := kbin.Varint(r); u > 0 {
		r = r[u:]
	} else {
		return false
	}
	kl, u := kbin.Varint(r)
	if u <= 0 || kl < 4 || len(r) < u+int(kl) {
		return false
	}
	key := r[u:]
	return key[2] == 0 && key[3] == 0
}

// appendRecords parses up to count v2 records and appends those with
// offsets in [from, until); it returns how many records it parsed.
func (b *batchBuilder) appendRecords(in []byte, count int, topic string, part int32, base, last, baseTS, maxTS int64, tsType int32, from, until int64) (int, error) {
	bad := func(off int64) error {
		return fmt.Errorf("%w: kafka source: %s-%d: malformed record near offset %d", sources.ErrSource, topic, part, off)
	}
	n := 0
	for ; n < count && len(in) > 0; n++ {
		length, used := kbin.Varint(in)
		if used <= 0 || length < 0 || len(in) < used+int(length) {
			return n, bad(base)
		}
		r := in[used : used+int(length)]
		in = in[used+int(length):]
		if len(r) < 1 {
			return n, bad(base)
		}
		r = r[1:] // attributes: unused
		tsDelta, u := kbin.Varlong(r)
		if u <= 0 {
			return n, bad(base)
		}
		r = r[u:]
		offDelta, u := kbin.Varint(r)
		if u <= 0 {
			return n, bad(base)
		}
		r = r[u:]
		off := base + int64(offDelta)
		if offDelta < 0 || off > last {
			return n, bad(base) // outside its own batch
		}
		key, r, ok := varBytes(r)
		if !ok {
			return n, bad(off)
		}
		value, r, ok := varBytes(r)
		if !ok {
			return n, bad(off)
		}
		if off < from || off >= until {
			continue
		}
		hdrs := b.headers[:0]
		if b.hdr != nil {
			nh, u := kbin.Varint(r)
			if u <= 0 || nh < 0 {
				return n, bad(off)
			}
			r = r[u:]
			for k := 0; k < int(nh); k++ {
				var hk, hv []byte
				if hk, r, ok = varBytes(r); !ok {
					return n, bad(off)
				}
				if hv, r, ok = varBytes(r); !ok {
					return n, bad(off)
				}
				hdrs = append(hdrs, kgo.RecordHeader{Key: string(hk), Value: hv})
			}
			b.headers = hdrs
		}
		ts := baseTS + tsDelta
		if tsType == 1 {
			ts = maxTS
		}
		if err := b.row(key, value, topic, part, off, ts, tsType, hdrs); err != nil {
			return n, err
		}
	}
	return n, nil
}

// varBytes reads a varint length (-1: nil) and that many bytes.
func varBytes(r []byte) (v, rest []byte, ok bool) {
	l, u := kbin.Varint(r)
	if u <= 0 || l < -1 || len(r) < u+int(max(l, 0)) {
		return nil, r, false
	}
	if l < 0 {
		return nil, r[u:], true
	}
	end := u + int(l)
	return r[u:end:end], r[end:], true
}
