package dataframe

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/sinks"
	sinkfiles "github.com/sluicehq/sluice/sinks/files"
	"github.com/sluicehq/sluice/sources"
	srcfiles "github.com/sluicehq/sluice/sources/files"
	"github.com/sluicehq/sluice/sources/rate"
)

// The file formats and the rate source as entries of the format list:
//
//	s.ReadStreamFormat("json").Schema("id BIGINT, ts TIMESTAMP").
//	    Option("maxFilesPerTrigger", "10").Load("s3://bucket/in/*.json")
//	df.WriteStream().Format("parquet").Option("path", "out").
//	    Option("checkpointLocation", "ckpt").PartitionBy("day").Start(ctx)
//
// Batch reads of file formats stay with DataFrameReader, which plans a
// FileScan; these entries give the streaming source (sources/files) and
// the exactly-once file sink (sinks/files).

// openFileSource returns the Source opener of a file format.
func openFileSource(format string) func(ctx context.Context, s *Session, o FormatOptions) (sources.Source, error) {
	return func(ctx context.Context, s *Session, o FormatOptions) (sources.Source, error) {
		opts := make(map[string]string, len(o.Options)+1)
		for k, v := range o.Options {
			opts[k] = v
		}
		switch {
		case len(o.Paths) > 1:
			return nil, fmt.Errorf("the streaming file source reads one path (a directory or a glob such as dir/*/*.%s); Load got %d", format, len(o.Paths))
		case len(o.Paths) == 1:
			for k := range opts {
				if strings.EqualFold(k, "path") {
					return nil, fmt.Errorf("the path is given twice (Load(%q) and option %s); keep one", o.Paths[0], k)
				}
			}
			opts["path"] = o.Paths[0]
		}
		var ddl string
		if o.Schema != nil {
			ddl = schemaDDL(o.Schema)
		}
		fo, err := srcfiles.ParseOptions(format, ddl, opts)
		if err != nil {
			return nil, err
		}
		fo.Mem = s.conf.Allocator
		fo.BatchSize = s.conf.BatchSize
		return srcfiles.New(ctx, fo)
	}
}

// openFileSink returns the Sink opener of a file format (append mode
// only: the sink refuses other modes at Start, with the reason).
func openFileSink(format string) func(ctx context.Context, s *Session, o FormatOptions) (sinks.Sink, error) {
	return func(ctx context.Context, s *Session, o FormatOptions) (sinks.Sink, error) {
		hasPath := len(o.Paths) > 0
		for k := range o.Options {
			hasPath = hasPath || strings.EqualFold(k, "path")
		}
		if !hasPath {
			return nil, fmt.Errorf("option path is required: the output directory (a local path, file:///path or s3://bucket/prefix), as in Option(\"path\", \"out/\")")
		}
		if o.Input != nil {
			for _, c := range o.PartitionBy {
				if len(o.Input.FieldIndices(c)) == 0 {
					names := make([]string, o.Input.NumFields())
					for i, f := range o.Input.Fields() {
						names[i] = f.Name
					}
					return nil, fmt.Errorf("PartitionBy column %q is not in the query's output; columns: %s", c, strings.Join(names, ", "))
				}
			}
		}
		fo, err := sinkfiles.ParseOptions(format, o.PartitionBy, o.Options)
		if err != nil {
			return nil, err
		}
		fo.Mem = s.conf.Allocator
		return sinkfiles.New(fo)
	}
}

// schemaDDL renders a schema as DDL that expr.ParseDDL reads back (the
// file source takes its schema as DDL, as job specs give it).
func schemaDDL(sc *arrow.Schema) string {
	parts := make([]string, sc.NumFields())
	for i, f := range sc.Fields() {
		parts[i] = expr.QuoteIdent(f.Name) + " " + expr.TypeName(f.Type)
		if !f.Nullable {
			parts[i] += " NOT NULL"
		}
	}
	return strings.Join(parts, ", ")
}

// rateOptionNames are the rate source's options, by Spark's names.
var rateOptionNames = []string{"rowsPerSecond", "rampUpTime", "numPartitions", "rowsPerBatch", "startTimestamp", "advanceMillisPerBatch"}

// parseRateOptions reads the rate source's options (case-insensitive
// names, as in Spark). rampUpTime is a duration (5s) or whole seconds.
func parseRateOptions(m map[string]string) (rate.Options, error) {
	var o rate.Options
	var errs []string
	num := func(k, v string, min int64) int64 {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < min {
			errs = append(errs, fmt.Sprintf("option %s=%q must be an integer of at least %d", k, v, min))
		}
		return n
	}
	for k, v := range m {
		switch strings.ToLower(k) {
		case "rowspersecond":
			o.RowsPerSecond = num(k, v, 1)
		case "rampuptime":
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n >= 0 {
				o.RampUpTime = time.Duration(n) * time.Second
			} else if d, err := parseDelay(v); err == nil && d >= 0 {
				o.RampUpTime = d
			} else {
				errs = append(errs, fmt.Sprintf("option %s=%q must be a duration such as 5s or whole seconds", k, v))
			}
		case "numpartitions":
			o.NumPartitions = int(num(k, v, 1))
		case "rowsperbatch":
			o.RowsPerBatch = num(k, v, 1)
		case "starttimestamp":
			o.StartTimestamp = num(k, v, 0)
		case "advancemillisperbatch":
			o.AdvanceMillisPerBatch = num(k, v, 0)
		default:
			errs = append(errs, fmt.Sprintf("unknown option %q; the rate source takes %s", k, strings.Join(rateOptionNames, ", ")))
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs) // map order must not change the message
		return o, fmt.Errorf("%w: rate source: %s", sources.ErrSource, strings.Join(errs, "; "))
	}
	if o.RowsPerBatch == 0 && (o.StartTimestamp != 0 || o.AdvanceMillisPerBatch != 0) {
		return o, fmt.Errorf("%w: rate source: startTimestamp and advanceMillisPerBatch apply with rowsPerBatch (a fixed number of rows per batch); set rowsPerBatch or remove them", sources.ErrSource)
	}
	return o, o.Validate()
}

func openRateSource(_ context.Context, s *Session, o FormatOptions) (sources.Source, error) {
	if o.Schema != nil {
		return nil, fmt.Errorf("the rate source has a fixed schema (timestamp TIMESTAMP, value BIGINT); remove Schema(...)")
	}
	if len(o.Paths) > 0 {
		return nil, fmt.Errorf("the rate source reads no path; call Load() without arguments")
	}
	ro, err := parseRateOptions(o.Options)
	if err != nil {
		return nil, err
	}
	ro.Mem = s.conf.Allocator
	return rate.New(ro)
}
