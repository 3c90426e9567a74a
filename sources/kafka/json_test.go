package kafka

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluicehq/sluice/internal/devkafka"
)

func TestJSONValues(t *testing.T) {
	b := startBroker(t, 1, "t")
	cl := producer(t, b)
	ctx := context.Background()
	vals := [][]byte{
		[]byte(`{"ad_id":"a1","n":1}`),
		nil, // tombstone: NULL struct
		[]byte(`[{"ad_id":"a2","n":2},{"ad_id":"a3"}]`), // two rows, same offset
		[]byte(`{"n":"oops"}`),
	}
	for _, v := range vals {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	mem := checkedMem(t)
	read := func(opts map[string]string, end string) (string, error) {
		rr, err := Read(ctx, Options{BootstrapServers: b.Addr(), Subscribe: "t", ValueFormat: "json",
			ValueSchema: "ad_id STRING, n INT", ValueOptions: opts, EndingOffsets: end, Mem: mem})
		if err != nil {
			return "", err
		}
		defer rr.Release()
		var out []string
		for rr.Next() {
			rec := rr.RecordBatch()
			if rec.Schema().Field(colValue).Type.String() != "struct<ad_id: utf8 nullable, n: int32 nullable>" {
				t.Fatalf("value type %s", rec.Schema().Field(colValue).Type)
			}
			v := rec.Column(colValue).(*array.Struct)
			off := rec.Column(colOffset).(*array.Int64)
			for i := 0; i < int(rec.NumRows()); i++ {
				out = append(out, off.ValueStr(i)+":"+v.ValueStr(i))
			}
		}
		return strings.Join(out, " "), rr.Err()
	}
	got, err := read(nil, `{"t":{"0":3}}`)
	if want := `0:{"ad_id":"a1","n":1} 1:(null) 2:{"ad_id":"a2","n":2} 2:{"ad_id":"a3","n":null}`; err != nil || got != want {
		t.Fatalf("got %s, %v\nwant %s", got, err, want)
	}
	if _, err := read(nil, ""); err == nil || !strings.Contains(err.Error(), "t-0 offset 3") {
		t.Fatalf("FAILFAST: %v", err)
	}
	got, err = read(map[string]string{"mode": "PERMISSIVE"}, "")
	if err != nil || !strings.HasSuffix(got, `3:{"ad_id":null,"n":null}`) {
		t.Fatalf("PERMISSIVE: %s, %v", got, err)
	}
	got, err = read(map[string]string{"mode": "DROPMALFORMED"}, "")
	if err != nil || strings.Contains(got, "3:") {
		t.Fatalf("DROPMALFORMED: %s, %v", got, err)
	}
}

func TestSASL(t *testing.T) {
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			var auth kgo.Opt
			switch mech {
			case "PLAIN":
				auth = kgo.SASL(plainAuth("admin", "s3cret"))
			case "SCRAM-SHA-256":
				auth = kgo.SASL(scram.Auth{User: "admin", Pass: "s3cret"}.AsSha256Mechanism())
			default:
				auth = kgo.SASL(scram.Auth{User: "admin", Pass: "s3cret"}.AsSha512Mechanism())
			}
			b, err := devkafka.Start(context.Background(), devkafka.Config{Topics: []string{"t"},
				Opts: []kfake.Opt{kfake.EnableSASL(), kfake.Superuser(mech, "admin", "s3cret")}, ClientOpts: []kgo.Opt{auth}})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			produce(t, producer(t, b), "t", 0, "x")
			mem := checkedMem(t)
			for _, pass := range []string{"s3cret", "wrong"} {
				if pass == "wrong" && mech != "PLAIN" {
					continue // one rejected login is enough (it costs seconds of retries)
				}
				rr, err := Read(context.Background(), Options{BootstrapServers: b.Addr(), Subscribe: "t", Mem: mem, PollTimeoutMs: 2000,
					Kafka: map[string]string{"kafka.security.protocol": "SASL_PLAINTEXT", "kafka.sasl.mechanism": mech,
						"kafka.sasl.jaas.config": `org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="` + pass + `";`}})
				if pass == "wrong" {
					if err == nil {
						rr.Release()
						t.Fatal("wrong password accepted")
					}
					if strings.Contains(err.Error(), "wrong") {
						t.Fatalf("error shows the password: %v", err)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := rows(t, rr); len(got) != 1 {
					t.Fatalf("read %v", got)
				}
			}
		})
	}
}
