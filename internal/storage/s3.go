package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3 is a bucket of Amazon S3 or of an S3-compatible server (versitygw,
// MinIO) as an FS.
//
// Names are slash paths whose cleaned form, without the leading slash, is
// the object key: "/ckpt/offsets/3" is the key "ckpt/offsets/3". Mapping
// of the FS contract to S3:
//
//   - WriteFile is one PutObject; CreateIfAbsent adds If-None-Match: *, and
//     a 412 Precondition Failed is ErrExist (callers report it as a
//     concurrent writer). A 409 ConditionalRequestConflict (a concurrent
//     conditional write in flight on AWS) is retried.
//   - Create buffers; a file of at most PartSize bytes is one PutObject at
//     Close, a larger one a multipart upload completed at Close (with
//     If-None-Match: * for CreateIfAbsent) and aborted by Abort or on any
//     failure. A process killed mid-upload leaves an incomplete multipart
//     upload, invisible to readers and listings but billed until a bucket
//     lifecycle rule (AbortIncompleteMultipartUpload) removes it.
//   - Open reads with ranged GetObject requests pinned with If-Match to the
//     ETag seen at Open: S3 keeps no old content, so a read after an
//     overwrite fails instead of returning the new content.
//   - List is ListObjectsV2 with delimiter "/": common prefixes are the
//     directories. Stat falls back to listing the prefix when no object has
//     the name, so a prefix with objects under it is a directory.
//   - MkdirAll is a no-op and Remove of a name with objects under it deletes
//     nothing: directories do not exist on S3.
//   - Lock is a lease object (see Lock).
//
// Every request is retried on throttling, 5xx and connection errors with
// exponential backoff (S3Options.MaxAttempts, MaxBackoff). Methods use the
// context they are given; a File and a Writer keep using the context of
// the Open or Create that made them.
type S3 struct {
	client *s3.Client
	bucket string
	opts   S3Options // with defaults; holds the secret, never printed
	desc   string    // String(), redacted
}

var (
	_ FS     = (*S3)(nil)
	_ Locker = (*S3)(nil)
)

// NewS3 returns the S3 file system of opts.Bucket. It does not contact
// the server: a wrong endpoint or missing credentials show in the first
// operation's error.
func NewS3(ctx context.Context, opts S3Options) (*S3, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	loadOpts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = o.MaxAttempts
				so.MaxBackoff = o.MaxBackoff
				// No client-side retry quota: a storage layer under a
				// checkpoint should keep trying through an outage burst
				// rather than fail fast; MaxAttempts bounds each request.
				so.RateLimiter = ratelimit.None
				// A response cut off mid-body (a dropped connection, a
				// proxy) fails decoding with an unexpected EOF, which the
				// SDK does not retry by default. Retrying a write whose
				// response was lost is safe here: a conditional one then
				// fails its condition, which callers check (the wal
				// compares contents, Lock recognises its own lease).
				so.Retryables = append(so.Retryables, retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
					if errors.Is(err, io.ErrUnexpectedEOF) {
						return aws.TrueTernary
					}
					return aws.UnknownTernary
				}))
			})
		}),
	}
	if o.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		loadOpts = append(loadOpts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.AccessKeyID != "" {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, o.SessionToken)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		// The SDK's errors name profiles and files, never secret values.
		return nil, fmt.Errorf("storage: S3 bucket %q: load AWS configuration: %w", o.Bucket, err)
	}
	if cfg.Region == "" {
		cfg.Region = defaultS3Region
	}
	o.Region = cfg.Region
	var endpoint string
	var pathStyle bool
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		// so.BaseEndpoint already holds AWS_ENDPOINT_URL(_S3) or the
		// profile's endpoint, if any.
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		endpoint = aws.ToString(so.BaseEndpoint)
		pathStyle = endpoint != ""
		if o.PathStyle != nil {
			pathStyle = *o.PathStyle
		}
		so.UsePathStyle = pathStyle
		// Objects written by multipart uploads carry no whole-object
		// checksum; do not log a warning for every such read.
		so.DisableLogOutputChecksumValidationSkipped = true
	})
	s := &S3{client: client, bucket: o.Bucket, opts: o}
	s.desc = s.describe(endpoint, pathStyle)
	return s, nil
}

// describe is String(): the configuration without secrets.
func (s *S3) describe(endpoint string, pathStyle bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "s3://%s (region %s", s.bucket, s.opts.Region)
	if endpoint != "" {
		fmt.Fprintf(&b, ", endpoint %s", endpoint)
	}
	if pathStyle {
		b.WriteString(", path-style")
	}
	switch {
	case s.opts.AccessKeyID != "":
		fmt.Fprintf(&b, ", static credentials %s/%s", s.opts.AccessKeyID, s3RedactedPlaceholder)
	case s.opts.Profile != "":
		fmt.Fprintf(&b, ", profile %s", s.opts.Profile)
	default:
		b.WriteString(", AWS credential chain")
	}
	b.WriteString(")")
	return b.String()
}

