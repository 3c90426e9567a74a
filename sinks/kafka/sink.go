// Package kafka is the Kafka sink. By default it writes exactly once: each
// micro-batch is one Kafka transaction under a transactional id that is
// stable for the query, and the batch id is committed inside the same
// transaction (as the metadata of a transactional offset commit to the
// consumer group named like the transactional id). A replayed batch whose
// id is already committed is skipped, so read_committed consumers see every
// batch exactly once. After each commit the batch id is read back, so a
// commit the client reported but Kafka does not have is written again. A
// second instance with the same transactional id fences the first: the
// zombie's next write fails with ErrFenced.
//
// Spark's Kafka sink is at-least-once; deliveryGuarantee=at-least-once
// gives that behaviour (idempotent producer, no transactions).
package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/sinks"
)

// ErrFenced means another sink instance with the same transactional id
// took over; this one must stop (its open transaction was aborted).
var ErrFenced = fmt.Errorf("%w: kafka: fenced by a newer instance with the same transactional id", sinks.ErrSink)

// metaPrefix starts the offset-commit metadata that records a batch id.
const metaPrefix = "sluice-batch:"

// Sink writes rows to Kafka. Create it with New; Close it when done.
type Sink struct {
	o   Options
	r   *resolved
	log *slog.Logger

	mu        sync.Mutex
	cl        *kgo.Client
	known     bool  // committed is loaded
	committed int64 // last batch id committed to Kafka, -1 none
	fenced    error
	topicIDs  map[string][16]byte
}

// New validates o and makes the sink. It connects on the first batch.
func New(o Options) (*Sink, error) {
	r, err := o.resolve()
	if err != nil {
		return nil, err
	}
	s := &Sink{o: o, r: r, log: o.Logger, committed: -1}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s, nil
}

// Description is for progress reports; it never shows credentials.
func (s *Sink) Description() string {
	g := ExactlyOnce
	if !s.r.eos {
		g = AtLeastOnce
	}
	t := s.o.Topic
	if t == "" {
		t = "<topic column>"
	}
	return "KafkaSink[" + t + ", " + g + "]"
}

// SupportsMode accepts every mode: the sink writes the rows it is given
// (update mode: upserts keyed by the key column; complete: the whole table).
func (s *Sink) SupportsMode(mode sinks.OutputMode) error { return nil }

// Close ends the connection; an open transaction is aborted by the broker.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl != nil {
		s.cl.Close()
		s.cl = nil
	}
	return nil
}

func (s *Sink) client() (*kgo.Client, error) {
	if s.cl != nil {
		return s.cl, nil
	}
	opts := append(s.r.conf.Opts(s.log),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(s.r.compression),
		kgo.ProducerLinger(s.r.linger),
		kgo.ProducerBatchMaxBytes(s.r.batchBytes),
		kgo.MaxBufferedRecords(1<<17),
		kgo.RecordPartitioner(partitioner{}),
		kgo.AllowAutoTopicCreation(),
	)
	if s.r.eos {
		opts = append(opts, kgo.TransactionalID(s.o.TransactionalID), kgo.TransactionTimeout(s.r.txnTimeout))
	}
	opts = append(opts, s.o.ClientOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: kafka sink: connect to %s: %w", sinks.ErrSink, s.o.BootstrapServers, err)
	}
	s.cl = cl
	return cl, nil
}

// CheckSchema says whether rows of schema can be written, so a query can
// fail at start rather than at its first batch.
func (s *Sink) CheckSchema(schema *arrow.Schema) error {
	_, err := s.columns(schema)
	return err
}

// cols are the positions of the sink's columns (-1 absent).
type cols struct{ key, value, topic, partition, headers int }

