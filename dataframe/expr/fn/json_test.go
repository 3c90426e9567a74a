package fn

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

func TestJSONFunctions(t *testing.T) {
	str := func(js string) libCol { return libCol{T: expr.String, JS: js} }
	st := arrow.StructOf(
		arrow.Field{Name: "a", Type: expr.Int32, Nullable: true},
		arrow.Field{Name: "b", Type: expr.String, Nullable: true},
		arrow.Field{Name: "ts", Type: expr.Timestamp, Nullable: true},
	)
	libRunCases(t, []libCase{
		// from_json: NULL and blank give a NULL struct; missing fields NULL.
		{fn: "from_json", args: []any{str(`["{\"a\":1,\"b\":\"x\"}", null, "  ", "{\"b\":\"y\",\"zz\":[1,{}]}", "{}"]`), libS("a INT, b STRING")},
			want: "{1, x} | NULL | NULL | {NULL, y} | {NULL, NULL}"},
		// PERMISSIVE (default): malformed values and top-level arrays give NULL fields; what parsed is kept.
		{fn: "from_json", args: []any{str(`["{\"a\":\"oops\",\"b\":\"kept\"}", "{\"a\":", "[{\"a\":1}]", "7"]`), libS("a INT, b STRING")},
			want: "{NULL, kept} | {NULL, NULL} | {NULL, NULL} | {NULL, NULL}"},
		{fn: "from_json", args: []any{str(`["{\"a\":1}", "{\"a\":"]`), libS("a INT, _corrupt_record STRING")},
			want: `{1, NULL} | {NULL, {"a":}`},
		{fn: "from_json", args: []any{str(`["{\"a\":1}", "{\"a\":"]`), libS("a INT"), libS("mode"), libS("FAILFAST")}, err: ErrMalformedJSON},
		{fn: "from_json", args: []any{str(`["[{\"a\":1}]"]`), libS("a INT"), libS("mode"), libS("FAILFAST")}, err: ErrMalformedJSON},
		{fn: "from_json", args: []any{str(`["{}"]`), libS("a INT"), libS("mode"), libS("DROPMALFORMED")}, err: ErrInvalidArgument},
		{fn: "from_json", args: []any{str(`["{}"]`), libS("a INT"), libS("mode")}, err: ErrInvalidArgument},
		{fn: "from_json", args: []any{str(`["{}"]`), libS("a INT"), libS("nosuchoption"), libS("1")}, err: ErrInvalidArgument},
		{fn: "from_json", args: []any{str(`["{}"]`), libS("a INTEGRAL")}, err: ErrInvalidArgument},
		{fn: "from_json", args: []any{str(`["{}"]`), str(`["a INT"]`)}, err: ErrInvalidArgument},
		{fn: "from_json", args: []any{libCol{T: expr.Int32, JS: `[1]`}, libS("a INT")}, err: expr.ErrType},
		// Nested types, binary input, timestamps with options, sliced input.
		{fn: "from_json", args: []any{libCol{T: expr.Binary, JS: `["eyJzIjp7IngiOlsxLDJdfX0=", null]`}, libS("s STRUCT<x: ARRAY<INT>>")},
			want: "{{[1, 2]}} | NULL"},
		{fn: "from_json", args: []any{str(`["{\"t\":\"02/01/2024 10:00\"}"]`), libS("t TIMESTAMP"), libS("timestampFormat"), libS("dd/MM/yyyy HH:mm"), libS("timeZone"), libS("UTC")},
			want: "{2024-01-02 10:00:00}"},
		{fn: "from_json", args: []any{libCol{T: expr.String, JS: `["{\"a\":1}", "{\"a\":2}", null, "{\"a\":4}"]`, Lo: 1, Hi: 4}, libS("a BIGINT")},
			want: "{2} | NULL | {4}"},
		{fn: "from_json", args: []any{libS(`{"a": 5}`), libS("a INT")}, want: "{5}"},
		{fn: "from_json", args: []any{libNull(expr.Null), libS("a INT")}, want: "NULL"},
		{fn: "from_json", args: []any{str(`[]`), libS("a INT")}, want: ""},

		// to_json: NULL struct gives NULL; NULL fields are dropped (ignoreNullFields default true).
		{fn: "to_json", args: []any{libCol{T: st, JS: `[{"a":1,"b":"x\"y","ts":null}, null, {"a":null,"b":null,"ts":null}]`}},
			want: `{"a":1,"b":"x\"y"} | NULL | {}`},
		{fn: "to_json", args: []any{libCol{T: st, JS: `[{"a":1,"b":null,"ts":null}]`}, libS("ignoreNullFields"), libS("false")},
			want: `{"a":1,"b":null,"ts":null}`},
		{fn: "to_json", args: []any{libCol{T: st, JS: `[{"a":1}, {"a":2,"b":"z"}, {"a":3}]`, Lo: 1, Hi: 3}},
			want: `{"a":2,"b":"z"} | {"a":3}`},
		{fn: "to_json", args: []any{libCol{T: arrow.ListOf(expr.Int32), JS: `[[1,null,3], [], null]`}},
			want: "[1,null,3] | [] | NULL"},
		{fn: "to_json", args: []any{libCol{T: st, JS: `[]`}}, want: ""},
		{fn: "to_json", args: []any{libCol{T: expr.Int32, JS: `[1]`}}, err: expr.ErrType},
		{fn: "to_json", args: []any{libCol{T: st, JS: `[{"a":1}]`}, libS("ignoreNullFields")}, err: ErrInvalidArgument},
	})
}

