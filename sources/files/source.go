package files

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sources"
)

// CheckpointAware is an optional capability the engine should honour for
// every source that has it: before the query's first LatestOffset it
// passes the source's own directory in the checkpoint, sources/<i>/, on
// the checkpoint's storage. The file source keeps its seen-files log and
// its fixed schema there. Without the call the log lives in memory: the
// query works, but a restart forgets which files were read and reads them
// again.
type CheckpointAware interface {
	SetCheckpoint(ctx context.Context, fsys storage.FS, dir string) error
}

// MetricsReporter is an optional capability (Spark's
// ReportsSourceMetrics): extra numbers for the source's progress.
type MetricsReporter interface {
	Metrics() map[string]string
}

// Source is the streaming file source. Its offset is {"logOffset":N}: the
// index of the newest seen-files log entry a batch covers, so an offset
// range always maps to the same files (see seenLog).
//
// The engine calls it from one goroutine; Metrics and BadRecords may be
// called from any.
type Source struct {
	o         Options
	name      string // Path for messages, secrets redacted
	fs        storage.FS
	pattern   string // name or glob in fs
	format    fileformat.Format
	mem       memory.Allocator
	sc        schemas
	schema    *arrow.Schema
	inferred  bool
	ignoreAge bool
	interval  int64
	maxAgeMs  int64
	clean     string
	archFS    storage.FS
	archRoot  string
	badFS     storage.FS
	badRoot   string

	mu             sync.Mutex
	log            *seenLog
	available      map[string]bool // AvailableNow snapshot; nil otherwise
	cleanedThrough int64
	manifests      map[string][]fileformat.ManifestFile // decoded manifest objects by name

	outstandingFiles atomic.Int64
	outstandingBytes atomic.Int64
	badRecords       atomic.Int64
	badFiles         atomic.Int64
}

var (
	_ sources.Source               = (*Source)(nil)
	_ sources.Describer            = (*Source)(nil)
	_ sources.DefaultLimiter       = (*Source)(nil)
	_ sources.AvailableNowPreparer = (*Source)(nil)
	_ sources.RowCounter           = (*Source)(nil)
	_ CheckpointAware              = (*Source)(nil)
	_ MetricsReporter              = (*Source)(nil)
)

// New validates o and makes the source, inferring the schema now if
// asked to (from the files present). Call SetCheckpoint before the first
// batch; it checks an inferred schema against the one fixed at the first
// start. When the checkpoint is known up front, NewWithCheckpoint reuses
// the fixed schema instead of inferring again.
func New(ctx context.Context, o Options) (*Source, error) {
	s, err := newSource(o)
	if err != nil {
		return nil, err
	}
	if err := s.resolveSchema(ctx, nil); err != nil {
		return nil, err
	}
	return s, nil
}

// NewWithCheckpoint is New followed by SetCheckpoint, except that a
// schema fixed in the checkpoint is reused rather than inferred again:
// inferred once, at the first start, and then fixed.
func NewWithCheckpoint(ctx context.Context, o Options, fsys storage.FS, dir string) (*Source, error) {
	s, err := newSource(o)
	if err != nil {
		return nil, err
	}
	var logged *schemas
	if o.InferSchema {
		data, err := fsys.ReadFile(ctx, path.Join(dir, schemaFile))
		switch {
		case err == nil:
			sc, err := decodeSchema(path.Join(dir, schemaFile), data)
			if err != nil {
				return nil, err
			}
			logged = &sc
		case !errors.Is(err, storage.ErrNotExist):
			return nil, fmt.Errorf("%w: file source: read schema: %w", sources.ErrSource, err)
		}
	}
	if err := s.resolveSchema(ctx, logged); err != nil {
		return nil, err
	}
	if err := s.SetCheckpoint(ctx, fsys, dir); err != nil {
		return nil, err
	}
	return s, nil
}

