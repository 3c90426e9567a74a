// Package jobspec reads job spec files: a streaming job (sources, a SQL
// transformation, a sink, output mode, trigger, checkpoint) as YAML, for
// `sluice run`, `validate`, `explain` and `schedule`. Formats and their
// options come from the dataframe format list, so a spec reaches every
// source and sink the Go API reaches, under the same option names.
package jobspec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluicehq/sluice/dataframe"
)

// ErrSpec marks a bad job spec.
var ErrSpec = errors.New("jobspec")

// Spec is one job. Zero values take the documented defaults.
type Spec struct {
	// Name names the query (progress, logs, the memory sink's table).
	Name string `yaml:"name"`
	// Sources are registered as temporary views under their keys, for
	// Query to read.
	Sources map[string]*Source `yaml:"sources"`
	// Query is a Spark SQL SELECT over the sources.
	Query string `yaml:"query"`
	Sink  *Sink  `yaml:"sink"`
	// OutputMode is append (default), update or complete.
	OutputMode string `yaml:"outputMode"`
	// Trigger defaults to running batches back to back as data arrives.
	Trigger Trigger `yaml:"trigger"`
	// Checkpoint is a directory or s3://bucket/prefix. Required except
	// for the console and memory sinks.
	Checkpoint string `yaml:"checkpoint"`
	// ShufflePartitions is the number of state partitions (default 4);
	// fixed by the checkpoint's first run.
	ShufflePartitions int `yaml:"shufflePartitions"`

	// File is where the spec was read from, for messages.
	File string `yaml:"-"`
}

// Source is one input: exactly one format key (kafka, parquet, csv, json,
// text, rate, ...) with that format's options, plus optional decoding and
// watermark.
type Source struct {
	Format  string
	Options map[string]string
	// Path is a file source's directory or glob (also accepted as the
	// option "path").
	Path string
	// Schema is the source's schema as DDL ("a INT, b STRING"), for
	// formats that need one.
	Schema string
	// Value decodes a binary value column (Kafka) into columns.
	Value *Value
	// Watermark declares the event-time column and its allowed lateness.
	Watermark *Watermark
	// Static reads the source as a table, not a stream: a dimension to
	// join a stream with. As in Spark, it is read again for every
	// micro-batch, so a change to it shows in the next batch.
	Static bool
	line   int
}

// Value is how a Kafka value is decoded (sources) or encoded (sinks).
// A source's value block is format plus that format's value options, by
// the names its registry entry declares (dataframe.Format.Aliases
// "value.NAME": for kafka format, schema, subject, avroSchema,
// schemaRegistryUrl, ...). A sink's value block is {format: json}: each
// row is written as one JSON object.
type Value struct {
	// Format is json or avro (sources), json (sinks).
	Format string
	// Options are the block's other keys (schema, subject, ...).
	Options map[string]string
	line    int
}

// UnmarshalYAML reads a value block: a mapping of single values.
func (v *Value) UnmarshalYAML(n *yaml.Node) error {
	v.line = n.Line
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: value is a mapping such as {format: json, schema: \"a INT, b STRING\"}", n.Line)
	}
	v.Options = map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if val.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: value option %s must be a single value", val.Line, k.Value)
		}
		if k.Value == "format" {
			v.Format = val.Value
			continue
		}
		v.Options[k.Value] = val.Value
	}
	return nil
}

// all is the value block as one map, format included.
func (v *Value) all() map[string]string {
	m := make(map[string]string, len(v.Options)+1)
	for k, x := range v.Options {
		m[k] = x
	}
	m["format"] = v.Format
	return m
}

// Watermark is WithWatermark(Column, Delay).
type Watermark struct {
	Column string `yaml:"column"`
	Delay  string `yaml:"delay"`
}

// Sink is the output: exactly one format key with its options, plus
// optional value encoding and partitioning.
type Sink struct {
	Format      string
	Options     map[string]string
	Path        string
	Value       *Value
	PartitionBy []string
	line        int
}