// A timestamp renders as Spark's JSON writer renders it (ISO-8601 with the
// session zone offset, here UTC), and to_json(from_json(x)) gives x back.
func TestJSONRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := `["{\"id\":7,\"name\":\"caf\u00e9 \\\"q\\\"\",\"tags\":[\"a\",\"b\"],\"ok\":true,\"score\":1.5}", "{\"id\":8}"]`
	parsed, _, err := libRun(t, mem, "from_json", 2, libCol{T: expr.String, JS: in}, libS("id BIGINT, name STRING, tags ARRAY<STRING>, ok BOOLEAN, score DOUBLE"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(parsed, " | "); got != `{7, café "q", [a, b], true, 1.5} | {8, NULL, NULL, NULL, NULL}` {
		t.Fatalf("from_json: %s", got)
	}
	// Through both functions, on real arrays.
	from, _ := Lookup("from_json")
	to, _ := Lookup("to_json")
	col, _, err := array.FromJSON(mem, expr.String, strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	defer col.Release()
	fb, err := from.Bind([]expr.Arg{{Type: expr.String, Nullable: true}, {Type: expr.String, Const: libS("id BIGINT, name STRING, tags ARRAY<STRING>, ok BOOLEAN, score DOUBLE")}})
	if err != nil {
		t.Fatal(err)
	}
	ec := expr.NewEvalContext(mem, libNow)
	structs, err := fb.Kernel(ec, []arrow.Array{col, nil}, col.Len())
	if err != nil {
		t.Fatal(err)
	}
	defer structs.Release()
	tb, err := to.Bind([]expr.Arg{{Type: structs.DataType(), Nullable: true}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := tb.Kernel(ec, []arrow.Array{structs}, structs.Len())
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	s := out.(*array.String)
	if s.Value(0) != `{"id":7,"name":"café \"q\"","tags":["a","b"],"ok":true,"score":1.5}` || s.Value(1) != `{"id":8}` {
		t.Fatalf("to_json(from_json(x)): %q %q", s.Value(0), s.Value(1))
	}
}

func BenchmarkFromJSONYSB(b *testing.B) {
	const rows = 1 << 14
	mem := memory.NewGoAllocator()
	bld := array.NewStringBuilder(mem)
	for i := 0; i < rows; i++ {
		bld.Append(`{"user_id":"3f2a4c1e-0b1d-4a8e-9c7f-2d1e0f3a4b5c","page_id":"7c6b5a49-3828-4716-a5f4-e3d2c1b0a998","ad_id":"1a2b3c4d-5e6f-4071-8293-a4b5c6d7e8f9","ad_type":"banner","event_type":"view","event_time":"1700000000123","ip_address":"1.2.3.4"}`)
	}
	col := bld.NewArray()
	defer col.Release()
	bld.Release()
	from, _ := Lookup("from_json")
	fb, err := from.Bind([]expr.Arg{{Type: expr.String, Nullable: true}, {Type: expr.String, Const: libS("user_id STRING, page_id STRING, ad_id STRING, ad_type STRING, event_type STRING, event_time STRING, ip_address STRING")}})
	if err != nil {
		b.Fatal(err)
	}
	ec := expr.NewEvalContext(mem, libNow)
	b.SetBytes(int64(len(col.(*array.String).ValueBytes())))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := fb.Kernel(ec, []arrow.Array{col, nil}, rows)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "events/s")
}

// FuzzFromJSON: any text gives one row per value in PERMISSIVE mode (and
// to_json renders it), or a clean error in FAILFAST; never a panic.
func FuzzFromJSON(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":"x","c":[1,2],"d":{"e":true}}`, `[{"a":1}]`, `{"a":`, `  `, `{"a":"\u00e9\ud800"}`, `{"c":[null,"x"]}`, `{"b":{"x":[1]}}`, `7`} {
		f.Add([]byte(s))
	}
	from, _ := Lookup("from_json")
	to, _ := Lookup("to_json")
	const schema = "a INT, b STRING, c ARRAY<BIGINT>, d STRUCT<e: BOOLEAN>, _corrupt_record STRING"
	f.Fuzz(func(t *testing.T, data []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		bld := array.NewBinaryBuilder(mem, expr.Binary)
		bld.Append(data)
		bld.AppendNull()
		bld.Append(data)
		col := bld.NewArray()
		bld.Release()
		defer col.Release()
		ec := expr.NewEvalContext(mem, libNow)
		for _, mode := range []string{"PERMISSIVE", "FAILFAST"} {
			fb, err := from.Bind([]expr.Arg{{Type: expr.Binary, Nullable: true}, {Type: expr.String, Const: libS(schema)}, {Type: expr.String, Const: libS("mode")}, {Type: expr.String, Const: libS(mode)}})
			if err != nil {
				t.Fatal(err)
			}
			out, err := fb.Kernel(ec, []arrow.Array{col, nil, nil, nil}, col.Len())
			if err != nil {
				if mode == "PERMISSIVE" {
					t.Fatalf("PERMISSIVE failed: %v", err)
				}
				continue
			}
			if out.Len() != 3 || !out.IsNull(1) {
				t.Fatalf("%s: %d rows, row 1 null %v", mode, out.Len(), out.IsNull(1))
			}
			tb, err := to.Bind([]expr.Arg{{Type: out.DataType(), Nullable: true}})
			if err != nil {
				t.Fatal(err)
			}
			js, err := tb.Kernel(ec, []arrow.Array{out}, out.Len())
			if err != nil {
				t.Fatal(err)
			}
			js.Release()
			out.Release()
		}
	})
}
