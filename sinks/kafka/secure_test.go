package kafka

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/sluicehq/sluice/internal/devkafka"
)

// serverTLS makes a CA and a server certificate for 127.0.0.1; it returns
// the server's config, the client's and the CA's PEM file.
func serverTLS(t *testing.T) (*tls.Config, *tls.Config, string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sluice sink test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, caFile
}

// The kafka.* options reach the sink's producer: SCRAM over TLS
// (SASL_SSL), zstd compression and a linger, an exactly-once batch written
// and read back; a wrong password is refused without showing it.
func TestSecureConnection(t *testing.T) {
	const pass = "scram-s3cret-do-not-print"
	srv, cli, caFile := serverTLS(t)
	b, err := devkafka.Start(context.Background(), devkafka.Config{Topics: []string{"out"},
		Opts:       []kfake.Opt{kfake.TLS(srv), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "writer", pass)},
		ClientOpts: []kgo.Opt{kgo.DialTLSConfig(cli), kgo.SASL(scram.Auth{User: "writer", Pass: pass}.AsSha512Mechanism())}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	opts := func(p string) map[string]string {
		return map[string]string{"kafka.bootstrap.servers": b.Addr(), "topic": "out", "transactionalId": "secure",
			"kafka.security.protocol": "SASL_SSL", "kafka.sasl.mechanism": "SCRAM-SHA-512",
			"kafka.sasl.jaas.config":   `org.apache.kafka.common.security.scram.ScramLoginModule required username="writer" password="` + p + `";`,
			"kafka.ssl.ca.location":    caFile,
			"kafka.request.timeout.ms": "2000",
			"kafka.compression.type":   "zstd",
			"kafka.linger.ms":          "5",
		}
	}
	o, err := ParseOptions(opts(pass))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(o.String(), pass) {
		t.Fatalf("options print the password: %s", o)
	}
	s := newSink(t, o)
	if err := add(t, s, 0, kv(t, mem, "k=over-sasl-ssl")); err != nil {
		t.Fatal(err)
	}
	if got := consume(t, b, "out"); !slices.Equal(got, []string{"over-sasl-ssl"}) {
		t.Fatalf("read back %v", got)
	}
	if testing.Short() {
		return // the refusal below takes kfake about 30 s of client retries
	}
	// A wrong password: the broker refuses the login, the error does not echo it.
	o, err = ParseOptions(opts("wrong-" + pass))
	if err != nil {
		t.Fatal(err)
	}
	o.TransactionalID = "secure-2"
	bad := newSink(t, o)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rr := kv(t, mem, "k=never")
	err = bad.AddBatch(ctx, 0, 0, rr)
	rr.Release()
	if err == nil || ctx.Err() != nil {
		t.Fatalf("a wrong SCRAM password: %v", err)
	}
	if strings.Contains(err.Error(), pass) {
		t.Fatalf("the error shows the password: %v", err)
	}
}
