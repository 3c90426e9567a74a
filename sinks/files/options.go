// Package files is the exactly-once file sink: each micro-batch becomes
// Parquet (default), CSV or JSON files in a directory on any storage
// (local disk, S3, memory), followed by a manifest entry that makes them
// visible. Readers of this project (batch Read, the streaming file
// source) list only files named by the manifest, so a crashed half-batch
// is never seen, and a replayed batch never duplicates rows.
//
// Spark's FileStreamSink is the model (append mode only, a _spark_metadata
// log with compaction); the differences are a manifest whose compaction
// work per batch is bounded (Spark rewrites the whole, ever growing, log
// every 10th batch) and Compact, which rewrites small files.
package files

import (
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/trigger"
)

// Options configure the file sink. Zero values take the documented
// default. The job spec decodes straight into this struct; format options
// (header, delimiter, nullValue, ...) sit beside the others in the spec
// and land in FormatOptions.
type Options struct {
	// Path is the output directory: a local path, file:///path,
	// s3://bucket/prefix or mem://name/dir. Required.
	Path string `yaml:"path"`
	// Format is parquet (default), csv or json.
	Format string `yaml:"format"`
	// PartitionBy writes Hive directories col=value (NULL as
	// __HIVE_DEFAULT_PARTITION__); these columns are left out of the
	// files. Spark: partitionBy.
	PartitionBy []string `yaml:"partitionBy"`
	// MaxRecordsPerFile starts a new file after this many rows. Default 0:
	// no cap. Spark: maxRecordsPerFile.
	MaxRecordsPerFile int64 `yaml:"maxRecordsPerFile"`
	// TargetFileSize starts a new file within a batch once the current
	// one holds about this many bytes (estimated from the bytes already
	// flushed and the compression ratio so far). Default 0: one file per
	// batch and partition. Small files across batches are merged by
	// Compact.
	TargetFileSize int64 `yaml:"targetFileSize"`
	// RowGroupSize is the rows per Parquet row group. Default 1Mi rows.
	RowGroupSize int64 `yaml:"rowGroupSize"`
	// Compression: for parquet snappy (default), zstd, gzip, lz4 or none;
	// for csv and json none (default) or gzip (files then end in .gz).
	Compression string `yaml:"compression"`
	// ManifestCompactInterval merges every this many manifest entries
	// into one compact object, and every this many compacts into a
	// bigger one. Default 10. Spark:
	// spark.sql.streaming.fileSink.log.compactInterval.
	ManifestCompactInterval int `yaml:"manifestCompactInterval"`
	// ManifestMaxCompactBatches caps the batches one compact covers; such
	// compacts are sealed (never rewritten by the sink; Compact may
	// rewrite their files). It bounds the work of the batch that compacts:
	// at most this many batches' file lines are written. Must be a power
	// of ManifestCompactInterval. Default 1000.
	ManifestMaxCompactBatches int64 `yaml:"manifestMaxCompactBatches"`
	// FormatOptions are the format's write options by Spark name.
	FormatOptions map[string]string `yaml:",inline"`

	// FS, when set, is the storage and Path a name in it (tests wrap
	// storage with faults). Default: storage.Open(Path).
	FS storage.FS `yaml:"-"`
	// Clock stamps file modification times in the manifest. Default the
	// system clock.
	Clock trigger.Clock    `yaml:"-"`
	Mem   memory.Allocator `yaml:"-"`
}

const (
	defaultCompactInterval = 10
	defaultMaxCompact      = 1000
)

// Validate reports every problem at once, so a job spec is fixed in one
// pass.
func (o *Options) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if strings.TrimSpace(o.Path) == "" && o.FS == nil {
		add("path is required: the output directory (a local path, file:///path, s3://bucket/prefix)")
	}
	format := o.formatName()
	switch format {
	case "parquet", "csv", "json":
	default:
		add("format %q is not supported by the file sink; use parquet, csv or json", o.Format)
	}
	seen := map[string]bool{}
	for _, c := range o.PartitionBy {
		if c == "" {
			add("partitionBy has an empty column name")
		} else if seen[strings.ToLower(c)] {
			add("partitionBy names column %q twice", c)
		}
		seen[strings.ToLower(c)] = true
	}
	if o.MaxRecordsPerFile < 0 {
		add("maxRecordsPerFile=%d must not be negative (0 means no cap)", o.MaxRecordsPerFile)
	}
	if o.TargetFileSize < 0 {
		add("targetFileSize=%d must not be negative (0 means no target)", o.TargetFileSize)
	}
	if o.RowGroupSize < 0 {
		add("rowGroupSize=%d must not be negative (0 means the default, 1Mi rows)", o.RowGroupSize)
	}
	if o.RowGroupSize > 0 && format != "parquet" {
		add("rowGroupSize applies to parquet only, not %s", format)
	}
	if c := strings.ToLower(o.Compression); c != "" {
		switch format {
		case "parquet":
			switch c {
			case "snappy", "zstd", "gzip", "lz4", "lz4_raw", "none", "uncompressed":
			default:
				add("compression %q: for parquet use snappy, zstd, gzip, lz4 or none", o.Compression)
			}
		case "csv", "json":
			if c != "none" && c != "uncompressed" && c != "gzip" {
				add("compression %q: for %s use none or gzip", o.Compression, format)
			}
		}
	}
	iv := o.ManifestCompactInterval
	if iv < 0 || iv == 1 {
		add("manifestCompactInterval=%d must be at least 2 (0 means the default, 10)", iv)
	}
	if iv == 0 {
		iv = defaultCompactInterval
	}
	if m := o.ManifestMaxCompactBatches; m < 0 {
		add("manifestMaxCompactBatches=%d must not be negative (0 means the default, 1000)", m)
	} else if m > 0 && iv >= 2 && !isPowerOf(m, int64(iv)) {
		add("manifestMaxCompactBatches=%d must be a power of manifestCompactInterval=%d (%d, %d, %d, ...)", m, iv, iv, iv*iv, iv*iv*iv)
	}
	for _, k := range []string{"compression", "codec", "rowGroupSize"} {
		for fk := range o.FormatOptions {
			if strings.EqualFold(fk, k) {
				add("give %s as the sink option, not as a format option (it appears as %q)", k, fk)
			}
		}
	}
	if format == "parquet" || format == "csv" || format == "json" {
		if err := fileformat.ValidateOptions(format, o.FormatOptions); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: file sink %s: %w", sinks.ErrSink, storage.RedactLocation(o.Path), err)
	}
	return nil
}

func (o *Options) formatName() string {
	if o.Format == "" {
		return "parquet"
	}
	return strings.ToLower(o.Format)
}

func isPowerOf(m, base int64) bool {
	for p := base; p <= m; p *= base {
		if p == m {
			return true
		}
		if p > m/base {
			break
		}
	}
	return false
}

// writeOptions are the format options the file writers get.
func (o *Options) writeOptions() map[string]string {
	w := make(map[string]string, len(o.FormatOptions)+2)
	for k, v := range o.FormatOptions {
		w[k] = v
	}
	if o.Compression != "" {
		w["compression"] = strings.ToLower(o.Compression)
	}
	if o.RowGroupSize > 0 {
		w["rowGroupSize"] = fmt.Sprint(o.RowGroupSize)
	}
	return w
}
