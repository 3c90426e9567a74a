package storage

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Lease is the handle S3.Lock returns. Unlike flock(2), a lease can be
// lost while held: when renewals fail for a whole TTL (a partition from S3,
// a process paused longer than the TTL), another holder may take it over.
// Lost is closed when that happened (or may have happened); a holder that
// must never overlap with another stops using the locked resource then.
// Under a checkpoint, an overlap is still caught: every log entry is
// written create-if-absent.
type Lease interface {
	io.Closer
	// Lost is closed when the lease is lost; Err then says why.
	Lost() <-chan struct{}
	Err() error
}

// leaseRecord is the content of a lease object. Holder and Seq make every
// write's bytes unique, so a writer recognises its own write when a retried
// request's acknowledgement was lost.
type leaseRecord struct {
	Holder string `json:"holder"`
	Seq    int64  `json:"seq"`
	Host   string `json:"host,omitempty"`
	PID    int    `json:"pid,omitempty"`
	TTLMs  int64  `json:"ttlMs"`
}

// Lock takes a lease on name: an object written with If-None-Match: *
// holding the holder's id and TTL (S3Options.LeaseTTL). A background
// goroutine renews it every TTL/3 by rewriting it with If-Match on its
// ETag; Close stops that and deletes the object (If-Match again, so a
// lease already taken over is left to its new holder).
//
// When the object exists, its age is the server's Date of the response
// minus the object's Last-Modified (both server clocks, so client clock
// skew does not matter). Younger than the TTL written in it: the lock is
// held and Lock fails with ErrLocked, naming the holder. Older: the holder
// stopped renewing (it died), and Lock takes the lease over with a PUT
// with If-Match on the expired lease's ETag, which exactly one contender
// wins. So after a crash, a restart waits out the TTL of the lease the
// dead process left.
//
// S3 needs conditional writes for this (If-None-Match and If-Match on
// PutObject: AWS since 2024, MinIO, versitygw 1.8.0). The handle is a
// Lease.
func (s *S3) Lock(ctx context.Context, name string) (io.Closer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key, err := s.key("lock", name)
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, newPathError("lock", s.url(name), errors.New("is a directory"))
	}
	host, _ := os.Hostname()
	l := &s3Lease{
		s: s, name: name, key: key, ttl: s.opts.LeaseTTL,
		rec:  leaseRecord{Holder: randomID(), Host: host, PID: os.Getpid(), TTLMs: s.opts.LeaseTTL.Milliseconds()},
		stop: make(chan struct{}), done: make(chan struct{}), lost: make(chan struct{}),
	}
	if err := l.acquire(ctx); err != nil {
		return nil, err
	}
	go l.renewLoop()
	return l, nil
}

type s3Lease struct {
	s    *S3
	name string
	key  string
	ttl  time.Duration

	mu       sync.Mutex
	rec      leaseRecord // last written
	etag     string      // of the last write
	renewed  time.Time   // local start time of the last successful write
	lostErr  error
	lost     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	closeErr error
	closed   bool
}

var _ Lease = (*s3Lease)(nil)

func randomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// write puts the next record, conditionally: created when absent
// (ifMatch ""), or over the ETag ifMatch. It returns whether it won. A
// failed condition is checked against the object: if it holds this very
// write (a retry after a lost acknowledgement), it won.
func (l *s3Lease) write(ctx context.Context, ifMatch string) (bool, error) {
	l.mu.Lock()
	l.rec.Seq++
	rec := l.rec
	l.mu.Unlock()
	body, _ := json.Marshal(rec)
	start := time.Now()
	etag, err := l.s.put(ctx, l.key, body, ifMatch == "", ifMatch, nil)
	if err != nil && (isPreconditionFailed(err) || isNotFound(err)) {
		cur, gerr := l.s.readLease(ctx, l.key)
		if gerr == nil && bytes.Equal(cur.body, body) {
			etag, err = cur.etag, nil
		}
	}
	if err != nil {
		if isPreconditionFailed(err) || isNotFound(err) {
			return false, nil
		}
		return false, err
	}
	l.mu.Lock()
	l.etag, l.renewed = etag, start
	l.mu.Unlock()
	return true, nil
}

// acquire creates the lease, or takes over an expired one.
func (l *s3Lease) acquire(ctx context.Context) error {
	for attempt := 0; attempt < 5; attempt++ {
		won, err := l.write(ctx, "")
		if err != nil {
			return l.s.err("lock", l.name, err)
		}
		if won {
			return nil
		}
		cur, err := l.s.readLease(ctx, l.key)
		if isNotFound(err) {
			continue // released meanwhile: try to create it again
		}
		if err != nil {
			return l.s.err("lock", l.name, err)
		}
		ttl := l.ttl
		if cur.ok && cur.rec.TTLMs > 0 {
			ttl = time.Duration(cur.rec.TTLMs) * time.Millisecond
		}
		if cur.age <= ttl+s3LeaseClockSlack {
			return newPathError("lock", l.s.url(l.name), fmt.Errorf("%w: lease held by %s, renewed %v ago, expires in %v unless renewed",
				ErrLocked, cur.holder(), cur.age.Round(time.Second), (ttl+s3LeaseClockSlack-cur.age).Round(time.Second)))
		}
		won, err = l.write(ctx, cur.etag)
		if err != nil {
			return l.s.err("lock", l.name, err)
		}
		if won {
			return nil
		}
		// Another contender took it over, or the holder renewed just now:
		// look again.
	}
	return newPathError("lock", l.s.url(l.name), fmt.Errorf("%w: the lease keeps changing hands", ErrLocked))
}

