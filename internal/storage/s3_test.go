package storage

import (
	"context"
	"testing"

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
