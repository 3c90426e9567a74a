package fileformat

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestJSONDecoderAPI(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := parseTestSchema(t, "id bigint, name string, tags array<string>")
	dec, err := NewJSONDecoder(schema, mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Release()
	for batch := 0; batch < 3; batch++ {
		for i := 0; i < 5; i++ {
			rec := fmt.Sprintf(`{"id":%d,"name":"n%d","tags":["t%d"]}`, batch*10+i, i, i)
			if err := dec.Append([]byte(rec)); err != nil {
				t.Fatal(err)
			}
		}
		// A number is fine for a string element: it becomes its JSON text.
		if err := dec.Append([]byte(`{"id":1,"name":"x","tags":["a",2]}`)); err != nil {
			t.Fatal(err)
		}
		// A failing record leaves the rows so far untouched.
		var me *MalformedError
		err := dec.Append([]byte(`{"id":"x"}`))
		if !errors.As(err, &me) || me.Column != "id" || me.Offset != 6 || !errors.Is(err, ErrMalformed) {
			t.Fatalf("got %v", err)
		}
		if got := err.Error(); got != `field "id" (bigint) at byte 6: cannot parse "x": expected an integer, found a string` {
			t.Errorf("message %q", got)
		}
		if dec.Len() != 6 {
			t.Fatalf("Len = %d", dec.Len())
		}
		b := dec.NewBatch()
		if b.NumRows() != 6 || dec.Len() != 0 {
			t.Fatalf("batch rows %d, Len after %d", b.NumRows(), dec.Len())
		}
		for _, c := range b.Columns() {
			validateArray(t, c)
		}
		rows := renderBatch(b)
		if rows[0] != fmt.Sprintf(`%d, "n0", ["t0"]`, batch*10) || rows[5] != `1, "x", ["a", "2"]` {
			t.Errorf("rows %v", rows)
		}
		b.Release()
	}
	if dec.Malformed() != 3 {
		t.Errorf("Malformed = %d", dec.Malformed())
	}
	// Rows appended and dropped by Release do not leak.
	dec.Append([]byte(`{"id":1}`))
}

func TestJSONDecoderErrors(t *testing.T) {
	schema := parseTestSchema(t, "a int, s struct<b:double>")
	tests := []struct{ in, want string }{
		{``, `at byte 0: empty record, expected a JSON object`},
		{`   `, `at byte 0: empty record, expected a JSON object`},
		{`"x"`, `at byte 0: expected a JSON object`},
		{`{"a":1} x`, `at byte 8: unexpected data after the JSON value`},
		{`{"a":1`, `at byte 6: expected ',' or '}' after a field value`},
		{`{"a" 1}`, `at byte 5: expected ':' after a field name`},
		{`{a:1}`, `at byte 1: expected a field name`},
		{`{"a":01}`, `field "a" (int) at byte 5: invalid number: leading zero`},
		{`{"a":-}`, `field "a" (int) at byte 5: invalid number`},
		{`{"a":1.}`, `field "a" (int) at byte 5: invalid number: no digits after '.'`},
		{`{"s":{"b":"x"}}`, `field "s.b" (double) at byte 10: cannot parse "x": expected a number`},
		{`{"s":{"b":1e}}`, `field "s.b" (double) at byte 10: invalid number: no digits in exponent`},
		{`{"s":[1]}`, `field "s" (struct<b:double>) at byte 5: cannot parse "[1]": expected an object, found an array`},
		{`{"z":"\x"}`, `at byte 6: invalid escape \x in string`},
		{`{"z":"\u12"}`, `at byte 6: invalid \u escape in string`},
		{"{\"z\":\"a\tb\"}", `at byte 7: unescaped control character in string`},
		{"{\"z\":\"\xff\"}", `at byte 5: invalid UTF-8 in string`},
		{`{"z":"abc`, `at byte 5: unterminated string`},
		{`{"z":[1,2}`, `at byte 9: expected ',' or ']' in an array`},
		{`{"z":nul}`, `at byte 5: invalid literal`},
		{`{"a":nul}`, `field "a" (int) at byte 5: invalid literal`},
		{strings.Repeat(`{"z":`, 600) + "1" + strings.Repeat("}", 600), `nesting too deep`},
		{`[{"a":1},2]`, `at byte 9: expected a JSON object in the top-level array`},
	}
	for _, tc := range tests {
		dec, err := NewJSONDecoder(schema, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = dec.Append([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.want)
		}
		if dec.Len() != 0 {
			t.Errorf("%q: %d rows kept after an error", tc.in, dec.Len())
		}
		dec.Release()
	}
}

func TestJSONDecoderPermissiveAndDrop(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := parseTestSchema(t, "a int, l array<int>, bad string")
	dec, err := NewJSONDecoder(schema, mem, map[string]string{"mode": "PERMISSIVE", "columnNameOfCorruptRecord": "bad"})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range []string{`{"a":1,"l":[1,"x",3]}`, `{"a":`, `[{"a":2},{"a":"y"}]`, `{"a":4,"bad":"ignored"}`} {
		if err := dec.Append([]byte(rec)); err != nil {
			t.Fatal(err)
		}
	}
	b := dec.NewBatch()
	got := strings.Join(renderBatch(b), "\n")
	b.Release()
	want := `1, [1, NULL, 3], "{\"a\":1,\"l\":[1,\"x\",3]}"
NULL, NULL, "{\"a\":"
2, NULL, "[{\"a\":2},{\"a\":\"y\"}]"
NULL, NULL, "[{\"a\":2},{\"a\":\"y\"}]"
4, NULL, NULL`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if dec.Malformed() != 3 {
		t.Errorf("Malformed = %d", dec.Malformed())
	}
	if _, err := NewJSONDecoder(parseTestSchema(t, "bad int"), mem, map[string]string{"mode": "PERMISSIVE", "columnNameOfCorruptRecord": "bad"}); !errors.Is(err, ErrSchemaMismatch) {
		t.Errorf("non-string corrupt column: %v", err)
	}

	drop, _ := NewJSONDecoder(schema, mem, map[string]string{"mode": "DROPMALFORMED"})
	for _, rec := range []string{`{"a":1}`, `{"a":"x"}`, `{`, `{"a":2}`} {
		if err := drop.Append([]byte(rec)); err != nil {
			t.Fatal(err)
		}
	}
	b = drop.NewBatch()
	if got := strings.Join(renderBatch(b), "\n"); got != "1, NULL, NULL\n2, NULL, NULL" {
		t.Errorf("drop: %s", got)
	}
	b.Release()
}

func TestJSONDecoderSchemaErrors(t *testing.T) {
	if _, err := NewJSONDecoder(parseTestSchema(t, "m map"), nil, nil); !errors.Is(err, ErrSchemaMismatch) || !strings.Contains(err.Error(), "map<string,string> is not supported") {
		t.Errorf("map: %v", err)
	}
	if _, err := NewJSONDecoder(parseTestSchema(t, "a int, a string"), nil, nil); !errors.Is(err, ErrSchemaMismatch) {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := NewJSONDecoder(parseTestSchema(t, "a int"), nil, map[string]string{"mode": "x"}); !errors.Is(err, ErrOption) {
		t.Errorf("bad option: %v", err)
	}
}

// The key cache must not confuse keys that change between records.
func TestJSONDecoderKeyCacheShapes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dec, _ := NewJSONDecoder(parseTestSchema(t, "a int, b int, c int"), mem, nil)
	recs := []string{`{"a":1,"b":2,"c":3}`, `{"c":3,"b":2,"a":1}`, `{"x":0,"a":1}`, `{"a":1,"x":0,"b":2}`, `{"b":2}`, `{"a":1,"b":2,"c":3,"d":4}`, `{"ab":9,"a":1}`}
	want := []string{"1, 2, 3", "1, 2, 3", "1, NULL, NULL", "1, 2, NULL", "NULL, 2, NULL", "1, 2, 3", "1, NULL, NULL"}
	for round := 0; round < 3; round++ {
		for _, r := range recs {
			if err := dec.Append([]byte(r)); err != nil {
				t.Fatal(err)
			}
		}
	}
	b := dec.NewBatch()
	defer b.Release()
	rows := renderBatch(b)
	for i, r := range rows {
		if r != want[i%len(want)] {
			t.Errorf("row %d = %q, want %q", i, r, want[i%len(want)])
		}
	}
}

func TestMalformedErrorMessage(t *testing.T) {
	tests := []struct {
		e    MalformedError
		want string
	}{
		{MalformedError{File: "f.csv", Line: 17, Column: "ts", Type: "timestamp", Offset: -1, Value: "abc"}, `f.csv:17: column "ts" (timestamp): cannot parse "abc"`},
		{MalformedError{File: "f.csv", Line: 2, Offset: -1, Reason: "expected 2 columns, found 1"}, `f.csv:2: expected 2 columns, found 1`},
		{MalformedError{Line: 3, Column: "a.b", Type: "int", Offset: 9, Value: "x", Reason: "out of range"}, `line 3: field "a.b" (int) at byte 9: cannot parse "x": out of range`},
	}
	for _, tc := range tests {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q want %q", got, tc.want)
		}
	}
}
