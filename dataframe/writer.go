package dataframe

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/internal/fileformat"
)

// DataFrameWriter saves a DataFrame to files:
//
//	df.Write().Mode("overwrite").PartitionBy("day").Parquet("out/")
type DataFrameWriter struct {
	df          *DataFrame
	format      string
	mode        string
	partitionBy []string
	opts        map[string]string
}

// Write starts a batch write.
func (df *DataFrame) Write() *DataFrameWriter {
	return &DataFrameWriter{df: df, format: "parquet", mode: "errorifexists", opts: map[string]string{}}
}

// Mode sets what happens when the target exists: error / errorifexists
// (default), overwrite, append, ignore.
func (w *DataFrameWriter) Mode(m string) *DataFrameWriter {
	w.mode = strings.ToLower(m)
	return w
}

// Format sets the file format: parquet (default), csv, json, text.
func (w *DataFrameWriter) Format(f string) *DataFrameWriter {
	w.format = strings.ToLower(f)
	return w
}

// PartitionBy writes Hive-style directories col=value/ for these columns.
func (w *DataFrameWriter) PartitionBy(cols ...string) *DataFrameWriter {
	w.partitionBy = append(w.partitionBy, cols...)
	return w
}

// Option sets a format option (compression, header, ...).
func (w *DataFrameWriter) Option(key, value string) *DataFrameWriter {
	w.opts[key] = value
	return w
}

func (w *DataFrameWriter) Parquet(path string) error { return w.Format("parquet").Save(path) }
func (w *DataFrameWriter) CSV(path string) error     { return w.Format("csv").Save(path) }
func (w *DataFrameWriter) JSON(path string) error    { return w.Format("json").Save(path) }
func (w *DataFrameWriter) Text(path string) error    { return w.Format("text").Save(path) }

// Save runs the query and writes its result under path.
func (w *DataFrameWriter) Save(path string) error {
	df := w.df
	if df.err != nil {
		return df.err
	}
	f, ok := fileformat.Lookup(w.format)
	if !ok {
		return fmt.Errorf("dataframe: unknown format %q", w.format)
	}
	switch w.mode {
	case "error", "errorifexists", "overwrite", "append", "ignore":
	default:
		return fmt.Errorf("dataframe: save mode %q is not one of error, errorifexists, overwrite, append, ignore", w.mode)
	}
	if err := fileformat.ValidateOptions(f.Name(), w.opts); err != nil {
		return fmt.Errorf("dataframe: write %s: %w", f.Name(), err)
	}
	schema := df.Schema()
	for _, p := range w.partitionBy {
		if len(schema.FieldIndices(p)) == 0 {
			return fmt.Errorf("dataframe: PartitionBy column %q is not in the DataFrame; columns: %s", p, strings.Join(df.Columns(), ", "))
		}
	}
	_, op, err := df.physical()
	if err != nil {
		return err
	}
	tc := df.taskContext()
	return fileformat.WriteDataset(df.context(), path, f, schema, func(emit func(arrow.RecordBatch) error) error {
		return execDrain(df, tc, op, emit)
	}, fileformat.DatasetWriteOptions{Mode: w.mode, PartitionBy: w.partitionBy, Options: w.opts})
}
