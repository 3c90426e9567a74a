package dataframe

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sinks/console"
	sinkfiles "github.com/sluicehq/sluice/sinks/files"
	"github.com/sluicehq/sluice/sources"
)

// A Format is a source and/or sink known by name. The DataFrame API
// (ReadStreamFormat, WriteStream().Format) and job specs reach every
// source and sink through this one list, so a format added here is
// usable everywhere with the same option names.
type Format struct {
	Name string
	// Doc is a one-line description for help texts.
	Doc string
	// Source opens a streaming source; nil if the format cannot be read
	// as a stream.
	Source func(ctx context.Context, s *Session, o FormatOptions) (sources.Source, error)
	// Batch reads the format once, as a batch DataFrame
	// (s.Read().Format(name)...Load(paths...)); nil for file formats,
	// which the reader handles itself, and for sink-only formats.
	Batch func(ctx context.Context, s *Session, o FormatOptions) (*DataFrame, error)
	// Sink opens a streaming sink; nil if the format cannot be written by
	// a streaming query.
	Sink func(ctx context.Context, s *Session, o FormatOptions) (sinks.Sink, error)
	// Aliases map spec-friendly option names to the format's own
	// (bootstrapServers -> kafka.bootstrap.servers), declared here so job
	// specs need no second mapping. A key "value.NAME" names the option
	// behind NAME in a job spec's value block (value.format -> valueFormat).
	Aliases map[string]string
	// CheckSink, if set, checks a sink's options and output mode without
	// opening it (no side effects), so a job spec's unknown option or
	// impossible mode is a validation error; the opened sink checks again.
	CheckSink func(o FormatOptions, mode sinks.OutputMode) error
}

// CanRead reports whether s.Read().Format(f.Name) reads the format as a
// batch: its own Batch, or the file reader.
func (f Format) CanRead() bool {
	if f.Batch != nil {
		return true
	}
	_, ok := fileformat.Lookup(f.Name)
	return ok
}

// ResolveOptions renames the aliases in opts to the format's option
// names (other keys pass unchanged, for the format to check). Giving an
// option under both names is an error.
func (f Format) ResolveOptions(opts map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(opts))
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys) // aliases first or not, the message is the same
	var dup []string
	for _, k := range keys {
		name := k
		if a, ok := f.Aliases[k]; ok && !strings.HasPrefix(k, "value.") {
			name = a
		}
		if _, seen := out[name]; seen {
			dup = append(dup, name)
			continue
		}
		out[name] = opts[k]
	}
	if len(dup) > 0 {
		return nil, fmt.Errorf("%s option %s is given twice (under its name and an alias); keep one", f.Name, strings.Join(dup, ", "))
	}
	return out, nil
}

// ValueOptions maps the keys of a job spec's value block ({format: json,
// schema: "..."}) to the format's options through its "value.NAME"
// aliases. A format without such aliases does not decode values.
func (f Format) ValueOptions(value map[string]string) (map[string]string, error) {
	names := f.ValueOptionNames()
	if len(names) == 0 {
		return nil, fmt.Errorf("the %s format does not decode a value column; remove value (decode with from_json in the query)", f.Name)
	}
	out := make(map[string]string, len(value))
	var bad []string
	for k, v := range value {
		o, ok := f.Aliases["value."+k]
		if !ok {
			bad = append(bad, k)
			continue
		}
		out[o] = v
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return nil, fmt.Errorf("unknown value option %s; the %s format takes %s", strings.Join(bad, ", "), f.Name, strings.Join(names, ", "))
	}
	return out, nil
}