// Trigger is one of ProcessingTime, Once, AvailableNow or Cron.
type Trigger struct {
	// ProcessingTime runs a batch every interval ("10s").
	ProcessingTime string `yaml:"processingTime"`
	// Once runs one batch and stops.
	Once bool `yaml:"once"`
	// AvailableNow processes everything available in rate-limited batches
	// and stops.
	AvailableNow bool `yaml:"availableNow"`
	// Cron ("*/15 * * * *") runs the job as AvailableNow at each firing
	// under `sluice schedule`.
	Cron string `yaml:"cron"`
	// Timezone of Cron (default UTC).
	Timezone string `yaml:"timezone"`
	// RunMissed runs once at schedule start when a firing was missed
	// while the scheduler was down.
	RunMissed bool `yaml:"runMissed"`
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Load reads and parses a spec file; see Parse.
func Load(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	sp, err := Parse(data, os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sp.File = path
	return sp, nil
}

// Parse reads a spec: ${NAME} is replaced by the environment variable
// (an unset one is an error), unknown fields are errors with their line.
// It does not validate; call Validate.
func Parse(data []byte, env func(string) (string, bool)) (*Spec, error) {
	var missing []string
	data = envRef.ReplaceAllFunc(data, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		v, ok := env(name)
		if !ok {
			missing = append(missing, name)
			return m
		}
		return []byte(v)
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: environment variable(s) %s not set (used as ${NAME} in the spec)", ErrSpec, strings.Join(missing, ", "))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var sp Spec
	if err := dec.Decode(&sp); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the spec is empty", ErrSpec)
		}
		return nil, fmt.Errorf("%w: %s", ErrSpec, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return &sp, nil
}

// UnmarshalYAML reads a source: its one format key and the fixed fields.
func (s *Source) UnmarshalYAML(n *yaml.Node) error {
	s.line = n.Line
	return decodeIO(n, "source", false, func(key string, v *yaml.Node) (bool, error) {
		switch key {
		case "path":
			return true, v.Decode(&s.Path)
		case "schema":
			return true, v.Decode(&s.Schema)
		case "value":
			return true, v.Decode(&s.Value)
		case "watermark":
			return true, strictDecode(v, &s.Watermark)
		case "static":
			return true, v.Decode(&s.Static)
		}
		return false, nil
	}, &s.Format, &s.Options)
}

// UnmarshalYAML reads a sink: its one format key and the fixed fields.
func (s *Sink) UnmarshalYAML(n *yaml.Node) error {
	s.line = n.Line
	return decodeIO(n, "sink", true, func(key string, v *yaml.Node) (bool, error) {
		switch key {
		case "path":
			return true, v.Decode(&s.Path)
		case "value":
			return true, v.Decode(&s.Value)
		case "partitionBy":
			return true, v.Decode(&s.PartitionBy)
		}
		return false, nil
	}, &s.Format, &s.Options)
}

// strictDecode decodes a nested mapping rejecting unknown fields (a
// custom unmarshaler does not inherit the decoder's KnownFields).
func strictDecode[T any](n *yaml.Node, into **T) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: expected a mapping", n.Line)
	}
	var zero T
	known := yamlFields(zero)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if !known[k] {
			return fmt.Errorf("line %d: field %s not found; fields: %s", n.Content[i].Line, k, strings.Join(sortedKeys(known), ", "))
		}
	}
	v := new(T)
	if err := n.Decode(v); err != nil {
		return err
	}
	*into = v
	return nil
}

// yamlFields are the yaml keys of a struct's fields, from their tags.
func yamlFields(v any) map[string]bool {
	known := map[string]bool{}
	t := reflect.TypeOf(v)
	for i := 0; i < t.NumField(); i++ {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "" && name != "-" {
			known[name] = true
		}
	}
	return known
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// decodeIO reads a source or sink mapping: fixed fields through field,
// and exactly one key naming a format whose value is its options.
func decodeIO(n *yaml.Node, what string, sink bool, field func(string, *yaml.Node) (bool, error), format *string, opts *map[string]string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a %s is a mapping with one format key (%s)", n.Line, what, dataframe.FormatNames(sink))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ok, err := field(k.Value, v)
		if err != nil {
			return fmt.Errorf("line %d: %s.%s: %w", k.Line, what, k.Value, err)
		}
		if ok {
			continue
		}
		f, found := dataframe.LookupFormat(k.Value)
		if !found || (sink && f.Sink == nil) || (!sink && f.Source == nil) {
			return fmt.Errorf("line %d: %s: unknown field or format %q; formats: %s", k.Line, what, k.Value, dataframe.FormatNames(sink))
		}
		if *format != "" {
			return fmt.Errorf("line %d: %s has two formats, %s and %s; give one", k.Line, what, *format, f.Name)
		}
		*format = f.Name
		m := map[string]string{}
		if v.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(v.Content); j += 2 {
				ok, ov := v.Content[j], v.Content[j+1]
				if ov.Kind != yaml.ScalarNode {
					return fmt.Errorf("line %d: %s option %s must be a single value", ov.Line, f.Name, ok.Value)
				}
				m[ok.Value] = ov.Value
			}
		} else if !(v.Kind == yaml.ScalarNode && (v.Tag == "!!null" || v.Value == "")) {
			return fmt.Errorf("line %d: %s options must be a mapping (%s: {option: value, ...})", v.Line, f.Name, f.Name)
		}
		*opts = m
	}
	if *format == "" {
		return fmt.Errorf("line %d: %s names no format; give one of %s", n.Line, what, dataframe.FormatNames(sink))
	}
	return nil
}
