package wal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/datadriven"
)

func TestEntries(t *testing.T) {
	datadriven.RunFile(t, "testdata/entries", func(t *testing.T, c *datadriven.Case) string {
		data := []byte(c.Input)
		switch c.Cmd {
		case "offsets":
			s, err := DecodeOffsetSeq("offsets/7", data)
			if err != nil {
				return "error: " + err.Error()
			}
			checkOffsetRoundTrip(t, s)
			var b strings.Builder
			md := s.Metadata
			fmt.Fprintf(&b, "watermark=%d timestamp=%d conf=%v\n", md.BatchWatermarkMs, md.BatchTimestampMs, md.Conf)
			if len(s.Offsets) == 0 {
				b.WriteString("no sources\n")
			}
			for i, o := range s.Offsets {
				if o == nil {
					fmt.Fprintf(&b, "source %d: -\n", i)
				} else {
					fmt.Fprintf(&b, "source %d: %s\n", i, o)
				}
			}
			return b.String()
		case "commit":
			cm, err := DecodeCommit("commits/7", data)
			if err != nil {
				return "error: " + err.Error()
			}
			return fmt.Sprintf("nextBatchWatermarkMs=%d", cm.NextBatchWatermarkMs)
		case "metadata":
			m, err := DecodeMetadata("metadata", data)
			if err != nil {
				return "error: " + err.Error()
			}
			return "id=" + m.ID
		}
		c.Fatalf(t, "unknown command %q", c.Cmd)
		return ""
	})
}

// checkOffsetRoundTrip: what decodes, re-encodes to something that decodes
// to the same value, and re-encoding that is stable (replays compare bytes).
func checkOffsetRoundTrip(t testing.TB, s OffsetSeq) {
	t.Helper()
	enc, err := EncodeOffsetSeq(s)
	if err != nil {
		t.Fatalf("re-encode of a decoded entry: %v", err)
	}
	s2, err := DecodeOffsetSeq("re-encoded", enc)
	if err != nil {
		t.Fatalf("decode of re-encoded %q: %v", enc, err)
	}
	enc2, err := EncodeOffsetSeq(s2)
	if err != nil || !bytes.Equal(enc, enc2) {
		t.Fatalf("encoding is not stable:\n%q\n%q (%v)", enc, enc2, err)
	}
	if len(s.Offsets) != len(s2.Offsets) {
		t.Fatalf("sources %d -> %d", len(s.Offsets), len(s2.Offsets))
	}
	for i := range s.Offsets {
		if !bytes.Equal(s.Offsets[i], s2.Offsets[i]) {
			t.Fatalf("source %d: %q -> %q", i, s.Offsets[i], s2.Offsets[i])
		}
	}
}

func TestEncodeOffsetSeq(t *testing.T) {
	s := OffsetSeq{
		Metadata: OffsetSeqMetadata{BatchWatermarkMs: 10, BatchTimestampMs: 20, Conf: map[string]string{"b": "2", "a": "1"}},
		Offsets:  []json.RawMessage{json.RawMessage(`{"p":1}`), nil, json.RawMessage{}, json.RawMessage(`[1,2]`)},
	}
	got, err := EncodeOffsetSeq(s)
	if err != nil {
		t.Fatal(err)
	}
	want := "v1\n{\"batchWatermarkMs\":10,\"batchTimestampMs\":20,\"conf\":{\"a\":\"1\",\"b\":\"2\"}}\n{\"p\":1}\n-\n-\n[1,2]"
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if got, _ := EncodeOffsetSeq(OffsetSeq{}); string(got) != `v1`+"\n"+`{"batchWatermarkMs":0,"batchTimestampMs":0,"conf":{}}` {
		t.Fatalf("empty: %q", got)
	}
	for _, bad := range []string{"{\"a\":\n1}", `{"a":`, `not json`} {
		_, err := EncodeOffsetSeq(OffsetSeq{Offsets: []json.RawMessage{json.RawMessage(`{}`), json.RawMessage(bad)}})
		if err == nil || !strings.Contains(err.Error(), "source 1") {
			t.Errorf("offset %q: err %v, want one naming source 1", bad, err)
		}
	}
	// a trailing newline (hand-edited file) is tolerated
	d, err := DecodeOffsetSeq("x", append([]byte(want), '\n'))
	if err != nil || len(d.Offsets) != 4 {
		t.Fatalf("trailing newline: %v, %d offsets", err, len(d.Offsets))
	}
}

func TestEncodeCommitAndMetadata(t *testing.T) {
	b, err := EncodeCommit(CommitMetadata{NextBatchWatermarkMs: 1500})
	if err != nil || string(b) != "v1\n{\"nextBatchWatermarkMs\":1500}" {
		t.Fatalf("EncodeCommit = %q, %v", b, err)
	}
	b, err = EncodeMetadata(Metadata{ID: "abc"})
	if err != nil || string(b) != `{"id":"abc"}` {
		t.Fatalf("EncodeMetadata = %q, %v", b, err)
	}
	if _, err := EncodeMetadata(Metadata{}); err == nil {
		t.Fatal("empty id encoded")
	}
	_, err = DecodeCommit("c", []byte("v2\n{}"))
	if !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("v2: %v", err)
	}
	_, err = DecodeCommit("c", []byte("v1\n{"))
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("torn: %v", err)
	}
	u := NewUUID()
	if len(u) != 36 || u[14] != '4' || !strings.ContainsAny(u[19:20], "89ab") || u == NewUUID() {
		t.Fatalf("NewUUID = %s", u)
	}
}
