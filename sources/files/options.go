// Package files is the streaming file source: every trigger it lists a
// directory (or glob) on any storage, takes the files it has not seen, in
// order of modification time, and reads them as Parquet, CSV, JSON or text
// lines. Spark's FileStreamSource is the model; the differences are a
// seen-files log that stays bounded (Spark's grows forever), a schema
// inferred once and then fixed in the checkpoint, and bad records routed
// to a directory instead of failing or vanishing.
package files

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sources"
)

// Options configure the file source. Zero values take the documented
// default. The job spec decodes straight into this struct; format options
// (header, sep, multiLine, ...) sit beside the others in the spec and land
// in FormatOptions.
type Options struct {
	// Path is a directory (read recursively) or a glob (`*`, `?`, `[...]`
	// per segment, `**` for any depth), on a local path, file:///path,
	// s3://bucket/prefix or mem://name/dir. Required.
	Path string `yaml:"path"`
	// Format is parquet, csv, json or text. Required.
	Format string `yaml:"format"`
	// Schema is the data schema as DDL ("id BIGINT, name STRING"). Either
	// Schema or InferSchema is required (text has a fixed schema).
	Schema string `yaml:"schema"`
	// InferSchema infers the schema once, from the oldest file present
	// when the query first starts, and fixes it in the checkpoint (Spark:
	// spark.sql.streaming.schemaInference, which re-infers on every start).
	InferSchema bool `yaml:"inferSchema"`
	// PartitionColumns are Hive partition columns (`col=value`
	// directories), appended to the rows. Their types come from Schema
	// when it names them, else string. With InferSchema and no
	// PartitionColumns, the partition directories present are detected.
	PartitionColumns []string `yaml:"partitionColumns"`
	// MaxFilesPerTrigger caps the files of one batch. Default 0: no cap.
	// Spark: maxFilesPerTrigger.
	MaxFilesPerTrigger int `yaml:"maxFilesPerTrigger"`
	// MaxBytesPerTrigger caps the bytes of one batch (a soft cap: a batch
	// takes at least one file). Default 0: no cap. Databricks:
	// maxBytesPerTrigger.
	MaxBytesPerTrigger int64 `yaml:"maxBytesPerTrigger"`
	// LatestFirst takes the newest files first (useful with a backlog and
	// MaxFilesPerTrigger). Spark: latestFirst.
	LatestFirst bool `yaml:"latestFirst"`
	// MaxFileAge ignores files older than this, measured from the newest
	// file seen (not the clock), so the seen-files log can forget them.
	// The first batch takes every file. Ignored, as in Spark, when
	// LatestFirst and MaxFilesPerTrigger are both set. Default 7 days.
	MaxFileAge time.Duration `yaml:"maxFileAge"`
	// CleanSource is off (default), archive (move each file to
	// SourceArchiveDir + its original path) or delete, done once the batch
	// that read the file committed. Spark: cleanSource.
	CleanSource string `yaml:"cleanSource"`
	// SourceArchiveDir is where archive moves files; it must not be
	// inside Path. Spark: sourceArchiveDir.
	SourceArchiveDir string `yaml:"sourceArchiveDir"`
	// BadRecordsPath, when set, sends malformed records (CSV/JSON) and
	// unreadable files (Parquet) there as JSON lines with the file, the
	// row and the reason, and counts them, instead of failing the batch.
	// Without it a malformed record fails the batch with its path and
	// line. Databricks: badRecordsPath.
	BadRecordsPath string `yaml:"badRecordsPath"`
	// SeenFilesCompactInterval writes a compact snapshot of the seen
	// files every this many log entries and deletes older entries.
	// Default 10 (Spark: spark.sql.streaming.fileSource.log.compactInterval).
	SeenFilesCompactInterval int `yaml:"seenFilesCompactInterval"`
	// FormatOptions are the format's read options by Spark name.
	FormatOptions map[string]string `yaml:",inline"`

	// FS, when set, is the storage and Path a name (or glob) in it.
	FS storage.FS `yaml:"-"`
	// BatchSize caps rows per Arrow batch; default 64Ki.
	BatchSize int              `yaml:"-"`
	Mem       memory.Allocator `yaml:"-"`
}

const (
	defaultMaxFileAge      = 7 * 24 * time.Hour
	defaultCompactInterval = 10
	// badRecordColumn is the corrupt-record column the source adds to
	// CSV/JSON reads when BadRecordsPath is set.
	badRecordColumn = "_sluice_bad_record"
)

