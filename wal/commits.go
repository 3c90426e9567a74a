package wal

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/sluicehq/sluice/internal/storage"
)

// CommitMetadata is the entry commits/<N>, written once batch N's output
// is durable in the sink and its state is committed. On disk:
//
//	v1
//	{"nextBatchWatermarkMs":0}
//
// Readers ignore JSON fields they do not know, so later versions can add
// fields (per-operator info) within v1; a missing field reads as zero.
type CommitMetadata struct {
	// NextBatchWatermarkMs is the watermark batch N+1 uses.
	NextBatchWatermarkMs int64 `json:"nextBatchWatermarkMs"`
	// EventTimeMaxMs is the largest event time each watermark input has
	// seen (0: none yet), by input; with several inputs the watermark is
	// their minimum, so a restart must remember each one (beyond Spark's
	// format; older entries without it read as none seen).
	EventTimeMaxMs []int64 `json:"eventTimeMaxMs,omitempty"`
}

// CommitLog is the commit log, commits/<N>.
type CommitLog = TypedLog[CommitMetadata]

// NewCommitLog returns the commit log in dir.
func NewCommitLog(fsys storage.FS, dir string) *CommitLog {
	return NewTypedLog(NewLog(fsys, dir), CommitCodec)
}

// CommitCodec encodes commit log entries.
var CommitCodec = Codec[CommitMetadata]{Encode: EncodeCommit, Decode: DecodeCommit}

// EncodeCommit renders c in the commit log format.
func EncodeCommit(c CommitMetadata) ([]byte, error) {
	j, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("wal: encode commit: %w", err)
	}
	return append(append(append([]byte(nil), versionLine...), '\n'), j...), nil
}

// DecodeCommit parses a commit log entry; name is the file, for error
// messages.
func DecodeCommit(name string, data []byte) (CommitMetadata, error) {
	lines, err := splitEntry(name, data)
	if err != nil {
		return CommitMetadata{}, err
	}
	switch {
	case len(lines) == 0:
		return CommitMetadata{}, corrupt(name, "the commit metadata line (line 2) is missing")
	case len(lines) > 1:
		return CommitMetadata{}, corrupt(name, fmt.Sprintf("%d lines after the version, want 1", len(lines)))
	case !isObject(lines[0]):
		return CommitMetadata{}, corrupt(name, "line 2 must be the commit metadata JSON object, got "+clip(lines[0]))
	}
	var c CommitMetadata
	if err := json.Unmarshal(bytes.TrimSpace(lines[0]), &c); err != nil {
		return CommitMetadata{}, corrupt(name, fmt.Sprintf("line 2 (commit metadata): %v", err))
	}
	return c, nil
}
