package storage

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// Defaults of S3Options.
const (
	DefaultS3PartSize     = 8 << 20
	MinS3PartSize         = 5 << 20 // S3's minimum for every part but the last
	DefaultS3Concurrency  = 4
	DefaultS3MaxAttempts  = 8
	DefaultS3MaxBackoff   = 20 * time.Second
	DefaultS3LeaseTTL     = 30 * time.Second
	MinS3LeaseTTL         = 2 * time.Second
	defaultS3Region       = "us-east-1"
	s3RedactedPlaceholder = "REDACTED"
)

// S3Options configure an S3 file system. Zero values take the documented
// default. Every field can also be given in the query of an s3:// location
// (ParseS3Location), under the name in brackets; a location is how job
// specs and checkpoints name S3, the struct is for Go callers (NewS3).
//
// Anything not set falls back to the standard AWS configuration chain:
// AWS_REGION, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, the shared
// config and credentials files, web identity, ECS and EC2 instance roles.
type S3Options struct {
	// Bucket is required (the host of an s3:// location).
	Bucket string
	// Region [region] of the bucket. Default: the AWS chain (AWS_REGION,
	// the profile), else us-east-1.
	Region string
	// Endpoint [endpoint] is the base URL of an S3-compatible server, as
	// http://127.0.0.1:7070 for versitygw or MinIO. Default: AWS, or
	// AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL.
	Endpoint string
	// PathStyle [pathStyle=true|false] addresses buckets as
	// endpoint/bucket/key instead of bucket.endpoint/key. Default: path
	// style when an endpoint is set (servers on an IP address or localhost
	// need it), virtual-hosted on AWS.
	PathStyle *bool
	// Profile [profile] selects a profile of the shared AWS config files.
	Profile string
	// AccessKeyID, SecretAccessKey and SessionToken [accessKeyId,
	// secretAccessKey, sessionToken] are static credentials; when set they
	// replace the AWS chain. Prefer the environment or a profile outside
	// tests: a location holding a secret is a secret. sluice redacts them in
	// its own messages (RedactLocation), not in places it does not control.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// PartSize [partSize, bytes or with a KiB/MiB/GiB suffix] is the part
	// size of multipart uploads; smaller streamed files are one PutObject.
	// Default 8 MiB, minimum 5 MiB.
	PartSize int64
	// Concurrency [concurrency] is how many parts of one streamed file are
	// uploaded at once; a writer buffers up to Concurrency+1 parts.
	// Default 4.
	Concurrency int
	// MaxAttempts [maxAttempts] bounds the attempts of one request on
	// throttling, 5xx and connection errors (exponential backoff with
	// jitter, by the SDK's standard retryer). Default 8.
	MaxAttempts int
	// MaxBackoff [maxBackoff, a Go duration] caps one backoff. Default 20s.
	MaxBackoff time.Duration
	// LeaseTTL [leaseTTL, a Go duration] is how long a Lock lease lives
	// without renewal; the holder renews it every LeaseTTL/3, and another
	// holder may take it over once it is older than this. Default 30s,
	// minimum 2s.
	LeaseTTL time.Duration
}

// Validate reports every problem at once.
func (o *S3Options) Validate() error {
	var errs []error
	if o.Bucket == "" {
		errs = append(errs, errors.New("bucket is required"))
	} else if err := validBucket(o.Bucket); err != nil {
		errs = append(errs, err)
	}
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("endpoint %q is not a URL: %v", o.Endpoint, err))
		case u.Scheme != "http" && u.Scheme != "https":
			errs = append(errs, fmt.Errorf("endpoint %q: give a base URL such as http://127.0.0.1:7070 or https://s3.example.com", o.Endpoint))
		case u.Host == "":
			errs = append(errs, fmt.Errorf("endpoint %q has no host", o.Endpoint))
		case u.User != nil:
			errs = append(errs, errors.New("endpoint must not hold credentials; use accessKeyId and secretAccessKey, the environment or a profile"))
		}
	}
	if (o.AccessKeyID == "") != (o.SecretAccessKey == "") {
		errs = append(errs, errors.New("give both accessKeyId and secretAccessKey, or neither (to use the AWS credential chain)"))
	}
	if o.SessionToken != "" && o.AccessKeyID == "" {
		errs = append(errs, errors.New("sessionToken needs accessKeyId and secretAccessKey"))
	}
	if o.PartSize != 0 && o.PartSize < MinS3PartSize {
		errs = append(errs, fmt.Errorf("partSize %d is below S3's minimum part size of 5 MiB", o.PartSize))
	}
	if o.PartSize > 5<<30 {
		errs = append(errs, fmt.Errorf("partSize %d is above S3's maximum part size of 5 GiB", o.PartSize))
	}
	if o.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency %d is negative", o.Concurrency))
	}
	if o.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("maxAttempts %d is negative", o.MaxAttempts))
	}
	if o.MaxBackoff < 0 {
		errs = append(errs, fmt.Errorf("maxBackoff %v is negative", o.MaxBackoff))
	}
	if o.LeaseTTL != 0 && o.LeaseTTL < MinS3LeaseTTL {
		errs = append(errs, fmt.Errorf("leaseTTL %v is below the minimum of %v (S3 times have a resolution of one second)", o.LeaseTTL, MinS3LeaseTTL))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("storage: S3 options for bucket %q: %w", o.Bucket, errors.Join(errs...))
}

// withDefaults returns o with zero values replaced by the defaults that do
// not depend on the AWS chain.
func (o S3Options) withDefaults() S3Options {
	if o.PartSize == 0 {
		o.PartSize = DefaultS3PartSize
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultS3Concurrency
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = DefaultS3MaxAttempts
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = DefaultS3MaxBackoff
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = DefaultS3LeaseTTL
	}
	return o
}