// String describes the bucket and how it is reached; secrets are redacted.
func (s *S3) String() string { return s.desc }

// GoString keeps %#v from printing the options with their secrets.
func (s *S3) GoString() string { return "storage.S3(" + s.desc + ")" }

// Bucket is the bucket's name.
func (s *S3) Bucket() string { return s.bucket }

// Client is the underlying SDK client, for what the FS does not cover.
func (s *S3) Client() *s3.Client { return s.client }

// key maps a name to its object key ("" for the bucket root).
func (s *S3) key(op, name string) (string, error) {
	if strings.HasSuffix(name, "/") && strings.Trim(name, "/") != "" {
		return "", newPathError(op, s.url(name), errors.New("name ends in a slash"))
	}
	return strings.TrimPrefix(path.Clean("/"+name), "/"), nil
}

// url is how errors name a file: s3://bucket/key.
func (s *S3) url(name string) string {
	return "s3://" + s.bucket + path.Clean("/"+name)
}

func (s *S3) ReadFile(ctx context.Context, name string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key, err := s.key("read", name)
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, newPathError("read", s.url(name), errors.New("is a directory"))
	}
	// The SDK retries requests, not a body cut off mid-way: read again
	// (the whole object, so the result is one version of it).
	for attempt := 0; ; attempt++ {
		b, err := s.readObject(ctx, key)
		if err == nil {
			return b, nil
		}
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) || attempt >= 3 || ctx.Err() != nil {
			return nil, s.err("read", name, err)
		}
	}
}

func (s *S3) readObject(ctx context.Context, key string) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	var buf bytes.Buffer
	if n := aws.ToInt64(out.ContentLength); n > 0 {
		buf.Grow(int(n))
	}
	if _, err := buf.ReadFrom(out.Body); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (s *S3) WriteFile(ctx context.Context, name string, data []byte, opts WriteOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	key, err := s.key("write", name)
	if err != nil {
		return err
	}
	if key == "" {
		return newPathError("write", s.url(name), errors.New("is a directory"))
	}
	_, err = s.put(ctx, key, data, opts.CreateIfAbsent, "", nil)
	if err != nil {
		return s.err("write", name, err)
	}
	return nil
}

// put writes one object. With ifNoneMatch it creates only if absent; with
// ifMatch only over that ETag. It returns the new ETag. It retries a 409
// ConditionalRequestConflict, which AWS returns while a concurrent
// conditional write of the key is in flight: the retry then sees the
// winner's object and gets a definite 412 or succeeds.
func (s *S3) put(ctx context.Context, key string, data []byte, ifNoneMatch bool, ifMatch string, meta map[string]string) (string, error) {
	in := &s3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           &key,
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		Metadata:      meta,
	}
	if ifNoneMatch {
		in.IfNoneMatch = aws.String("*")
	}
	if ifMatch != "" {
		in.IfMatch = aws.String(ifMatch)
	}
	var out *s3.PutObjectOutput
	err := retryConflict(ctx, func() error {
		in.Body = bytes.NewReader(data)
		var err error
		out, err = s.client.PutObject(ctx, in)
		return err
	})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ETag), nil
}

// retryConflict runs fn again, with backoff, while it fails with 409
// ConditionalRequestConflict.
func retryConflict(ctx context.Context, fn func() error) error {
	backoff := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || attempt >= 8 || !isCode(err, "ConditionalRequestConflict") {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (s *S3) Open(ctx context.Context, name string) (File, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key, err := s.key("open", name)
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, newPathError("open", s.url(name), errors.New("is a directory"))
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return nil, s.err("open", name, err)
	}
	return &s3File{s: s, ctx: ctx, name: name, key: key, size: aws.ToInt64(out.ContentLength), etag: aws.ToString(out.ETag)}, nil
}

func (s *S3) List(ctx context.Context, dir string) ([]FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	prefix, err := s.key("list", dir)
	if err != nil {
		return nil, err
	}
	if prefix != "" {
		prefix += "/"
	}
	var out []FileInfo
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket:    &s.bucket,
		Prefix:    aws.String(prefix),
		Delimiter: aws.String("/"),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.err("list", dir, err)
		}
		for _, cp := range page.CommonPrefixes {
			base := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), prefix), "/")
			if base != "" {
				out = append(out, FileInfo{Name: base, IsDir: true})
			}
		}
		for _, obj := range page.Contents {
			base := strings.TrimPrefix(aws.ToString(obj.Key), prefix)
			if base == "" || strings.Contains(base, "/") {
				continue // the "dir/" marker some tools create, or junk
			}
			out = append(out, FileInfo{Name: base, Size: aws.ToInt64(obj.Size), ModTime: aws.ToTime(obj.LastModified)})
		}
	}
	return out, nil
}

