package exec

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Test-only helpers shared by the operator tests: an in-memory source
// operator, row builders and result readers.

// batchesOp is an in-memory source: partition p yields parts[p] in order.
type batchesOp struct {
	schema   *arrow.Schema
	parts    [][]arrow.RecordBatch
	executed atomic.Int64 // Execute calls
	pulled   atomic.Int64 // batches handed out
	failAt   int          // if > 0, the failAt-th Next of any partition fails
}

// newBatchesOp takes ownership of the batches; release them with release().
func newBatchesOp(schema *arrow.Schema, parts [][]arrow.RecordBatch) *batchesOp {
	if len(parts) == 0 {
		parts = [][]arrow.RecordBatch{nil}
	}
	return &batchesOp{schema: schema, parts: parts}
}

func (o *batchesOp) release() {
	for _, p := range o.parts {
		releaseBatches(p)
	}
}

func (o *batchesOp) Schema() *arrow.Schema { return o.schema }
func (o *batchesOp) Partitions() int       { return len(o.parts) }
func (o *batchesOp) Children() []Operator  { return nil }
func (o *batchesOp) String() string        { return fmt.Sprintf("Batches [%d partitions]", len(o.parts)) }
func (o *batchesOp) Execute(ctx context.Context, tc *TaskContext, p int) (Iterator, error) {
	if p < 0 || p >= len(o.parts) {
		return nil, errorf("batchesOp: no partition %d", p)
	}
	o.executed.Add(1)
	return &batchesIter{op: o, bs: o.parts[p]}, nil
}

type batchesIter struct {
	op *batchesOp
	bs []arrow.RecordBatch
	n  int
}

var errInjected = fmt.Errorf("injected failure")

func (it *batchesIter) Next() (arrow.RecordBatch, error) {
	it.n++
	if it.op.failAt > 0 && it.n == it.op.failAt {
		return nil, errInjected
	}
	if len(it.bs) == 0 {
		return nil, io.EOF
	}
	b := it.bs[0]
	it.bs = it.bs[1:]
	b.Retain()
	it.op.pulled.Add(1)
	return b, nil
}
func (it *batchesIter) Close() {}

// mkBatch builds a batch from rows of engine Go values (see expr.ValueAt).
func mkBatch(t testing.TB, mem memory.Allocator, schema *arrow.Schema, rows [][]any) arrow.RecordBatch {
	t.Helper()
	bld := array.NewRecordBuilder(mem, schema)
	defer bld.Release()
	for _, r := range rows {
		for c, v := range r {
			if err := expr.AppendValue(bld.Field(c), v); err != nil {
				t.Fatalf("row %v col %d: %v", r, c, err)
			}
		}
	}
	return bld.NewRecordBatch()
}

// splitRows cuts rows into nparts partitions of batches of at most per rows
// (round-robin by batch), so tests exercise many batches and partitions.
func splitRows(t testing.TB, mem memory.Allocator, schema *arrow.Schema, rows [][]any, nparts, per int) [][]arrow.RecordBatch {
	t.Helper()
	parts := make([][]arrow.RecordBatch, nparts)
	k := 0
	for i := 0; i < len(rows); i += per {
		end := min(i+per, len(rows))
		parts[k%nparts] = append(parts[k%nparts], mkBatch(t, mem, schema, rows[i:end]))
		k++
	}
	return parts
}

// rowsOf reads batches back as rows of engine Go values.
func rowsOf(bs []arrow.RecordBatch) [][]any {
	var out [][]any
	for _, b := range bs {
		for i := 0; i < int(b.NumRows()); i++ {
			r := make([]any, b.NumCols())
			for c := range r {
				r[c] = expr.ValueAt(b.Column(c), i)
			}
			out = append(out, r)
		}
	}
	return out
}

// run executes op with a fresh task context and returns its rows; batches
// are released. Every batch's schema must equal op.Schema().
func run(t testing.TB, mem memory.Allocator, op Operator, batchSize int) [][]any {
	t.Helper()
	rows, err := runErr(mem, op, batchSize)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return rows
}

func runErr(mem memory.Allocator, op Operator, batchSize int) ([][]any, error) {
	tc := NewTaskContext(mem, time.Unix(0, 0))
	if batchSize > 0 {
		tc.BatchSize = batchSize
	}
	bs, err := Collect(context.Background(), tc, op)
	if err != nil {
		return nil, err
	}
	defer releaseBatches(bs)
	for _, b := range bs {
		if !b.Schema().Equal(op.Schema()) {
			return nil, fmt.Errorf("batch schema %s != operator schema %s", b.Schema(), op.Schema())
		}
		if batchSize > 0 && int(b.NumRows()) > batchSize {
			return nil, fmt.Errorf("batch of %d rows exceeds BatchSize %d", b.NumRows(), batchSize)
		}
	}
	return rowsOf(bs), nil
}

func ref(schema *arrow.Schema, name string) *expr.BoundRef {
	idx := schema.FieldIndices(name)
	if len(idx) != 1 {
		panic("no column " + name)
	}
	f := schema.Field(idx[0])
	return &expr.BoundRef{Index: idx[0], Name: name, Type: f.Type, Null: f.Nullable}
}

// equalRows compares rows exactly, treating NaN as equal to NaN.
func equalRows(a, b [][]any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if !valueEqual(a[i][j], b[i][j]) {
				return false
			}
		}
	}
	return true
}

func valueEqual(x, y any) bool {
	switch v := x.(type) {
	case float64:
		if w, ok := y.(float64); ok && v != v && w != w {
			return true
		}
	case float32:
		if w, ok := y.(float32); ok && v != v && w != w {
			return true
		}
	}
	return reflect.DeepEqual(x, y)
}

func newMem() *memory.CheckedAllocator {
	return memory.NewCheckedAllocator(memory.NewGoAllocator())
}

// reportPerRow reports wall and CPU nanoseconds per input row.
func reportPerRow(b *testing.B, rows int, cpu0 time.Duration) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows), "ns/row")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(rows), "cpu-ns/row")
	}
}

// countRows runs op and counts its rows without reading them.
func countRows(t testing.TB, mem memory.Allocator, op Operator) int {
	t.Helper()
	n := 0
	err := Drain(context.Background(), NewTaskContext(mem, time.Unix(0, 0)), op, func(b arrow.RecordBatch) error {
		n += int(b.NumRows())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