func (s *Sink) columns(schema *arrow.Schema) (cols, error) {
	c := cols{-1, -1, -1, -1, -1}
	var errs []error
	for i, f := range schema.Fields() {
		switch strings.ToLower(f.Name) {
		case "key":
			c.key = i
			if !isBytes(f.Type) {
				errs = append(errs, fmt.Errorf("column key must be string or binary, not %s", f.Type))
			}
		case "value":
			c.value = i
			if !isBytes(f.Type) {
				errs = append(errs, fmt.Errorf("column value must be string or binary, not %s; serialize it first, e.g. to_json(struct(*)) AS value", f.Type))
			}
		case "topic":
			c.topic = i
			if f.Type.ID() != arrow.STRING && f.Type.ID() != arrow.LARGE_STRING {
				errs = append(errs, fmt.Errorf("column topic must be a string, not %s", f.Type))
			}
		case "partition":
			c.partition = i
			if f.Type.ID() != arrow.INT32 && f.Type.ID() != arrow.INT64 {
				errs = append(errs, fmt.Errorf("column partition must be int or bigint, not %s", f.Type))
			}
		case "headers":
			c.headers = i
			if !isHeaders(f.Type) {
				errs = append(errs, fmt.Errorf("column headers must be array<struct<key:string,value:binary>>, not %s", f.Type))
			}
		}
	}
	if c.value < 0 {
		errs = append(errs, fmt.Errorf("the rows have no value column (columns: %s); select one, e.g. to_json(struct(*)) AS value", fieldNames(schema)))
	}
	if c.topic < 0 && s.o.Topic == "" {
		errs = append(errs, errors.New("no topic: set the sink option topic or give the rows a string topic column"))
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("%w: kafka sink: %w", sinks.ErrSink, err)
	}
	return c, nil
}

func fieldNames(s *arrow.Schema) string {
	var ns []string
	for _, f := range s.Fields() {
		ns = append(ns, f.Name)
	}
	return strings.Join(ns, ", ")
}

func isBytes(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.BINARY, arrow.LARGE_STRING, arrow.LARGE_BINARY:
		return true
	}
	return false
}

func isHeaders(t arrow.DataType) bool {
	l, ok := t.(*arrow.ListType)
	if !ok {
		return false
	}
	st, ok := l.Elem().(*arrow.StructType)
	if !ok || st.NumFields() != 2 {
		return false
	}
	return st.Field(0).Type.ID() == arrow.STRING && isBytes(st.Field(1).Type)
}

// AddBatch writes the rows. Exactly-once: skip if batchID is already
// committed in Kafka; otherwise one transaction holds the rows and the
// batch id, and the commit is read back before AddBatch returns. Returns
// ErrFenced if a newer instance took over.
func (s *Sink) AddBatch(ctx context.Context, batchID int64, mode sinks.OutputMode, rows array.RecordReader) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fenced != nil {
		return s.fenced
	}
	// The rows stay in memory until the batch is committed: the records
	// point into their buffers, and a transaction that did not commit is
	// written again from them.
	batches, err := collect(rows)
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	if err != nil {
		return err
	}
	if !s.r.eos {
		cl, err := s.client()
		if err != nil {
			return err
		}
		_, _, err = s.produce(ctx, cl, batches)
		return err
	}
	for attempt := 1; ; attempt++ {
		err := s.transaction(ctx, batchID, batches)
		if !errors.Is(err, errNotCommitted) || attempt == maxAttempts {
			return err
		}
		s.log.Warn("kafka sink: a transaction ended without committing although the client reported success; writing the batch again in a new transaction",
			"sink", s.Description(), "batch", batchID, "attempt", attempt)
	}
}

// maxAttempts bounds the transactions one AddBatch tries when a commit
// is reported but not found.
const maxAttempts = 3

// errNotCommitted: EndTransaction reported a commit, but the batch id is
// not committed. franz-go (v1.22) can turn a commit into an abort, or
// skip it, and return nil when it misses that a partition joined the
// transaction; the batch's records are then aborted and must be written
// again.
var errNotCommitted = fmt.Errorf("%w: kafka sink: the transaction was reported committed but its batch id is not", sinks.ErrSink)

// collect retains every non-empty batch of rows.
func collect(rows array.RecordReader) ([]arrow.RecordBatch, error) {
	var out []arrow.RecordBatch
	for rows.Next() {
		b := rows.RecordBatch()
		if b.NumRows() == 0 {
			continue
		}
		b.Retain()
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("%w: kafka sink: read rows: %w", sinks.ErrSink, err)
	}
	return out, nil
}