func newSource(o Options) (*Source, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	s := &Source{o: o, name: storage.RedactLocation(o.Path), mem: o.Mem, cleanedThrough: -1, manifests: map[string][]fileformat.ManifestFile{}}
	if s.mem == nil {
		s.mem = memory.DefaultAllocator
	}
	var err error
	if s.fs, s.pattern, err = openPattern(o.FS, o.Path); err != nil {
		return nil, err
	}
	s.format, _ = fileformat.Lookup(o.Format)
	s.interval = int64(o.SeenFilesCompactInterval)
	if s.interval == 0 {
		s.interval = defaultCompactInterval
	}
	age := o.MaxFileAge
	if age == 0 {
		age = defaultMaxFileAge
	}
	s.maxAgeMs = age.Milliseconds()
	s.ignoreAge = o.LatestFirst && o.MaxFilesPerTrigger > 0
	s.clean = strings.ToLower(o.CleanSource)
	if s.clean == "archive" {
		if s.archFS, s.archRoot, err = storage.Open(o.SourceArchiveDir); err != nil {
			return nil, fmt.Errorf("%w: file source %s: sourceArchiveDir: %w", sources.ErrSource, s.name, err)
		}
		if o.FS != nil && !strings.Contains(o.SourceArchiveDir, "://") {
			s.archFS, s.archRoot = o.FS, o.SourceArchiveDir
		}
		if s.archFS == s.fs && within(s.archRoot, fixedPrefix(s.pattern)) {
			return nil, fmt.Errorf("%w: file source %s: sourceArchiveDir %s is inside the source path: archived files would be read again", sources.ErrSource, s.name, storage.RedactLocation(o.SourceArchiveDir))
		}
	}
	if o.BadRecordsPath != "" {
		if s.badFS, s.badRoot, err = storage.Open(o.BadRecordsPath); err != nil {
			return nil, fmt.Errorf("%w: file source %s: badRecordsPath: %w", sources.ErrSource, s.name, err)
		}
		if o.FS != nil && !strings.Contains(o.BadRecordsPath, "://") {
			s.badFS, s.badRoot = o.FS, o.BadRecordsPath
		}
	}
	return s, nil
}

// openPattern resolves a path or glob to a storage and a name pattern in
// it: the part before the first glob segment picks the storage. In a URL
// (s3://bucket/logs/*.json?endpoint=...) '?' starts the query, which goes
// to the storage; in a plain path it is a glob character.
func openPattern(fsys storage.FS, location string) (storage.FS, string, error) {
	if fsys != nil {
		return fsys, location, nil
	}
	base, query, hasQuery := location, "", false
	if strings.Contains(location, "://") {
		base, query, hasQuery = strings.Cut(location, "?")
	}
	prefix := fixedPrefix(base)
	rest := strings.TrimPrefix(base[len(prefix):], "/")
	if prefix == "" {
		prefix = "."
	}
	if hasQuery {
		prefix += "?" + query
	}
	f, root, err := storage.Open(prefix)
	if err != nil {
		return nil, "", fmt.Errorf("%w: file source %s: %w", sources.ErrSource, storage.RedactLocation(location), err)
	}
	if rest != "" {
		root = path.Join(root, rest)
	}
	return f, root, nil
}

func (s *Source) resolveSchema(ctx context.Context, logged *schemas) error {
	var err error
	switch {
	case logged != nil:
		s.sc = *logged
	case s.o.InferSchema:
		if s.sc, err = s.inferSchemas(ctx); err != nil {
			return err
		}
		s.inferred = true
	default:
		if s.sc, err = givenSchemas(&s.o); err != nil {
			return err
		}
	}
	s.schema = s.sc.full()
	return nil
}

