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
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/devkafka"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files.
type testPKI struct {
	dir                 string
	pool                *x509.CertPool
	server, client      tls.Certificate
	caPEM, certPEM, key string // client files
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir(), pool: x509.NewCertPool()}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sluice test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p.pool.AddCert(ca)
	issue := func(serial int64, server bool) (tls.Certificate, []byte, []byte) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "sluice test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
		if server {
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		} else {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := x509.MarshalECPrivateKey(key)
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return pair, certPEM, keyPEM
	}
	p.server, _, _ = issue(2, true)
	var certPEM, keyPEM []byte
	p.client, certPEM, keyPEM = issue(3, false)
	write := func(name string, b []byte) string {
		f := filepath.Join(p.dir, name)
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	p.caPEM = write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	p.certPEM = write("client.pem", certPEM)
	p.key = write("client.key", keyPEM)
	return p
}

// The kafka.ssl.* options against a broker that requires mutual TLS.
func TestTLS(t *testing.T) {
	p := newTestPKI(t)
	serverCfg := &tls.Config{Certificates: []tls.Certificate{p.server}, ClientCAs: p.pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
	clientCfg := &tls.Config{RootCAs: p.pool, Certificates: []tls.Certificate{p.client}, MinVersion: tls.VersionTLS12}
	b, err := devkafka.Start(context.Background(), devkafka.Config{Topics: []string{"t"},
		Opts: []kfake.Opt{kfake.TLS(serverCfg)}, ClientOpts: []kgo.Opt{kgo.DialTLSConfig(clientCfg)}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	produce(t, producer(t, b), "t", 0, "over-tls")
	mem := checkedMem(t)
	read := func(kafka map[string]string) ([]string, error) {
		rr, err := Read(context.Background(), Options{BootstrapServers: b.Addr(), Subscribe: "t", Mem: mem, PollTimeoutMs: 2000, Kafka: kafka})
		if err != nil {
			return nil, err
		}
		return rows(t, rr), nil
	}
	got, err := read(map[string]string{"kafka.security.protocol": "SSL", "kafka.ssl.ca.location": p.caPEM,
		"kafka.ssl.certificate.location": p.certPEM, "kafka.ssl.key.location": p.key})
	if err != nil || len(got) != 1 || got[0] != "t/0/0=over-tls" {
		t.Fatalf("mutual TLS: %v %v", got, err)
	}
	// Without the client certificate the broker refuses the handshake.
	if _, err := read(map[string]string{"kafka.security.protocol": "SSL", "kafka.ssl.ca.location": p.caPEM}); err == nil {
		t.Fatal("a client without a certificate was accepted")
	}
}
