package fileformat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// pqAllTypesSchema covers every type the engine reads and writes, nested
// ones included; everything is nullable except the req_ columns.
func pqAllTypesSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
		{Name: "i16", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "d9", Type: &arrow.Decimal128Type{Precision: 9, Scale: 2}, Nullable: true},
		{Name: "d18", Type: &arrow.Decimal128Type{Precision: 18, Scale: 4}, Nullable: true},
		{Name: "d38", Type: &arrow.Decimal128Type{Precision: 38, Scale: 10}, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "dt", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "ts", Type: expr.Timestamp, Nullable: true},
		{Name: "st", Type: arrow.StructOf(
			arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
			arrow.Field{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true}), Nullable: true},
		{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
		{Name: "ll", Type: arrow.ListOf(arrow.ListOf(arrow.BinaryTypes.String)), Nullable: true},
		{Name: "ls", Type: arrow.ListOf(arrow.StructOf(
			arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			arrow.Field{Name: "y", Type: arrow.BinaryTypes.String, Nullable: true})), Nullable: true},
		{Name: "m", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64), Nullable: true},
		{Name: "sl", Type: arrow.StructOf(
			arrow.Field{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
			arrow.Field{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true}), Nullable: true},
		{Name: "req_i64", Type: arrow.PrimitiveTypes.Int64},
		{Name: "req_s", Type: arrow.BinaryTypes.String},
	}, nil)
}

