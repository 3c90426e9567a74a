package storage

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// s3MaxParts is S3's limit on the parts of one multipart upload.
const s3MaxParts = 10000

// Create starts a streamed write. With opts.CreateIfAbsent it first checks
// that name does not exist (so a doomed upload fails before sending data);
// the authoritative check is the conditional PutObject or
// CompleteMultipartUpload at Close.
func (s *S3) Create(ctx context.Context, name string, opts WriteOptions) (Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key, err := s.key("create", name)
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, newPathError("create", s.url(name), errors.New("is a directory"))
	}
	if opts.CreateIfAbsent {
		_, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
		switch {
		case err == nil:
			return nil, newPathError("create", s.url(name), ErrExist)
		case !isNotFound(err):
			return nil, s.err("create", name, err)
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	return &s3Writer{
		s: s, ctx: wctx, cancel: cancel, name: name, key: key, noReplace: opts.CreateIfAbsent,
		sem: make(chan struct{}, s.opts.Concurrency),
	}, nil
}

// s3Writer buffers a part; full parts go out as a multipart upload, up to
// Concurrency of them at once, while the next part fills.
type s3Writer struct {
	s         *S3
	ctx       context.Context // the Create's, canceled once the writer is done
	cancel    context.CancelFunc
	name      string
	key       string
	noReplace bool

	buf      []byte
	uploadID string // "" until the first full part
	nparts   int32
	sem      chan struct{} // one token per part upload in flight
	wg       sync.WaitGroup
	free     [][]byte // part buffers back from finished uploads

	mu    sync.Mutex // guards parts, upErr, free
	parts []types.CompletedPart
	upErr error

	done bool
	err  error
}

func (w *s3Writer) Write(p []byte) (int, error) {
	if w.done {
		if w.err != nil {
			return 0, w.err
		}
		return 0, newPathError("write", w.s.url(w.name), ErrClosed)
	}
	if err := w.uploadErr(); err != nil {
		w.fail(err)
		return 0, err
	}
	partSize := int(w.s.opts.PartSize)
	n := 0
	for len(p) > 0 {
		take := min(len(p), partSize-len(w.buf))
		w.buf = append(w.buf, p[:take]...)
		p = p[take:]
		n += take
		if len(w.buf) == partSize {
			if err := w.flushPart(); err != nil {
				w.fail(err)
				return n, err
			}
		}
	}
	return n, nil
}

func (w *s3Writer) uploadErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.upErr
}

// flushPart sends the buffer as the next part, in the background.
func (w *s3Writer) flushPart() error {
	if w.uploadID == "" {
		// CRC32 per part, checked by the server on upload and kept for
		// the completion, as the SDK's transfer manager does.
		out, err := w.s.client.CreateMultipartUpload(w.ctx, &s3.CreateMultipartUploadInput{
			Bucket: &w.s.bucket, Key: &w.key, ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
		})
		if err != nil {
			return w.s.err("write", w.name, err)
		}
		w.uploadID = aws.ToString(out.UploadId)
	}
	if w.nparts >= s3MaxParts {
		return newPathError("write", w.s.url(w.name), fmt.Errorf("file exceeds %d parts of %d bytes: raise partSize", s3MaxParts, w.s.opts.PartSize))
	}
	w.nparts++
	num := w.nparts
	data := w.buf
	select {
	case w.sem <- struct{}{}:
	case <-w.ctx.Done():
		return w.s.err("write", w.name, w.ctx.Err())
	}
	w.mu.Lock()
	if k := len(w.free); k > 0 {
		w.buf, w.free = w.free[k-1][:0], w.free[:k-1]
	} else {
		w.buf = nil
	}
	w.mu.Unlock()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer func() { <-w.sem }()
		out, err := w.s.client.UploadPart(w.ctx, &s3.UploadPartInput{
			Bucket:            &w.s.bucket,
			Key:               &w.key,
			UploadId:          &w.uploadID,
			PartNumber:        aws.Int32(num),
			ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
			Body:              bytes.NewReader(data),
			ContentLength:     aws.Int64(int64(len(data))),
		})
		w.mu.Lock()
		defer w.mu.Unlock()
		w.free = append(w.free, data)
		if err != nil {
			if w.upErr == nil {
				w.upErr = w.s.err("write", w.name, fmt.Errorf("upload part %d: %w", num, err))
			}
			return
		}
		w.parts = append(w.parts, types.CompletedPart{
			PartNumber:        aws.Int32(num),
			ETag:              out.ETag,
			ChecksumCRC32:     out.ChecksumCRC32,
			ChecksumCRC32C:    out.ChecksumCRC32C,
			ChecksumCRC64NVME: out.ChecksumCRC64NVME,
			ChecksumSHA1:      out.ChecksumSHA1,
			ChecksumSHA256:    out.ChecksumSHA256,
		})
	}()
	return nil
}

