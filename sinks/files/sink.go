package files

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/trigger"
)

// Sink writes each micro-batch as files plus a manifest entry.
//
// AddBatch(n): if the manifest already has batch n (a replay after a crash
// that happened after the manifest was written), it does nothing.
// Otherwise it writes the data files, named part-<n>-<seq> with seq a
// deterministic sequence number, each published atomically by storage
// Create; then the manifest entry _sluice_log/<n>, create-if-absent. A
// replay of a batch whose manifest is missing writes the same names again,
// overwriting the leftovers of the crashed attempt (or leaving them
// unnamed, hence invisible, if the replayed rows split differently).
//
// A Sink is used by one query at a time; the engine calls AddBatch from
// one goroutine.
type Sink struct {
	o      Options
	name   string // Path for messages, secrets redacted
	fs     storage.FS
	dir    string
	format fileformat.Format
	ext    string
	clock  trigger.Clock

	mu  sync.Mutex
	log *manifestLog
}

var (
	_ sinks.Sink        = (*Sink)(nil)
	_ sinks.ModeChecker = (*Sink)(nil)
	_ sinks.Describer   = (*Sink)(nil)
)

// New validates o and makes the sink. It does no I/O: the output
// directory is touched at the first batch.
func New(o Options) (*Sink, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	fsys, dir := o.FS, o.Path
	if fsys == nil {
		var err error
		fsys, dir, err = storage.Open(o.Path)
		if err != nil {
			return nil, fmt.Errorf("%w: file sink: %w", sinks.ErrSink, err)
		}
	}
	format, ok := fileformat.Lookup(o.formatName())
	if !ok {
		return nil, fmt.Errorf("%w: file sink: format %q is not available", sinks.ErrSink, o.Format)
	}
	if o.Mem == nil {
		o.Mem = memory.DefaultAllocator
	}
	if o.Clock == nil {
		o.Clock = trigger.System
	}
	if o.ManifestCompactInterval == 0 {
		o.ManifestCompactInterval = defaultCompactInterval
	}
	if o.ManifestMaxCompactBatches == 0 {
		o.ManifestMaxCompactBatches = defaultMaxCompact
		for !isPowerOf(o.ManifestMaxCompactBatches, int64(o.ManifestCompactInterval)) {
			o.ManifestMaxCompactBatches++ // the smallest power of the interval >= 1000
		}
	}
	s := &Sink{o: o, name: storage.RedactLocation(o.Path), fs: fsys, dir: dir, format: format, ext: extension(o), clock: o.Clock}
	s.log = newManifestLog(fsys, dir, int64(o.ManifestCompactInterval), o.ManifestMaxCompactBatches)
	return s, nil
}

// extension is the data file suffix: readers pick decompression by it.
func extension(o Options) string {
	switch o.formatName() {
	case "parquet":
		return ".parquet"
	case "csv", "json":
		e := "." + o.formatName()
		if strings.EqualFold(o.Compression, "gzip") {
			e += ".gz"
		}
		return e
	}
	return "." + o.formatName()
}

// Description is Spark's: FileSink[path].
func (s *Sink) Description() string { return "FileSink[" + s.name + "]" }

// Dir is the output directory in FS.
func (s *Sink) Dir() string { return s.dir }

// FS is the output storage.
func (s *Sink) FS() storage.FS { return s.fs }

// SupportsMode accepts append only, as Spark's file sink: files are
// immutable, so rows that change later (update) or a result rewritten
// every batch (complete) cannot be expressed.
func (s *Sink) SupportsMode(mode sinks.OutputMode) error {
	if mode == sinks.Append {
		return nil
	}
	return fmt.Errorf("%w: the file sink (%s) supports output mode append only, not %s: files are immutable once written, so rows cannot be updated or replaced. "+
		"Use append with a watermark for aggregations, or foreachBatch (merge each batch yourself) or the Kafka sink for upserts",
		sinks.ErrSink, s.name, mode)
}

// LatestBatchID returns the newest batch in the manifest (-1 if none).
func (s *Sink) LatestBatchID(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.log.load(ctx); err != nil {
		return -1, err
	}
	return s.log.latest, nil
}

// AddBatch writes batch batchID; see the type's doc.
func (s *Sink) AddBatch(ctx context.Context, batchID int64, mode sinks.OutputMode, rows array.RecordReader) error {
	if err := s.SupportsMode(mode); err != nil {
		return err
	}
	if batchID < 0 {
		return fmt.Errorf("%w: file sink %s: batch id %d is negative", sinks.ErrSink, s.name, batchID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.log.load(ctx); err != nil {
		return err
	}
	if batchID <= s.log.latest {
		return nil // already committed: a replay after a crash
	}
	files, err := s.writeData(ctx, batchID, rows)
	if err != nil {
		return err
	}
	return s.log.commit(ctx, batchID, files)
}

func (s *Sink) writeData(ctx context.Context, batchID int64, rows array.RecordReader) ([]fileformat.ManifestFile, error) {
	if rows == nil {
		return nil, nil
	}
	schema := rows.Schema()
	name := func(part string, seq int) string {
		base := fmt.Sprintf("part-%06d-%05d%s", batchID, seq, s.ext)
		if part == "" {
			return base
		}
		return part + "/" + base
	}
	now := func() int64 { return s.clock.Now().UnixMilli() }
	dw, err := newDataWriter(ctx, s.fs, s.dir, s.format, schema, s.o.PartitionBy, &s.o, batchID, name, now)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		b := rows.RecordBatch()
		if !b.Schema().Equal(schema) {
			dw.abort()
			return nil, fmt.Errorf("%w: file sink %s: batch %d: a record batch has schema %s, the reader's is %s", sinks.ErrSink, s.name, batchID, b.Schema(), schema)
		}
		if err := dw.write(b); err != nil {
			dw.abort()
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		dw.abort()
		return nil, fmt.Errorf("%w: file sink %s: batch %d: reading the rows: %w", sinks.ErrSink, s.name, batchID, err)
	}
	return dw.finish()
}

// Close releases nothing durable: every batch is complete when AddBatch
// returns.
func (s *Sink) Close() error { return nil }

// writeRecords is AddBatch over a slice, for tests and Compact.
func recordReader(schema *arrow.Schema, recs []arrow.RecordBatch) (array.RecordReader, error) {
	return array.NewRecordReader(schema, recs)
}