// SetCheckpoint gives the source its checkpoint directory (see
// CheckpointAware): the seen-files log is loaded from it and the schema
// fixed in it (an inferred schema that differs from the fixed one is
// ErrSchemaChanged). It must come before the first LatestOffset.
func (s *Source) SetCheckpoint(ctx context.Context, fsys storage.FS, dir string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log != nil {
		return fmt.Errorf("%w: file source %s: SetCheckpoint after the first batch; it must come first", sources.ErrSource, s.name)
	}
	sc, err := fixSchema(ctx, fsys, dir, s.sc, s.inferred)
	if err != nil {
		return fmt.Errorf("file source %s: %w", s.name, err)
	}
	if !sc.full().Equal(s.schema) {
		return fmt.Errorf("%w: file source %s: schema changed", ErrSchemaChanged, s.name)
	}
	l := newSeenLog(fsys, dir, s.interval, s.maxAgeMs)
	if err := l.load(ctx); err != nil {
		return err
	}
	s.log = l
	return nil
}

// ensureLog falls back to an in-memory log when no checkpoint was set.
func (s *Source) ensureLog(ctx context.Context) error {
	if s.log != nil {
		return nil
	}
	l := newSeenLog(storage.NewMem(), "/seen", s.interval, s.maxAgeMs)
	if err := l.load(ctx); err != nil {
		return err
	}
	s.log = l
	return nil
}

// Schema is the data columns followed by the partition columns.
func (s *Source) Schema() *arrow.Schema { return s.schema }

// Description is Spark's: FileStreamSource[path].
func (s *Source) Description() string { return "FileStreamSource[" + s.name + "]" }

// DefaultReadLimit is maxFilesPerTrigger / maxBytesPerTrigger.
func (s *Source) DefaultReadLimit() sources.ReadLimit {
	return sources.ReadLimit{MaxFiles: s.o.MaxFilesPerTrigger, MaxBytes: s.o.MaxBytesPerTrigger}
}

type offsetJSON struct {
	LogOffset int64 `json:"logOffset"`
}

func encodeOffset(n int64) sources.Offset {
	return sources.Offset(`{"logOffset":` + strconv.FormatInt(n, 10) + `}`)
}

func parseOffset(o sources.Offset) (int64, error) {
	if len(o) == 0 {
		return -1, nil
	}
	var v offsetJSON
	d := json.NewDecoder(bytes.NewReader(o))
	d.DisallowUnknownFields()
	if err := d.Decode(&v); err != nil || v.LogOffset < 0 {
		return 0, fmt.Errorf("%w: file source: offset %q is not {\"logOffset\":N}: was the checkpoint written by another source?", sources.ErrSource, string(o))
	}
	return v.LogOffset, nil
}

// LatestOffset logs the next batch's files and returns its offset: the
// files not seen yet, oldest first (newest first with LatestFirst), within
// limit. A log entry written before a crash but never used by a batch is
// returned as is.
func (s *Source) LatestOffset(ctx context.Context, start sources.Offset, limit sources.ReadLimit) (sources.Offset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensureLog(ctx); err != nil {
		return nil, err
	}
	n, err := s.checkOffset(start)
	if err != nil {
		return nil, err
	}
	if s.clean == "" || s.clean == "off" {
		s.log.release(ctx, n)
	}
	if s.log.latest > n {
		return encodeOffset(n + 1), nil
	}
	fresh, err := s.listNew(ctx)
	if err != nil {
		return nil, err
	}
	take := len(fresh)
	if limit.MaxFiles > 0 {
		take = min(take, limit.MaxFiles)
	}
	if limit.MaxBytes > 0 {
		var bytes int64
		for i := 0; i < take; i++ {
			bytes += fresh[i].Size
			if bytes > limit.MaxBytes && i > 0 {
				take = i
				break
			}
		}
	}
	var rest int64
	for _, f := range fresh[take:] {
		rest += f.Size
	}
	s.outstandingFiles.Store(int64(len(fresh) - take))
	s.outstandingBytes.Store(rest)
	if take == 0 {
		return start, nil
	}
	id := s.log.latest + 1
	if err := s.log.add(ctx, id, fresh[:take]); err != nil {
		return nil, err
	}
	return encodeOffset(id), nil
}

