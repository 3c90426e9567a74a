package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/internal/testutil/versitygw"
)

// s3Impl is the contract-test FS on a fresh versitygw server and bucket.
func s3Impl(t *testing.T) (FS, string) {
	fsys, root, _ := newTestS3(t, "root", nil)
	return fsys, root
}

// newTestS3 starts versitygw (skipping the test when it is not installed)
// and returns an S3 FS on a fresh bucket, the root of prefix in it, and
// the server. mod adjusts the options.
func newTestS3(t testing.TB, prefix string, mod func(*S3Options)) (*S3, string, *versitygw.Server) {
	t.Helper()
	srv := versitygw.New(t)
	loc := srv.NewBucket(t, prefix)
	o, root, err := ParseS3Location(loc)
	if err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(&o)
	}
	s, err := NewS3(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return s, root, srv
}

func TestParseS3Location(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		loc    string
		want   S3Options
		root   string
		errHas []string
	}{
		{loc: "s3://bucket/prefix", want: S3Options{Bucket: "bucket"}, root: "/prefix"},
		{loc: "s3://bucket", want: S3Options{Bucket: "bucket"}, root: "/"},
		{loc: "s3://bucket/", want: S3Options{Bucket: "bucket"}, root: "/"},
		{loc: "s3a://my.bucket/a/b/", want: S3Options{Bucket: "my.bucket"}, root: "/a/b"},
		{loc: "S3://bucket/x", want: S3Options{Bucket: "bucket"}, root: "/x"},
		{loc: "s3://bucket/p?endpoint=http://127.0.0.1:7070&region=eu-west-1&pathStyle=true",
			want: S3Options{Bucket: "bucket", Endpoint: "http://127.0.0.1:7070", Region: "eu-west-1", PathStyle: &yes}, root: "/p"},
		{loc: "s3://bucket/p?pathStyle=false&profile=prod", want: S3Options{Bucket: "bucket", PathStyle: &no, Profile: "prod"}, root: "/p"},
		{loc: "s3://bucket/p?accessKeyId=AK&secretAccessKey=S%2Bx&sessionToken=T",
			want: S3Options{Bucket: "bucket", AccessKeyID: "AK", SecretAccessKey: "S+x", SessionToken: "T"}, root: "/p"},
		{loc: "s3://bucket/p?partSize=16MiB&concurrency=2&maxAttempts=3&maxBackoff=1s&leaseTTL=5s",
			want: S3Options{Bucket: "bucket", PartSize: 16 << 20, Concurrency: 2, MaxAttempts: 3, MaxBackoff: time.Second, LeaseTTL: 5 * time.Second}, root: "/p"},
		{loc: "s3://bucket/p?partSize=6000000", want: S3Options{Bucket: "bucket", PartSize: 6000000}, root: "/p"},

		{loc: "s3:///prefix", errHas: []string{"bucket is required"}},
		{loc: "s3://Bucket_1/p", errHas: []string{"lowercase"}},
		{loc: "s3://ab/p", errHas: []string{"3 to 63"}},
		{loc: "s3://bucket/p?endpint=x", errHas: []string{`unknown parameter "endpint"`}},
		{loc: "s3://bucket/p?region=a&region=b", errHas: []string{"2 times"}},
		{loc: "s3://bucket/p?pathStyle=yes", errHas: []string{"pathStyle"}},
		{loc: "s3://bucket/p?partSize=1MiB", errHas: []string{"below S3's minimum"}},
		{loc: "s3://bucket/p?partSize=lots", errHas: []string{"partSize"}},
		{loc: "s3://bucket/p?leaseTTL=1s", errHas: []string{"leaseTTL"}},
		{loc: "s3://bucket/p?leaseTTL=soon", errHas: []string{"leaseTTL"}},
		{loc: "s3://bucket/p?endpoint=127.0.0.1:7070", errHas: []string{"endpoint"}},
		{loc: "s3://bucket/p?accessKeyId=AK", errHas: []string{"both accessKeyId and secretAccessKey"}},
		{loc: "s3://key:secret@bucket/p", errHas: []string{"not before the bucket"}},
		// every problem at once
		{loc: "s3://bucket/p?concurrency=x&maxAttempts=-1&x=1", errHas: []string{"concurrency", "maxAttempts", `"x"`}},
	} {
		o, root, err := ParseS3Location(tc.loc)
		if len(tc.errHas) > 0 {
			if err == nil {
				t.Errorf("ParseS3Location(%q) succeeded, want an error", tc.loc)
				continue
			}
			for _, h := range tc.errHas {
				if !strings.Contains(err.Error(), h) {
					t.Errorf("ParseS3Location(%q) = %v; want it to contain %q", tc.loc, err, h)
				}
			}
			if strings.Contains(err.Error(), "secret@") {
				t.Errorf("error shows a secret: %v", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseS3Location(%q): %v", tc.loc, err)
			continue
		}
		if o.registryKey() != tc.want.registryKey() || root != tc.root {
			t.Errorf("ParseS3Location(%q) = %+v, %q; want %+v, %q", tc.loc, o, root, tc.want, tc.root)
		}
	}
}

func TestRedactLocation(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/data/ckpt", "/data/ckpt"},
		{"s3://b/p", "s3://b/p"},
		{"s3://b/p?region=x&secretAccessKey=abc%2Fdef&sessionToken=tok&accessKeyId=AK",
			"s3://b/p?region=x&secretAccessKey=REDACTED&sessionToken=REDACTED&accessKeyId=AK"},
		{"s3://b/p?secretaccesskey=abc", "s3://b/p?secretAccessKey=REDACTED"},
		{"s3://b/p?secret%41ccessKey=abc", "s3://b/p?secretAccessKey=REDACTED"},
		{"s3://user:pw@b/p", "s3://REDACTED@b/p"},
		{"s3://b/p?%zz&secretAccessKey=abc", "s3://b/p?%zz&secretAccessKey=REDACTED"},
	} {
		if got := RedactLocation(tc.in); got != tc.want {
			t.Errorf("RedactLocation(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestS3SecretsNeverShown: the secret appears neither in String nor in
// errors of bad locations, bad credentials or failed operations.
func TestS3SecretsNeverShown(t *testing.T) {
	const secret = "TOPSECRETvalue123"
	ctx := context.Background()
	check := func(what, s string) {
		t.Helper()
		if strings.Contains(s, secret) || strings.Contains(s, "sessTOKEN") {
			t.Errorf("%s shows a secret: %s", what, s)
		}
	}
	for _, loc := range []string{
		"s3://bucket/p?secretAccessKey=" + secret + "&accessKeyId=AK&leaseTTL=0.1s",
		"s3://bucket/p?secretAccessKey=" + secret + "&nope=1",
		"s3://bucket/p?secretAccessKey=" + secret + "&accessKeyId=AK&sessionToken=sessTOKEN&endpoint=%zz",
		"s3://BAD/p?secretAccessKey=" + secret,
	} {
		_, _, err := Open(loc)
		if err == nil {
			t.Fatalf("Open(%s) succeeded", loc)
		}
		check("Open error", err.Error())
	}
	s, err := NewS3(ctx, S3Options{Bucket: "bucket", AccessKeyID: "AK", SecretAccessKey: secret, SessionToken: "sessTOKEN", Endpoint: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		check("Sprintf("+f+")", fmt.Sprintf(f, s))
	}
	if !strings.Contains(s.String(), "static credentials AK/REDACTED") {
		t.Errorf("String() = %s", s)
	}

	// wrong secret against a real server: access denied, secret not shown
	srv := versitygw.New(t)
	loc := srv.NewBucket(t, "p")
	bad := strings.Replace(loc, "secretAccessKey="+srv.SecretKey, "secretAccessKey="+secret, 1)
	fsys, root, err := Open(bad)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fsys.ReadFile(ctx, path.Join(root, "x"))
	if err == nil || !strings.Contains(err.Error(), "access denied") {
		t.Fatalf("ReadFile with a wrong secret: %v; want access denied", err)
	}
	check("access denied error", err.Error())
	check("String", fmt.Sprint(fsys))
}

func TestS3Errors(t *testing.T) {
	ctx := context.Background()
	s, root, srv := newTestS3(t, "p", nil)
	// a missing bucket is a configuration error, not an empty directory
	o := s.opts
	o.Bucket = "no-such-bucket"
	missing, err := NewS3(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := missing.List(ctx, "/x"); err == nil || !strings.Contains(err.Error(), `bucket "no-such-bucket" does not exist`) {
		t.Errorf("List on a missing bucket: %v", err)
	}
	if err := missing.WriteFile(ctx, "/x", nil, WriteOptions{}); err == nil || errors.Is(err, ErrNotExist) {
		t.Errorf("WriteFile on a missing bucket: %v", err)
	}
	// names
	if err := s.WriteFile(ctx, root+"/dir/", nil, WriteOptions{}); err == nil || !strings.Contains(err.Error(), "ends in a slash") {
		t.Errorf("WriteFile dir/: %v", err)
	}
	if _, err := s.ReadFile(ctx, "/"); err == nil {
		t.Error("ReadFile of the bucket root succeeded")
	}
	// a stopped server: the error names the object, after retries
	o = s.opts
	o.MaxAttempts, o.MaxBackoff = 2, 10*time.Millisecond
	s2, _ := NewS3(ctx, o)
	srv.Stop()
	_, err = s2.ReadFile(ctx, path.Join(root, "f"))
	if err == nil || !strings.Contains(err.Error(), "s3://"+s.Bucket()+"/p/f") {
		t.Errorf("ReadFile on a stopped server: %v", err)
	}
}

// TestS3Multipart streams a file larger than two parts, checks it stays
// invisible until Close, reads it back across part boundaries, and checks
// create-if-absent is decided at completion.
func TestS3Multipart(t *testing.T) {
	t.Parallel() // mostly waiting: leases expiring, uploads
	ctx := context.Background()
	s, root, _ := newTestS3(t, "mp", func(o *S3Options) { o.PartSize = MinS3PartSize; o.Concurrency = 2 })
	const size = 17<<20 + 12345 // 4 parts of 5 MiB
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{1}).Read(data)
	r := rand.New(rand.NewPCG(1, 2))
	p := path.Join(root, "big.bin")
	w, err := s.Create(ctx, p, WriteOptions{CreateIfAbsent: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for off := 0; off < size; { // odd write sizes straddle the part boundaries
		n := min(size-off, 1<<20+int(r.IntN(3<<20)))
		if k, err := w.Write(data[off : off+n]); err != nil || k != n {
			t.Fatalf("Write = %d, %v", k, err)
		}
		off += n
	}
	if sw := w.(*s3Writer); sw.uploadID == "" {
		t.Fatal("no multipart upload started for a 17 MiB file")
	}
	if _, err := s.Stat(ctx, p); !errors.Is(err, ErrNotExist) {
		t.Fatalf("visible before Close: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadFile(ctx, p)
	if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("ReadFile: %d bytes, %v; content differs", len(got), err)
	}
	f, err := s.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Size() != size {
		t.Fatalf("Size = %d", f.Size())
	}
	for _, off := range []int64{0, MinS3PartSize - 3, 2*MinS3PartSize - 1, size - 10} {
		buf := make([]byte, 10)
		n, err := f.ReadAt(buf, off)
		if err != nil || n != 10 || !bytes.Equal(buf, data[off:off+10]) {
			t.Fatalf("ReadAt(%d) = %d, %v", off, n, err)
		}
	}
	buf := make([]byte, 100)
	if n, err := f.ReadAt(buf, size-40); n != 40 || err != io.EOF || !bytes.Equal(buf[:40], data[size-40:]) {
		t.Fatalf("ReadAt past the end = %d, %v; want 40, EOF", n, err)
	}
	if n, err := f.ReadAt(buf, size); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt at the end = %d, %v", n, err)
	}

	// create-if-absent is decided by CompleteMultipartUpload: the name is
	// taken after Create's early check, before Close
	p2 := path.Join(root, "raced.bin")
	w2, err := s.Create(ctx, p2, WriteOptions{CreateIfAbsent: true})
	if err != nil {
		t.Fatal(err)
	}
	w2.Write(data[:11<<20])
	if err := s.WriteFile(ctx, p2, []byte("first"), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := w2.Close(); !errors.Is(err, ErrExist) {
		t.Fatalf("multipart create-if-absent over an existing file: %v, want ErrExist", err)
	}
	if got, _ := s.ReadFile(ctx, p2); string(got) != "first" {
		t.Fatalf("failed create-if-absent replaced the file: %d bytes", len(got))
	}
	// Abort in the middle of a multipart upload leaves nothing behind
	w3, err := s.Create(ctx, path.Join(root, "aborted.bin"), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w3.Write(data[:12<<20])
	w3.Abort()
	ups, err := s.Client().ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(s.Bucket())})
	if err != nil {
		t.Fatal(err)
	}
	if len(ups.Uploads) != 0 {
		t.Fatalf("%d multipart uploads left behind", len(ups.Uploads))
	}
	if got := names(t, s, root); !slices.Equal(got, []string{"big.bin", "raced.bin"}) {
		t.Fatalf("List = %v", got)
	}
}

// TestS3CreateRace: concurrent streamed creates of one name, small (one
// conditional PutObject) and multipart (conditional completion): exactly
// one wins and the content is the winner's.
func TestS3CreateRace(t *testing.T) {
	t.Parallel() // mostly waiting: leases expiring, uploads
	ctx := context.Background()
	s, root, _ := newTestS3(t, "race", func(o *S3Options) { o.PartSize = MinS3PartSize })
	for _, size := range []int{100, 6 << 20} {
		p := path.Join(root, fmt.Sprint(size))
		const n = 4
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				w, err := s.Create(ctx, p, WriteOptions{CreateIfAbsent: true})
				if err != nil {
					errs[i] = err
					return
				}
				defer w.Abort()
				w.Write(bytes.Repeat([]byte{byte('a' + i)}, size))
				errs[i] = w.Close()
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("size %d: writers %d and %d both won", size, winner, i)
				}
				winner = i
			case !errors.Is(err, ErrExist):
				t.Fatalf("writer %d: %v", i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("size %d: nobody won", size)
		}
		got, _ := s.ReadFile(ctx, p)
		if !bytes.Equal(got, bytes.Repeat([]byte{byte('a' + winner)}, size)) {
			t.Fatalf("size %d: content is not the winner's", size)
		}
	}
}

// TestS3ListPages lists a directory of more than one ListObjectsV2 page
// (1000 keys): every entry once, whatever the order.
func TestS3ListPages(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 1100 objects")
	}
	ctx := context.Background()
	s, root, _ := newTestS3(t, "many", nil)
	const n = 1100
	var want []string
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := range n {
		name := fmt.Sprint(i) // "10" sorts before "9": callers sort numerically
		want = append(want, name)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := s.WriteFile(ctx, path.Join(root, "d", name), []byte(name), WriteOptions{CreateIfAbsent: true}); err != nil {
				mu.Lock()
				firstErr = cmpErr(firstErr, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	s.WriteFile(ctx, path.Join(root, "d", "sub", "x"), nil, WriteOptions{})
	want = append(want, "sub/")
	slices.Sort(want)
	if got := names(t, s, path.Join(root, "d")); !slices.Equal(got, want) {
		t.Fatalf("List: %d entries, want %d", len(got), len(want))
	}
	if err := s.RemoveAll(ctx, path.Join(root, "d")); err != nil {
		t.Fatal(err)
	}
	if got := names(t, s, path.Join(root, "d")); len(got) != 0 {
		t.Fatalf("after RemoveAll: %d entries", len(got))
	}
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// TestS3OpenReadsOneVersion: a File reads the content of Open or fails;
// it never mixes in a later overwrite.
func TestS3OpenReadsOneVersion(t *testing.T) {
	ctx := context.Background()
	s, root, _ := newTestS3(t, "open", nil)
	p := path.Join(root, "f")
	s.WriteFile(ctx, p, []byte("0123456789"), WriteOptions{})
	f, err := s.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4)
	if _, err := io.ReadFull(f, buf); err != nil || string(buf) != "0123" {
		t.Fatalf("Read = %q, %v", buf, err)
	}
	s.WriteFile(ctx, p, []byte("abcdefghij"), WriteOptions{})
	if _, err := f.ReadAt(buf, 5); err == nil || !strings.Contains(err.Error(), "overwritten") {
		t.Fatalf("ReadAt after an overwrite = %q, %v; want an error", buf, err)
	}
	// empty files
	e := path.Join(root, "empty")
	s.WriteFile(ctx, e, nil, WriteOptions{})
	fe, err := s.Open(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	defer fe.Close()
	if b, err := io.ReadAll(fe); err != nil || len(b) != 0 || fe.Size() != 0 {
		t.Fatalf("empty file: %q, %v", b, err)
	}
	if n, err := fe.ReadAt(buf, 0); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt on empty = %d, %v", n, err)
	}
	if _, err := s.Open(ctx, path.Join(root, "missing")); !errors.Is(err, ErrNotExist) {
		t.Fatalf("Open missing: %v", err)
	}
}

// TestS3Lease: exclusion while renewed past the TTL, takeover once the
// holder stops renewing, the old holder learning it lost the lease, and
// release on Close.
func TestS3Lease(t *testing.T) {
	t.Parallel() // mostly waiting: leases expiring, uploads
	ctx := context.Background()
	const ttl = 3 * time.Second // short, with headroom for renewals on a loaded machine
	s, root, _ := newTestS3(t, "lease", func(o *S3Options) { o.LeaseTTL = ttl })
	name := path.Join(root, "ckpt", ".lock")

	a, err := s.Lock(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	la := a.(*s3Lease)
	if _, err := s.Lock(ctx, name); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), la.rec.Holder) {
		t.Fatalf("second Lock: %v; want ErrLocked naming the holder", err)
	}
	// renewals keep it held well past the TTL
	time.Sleep(ttl + 1500*time.Millisecond)
	if _, err := s.Lock(ctx, name); !errors.Is(err, ErrLocked) {
		t.Fatalf("Lock while the holder renews: %v; want ErrLocked", err)
	}
	select {
	case <-la.Lost():
		t.Fatalf("holder lost a renewed lease: %v", la.Err())
	default:
	}

	// the holder "dies": no more renewals, no release
	la.stopRenewing()
	if _, err := s.Lock(ctx, name); !errors.Is(err, ErrLocked) {
		t.Fatalf("Lock right after the holder died: %v; want ErrLocked until the TTL passes", err)
	}
	deadline := time.Now().Add(ttl + 4*time.Second)
	var b io.Closer
	for {
		b, err = s.Lock(ctx, name)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrLocked) || time.Now().After(deadline) {
			t.Fatalf("takeover of an expired lease: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	defer b.Close()
	// the old holder wakes up: its renewal fails, it knows it lost
	if la.renew() {
		t.Fatal("old holder renewed a lease taken over by another")
	}
	select {
	case <-la.Lost():
	default:
		t.Fatal("Lost not closed")
	}
	if err := a.Close(); err == nil || !strings.Contains(err.Error(), "lease lost") {
		t.Fatalf("old holder's Close = %v; want lease lost", err)
	}
	// ... and did not delete the new holder's lease
	if _, err := s.Lock(ctx, name); !errors.Is(err, ErrLocked) {
		t.Fatalf("Lock after the old holder's Close: %v; want ErrLocked", err)
	}
	// release: the next Lock succeeds at once
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	c, err := s.Lock(ctx, name)
	if err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
	c.Close()
	if _, err := s.Stat(ctx, name); !errors.Is(err, ErrNotExist) {
		t.Fatalf("lease object left after Close: %v", err)
	}
}

// TestS3LeaseRace: contenders for a free lease and for an expired one:
// exactly one wins each time.
func TestS3LeaseRace(t *testing.T) {
	t.Parallel() // mostly waiting: leases expiring, uploads
	ctx := context.Background()
	const ttl = 3 * time.Second // short, with headroom for renewals on a loaded machine
	s, root, _ := newTestS3(t, "lrace", func(o *S3Options) { o.LeaseTTL = ttl })
	name := path.Join(root, ".lock")
	// race runs 8 contenders at once, until one wins or the deadline: more
	// than one winner in a round fails the test.
	race := func(deadline time.Time) io.Closer {
		for {
			const n = 8
			got := make([]io.Closer, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { got[i], errs[i] = s.Lock(ctx, name) })
			}
			wg.Wait()
			var winner io.Closer
			for i := range n {
				switch {
				case errs[i] == nil:
					if winner != nil {
						t.Fatal("two contenders hold the lease")
					}
					winner = got[i]
				case !errors.Is(errs[i], ErrLocked):
					t.Fatalf("contender %d: %v", i, errs[i])
				}
			}
			if winner != nil {
				return winner
			}
			if time.Now().After(deadline) {
				t.Fatalf("nobody got the lease: %v", errors.Join(errs...))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	first := race(time.Now()).(*s3Lease) // a free lease: won at once
	first.stopRenewing()                 // the holder dies
	// S3 times have a resolution of a second: the lease expires between
	// TTL+1s and TTL+2s after the last renewal.
	time.Sleep(ttl + time.Second)
	second := race(time.Now().Add(3 * time.Second))
	second.Close()
}

// TestS3LockThroughHooks: WithHooks passes Lock through to S3.
func TestS3LockThroughHooks(t *testing.T) {
	s, root, _ := newTestS3(t, "h", nil)
	var ops []Op
	var mu sync.Mutex
	h := WithHooks(s, Hooks{Before: func(op Op, _ string) error { mu.Lock(); ops = append(ops, op); mu.Unlock(); return nil }})
	l, err := h.(Locker).Lock(context.Background(), path.Join(root, ".lock"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l.(Lease); !ok {
		t.Errorf("S3 lock handle %T is not a Lease", l)
	}
	l.Close()
	if !slices.Contains(ops, OpLock) {
		t.Errorf("ops = %v", ops)
	}
}

// faultProxy sits between the client and versitygw and injects faults:
// 503 SlowDown on every other request (the SDK's retryer must absorb
// them), one 409 ConditionalRequestConflict on the first conditional
// PutObject, GetObject bodies cut off halfway on every other GET (the
// File must resume), and a lost response of the first completion of a
// multipart upload and of the first lease write (applied, then 500).
type faultProxy struct {
	upstream string
	n        atomic.Int64
	gets     atomic.Int64
	conflict atomic.Bool
	lostAcks atomic.Int64 // of completions and lease writes
	faults   atomic.Int64
}

// loseAck says whether to apply r and then answer 500 as if the response
// had been lost: the first CompleteMultipartUpload and lease write.
func (p *faultProxy) loseAck(r *http.Request) bool {
	complete := r.Method == http.MethodPost && r.URL.Query().Has("uploadId")
	lease := r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, ".lock")
	if !complete && !lease {
		return false
	}
	bit := int64(1)
	if lease {
		bit = 2
	}
	for {
		old := p.lostAcks.Load()
		if old&bit != 0 {
			return false
		}
		if p.lostAcks.CompareAndSwap(old, old|bit) {
			return true
		}
	}
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.n.Add(1)%2 == 0 {
		p.faults.Add(1)
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
		return
	}
	if r.Method == http.MethodPut && r.Header.Get("If-None-Match") == "*" && !p.conflict.Swap(true) {
		p.faults.Add(1)
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>ConditionalRequestConflict</Code><Message>A conflicting operation occurred.</Message></Error>`)
		return
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream+r.URL.RequestURI(), r.Body)
	if err != nil {
		panic(err)
	}
	out.Header = r.Header.Clone()
	out.Host = r.Host // signed
	out.ContentLength = r.ContentLength
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK && p.loseAck(r) {
		p.faults.Add(1)
		io.Copy(io.Discard, resp.Body)
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>`)
		return
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	if r.Method == http.MethodGet && resp.StatusCode/100 == 2 && resp.ContentLength > 1 && p.gets.Add(1)%2 == 1 {
		p.faults.Add(1)
		io.CopyN(w, resp.Body, resp.ContentLength/2)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // cut the connection mid-body
	}
	io.Copy(w, resp.Body)
}

// TestS3Faults: throttling, 5xx, a conditional-write conflict and broken
// downloads are retried: every operation still succeeds with the right
// content.
func TestS3Faults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := versitygw.New(t)
	fp := &faultProxy{upstream: srv.Endpoint}
	hs := httptest.NewUnstartedServer(fp)
	hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	hs.Start()
	defer hs.Close()
	po, proot, err := ParseS3Location(srv.NewBucket(t, "faults"))
	if err != nil {
		t.Fatal(err)
	}
	po.Endpoint = hs.URL // through the proxy
	po.PartSize = MinS3PartSize
	po.MaxBackoff = 20 * time.Millisecond
	fs, err := NewS3(ctx, po)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), (11<<20)/16+7) // 3 parts
	p := path.Join(proot, "f")
	if err := fs.WriteFile(ctx, p+".small", []byte("hello"), WriteOptions{CreateIfAbsent: true}); err != nil {
		t.Fatalf("conditional WriteFile through faults: %v", err)
	}
	w, err := fs.Create(ctx, p, WriteOptions{CreateIfAbsent: true})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatalf("multipart through faults: %v", err)
	}
	f, err := fs.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Read through faults: %d bytes, %v", len(got), err)
	}
	buf := make([]byte, 1000)
	for _, off := range []int64{0, 5 << 20, int64(len(data)) - 1000} {
		if n, err := f.ReadAt(buf, off); err != nil || n != 1000 || !bytes.Equal(buf, data[off:off+1000]) {
			t.Fatalf("ReadAt(%d) through faults: %d, %v", off, n, err)
		}
	}
	if got, err := fs.ReadFile(ctx, p+".small"); err != nil || string(got) != "hello" {
		t.Fatalf("ReadFile through faults: %q, %v", got, err)
	}
	if l, err := fs.List(ctx, proot); err != nil || len(l) != 2 {
		t.Fatalf("List through faults: %v, %v", l, err)
	}
	l, err := fs.Lock(ctx, path.Join(proot, ".lock"))
	if err != nil {
		t.Fatalf("Lock through faults: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("unlock through faults: %v", err)
	}
	if err := fs.RemoveAll(ctx, proot); err != nil {
		t.Fatalf("RemoveAll through faults: %v", err)
	}
	if fp.faults.Load() < 10 || !fp.conflict.Load() || fp.lostAcks.Load() != 3 {
		t.Fatalf("only %d faults injected", fp.faults.Load())
	}
}

// TestS3EnvironmentChain: with nothing in the location but the bucket,
// endpoint, region and credentials come from the standard AWS variables,
// and path style follows from the custom endpoint.
func TestS3EnvironmentChain(t *testing.T) {
	srv := versitygw.New(t)
	loc := srv.NewBucket(t, "env")
	o, _, err := ParseS3Location(loc)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.Endpoint)
	t.Setenv("AWS_REGION", srv.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	ctx := context.Background()
	s, err := NewS3(ctx, S3Options{Bucket: o.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.String(), "endpoint "+srv.Endpoint+", path-style, AWS credential chain") {
		t.Errorf("String() = %s", s)
	}
	if err := s.WriteFile(ctx, "/env/x", []byte("hi"), WriteOptions{CreateIfAbsent: true}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ReadFile(ctx, "/env/x"); err != nil || string(got) != "hi" {
		t.Fatalf("ReadFile = %q, %v", got, err)
	}
}
