package kafkaconf

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name      string
		bootstrap string
		m         map[string]string
		wantErr   string // "" = ok
		check     func(*Client) bool
	}{
		{"plain", "a:1, b:2", nil, "", func(c *Client) bool {
			return len(c.Brokers) == 2 && c.ClientID == "sluice" && c.TLS == nil && c.SASL == ""
		}},
		{"no servers", " , ", nil, "kafka.bootstrap.servers is required", nil},
		{"client id", "a:1", map[string]string{"kafka.client.id": "me"}, "", func(c *Client) bool { return c.ClientID == "me" }},
		{"jaas", "a:1", map[string]string{"kafka.security.protocol": "sasl_plaintext",
			"kafka.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required username="u\"x" password="p w";`},
			"", func(c *Client) bool { return c.SASL == "PLAIN" && c.user == `u"x` && c.password == "p w" }},
		{"librdkafka names", "a:1", map[string]string{"kafka.security.protocol": "SASL_SSL", "kafka.sasl.mechanism": "scram-sha-512",
			"kafka.sasl.username": "u", "kafka.sasl.password": "p"}, "", func(c *Client) bool { return c.SASL == "SCRAM-SHA-512" && c.TLS != nil }},
		{"sasl without credentials", "a:1", map[string]string{"kafka.security.protocol": "SASL_PLAINTEXT"}, "needs credentials", nil},
		{"sasl options without protocol", "a:1", map[string]string{"kafka.sasl.username": "u"}, "is not SASL_PLAINTEXT", nil},
		{"bad mechanism", "a:1", map[string]string{"kafka.security.protocol": "SASL_PLAINTEXT", "kafka.sasl.mechanism": "GSSAPI", "kafka.sasl.username": "u"}, "GSSAPI", nil},
		{"bad protocol", "a:1", map[string]string{"kafka.security.protocol": "TLS"}, "security.protocol", nil},
		{"missing ca", "a:1", map[string]string{"kafka.security.protocol": "SSL", "kafka.ssl.ca.location": "/no/such.pem"}, "ssl.ca.location", nil},
		{"cert without key", "a:1", map[string]string{"kafka.security.protocol": "SSL", "kafka.ssl.certificate.location": "/x.pem"}, "go together", nil},
		{"no host check", "a:1", map[string]string{"kafka.security.protocol": "SSL", "kafka.ssl.endpoint.identification.algorithm": ""}, "",
			func(c *Client) bool { return c.TLS.InsecureSkipVerify && c.TLS.VerifyConnection != nil }},
		{"jks", "a:1", map[string]string{"kafka.ssl.truststore.location": "/x.jks"}, "PEM", nil},
		{"unknown", "a:1", map[string]string{"kafka.linger.ms": "5"}, "unknown option kafka.linger.ms", nil},
		{"extra allowed", "a:1", map[string]string{"kafka.fetch.max.bytes": "5"}, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, errs := Parse(tc.bootstrap, tc.m, []Key{{Name: "fetch.max.bytes"}})
			err := errors.Join(errs...)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.check != nil && !tc.check(c) {
					t.Fatalf("parsed %+v", c)
				}
				if len(c.Opts(nil)) < 2 {
					t.Fatal("no client options")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestRedaction(t *testing.T) {
	m := map[string]string{"kafka.sasl.password": "p1", "kafka.sasl.jaas.config": "p2", "kafka.ssl.key.password": "p3", "kafka.client.id": "id"}
	s := FormatMap(m)
	for _, secret := range []string{"p1", "p2", "p3"} {
		if strings.Contains(s, "="+secret) {
			t.Errorf("FormatMap shows %s: %s", secret, s)
		}
	}
	if !strings.Contains(s, "kafka.client.id=id") {
		t.Errorf("FormatMap hides a plain value: %s", s)
	}
}

func FuzzParseJAAS(f *testing.F) {
	f.Add(`x required username="u" password="p";`)
	f.Add(`username="a\"b" password="\\"`)
	f.Add(``)
	f.Fuzz(func(t *testing.T, s string) {
		u, _, ok := parseJAAS(s)
		if ok != (u != "") {
			t.Fatalf("ok=%v user=%q", ok, u)
		}
	})
}