// Close publishes the file: one PutObject when it fits in a part, else the
// last part and CompleteMultipartUpload.
func (w *s3Writer) Close() error {
	if w.done {
		return w.err
	}
	w.done = true
	w.err = w.publish()
	if w.err != nil {
		w.cleanup()
	}
	w.cancel()
	w.buf, w.free = nil, nil
	return w.err
}

func (w *s3Writer) publish() error {
	if err := w.ctx.Err(); err != nil {
		return w.s.err("close", w.name, err)
	}
	if w.uploadID == "" {
		if _, err := w.s.put(w.ctx, w.key, w.buf, w.noReplace, "", nil); err != nil {
			return w.s.err("close", w.name, err)
		}
		return nil
	}
	if len(w.buf) > 0 {
		if err := w.flushPart(); err != nil {
			return err
		}
	}
	w.wg.Wait()
	if err := w.uploadErr(); err != nil {
		return err
	}
	parts := slices.Clone(w.parts)
	slices.SortFunc(parts, func(a, b types.CompletedPart) int { return int(aws.ToInt32(a.PartNumber) - aws.ToInt32(b.PartNumber)) })
	in := &s3.CompleteMultipartUploadInput{
		Bucket:          &w.s.bucket,
		Key:             &w.key,
		UploadId:        &w.uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}
	if w.noReplace {
		in.IfNoneMatch = aws.String("*")
	}
	err := retryConflict(w.ctx, func() error {
		_, err := w.s.client.CompleteMultipartUpload(w.ctx, in)
		return err
	})
	if err != nil && w.noReplace && isCode(err, "NotImplemented") {
		// A server without conditional completion: check, then complete.
		// Two writers racing between the check and the completion can both
		// succeed (the later one replaces the earlier); S3 itself, MinIO
		// and versitygw 1.8.0 support the condition and never get here.
		_, herr := w.s.client.HeadObject(w.ctx, &s3.HeadObjectInput{Bucket: &w.s.bucket, Key: &w.key})
		switch {
		case herr == nil:
			return newPathError("close", w.s.url(w.name), ErrExist)
		case !isNotFound(herr):
			return w.s.err("close", w.name, herr)
		}
		in.IfNoneMatch = nil
		_, err = w.s.client.CompleteMultipartUpload(w.ctx, in)
	}
	if err != nil && isCode(err, "NoSuchUpload") && w.completedEarlier(parts) {
		err = nil // a retry after the completion's response was lost
	}
	if err != nil {
		return w.s.err("close", w.name, err)
	}
	w.uploadID = "" // completed: nothing to abort
	return nil
}

// completedEarlier reports whether the object under the key is this
// upload's: its ETag is the multipart ETag of parts, md5 of the parts'
// MD5s and "-<count>". (Where part ETags are not MD5s, as with SSE-KMS, it
// says no, and Close reports the error.)
func (w *s3Writer) completedEarlier(parts []types.CompletedPart) bool {
	h := md5.New()
	for _, p := range parts {
		b, err := hex.DecodeString(strings.Trim(aws.ToString(p.ETag), `"`))
		if err != nil || len(b) != md5.Size {
			return false
		}
		h.Write(b)
	}
	want := fmt.Sprintf("%x-%d", h.Sum(nil), len(parts))
	out, err := w.s.client.HeadObject(w.ctx, &s3.HeadObjectInput{Bucket: &w.s.bucket, Key: &w.key})
	return err == nil && strings.Trim(aws.ToString(out.ETag), `"`) == want
}

// Abort discards the write; a no-op after Close.
func (w *s3Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.err = newPathError("write", w.s.url(w.name), errors.New("aborted"))
	w.cleanup()
	w.buf, w.free = nil, nil
	return nil
}

// fail ends the writer after a failed Write: later calls return err.
func (w *s3Writer) fail(err error) {
	if !w.done {
		w.done = true
		w.err = err
		w.cleanup()
	}
}

// cleanup waits for the part uploads in flight, then aborts the multipart
// upload. It does not cancel them: S3 may still store a part whose request
// was canceled after an abort, recreating the upload (AWS's documentation
// of AbortMultipartUpload warns of this). The abort runs even when the
// writer's context is canceled (often why it failed), with a time limit
// of its own.
func (w *s3Writer) cleanup() {
	w.wg.Wait()
	w.cancel()
	if w.uploadID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), 30*time.Second)
	defer cancel()
	w.s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &w.s.bucket, Key: &w.key, UploadId: &w.uploadID})
	w.uploadID = ""
}
