package kafka

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/sources"
)

// fetchRange is one partition's part of a batch: offsets [from, until).
type fetchRange struct {
	p           tp
	from, until int64
	cur         int64     // next offset to fetch
	stuckSince  time.Time // first fetch that made no progress
	done        bool
}

// batchRows is the row count after which the reader hands out a batch.
const batchRows = 1 << 16

// reader fetches the ranges round by round: each round asks every
// partition's leader once for all unfinished partitions it leads, and the
// rows of a round are appended in sorted partition order, so a replay of
// the same log yields the same rows in the same order.
type reader struct {
	refs   atomic.Int64
	s      *Source
	ctx    context.Context
	ranges []*fetchRange
	bb     *batchBuilder
	cur    arrow.RecordBatch
	err    error
	dec    kgo.Decompressor
}

func (s *Source) newReader(ctx context.Context, ranges []*fetchRange) (*reader, error) {
	bb, err := newBatchBuilder(s.schema, s.newValues, s.mem)
	if err != nil {
		return nil, err
	}
	r := &reader{s: s, ctx: ctx, ranges: ranges, bb: bb, dec: kgo.DefaultDecompressor()}
	r.refs.Store(1)
	return r, nil
}

func (r *reader) Retain() { r.refs.Add(1) }

func (r *reader) Release() {
	if r.refs.Add(-1) == 0 {
		if r.cur != nil {
			r.cur.Release()
			r.cur = nil
		}
		r.bb.release()
	}
}