// transaction writes one batch in one transaction with its batch id and
// checks that both committed.
func (s *Sink) transaction(ctx context.Context, batchID int64, batches []arrow.RecordBatch) error {
	cl, err := s.client()
	if err != nil {
		return err
	}
	if !s.known {
		if err := s.loadCommitted(ctx, cl); err != nil {
			return s.fail(err)
		}
	}
	if batchID <= s.committed {
		s.log.Info("kafka sink: batch already committed in Kafka, skipping the replay", "sink", s.Description(), "batch", batchID, "committed", s.committed)
		return nil
	}
	if err := cl.BeginTransaction(); err != nil {
		return s.fail(fmt.Errorf("%w: kafka sink: begin transaction: %w", sinks.ErrSink, err))
	}
	n, marker, err := s.produce(ctx, cl, batches)
	if err == nil && n > 0 {
		err = s.commitBatchID(ctx, cl, batchID, marker)
	}
	if err != nil {
		s.abort(cl)
		return s.fail(err)
	}
	if n == 0 {
		// Nothing was written, so there is no transaction to commit and
		// nothing a replay could duplicate.
		if err := cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
			return s.fail(fmt.Errorf("%w: kafka sink: end empty transaction: %w", sinks.ErrSink, err))
		}
		return nil
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		// The outcome may be unknown: reload the committed batch id first
		// next time.
		s.known = false
		s.abort(cl)
		return s.fail(fmt.Errorf("%w: kafka sink: commit transaction of batch %d: %w", sinks.ErrSink, batchID, err))
	}
	// Trust, but verify: the batch id must now be the committed one.
	committed, err := s.readCommitted(ctx, cl)
	if err != nil {
		s.known = false
		return s.fail(fmt.Errorf("%w: kafka sink: check the commit of batch %d: %w", sinks.ErrSink, batchID, err))
	}
	if committed < batchID {
		// Start over with a fresh client (its producer id initialisation
		// also aborts whatever the old one may have left open).
		return s.fail(fmt.Errorf("%w: batch %d (committed: %d)", errNotCommitted, batchID, committed))
	}
	s.committed, s.known = committed, true
	return nil
}

// fail turns fencing errors into ErrFenced (sticky); after other errors
// the next batch starts from a clean client.
func (s *Sink) fail(err error) error {
	if isFenced(err) {
		s.fenced = fmt.Errorf("%w: transactional id %q: %w", ErrFenced, s.o.TransactionalID, err)
		return s.fenced
	}
	// Start over with a fresh client: its producer id initialisation
	// aborts whatever this one left open, and the committed batch id is
	// read again.
	s.known = false
	if s.cl != nil {
		s.cl.Close()
		s.cl = nil
	}
	return err
}

func isFenced(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) ||
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed) || errors.Is(err, kerr.InvalidProducerIDMapping)
}

func (s *Sink) abort(cl *kgo.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.AbortBufferedRecords(ctx); err != nil {
		s.log.Warn("kafka sink: drop buffered records", "sink", s.Description(), "err", err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryAbort); err != nil && !isFenced(err) {
		s.log.Warn("kafka sink: abort transaction", "sink", s.Description(), "err", err)
	}
}

// loadCommitted initialises the producer id (fencing older instances and
// aborting their open transaction) and reads the last committed batch id.
func (s *Sink) loadCommitted(ctx context.Context, cl *kgo.Client) error {
	if _, _, err := cl.ProducerID(ctx); err != nil {
		return fmt.Errorf("%w: kafka sink: initialise transactional id %q: %w", sinks.ErrSink, s.o.TransactionalID, err)
	}
	committed, err := s.readCommitted(ctx, cl)
	if err != nil {
		return err
	}
	s.committed, s.known = committed, true
	return nil
}

// readCommitted reads the last batch id committed under the
// transactional id (-1 none), waiting for pending transactional commits
// to settle.
func (s *Sink) readCommitted(ctx context.Context, cl *kgo.Client) (int64, error) {
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(s.r.txnTimeout + 30*time.Second)
	for {
		offs, err := adm.FetchOffsets(kadm.RequireStable(ctx), s.o.TransactionalID)
		if errors.Is(err, kerr.GroupIDNotFound) {
			return -1, nil // nothing was ever committed under this id
		}
		if err == nil {
			best, unstable := int64(-1), false
			offs.Each(func(o kadm.OffsetResponse) {
				if errors.Is(o.Err, kerr.UnstableOffsetCommit) {
					unstable = true
					return
				}
				if id, ok := parseMeta(o.Metadata); ok && id > best {
					best = id
				}
			})
			if !unstable {
				return best, nil
			}
			err = kerr.UnstableOffsetCommit
		}
		if !errors.Is(err, kerr.UnstableOffsetCommit) && !errors.Is(err, kerr.CoordinatorLoadInProgress) {
			return 0, fmt.Errorf("%w: kafka sink: read committed batch id of group %q: %w", sinks.ErrSink, s.o.TransactionalID, err)
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%w: kafka sink: group %q still has an unsettled transaction after %s: %w", sinks.ErrSink, s.o.TransactionalID, s.r.txnTimeout, err)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func parseMeta(m string) (int64, bool) {
	v, ok := strings.CutPrefix(m, metaPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// commitBatchID adds the batch id to the open transaction: a
// transactional offset commit on a partition the batch wrote to (the
// broker only takes commits for existing partitions).
func (s *Sink) commitBatchID(ctx context.Context, cl *kgo.Client, batchID int64, marker kgo.Record) error {
	pid, epoch, err := cl.ProducerID(ctx)
	if err != nil {
		return fmt.Errorf("%w: kafka sink: producer id: %w", sinks.ErrSink, err)
	}
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID = s.o.TransactionalID
	add.ProducerID, add.ProducerEpoch = pid, epoch
	add.Group = s.o.TransactionalID
	aresp, err := add.RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(aresp.ErrorCode)
	}
	if err != nil {
		return fmt.Errorf("%w: kafka sink: add batch id to transaction: %w", sinks.ErrSink, err)
	}
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.TransactionalID = s.o.TransactionalID
	req.Group = s.o.TransactionalID
	req.ProducerID, req.ProducerEpoch = pid, epoch
	req.Generation = -1
	t := kmsg.NewTxnOffsetCommitRequestTopic()
	t.Topic = marker.Topic
	// Version 6 names topics by id (KIP-1319); older ones by name.
	if t.TopicID, err = s.topicID(ctx, cl, marker.Topic); err != nil {
		return err
	}
	p := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	p.Partition = marker.Partition
	p.Offset = batchID + 1
	p.LeaderEpoch = -1
	meta := metaPrefix + strconv.FormatInt(batchID, 10)
	p.Metadata = &meta
	t.Partitions = append(t.Partitions, p)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("%w: kafka sink: commit batch id %d: %w", sinks.ErrSink, batchID, err)
	}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
				return fmt.Errorf("%w: kafka sink: commit batch id %d: %w", sinks.ErrSink, batchID, err)
			}
		}
	}
	return nil
}

