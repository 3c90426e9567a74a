package avro

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// enc writes Avro's binary encoding, for tests.
type enc []byte

func (e enc) long(v int64) enc {
	u := uint64(v<<1) ^ uint64(v>>63)
	for u >= 0x80 {
		e = append(e, byte(u)|0x80)
		u >>= 7
	}
	return append(e, byte(u))
}
func (e enc) str(s string) enc     { return append(e.long(int64(len(s))), s...) }
func (e enc) raw(b ...byte) enc    { return append(e, b...) }
func (e enc) boolean(b bool) enc   { return e.raw(map[bool]byte{false: 0, true: 1}[b]) }
func (e enc) float(f float32) enc  { return binary.LittleEndian.AppendUint32(e, math.Float32bits(f)) }
func (e enc) double(f float64) enc { return binary.LittleEndian.AppendUint64(e, math.Float64bits(f)) }
func (e enc) union(i int64) enc    { return e.long(i) }
func (e enc) block(n int64) enc    { return e.long(n) }

const allTypes = `{"type":"record","name":"Event","namespace":"t","fields":[
 {"name":"b","type":"boolean"},
 {"name":"i","type":"int"},
 {"name":"l","type":"long"},
 {"name":"f","type":"float"},
 {"name":"d","type":"double"},
 {"name":"by","type":"bytes"},
 {"name":"s","type":"string"},
 {"name":"e","type":{"type":"enum","name":"Kind","symbols":["VIEW","CLICK"]}},
 {"name":"fx","type":{"type":"fixed","name":"Two","size":2}},
 {"name":"arr","type":{"type":"array","items":"int"}},
 {"name":"m","type":{"type":"map","values":"long"}},
 {"name":"rec","type":{"type":"record","name":"Inner","fields":[{"name":"x","type":["null","string"]}]}},
 {"name":"opt","type":["null","long"],"default":null},
 {"name":"day","type":{"type":"int","logicalType":"date"}},
 {"name":"tsm","type":{"type":"long","logicalType":"timestamp-millis"}},
 {"name":"tsu","type":{"type":"long","logicalType":"timestamp-micros"}},
 {"name":"dec","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}},
 {"name":"decf","type":{"type":"fixed","name":"D","size":3,"logicalType":"decimal","precision":5,"scale":1}},
 {"name":"again","type":"Inner"}
]}`

func allTypesRecord(i int64, nulls bool) []byte {
	e := enc(nil).boolean(i%2 == 0).long(i).long(-i*1_000_000_000_000).float(1.5).double(-2.25).str("\x00\xff").str("héllo").
		long(1).raw('a', 'b').
		block(2).long(1).long(2).block(0).          // arr [1, 2]
		block(-1).long(4).str("k").long(9).block(0) // m {k: 9}, a block with its byte size
	if nulls {
		e = e.union(0) // rec.x null
	} else {
		e = e.union(1).str("inner")
	}
	if nulls {
		e = e.union(0)
	} else {
		e = e.union(1).long(42)
	}
	e = e.long(19723).long(1_700_000_000_123).long(1_700_000_000_123_456).
		str("\xff\x85").       // dec -123 -> -1.23
		raw(0x00, 0x30, 0x39). // decf 12345 -> 1234.5
		union(1).str("again")
	return e
}

func render(b arrow.RecordBatch) []string {
	var rows []string
	for i := 0; i < int(b.NumRows()); i++ {
		var cells []string
		for c, col := range b.Columns() {
			v := expr.FormatValue(expr.ValueAt(col, i), col.DataType(), false)
			if m, ok := col.(*array.Map); ok && m.IsValid(i) {
				v = m.ValueStr(i)
			}
			cells = append(cells, b.Schema().Field(c).Name+"="+v)
		}
		rows = append(rows, strings.Join(cells, " "))
	}
	return rows
}