// checkOffset parses an offset the engine passed and checks the log knows
// it.
func (s *Source) checkOffset(o sources.Offset) (int64, error) {
	n, err := parseOffset(o)
	if err != nil {
		return 0, err
	}
	if n > s.log.latest {
		return 0, fmt.Errorf("%w: file source %s: the checkpoint's offset is log offset %d but the seen-files log in %s ends at %d: the source was not given its checkpoint directory (SetCheckpoint), or the log was deleted",
			sources.ErrSource, s.name, n, s.log.dir, s.log.latest)
	}
	return n, nil
}

// listNew lists the files not seen yet, in the order batches take them.
func (s *Source) listNew(ctx context.Context) ([]seenFile, error) {
	listed, err := s.list(ctx)
	if err != nil {
		return nil, err
	}
	var out []seenFile
	for _, f := range listed {
		if s.available != nil && !s.available[f.Path] {
			continue
		}
		if s.log.isNew(f.Path, f.ModTimeMs, s.ignoreAge) {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.ModTimeMs != b.ModTimeMs {
			return (a.ModTimeMs < b.ModTimeMs) != s.o.LatestFirst
		}
		return a.Path < b.Path
	})
	return out, nil
}

// list lists every file under the pattern. A directory written by a file
// sink lists the files of its manifest, with their row counts, leaving out
// files Compact rewrote (their rows were delivered before).
func (s *Source) list(ctx context.Context) ([]seenFile, error) {
	if !strings.ContainsAny(s.pattern, "*?[") {
		files, ok, err := s.listManifest(ctx)
		if ok || err != nil {
			return files, err
		}
	}
	infos, err := fileformat.ListFilesFS(ctx, s.fs, s.pattern)
	if errors.Is(err, fileformat.ErrNotFound) {
		return nil, nil // the directory does not exist yet
	}
	if err != nil {
		return nil, fmt.Errorf("%w: file source %s: %w", sources.ErrSource, s.name, err)
	}
	out := make([]seenFile, len(infos))
	for i, f := range infos {
		out[i] = seenFile{Path: f.Path, Size: f.Size, ModTimeMs: f.ModTime.UnixMilli(), Partition: f.Partition}
	}
	return out, nil
}

// listManifest lists a sink's output through its manifest, decoding only
// the manifest objects not seen before (they are immutable).
func (s *Source) listManifest(ctx context.Context) ([]seenFile, bool, error) {
	objs, present, err := fileformat.ListManifestObjects(ctx, s.fs, s.pattern)
	if err != nil || !present {
		return nil, false, err
	}
	chain, err := fileformat.ChainManifest(objs)
	if err != nil {
		return nil, true, fmt.Errorf("%w: file source %s: %w", sources.ErrSource, s.name, err)
	}
	keep := make(map[string][]fileformat.ManifestFile, len(chain))
	var out []seenFile
	for _, o := range chain {
		files, ok := s.manifests[o.Name]
		if !ok {
			name := path.Join(s.pattern, fileformat.ManifestDir, o.Name)
			data, err := s.fs.ReadFile(ctx, name)
			if errors.Is(err, storage.ErrNotExist) {
				// Compacted away since the listing: list again next trigger.
				return nil, true, nil
			}
			if err != nil {
				return nil, true, fmt.Errorf("%w: file source %s: %w", sources.ErrSource, s.name, err)
			}
			_, body, err := fileformat.ManifestBody(name, data, o.Compact)
			if err == nil {
				files, err = fileformat.DecodeManifestFiles(name, body, nil)
			}
			if err != nil {
				return nil, true, fmt.Errorf("%w: file source %s: %w", sources.ErrSource, s.name, err)
			}
		}
		keep[o.Name] = files
		for _, f := range files {
			if f.Rewritten {
				continue
			}
			rows := f.Rows
			out = append(out, seenFile{Path: path.Join(s.pattern, f.Path), Size: f.Size, ModTimeMs: f.ModTimeMs,
				Partition: f.Partition, Rows: &rows})
		}
	}
	s.manifests = keep
	return out, true, nil
}

