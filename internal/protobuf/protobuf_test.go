package protobuf

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// enc writes the protobuf wire format, for tests.
type enc []byte

func (e enc) tag(num, wire int) enc { return binary.AppendUvarint(e, uint64(num)<<3|uint64(wire)) }
func (e enc) varint(num int, v uint64) enc {
	return binary.AppendUvarint(e.tag(num, wVarint), v)
}
func (e enc) sint(num int, v int64) enc { return e.varint(num, uint64(v<<1)^uint64(v>>63)) }
func (e enc) bytes(num int, b []byte) enc {
	return append(binary.AppendUvarint(e.tag(num, wLen), uint64(len(b))), b...)
}
func (e enc) str(num int, s string) enc { return e.bytes(num, []byte(s)) }
func (e enc) fixed64(num int, v uint64) enc {
	return binary.LittleEndian.AppendUint64(e.tag(num, wI64), v)
}
func (e enc) fixed32(num int, v uint32) enc {
	return binary.LittleEndian.AppendUint32(e.tag(num, wI32), v)
}

const clicksProto = `
// A click, as a registry stores it.
syntax = "proto3";
package shop.events;

import "google/protobuf/timestamp.proto";
option java_package = "com.shop.events"; /* ignored */
option (my.ext) = { a: 1 b: "}" };

message Click {
  string user = 1;
  int64 n = 2 [deprecated = true];
  optional string page = 3;
  Kind kind = 4;
  repeated int32 scores = 5;                    // packed by default in proto3
  repeated string tags = 6 [packed = false];
  map<string, int64> counts = 7;
  Device device = 8;
  google.protobuf.Timestamp ts = 9;
  oneof target {
    string url = 10;
    int32 item = 11;
  }
  sint32 delta = 12;
  uint32 u32 = 13;
  fixed64 f64 = 14;
  double score = 15;
  float ratio = 16;
  bool flag = 17;
  bytes raw = 18;
  repeated Device devices = 19;
  map<int32, Device> by_id = 20;
  reserved 100 to 200;
  reserved "old";

  enum Kind {
    KIND_UNSPECIFIED = 0;
    VIEW = 1;
    BUY = 2 [(my.opt) = true];
  }
  message Device { string os = 1; .shop.events.Click.Kind last = 2; }
}

message Other { int32 x = 1; }
`

const clickType = `struct<user: utf8 nullable, n: int64 nullable, page: utf8 nullable, kind: utf8 nullable, scores: list<item: int32, nullable> nullable, tags: list<item: utf8, nullable> nullable, counts: map<utf8, int64, items_nullable> nullable, device: struct<os: utf8 nullable, last: utf8 nullable> nullable, ts: timestamp[us, tz=UTC] nullable, url: utf8 nullable, item: int32 nullable, delta: int32 nullable, u32: int64 nullable, f64: int64 nullable, score: float64 nullable, ratio: float32 nullable, flag: bool nullable, raw: binary nullable, devices: list<item: struct<os: utf8 nullable, last: utf8 nullable>, nullable> nullable, by_id: map<int32, struct<os: utf8 nullable, last: utf8 nullable>, items_nullable> nullable>`

