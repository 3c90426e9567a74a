package dataframe

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe/exec"
	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/expr/agg"
	"github.com/sluicehq/sluice/dataframe/plan"
	"github.com/sluicehq/sluice/internal/tableformat"
)

func isAggName(name string) bool {
	_, ok := agg.Lookup(name)
	return ok
}

func sortStrings(s []string) { sort.Strings(s) }

// physical optimises and plans df.
func (df *DataFrame) physical() (plan.Node, exec.Operator, error) {
	if err := df.checkBatch(); err != nil {
		return nil, nil, err
	}
	opt, err := plan.Optimize(df.plan)
	if err != nil {
		return nil, nil, err
	}
	pl := &exec.Planner{Partitions: df.s.conf.ShufflePartitions}
	op, err := pl.Plan(opt)
	if err != nil {
		return opt, nil, err
	}
	return opt, op, nil
}

func (df *DataFrame) taskContext() *exec.TaskContext {
	tc := exec.NewTaskContext(df.s.conf.Allocator, df.s.conf.Clock.Now())
	tc.BatchSize = df.s.conf.BatchSize
	return tc
}

// Execute runs df and calls fn with each result batch, from one goroutine
// at a time; fn must Retain a batch it keeps.
func (df *DataFrame) Execute(fn func(arrow.RecordBatch) error) error {
	_, op, err := df.physical()
	if err != nil {
		return err
	}
	return exec.Drain(df.context(), df.taskContext(), op, fn)
}

// Collect runs df and returns its result batches; the caller Releases each.
func (df *DataFrame) Collect() ([]arrow.RecordBatch, error) {
	_, op, err := df.physical()
	if err != nil {
		return nil, err
	}
	return exec.Collect(df.context(), df.taskContext(), op)
}

// Row is one result row. Values use Go types: bool, int8..int64,
// float32/64, string, []byte, time.Time (timestamps in UTC and dates at
// midnight UTC), decimal values as strings, []any for arrays, map[string]any
// for structs, nil for NULL.
type Row []any

// Rows runs df and returns every row. Meant for small results and tests.
func (df *DataFrame) Rows() ([]Row, error) {
	var rows []Row
	schema := df.Schema()
	err := df.Execute(func(b arrow.RecordBatch) error {
		for i := 0; i < int(b.NumRows()); i++ {
			r := make(Row, b.NumCols())
			for c := range r {
				r[c] = goValue(expr.ValueAt(b.Column(c), i), schema.Field(c).Type)
			}
			rows = append(rows, r)
		}
		return nil
	})
	return rows, err
}

func goValue(v any, dt arrow.DataType) any {
	switch x := v.(type) {
	case arrow.Timestamp:
		return time.UnixMicro(int64(x)).UTC()
	case arrow.Date32:
		return x.ToTime().UTC()
	case []any:
		if st, ok := dt.(*arrow.StructType); ok {
			m := make(map[string]any, len(x))
			for i, f := range st.Fields() {
				m[f.Name] = goValue(x[i], f.Type)
			}
			return m
		}
		var elem arrow.DataType
		if lt, ok := dt.(*arrow.ListType); ok {
			elem = lt.Elem()
		}
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = goValue(it, elem)
		}
		return out
	case nil:
		return nil
	}
	if dt != nil && dt.ID() == arrow.DECIMAL128 {
		return expr.FormatValue(v, dt, false)
	}
	return v
}

// Count runs df and returns its number of rows.
func (df *DataFrame) Count() (int64, error) {
	if df.err != nil {
		return 0, df.err
	}
	c := df.Agg(Count("*").As("count"))
	var n int64
	err := c.Execute(func(b arrow.RecordBatch) error {
		if b.NumRows() > 0 {
			n = b.Column(0).(*array.Int64).Value(0)
		}
		return nil
	})
	return n, err
}

// Show prints the first n rows (default 20) as an aligned table, like
// Spark's show(); strings longer than 20 characters are truncated unless
// truncate is false.
func (df *DataFrame) Show(n ...int) error {
	rows := 20
	if len(n) > 0 {
		rows = n[0]
	}
	s, err := df.ShowString(rows, true)
	if err != nil {
		return err
	}
	_, err = io.WriteString(os.Stdout, s)
	return err
}

// ShowString renders the table Show prints. As in Spark, truncate also
// decides alignment: right-aligned when truncating, left-aligned when not.
func (df *DataFrame) ShowString(n int, truncate bool) (string, error) {
	if df.err != nil {
		return "", df.err
	}
	n = max(n, 0) // Spark shows no rows for a negative count
	limited := df.Limit(n + 1)
	var cells [][]string
	err := limited.Execute(func(b arrow.RecordBatch) error {
		cells = tableformat.Cells(b, -1, truncate, cells)
		return nil
	})
	if err != nil {
		return "", err
	}
	more := len(cells) > n
	if more {
		cells = cells[:n]
	}
	return tableformat.FormatAligned(df.Columns(), cells, more, n, truncate), nil
}

