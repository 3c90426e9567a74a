package kafka

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/sources"
)

func TestValidateReportsEverything(t *testing.T) {
	ts := int64(-5)
	o := Options{
		Subscribe:            "a",
		SubscribePattern:     "(",
		StartingOffsets:      `{"t":{"x":1}}`,
		StartingTimestamp:    &ts,
		EndingOffsets:        "sideways",
		MaxOffsetsPerTrigger: -1,
		MinOffsetsPerTrigger: -1,
		IsolationLevel:       "dirty",
		ValueFormat:          "json",
		Kafka: map[string]string{
			"kafka.group.id":                "g",
			"kafka.auto.offset.reset":       "earliest",
			"kafka.security.protocol":       "SASL_SSL",
			"kafka.sasl.jaas.config":        `x required password="hunter2";`,
			"kafka.ssl.truststore.location": "/x.jks",
			"kafka.fetch.max.bytes":         "lots",
			"kafka.not.a.thing":             "1",
			"subscribeTypo":                 "x",
		},
	}
	err := o.Validate()
	if err == nil || !errors.Is(err, sources.ErrSource) {
		t.Fatalf("Validate: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"kafka.bootstrap.servers is required",
		"exactly one of subscribe, subscribePattern and assign",
		"subscribePattern",
		"startingOffsets timestamp -5",
		"endingOffsets",
		"maxOffsetsPerTrigger",
		"minOffsetsPerTrigger",
		"kafka.isolation.level",
		"needs valueSchema",
		"kafka.group.id is not supported",
		"startingOffsets instead",
		"no username",
		"PEM",
		"kafka.fetch.max.bytes",
		"unknown option kafka.not.a.thing",
		`unknown option "subscribeTypo"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "hunter2") {
		t.Errorf("error shows the password:\n%s", msg)
	}
}

func TestParseOptions(t *testing.T) {
	o, err := ParseOptions(map[string]string{
		"kafka.bootstrap.servers":     "h1:9092, h2:9092",
		"subscribe":                   "a,b",
		"startingOffsets":             `{"a":{"0":-2}}`,
		"maxOffsetsPerTrigger":        "100",
		"minOffsetsPerTrigger":        "10",
		"maxTriggerDelay":             "30 seconds",
		"failOnDataLoss":              "false",
		"includeHeaders":              "true",
		"kafka.isolation.level":       "read_uncommitted",
		"kafka.client.id":             "me",
		"kafka.security.protocol":     "SASL_PLAINTEXT",
		"kafka.sasl.mechanism":        "SCRAM-SHA-256",
		"kafka.sasl.jaas.config":      `org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="hunter2";`,
		"valueFormat":                 "json",
		"valueSchema":                 "a INT, b STRING",
		"valueOption.mode":            "PERMISSIVE",
		"kafkaConsumer.pollTimeoutMs": "5000",
		"startingTimestamp":           "1000",
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.MaxOffsetsPerTrigger != 100 || o.MinOffsetsPerTrigger != 10 || o.MaxTriggerDelay != 30*time.Second ||
		o.FailOnDataLoss == nil || *o.FailOnDataLoss || !o.IncludeHeaders || o.IsolationLevel != "read_uncommitted" ||
		o.ValueOptions["mode"] != "PERMISSIVE" || o.PollTimeoutMs != 5000 || *o.StartingTimestamp != 1000 {
		t.Fatalf("parsed %+v", o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if s.r.conf.SASL != "SCRAM-SHA-256" || s.r.conf.ClientID != "me" || len(s.r.conf.Brokers) != 2 || s.r.readCommitted || s.r.failOnLoss {
		t.Fatalf("resolved %+v", s.r)
	}
	for _, text := range []string{o.String(), s.Description()} {
		if strings.Contains(text, "hunter2") {
			t.Errorf("secret in %q", text)
		}
	}
	if !strings.Contains(o.String(), "***") {
		t.Errorf("String does not mark the redaction: %s", o.String())
	}
	if _, err := ParseOptions(map[string]string{"maxOffsetsPerTrigger": "many", "failOnDataLoss": "maybe"}); err == nil ||
		!strings.Contains(err.Error(), "maxOffsetsPerTrigger") || !strings.Contains(err.Error(), "failOnDataLoss") {
		t.Fatalf("bad numbers: %v", err)
	}
}

func TestSchemaShape(t *testing.T) {
	s := newSource(t, Options{BootstrapServers: "h:1", Subscribe: "t", IncludeHeaders: true})
	want := "key: binary, value: binary, topic: utf8, partition: int32, offset: int64, timestamp: timestamp[us, tz=UTC], timestampType: int32, headers: list<item: struct<key: utf8 nullable, value: binary nullable>, nullable>"
	var got []string
	for _, f := range s.Schema().Fields() {
		got = append(got, f.Name+": "+f.Type.String())
	}
	if strings.Join(got, ", ") != want {
		t.Fatalf("schema\n got %s\nwant %s", strings.Join(got, ", "), want)
	}
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Subscribe: "a, b"}, "KafkaV2[Subscribe[a,b]]"},
		{Options{SubscribePattern: "click.*"}, "KafkaV2[SubscribePattern[click.*]]"},
		{Options{Assign: `{"t":[1,0]}`}, "KafkaV2[Assign[t-0, t-1]]"},
	} {
		tc.o.BootstrapServers = "h:1"
		if got := newSource(t, tc.o).Description(); got != tc.want {
			t.Errorf("Description %s, want %s", got, tc.want)
		}
	}
}

func TestOffsetsCanonical(t *testing.T) {
	o := offsets{{"b", 10}: 3, {"b", 2}: 1, {"a", 0}: 7}
	if got := string(o.encode()); got != `{"a":{"0":7},"b":{"2":1,"10":3}}` {
		t.Fatalf("encode %s", got)
	}
	back, err := decodeOffsets(o.encode())
	if err != nil || len(back) != 3 || back[tp{"b", 10}] != 3 {
		t.Fatalf("decode %v %v", back, err)
	}
	if string(offsets{}.encode()) != "{}" {
		t.Fatal("empty")
	}
	for _, bad := range []string{`{"a":{"x":1}}`, `{"a":{"0":-1}}`, `[1]`, `{"a":{"0":1}} x`, `{"":{"0":1}}`} {
		if _, err := decodeOffsets(sources.Offset(bad)); err == nil {
			t.Errorf("decode %s: no error", bad)
		}
	}
}

func FuzzDecodeOffsets(f *testing.F) {
	for _, s := range []string{`{"a":{"0":7},"b":{"2":1,"10":3}}`, `{}`, `{"a":{"0":-2}}`, `{"t":{"1":9223372036854775807}}`, `{"a":[0,1]}`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := decodeOffsets(sources.Offset(s))
		if err != nil {
			return
		}
		// Canonical form round-trips byte for byte.
		enc := o.encode()
		o2, err := decodeOffsets(enc)
		if err != nil {
			t.Fatalf("re-decode %s: %v", enc, err)
		}
		if string(o2.encode()) != string(enc) {
			t.Fatalf("not canonical: %s vs %s", o2.encode(), enc)
		}
		_, _ = parseAssign(s)
	})
}

func TestRateLimit(t *testing.T) {
	// Spark's proportional split: 100 over backlogs 300 and 100 -> 75 and 25;
	// a tiny partition still gets 1 (ceil below 1).
	begin := offsets{{"t", 0}: 0, {"t", 1}: 0, {"t", 2}: 10}
	until := offsets{{"t", 0}: 300, {"t", 1}: 100, {"t", 2}: 11}
	got := rateLimit(100, begin, until)
	if got[tp{"t", 0}] != 74 || got[tp{"t", 1}] != 24 || got[tp{"t", 2}] != 11 {
		t.Fatalf("rateLimit %v", got)
	}
	if got := rateLimit(1000, begin, until); got[tp{"t", 0}] != 300 || got[tp{"t", 1}] != 100 {
		t.Fatalf("under the cap: %v", got)
	}
	if got := rateLimit(10, begin, begin); got[tp{"t", 0}] != 0 {
		t.Fatalf("no backlog: %v", got)
	}
}
