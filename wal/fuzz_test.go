package wal

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

// Decoders must never panic, must name the file in every error, and what
// they accept must re-encode to something they decode to the same value.

const fuzzName = "ckpt/offsets/42"

func checkDecodeErr(t *testing.T, err error) {
	t.Helper()
	if !strings.Contains(err.Error(), fuzzName) {
		t.Fatalf("error does not name the file: %v", err)
	}
	if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("error is neither ErrCorrupt nor ErrUnsupportedVersion: %v", err)
	}
}

func FuzzOffsetEntry(f *testing.F) {
	for _, s := range []string{
		"v1\n{\"batchWatermarkMs\":0,\"batchTimestampMs\":1700000000000,\"conf\":{\"a\":\"b\"}}\n{\"t\":{\"0\":42}}\n-\n[1,2]",
		"v1\n{\"batchWatermarkMs\":0,\"batchTimestampMs\":0,\"conf\":{}}",
		"v1\n{}\n-\n",
		"v1\n{\"batchWatermarkMs\":0,\"batc",
		"v1\n{\"conf\":{\"k\":\"\\u00e9<&>\"}}\n\"s\"\nnull\n 1 ",
		"v2\n{}",
		"v1\nnull",
		"v1",
		"",
		"\xff\xfe",
		"v1\n{\"batchWatermarkMs\":1e3}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeOffsetSeq(fuzzName, data)
		if err != nil {
			checkDecodeErr(t, err)
			return
		}
		checkOffsetRoundTrip(t, s)
	})
}

func FuzzCommitEntry(f *testing.F) {
	for _, s := range []string{
		"v1\n{\"nextBatchWatermarkMs\":1700000005000}",
		"v1\n{\"nextBatchWatermarkMs\":0,\"ops\":[{\"a\":1}]}",
		"v1\n{}\n",
		"v1\n{\"nextBatchWatermarkMs\":",
		"v1\n{}\n{}",
		"v7\n{}",
		"v1",
		"",
		"v1\n[1]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeCommit(fuzzName, data)
		if err != nil {
			checkDecodeErr(t, err)
			return
		}
		enc, err := EncodeCommit(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := DecodeCommit(fuzzName, enc)
		if err != nil || c2.NextBatchWatermarkMs != c.NextBatchWatermarkMs || !slices.Equal(c2.EventTimeMaxMs, c.EventTimeMaxMs) {
			t.Fatalf("round trip: %+v -> %q -> %+v, %v", c, enc, c2, err)
		}
	})
}

func FuzzMetadata(f *testing.F) {
	for _, s := range []string{
		`{"id":"8a3f4c2e-1b5d-4e6f-9a7b-0c1d2e3f4a5b"}`,
		`{"id":"q","extra":{"x":[1,2]}}`,
		"{\"id\":\"q\"}\n",
		`{"id":""}`,
		`{"id":`,
		`{"id":7}`,
		`null`,
		``,
		`[]`,
		`{"id":"\u0000\ud800"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeMetadata(fuzzName, data)
		if err != nil {
			checkDecodeErr(t, err)
			return
		}
		enc, err := EncodeMetadata(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := DecodeMetadata(fuzzName, enc)
		if err != nil {
			t.Fatalf("re-decode of %q: %v", enc, err)
		}
		enc2, _ := EncodeMetadata(m2)
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable: %q vs %q", enc, enc2)
		}
	})
}