// FormatTable renders rows as Spark's show() does.
func FormatTable(header []string, cells [][]string, more bool, n int) string {
	return tableformat.Format(header, cells, more, n)
}

// PrintSchema prints the schema as a tree, like Spark's printSchema.
func (df *DataFrame) PrintSchema() error {
	s, err := df.SchemaString()
	if err != nil {
		return err
	}
	_, err = io.WriteString(os.Stdout, s)
	return err
}

// SchemaString renders the schema tree PrintSchema prints.
func (df *DataFrame) SchemaString() (string, error) {
	if df.err != nil {
		return "", df.err
	}
	var b strings.Builder
	b.WriteString("root\n")
	var walk func(fields []arrow.Field, depth int)
	walk = func(fields []arrow.Field, depth int) {
		for _, f := range fields {
			fmt.Fprintf(&b, " |%s-- %s: %s (nullable = %v)\n", strings.Repeat("    |", depth), f.Name, typeLabel(f.Type), f.Nullable)
			switch t := f.Type.(type) {
			case *arrow.StructType:
				walk(t.Fields(), depth+1)
			case *arrow.ListType:
				fmt.Fprintf(&b, " |%s-- element: %s (containsNull = true)\n", strings.Repeat("    |", depth+1), typeLabel(t.Elem()))
				if st, ok := t.Elem().(*arrow.StructType); ok {
					walk(st.Fields(), depth+2)
				}
			}
		}
	}
	walk(df.Schema().Fields(), 0)
	return b.String(), nil
}

// typeLabel is Spark's typeName, which printSchema uses (integer, long).
func typeLabel(t arrow.DataType) string {
	switch t.ID() {
	case arrow.STRUCT:
		return "struct"
	case arrow.LIST:
		return "array"
	case arrow.MAP:
		return "map"
	case arrow.INT8:
		return "byte"
	case arrow.INT16:
		return "short"
	case arrow.INT32:
		return "integer"
	case arrow.INT64:
		return "long"
	}
	return expr.TypeName(t)
}

// Explain returns the analysed logical plan; with extended, also the
// optimised logical plan and the physical plan, as Spark's explain(true).
// A DataFrame holding an error explains the error.
func (df *DataFrame) Explain(extended ...bool) string {
	if df.err != nil {
		return "== Error ==\n" + df.err.Error() + "\n"
	}
	ext := len(extended) > 0 && extended[0]
	if plan.IsStreaming(df.plan) {
		// A stream is planned per micro-batch, around its state; its
		// logical plans are what the query runs.
		var b strings.Builder
		if ext {
			b.WriteString("== Analyzed Logical Plan ==\n")
			b.WriteString(plan.Explain(df.plan))
			b.WriteString("\n")
		}
		b.WriteString("== Optimized Logical Plan (streaming: planned per micro-batch) ==\n")
		opt, err := plan.Optimize(df.plan)
		if err != nil {
			b.WriteString("error: " + err.Error() + "\n")
		} else {
			b.WriteString(plan.Explain(opt))
		}
		return b.String()
	}
	opt, op, err := df.physical()
	var b strings.Builder
	if ext {
		b.WriteString("== Analyzed Logical Plan ==\n")
		b.WriteString(plan.Explain(df.plan))
		b.WriteString("\n== Optimized Logical Plan ==\n")
		if opt != nil {
			b.WriteString(plan.Explain(opt))
		}
		b.WriteString("\n")
	}
	b.WriteString("== Physical Plan ==\n")
	if err != nil {
		b.WriteString("error: " + err.Error() + "\n")
	} else {
		b.WriteString(exec.Explain(op))
	}
	return b.String()
}

// CreateDataFrame makes a DataFrame over in-memory batches. The batches
// must stay alive (unreleased) while the DataFrame is used.
func (s *Session) CreateDataFrame(schema *arrow.Schema, batches ...arrow.RecordBatch) *DataFrame {
	for i, b := range batches {
		if !b.Schema().Equal(schema) {
			return &DataFrame{s: s, err: fmt.Errorf("dataframe: batch %d has schema %s, want %s", i, b.Schema(), schema)}
		}
	}
	return &DataFrame{s: s, plan: &plan.LocalRelation{Attrs: plan.AttrsOf(schema, ""), Batches: batches}}
}

var _ = context.Background

func execDrain(df *DataFrame, tc *exec.TaskContext, op exec.Operator, fn func(arrow.RecordBatch) error) error {
	return exec.Drain(df.context(), tc, op, fn)
}
