// Package versitygw runs a real S3 server for tests: Versity's versitygw
// with its posix backend on a temporary directory, listening on a free
// loopback port. The storage, wal, file source and file sink tests use it
// so that S3 code is tested against S3, not against a mock.
//
// Install the server with
//
//	go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
//
// (.ci/run does). Tests that need it skip, saying so, when it is missing.
//
// Typical use in a test:
//
//	loc := versitygw.Bucket(t, "ckpt") // s3://<fresh bucket>/ckpt?endpoint=...
//	c, err := wal.OpenCheckpoint(ctx, loc, wal.Options{})
package versitygw

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Version is the versitygw release the tests are written against.
const Version = "v1.8.0"

// InstallCommand installs the server the tests expect.
const InstallCommand = "go install github.com/versity/versitygw/cmd/versitygw@" + Version

// ErrNotInstalled is returned by Binary and Start when no versitygw
// executable is found.
var ErrNotInstalled = errors.New("versitygw: not installed (" + InstallCommand + ")")

// Server is a running versitygw. Its fields are read-only.
type Server struct {
	Endpoint  string // http://127.0.0.1:<port>
	Region    string // the region the server answers for
	AccessKey string // root access key
	SecretKey string // root secret key
	Dir       string // the posix backend's root: one directory per bucket

	cmd     *exec.Cmd
	sidecar string        // metadata directory when the backend's lacks xattrs
	done    chan struct{} // closed when the process exited
	err     error         // its exit status, set before done closes
	out     *lockedBuffer // stdout and stderr, for error messages

	stopOnce sync.Once
}

// Binary returns the path of the versitygw executable: $VERSITYGW if set,
// else versitygw on PATH, else $GOBIN or $GOPATH/bin (where go install
// puts it, often not on PATH).
func Binary() (string, error) {
	if p := os.Getenv("VERSITYGW"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("versitygw: $VERSITYGW=%s: %w", p, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	if d := os.Getenv("GOPATH"); d != "" {
		for _, e := range filepath.SplitList(d) {
			dirs = append(dirs, filepath.Join(e, "bin"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "versitygw")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", ErrNotInstalled
}

// Start runs versitygw with the posix backend over dir (which must exist)
// on a free port of 127.0.0.1, with fresh random root credentials, and
// returns once it answers requests. Stop it with Stop. On Linux the server
// is killed if the calling process dies, so a killed test run leaves no
// server behind.
func Start(ctx context.Context, dir string) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("versitygw: backend directory %s: %w", dir, err)
	}
	// A free port can be taken between our probe and the server's bind;
	// try a few.
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s, err := start(ctx, bin, abs, port)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func start(ctx context.Context, bin, dir string, port int) (*Server, error) {
	s := &Server{
		Endpoint:  "http://127.0.0.1:" + strconv.Itoa(port),
		Region:    "us-east-1",
		AccessKey: "sluicetest" + randomHex(4),
		SecretKey: randomHex(20),
		Dir:       dir,
		done:      make(chan struct{}),
		out:       &lockedBuffer{},
	}
	args := []string{"--port", "127.0.0.1:" + strconv.Itoa(port), "--region", s.Region, "--quiet", "posix"}
	if !supportsXattr(dir) {
		// Keep object metadata (ETags) in a sidecar directory instead; it
		// must be outside the backend's directory.
		side, err := os.MkdirTemp("", "versitygw-meta-")
		if err != nil {
			return nil, fmt.Errorf("versitygw: metadata directory: %w", err)
		}
		s.sidecar = side
		args = append(args, "--sidecar", side)
	}
	cmd := exec.Command(bin, append(args, dir)...)
	// Credentials through the environment, not argv (ps shows argv).
	cmd.Env = append(os.Environ(),
		"ROOT_ACCESS_KEY_ID="+s.AccessKey,
		"ROOT_SECRET_ACCESS_KEY="+s.SecretKey)
	cmd.Stdout = s.out
	cmd.Stderr = s.out
	setDeathSignal(cmd)
	if err := startProcess(cmd); err != nil {
		if s.sidecar != "" {
			os.RemoveAll(s.sidecar)
		}
		return nil, fmt.Errorf("versitygw: start %s: %w", bin, err)
	}
	s.cmd = cmd
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(ctx, 15*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// waitReady polls until the server answers HTTP, it exits, or the timeout.
func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.Endpoint+"/", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil // any HTTP answer (403 without credentials) means it is up
		}
		select {
		case <-s.done:
			return fmt.Errorf("versitygw: exited before serving (%v): %s", s.err, strings.TrimSpace(s.out.String()))
		case <-ctx.Done():
			return fmt.Errorf("versitygw: waiting for %s: %w", s.Endpoint, ctx.Err())
		case <-deadline.C:
			return fmt.Errorf("versitygw: not serving on %s after %v: %s", s.Endpoint, timeout, strings.TrimSpace(s.out.String()))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Stop kills the server and waits for it to exit. It is safe to call more
// than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			s.cmd.Process.Kill()
			<-s.done
		}
		if s.sidecar != "" {
			os.RemoveAll(s.sidecar)
		}
	})
	return nil
}

// Client returns an S3 client for the server, signed with the root
// credentials.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       s.Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	})
}

// CreateBucket creates a bucket.
func (s *Server) CreateBucket(ctx context.Context, bucket string) error {
	_, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	if err != nil {
		return fmt.Errorf("versitygw: create bucket %q: %w", bucket, err)
	}
	return nil
}

// URL returns the storage location of prefix in bucket on this server,
// with everything storage.Open needs in its query: endpoint, region,
// path-style addressing and the root credentials. It is a test URL: it
// holds the secret key.
func (s *Server) URL(bucket, prefix string) string {
	q := url.Values{}
	q.Set("endpoint", s.Endpoint)
	q.Set("region", s.Region)
	q.Set("pathStyle", "true")
	q.Set("accessKeyId", s.AccessKey)
	q.Set("secretAccessKey", s.SecretKey)
	u := url.URL{Scheme: "s3", Host: bucket, Path: "/" + strings.Trim(prefix, "/"), RawQuery: q.Encode()}
	if prefix == "" {
		u.Path = ""
	}
	return u.String()
}

// Logs returns what the server printed so far.
func (s *Server) Logs() string { return s.out.String() }

// New starts a server for the test on a temporary directory and stops it
// when the test ends. It skips the test when versitygw is not installed
// and fails it when the server does not start.
func New(t testing.TB) *Server {
	t.Helper()
	if _, err := Binary(); err != nil {
		t.Skipf("S3 tests need versitygw, which is not installed: run %s", InstallCommand)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

// Bucket starts a server for the test (New), creates a bucket and returns
// the location of prefix in it (Server.URL), ready for storage.Open or
// wal.OpenCheckpoint.
func Bucket(t testing.TB, prefix string) string {
	t.Helper()
	s := New(t)
	return s.NewBucket(t, prefix)
}

// NewBucket creates a fresh bucket on s and returns the location of
// prefix in it, failing the test on error.
func (s *Server) NewBucket(t testing.TB, prefix string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bucket := "sluice-" + randomHex(6)
	if err := s.CreateBucket(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	return s.URL(bucket, prefix)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("versitygw: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// lockedBuffer keeps the last 64 KiB the server printed.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 64<<10 {
		keep := bytes.Clone(l.b.Bytes()[l.b.Len()-32<<10:])
		l.b.Reset()
		l.b.Write(keep)
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