// GetBatch reads the files of log entries start+1..end, in log order.
func (s *Source) GetBatch(ctx context.Context, start, end sources.Offset) (array.RecordReader, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensureLog(ctx); err != nil {
		return nil, err
	}
	from, err := s.checkOffset(start)
	if err != nil {
		return nil, err
	}
	to, err := s.checkOffset(end)
	if err != nil {
		return nil, err
	}
	var files []seenFile
	for id := from + 1; id <= to; id++ {
		f, err := s.log.entry(ctx, id)
		if err != nil {
			return nil, err
		}
		files = append(files, f...)
	}
	return newFileReader(ctx, s, files, from+1, to), nil
}

// Commit cleans the files of batches up to end (cleanSource) and lets the
// log forget entries no batch will replay.
func (s *Source) Commit(ctx context.Context, end sources.Offset) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensureLog(ctx); err != nil {
		return err
	}
	n, err := s.checkOffset(end)
	if err != nil {
		return err
	}
	if s.clean == "" || s.clean == "off" {
		s.log.release(ctx, n)
		return nil
	}
	from := s.cleanedThrough + 1
	if from == 0 {
		from = n + 1
		for id := range s.log.present {
			from = min(from, id)
		}
		for id := range s.log.entries {
			from = min(from, id)
		}
	}
	for id := from; id <= n; id++ {
		files, err := s.log.entry(ctx, id)
		if err != nil {
			continue // purged: cleaned before
		}
		if err := s.cleanFiles(ctx, files); err != nil {
			return err
		}
		s.cleanedThrough = id
	}
	s.log.release(ctx, min(n, s.cleanedThrough))
	return nil
}

// PrepareForAvailableNow fixes the files present now as the end of the
// stream: later batches take only these (still within read limits).
func (s *Source) PrepareForAvailableNow(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	files, err := s.list(ctx)
	if err != nil {
		return err
	}
	s.available = make(map[string]bool, len(files))
	for _, f := range files {
		s.available[f.Path] = true
	}
	return nil
}

// RowsBetween sums the row counts of the files between two offsets when
// every one is known without reading it (files of a sink's manifest).
func (s *Source) RowsBetween(start, end sources.Offset) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log == nil {
		return 0, false
	}
	from, err1 := parseOffset(start)
	to, err2 := parseOffset(end)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	var rows int64
	for id := from + 1; id <= to; id++ {
		files, ok := s.log.entries[id]
		if !ok {
			return 0, false
		}
		for _, f := range files {
			if f.Rows == nil {
				return 0, false
			}
			rows += *f.Rows
		}
	}
	return rows, true
}

// Metrics reports the backlog seen at the last trigger and the bad
// records routed to BadRecordsPath (Spark's numFilesOutstanding,
// numBytesOutstanding).
func (s *Source) Metrics() map[string]string {
	return map[string]string{
		"numFilesOutstanding": strconv.FormatInt(s.outstandingFiles.Load(), 10),
		"numBytesOutstanding": strconv.FormatInt(s.outstandingBytes.Load(), 10),
		"numBadRecords":       strconv.FormatInt(s.badRecords.Load(), 10),
		"numBadFiles":         strconv.FormatInt(s.badFiles.Load(), 10),
	}
}

// BadRecords is the number of malformed records (and unreadable files)
// sent to BadRecordsPath by this process.
func (s *Source) BadRecords() int64 { return s.badRecords.Load() + s.badFiles.Load() }

// Close has nothing to release: every batch's reader closes its files.
func (s *Source) Close() error { return nil }