// ValueOptionNames lists the keys of a value block the format takes.
func (f Format) ValueOptionNames() []string {
	var names []string
	for k := range f.Aliases {
		if n, ok := strings.CutPrefix(k, "value."); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// FormatOptions are one use of a format.
type FormatOptions struct {
	// Options are the user's options, by Spark's names.
	Options map[string]string
	// Schema is the user's schema, nil if not given.
	Schema *arrow.Schema
	// Paths are the locations given to Load (sources) or the path option
	// (sinks).
	Paths []string
	// For sinks: the query's output schema, its stable id (the same after
	// a restart on the same checkpoint) and name, and PartitionBy columns.
	Input       *arrow.Schema
	QueryID     string
	QueryName   string
	PartitionBy []string
}

// formats lists the built-in formats.
var formats = []Format{
	{Name: "console", Doc: "prints each batch as a table (debugging; replays print again)", Sink: openConsoleSink, CheckSink: checkConsoleSink},
	{Name: "memory", Doc: "keeps the output as a table named by QueryName, queryable with s.Table", Sink: openMemorySink},
	kafkaFormat, // format_kafka.go
	{Name: "parquet", Doc: "Parquet files: a directory or glob read as new files arrive; exactly-once output with a manifest (append mode)", Source: openFileSource("parquet"), Sink: openFileSink("parquet"), CheckSink: checkFileSink("parquet")},
	{Name: "csv", Doc: "CSV files: a directory or glob read as new files arrive; exactly-once output with a manifest (append mode)", Source: openFileSource("csv"), Sink: openFileSink("csv"), CheckSink: checkFileSink("csv")},
	{Name: "json", Doc: "JSON lines files: a directory or glob read as new files arrive; exactly-once output with a manifest (append mode)", Source: openFileSource("json"), Sink: openFileSink("json"), CheckSink: checkFileSink("json")},
	{Name: "text", Doc: "text files read line by line into a value column as new files arrive", Source: openFileSource("text")},
	{Name: "rate", Doc: "generated (timestamp, value) rows at rowsPerSecond, or rowsPerBatch per batch (tests, load)", Source: openRateSource},
}

// checkFileSink is the file sinks' CheckSink: append only (files are
// immutable once written, as in Spark), a path, and options the sink
// parses.
func checkFileSink(format string) func(FormatOptions, sinks.OutputMode) error {
	return func(o FormatOptions, mode sinks.OutputMode) error {
		var errs []error
		if mode != sinks.Append {
			errs = append(errs, fmt.Errorf("%w: the %s file sink supports output mode append only, not %s: files are immutable once written, so rows cannot be updated or replaced. "+
				"Use append with a watermark for aggregations, or foreachBatch (merge each batch yourself) or the Kafka sink for upserts", sinks.ErrSink, format, mode))
		}
		opts := make(map[string]string, len(o.Options)+1)
		for k, v := range o.Options {
			opts[k] = v
		}
		if len(o.Paths) > 0 {
			opts["path"] = o.Paths[0]
		}
		if _, err := sinkfiles.ParseOptions(format, o.PartitionBy, opts); err != nil {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}
}

func checkConsoleSink(o FormatOptions, _ sinks.OutputMode) error {
	_, err := console.ParseOptions(o.Options)
	return err
}

// Formats returns the built-in formats, by name.
func Formats() []Format {
	out := append([]Format(nil), formats...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LookupFormat finds a format by name (case-insensitive).
func LookupFormat(name string) (Format, bool) {
	for _, f := range formats {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return Format{}, false
}

// FormatNames lists, comma-separated, the formats that can act as a sink
// (or, with sink false, as a streaming source): for messages.
func FormatNames(sink bool) string {
	var names []string
	for _, f := range Formats() {
		if (sink && f.Sink != nil) || (!sink && f.Source != nil) {
			names = append(names, f.Name)
		}
	}
	return strings.Join(names, ", ")
}

func openConsoleSink(_ context.Context, _ *Session, o FormatOptions) (sinks.Sink, error) {
	co, err := console.ParseOptions(o.Options)
	if err != nil {
		return nil, err
	}
	return console.New(co), nil
}

func openMemorySink(_ context.Context, _ *Session, o FormatOptions) (sinks.Sink, error) {
	if o.QueryName == "" {
		return nil, fmt.Errorf("%w: the memory sink needs a QueryName: it is the table name to query", ErrStreaming)
	}
	return newMemorySinkTable(o.QueryName, o.Input), nil
}

// DataStreamReader configures a streaming source by format name:
//
//	df := s.ReadStreamFormat("kafka").
//	    Option("kafka.bootstrap.servers", "localhost:9092").
//	    Option("subscribe", "user-clicks").Load()
type DataStreamReader struct {
	s      *Session
	format string
	opts   map[string]string
	schema *arrow.Schema
	err    error
}

// ReadStreamFormat starts configuring a streaming source of a built-in
// format (see Formats); ReadStream takes a source value instead.
func (s *Session) ReadStreamFormat(format string) *DataStreamReader {
	return &DataStreamReader{s: s, format: format, opts: map[string]string{}}
}

// Option sets a source option by Spark's name.
func (r *DataStreamReader) Option(key, value string) *DataStreamReader {
	r.opts[key] = value
	return r
}

// Options sets several options.
func (r *DataStreamReader) Options(opts map[string]string) *DataStreamReader {
	for k, v := range opts {
		r.opts[k] = v
	}
	return r
}

// Schema sets the source's schema as DDL ("a INT, b STRING").
func (r *DataStreamReader) Schema(ddl string) *DataStreamReader {
	sc, err := expr.ParseDDL(ddl)
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("%w: stream reader schema: %w", ErrStreaming, err)
	}
	r.schema = sc
	return r
}

// ArrowSchema sets the source's schema.
func (r *DataStreamReader) ArrowSchema(sc *arrow.Schema) *DataStreamReader {
	r.schema = sc
	return r
}

// Load opens the source (checking its options now) and returns the
// streaming DataFrame over it.
func (r *DataStreamReader) Load(paths ...string) *DataFrame {
	df := &DataFrame{s: r.s}
	if r.err != nil {
		return df.fail(r.err)
	}
	f, ok := LookupFormat(r.format)
	if !ok || f.Source == nil {
		return df.fail(fmt.Errorf("%w: unknown streaming source format %q; formats: %s", ErrStreaming, r.format, FormatNames(false)))
	}
	src, err := f.Source(context.Background(), r.s, FormatOptions{Options: r.opts, Schema: r.schema, Paths: paths})
	if err != nil {
		return df.fail(fmt.Errorf("%w: %s source: %w", ErrStreaming, f.Name, err))
	}
	return r.s.ReadStream(src)
}
