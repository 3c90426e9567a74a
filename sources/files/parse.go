package files

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sources"
)

// unsupportedOptions are Spark file-source options this source does not
// implement, with what to do instead: refusing them beats ignoring them
// silently.
var unsupportedOptions = map[string]string{
	"pathGlobFilter":      "put the glob in the path itself (dir/*.json)",
	"recursiveFileLookup": "directories are always read recursively; remove it",
	"fileNameOnly":        "files are identified by their full path; remove it",
	"modifiedBefore":      "filter on the rows instead, or use maxFileAge",
	"modifiedAfter":       "filter on the rows instead, or use maxFileAge",
	"ignoreCorruptFiles":  "use badRecordsPath: unreadable files go there and are counted",
	"ignoreMissingFiles":  "remove it: a file that vanishes after listing fails the batch",
	"basePath":            "partition directories are taken below the path's fixed prefix; point path at the table root",
	"mergeSchema":         "give the schema (schema or inferSchema once); it is fixed in the checkpoint",
	"maxCachedFiles":      "remove it: listings are not cached between triggers",
}

// ParseOptions reads Spark-style string options (case-insensitive names)
// into Options for format and validates them. Source options are path,
// inferSchema, partitionColumns (comma-separated), maxFilesPerTrigger,
// maxBytesPerTrigger (bytes, or 64MB, 1GiB), latestFirst, maxFileAge
// (a duration: 7d, 12h, "7 days"), cleanSource, sourceArchiveDir,
// badRecordsPath and seenFilesCompactInterval; every other option is a
// format option (header, sep, multiLine, ...). schemaDDL is the schema
// given apart from the options ("" if none; option "schema" works too).
func ParseOptions(format, schemaDDL string, m map[string]string) (Options, error) {
	o := Options{Format: format, Schema: schemaDDL}
	var errs []error
	bad := func(k, v, want string) { errs = append(errs, fmt.Errorf("option %s=%q: %s", k, v, want)) }
	for k, v := range m {
		switch strings.ToLower(k) {
		case "path":
			o.Path = v
		case "schema":
			if schemaDDL != "" {
				errs = append(errs, errors.New("the schema is given twice (Schema(...) and option schema); keep one"))
			}
			o.Schema = v
		case "inferschema":
			b, err := strconv.ParseBool(v)
			if err != nil {
				bad(k, v, "want true or false")
			}
			o.InferSchema = b
		case "partitioncolumns":
			for _, c := range strings.Split(v, ",") {
				if c = strings.TrimSpace(c); c != "" {
					o.PartitionColumns = append(o.PartitionColumns, c)
				}
			}
		case "maxfilespertrigger":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 {
				bad(k, v, "want a positive number of files")
			}
			o.MaxFilesPerTrigger = n
		case "maxbytespertrigger":
			n, err := fileformat.ParseSize(v)
			if err != nil || n < 1 {
				bad(k, v, "want a positive size such as 268435456, 256MB or 1GiB")
			}
			o.MaxBytesPerTrigger = n
		case "latestfirst":
			b, err := strconv.ParseBool(v)
			if err != nil {
				bad(k, v, "want true or false")
			}
			o.LatestFirst = b
		case "maxfileage":
			d, err := ParseDuration(v)
			if err != nil || d <= 0 {
				bad(k, v, "want a positive duration such as 7d, 12h or \"7 days\"")
			}
			o.MaxFileAge = d
		case "cleansource":
			o.CleanSource = v
		case "sourcearchivedir":
			o.SourceArchiveDir = v
		case "badrecordspath":
			o.BadRecordsPath = v
		case "seenfilescompactinterval":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 2 {
				bad(k, v, "want an integer of at least 2")
			}
			o.SeenFilesCompactInterval = n
		default:
			if why, ok := lookupFold(unsupportedOptions, k); ok {
				errs = append(errs, fmt.Errorf("option %s is not supported by the streaming file source: %s", k, why))
				continue
			}
			if o.FormatOptions == nil {
				o.FormatOptions = map[string]string{}
			}
			o.FormatOptions[k] = v
		}
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("%w: file source %s: %w", sources.ErrSource, storage.RedactLocation(o.Path), err)
	}
	return o, o.Validate()
}

func lookupFold(m map[string]string, k string) (string, bool) {
	for name, v := range m {
		if strings.EqualFold(name, k) {
			return v, true
		}
	}
	return "", false
}

// ParseDuration reads a Go duration (90s, 12h), a number of days (7d) or
// Spark interval text ("7 days", "1 hour").
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if d, err := time.ParseDuration(t); err == nil {
		return d, nil
	}
	if n, ok := strings.CutSuffix(t, "d"); ok {
		if days, err := strconv.ParseFloat(n, 64); err == nil && days >= 0 && days < 1e5 {
			return time.Duration(days * float64(24*time.Hour)), nil
		}
	}
	iv, err := expr.ParseInterval(t)
	if err != nil || iv.Months != 0 {
		return 0, fmt.Errorf("duration %q: want a duration such as 90s, 12h, 7d or \"7 days\"", s)
	}
	return time.Duration(iv.Days)*24*time.Hour + time.Duration(iv.Nanoseconds), nil
}