// topicID looks up (and caches) a topic's id.
func (s *Sink) topicID(ctx context.Context, cl *kgo.Client, topic string) ([16]byte, error) {
	if id, ok := s.topicIDs[topic]; ok {
		return id, nil
	}
	tds, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err == nil {
		err = tds[topic].Err
	}
	if err != nil {
		return [16]byte{}, fmt.Errorf("%w: kafka sink: metadata of topic %q: %w", sinks.ErrSink, topic, err)
	}
	if s.topicIDs == nil {
		s.topicIDs = map[string][16]byte{}
	}
	s.topicIDs[topic] = tds[topic].ID
	return tds[topic].ID, nil
}

// produce writes every row and waits for the acknowledgements. It returns
// the number of records and one of them (for its topic and partition).
// The records point into the batches, which the caller holds.
func (s *Sink) produce(ctx context.Context, cl *kgo.Client, batches []arrow.RecordBatch) (int64, kgo.Record, error) {
	var (
		n        int64
		marker   kgo.Record
		firstErr atomic.Pointer[error]
		slabs    [][]kgo.Record
	)
	promise := func(r *kgo.Record, err error) {
		if err != nil {
			firstErr.CompareAndSwap(nil, &err)
		}
	}
	var c cols
	var schema *arrow.Schema
	for _, b := range batches {
		if schema == nil || !schema.Equal(b.Schema()) {
			var err error
			if c, err = s.columns(b.Schema()); err != nil {
				return 0, marker, err
			}
			schema = b.Schema()
		}
		recs, err := s.records(b, c)
		if err != nil {
			return 0, marker, err
		}
		slabs = append(slabs, recs)
		for i := range recs {
			cl.Produce(ctx, &recs[i], promise)
		}
		n += int64(len(recs))
		if e := firstErr.Load(); e != nil {
			break
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return 0, marker, fmt.Errorf("%w: kafka sink: flush: %w", sinks.ErrSink, err)
	}
	if e := firstErr.Load(); e != nil {
		return 0, marker, fmt.Errorf("%w: kafka sink: produce: %w", sinks.ErrSink, *e)
	}
	if n > 0 {
		marker = slabs[0][0]
	}
	return n, marker, nil
}

// records builds one kgo record per row, pointing into b's buffers.
func (s *Sink) records(b arrow.RecordBatch, c cols) ([]kgo.Record, error) {
	n := int(b.NumRows())
	recs := make([]kgo.Record, n)
	val := bytesAt(b.Column(c.value))
	var key func(int) []byte
	if c.key >= 0 {
		key = bytesAt(b.Column(c.key))
	}
	var topicCol *array.String
	if s.o.Topic == "" {
		topicCol = b.Column(c.topic).(*array.String)
	}
	var part func(int) (int32, bool)
	if c.partition >= 0 {
		switch a := b.Column(c.partition).(type) {
		case *array.Int32:
			part = func(i int) (int32, bool) { return a.Value(i), a.IsValid(i) }
		case *array.Int64:
			part = func(i int) (int32, bool) { return int32(a.Value(i)), a.IsValid(i) }
		}
	}
	var hdrs *array.List
	if c.headers >= 0 {
		hdrs = b.Column(c.headers).(*array.List)
	}
	for i := range recs {
		r := &recs[i]
		r.Value = val(i)
		if key != nil {
			r.Key = key(i)
		}
		if topicCol != nil {
			if topicCol.IsNull(i) {
				return nil, fmt.Errorf("%w: kafka sink: row %d has a NULL topic; set the sink option topic or fill the topic column", sinks.ErrSink, i)
			}
			r.Topic = topicCol.Value(i)
		} else {
			r.Topic = s.o.Topic
		}
		r.Partition = -1
		if part != nil {
			if p, ok := part(i); ok {
				if p < 0 {
					return nil, fmt.Errorf("%w: kafka sink: row %d has negative partition %d", sinks.ErrSink, i, p)
				}
				r.Partition = p
			}
		}
		if hdrs != nil && hdrs.IsValid(i) {
			st := hdrs.ListValues().(*array.Struct)
			hk := st.Field(0).(*array.String)
			hv := bytesAt(st.Field(1))
			lo, hi := hdrs.ValueOffsets(i)
			for j := lo; j < hi; j++ {
				if !st.IsValid(int(j)) {
					continue
				}
				r.Headers = append(r.Headers, kgo.RecordHeader{Key: hk.Value(int(j)), Value: hv(int(j))})
			}
		}
	}
	return recs, nil
}

// bytesAt reads a string or binary column without copying; NULL is nil
// and an empty value is empty, not nil.
func bytesAt(a arrow.Array) func(int) []byte {
	nonNil := func(b []byte) []byte {
		if b == nil {
			return empty
		}
		return b
	}
	switch a := a.(type) {
	case *array.Binary:
		return func(i int) []byte {
			if a.IsNull(i) {
				return nil
			}
			return nonNil(a.Value(i))
		}
	case *array.LargeBinary:
		return func(i int) []byte {
			if a.IsNull(i) {
				return nil
			}
			return nonNil(a.Value(i))
		}
	case *array.String:
		data, offs := a.ValueBytes(), a.ValueOffsets()
		base := offs[0]
		return func(i int) []byte {
			if a.IsNull(i) {
				return nil
			}
			lo, hi := offs[i]-base, offs[i+1]-base
			return nonNil(data[lo:hi:hi])
		}
	case *array.LargeString:
		data, offs := a.ValueBytes(), a.ValueOffsets()
		base := offs[0]
		return func(i int) []byte {
			if a.IsNull(i) {
				return nil
			}
			lo, hi := offs[i]-base, offs[i+1]-base
			return nonNil(data[lo:hi:hi])
		}
	}
	return func(int) []byte { return nil }
}

var empty = []byte{}

// partitioner honours an explicit partition (>= 0), hashes keys like
// Kafka's default partitioner (murmur2), and spreads key-less records
// round-robin.
type partitioner struct{}

func (partitioner) ForTopic(t string) kgo.TopicPartitioner {
	return &topicPartitioner{keyed: kgo.StickyKeyPartitioner(nil).ForTopic(t)}
}

type topicPartitioner struct {
	keyed kgo.TopicPartitioner
	next  int
}

func (p *topicPartitioner) RequiresConsistency(r *kgo.Record) bool {
	return r.Partition >= 0 || r.Key != nil
}

func (p *topicPartitioner) Partition(r *kgo.Record, n int) int {
	switch {
	case r.Partition >= 0:
		return int(r.Partition)
	case r.Key != nil:
		return p.keyed.Partition(r, n)
	}
	p.next++
	return p.next % n
}