// currentLease is a lease object as read.
type currentLease struct {
	body []byte
	etag string
	age  time.Duration // server time of the read minus Last-Modified
	rec  leaseRecord
	ok   bool // rec parsed
}

func (c currentLease) holder() string {
	if !c.ok {
		return "an unknown holder (the lease object is not sluice's)"
	}
	return fmt.Sprintf("holder %s on host %q pid %d", c.rec.Holder, c.rec.Host, c.rec.PID)
}

func (s *S3) readLease(ctx context.Context, key string) (currentLease, error) {
	for attempt := 0; ; attempt++ {
		c, err := s.readLeaseOnce(ctx, key)
		var apiErr smithy.APIError
		if err == nil || errors.As(err, &apiErr) || attempt >= 3 || ctx.Err() != nil {
			return c, err
		}
		// a body cut off mid-way: read again
	}
}

func (s *S3) readLeaseOnce(ctx context.Context, key string) (currentLease, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return currentLease{}, err
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, 64<<10))
	if err != nil {
		return currentLease{}, err
	}
	now, ok := awsmiddleware.GetServerTime(out.ResultMetadata)
	if !ok {
		now = time.Now() // no Date header: fall back to our clock
	}
	c := currentLease{body: body, etag: aws.ToString(out.ETag), age: now.Sub(aws.ToTime(out.LastModified))}
	c.ok = json.Unmarshal(body, &c.rec) == nil && c.rec.Holder != ""
	return c, nil
}

// renewLoop renews every TTL/3 until Close, or until the lease is lost.
func (l *s3Lease) renewLoop() {
	defer close(l.done)
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		if !l.renew() {
			return
		}
	}
}

// renew rewrites the lease once and reports whether it is still held.
// A transient failure keeps it held while the TTL allows another try.
func (l *s3Lease) renew() bool {
	l.mu.Lock()
	etag, renewed := l.etag, l.renewed
	l.mu.Unlock()
	// A renewal must finish before the lease could expire.
	ctx, cancel := context.WithDeadline(context.Background(), renewed.Add(l.ttl))
	won, err := l.write(ctx, etag)
	cancel()
	switch {
	case won:
		return true
	case err == nil:
		l.setLost(errors.New("another holder took the lease over (it was not renewed within its TTL)"))
		return false
	case time.Since(renewed) >= l.ttl:
		l.setLost(fmt.Errorf("not renewed within its TTL of %v: %w", l.ttl, l.s.err("lock", l.name, err)))
		return false
	}
	return true
}

func (l *s3Lease) setLost(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lostErr == nil {
		l.lostErr = newPathError("lock", l.s.url(l.name), fmt.Errorf("lease lost: %w", err))
		close(l.lost)
	}
}

func (l *s3Lease) Lost() <-chan struct{} { return l.lost }

func (l *s3Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lostErr
}

// Close stops renewing and deletes the lease object if it is still ours.
// It reports a lease lost while held. Close after Close returns the first
// result.
func (l *s3Lease) Close() error {
	l.mu.Lock()
	if l.closed {
		defer l.mu.Unlock()
		return l.closeErr
	}
	l.closed = true
	l.mu.Unlock()
	l.stopRenewing()
	err := l.Err()
	if err == nil {
		err = l.release()
	}
	l.mu.Lock()
	l.closeErr = err
	l.mu.Unlock()
	return err
}

// stopRenewing ends the renewal goroutine (tests use it to play a holder
// that died without releasing).
func (l *s3Lease) stopRenewing() {
	l.stopOnce.Do(func() { close(l.stop) })
	<-l.done
}

func (l *s3Lease) release() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l.mu.Lock()
	etag := l.etag
	l.mu.Unlock()
	_, err := l.s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &l.s.bucket, Key: &l.key, IfMatch: &etag})
	if err != nil && isCode(err, "NotImplemented") {
		// No conditional delete on this server: check, then delete. A
		// takeover between the two is possible only for a lease that had
		// expired anyway.
		cur, gerr := l.s.readLease(ctx, l.key)
		if gerr != nil {
			err = gerr
		} else if cur.etag == etag {
			_, err = l.s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &l.s.bucket, Key: &l.key})
		} else {
			err = &preconditionErr{}
		}
	}
	switch {
	case err == nil || isNotFound(err):
		return nil
	case isPreconditionFailed(err) || errors.As(err, new(*preconditionErr)):
		return newPathError("unlock", l.s.url(l.name), errors.New("lease lost: another holder took it over before Close"))
	}
	return l.s.err("unlock", l.name, err)
}

// s3LeaseClockSlack is added to a lease's TTL before another holder takes
// it over: S3's Date and Last-Modified have a resolution of one second, so
// a measured age can be up to a second more than the real one.
const s3LeaseClockSlack = time.Second

type preconditionErr struct{}

func (*preconditionErr) Error() string { return "precondition failed" }