func (s *S3) Stat(ctx context.Context, name string) (FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return FileInfo{}, err
	}
	key, err := s.key("stat", name)
	if err != nil {
		return FileInfo{}, err
	}
	if key == "" {
		return FileInfo{Name: "/", IsDir: true}, nil
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err == nil {
		return FileInfo{Name: path.Base(key), Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified)}, nil
	}
	if !isNotFound(err) {
		return FileInfo{}, s.err("stat", name, err)
	}
	// No object: a directory if any object is under the prefix.
	l, lerr := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(key + "/"), MaxKeys: aws.Int32(1)})
	if lerr != nil {
		return FileInfo{}, s.err("stat", name, lerr)
	}
	if len(l.Contents) > 0 || len(l.CommonPrefixes) > 0 {
		return FileInfo{Name: path.Base(key), IsDir: true}, nil
	}
	return FileInfo{}, s.err("stat", name, err)
}

func (s *S3) Remove(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	key, err := s.key("remove", name)
	if err != nil {
		return err
	}
	if key == "" {
		return newPathError("remove", s.url(name), errors.New("cannot remove the bucket root"))
	}
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}); err != nil && !isNotFound(err) {
		return s.err("remove", name, err)
	}
	return nil
}

// RemoveAll deletes the object name and every object under name/, listing
// them and deleting in batches of up to 1000 keys (DeleteObjects).
func (s *S3) RemoveAll(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	key, err := s.key("removeall", name)
	if err != nil {
		return err
	}
	prefix := ""
	if key != "" {
		if err := s.Remove(ctx, name); err != nil {
			return err
		}
		prefix = key + "/"
	}
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return s.err("removeall", name, err)
		}
		if len(page.Contents) == 0 {
			continue
		}
		ids := make([]types.ObjectIdentifier, len(page.Contents))
		for i, obj := range page.Contents {
			ids[i] = types.ObjectIdentifier{Key: obj.Key}
		}
		out, err := s.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: &s.bucket,
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return s.err("removeall", name, err)
		}
		var errs []error
		for _, e := range out.Errors {
			if aws.ToString(e.Code) == "NoSuchKey" {
				continue
			}
			errs = append(errs, fmt.Errorf("%s: %s: %s", s.url(aws.ToString(e.Key)), aws.ToString(e.Code), aws.ToString(e.Message)))
		}
		if len(errs) > 0 {
			return newPathError("removeall", s.url(name), errors.Join(errs...))
		}
	}
	return nil
}

// MkdirAll does nothing: S3 has no directories.
func (s *S3) MkdirAll(ctx context.Context, dir string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err := s.key("mkdir", dir)
	return err
}

// err maps an SDK error of an operation on name to the package's errors:
// a missing key is ErrNotExist, a failed If-None-Match is ErrExist, and the
// path is named as s3://bucket/key.
func (s *S3) err(op, name string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return newPathError(op, s.url(name), err)
	}
	switch {
	case isCode(err, "NoSuchBucket"):
		return newPathError(op, s.url(name), fmt.Errorf("bucket %q does not exist on %s: create it, or fix the bucket name, region or endpoint: %w", s.bucket, s.desc, err))
	case isNotFound(err):
		return newPathError(op, s.url(name), ErrNotExist)
	case isPreconditionFailed(err):
		return newPathError(op, s.url(name), ErrExist)
	case isCode(err, "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException") || httpStatus(err) == http.StatusMovedPermanently:
		return newPathError(op, s.url(name), fmt.Errorf("bucket %q is not in region %s: set its region (the location's region parameter or AWS_REGION): %w", s.bucket, s.opts.Region, err))
	case isCode(err, "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"):
		return newPathError(op, s.url(name), fmt.Errorf("access denied by %s: check the credentials (AWS_ACCESS_KEY_ID, a profile, or the location's accessKeyId/secretAccessKey) and the bucket policy: %w", s.desc, err))
	}
	return newPathError(op, s.url(name), err)
}

func isCode(err error, codes ...string) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.ErrorCode() == c {
			return true
		}
	}
	return false
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func isNotFound(err error) bool {
	var nk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nk) || errors.As(err, &nf) {
		return true
	}
	if isCode(err, "NoSuchBucket", "NoSuchUpload") {
		return false
	}
	return isCode(err, "NoSuchKey", "NotFound") || httpStatus(err) == http.StatusNotFound
}

