package fileformat

import (
	"bytes"
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sluicehq/sluice/dataframe/expr"
)

// allTypesBatch builds rows covering every scalar type, NULLs, empty and
// awkward strings. nested adds a struct and list column (JSON only).
func allTypesBatch(t *testing.T, mem memory.Allocator, nested bool) arrow.RecordBatch {
	t.Helper()
	fields := []arrow.Field{
		{Name: "bo", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
		{Name: "i16", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "dec", Type: &arrow.Decimal128Type{Precision: 20, Scale: 3}, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "d", Type: expr.Date, Nullable: true},
		{Name: "ts", Type: expr.Timestamp, Nullable: true},
	}
	if nested {
		fields = append(fields,
			arrow.Field{Name: "st", Type: arrow.StructOf(
				arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
				arrow.Field{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true}), Nullable: true},
			arrow.Field{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64), Nullable: true})
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	strs := []string{"plain", "", "with,comma", "(null row)", "line\nbreak\r\nand tab\t", "ünïcødé €", " padded ", "quote \" and \\ backslash"}
	const n = 8
	for r := 0; r < n; r++ {
		null := r == 3 // one all-NULL row
		for c := range fields {
			fb := b.Field(c)
			if null {
				fb.AppendNull()
				continue
			}
			switch x := fb.(type) {
			case *array.BooleanBuilder:
				x.Append(r%2 == 0)
			case *array.Int8Builder:
				x.Append([]int8{math.MinInt8, math.MaxInt8, 0, 0, -1, 1, 2, 3}[r])
			case *array.Int16Builder:
				x.Append([]int16{math.MinInt16, math.MaxInt16, 0, 0, -1, 1, 2, 3}[r])
			case *array.Int32Builder:
				x.Append([]int32{math.MinInt32, math.MaxInt32, 0, 0, -1, 1, 2, 3}[r])
			case *array.Int64Builder:
				x.Append([]int64{math.MinInt64, math.MaxInt64, 0, 0, -1, 1, 2, 3}[r])
			case *array.Float32Builder:
				x.Append([]float32{float32(math.Inf(-1)), 3.4e38, 1.5, 0, float32(math.NaN()), 1e-7, 0.1, -2.5}[r])
			case *array.Float64Builder:
				x.Append([]float64{math.Inf(1), -1.7976931348623157e308, 1.0 / 3, 0, math.NaN(), 5e-324, 1e21, 1e-3}[r])
			case *array.Decimal128Builder:
				v, _ := decimal128.FromString([]string{"-99999999999999999.999", "12.345", "0", "0", "-0.001", "1", "7", "8.5"}[r], 20, 3)
				x.Append(v)
			case *array.StringBuilder:
				x.Append(strs[r])
			case *array.BinaryBuilder:
				x.Append([]byte(strs[r]))
			case *array.Date32Builder:
				x.Append(arrow.Date32([]int32{-719162, 0, 20455, 0, -1, 2932896, 1, 2}[r]))
			case *array.TimestampBuilder:
				x.Append(arrow.Timestamp([]int64{-62135596800000000, 0, 1767323045123456, 0, -1, 253402300799999999, 1, 1500}[r]))
			case *array.StructBuilder:
				if r == 5 {
					x.AppendNull()
					continue
				}
				x.Append(true)
				if r == 2 {
					x.FieldBuilder(0).AppendNull()
				} else {
					x.FieldBuilder(0).(*array.Int64Builder).Append(int64(r))
				}
				lb := x.FieldBuilder(1).(*array.ListBuilder)
				lb.Append(true)
				for k := 0; k < r%3; k++ {
					lb.ValueBuilder().(*array.StringBuilder).Append(strs[k])
				}
				if r == 6 {
					lb.ValueBuilder().AppendNull()
				}
			case *array.ListBuilder:
				if r == 4 {
					x.AppendNull()
					continue
				}
				x.Append(true)
				for k := 0; k < r%4; k++ {
					x.ValueBuilder().(*array.Float64Builder).Append(float64(k) + 0.5)
				}
			}
		}
	}
	return b.NewRecordBatch()
}

// writeRead writes batch with format and options, then reads it back with
// the same schema through a file named name.
func writeRead(t *testing.T, format Format, batch arrow.RecordBatch, name string, wopts, ropts map[string]string, mem memory.Allocator) (arrow.RecordBatch, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w, err := format.NewWriter(&buf, batch.Schema(), WriteOptions{Mem: mem, Options: wopts})
	if err != nil {
		t.Fatal(err)
	}
	// Write in two slices to exercise array offsets.
	half := batch.NumRows() / 2
	for _, part := range []arrow.RecordBatch{batch.NewSlice(0, half), batch.NewSlice(half, batch.NumRows())} {
		if err := w.Write(part); err != nil {
			t.Fatal(err)
		}
		part.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := format.Open(context.Background(), path, ReadOptions{Schema: batch.Schema(), Mem: mem, Options: ropts})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var parts []arrow.RecordBatch
	for {
		b, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			for _, p := range parts {
				p.Release()
			}
			t.Fatalf("read back: %v\nfile:\n%s", err, buf.String())
		}
		parts = append(parts, b)
	}
	if len(parts) != 1 {
		t.Fatalf("got %d batches", len(parts))
	}
	return parts[0], buf.Bytes()
}

func assertSameRows(t *testing.T, want, got arrow.RecordBatch, file []byte) {
	t.Helper()
	if got.NumRows() != want.NumRows() {
		t.Fatalf("rows: got %d want %d\nfile:\n%s", got.NumRows(), want.NumRows(), file)
	}
	for c := 0; c < int(want.NumCols()); c++ {
		w, g := want.Column(c), got.Column(c)
		if !array.ApproxEqual(w, g, array.WithNaNsEqual(true)) {
			t.Errorf("column %s differs\n got %v\nwant %v\nfile:\n%s", want.ColumnName(c), g, w, file)
		}
	}
}

func TestCSVRoundTrip(t *testing.T) {
	for _, compression := range []string{"none", "gzip"} {
		t.Run(compression, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			batch := allTypesBatch(t, mem, false)
			defer batch.Release()
			opts := map[string]string{
				"header": "true", "nullValue": `\N`, "compression": compression, "multiLine": "true",
				"timestampFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX",
			}
			name := "rt.csv"
			if compression == "gzip" {
				name += ".gz"
			}
			got, file := writeRead(t, CSV, batch, name, opts, opts, mem)
			defer got.Release()
			assertSameRows(t, batch, got, file)
		})
	}
}

