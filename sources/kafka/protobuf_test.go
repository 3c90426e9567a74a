package kafka

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// pb writes the Protobuf wire format, for tests.
type pb []byte

func (p pb) varint(num int, v uint64) pb {
	return binary.AppendUvarint(binary.AppendUvarint(p, uint64(num)<<3), v)
}

func (p pb) bytes(num int, b []byte) pb {
	return append(binary.AppendUvarint(binary.AppendUvarint(p, uint64(num)<<3|2), uint64(len(b))), b...)
}

func (p pb) str(num int, s string) pb { return p.bytes(num, []byte(s)) }

// pbFramed adds the schema registry's Protobuf header: magic byte, schema
// id, message index.
func pbFramed(id int, index []int, payload []byte) []byte {
	var h sr.ConfluentHeader
	b, _ := h.AppendEncode(nil, id, index)
	return append(b, payload...)
}

const (
	geoProto = `syntax = "proto3"; package common; message Point { double lat = 1; double lon = 2; }`
	clickPB1 = `syntax = "proto3"; package shop;
import "common/geo.proto";
import "google/protobuf/timestamp.proto";
message Click { string user = 1; int32 n = 2; common.Point at = 3; google.protobuf.Timestamp ts = 4; }
message Ping { int32 x = 1; }`
	// v2 adds a field and a message before Click: its index moves.
	clickPB2 = `syntax = "proto3"; package shop;
import "common/geo.proto";
import "google/protobuf/timestamp.proto";
message Header { string id = 1; }
message Click { string user = 1; int32 n = 2; common.Point at = 3; google.protobuf.Timestamp ts = 4; repeated string tags = 5; }
message Ping { int32 x = 1; }`
)