func pqLoadAllTypes(t testing.TB, mem memory.Allocator) arrow.RecordBatch {
	t.Helper()
	data, err := os.ReadFile("testdata/parquet/alltypes.json")
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := array.RecordFromJSON(mem, pqAllTypesSchema(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// pqWriteParquet writes batches to a file in t's temp dir.
func pqWriteParquet(t testing.TB, schema *arrow.Schema, opts map[string]string, recs ...arrow.RecordBatch) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := Parquet{}.NewWriter(f, schema, WriteOptions{Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// pqReadAll reads a file and concatenates the batches into one.
func pqReadAll(t testing.TB, mem memory.Allocator, path string, opts ReadOptions) (arrow.RecordBatch, int) {
	t.Helper()
	opts.Mem = mem
	r, err := Parquet{}.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var recs []arrow.RecordBatch
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	for {
		b, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if opts.BatchSize > 0 && b.NumRows() > int64(opts.BatchSize) {
			t.Fatalf("batch of %d rows, BatchSize %d", b.NumRows(), opts.BatchSize)
		}
		recs = append(recs, b)
	}
	return pqConcatBatches(t, mem, r.Schema(), recs), len(recs)
}

func pqConcatBatches(t testing.TB, mem memory.Allocator, schema *arrow.Schema, recs []arrow.RecordBatch) arrow.RecordBatch {
	t.Helper()
	cols := make([]arrow.Array, schema.NumFields())
	var n int64
	for _, r := range recs {
		n += r.NumRows()
	}
	for i := range cols {
		parts := make([]arrow.Array, 0, len(recs))
		for _, r := range recs {
			parts = append(parts, r.Column(i))
		}
		if len(parts) == 0 {
			cols[i] = array.MakeArrayOfNull(mem, schema.Field(i).Type, 0)
			continue
		}
		c, err := array.Concatenate(parts, mem)
		if err != nil {
			t.Fatal(err)
		}
		cols[i] = c
	}
	out := array.NewRecordBatch(schema, cols, n)
	for _, c := range cols {
		c.Release()
	}
	return out
}

// pqRowsText renders a batch row by row, for readable diffs.
func pqRowsText(b arrow.RecordBatch) string {
	var sb strings.Builder
	for i := 0; i < int(b.NumRows()); i++ {
		for j := 0; j < int(b.NumCols()); j++ {
			if j > 0 {
				sb.WriteString(" | ")
			}
			sb.WriteString(expr.FormatValue(expr.ValueAt(b.Column(j), i), b.Column(j).DataType(), true))
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

func pqAssertSameRows(t *testing.T, want, got arrow.RecordBatch) {
	t.Helper()
	if w, g := pqRowsText(want), pqRowsText(got); w != g {
		t.Fatalf("rows differ\nwant:\n%s\ngot:\n%s", w, g)
	}
	for i := 0; i < int(want.NumCols()); i++ {
		if !array.Equal(want.Column(i), got.Column(i)) {
			t.Fatalf("column %s: arrays differ\nwant %v\ngot  %v", want.ColumnName(i), want.Column(i), got.Column(i))
		}
	}
}

func TestParquetRoundTripAllTypes(t *testing.T) {
	cases := []struct {
		name      string
		opts      map[string]string
		batchSize int
		slice     bool
	}{
		{name: "default"},
		{name: "small row groups and batches", opts: map[string]string{"rowGroupSize": "3"}, batchSize: 2},
		{name: "zstd", opts: map[string]string{"compression": "zstd"}, batchSize: 1},
		{name: "gzip", opts: map[string]string{"compression": "gzip"}},
		{name: "none", opts: map[string]string{"compression": "none"}},
		{name: "sliced input", slice: true, batchSize: 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rec := pqLoadAllTypes(t, mem)
			defer rec.Release()
			in := []arrow.RecordBatch{rec}
			if c.slice {
				a, b := rec.NewSlice(0, 3), rec.NewSlice(3, rec.NumRows())
				defer a.Release()
				defer b.Release()
				in = []arrow.RecordBatch{a, b}
			}
			path := pqWriteParquet(t, rec.Schema(), c.opts, in...)
			got, _ := pqReadAll(t, mem, path, ReadOptions{Schema: rec.Schema(), BatchSize: c.batchSize})
			defer got.Release()
			pqAssertSameRows(t, rec, got)

			// Infer proposes the written schema back.
			s, err := Parquet{}.Infer(context.Background(), path, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !s.Equal(rec.Schema()) {
				t.Fatalf("inferred schema\n%s\nwant\n%s", s, rec.Schema())
			}
		})
	}
}

func TestParquetProjection(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := pqLoadAllTypes(t, mem)
	defer rec.Release()
	path := pqWriteParquet(t, rec.Schema(), nil, rec)
	cols := []int{16, 10, 0}
	got, _ := pqReadAll(t, mem, path, ReadOptions{Schema: rec.Schema(), Columns: cols})
	defer got.Release()
	if got.NumCols() != 3 || got.ColumnName(0) != "ll" || got.ColumnName(1) != "s" || got.ColumnName(2) != "b" {
		t.Fatalf("projected schema %s", got.Schema())
	}
	for i, c := range cols {
		if !array.Equal(rec.Column(c), got.Column(i)) {
			t.Fatalf("column %s differs", rec.ColumnName(c))
		}
	}
	// No columns at all still yields the row count (count(*)).
	none, _ := pqReadAll(t, mem, path, ReadOptions{Schema: rec.Schema(), Columns: []int{}})
	defer none.Release()
	if none.NumRows() != rec.NumRows() || none.NumCols() != 0 {
		t.Fatalf("zero-column read: %d rows %d cols", none.NumRows(), none.NumCols())
	}
}

func TestParquetEmpty(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := pqAllTypesSchema()
	path := pqWriteParquet(t, schema, nil)
	got, nb := pqReadAll(t, mem, path, ReadOptions{})
	defer got.Release()
	if got.NumRows() != 0 || nb != 0 {
		t.Fatalf("empty file gave %d rows in %d batches", got.NumRows(), nb)
	}
	if !got.Schema().Equal(schema) {
		t.Fatalf("schema %s", got.Schema())
	}
	// An empty batch is accepted and writes nothing.
	cols := pqEmptyCols(mem, schema)
	empty := array.NewRecordBatch(schema, cols, 0)
	pqReleaseArrays(cols)
	defer empty.Release()
	path = pqWriteParquet(t, schema, nil, empty)
	got2, _ := pqReadAll(t, mem, path, ReadOptions{})
	defer got2.Release()
	if got2.NumRows() != 0 {
		t.Fatal("rows from an empty batch")
	}
}

func pqEmptyCols(mem memory.Allocator, s *arrow.Schema) []arrow.Array {
	cols := make([]arrow.Array, s.NumFields())
	for i, f := range s.Fields() {
		b := array.NewBuilder(mem, f.Type)
		cols[i] = b.NewArray()
		b.Release()
	}
	return cols
}

func pqReleaseArrays(cols []arrow.Array) {
	for _, c := range cols {
		c.Release()
	}
}

// pqInt64Batch makes a one-column batch x = lo..hi-1 with every 10th NULL
// when withNulls.
func pqInt64Batch(mem memory.Allocator, name string, lo, hi int64, withNulls bool) arrow.RecordBatch {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	sb := array.NewStringBuilder(mem)
	defer sb.Release()
	for i := lo; i < hi; i++ {
		if withNulls && i%10 == 5 {
			b.AppendNull()
			sb.AppendNull()
			continue
		}
		b.Append(i)
		sb.Append(fmt.Sprintf("s%04d", i))
	}
	x, s := b.NewArray(), sb.NewArray()
	defer x.Release()
	defer s.Release()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: name, Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	return array.NewRecordBatch(schema, []arrow.Array{x, s}, hi-lo)
}

func TestParquetRowGroupSkipping(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	// 10 row groups of 100 rows: x in [100g, 100g+99]. Group 3 is all NULL.
	var recs []arrow.RecordBatch
	for g := int64(0); g < 10; g++ {
		var r arrow.RecordBatch
		if g == 3 {
			nb := array.NewInt64Builder(mem)
			sb := array.NewStringBuilder(mem)
			for i := 0; i < 100; i++ {
				nb.AppendNull()
				sb.AppendNull()
			}
			x, s := nb.NewArray(), sb.NewArray()
			proto := pqInt64Batch(mem, "x", 0, 0, false)
			r = array.NewRecordBatch(proto.Schema(), []arrow.Array{x, s}, 100)
			proto.Release()
			x.Release()
			s.Release()
			nb.Release()
			sb.Release()
		} else {
			r = pqInt64Batch(mem, "x", g*100, g*100+100, g == 7)
		}
		recs = append(recs, r)
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	path := pqWriteParquet(t, recs[0].Schema(), map[string]string{"rowGroupSize": "100"}, recs...)
	cases := []struct {
		filters []Filter
		rows    int64
	}{
		{nil, 1000},
		{[]Filter{{Column: "x", Op: "=", Value: int64(250)}}, 100},
		{[]Filter{{Column: "x", Op: "=", Value: int32(250)}}, 100},
		{[]Filter{{Column: "x", Op: "=", Value: 250.0}}, 100},
		{[]Filter{{Column: "x", Op: "=", Value: int64(5000)}}, 0},
		{[]Filter{{Column: "x", Op: ">=", Value: int64(950)}}, 100},
		{[]Filter{{Column: "x", Op: ">", Value: int64(899)}}, 100},
		{[]Filter{{Column: "x", Op: "<", Value: int64(100)}}, 100},
		{[]Filter{{Column: "x", Op: "<=", Value: int64(100)}}, 200},
		{[]Filter{{Column: "x", Op: "!=", Value: int64(1)}}, 900},
		{[]Filter{{Column: "x", Op: "in", Value: []any{int64(5), nil, int64(605)}}}, 200},
		{[]Filter{{Column: "x", Op: "isnull"}}, 200},    // group 3 and group 7 (every 10th null)
		{[]Filter{{Column: "x", Op: "isnotnull"}}, 900}, // all but group 3
		{[]Filter{{Column: "s", Op: "=", Value: "s0420"}}, 100},
		{[]Filter{{Column: "s", Op: ">", Value: "s0899"}}, 100},
		{[]Filter{{Column: "x", Op: ">=", Value: int64(100)}, {Column: "x", Op: "<", Value: int64(200)}}, 100},
		{[]Filter{{Column: "nosuch", Op: "=", Value: int64(1)}}, 1000},
		{[]Filter{{Column: "x", Op: "=", Value: "not a number"}}, 900}, // incomparable: kept (only all-NULL group 3 goes)
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.filters), func(t *testing.T) {
			got, _ := pqReadAll(t, mem, path, ReadOptions{Filters: c.filters})
			defer got.Release()
			if got.NumRows() != c.rows {
				t.Fatalf("read %d rows, want %d", got.NumRows(), c.rows)
			}
		})
	}
}

func TestParquetSchemaCheck(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := pqLoadAllTypes(t, mem)
	defer rec.Release()
	path := pqWriteParquet(t, rec.Schema(), nil, rec)
	field := func(name string, dt arrow.DataType) *arrow.Schema {
		return arrow.NewSchema([]arrow.Field{{Name: name, Type: dt, Nullable: true}}, nil)
	}
	bad := []struct {
		schema *arrow.Schema
		column string
	}{
		{field("missing_col", arrow.PrimitiveTypes.Int64), "missing_col"},
		{field("s", arrow.PrimitiveTypes.Int64), "s"},
		{field("i64", arrow.PrimitiveTypes.Int32), "i64"}, // narrowing
		{field("f64", arrow.PrimitiveTypes.Float32), "f64"},
		{field("d18", &arrow.Decimal128Type{Precision: 18, Scale: 2}), "d18"},
		{field("st", arrow.StructOf(arrow.Field{Name: "zz", Type: arrow.PrimitiveTypes.Int32})), "st"},
		{field("l", arrow.PrimitiveTypes.Int64), "l"},
		{field("i32", arrow.ListOf(arrow.PrimitiveTypes.Int32)), "i32"},
	}
	for _, c := range bad {
		_, err := Parquet{}.Open(context.Background(), path, ReadOptions{Schema: c.schema, Mem: mem})
		if !errors.Is(err, ErrSchemaMismatch) {
			t.Fatalf("%s: want ErrSchemaMismatch, got %v", c.schema, err)
		}
		if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.column) {
			t.Fatalf("error %q does not name the file and column %q", err, c.column)
		}
	}
	// Safe widenings read fine.
	widen := arrow.NewSchema([]arrow.Field{
		{Name: "i8", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "i16", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "d9", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}, Nullable: true},
		{Name: "bin", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "S", Type: arrow.BinaryTypes.String, Nullable: true}, // case-insensitive match
	}, nil)
	got, _ := pqReadAll(t, mem, path, ReadOptions{Schema: widen})
	defer got.Release()
	for i := 0; i < int(rec.NumRows()); i++ {
		want := []any{expr.ValueAt(rec.Column(1), i), expr.ValueAt(rec.Column(2), i), expr.ValueAt(rec.Column(3), i), expr.ValueAt(rec.Column(5), i)}
		for j, w := range want {
			g := expr.ValueAt(got.Column(j), i)
			if w == nil || g == nil {
				if (w == nil) != (g == nil) {
					t.Fatalf("row %d col %d: null mismatch %v %v", i, j, w, g)
				}
				continue
			}
			if c, ok := compareValues(w, g); !ok || c != 0 {
				t.Fatalf("row %d col %d: %v != %v", i, j, w, g)
			}
		}
	}
}

func TestParquetWriteOptionErrors(t *testing.T) {
	s := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
	for _, o := range []map[string]string{
		{"compression": "lzo"},
		{"rowGroupSize": "0"},
		{"rowGroupSize": "ten"},
		{"pageSize": "12"},
	} {
		if _, err := (Parquet{}).NewWriter(io.Discard, s, WriteOptions{Options: o}); !errors.Is(err, ErrOption) {
			t.Fatalf("%v: want ErrOption, got %v", o, err)
		}
	}
	bad := arrow.NewSchema([]arrow.Field{{Name: "iv", Type: arrow.FixedWidthTypes.MonthDayNanoInterval}}, nil)
	if _, err := (Parquet{}).NewWriter(io.Discard, bad, WriteOptions{}); !errors.Is(err, ErrSchemaMismatch) || !strings.Contains(err.Error(), "iv") {
		t.Fatalf("interval column: %v", err)
	}
}

func TestParquetMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.parquet")
	_, err := Parquet{}.Open(context.Background(), p, ReadOptions{})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), p) {
		t.Fatalf("got %v", err)
	}
}

func TestParquetValidateOptions(t *testing.T) {
	if err := ValidateOptions("parquet", map[string]string{"compression": "ZSTD", "rowGroupSize": "1000", "path": "/x", "mergeSchema": "true"}); err != nil {
		t.Fatal(err)
	}
	err := ValidateOptions("parquet", map[string]string{"compression": "lzo", "rowGroupSiz": "10", "pageSize": "x"})
	if !errors.Is(err, ErrOption) {
		t.Fatal(err)
	}
	for _, want := range []string{"lzo", "rowGroupSiz", "did you mean", "pageSize"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("%q missing from %v", want, err)
		}
	}
}

// TestParquetNestedManyPages crosses page, batch and row group boundaries
// inside nested columns (levels spanning pages).
func TestParquetNestedManyPages(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
		{Name: "st", Type: arrow.StructOf(
			arrow.Field{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
			arrow.Field{Name: "ls", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true}), Nullable: true},
		{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	lb := b.Field(0).(*array.ListBuilder)
	lv := lb.ValueBuilder().(*array.Int64Builder)
	sb := b.Field(1).(*array.StructBuilder)
	ss := sb.FieldBuilder(0).(*array.StringBuilder)
	sl := sb.FieldBuilder(1).(*array.ListBuilder)
	slv := sl.ValueBuilder().(*array.StringBuilder)
	xb := b.Field(2).(*array.Int64Builder)
	const n = 20000
	for i := 0; i < n; i++ {
		switch i % 7 {
		case 0:
			lb.AppendNull()
		default:
			lb.Append(true)
			for j := 0; j < i%5; j++ {
				if (i+j)%11 == 0 {
					lv.AppendNull()
				} else {
					lv.Append(int64(i*10 + j))
				}
			}
		}
		if i%13 == 0 {
			sb.AppendNull()
		} else {
			sb.Append(true)
			if i%3 == 0 {
				ss.AppendNull()
			} else {
				ss.Append(fmt.Sprintf("row-%d", i))
			}
			if i%4 == 0 {
				sl.AppendNull()
			} else {
				sl.Append(true)
				for j := 0; j < i%3; j++ {
					slv.Append(fmt.Sprintf("t%d", j))
				}
			}
		}
		if i%17 == 0 {
			xb.AppendNull()
		} else {
			xb.Append(int64(i))
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	path := pqWriteParquet(t, schema, map[string]string{"pageSize": "1024", "rowGroupSize": "7000"}, rec)
	got, nb := pqReadAll(t, mem, path, ReadOptions{BatchSize: 3000})
	defer got.Release()
	if nb != 8 { // 7000+7000+6000 rows in batches of <= 3000: 3+3+2
		t.Fatalf("%d batches", nb)
	}
	pqAssertSameRows(t, rec, got)
}

// TestParquetWritesTimestampUnits: any Arrow unit is written as UTC
// microseconds (the engine's timestamp), flooring nanoseconds.
func TestParquetWritesTimestampUnits(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	units := []arrow.TimeUnit{arrow.Second, arrow.Millisecond, arrow.Microsecond, arrow.Nanosecond}
	raw := []int64{-1501, 0, 1, 1_700_000_000_123}
	var fields []arrow.Field
	var cols []arrow.Array
	for _, u := range units {
		dt := &arrow.TimestampType{Unit: u, TimeZone: "UTC"}
		b := array.NewTimestampBuilder(mem, dt)
		for _, v := range raw {
			b.Append(arrow.Timestamp(v))
		}
		b.AppendNull()
		fields = append(fields, arrow.Field{Name: u.String(), Type: dt, Nullable: true})
		cols = append(cols, b.NewArray())
		b.Release()
	}
	schema := arrow.NewSchema(fields, nil)
	rec := array.NewRecordBatch(schema, cols, int64(len(raw)+1))
	pqReleaseArrays(cols)
	defer rec.Release()
	path := pqWriteParquet(t, schema, nil, rec)
	got, _ := pqReadAll(t, mem, path, ReadOptions{})
	defer got.Release()
	for c, u := range units {
		a := got.Column(c).(*array.Timestamp)
		if a.DataType().(*arrow.TimestampType).Unit != arrow.Microsecond || !a.IsNull(len(raw)) {
			t.Fatalf("%s: %s", u, a.DataType())
		}
		for i, v := range raw {
			want := expr.ValueAt(rec.Column(c), i) // ValueAt converts to micros
			if g := a.Value(i); int64(g) != int64(want.(arrow.Timestamp)) && !(u == arrow.Nanosecond && int64(g) == pqFloorDiv(v, 1000)) {
				t.Fatalf("%s row %d: got %d want %v", u, i, g, want)
			}
		}
	}
}

func TestParquetRowGroupSplit(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := pqInt64Batch(mem, "x", 0, 1000, true)
	defer rec.Release()
	path := pqWriteParquet(t, rec.Schema(), map[string]string{"rowGroupSize": "150"}, rec)
	groups, rows, err := Parquet{}.Splits(context.Background(), path)
	if err != nil || groups != 7 || rows != 1000 {
		t.Fatalf("Splits: %d %d %v", groups, rows, err)
	}
	var parts []arrow.RecordBatch
	for k := 0; k < 3; k++ {
		got, _ := pqReadAll(t, mem, path, ReadOptions{Options: map[string]string{"rowGroupSplit": fmt.Sprintf("%d/3", k)}})
		defer got.Release()
		parts = append(parts, got)
	}
	if n := parts[0].NumRows() + parts[1].NumRows() + parts[2].NumRows(); n != 1000 || parts[0].NumRows() != 400 { // groups 0, 3, 6 (the last has 100 rows)
		t.Fatalf("split rows %d %d %d", parts[0].NumRows(), parts[1].NumRows(), parts[2].NumRows())
	}
	// Part 1 holds row groups 1 and 4: x from 150 and from 600.
	if v := parts[1].Column(0).(*array.Int64).Value(0); v != 150 {
		t.Fatalf("part 1 starts at %d", v)
	}
	for _, bad := range []string{"3/3", "x", "1/0", "-1/2"} {
		if _, err := (Parquet{}).Open(context.Background(), path, ReadOptions{Options: map[string]string{"rowGroupSplit": bad}}); !errors.Is(err, ErrOption) {
			t.Fatalf("%q: %v", bad, err)
		}
		if err := ValidateOptions("parquet", map[string]string{"rowGroupSplit": bad}); !errors.Is(err, ErrOption) {
			t.Fatalf("validate %q: %v", bad, err)
		}
	}
}
