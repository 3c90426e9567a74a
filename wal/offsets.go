package wal

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/sluicehq/sluice/internal/storage"
)

// OffsetSeq is the entry offsets/<N>: where batch N ends in every source,
// and the batch-level values a replay must reuse. On disk:
//
//	v1
//	{"batchWatermarkMs":0,"batchTimestampMs":1700000000000,"conf":{...}}
//	<offset JSON of source 0>
//	-                                 (source 1 has no offset yet)
type OffsetSeq struct {
	Metadata OffsetSeqMetadata
	// Offsets holds one end offset per source, in the query's source
	// order; a nil (or empty) element means that source has no offset yet.
	// Offsets are canonical JSON compared byte for byte, so they are stored
	// exactly as given and must be single-line JSON.
	//
	// The file does not record how many sources the query has (a file cut
	// after a whole line decodes with fewer offsets), so the engine checks
	// len(Offsets) against its sources, as Spark does.
	Offsets []json.RawMessage
}

// OffsetSeqMetadata is the batch's watermark, timestamp and the settings
// that must not change across restarts (shuffle partitions, state store
// format), as Spark's OffsetSeqMetadata.
type OffsetSeqMetadata struct {
	BatchWatermarkMs int64             `json:"batchWatermarkMs"`
	BatchTimestampMs int64             `json:"batchTimestampMs"`
	Conf             map[string]string `json:"conf"`
}

// OffsetLog is the offset log, offsets/<N>.
type OffsetLog = TypedLog[OffsetSeq]

// NewOffsetLog returns the offset log in dir.
func NewOffsetLog(fsys storage.FS, dir string) *OffsetLog {
	return NewTypedLog(NewLog(fsys, dir), OffsetSeqCodec)
}

// OffsetSeqCodec encodes offset log entries.
var OffsetSeqCodec = Codec[OffsetSeq]{Encode: EncodeOffsetSeq, Decode: DecodeOffsetSeq}

var noOffset = []byte("-")

// EncodeOffsetSeq renders s in the offset log format. It fails if an
// offset is not valid single-line JSON.
func EncodeOffsetSeq(s OffsetSeq) ([]byte, error) {
	md := s.Metadata
	if md.Conf == nil {
		md.Conf = map[string]string{}
	}
	mdJSON, err := json.Marshal(md)
	if err != nil {
		return nil, fmt.Errorf("wal: encode offset metadata: %w", err)
	}
	var b bytes.Buffer
	b.Write(versionLine)
	b.WriteByte('\n')
	b.Write(mdJSON)
	for i, o := range s.Offsets {
		b.WriteByte('\n')
		if len(o) == 0 {
			b.Write(noOffset)
			continue
		}
		if bytes.IndexByte(o, '\n') >= 0 {
			return nil, fmt.Errorf("wal: offset of source %d contains a newline; sources must produce compact single-line JSON offsets: %s", i, clip(o))
		}
		if !json.Valid(o) {
			return nil, fmt.Errorf("wal: offset of source %d is not valid JSON: %s", i, clip(o))
		}
		b.Write(o)
	}
	return b.Bytes(), nil
}

// DecodeOffsetSeq parses an offset log entry; name is the file, for error
// messages.
func DecodeOffsetSeq(name string, data []byte) (OffsetSeq, error) {
	lines, err := splitEntry(name, data)
	if err != nil {
		return OffsetSeq{}, err
	}
	if len(lines) == 0 {
		return OffsetSeq{}, corrupt(name, "the metadata line (line 2) is missing")
	}
	var s OffsetSeq
	if !isObject(lines[0]) {
		return OffsetSeq{}, corrupt(name, "line 2 must be the batch metadata JSON object, got "+clip(lines[0]))
	}
	if err := json.Unmarshal(lines[0], &s.Metadata); err != nil {
		return OffsetSeq{}, corrupt(name, fmt.Sprintf("line 2 (batch metadata): %v", err))
	}
	if len(lines) > 1 {
		s.Offsets = make([]json.RawMessage, len(lines)-1)
	}
	for i, l := range lines[1:] {
		if bytes.Equal(l, noOffset) {
			continue
		}
		if !json.Valid(l) {
			return OffsetSeq{}, corrupt(name, fmt.Sprintf("line %d (offset of source %d) is not valid JSON: %s", i+3, i, clip(l)))
		}
		s.Offsets[i] = bytes.Clone(l)
	}
	return s, nil
}