func (r *reader) Schema() *arrow.Schema          { return r.s.schema }
func (r *reader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is the deprecated name of RecordBatch.
func (r *reader) Record() arrow.RecordBatch { return r.cur }
func (r *reader) Err() error                { return r.err }

func (r *reader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.err != nil {
		return false
	}
	for r.bb.n < batchRows && r.pending() {
		if err := r.round(); err != nil {
			r.err = err
			return false
		}
	}
	b, err := r.bb.finish()
	if err != nil {
		r.err = err
		return false
	}
	if b == nil {
		return false
	}
	r.cur = b
	return true
}

func (r *reader) pending() bool {
	for _, f := range r.ranges {
		if !f.done {
			return true
		}
	}
	return false
}

// leaderOf returns the partition's leader (-1: none right now) and topic
// id from metadata, refreshing it once if the partition is unknown;
// exists is false if the partition is not in Kafka at all.
func (r *reader) leaderOf(p tp) (leader int32, id [16]byte, exists bool, err error) {
	s := r.s
	for attempt := 0; attempt < 2; attempt++ {
		s.mu.Lock()
		td, ok := s.meta[p.topic]
		s.mu.Unlock()
		if ok {
			if pd, ok := td.Partitions[p.part]; ok && (pd.Leader >= 0 || attempt == 1) {
				return pd.Leader, td.ID, true, nil
			}
		}
		if attempt == 0 {
			if err := r.refreshMeta(p.topic); err != nil {
				return 0, [16]byte{}, false, err
			}
		}
	}
	return -1, [16]byte{}, false, nil
}

func (r *reader) refreshMeta(topics ...string) error {
	s := r.s
	tds, err := s.adm.ListTopics(r.ctx, topics...)
	if err != nil {
		return fmt.Errorf("%w: kafka source: metadata for %v: %w", sources.ErrSource, topics, err)
	}
	s.mu.Lock()
	if s.meta == nil {
		s.meta = kadm.TopicDetails{}
	}
	for t, d := range tds {
		if d.Err == nil {
			s.meta[t] = d
		} else {
			delete(s.meta, t)
		}
	}
	s.mu.Unlock()
	return nil
}

// round sends one fetch per leader and appends what came back.
func (r *reader) round() error {
	byLeader := map[int32][]*fetchRange{}
	ids := map[string][16]byte{}
	for _, f := range r.ranges {
		if f.done {
			continue
		}
		leader, id, exists, err := r.leaderOf(f.p)
		if err != nil {
			return err
		}
		if !exists {
			if err := r.s.dataLoss("%s is gone (topic deleted?); offsets %d..%d cannot be read", f.p, f.cur, f.until-1); err != nil {
				return err
			}
			f.done = true
			continue
		}
		if leader < 0 {
			if err := r.noProgress(f, "the partition has no leader or no longer exists"); err != nil {
				return err
			}
			continue
		}
		byLeader[leader] = append(byLeader[leader], f)
		ids[f.p.topic] = id
	}
	leaders := make([]int32, 0, len(byLeader))
	for l := range byLeader {
		leaders = append(leaders, l)
	}
	sort.Slice(leaders, func(i, j int) bool { return leaders[i] < leaders[j] })
	if len(leaders) == 0 {
		return sleepCtx(r.ctx, 100*time.Millisecond)
	}
	for _, l := range leaders {
		if err := r.fetch(l, byLeader[l], ids); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) fetch(leader int32, fs []*fetchRange, ids map[string][16]byte) error {
	s := r.s
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = -1
	req.MaxWaitMillis = 500
	req.MinBytes = 1
	req.MaxBytes = s.r.fetchMax
	req.SessionEpoch = -1
	if s.r.readCommitted {
		req.IsolationLevel = 1
	}
	byTopic := map[string]int{}
	for _, f := range fs {
		i, ok := byTopic[f.p.topic]
		if !ok {
			t := kmsg.NewFetchRequestTopic()
			t.Topic = f.p.topic
			t.TopicID = ids[f.p.topic]
			req.Topics = append(req.Topics, t)
			i = len(req.Topics) - 1
			byTopic[f.p.topic] = i
		}
		p := kmsg.NewFetchRequestTopicPartition()
		p.Partition = f.p.part
		p.FetchOffset = f.cur
		p.CurrentLeaderEpoch = -1
		p.LogStartOffset = -1
		p.PartitionMaxBytes = s.r.partMax
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, p)
	}
	kresp, err := s.cl.Broker(int(leader)).RetriableRequest(r.ctx, req)
	if err != nil {
		return fmt.Errorf("%w: kafka source: fetch from broker %d: %w", sources.ErrSource, leader, err)
	}
	resp := kresp.(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 {
		return fmt.Errorf("%w: kafka source: fetch from broker %d: %w", sources.ErrSource, leader, kerr.ErrorForCode(resp.ErrorCode))
	}
	// Index the answer by partition; topics come back by name or by id.
	idTopic := map[[16]byte]string{}
	for t, id := range ids {
		idTopic[id] = t
	}
	got := map[tp]*kmsg.FetchResponseTopicPartition{}
	for i := range resp.Topics {
		rt := &resp.Topics[i]
		name := rt.Topic
		if name == "" {
			name = idTopic[rt.TopicID]
		}
		for j := range rt.Partitions {
			got[tp{name, rt.Partitions[j].Partition}] = &rt.Partitions[j]
		}
	}
	iso := kgo.ReadUncommitted()
	if s.r.readCommitted {
		iso = kgo.ReadCommitted()
	}
	for _, f := range fs {
		rp := got[f.p]
		if rp == nil {
			if err := r.noProgress(f, "the broker did not answer for it"); err != nil {
				return err
			}
			continue
		}
		if rp.ErrorCode != 0 {
			if err := r.partitionError(f, rp); err != nil {
				return err
			}
			continue
		}
		next, err := r.bb.appendRaw(f.p.topic, f.p.part, rp, f.cur, f.until, s.r.readCommitted, r.dec)
		if errors.Is(err, errOldFormat) {
			// Pre-0.11 message sets: franz-go's parser.
			fp, n := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{
				Offset:         f.cur,
				IsolationLevel: iso,
				Topic:          f.p.topic,
				Partition:      f.p.part,
			}, rp, r.dec, nil)
			if fp.Err != nil && len(fp.Records) == 0 {
				return fmt.Errorf("%w: kafka source: %s at offset %d: %w", sources.ErrSource, f.p, f.cur, fp.Err)
			}
			next, err = n, r.bb.add(fp.Records, f.until)
		}
		if err != nil {
			return err
		}
		if next <= f.cur {
			if err := r.noProgress(f, fmt.Sprintf("no records past offset %d; the partition's end is %d (last stable %d)", f.cur, rp.HighWatermark, rp.LastStableOffset)); err != nil {
				return err
			}
			continue
		}
		f.cur, f.stuckSince = next, time.Time{}
		if f.cur >= f.until {
			f.done = true
		}
	}
	return nil
}

// partitionError handles a partition's fetch error: moved leaders and
// unknown topics refresh metadata and retry; offsets out of range are data
// loss (or a skipped gap).
func (r *reader) partitionError(f *fetchRange, rp *kmsg.FetchResponseTopicPartition) error {
	err := kerr.ErrorForCode(rp.ErrorCode)
	switch {
	case errors.Is(err, kerr.OffsetOutOfRange):
		start := rp.LogStartOffset
		if start < 0 {
			e, lerr := r.s.earliest(r.ctx, []tp{f.p})
			if lerr != nil {
				return lerr
			}
			start = e[f.p]
		}
		if f.cur < start {
			to := min(start, f.until)
			if derr := r.s.dataLoss("%s: offsets %d..%d were deleted (the log now starts at %d)", f.p, f.cur, to-1, start); derr != nil {
				return derr
			}
			f.cur = to
			f.done = f.cur >= f.until
			return nil
		}
		if derr := r.s.dataLoss("%s: offsets %d..%d are past the partition's end %d (topic recreated?)", f.p, f.cur, f.until-1, rp.HighWatermark); derr != nil {
			return derr
		}
		f.done = true
		return nil
	case errors.Is(err, kerr.NotLeaderForPartition), errors.Is(err, kerr.LeaderNotAvailable),
		errors.Is(err, kerr.UnknownTopicOrPartition), errors.Is(err, kerr.UnknownTopicID),
		errors.Is(err, kerr.FencedLeaderEpoch), errors.Is(err, kerr.UnknownLeaderEpoch),
		errors.Is(err, kerr.KafkaStorageError), errors.Is(err, kerr.OffsetNotAvailable),
		errors.Is(err, kerr.ReplicaNotAvailable):
		if merr := r.refreshMeta(f.p.topic); merr != nil {
			return merr
		}
		return r.noProgress(f, err.Error())
	}
	return fmt.Errorf("%w: kafka source: fetch %s at offset %d: %w", sources.ErrSource, f.p, f.cur, err)
}

// noProgress gives up on a partition that has not moved for pollTimeout.
func (r *reader) noProgress(f *fetchRange, why string) error {
	now := wallNow()
	if f.stuckSince.IsZero() {
		f.stuckSince = now
	} else if now.Sub(f.stuckSince) > r.s.r.pollTimeout {
		return fmt.Errorf("%w: kafka source: %s: waited %s for offsets %d..%d: %s. Raise kafkaConsumer.pollTimeoutMs if the cluster is slow",
			sources.ErrSource, f.p, r.s.r.pollTimeout, f.cur, f.until-1, why)
	}
	return sleepCtx(r.ctx, 20*time.Millisecond)
}

// wallNow times network waits (pollTimeout); engine time (trigger delays)
// goes through Options.Clock instead.
var wallNow = time.Now

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

var _ array.RecordReader = (*reader)(nil)