// Validate reports every problem at once, so a job spec is fixed in one
// pass.
func (o *Options) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if strings.TrimSpace(o.Path) == "" {
		add("path is required: a directory or glob (local path, file:///path, s3://bucket/prefix)")
	}
	format := strings.ToLower(o.Format)
	switch format {
	case "parquet", "csv", "json", "text":
	case "":
		add("format is required: parquet, csv, json or text")
	default:
		add("format %q is not supported; use parquet, csv, json or text", o.Format)
	}
	switch {
	case o.Schema != "" && o.InferSchema:
		add("give schema or inferSchema, not both")
	case o.Schema != "":
		if _, err := expr.ParseDDL(o.Schema); err != nil {
			add("schema: %v", err)
		}
		if format == "text" {
			add("the text format has a fixed schema (value STRING); remove schema")
		}
	case !o.InferSchema && format != "text" && format != "":
		add("a streaming %s source needs a schema: give schema: \"col TYPE, ...\", or inferSchema: true to infer it once from the files present and fix it in the checkpoint", format)
	}
	if o.MaxFilesPerTrigger < 0 {
		add("maxFilesPerTrigger=%d must not be negative (0 means no cap)", o.MaxFilesPerTrigger)
	}
	if o.MaxBytesPerTrigger < 0 {
		add("maxBytesPerTrigger=%d must not be negative (0 means no cap)", o.MaxBytesPerTrigger)
	}
	if o.MaxFileAge < 0 {
		add("maxFileAge=%s must not be negative (0 means the default, 7 days)", o.MaxFileAge)
	}
	switch strings.ToLower(o.CleanSource) {
	case "", "off":
		if o.SourceArchiveDir != "" {
			add("sourceArchiveDir is set but cleanSource is %q; set cleanSource: archive", o.CleanSource)
		}
	case "archive":
		if o.SourceArchiveDir == "" {
			add("cleanSource: archive needs sourceArchiveDir")
		} else if within(stripQuery(o.SourceArchiveDir), fixedPrefix(stripQuery(o.Path))) {
			add("sourceArchiveDir %q is inside path %q: archived files would be read again",
				storage.RedactLocation(o.SourceArchiveDir), storage.RedactLocation(o.Path))
		}
	case "delete":
		if o.SourceArchiveDir != "" {
			add("sourceArchiveDir is set but cleanSource is delete; use cleanSource: archive")
		}
	default:
		add("cleanSource %q: use off, archive or delete", o.CleanSource)
	}
	if o.BadRecordsPath != "" {
		for k := range o.FormatOptions {
			if strings.EqualFold(k, "mode") || strings.EqualFold(k, "columnNameOfCorruptRecord") {
				add("badRecordsPath replaces the %s option; remove one of them", k)
			}
		}
	}
	if o.SeenFilesCompactInterval < 0 {
		add("seenFilesCompactInterval=%d must not be negative (0 means the default, 10)", o.SeenFilesCompactInterval)
	}
	if format == "parquet" || format == "csv" || format == "json" || format == "text" {
		if err := fileformat.ValidateOptions(format, o.FormatOptions); err != nil {
			errs = append(errs, err)
		}
	}
	for k := range o.FormatOptions {
		if strings.EqualFold(k, "inferSchema") || strings.EqualFold(k, "path") {
			add("give %s as the source option, not as a format option (it appears as %q)", k, k)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: file source %s: %w", sources.ErrSource, storage.RedactLocation(o.Path), err)
	}
	return nil
}

// fixedPrefix is the part of a path or glob before its first segment with
// a glob character.
func fixedPrefix(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.ContainsAny(s, "*?[") {
			return strings.Join(segs[:i], "/")
		}
	}
	return p
}

// stripQuery drops the query of a URL location (s3://b/p?endpoint=...);
// in a plain path '?' is a glob character and stays.
func stripQuery(loc string) string {
	if strings.Contains(loc, "://") {
		loc, _, _ = strings.Cut(loc, "?")
	}
	return loc
}

// within reports whether location a is b or below it (textually).
func within(a, b string) bool {
	a = strings.TrimSuffix(a, "/")
	b = strings.TrimSuffix(b, "/")
	return b != "" && (a == b || strings.HasPrefix(a, b+"/"))
}