func decodeAll(t *testing.T, mem memory.Allocator, reader string, writer string, records ...[]byte) ([]string, error) {
	t.Helper()
	rs, err := Parse(reader)
	if err != nil {
		return nil, err
	}
	d, err := NewDecoder(rs, mem)
	if err != nil {
		return nil, err
	}
	defer d.Release()
	p := d.self
	if writer != "" {
		ws, err := Parse(writer)
		if err != nil {
			return nil, err
		}
		if p, err = d.Program(ws); err != nil {
			return nil, err
		}
	}
	for _, r := range records {
		if r == nil {
			d.AppendNull()
			continue
		}
		if err := p.Append(r); err != nil {
			return nil, err
		}
	}
	b := d.NewBatch()
	defer b.Release()
	for _, c := range b.Columns() {
		validate(t, c)
	}
	return render(b), nil
}

func TestAllTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rs, err := Parse(allTypes)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := rs.ArrowSchema()
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, f := range sc.Fields() {
		types = append(types, f.Name+":"+expr.TypeName(f.Type))
	}
	if got := strings.Join(types, ","); got != "b:boolean,i:int,l:bigint,f:float,d:double,by:binary,s:string,e:string,fx:binary,arr:array<int>,m:map<string,bigint>,rec:struct<x:string>,opt:bigint,day:date,tsm:timestamp,tsu:timestamp,dec:decimal(9,2),decf:decimal(5,1),again:struct<x:string>" {
		t.Fatalf("schema %s", got)
	}
	got, err := decodeAll(t, mem, allTypes, "", allTypesRecord(3, false), nil, allTypesRecord(4, true))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"b=false i=3 l=-3000000000000 f=1.5 d=-2.25 by=[00FF] s=héllo e=CLICK fx=[6162] arr=[1, 2] m=[{\"key\":\"k\",\"value\":9}] rec={inner} opt=42 day=2024-01-01 tsm=2023-11-14 22:13:20.123 tsu=2023-11-14 22:13:20.123456 dec=-1.23 decf=1234.5 again={again}",
		"b=NULL i=NULL l=NULL f=NULL d=NULL by=NULL s=NULL e=NULL fx=NULL arr=NULL m=NULL rec=NULL opt=NULL day=NULL tsm=NULL tsu=NULL dec=NULL decf=NULL again=NULL",
		"b=true i=4 l=-4000000000000 f=1.5 d=-2.25 by=[00FF] s=héllo e=CLICK fx=[6162] arr=[1, 2] m=[{\"key\":\"k\",\"value\":9}] rec={NULL} opt=NULL day=2024-01-01 tsm=2023-11-14 22:13:20.123 tsu=2023-11-14 22:13:20.123456 dec=-1.23 decf=1234.5 again={again}",
	}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Fatalf("row %d:\n got %v\nwant %s", i, got, want[i])
		}
	}
}

// Records written with an older schema read into the newer one: fields
// by name or alias, promotions, defaults for new fields, skipped old ones.
func TestSchemaResolution(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	writer := `{"type":"record","name":"User","fields":[
		{"name":"id","type":"int"},
		{"name":"gone","type":{"type":"array","items":{"type":"map","values":["null","string"]}}},
		{"name":"user_name","type":"string"},
		{"name":"score","type":"float"},
		{"name":"kind","type":{"type":"enum","name":"K","symbols":["A","B","OLD"]}},
		{"name":"ts","type":"long"}]}`
	reader := `{"type":"record","name":"User","fields":[
		{"name":"id","type":"long"},
		{"name":"name","type":"string","aliases":["user_name"]},
		{"name":"score","type":"double"},
		{"name":"kind","type":{"type":"enum","name":"K","symbols":["A","B"],"default":"A"}},
		{"name":"age","type":"int","default":7},
		{"name":"email","type":["null","string"],"default":null},
		{"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}}]}`
	rec := enc(nil).long(5).
		block(1).block(1).str("k").union(1).str("v").block(0).block(0).
		str("ann").float(0.5).long(2).long(1000)
	got, err := decodeAll(t, mem, reader, writer, rec)
	if err != nil {
		t.Fatal(err)
	}
	if want := "id=5 name=ann score=0.5 kind=A age=7 email=NULL ts=1970-01-01 00:00:01"; got[0] != want {
		t.Fatalf("got  %s\nwant %s", got[0], want)
	}
	// Incompatible schemas are refused when compiled, naming the field.
	_, err = decodeAll(t, mem, `{"type":"record","name":"User","fields":[{"name":"id","type":"int"}]}`,
		`{"type":"record","name":"User","fields":[{"name":"id","type":"string"}]}`)
	if !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "field id") {
		t.Fatalf("string as int: %v", err)
	}
}