func isPreconditionFailed(err error) bool {
	return isCode(err, "PreconditionFailed") || httpStatus(err) == http.StatusPreconditionFailed
}

// s3Registry shares one client (and its connection pool) among the
// Open calls of one configuration.
var (
	s3RegistryMu sync.Mutex
	s3Registry   = map[string]*S3{}
)

// openS3 is Open for s3:// locations.
func openS3(location string) (FS, string, error) {
	o, root, err := ParseS3Location(location)
	if err != nil {
		return nil, "", err
	}
	key := o.registryKey()
	s3RegistryMu.Lock()
	defer s3RegistryMu.Unlock()
	if s, ok := s3Registry[key]; ok {
		return s, root, nil
	}
	s, err := NewS3(context.Background(), o)
	if err != nil {
		return nil, "", fmt.Errorf("storage: location %s: %w", RedactLocation(location), err)
	}
	s3Registry[key] = s
	return s, root, nil
}

// registryKey identifies a configuration (secrets included: it is a map
// key, never printed).
func (o S3Options) registryKey() string {
	ps := "auto"
	if o.PathStyle != nil {
		ps = fmt.Sprint(*o.PathStyle)
	}
	return fmt.Sprintf("%#v", []any{o.Bucket, o.Region, o.Endpoint, ps, o.Profile, o.AccessKeyID, o.SecretAccessKey, o.SessionToken,
		o.PartSize, o.Concurrency, o.MaxAttempts, o.MaxBackoff, o.LeaseTTL})
}

// s3File reads an object at the version (ETag) seen at Open.
type s3File struct {
	s    *S3
	ctx  context.Context
	name string
	key  string
	size int64
	etag string

	pos    int64         // of Read
	body   io.ReadCloser // of Read, open at pos
	closed bool
}

func (f *s3File) Size() int64 { return f.size }

// get opens the byte range [off, end) (end < 0: to the end of the file).
func (f *s3File) get(off, end int64) (io.ReadCloser, error) {
	rng := fmt.Sprintf("bytes=%d-", off)
	if end >= 0 {
		rng = fmt.Sprintf("bytes=%d-%d", off, end-1)
	}
	in := &s3.GetObjectInput{Bucket: &f.s.bucket, Key: &f.key, Range: &rng}
	if f.etag != "" {
		in.IfMatch = &f.etag
	}
	out, err := f.s.client.GetObject(f.ctx, in)
	if err != nil {
		if isPreconditionFailed(err) {
			return nil, newPathError("read", f.s.url(f.name), fmt.Errorf("the object was overwritten since it was opened (S3 keeps no old content); open it again: %w", err))
		}
		return nil, f.s.err("read", f.name, err)
	}
	return out.Body, nil
}

// Read reads sequentially through one streamed GetObject, reopened at the
// current position if the connection breaks.
func (f *s3File) Read(p []byte) (int, error) {
	if f.closed {
		return 0, newPathError("read", f.s.url(f.name), ErrClosed)
	}
	if f.pos >= f.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	for attempt := 0; ; attempt++ {
		if f.body == nil {
			b, err := f.get(f.pos, -1)
			if err != nil {
				return 0, err
			}
			f.body = b
		}
		n, err := f.body.Read(p)
		f.pos += int64(n)
		if n > 0 || err == nil {
			return n, nil // an error comes back on the next call
		}
		f.body.Close()
		f.body = nil
		if f.pos >= f.size {
			return 0, io.EOF
		}
		if attempt >= 3 || f.ctx.Err() != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, f.s.err("read", f.name, err)
		}
	}
}

// ReadAt is one ranged GetObject; safe for concurrent use.
func (f *s3File) ReadAt(p []byte, off int64) (int, error) {
	if f.closed {
		return 0, newPathError("read", f.s.url(f.name), ErrClosed)
	}
	if off < 0 {
		return 0, newPathError("read", f.s.url(f.name), errors.New("negative offset"))
	}
	if off >= f.size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), f.size-off)
	if want == 0 {
		return 0, nil
	}
	var n int
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var b io.ReadCloser
		b, err = f.get(off+int64(n), off+want)
		if err != nil {
			return n, err
		}
		var m int
		m, err = io.ReadFull(b, p[n:want])
		b.Close()
		n += m
		if err == nil || f.ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return n, f.s.err("read", f.name, err)
	}
	if want < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

func (f *s3File) Close() error {
	if f.body != nil {
		f.body.Close()
		f.body = nil
	}
	f.closed = true
	return nil
}