// validBucket checks the S3 bucket naming rules that matter for a URL.
func validBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket name %q must be 3 to 63 characters long", b)
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return fmt.Errorf("bucket name %q may hold only lowercase letters, digits, '-' and '.'", b)
		}
	}
	return nil
}

// s3Params are the query parameters of an s3:// location.
var s3Params = []string{"region", "endpoint", "pathStyle", "profile", "accessKeyId", "secretAccessKey", "sessionToken",
	"partSize", "concurrency", "maxAttempts", "maxBackoff", "leaseTTL"}

// s3SecretParams are redacted wherever sluice prints a location.
var s3SecretParams = []string{"secretAccessKey", "sessionToken"}

// ParseS3Location parses s3://bucket/prefix?param=value&... (s3a:// is
// accepted as a synonym) into options and the root name of prefix in the
// file system ("/prefix", or "/" for the whole bucket). The parameters are
// the bracketed names of S3Options' fields; an unknown parameter is an
// error, so a typo does not silently fall back to a default. Values are
// URL-encoded: a secret key holding '+' or '/' is written with %2B, %2F.
// Example:
//
//	s3://ckpt-bucket/queries/q1?endpoint=http://127.0.0.1:7070&region=us-east-1&pathStyle=true
func ParseS3Location(location string) (S3Options, string, error) {
	shown := RedactLocation(location)
	u, err := url.Parse(location)
	if err != nil {
		// url errors quote the input, which may hold a secret
		return S3Options{}, "", fmt.Errorf("storage: location %s is not a valid URL", shown)
	}
	if s := strings.ToLower(u.Scheme); s != "s3" && s != "s3a" {
		return S3Options{}, "", fmt.Errorf("storage: location %s is not an s3:// location", shown)
	}
	if u.User != nil {
		return S3Options{}, "", fmt.Errorf("storage: location %s: credentials go in the query (accessKeyId, secretAccessKey), the environment or a profile, not before the bucket", shown)
	}
	o := S3Options{Bucket: u.Host}
	var errs []error
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		// the error would quote the bad part, which may be a secret
		errs = append(errs, errors.New("the query is not valid URL encoding: percent-encode '%', '+', '&' and '=' in values (%25, %2B, %26, %3D)"))
	}
	for k, vs := range q {
		if !containsString(s3Params, k) {
			errs = append(errs, fmt.Errorf("unknown parameter %q (known: %s)", k, strings.Join(s3Params, ", ")))
			continue
		}
		if len(vs) != 1 {
			errs = append(errs, fmt.Errorf("parameter %q is given %d times", k, len(vs)))
			continue
		}
		v := vs[0]
		switch k {
		case "region":
			o.Region = v
		case "endpoint":
			o.Endpoint = v
		case "pathStyle":
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("pathStyle=%q: want true or false", v))
			}
			o.PathStyle = &b
		case "profile":
			o.Profile = v
		case "accessKeyId":
			o.AccessKeyID = v
		case "secretAccessKey":
			o.SecretAccessKey = v
		case "sessionToken":
			o.SessionToken = v
		case "partSize":
			n, err := parseByteSize(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("partSize=%q: %v", v, err))
			}
			o.PartSize = n
		case "concurrency", "maxAttempts":
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: want an integer", k, v))
			}
			if k == "concurrency" {
				o.Concurrency = n
			} else {
				o.MaxAttempts = n
			}
		case "maxBackoff", "leaseTTL":
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: want a duration such as 30s", k, v))
			}
			if k == "maxBackoff" {
				o.MaxBackoff = d
			} else {
				o.LeaseTTL = d
			}
		}
	}
	if err := o.Validate(); err != nil {
		errs = append(errs, errors.Unwrap(err))
	}
	if len(errs) > 0 {
		return S3Options{}, "", fmt.Errorf("storage: location %s: %w", shown, errors.Join(errs...))
	}
	root := path.Clean("/" + u.Path)
	return o, root, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func parseByteSize(s string) (int64, error) {
	mult := int64(1)
	for _, suf := range []struct {
		s string
		m int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(s, suf.s) {
			s, mult = strings.TrimSuffix(s, suf.s), suf.m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("want a number of bytes, optionally with a KiB, MiB or GiB suffix")
	}
	return n * mult, nil
}

// RedactLocation returns location with the values of secret query
// parameters (secretAccessKey, sessionToken) and any password before the
// host replaced, for messages and logs. Anything that is not a URL with a
// query comes back unchanged (if it does not parse, query-looking secrets
// are cut out by hand).
func RedactLocation(location string) string {
	scheme, rest, ok := strings.Cut(location, "://")
	if !ok {
		return location
	}
	hostPath, query, hasQuery := strings.Cut(rest, "?")
	if at := strings.LastIndex(hostPath, "@"); at >= 0 {
		if slash := strings.Index(hostPath, "/"); slash < 0 || at < slash {
			hostPath = s3RedactedPlaceholder + "@" + hostPath[at+1:]
		}
	}
	if !hasQuery {
		return scheme + "://" + hostPath
	}
	// Redact by hand, parameter by parameter, so that even a query that
	// does not parse is redacted and the rest keeps its original spelling.
	parts := strings.Split(query, "&")
	for i, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		for _, s := range s3SecretParams {
			if strings.EqualFold(k, s) {
				parts[i] = s + "=" + s3RedactedPlaceholder
			}
		}
	}
	return scheme + "://" + hostPath + "?" + strings.Join(parts, "&")
}
