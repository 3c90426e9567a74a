package jobspec

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/trigger"
)

func sortedSources(m map[string]*Source) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// DataFrame builds the job's streaming DataFrame in s: each source opened and
// registered as a view under its name, then the SQL over them. Every
// source's problem is reported, not only the first.
func (sp *Spec) DataFrame(s *dataframe.Session) (*dataframe.DataFrame, error) {
	var errs []error
	for _, name := range sortedSources(sp.Sources) {
		df, err := sp.Sources[name].open(s)
		if err == nil {
			err = df.CreateOrReplaceTempView(name)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: sources.%s: %w", ErrSpec, name, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	df := s.SQL(sp.Query)
	if err := df.Err(); err != nil {
		return nil, fmt.Errorf("%w: query: %w", ErrSpec, err)
	}
	if sp.Sink != nil && sp.Sink.Value != nil {
		// The sink takes one value column: the row as JSON.
		cols := df.Columns()
		quoted := make([]string, len(cols))
		for i, c := range cols {
			quoted[i] = expr.QuoteIdent(c)
		}
		df = df.SelectExpr("to_json(struct(" + strings.Join(quoted, ", ") + ")) AS value")
		if err := df.Err(); err != nil {
			return nil, fmt.Errorf("%w: sink.value: %w", ErrSpec, err)
		}
	}
	return df, nil
}

// options are the source's options by the format's own names: aliases
// resolved and the value block mapped through the format's entry.
func (src *Source) options() (dataframe.Format, map[string]string, error) {
	f, ok := dataframe.LookupFormat(src.Format)
	if !ok {
		return f, nil, fmt.Errorf("unknown format %q; formats: %s", src.Format, dataframe.FormatNames(false))
	}
	opts, err := f.ResolveOptions(src.Options)
	if err != nil {
		return f, nil, err
	}
	if src.Value != nil {
		vo, err := f.ValueOptions(src.Value.all())
		if err != nil {
			return f, nil, fmt.Errorf("value: %w", err)
		}
		for k, v := range vo {
			if _, dup := opts[k]; dup {
				return f, nil, fmt.Errorf("value: option %s is given twice (in value and in %s); keep one", k, f.Name)
			}
			opts[k] = v
		}
	}
	return f, opts, nil
}

func (src *Source) open(s *dataframe.Session) (*dataframe.DataFrame, error) {
	f, opts, err := src.options()
	if err != nil {
		return nil, err
	}
	var paths []string
	if src.Path != "" {
		paths = []string{src.Path}
	}
	var df *dataframe.DataFrame
	if src.Static {
		r := s.Read().Format(f.Name).Options(opts)
		if src.Schema != "" {
			r = r.Schema(src.Schema)
		}
		df = r.Load(paths...)
	} else {
		r := s.ReadStreamFormat(f.Name).Options(opts)
		if src.Schema != "" {
			r = r.Schema(src.Schema)
		}
		df = r.Load(paths...)
	}
	if src.Value != nil && df.Err() == nil {
		df = flattenValue(df)
	}
	if w := src.Watermark; w != nil {
		df = df.WithWatermark(w.Column, w.Delay)
	}
	return df, df.Err()
}

// flattenValue turns a decoded value struct into top-level columns beside
// the record's other columns; a value field hides a record column of the
// same name (a value's timestamp, not Kafka's).
func flattenValue(df *dataframe.DataFrame) *dataframe.DataFrame {
	sc := df.Schema()
	idx := sc.FieldIndices("value")
	if len(idx) != 1 {
		return df
	}
	st, ok := sc.Field(idx[0]).Type.(*arrow.StructType)
	if !ok {
		return df
	}
	inner := map[string]bool{}
	var cols []any
	for _, f := range st.Fields() {
		inner[f.Name] = true
		cols = append(cols, dataframe.Col("value").Field(f.Name).As(f.Name))
	}
	for _, f := range sc.Fields() {
		if f.Name != "value" && !inner[f.Name] {
			cols = append(cols, dataframe.Col(f.Name))
		}
	}
	return df.Select(cols...)
}

// Writer builds the job's streaming query in s, ready to Start: the query,
// its sink, output mode, trigger, checkpoint and name. A cron trigger
// becomes AvailableNow: each firing processes what arrived and stops.
func (sp *Spec) Writer(s *dataframe.Session) (*dataframe.DataStreamWriter, error) {
	if err := sp.Validate(); err != nil {
		return nil, err
	}
	df, err := sp.DataFrame(s)
	if err != nil {
		return nil, err
	}
	w := df.WriteStream().Format(sp.Sink.Format).QueryName(sp.Name)
	f, _ := dataframe.LookupFormat(sp.Sink.Format)
	opts, err := f.ResolveOptions(sp.Sink.Options)
	if err != nil {
		return nil, fmt.Errorf("%w: sink: %w", ErrSpec, err)
	}
	for k, v := range opts {
		w = w.Option(k, v)
	}
	if f.CheckSink != nil {
		mode := sinks.Append
		if sp.OutputMode != "" {
			mode, _ = sinks.ParseOutputMode(sp.OutputMode) // Validate checked it
		}
		var paths []string
		if sp.Sink.Path != "" {
			paths = []string{sp.Sink.Path}
		}
		if err := f.CheckSink(dataframe.FormatOptions{Options: opts, Paths: paths, PartitionBy: sp.Sink.PartitionBy}, mode); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSpec, err) // the sink's errors say "sink"
		}
	}
	if sp.Sink.Path != "" {
		w = w.Option("path", sp.Sink.Path)
	}
	if len(sp.Sink.PartitionBy) > 0 {
		w = w.PartitionBy(sp.Sink.PartitionBy...)
	}
	if sp.OutputMode != "" {
		w = w.OutputModeString(sp.OutputMode)
	}
	if sp.Checkpoint != "" {
		w = w.Option("checkpointLocation", sp.Checkpoint)
	}
	t := sp.Trigger
	switch {
	case t.ProcessingTime != "":
		d, _ := dataframe.ParseDuration(t.ProcessingTime)
		w = w.Trigger(trigger.ProcessingTime(d))
	case t.Once:
		w = w.Trigger(trigger.Once())
	case t.AvailableNow, t.Cron != "":
		w = w.Trigger(trigger.AvailableNow())
	}
	return w, nil
}

// DefaultShufflePartitions is the state partitions of a job that does not
// set shufflePartitions.
const DefaultShufflePartitions = 4

// NewSession makes the session a job runs in.
func (sp *Spec) NewSession() *dataframe.Session {
	n := sp.ShufflePartitions
	if n == 0 {
		n = DefaultShufflePartitions
	}
	return dataframe.NewSessionWith(dataframe.Config{ShufflePartitions: n})
}
