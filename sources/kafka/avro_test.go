package kafka

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// avroLong and avroStr write Avro's binary encoding, for tests.
func avroLong(b []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for u >= 0x80 {
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}

func avroStr(b []byte, s string) []byte { return append(avroLong(b, int64(len(s))), s...) }

// framed adds the schema registry's header: magic byte 0, schema id.
func framed(id int, payload []byte) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{0}, uint32(id)), payload...)
}

const (
	clickV1 = `{"type":"record","name":"Click","fields":[{"name":"user","type":"string"},{"name":"n","type":"int"}]}`
	clickV2 = `{"type":"record","name":"Click","fields":[{"name":"user","type":"string"},{"name":"n","type":"long"},
		{"name":"page","type":["null","string"],"default":null},{"name":"w","type":"double","default":1.5}]}`
)

// Values framed by a schema registry decode with their writer schema,
// resolved against the subject's latest: old and new records side by side.
func TestAvroValues(t *testing.T) {
	const user, pass = "reader", "avro-s3cret"
	reg := srfake.New(srfake.WithAuth("Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))))
	defer reg.Close()
	id1, _, err := reg.RegisterSchema("clicks-value", sr.Schema{Schema: clickV1, Type: sr.TypeAvro})
	if err != nil {
		t.Fatal(err)
	}
	id2, _, err := reg.RegisterSchema("clicks-value", sr.Schema{Schema: clickV2, Type: sr.TypeAvro})
	if err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, 1, "clicks", "raw")
	cl := producer(t, b)
	ctx := context.Background()
	v2 := avroStr(nil, "bob")
	v2 = avroLong(v2, 1<<40)
	v2 = avroStr(avroLong(v2, 1), "/home")
	v2 = append(v2, 0, 0, 0, 0, 0, 0, 0x04, 0x40) // w = 2.5
	vals := [][]byte{
		framed(id1, avroLong(avroStr(nil, "ann"), 7)),
		nil, // tombstone
		framed(id2, v2),
		framed(99, []byte{1}), // a schema the registry does not have
	}
	for _, v := range vals {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "clicks", Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	mem := checkedMem(t)
	read := func(o Options) (string, error) {
		o.BootstrapServers, o.Subscribe, o.Mem, o.ValueFormat = b.Addr(), "clicks", mem, "avro"
		rr, err := Read(ctx, o)
		if err != nil {
			return "", err
		}
		defer rr.Release()
		var out []string
		for rr.Next() {
			rec := rr.RecordBatch()
			v := rec.Column(colValue).(*array.Struct)
			for i := 0; i < int(rec.NumRows()); i++ {
				out = append(out, v.ValueStr(i))
			}
		}
		return strings.Join(out, " "), rr.Err()
	}
	o := Options{SchemaRegistryURL: reg.URL(), SchemaRegistryUserInfo: user + ":" + pass, EndingOffsets: `{"clicks":{"0":3}}`}
	got, err := read(o)
	if want := `{"n":7,"page":null,"user":"ann","w":1.5} (null) {"n":1099511627776,"page":"/home","user":"bob","w":2.5}`; err != nil || got != want {
		t.Fatalf("got %s, %v\nwant %s", got, err, want)
	}
	if s := o.String(); strings.Contains(s, pass) || !strings.Contains(s, "schema.registry.basic.auth.user.info=***") {
		t.Fatalf("options print the registry password: %s", s)
	}
	o.EndingOffsets = ""
	if _, err := read(o); err == nil || !strings.Contains(err.Error(), "clicks-0 offset 3") || !strings.Contains(err.Error(), "no schema 99") {
		t.Fatalf("unknown schema id: %v", err)
	}
	o.SchemaRegistryUserInfo = user + ":wrong-password"
	if _, err := read(o); err == nil || strings.Contains(err.Error(), "wrong-password") || !strings.Contains(err.Error(), `subject "clicks-value"`) {
		t.Fatalf("refused registry login: %v", err)
	}

	// Raw Avro values with a fixed schema (Spark's from_avro(value, jsonSchema)).
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "raw", Value: avroLong(avroStr(nil, "cy"), -3)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	rr, err := Read(ctx, Options{BootstrapServers: b.Addr(), Subscribe: "raw", ValueFormat: "avro", AvroSchema: clickV1, Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	if got := rows(t, rr); len(got) != 1 || got[0] != `raw/0/0={"n":-3,"user":"cy"}` {
		t.Fatalf("raw avro: %v", got)
	}
}

func TestAvroOptions(t *testing.T) {
	for _, c := range []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{"valueFormat": "avro"}, "needs schema.registry.url"},
		{map[string]string{"valueFormat": "avro", "avroSchema": clickV1, "schema.registry.url": "http://x"}, "set one of"},
		{map[string]string{"valueFormat": "avro", "avroSchema": `{"type":"nope"}`}, "option avroSchema"},
		{map[string]string{"valueFormat": "avro", "schema.registry.url": "http://x", "subscribePattern": "c.*", "subscribe": ""}, "set valueSubject"},
		{map[string]string{"schema.registry.url": "http://x"}, `needs valueFormat "avro"`},
		{map[string]string{"valueFormat": "avro", "schema.registry.url": "http://x", "schema.registry.basic.auth.user.info": "nocolon-secret"}, `must be "user:password"`},
	} {
		m := map[string]string{"kafka.bootstrap.servers": "x:1", "subscribe": "t"}
		for k, v := range c.opts {
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		_, err := ParseOptions(m)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "nocolon-secret") {
			t.Errorf("%v: %v, want %q", c.opts, err, c.want)
		}
	}
}