// Protobuf values framed by a schema registry, with a reference to another
// subject and the well-known Timestamp, written with two schema versions
// (the message at another index in each), decode into the latest.
func TestProtobufValues(t *testing.T) {
	const user, pass = "reader", "proto-s3cret"
	reg := srfake.New()
	defer reg.Close()
	if _, _, err := reg.RegisterSchema("geo", sr.Schema{Schema: geoProto, Type: sr.TypeProtobuf}); err != nil {
		t.Fatal(err)
	}
	refs := []sr.SchemaReference{{Name: "common/geo.proto", Subject: "geo", Version: 1}}
	id1, _, err := reg.RegisterSchema("clicks-value", sr.Schema{Schema: clickPB1, Type: sr.TypeProtobuf, References: refs})
	if err != nil {
		t.Fatal(err)
	}
	id2, _, err := reg.RegisterSchema("clicks-value", sr.Schema{Schema: clickPB2, Type: sr.TypeProtobuf, References: refs})
	if err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, 1, "clicks", "raw")
	cl := producer(t, b)
	ctx := context.Background()
	at := binary.LittleEndian.AppendUint64([]byte{1<<3 | 1}, 0x4004000000000000) // lat = 2.5, a fixed64
	vals := [][]byte{
		pbFramed(id1, []int{0}, pb(nil).str(1, "ann").varint(2, 7).bytes(3, at).bytes(4, pb(nil).varint(1, 1767225600))),
		nil, // tombstone
		pbFramed(id2, []int{1}, pb(nil).str(1, "bob").str(5, "x").str(5, "y")),
		pbFramed(id1, []int{0}, nil),                  // every field absent
		pbFramed(id1, []int{1}, pb(nil).varint(1, 3)), // a Ping
	}
	for _, v := range vals {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "clicks", Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	mem := checkedMem(t)
	read := func(o Options) (string, error) {
		o.BootstrapServers, o.Subscribe, o.Mem, o.ValueFormat = b.Addr(), "clicks", mem, "protobuf"
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
	// The latest schema's first message is Header: name the one to read.
	o := Options{SchemaRegistryURL: reg.URL(), ProtobufMessage: "shop.Click", EndingOffsets: `{"clicks":{"0":4}}`}
	got, err := read(o)
	want := `{"at":{"lat":2.5,"lon":0},"n":7,"tags":[],"ts":"2026-01-01T00:00:00Z","user":"ann"} (null) ` +
		`{"at":null,"n":0,"tags":["x","y"],"ts":null,"user":"bob"} {"at":null,"n":0,"tags":[],"ts":null,"user":""}`
	if err != nil || got != want {
		t.Fatalf("got %s, %v\nwant %s", got, err, want)
	}
	o.EndingOffsets = ""
	if _, err := read(o); err == nil || !strings.Contains(err.Error(), "clicks-0 offset 4") || !strings.Contains(err.Error(), "is message shop.Ping, but the source reads shop.Click") {
		t.Fatalf("a value of another message: %v", err)
	}
	// protobufMessage picks the reader message.
	o.ProtobufMessage, o.StartingOffsets = "Ping", `{"clicks":{"0":4}}`
	if got, err := read(o); err != nil || got != `{"x":3}` {
		t.Fatalf("protobufMessage Ping: %s %v", got, err)
	}
	o.ProtobufMessage = "Nope"
	if _, err := read(o); err == nil || !strings.Contains(err.Error(), "no message Nope") {
		t.Fatalf("unknown protobufMessage: %v", err)
	}

	// Raw (unframed) values with a schema given as text.
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "raw", Value: pb(nil).str(1, "cy").varint(2, 2)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	rr, err := Read(ctx, Options{BootstrapServers: b.Addr(), Subscribe: "raw", ValueFormat: "protobuf",
		ProtobufSchema: `syntax = "proto3"; message C { string user = 1; int32 n = 2; }`, Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	if got := rows(t, rr); len(got) != 1 || got[0] != `raw/0/0={"n":2,"user":"cy"}` {
		t.Fatalf("raw protobuf: %v", got)
	}

	// A registry that needs a password it is not given.
	auth := srfake.New(srfake.WithAuth("Basic cmVhZGVyOnByb3RvLXMzY3JldA==")) // reader:proto-s3cret
	defer auth.Close()
	_, err = New(Options{BootstrapServers: b.Addr(), Subscribe: "clicks", ValueFormat: "protobuf", SchemaRegistryURL: auth.URL(), SchemaRegistryUserInfo: user + ":wrong-" + pass})
	if err == nil || strings.Contains(err.Error(), "wrong-") || !strings.Contains(err.Error(), `subject "clicks-value"`) {
		t.Fatalf("refused registry login: %v", err)
	}
}

func TestProtobufOptions(t *testing.T) {
	for _, c := range []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{"valueFormat": "protobuf"}, "needs schema.registry.url"},
		{map[string]string{"valueFormat": "protobuf", "protobufSchema": "message A {}", "schema.registry.url": "http://x"}, "set one of"},
		{map[string]string{"valueFormat": "protobuf", "protobufSchema": "message A { B b = 1; }"}, "unknown type B"},
		{map[string]string{"valueFormat": "protobuf", "protobufSchema": "message A {}", "protobufMessage": "Z"}, "no message Z"},
		{map[string]string{"valueFormat": "protobuf", "schema.registry.url": "http://x", "subscribePattern": "c.*", "subscribe": ""}, "set valueSubject"},
		{map[string]string{"protobufSchema": "message A {}"}, `needs valueFormat "protobuf"`},
		{map[string]string{"valueFormat": "avro", "avroSchema": clickV1, "protobufMessage": "A"}, `needs valueFormat "protobuf"`},
		{map[string]string{"valueFormat": "protobuf", "protobufSchema": "message A {}", "avroSchema": clickV1}, `avroSchema needs valueFormat "avro"`},
		{map[string]string{"valueFormat": "protobuf", "protobufSchema": "message A {}", "valueSchema": "a INT"}, "valueSchema is for"},
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
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.opts, err, c.want)
		}
	}
	o, err := ParseOptions(map[string]string{"kafka.bootstrap.servers": "x:1", "subscribe": "t", "valueFormat": "protobuf",
		"protobufSchema": `syntax = "proto3"; message A { repeated int64 v = 1; }`})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Schema().Field(colValue).Type.String(); got != "struct<v: list<item: int64, nullable> nullable>" {
		t.Fatalf("value type %s", got)
	}
}