func mustMessage(t testing.TB, text, name string) *Message {
	t.Helper()
	s, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Message(name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseAndMap(t *testing.T) {
	m := mustMessage(t, clicksProto, "Click")
	if m.FullName != "shop.events.Click" {
		t.Fatalf("full name %s", m.FullName)
	}
	sc, err := m.ArrowSchema()
	if err != nil {
		t.Fatal(err)
	}
	if got := arrow.StructOf(sc.Fields()...).String(); got != clickType {
		t.Fatalf("arrow type\n%s\nwant\n%s", got, clickType)
	}
	s, _ := Parse(clicksProto)
	for _, c := range []struct {
		name string
		want string
	}{
		{"", "shop.events.Click"},
		{".shop.events.Other", "shop.events.Other"},
		{"Click.Device", "shop.events.Click.Device"},
		{"Device", "shop.events.Click.Device"},
		{"Nope", "error: no message Nope"},
	} {
		m, err := s.Message(c.name)
		if want, ok := strings.CutPrefix(c.want, "error: "); ok {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Message(%q): %v, want error %q", c.name, err, want)
			}
			continue
		}
		if err != nil || m.FullName != c.want {
			t.Errorf("Message(%q) = %v, %v; want %s", c.name, m, err, c.want)
		}
	}
	// Confluent message indexes: [0] Click, [0,n] the nth message nested in
	// Click: the map entries, declared before Device, come first (they count,
	// as protoc generates them); [1] Other.
	for idx, want := range map[string]string{"0": "shop.events.Click", "0,2": "shop.events.Click.Device", "0,1": "shop.events.Click.ByIdEntry", "1": "shop.events.Other", "0,0": "shop.events.Click.CountsEntry"} {
		var index []int
		for _, p := range strings.Split(idx, ",") {
			index = append(index, int(p[0]-'0'))
		}
		m, err := s.MessageAt(index)
		if err != nil || m.FullName != want {
			t.Errorf("MessageAt(%v) = %v, %v; want %s", index, m, err, want)
		}
	}
	if _, err := s.MessageAt([]int{2}); err == nil {
		t.Error("MessageAt past the end")
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{`syntax = "proto4";`, "not supported"},
		{`edition = "2023";`, "editions are not supported"},
		{`message A { int32 x = 1; int32 y = 1; }`, "share number 1"},
		{`message A { Missing x = 1; }`, "unknown type Missing"},
		{`import "other.proto"; message A {}`, `import "other.proto"`},
		{`message A { int32 x = 0; }`, "out of range"},
		{`message A { int32 x = 19500; }`, "out of range"},
		{`message A { int32 x = 1 }`, `want ";"`},
		{`message A { optional group G = 1 { } }`, "groups are not supported"},
		{`message A { map<float, int32> m = 1; }`, "map key type float"},
		{`message A { A self = 1; }`, ""}, // parses; mapping refuses (below)
		{`message A { int32 x = 1; } message A { }`, "defined twice"},
		{`enum E { }`, "no values"},
		{`message A { string s = 1; /* open`, "unterminated"},
		{`message A { string s = "x`, "unterminated string"},
		{`message A {`, "not closed"},
		{`syntax = "proto3"; syntax = "proto3";`, "first statement"},
		{`message A { oneof o { repeated int32 x = 1; } }`, "no label"},
	} {
		_, err := Parse(c.text)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.text, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrSchema) {
			t.Errorf("%s: %v, want %q", c.text, err, c.want)
		}
	}
	m := mustMessage(t, `message A { optional A self = 1; }`, "A")
	if _, err := m.ArrowSchema(); err == nil || !strings.Contains(err.Error(), "recursive") {
		t.Errorf("recursive message: %v", err)
	}
	if _, err := NewDecoder(m, nil); err == nil {
		t.Error("a decoder for a recursive message")
	}
}

// render prints each row as the struct of all columns.
func render(b arrow.RecordBatch) []string {
	data := array.NewData(arrow.StructOf(b.Schema().Fields()...), int(b.NumRows()), []*memory.Buffer{nil}, dataOf(b), 0, 0)
	defer data.Release()
	st := array.NewStructData(data)
	defer st.Release()
	out := make([]string, st.Len())
	for i := range out {
		out[i] = st.ValueStr(i)
	}
	return out
}

func dataOf(b arrow.RecordBatch) []arrow.ArrayData {
	var ds []arrow.ArrayData
	for _, c := range b.Columns() {
		ds = append(ds, c.Data())
	}
	return ds
}