func TestBadData(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const sch = `{"type":"record","name":"R","fields":[{"name":"a","type":["null","long"]},{"name":"s","type":"string"},{"name":"xs","type":{"type":"array","items":"null"}}]}`
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", enc(nil).union(1), "truncated number"},
		{"bad union", enc(nil).union(5), "union branch 5 of 2"},
		{"long string", enc(nil).union(0).long(100).raw('x'), "past the end"},
		{"trailing", enc(nil).union(0).str("x").block(0).raw(1, 2), "2 bytes left"},
		{"huge block", enc(nil).union(0).str("x").block(1 << 40), "block of"},
		{"varint", enc(nil).raw(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), "longer than 10 bytes"},
	} {
		_, err := decodeAll(t, mem, sch, "", c.data)
		if !errors.Is(err, ErrData) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	for _, bad := range []string{
		`{"type":"record","name":"R","fields":[{"name":"next","type":["null","R"]}]}`,
		`{"type":"record","name":"R","fields":[{"name":"u","type":["string","long"]}]}`,
		`"long"`,
		`{"type":"record","name":"R","fields":[{"name":"a","type":"nope"}]}`,
		`{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"int"}]}`,
		`{"type":`,
	} {
		if _, err := decodeAll(t, mem, bad, ""); !errors.Is(err, ErrSchema) {
			t.Errorf("%s: %v, want ErrSchema", bad, err)
		}
	}
	// A recursive writer type is fine when the reader does not have the field.
	rec, err := decodeAll(t, mem, `{"type":"record","name":"R","fields":[{"name":"v","type":"int"}]}`,
		`{"type":"record","name":"R","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","R"]}]}`,
		enc(nil).long(1).union(1).long(2).union(1).long(3).union(0))
	if err != nil || rec[0] != "v=1" {
		t.Fatalf("recursive writer: %v %v", rec, err)
	}
}

// FuzzDecode: any bytes either decode into valid columns or fail with
// ErrData; never a panic or a hang.
func FuzzDecode(f *testing.F) {
	f.Add(allTypesRecord(1, false))
	f.Add(allTypesRecord(2, true))
	f.Add([]byte{})
	f.Add([]byte{0x02, 0x04})
	rs, err := Parse(allTypes)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		d, err := NewDecoder(rs, mem)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Release()
		if err := d.Append(data); err != nil {
			if !errors.Is(err, ErrData) {
				t.Fatalf("error without ErrData: %v", err)
			}
			return
		}
		b := d.NewBatch()
		defer b.Release()
		for _, c := range b.Columns() {
			if c.Len() != 1 {
				t.Fatalf("column of %d rows", c.Len())
			}
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

// FuzzParse: any schema text parses, maps and compiles against itself, or
// fails with ErrSchema; never a panic.
func FuzzParse(f *testing.F) {
	f.Add(allTypes)
	f.Add(`{"type":"record","name":"R","fields":[{"name":"next","type":["null","R"]}]}`)
	f.Add(`["null",{"type":"map","values":{"type":"array","items":"double"}}]`)
	f.Add(`{"type":"fixed","name":"F","size":4,"logicalType":"decimal","precision":7,"scale":2}`)
	f.Fuzz(func(t *testing.T, text string) {
		s, err := Parse(text)
		if err != nil {
			if !errors.Is(err, ErrSchema) {
				t.Fatalf("error without ErrSchema: %v", err)
			}
			return
		}
		d, err := NewDecoder(s, memory.NewGoAllocator())
		if err != nil {
			if !errors.Is(err, ErrSchema) {
				t.Fatalf("error without ErrSchema: %v", err)
			}
			return
		}
		defer d.Release()
		_ = d.Append([]byte{0, 2, 4, 6})
	})
}
