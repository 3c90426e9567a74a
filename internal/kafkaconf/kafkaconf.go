// Package kafkaconf turns the Kafka client settings shared by the Kafka
// source and sink (Spark's kafka.* pass-through options: bootstrap servers,
// client id, SASL PLAIN/SCRAM, TLS) into franz-go client options, and keeps
// secrets out of every error, log line and description.
package kafkaconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Key is a supported kafka.* option (without the "kafka." prefix) and
// what it is for.
type Key struct {
	Name string
	Doc  string
	// Secret values are redacted wherever options are printed.
	Secret bool
}

// Common are the client keys both the source and the sink accept.
var Common = []Key{
	{Name: "client.id", Doc: "client id sent to the brokers (default sluice)"},
	{Name: "security.protocol", Doc: "PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL"},
	{Name: "sasl.mechanism", Doc: "PLAIN (default with SASL), SCRAM-SHA-256 or SCRAM-SHA-512"},
	{Name: "sasl.jaas.config", Doc: `Java style: ... required username="u" password="p";`, Secret: true},
	{Name: "sasl.username", Doc: "SASL user (librdkafka style, instead of sasl.jaas.config)"},
	{Name: "sasl.password", Doc: "SASL password", Secret: true},
	{Name: "ssl.ca.location", Doc: "PEM file of CA certificates to trust (default: the system pool)"},
	{Name: "ssl.certificate.location", Doc: "PEM client certificate for mutual TLS"},
	{Name: "ssl.key.location", Doc: "PEM private key of the client certificate"},
	{Name: "ssl.endpoint.identification.algorithm", Doc: `"https" (default) checks the broker's host name; "none" or "" does not`},
	{Name: "request.timeout.ms", Doc: "extra time allowed per request on top of its own timeout"},
}

// secretPattern matches keys that hold secrets even if not listed.
var secretPattern = regexp.MustCompile(`(?i)(password|secret|jaas|token|credential|key\.password)`)

// IsSecret reports whether the value of kafka.* key k must never be shown.
func IsSecret(k string) bool {
	k = strings.TrimPrefix(k, "kafka.")
	for _, c := range Common {
		if c.Name == k {
			return c.Secret
		}
	}
	return secretPattern.MatchString(k)
}

// Redacted returns m with secret values replaced by "***", for printing.
func Redacted(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if IsSecret(k) {
			v = "***"
		}
		out[k] = v
	}
	return out
}

// FormatMap prints m sorted by key with secrets redacted.
func FormatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	r := Redacted(m)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + "=" + r[k])
	}
	return b.String()
}

// Rejected are kafka.* keys Spark refuses, with what to use instead.
var Rejected = map[string]string{
	"group.id":                "sluice keeps source offsets in the checkpoint, not in a consumer group; remove it",
	"auto.offset.reset":       "set the option startingOffsets instead",
	"enable.auto.commit":      "offsets live in the checkpoint; remove it",
	"key.deserializer":        "keys are always binary; cast or decode them in the query",
	"value.deserializer":      "values are binary; use valueFormat/valueSchema or from_json in the query",
	"key.serializer":          "the sink writes the binary or string key column as is",
	"value.serializer":        "the sink writes the binary or string value column as is",
	"interceptor.classes":     "Java interceptors do not exist here; remove it",
	"ssl.truststore.location": "Java key stores are not read; convert to PEM and set kafka.ssl.ca.location",
	"ssl.keystore.location":   "Java key stores are not read; convert to PEM and set kafka.ssl.certificate.location and kafka.ssl.key.location",
}

// Client is the parsed connection part of the options.
type Client struct {
	Brokers  []string
	ClientID string
	TLS      *tls.Config
	SASL     string // mechanism, empty when off
	user     string
	password string
	reqTO    int64
}