func TestCSVRoundTripMultiLineAndSeparators(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	batch := allTypesBatch(t, mem, false)
	defer batch.Release()
	for _, o := range []map[string]string{
		{"sep": ";", "quote": "'", "escape": "'", "nullValue": "NULL"},
		{"sep": `\t`, "nullValue": "NA", "quoteAll": "true", "multiLine": "true"},
		{"sep": "|", "escape": `\`, "nullValue": "-"},
	} {
		o["timestampFormat"] = "yyyy-MM-dd HH:mm:ss.SSSSSS"
		o["multiLine"] = "true"
		got, file := writeRead(t, CSV, batch, "rt.csv", o, o, mem)
		assertSameRows(t, batch, got, file)
		got.Release()
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for _, compression := range []string{"none", "gzip"} {
		t.Run(compression, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			batch := allTypesBatch(t, mem, true)
			defer batch.Release()
			opts := map[string]string{"compression": compression, "timestampFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"}
			name := "rt.json"
			if compression == "gzip" {
				name += ".gz"
			}
			got, file := writeRead(t, JSON, batch, name, opts, opts, mem)
			defer got.Release()
			assertSameRows(t, batch, got, file)
		})
	}
}

func TestTextRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.AppendValues([]string{"one", "", "three ünï", "tab\tin"}, nil)
	arr := b.NewArray()
	defer arr.Release()
	batch := array.NewRecordBatch(TextSchema, []arrow.Array{arr}, int64(arr.Len()))
	defer batch.Release()
	for _, c := range []string{"none", "gzip"} {
		name := "rt.txt"
		if c == "gzip" {
			name += ".gz"
		}
		got, file := writeRead(t, Text, batch, name, map[string]string{"compression": c}, nil, mem)
		assertSameRows(t, batch, got, file)
		got.Release()
	}
}

// Writers print what Spark prints.
func TestCSVWriteFormatting(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	batch := allTypesBatch(t, mem, false)
	defer batch.Release()
	var buf bytes.Buffer
	w, err := CSV.NewWriter(&buf, batch.Schema(), WriteOptions{Mem: mem, Options: map[string]string{"header": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(batch); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := `bo,i8,i16,i32,i64,f32,f64,dec,s,bin,d,ts
true,-128,-32768,-2147483648,-9223372036854775808,-Infinity,Infinity,-99999999999999999.999,plain,cGxhaW4=,0001-01-01,0001-01-01T00:00:00.000Z
false,127,32767,2147483647,9223372036854775807,3.4E38,-1.7976931348623157E308,12.345,"","",1970-01-01,1970-01-01T00:00:00.000Z
true,0,0,0,0,1.5,0.3333333333333333,0.000,"with,comma",d2l0aCxjb21tYQ==,2026-01-02,2026-01-02T03:04:05.123Z
,,,,,,,,,,,
true,-1,-1,-1,-1,NaN,NaN,-0.001,"line
break` + "\r" + `
and tab	",bGluZQpicmVhaw0KYW5kIHRhYgk=,1969-12-31,1969-12-31T23:59:59.999Z
false,1,1,1,1,1.0E-7,5.0E-324,1.000,ünïcødé €,w7xuw69jw7hkw6kg4oKs,9999-12-31,9999-12-31T23:59:59.999Z
true,2,2,2,2,0.1,1.0E21,7.000, padded ,IHBhZGRlZCA=,1970-01-02,1970-01-01T00:00:00.000Z
false,3,3,3,3,-2.5,0.001,8.500,"quote \" and \\ backslash",cXVvdGUgIiBhbmQgXCBiYWNrc2xhc2g=,1970-01-03,1970-01-01T00:00:00.001Z
`
	if got := buf.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestJSONWriteFormatting(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := parseTestSchema(t, "a int, s string, ts timestamp, d date, f double, st struct<x:int,y:array<string>>, bin binary")
	in := `{"a":1,"s":"x\"y","ts":"2026-01-02 03:04:05.123456","d":"2026-01-02","f":1,"st":{"x":null,"y":["a",null]},"bin":"aGk="}
{"f":NaN,"st":{"y":[]}}
{}
`
	dec, err := NewJSONDecoder(schema, mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(in), "\n") {
		if err := dec.Append([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	batch := dec.NewBatch()
	defer batch.Release()
	for _, tc := range []struct {
		opts map[string]string
		want string
	}{
		{nil, `{"a":1,"s":"x\"y","ts":"2026-01-02T03:04:05.123Z","d":"2026-01-02","f":1.0,"st":{"y":["a",null]},"bin":"aGk="}
{"f":"NaN","st":{"y":[]}}
{}
`},
		{map[string]string{"ignoreNullFields": "false", "timestampFormat": "yyyy-MM-dd HH:mm:ss"}, `{"a":1,"s":"x\"y","ts":"2026-01-02 03:04:05","d":"2026-01-02","f":1.0,"st":{"x":null,"y":["a",null]},"bin":"aGk="}
{"a":null,"s":null,"ts":null,"d":null,"f":"NaN","st":{"x":null,"y":[]},"bin":null}
{"a":null,"s":null,"ts":null,"d":null,"f":null,"st":null,"bin":null}
`},
	} {
		var buf bytes.Buffer
		w, err := JSON.NewWriter(&buf, schema, WriteOptions{Mem: mem, Options: tc.opts})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(batch); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tc.want {
			t.Errorf("options %v\n got:\n%s\nwant:\n%s", tc.opts, buf.String(), tc.want)
		}
	}
}

func TestWritersRejectUnsupportedTypes(t *testing.T) {
	nested := parseTestSchema(t, "a int, s struct<x:int>")
	if _, err := CSV.NewWriter(io.Discard, nested, WriteOptions{}); err == nil || !strings.Contains(err.Error(), `csv cannot write column "s" of type struct<x:int>`) {
		t.Errorf("csv nested: %v", err)
	}
	m := parseTestSchema(t, "m map")
	if _, err := JSON.NewWriter(io.Discard, m, WriteOptions{}); err == nil || !strings.Contains(err.Error(), "map<string,string> is not supported") {
		t.Errorf("json map: %v", err)
	}
	two := parseTestSchema(t, "a string, b string")
	if _, err := Text.NewWriter(io.Discard, two, WriteOptions{}); err == nil || !strings.Contains(err.Error(), "exactly one string column") {
		t.Errorf("text two columns: %v", err)
	}
}

func TestCSVWriteEmptyAndNullOnlyRows(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := parseTestSchema(t, "s string")
	// No batches at all: just the header.
	var buf bytes.Buffer
	w, _ := CSV.NewWriter(&buf, schema, WriteOptions{Options: map[string]string{"header": "true"}})
	if err := w.Close(); err != nil || buf.String() != "s\n" {
		t.Errorf("empty output = %q, %v", buf.String(), err)
	}
	// A single NULL column would write a blank line, which readers skip:
	// it is written as "" instead, which reads back as NULL.
	b := array.NewStringBuilder(mem)
	b.AppendNull()
	b.Append("x")
	arr := b.NewArray()
	b.Release()
	batch := array.NewRecordBatch(schema, []arrow.Array{arr}, 2)
	arr.Release()
	defer batch.Release()
	got, file := writeRead(t, CSV, batch, "n.csv", nil, nil, mem)
	defer got.Release()
	if string(file) != "\"\"\nx\n" {
		t.Errorf("file = %q", file)
	}
	assertSameRows(t, batch, got, file)
}

func TestCSVWriteQuotingOptions(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := parseTestSchema(t, "a string, b int")
	dec, _ := NewJSONDecoder(schema, mem, nil)
	for _, l := range []string{`{"a":"say \"hi\"","b":1}`, `{"a":"#x","b":2}`, `{"a":"plain","b":null}`} {
		if err := dec.Append([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	batch := dec.NewBatch()
	defer batch.Release()
	for _, tc := range []struct {
		opts map[string]string
		want string
	}{
		{nil, "\"say \\\"hi\\\"\",1\n#x,2\nplain,\n"},
		{map[string]string{"escapeQuotes": "false", "comment": "#"}, "say \"hi\",1\n\"#x\",2\nplain,\n"},
		{map[string]string{"quoteAll": "true", "nullValue": "NULL", "sep": "|"}, "\"say \\\"hi\\\"\"|\"1\"\n\"#x\"|\"2\"\n\"plain\"|NULL\n"},
		{map[string]string{"escape": `"`}, "\"say \"\"hi\"\"\",1\n#x,2\nplain,\n"},
	} {
		var buf bytes.Buffer
		w, err := CSV.NewWriter(&buf, schema, WriteOptions{Mem: mem, Options: tc.opts})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(batch); err != nil {
			t.Fatal(err)
		}
		w.Close()
		if buf.String() != tc.want {
			t.Errorf("%v: got %q want %q", tc.opts, buf.String(), tc.want)
		}
	}
}