func decodeAll(t testing.TB, mem memory.Allocator, m *Message, msgs ...[]byte) ([]string, error) {
	t.Helper()
	d, err := NewDecoder(m, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Release()
	for _, b := range msgs {
		if b == nil {
			d.AppendNull()
			continue
		}
		if err := d.Append(b); err != nil {
			return nil, err
		}
	}
	rec := d.NewBatch()
	defer rec.Release()
	for _, c := range rec.Columns() {
		validate(t, c)
	}
	return render(rec), nil
}

func TestDecode(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	m := mustMessage(t, clicksProto, "Click")
	device := enc(nil).str(1, "ios").varint(2, 2)
	ts := enc(nil).varint(1, 1767225600).varint(2, 123456789)
	packed := binary.AppendUvarint(binary.AppendUvarint(binary.AppendUvarint(nil, 1), uint64(math.MaxUint64)), 300) // 1, -1, 300
	entry := func(k string, v int64) []byte { return enc(nil).str(1, k).varint(2, uint64(v)) }
	full := enc(nil).str(1, "ann").varint(2, uint64(1<<40)).str(3, "/home").varint(4, 1).
		bytes(5, packed).varint(5, 7). // packed and unpacked elements of one field
		str(6, "a").str(6, "b").
		bytes(7, entry("x", 1)).bytes(7, entry("y", -2)).
		bytes(8, device).bytes(9, ts).
		str(10, "http://x").varint(11, 42). // oneof: the last one set wins
		sint(12, -5).varint(13, math.MaxUint32).fixed64(14, math.MaxUint64).
		fixed64(15, math.Float64bits(2.5)).fixed32(16, math.Float32bits(0.5)).varint(17, 1).bytes(18, []byte{0, 1}).
		bytes(19, device).bytes(19, nil).
		bytes(20, enc(nil).varint(1, 9).bytes(2, device)).bytes(20, enc(nil).varint(1, 3)).
		varint(999, 5).str(1000, "unknown").fixed32(1001, 1).fixed64(1002, 1) // unknown fields
	empty := []byte{}
	// Fields given twice: the scalar's last value wins, messages merge.
	merged := enc(nil).str(1, "first").str(1, "second").bytes(8, enc(nil).str(1, "android")).bytes(8, enc(nil).varint(2, 1)).varint(4, 99)
	got, err := decodeAll(t, mem, m, full, empty, nil, merged)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"by_id":[{"key":9,"value":{"last":"BUY","os":"ios"}},{"key":3,"value":null}],"counts":[{"key":"x","value":1},{"key":"y","value":-2}],"delta":-5,"device":{"last":"BUY","os":"ios"},"devices":[{"last":"BUY","os":"ios"},{"last":"KIND_UNSPECIFIED","os":""}],"f64":-1,"flag":true,"item":42,"kind":"VIEW","n":1099511627776,"page":"/home","ratio":0.5,"raw":"AAE=","score":2.5,"scores":[1,-1,300,7],"tags":["a","b"],"ts":"2026-01-01T00:00:00.123456Z","u32":4294967295,"url":null,"user":"ann"}`,
		`{"by_id":[],"counts":[],"delta":0,"device":null,"devices":[],"f64":0,"flag":false,"item":null,"kind":"KIND_UNSPECIFIED","n":0,"page":null,"ratio":0,"raw":"","score":0,"scores":[],"tags":[],"ts":null,"u32":0,"url":null,"user":""}`,
		`{"by_id":null,"counts":null,"delta":null,"device":null,"devices":null,"f64":null,"flag":null,"item":null,"kind":null,"n":null,"page":null,"ratio":null,"raw":null,"score":null,"scores":null,"tags":null,"ts":null,"u32":null,"url":null,"user":null}`,
		`{"by_id":[],"counts":[],"delta":0,"device":{"last":"VIEW","os":"android"},"devices":[],"f64":0,"flag":false,"item":null,"kind":"99","n":0,"page":null,"ratio":0,"raw":"","score":0,"scores":[],"tags":[],"ts":null,"u32":0,"url":null,"user":"second"}`,
	}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Errorf("row %d:\n got %s\nwant %s", i, at(got, i), want[i])
		}
	}
}

func at(ss []string, i int) string {
	if i < len(ss) {
		return ss[i]
	}
	return "(missing)"
}

// proto2: singular fields have presence (absent: NULL).
func TestProto2(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	m := mustMessage(t, `syntax = "proto2"; package p;
		message M { required int32 a = 1; optional string b = 2 [default = "x"]; repeated int64 c = 3 [packed = true]; optional E e = 4; }
		enum E { ONE = 1; TWO = 2; }`, "M")
	got, err := decodeAll(t, mem, m, enc(nil).varint(1, 5).varint(3, 1).varint(3, 2), enc(nil).varint(4, 2))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`{"a":5,"b":null,"c":[1,2],"e":null}`, `{"a":null,"b":null,"c":[],"e":"TWO"}`}
	for i := range want {
		if at(got, i) != want[i] {
			t.Errorf("row %d: %s, want %s", i, at(got, i), want[i])
		}
	}
}

// Imports resolve through files given by name (a registry's references).
func TestImports(t *testing.T) {
	common, err := ParseFile("common/geo.proto", `syntax = "proto3"; package common; message Point { double lat = 1; double lon = 2; }`)
	if err != nil {
		t.Fatal(err)
	}
	root, err := ParseFile("", `syntax = "proto3"; package app; import "common/geo.proto";
		message Visit { common.Point at = 1; repeated .common.Point path = 2; }`)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(root, map[string]*File{"common/geo.proto": common})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := s.Message("")
	sc, err := m.ArrowSchema()
	if err != nil {
		t.Fatal(err)
	}
	if got := sc.Field(0).Type.String(); got != "struct<lat: float64 nullable, lon: float64 nullable>" {
		t.Fatalf("at: %s", got)
	}
	if _, err := Compile(root, nil); err == nil || !strings.Contains(err.Error(), "common/geo.proto") {
		t.Fatalf("missing import: %v", err)
	}
}

func TestBadData(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	m := mustMessage(t, clicksProto, "Click")
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated varint", []byte{0x08, 0x80}, "bad varint"},
		{"length past the end", []byte{0x0a, 0x05, 'a'}, "runs past the end"},
		{"field zero", []byte{0x00, 0x01}, "invalid"},
		{"wire type 7", []byte{0x0f}, "wire type 7"},
		{"bad utf-8", enc(nil).str(1, "\xff"), "invalid UTF-8"},
		{"bad nested", enc(nil).bytes(8, []byte{0x0a, 0x09}), "runs past the end"},
		{"unclosed group", enc(nil).tag(50, wSGroup).varint(1, 1), "not closed"},
		{"truncated fixed", []byte{0x71, 1, 2}, "truncated"},
		{"bad packed", enc(nil).bytes(5, []byte{0x80}), "bad varint in packed"},
	} {
		_, err := decodeAll(t, mem, m, c.data)
		if err == nil || !errors.Is(err, ErrData) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	// A well-formed group of an unknown field is skipped.
	got, err := decodeAll(t, mem, m, enc(nil).tag(50, wSGroup).varint(1, 1).tag(50, wEGroup).str(1, "after"))
	if err != nil || !strings.Contains(at(got, 0), `"user":"after"`) {
		t.Fatalf("group skipped: %v %v", got, err)
	}
}

// FuzzParseProto: any text parses and maps, or fails with ErrSchema; never
// a panic or a hang.
func FuzzParseProto(f *testing.F) {
	f.Add(clicksProto)
	f.Add(`syntax = "proto2"; message M { required int32 a = 1; optional string b = 2 [default = "x"]; }`)
	f.Add(`message A { map<string, A.B> m = 1; message B { oneof o { int32 x = 2; string y = 3; } } }`)
	f.Add(`import "google/protobuf/struct.proto"; message A { google.protobuf.Struct s = 1; }`)
	f.Add(`enum E { option allow_alias = true; A = 0; B = 0; } service S { rpc Get(A) returns (A) { option (x) = {}; } }`)
	f.Fuzz(func(t *testing.T, text string) {
		s, err := Parse(text)
		if err != nil {
			if !errors.Is(err, ErrSchema) {
				t.Fatalf("error not ErrSchema: %v", err)
			}
			return
		}
		for _, name := range s.rootMessages() {
			m, err := s.Message(name)
			if err != nil {
				continue // ambiguous short names are fine
			}
			d, err := NewDecoder(m, nil)
			if err != nil {
				if !errors.Is(err, ErrSchema) {
					t.Fatalf("error not ErrSchema: %v", err)
				}
				continue
			}
			d.Append([]byte{0x08, 0x01, 0x12, 0x00})
			d.Release()
		}
	})
}

// FuzzDecode: any bytes either decode into valid columns or fail with
// ErrData; never a panic or a hang.
func FuzzDecode(f *testing.F) {
	m := mustMessage(f, clicksProto, "Click")
	device := enc(nil).str(1, "ios").varint(2, 2)
	f.Add([]byte(enc(nil).str(1, "ann").varint(2, 5).bytes(8, device).bytes(9, enc(nil).varint(1, 7))))
	f.Add([]byte(enc(nil).bytes(7, enc(nil).str(1, "k").varint(2, 1)).bytes(20, enc(nil).varint(1, 2).bytes(2, device))))
	f.Add([]byte(enc(nil).bytes(5, []byte{1, 2, 3}).str(6, "t").bytes(19, device).bytes(19, device)))
	f.Add([]byte(enc(nil).tag(50, wSGroup).tag(51, wSGroup).tag(51, wEGroup).tag(50, wEGroup)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		d, err := NewDecoder(m, mem)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Release()
		if err := d.Append(data); err != nil {
			if !errors.Is(err, ErrData) {
				t.Fatalf("error not ErrData: %v", err)
			}
			return
		}
		d.AppendNull()
		rec := d.NewBatch()
		defer rec.Release()
		for _, c := range rec.Columns() {
			validate(t, c)
		}
	})
}

// validate checks a column and its children deeply, as far as arrow-go can.
func validate(t testing.TB, a arrow.Array) {
	t.Helper()
	if v, ok := a.(interface{ ValidateFull() error }); ok {
		if err := v.ValidateFull(); err != nil {
			t.Fatalf("invalid %s column: %v", a.DataType(), err)
		}
	}
	switch a := a.(type) {
	case *array.Struct:
		for i := 0; i < a.NumField(); i++ {
			if a.Field(i).Len() != a.Len() {
				t.Fatalf("struct field %d has %d rows, the struct %d", i, a.Field(i).Len(), a.Len())
			}
			validate(t, a.Field(i))
		}
	case *array.Map:
		validate(t, a.Keys())
		validate(t, a.Items())
	case *array.List:
		validate(t, a.ListValues())
	}
}
