package files

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sinks"
)

// ParseOptions reads Spark-style string options (case-insensitive names)
// into Options for format and validates them. Sink options are path,
// compression (alias codec), maxRecordsPerFile, targetFileSize (bytes, or
// 128MB, 1GiB), rowGroupSize (rows), manifestCompactInterval and
// manifestMaxCompactBatches; every other option is a format option
// (header, sep, timestampFormat, ...). partitionBy columns are given apart
// (DataStreamWriter.PartitionBy), as in Spark.
func ParseOptions(format string, partitionBy []string, m map[string]string) (Options, error) {
	o := Options{Format: format, PartitionBy: partitionBy}
	var errs []error
	bad := func(k, v, want string) { errs = append(errs, fmt.Errorf("option %s=%q: %s", k, v, want)) }
	posInt := func(k, v string) int64 {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 1 {
			bad(k, v, "want a positive integer")
		}
		return n
	}
	for k, v := range m {
		switch strings.ToLower(k) {
		case "path":
			o.Path = v
		case "compression", "codec":
			o.Compression = v
		case "maxrecordsperfile":
			o.MaxRecordsPerFile = posInt(k, v)
		case "targetfilesize":
			n, err := fileformat.ParseSize(v)
			if err != nil || n < 1 {
				bad(k, v, "want a positive size such as 134217728, 128MB or 1GiB")
			}
			o.TargetFileSize = n
		case "rowgroupsize":
			o.RowGroupSize = posInt(k, v)
		case "manifestcompactinterval":
			o.ManifestCompactInterval = int(posInt(k, v))
		case "manifestmaxcompactbatches":
			o.ManifestMaxCompactBatches = posInt(k, v)
		case "partitionby":
			errs = append(errs, errors.New("give partition columns with PartitionBy(...) (job spec: partitionBy), not as an option"))
		default:
			if o.FormatOptions == nil {
				o.FormatOptions = map[string]string{}
			}
			o.FormatOptions[k] = v
		}
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("%w: file sink %s: %w", sinks.ErrSink, storage.RedactLocation(o.Path), err)
	}
	return o, o.Validate()
}
