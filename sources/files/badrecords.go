package files

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sources"
)

// badRecord is one line of a bad-records file (Databricks' shape, plus
// the row).
type badRecord struct {
	Path string `json:"path"`
	// Row is the 1-based record number in the file (data records, after
	// any header); for a bad file, the records read before the failure.
	Row    int64  `json:"row"`
	Record string `json:"record,omitempty"`
	Reason string `json:"reason"`
	// File is set when the whole rest of the file was unreadable.
	File bool `json:"badFile,omitempty"`
}

// maxBadRecordText caps the raw text kept per bad record.
const maxBadRecordText = 64 << 10

// badCollector gathers one batch's bad records; flush writes them to
// BadRecordsPath/bad_records-<first>-<last>.json (the log offsets the
// batch covers), so a replayed batch overwrites its own file with the same
// content.
type badCollector struct {
	buf            bytes.Buffer
	records, files int64
}

func (c *badCollector) addRecord(file string, row int64, raw, reason string) {
	if len(raw) > maxBadRecordText {
		raw = raw[:maxBadRecordText] + "..."
	}
	c.add(badRecord{Path: file, Row: row, Record: raw, Reason: reason})
	c.records++
}

func (c *badCollector) addFile(file string, err error, rowsRead int64) {
	c.add(badRecord{Path: file, Row: rowsRead, Reason: err.Error(), File: true})
	c.files++
}

func (c *badCollector) add(r badRecord) {
	line, _ := json.Marshal(r)
	c.buf.Write(line)
	c.buf.WriteByte('\n')
}

func (c *badCollector) flush(ctx context.Context, s *Source, first, last int64) error {
	if c.buf.Len() == 0 {
		return nil
	}
	name := path.Join(s.badRoot, fmt.Sprintf("bad_records-%d-%d.json", first, last))
	if err := s.badFS.WriteFile(ctx, name, c.buf.Bytes(), storage.WriteOptions{}); err != nil {
		return fmt.Errorf("%w: file source %s: write bad records to %s: %w", sources.ErrSource, s.name, name, err)
	}
	s.badRecords.Add(c.records)
	s.badFiles.Add(c.files)
	return nil
}

// reason parses a malformed record again, alone and strictly, to say what
// is wrong with it (PERMISSIVE mode keeps the record but not the reason).
func (s *Source) reason(ctx context.Context, file, raw string) string {
	sf, ok := s.format.(fileformat.StreamFormat)
	if !ok {
		return "malformed record"
	}
	opts := make(map[string]string, len(s.o.FormatOptions)+2)
	for k, v := range s.o.FormatOptions {
		opts[k] = v
	}
	opts["mode"] = "FAILFAST"
	opts["header"] = "false"
	if s.format.Name() == "json" {
		delete(opts, "header")
	}
	// The record as a file of its own; a plain name so nothing is
	// decompressed.
	rd, err := sf.NewReader(ctx, strings.NewReader(raw+"\n"), "record", fileformat.ReadOptions{Schema: s.sc.data, Mem: s.mem, Options: opts})
	if err != nil {
		return "malformed record"
	}
	defer rd.Close()
	for {
		b, err := rd.Next()
		if err != nil {
			var me *fileformat.MalformedError
			if errors.As(err, &me) {
				m := *me
				m.File, m.Line = "", 0
				return m.Error()
			}
			return "malformed record"
		}
		b.Release()
	}
}
