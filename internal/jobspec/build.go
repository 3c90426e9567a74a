package jobspec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sluicehq/sluice/dataframe"
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
// registered as a view under its name, then the SQL over them.
func (sp *Spec) DataFrame(s *dataframe.Session) (*dataframe.DataFrame, error) {
	for _, name := range sortedSources(sp.Sources) {
		df, err := sp.Sources[name].open(s)
		if err != nil {
			return nil, fmt.Errorf("%w: sources.%s: %w", ErrSpec, name, err)
		}
		if err := df.CreateOrReplaceTempView(name); err != nil {
			return nil, fmt.Errorf("%w: sources.%s: %w", ErrSpec, name, err)
		}
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
			quoted[i] = "`" + strings.ReplaceAll(c, "`", "``") + "`"
		}
		df = df.SelectExpr("to_json(struct(" + strings.Join(quoted, ", ") + ")) AS value")
		if err := df.Err(); err != nil {
			return nil, fmt.Errorf("%w: sink.value: %w", ErrSpec, err)
		}
	}
	return df, nil
}

func (src *Source) open(s *dataframe.Session) (*dataframe.DataFrame, error) {
	r := s.ReadStreamFormat(src.Format).Options(src.Options)
	if src.Schema != "" {
		r = r.Schema(src.Schema)
	}
	var paths []string
	if src.Path != "" {
		paths = []string{src.Path}
	}
	df := r.Load(paths...)
	if v := src.Value; v != nil {
		// Decode the value, keep the record's other columns beside it.
		var keep []string
		for _, c := range df.Columns() {
			if c != "value" {
				keep = append(keep, "`"+c+"`")
			}
		}
		schema := strings.ReplaceAll(v.Schema, "'", "\\'")
		df = df.SelectExpr(append([]string{"from_json(CAST(value AS STRING), '" + schema + "') AS __value"}, keep...)...).
			SelectExpr(append([]string{"__value.*"}, keep...)...)
	}
	if w := src.Watermark; w != nil {
		df = df.WithWatermark(w.Column, w.Delay)
	}
	return df, df.Err()
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
	for k, v := range sp.Sink.Options {
		w = w.Option(k, v)
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