// Parse checks the bootstrap servers and the kafka.* map (keys with the
// "kafka." prefix, as in Spark) against Common plus extra, and reports every
// problem at once. Values of secret keys never appear in the errors. The
// TLS files are read here, so a missing file is reported at validation.
func Parse(bootstrap string, m map[string]string, extra []Key) (*Client, []error) {
	var errs []error
	c := &Client{ClientID: "sluice"}
	for _, s := range strings.Split(bootstrap, ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.Brokers = append(c.Brokers, s)
		}
	}
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New(`option kafka.bootstrap.servers is required: a comma-separated list of host:port, e.g. "localhost:9092"`))
	}
	known := map[string]bool{"bootstrap.servers": true}
	for _, k := range Common {
		known[k.Name] = true
	}
	for _, k := range extra {
		known[k.Name] = true
	}
	get := func(k string) string { return strings.TrimSpace(m["kafka."+k]) }
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !strings.HasPrefix(k, "kafka.") {
			errs = append(errs, fmt.Errorf("unknown option %q; Kafka client settings start with kafka. (%s); the source's and sink's own options are in docs/kafka.md", k, names(extra)))
			continue
		}
		name := strings.TrimPrefix(k, "kafka.")
		if why, ok := Rejected[name]; ok {
			errs = append(errs, fmt.Errorf("option %s is not supported: %s", k, why))
			continue
		}
		if !known[name] {
			errs = append(errs, fmt.Errorf("unknown option %s; supported kafka.* options: %s", k, names(extra)))
		}
	}
	if v := get("client.id"); v != "" {
		c.ClientID = v
	}
	if v := get("request.timeout.ms"); v != "" {
		var n int64
		if _, err := fmt.Sscan(v, &n); err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("option kafka.request.timeout.ms=%q must be a non-negative integer", v))
		}
		c.reqTO = n
	}
	proto := strings.ToUpper(get("security.protocol"))
	useTLS, useSASL := false, false
	switch proto {
	case "", "PLAINTEXT":
	case "SSL":
		useTLS = true
	case "SASL_PLAINTEXT":
		useSASL = true
	case "SASL_SSL":
		useTLS, useSASL = true, true
	default:
		errs = append(errs, fmt.Errorf("option kafka.security.protocol=%q: use PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", proto))
	}
	if useSASL {
		mech := strings.ToUpper(get("sasl.mechanism"))
		if mech == "" {
			mech = "PLAIN"
		}
		switch mech {
		case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
			c.SASL = mech
		default:
			errs = append(errs, fmt.Errorf("option kafka.sasl.mechanism=%q: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", mech))
		}
		c.user, c.password = get("sasl.username"), m["kafka.sasl.password"]
		if j := m["kafka.sasl.jaas.config"]; j != "" {
			u, p, ok := parseJAAS(j)
			if !ok {
				errs = append(errs, errors.New(`option kafka.sasl.jaas.config (value hidden) has no username="..." password="..." pair`))
			}
			c.user, c.password = u, p
		}
		if c.user == "" {
			errs = append(errs, fmt.Errorf("security.protocol %s needs credentials: set kafka.sasl.jaas.config or kafka.sasl.username and kafka.sasl.password", proto))
		}
	} else if get("sasl.mechanism") != "" || m["kafka.sasl.jaas.config"] != "" || get("sasl.username") != "" {
		errs = append(errs, errors.New("SASL options are set but kafka.security.protocol is not SASL_PLAINTEXT or SASL_SSL"))
	}
	if useTLS {
		cfg, err := tlsConfig(get("ssl.ca.location"), get("ssl.certificate.location"), get("ssl.key.location"), get("ssl.endpoint.identification.algorithm"), m)
		if err != nil {
			errs = append(errs, err)
		}
		c.TLS = cfg
	} else if get("ssl.ca.location") != "" || get("ssl.certificate.location") != "" {
		errs = append(errs, errors.New("TLS options are set but kafka.security.protocol is not SSL or SASL_SSL"))
	}
	return c, errs
}

func names(extra []Key) string {
	var ns []string
	for _, k := range Common {
		ns = append(ns, "kafka."+k.Name)
	}
	for _, k := range extra {
		ns = append(ns, "kafka."+k.Name)
	}
	return strings.Join(ns, ", ")
}

var jaasRe = regexp.MustCompile(`(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"`)

// parseJAAS reads username and password from a Java JAAS line.
func parseJAAS(s string) (user, pass string, ok bool) {
	for _, m := range jaasRe.FindAllStringSubmatch(s, -1) {
		v := strings.ReplaceAll(strings.ReplaceAll(m[2], `\"`, `"`), `\\`, `\`)
		switch m[1] {
		case "username":
			user = v
		case "password":
			pass = v
		}
	}
	return user, pass, user != ""
}

func tlsConfig(ca, cert, key, ident string, m map[string]string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	var errs []error
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			errs = append(errs, fmt.Errorf("option kafka.ssl.ca.location: %w", err))
		} else {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				errs = append(errs, fmt.Errorf("option kafka.ssl.ca.location: %s holds no PEM certificate", ca))
			}
			cfg.RootCAs = pool
		}
	}
	if (cert == "") != (key == "") {
		errs = append(errs, errors.New("options kafka.ssl.certificate.location and kafka.ssl.key.location go together"))
	} else if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			// The error names files, never their content.
			errs = append(errs, fmt.Errorf("options kafka.ssl.certificate.location/kafka.ssl.key.location: %v", err))
		} else {
			cfg.Certificates = []tls.Certificate{pair}
		}
	}
	switch strings.ToLower(ident) {
	case "https":
	case "", "none":
		if _, set := m["kafka.ssl.endpoint.identification.algorithm"]; set {
			cfg.InsecureSkipVerify = true // host names are not checked, as asked; see VerifyConnection below
			roots := cfg.RootCAs
			cfg.VerifyConnection = func(cs tls.ConnectionState) error {
				opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
				for _, c := range cs.PeerCertificates[1:] {
					opts.Intermediates.AddCert(c)
				}
				_, err := cs.PeerCertificates[0].Verify(opts)
				return err
			}
		}
	default:
		errs = append(errs, fmt.Errorf(`option kafka.ssl.endpoint.identification.algorithm=%q: use "https" or "none"`, ident))
	}
	return cfg, errors.Join(errs...)
}

// Opts are the franz-go options for the connection.
func (c *Client) Opts(log *slog.Logger) []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.ClientID(c.ClientID)}
	if c.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(c.TLS))
	}
	switch c.SASL {
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: c.user, Pass: c.password}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.user, Pass: c.password}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.user, Pass: c.password}.AsSha512Mechanism()))
	}
	if c.reqTO > 0 {
		opts = append(opts, kgo.RequestTimeoutOverhead(msDuration(c.reqTO)))
	}
	if log != nil {
		opts = append(opts, kgo.WithLogger(&logger{log: log}))
	}
	return opts
}
