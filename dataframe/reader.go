package dataframe

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/plan"
	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
)

// DataFrameReader loads files into a DataFrame:
//
//	s.Read().Schema("user_id STRING, ts TIMESTAMP").Option("header", "true").CSV("data/*.csv")
type DataFrameReader struct {
	s      *Session
	format string
	schema *arrow.Schema
	opts   map[string]string
	err    error
}

// Read starts a batch read.
func (s *Session) Read() *DataFrameReader {
	return &DataFrameReader{s: s, format: "parquet", opts: map[string]string{}}
}

// Format sets the file format: parquet (default), csv, json, text.
func (r *DataFrameReader) Format(f string) *DataFrameReader {
	r.format = strings.ToLower(f)
	return r
}

// Schema sets the data schema from a DDL string ("a INT, b STRING").
func (r *DataFrameReader) Schema(ddl string) *DataFrameReader {
	s, err := expr.ParseDDL(ddl)
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("dataframe: reader schema: %w", err)
	}
	r.schema = s
	return r
}

// ArrowSchema sets the data schema from an arrow.Schema.
func (r *DataFrameReader) ArrowSchema(s *arrow.Schema) *DataFrameReader {
	r.schema = s
	return r
}

// Option sets a format option by its Spark name (header, delimiter,
// inferSchema, ...).
func (r *DataFrameReader) Option(key, value string) *DataFrameReader {
	r.opts[key] = value
	return r
}

// Options sets several options.
func (r *DataFrameReader) Options(opts map[string]string) *DataFrameReader {
	for k, v := range opts {
		r.opts[k] = v
	}
	return r
}

// Parquet, CSV, JSON and Text load paths (files, directories or globs) in
// that format.
func (r *DataFrameReader) Parquet(paths ...string) *DataFrame {
	return r.Format("parquet").Load(paths...)
}
func (r *DataFrameReader) CSV(paths ...string) *DataFrame  { return r.Format("csv").Load(paths...) }
func (r *DataFrameReader) JSON(paths ...string) *DataFrame { return r.Format("json").Load(paths...) }
func (r *DataFrameReader) Text(paths ...string) *DataFrame { return r.Format("text").Load(paths...) }

// Load lists the files under paths now (like Spark) and returns a lazy
// DataFrame over them. A missing path is an error here.
func (r *DataFrameReader) Load(paths ...string) *DataFrame {
	df := &DataFrame{s: r.s}
	if r.err != nil {
		return df.fail(r.err)
	}
	if f, ok := LookupFormat(r.format); ok && f.Batch != nil {
		out, err := f.Batch(context.Background(), r.s, FormatOptions{Options: r.opts, Schema: r.schema, Paths: paths})
		if err != nil {
			return df.fail(fmt.Errorf("dataframe: read %s: %w", f.Name, err))
		}
		return out
	}
	scan, err := r.scan(context.Background(), paths)
	if err != nil {
		return df.fail(err)
	}
	df.plan = scan
	return df
}

func (r *DataFrameReader) scan(ctx context.Context, paths []string) (*plan.FileScan, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("dataframe: read %s: no path given", r.format)
	}
	f, ok := fileformat.Lookup(r.format)
	if !ok {
		names := make([]string, len(fileformat.Formats))
		for i, x := range fileformat.Formats {
			names[i] = x.Name()
		}
		return nil, fmt.Errorf("dataframe: unknown format %q; formats: %s", r.format, strings.Join(names, ", "))
	}
	if err := fileformat.ValidateOptions(f.Name(), r.opts); err != nil {
		return nil, fmt.Errorf("dataframe: read %s: %w", f.Name(), err)
	}
	// Locations may hold secrets (s3://...?secretAccessKey=): messages and
	// the plan show them redacted.
	shown := make([]string, len(paths))
	for i, p := range paths {
		shown[i] = storage.RedactLocation(p)
	}
	var files []fileformat.FileInfo
	for _, p := range paths {
		fs, err := fileformat.ListFiles(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("dataframe: read %s: %w", f.Name(), err)
		}
		files = append(files, fs...)
	}
	partSchema, err := fileformat.PartitionSchema(files)
	if err != nil {
		return nil, fmt.Errorf("dataframe: read %s: %w", f.Name(), err)
	}
	schema := r.schema
	if schema == nil && f.Name() != "parquet" && f.Name() != "text" && !strings.EqualFold(r.opts["inferSchema"], "true") {
		return nil, fmt.Errorf("dataframe: read %s from %s: %w: pass Schema(\"col TYPE, ...\") or Option(\"inferSchema\", \"true\")",
			f.Name(), strings.Join(shown, ", "), fileformat.ErrNoSchema)
	}
	if schema == nil {
		if len(files) == 0 {
			return nil, fmt.Errorf("dataframe: read %s from %s: no files found and no schema given, so the columns are unknown; pass Schema(...)", f.Name(), strings.Join(shown, ", "))
		}
		schema, err = f.Infer(ctx, files[0].Path, fileformat.ReadOptions{Options: r.opts, Mem: r.s.conf.Allocator})
		if err != nil {
			if errors.Is(err, fileformat.ErrNoSchema) {
				return nil, fmt.Errorf("dataframe: read %s: %w (pass Schema(\"col TYPE, ...\") or Option(\"inferSchema\", \"true\"))", f.Name(), err)
			}
			return nil, fmt.Errorf("dataframe: read %s: %w", f.Name(), err)
		}
	}
	// A user schema may name partition columns (as in Spark): they take
	// the user's type, leave the data schema and come last.
	if partSchema != nil && r.schema != nil {
		var data, parts []arrow.Field
		for _, f := range schema.Fields() {
			if len(partSchema.FieldIndices(f.Name)) > 0 {
				parts = append(parts, f)
			} else {
				data = append(data, f)
			}
		}
		if len(parts) > 0 {
			declared := arrow.NewSchema(parts, nil)
			var rest []arrow.Field
			for _, pf := range partSchema.Fields() {
				if len(declared.FieldIndices(pf.Name)) == 0 {
					rest = append(rest, pf)
				}
			}
			for _, f := range parts {
				for _, file := range files {
					if _, err := fileformat.PartitionValueOf(file.Partition[f.Name], f.Type); err != nil {
						return nil, fmt.Errorf("dataframe: read %s: %s: partition column %s as %s: %w", r.format, fileformat.DisplayName(file.Path), f.Name, expr.TypeName(f.Type), err)
					}
				}
			}
			schema = arrow.NewSchema(data, nil)
			partSchema = arrow.NewSchema(append(rest, parts...), nil)
		}
	}
	// Partition columns that are also in the data schema come from the data.
	if partSchema != nil {
		var keep []arrow.Field
		for _, pf := range partSchema.Fields() {
			if len(schema.FieldIndices(pf.Name)) == 0 {
				keep = append(keep, pf)
			}
		}
		partSchema = nil
		if len(keep) > 0 {
			partSchema = arrow.NewSchema(keep, nil)
		}
	}
	return &plan.FileScan{Format: f.Name(), Paths: shown, Options: r.opts, DataSchema: schema,
		PartitionSchema: partSchema, Files: files}, nil
}
