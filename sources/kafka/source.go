// Package kafka is the Kafka source: a replayable stream of Kafka records
// whose offsets live in the query's offset log (like Spark, not in a
// consumer group), with Spark's option names and schema.
//
// A batch (start, end] is read partition by partition with direct fetch
// requests from exactly the logged offsets, so a replay after a crash reads
// the same records. With read_committed (the default) records of aborted
// transactions and transaction markers are skipped; end offsets may point
// past such records, and the reader knows it reached them from the fetch
// positions, never by waiting.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/sources"
	"github.com/sluicehq/sluice/trigger"
)

// ErrDataLoss marks offsets a query needs that Kafka no longer has
// (retention, deleted or recreated topics) with failOnDataLoss=true.
var ErrDataLoss = fmt.Errorf("%w: kafka: data loss", sources.ErrSource)

// Source reads Kafka. Create it with New; Close it when done.
type Source struct {
	o      Options
	r      *resolved
	schema *arrow.Schema
	mem    memory.Allocator
	log    *slog.Logger
	clock  trigger.Clock

	mu  sync.Mutex
	cl  *kgo.Client
	adm *kadm.Client
	// meta is the last metadata: topic -> details (id, partition leaders).
	meta kadm.TopicDetails

	availableNow  offsets // set by PrepareForAvailableNow
	lastTriggerMs int64
	// seenLatest and seenBegin are the last LatestOffset's latest offsets
	// (capped at the snapshot) and partition starts, for Backlog.
	seenLatest, seenBegin offsets
	// newValues makes a reader's value decoder (nil: binary values).
	newValues func(memory.Allocator) (valueDecoder, error)
}

// New validates o and makes the source. It connects to Kafka lazily, on
// first use; with valueFormat avro and a schema registry it reads the
// reader schema (the subject's latest) from the registry now.
func New(o Options) (*Source, error) {
	r, err := o.resolve()
	if err != nil {
		return nil, err
	}
	s := &Source{o: o, r: r, mem: o.Mem, log: o.Logger, clock: o.Clock}
	if s.mem == nil {
		s.mem = memory.DefaultAllocator
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.clock == nil {
		s.clock = trigger.System
	}
	if s.newValues, err = s.setupValues(); err != nil {
		return nil, err
	}
	s.schema = NewSchema(r.valueSchema, o.IncludeHeaders)
	return s, nil
}

func (s *Source) client() (*kgo.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl != nil {
		return s.cl, nil
	}
	// New partitions and topics are listed right after they appear; the
	// default 5 s floor between metadata refreshes would delay them.
	opts := append(s.r.conf.Opts(s.log), kgo.MetadataMinAge(200*time.Millisecond))
	opts = append(opts, s.o.ClientOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: kafka source: connect to %s: %w", sources.ErrSource, s.o.BootstrapServers, err)
	}
	s.cl, s.adm = cl, kadm.NewClient(cl)
	return cl, nil
}

// Schema is fixed by valueFormat/valueSchema and includeHeaders.
func (s *Source) Schema() *arrow.Schema { return s.schema }

// Description is Spark's: KafkaV2[Subscribe[a,b]], KafkaV2[SubscribePattern[x.*]],
// KafkaV2[Assign[t-0, t-1]]. It never shows credentials.
func (s *Source) Description() string {
	switch {
	case s.r.pattern != nil:
		return "KafkaV2[SubscribePattern[" + s.o.SubscribePattern + "]]"
	case s.r.assign != nil:
		ps := make([]string, len(s.r.assign))
		for i, p := range s.r.assign {
			ps[i] = p.String()
		}
		return "KafkaV2[Assign[" + strings.Join(ps, ", ") + "]]"
	}
	return "KafkaV2[Subscribe[" + strings.Join(s.r.topics, ",") + "]]"
}

// Close releases the connection.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl != nil {
		s.cl.Close()
		s.cl, s.adm = nil, nil
	}
	return nil
}

// Commit is a no-op: the offsets live in the checkpoint.
func (s *Source) Commit(ctx context.Context, end sources.Offset) error { return nil }

// DefaultReadLimit is maxOffsetsPerTrigger.
func (s *Source) DefaultReadLimit() sources.ReadLimit {
	return sources.ReadLimit{MaxRows: s.o.MaxOffsetsPerTrigger}
}

// RowsBetween counts offsets between start and end; with transactions
// the markers and aborted records count too, so it is an upper bound.
func (s *Source) RowsBetween(start, end sources.Offset) (int64, bool) {
	a, err := decodeOffsets(start)
	if err != nil {
		return 0, false
	}
	b, err := decodeOffsets(end)
	if err != nil {
		return 0, false
	}
	var n int64
	for p, e := range b {
		if f, ok := a[p]; ok && e > f {
			n += e - f
		} else if !ok && len(start) > 0 {
			return 0, false // a new partition: its start is not known here
		} else if !ok {
			return 0, false
		}
	}
	return n, true
}

// PrepareForAvailableNow fixes the latest offsets now; later LatestOffset
// calls never move past them (partitions that appear later are not read).
func (s *Source) PrepareForAvailableNow(ctx context.Context) error {
	parts, err := s.partitions(ctx)
	if err != nil {
		return err
	}
	latest, err := s.latest(ctx, parts)
	if err != nil {
		return err
	}
	s.availableNow = latest
	return nil
}

// InitialOffset resolves startingOffsets (default latest) to numbers, so
// the first batch's start is logged and a restart keeps it.
func (s *Source) InitialOffset(ctx context.Context) (sources.Offset, error) {
	spec := s.r.starting
	if spec.kind == "" {
		spec.kind = "latest"
	}
	parts, err := s.partitions(ctx)
	if err != nil {
		return nil, err
	}
	o, err := s.resolveSpec(ctx, "startingOffsets", spec, parts)
	if err != nil {
		return nil, err
	}
	return o.encode(), nil
}

// partitions lists the partitions the source reads now, sorted.
func (s *Source) partitions(ctx context.Context) ([]tp, error) {
	if _, err := s.client(); err != nil {
		return nil, err
	}
	var topics []string
	switch {
	case s.r.pattern != nil:
	case s.r.assign != nil:
		seen := map[string]bool{}
		for _, p := range s.r.assign {
			if !seen[p.topic] {
				seen[p.topic] = true
				topics = append(topics, p.topic)
			}
		}
	default:
		topics = s.r.topics
	}
	tds, err := s.adm.ListTopics(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("%w: kafka source %s: list topics at %s: %w", sources.ErrSource, s.Description(), s.o.BootstrapServers, err)
	}
	s.mu.Lock()
	if s.meta == nil {
		s.meta = kadm.TopicDetails{}
	}
	for t, d := range tds {
		if d.Err == nil {
			s.meta[t] = d
		}
	}
	s.mu.Unlock()
	var out []tp
	for t, d := range tds {
		if d.Err != nil {
			if errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
				continue // not created yet
			}
			return nil, fmt.Errorf("%w: kafka source: topic %q: %w", sources.ErrSource, t, d.Err)
		}
		if s.r.pattern != nil && (d.IsInternal || !s.r.pattern.MatchString(t)) {
			continue
		}
		for p := range d.Partitions {
			out = append(out, tp{t, p})
		}
	}
	if s.r.assign != nil {
		have := map[tp]bool{}
		for _, p := range out {
			have[p] = true
		}
		out = out[:0]
		for _, p := range s.r.assign {
			if have[p] {
				out = append(out, p)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return tpLess(out[i], out[j]) })
	return out, nil
}

func topicsOf(parts []tp) []string {
	var ts []string
	for i, p := range parts {
		if i == 0 || p.topic != parts[i-1].topic {
			ts = append(ts, p.topic)
		}
	}
	return ts
}

// listed turns a kadm listing into offsets for parts.
func (s *Source) listed(what string, l kadm.ListedOffsets, err error, parts []tp) (offsets, error) {
	gone := false
	if se, ok := errors.AsType[*kadm.ShardErrors](err); ok && onlyUnknownTopics(se) {
		// Topics deleted since they were listed: their partitions are
		// missing below, which callers treat as gone.
		err, gone = nil, true
	}
	if err != nil {
		return nil, fmt.Errorf("%w: kafka source %s: list %s offsets: %w", sources.ErrSource, s.Description(), what, err)
	}
	out := make(offsets, len(parts))
	for _, p := range parts {
		lo, ok := l.Lookup(p.topic, p.part)
		if !ok {
			if _, unknown := l.Lookup(p.topic, -1); unknown || gone {
				continue // the topic is unknown: deleted meanwhile
			}
			return nil, fmt.Errorf("%w: kafka source: list %s offsets: no answer for %s", sources.ErrSource, what, p)
		}
		if errors.Is(lo.Err, kerr.UnknownTopicOrPartition) {
			continue // deleted meanwhile: callers treat a missing partition as gone
		}
		if lo.Err != nil {
			return nil, fmt.Errorf("%w: kafka source: list %s offsets of %s: %w", sources.ErrSource, what, p, lo.Err)
		}
		out[p] = lo.Offset
	}
	return out, nil
}

func onlyUnknownTopics(se *kadm.ShardErrors) bool {
	for _, e := range se.Errs {
		if !errors.Is(e.Err, kerr.UnknownTopicOrPartition) {
			return false
		}
	}
	return len(se.Errs) > 0
}

// latest lists end offsets: the last stable offset with read_committed
// (open transactions are not read), the high watermark otherwise.
func (s *Source) latest(ctx context.Context, parts []tp) (offsets, error) {
	if len(parts) == 0 {
		return offsets{}, nil
	}
	if _, err := s.client(); err != nil {
		return nil, err
	}
	if s.r.readCommitted {
		l, err := s.adm.ListCommittedOffsets(ctx, topicsOf(parts)...)
		return s.listed("latest", l, err, parts)
	}
	l, err := s.adm.ListEndOffsets(ctx, topicsOf(parts)...)
	return s.listed("latest", l, err, parts)
}

func (s *Source) earliest(ctx context.Context, parts []tp) (offsets, error) {
	if len(parts) == 0 {
		return offsets{}, nil
	}
	if _, err := s.client(); err != nil {
		return nil, err
	}
	l, err := s.adm.ListStartOffsets(ctx, topicsOf(parts)...)
	return s.listed("earliest", l, err, parts)
}

// byTime finds the first offset at or after ts per partition; where none
// is, strategy "error" fails and "latest" takes the end offset.
func (s *Source) byTime(ctx context.Context, name string, ts map[tp]int64, strategy string) (offsets, error) {
	groups := map[int64][]tp{}
	for p, t := range ts {
		groups[t] = append(groups[t], p)
	}
	out := offsets{}
	for t, parts := range groups {
		sort.Slice(parts, func(i, j int) bool { return tpLess(parts[i], parts[j]) })
		l, err := s.adm.ListOffsetsAfterMilli(ctx, t, topicsOf(parts)...)
		if err != nil {
			return nil, fmt.Errorf("%w: kafka source: %s: list offsets by timestamp %d: %w", sources.ErrSource, name, t, err)
		}
		for _, p := range parts {
			lo, ok := l.Lookup(p.topic, p.part)
			if !ok || lo.Err != nil {
				return nil, fmt.Errorf("%w: kafka source: %s: no offset for %s at timestamp %d: %v", sources.ErrSource, name, p, t, lo.Err)
			}
			if lo.Timestamp < 0 && strategy == "error" {
				return nil, fmt.Errorf("%w: kafka source: %s: %s has no record at or after timestamp %d; set startingOffsetsByTimestampStrategy to latest to start at the end instead", sources.ErrSource, name, p, t)
			}
			out[p] = lo.Offset
		}
	}
	return out, nil
}

// resolveSpec turns starting/ending options into offsets for parts.
func (s *Source) resolveSpec(ctx context.Context, name string, spec startSpec, parts []tp) (offsets, error) {
	if _, err := s.client(); err != nil {
		return nil, err
	}
	switch spec.kind {
	case "earliest":
		return s.earliest(ctx, parts)
	case "latest":
		return s.latest(ctx, parts)
	case "timestamp":
		m := map[tp]int64{}
		for _, p := range parts {
			m[p] = spec.ts
		}
		return s.byTime(ctx, name, m, spec.strategy)
	}
	given := spec.offsets
	if spec.kind == "timestamps" {
		given = spec.tsByPart
	}
	have := map[tp]bool{}
	for _, p := range parts {
		have[p] = true
	}
	var missing, extra []string
	for _, p := range parts {
		if _, ok := given[p]; !ok {
			missing = append(missing, p.String())
		}
	}
	for _, p := range given.sorted() {
		if !have[p] {
			extra = append(extra, p.String())
		}
	}
	if len(missing) > 0 || len(extra) > 0 {
		msg := fmt.Sprintf("kafka source: %s must name every partition the source reads", name)
		if len(missing) > 0 {
			msg += "; missing: " + strings.Join(missing, ", ")
		}
		if len(extra) > 0 {
			msg += "; not found in Kafka: " + strings.Join(extra, ", ")
		}
		return nil, fmt.Errorf("%w: %s", sources.ErrSource, msg)
	}
	if spec.kind == "timestamps" {
		return s.byTime(ctx, name, given, spec.strategy)
	}
	var early, late []tp
	for p, v := range given {
		switch v {
		case -2:
			early = append(early, p)
		case -1:
			late = append(late, p)
		}
	}
	sort.Slice(early, func(i, j int) bool { return tpLess(early[i], early[j]) })
	sort.Slice(late, func(i, j int) bool { return tpLess(late[i], late[j]) })
	out := given.clone()
	e, err := s.earliest(ctx, early)
	if err != nil {
		return nil, err
	}
	l, err := s.latest(ctx, late)
	if err != nil {
		return nil, err
	}
	for p, v := range e {
		out[p] = v
	}
	for p, v := range l {
		out[p] = v
	}
	return out, nil
}

// dataLoss fails with ErrDataLoss, or logs and returns nil when
// failOnDataLoss is false.
func (s *Source) dataLoss(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if s.r.failOnLoss {
		return fmt.Errorf("%w: %s: %s. Kafka no longer has these offsets: retention deleted them, or the topic was deleted or recreated before the query read them. To skip such gaps (and lose the data) instead of failing, set the source option failOnDataLoss to false", ErrDataLoss, s.Description(), msg)
	}
	s.log.Warn("kafka source: data loss, skipping", "source", s.Description(), "detail", msg)
	return nil
}

// LatestOffset returns the end of the next batch: the latest (stable)
// offsets of every partition, capped by limit.MaxRows split across
// partitions in proportion to their backlog (Spark's rateLimit), by the
// AvailableNow snapshot, and delayed by minOffsetsPerTrigger.
func (s *Source) LatestOffset(ctx context.Context, start sources.Offset, limit sources.ReadLimit) (sources.Offset, error) {
	from, err := decodeOffsets(start)
	if err != nil {
		return nil, err
	}
	parts, err := s.partitions(ctx)
	if err != nil {
		return nil, err
	}
	latest, err := s.latest(ctx, parts)
	if err != nil {
		return nil, err
	}
	s.capAvailableNow(latest)
	// Partitions that went away.
	for _, p := range from.sorted() {
		if _, ok := latest[p]; ok {
			continue
		}
		if s.availableNow != nil {
			if _, ok := s.availableNow[p]; !ok {
				latest[p] = from[p] // not in the snapshot: stay
				continue
			}
		}
		if err := s.dataLoss("partition %s is gone (topic deleted?) at offset %d", p, from[p]); err != nil {
			return nil, err
		}
	}
	// Where each partition starts: its logged offset, or earliest for new ones.
	begin := from.clone()
	var fresh []tp
	for _, p := range parts {
		if _, ok := latest[p]; !ok {
			continue
		}
		if _, ok := begin[p]; !ok {
			fresh = append(fresh, p)
		}
	}
	if len(fresh) > 0 {
		e, err := s.earliest(ctx, fresh)
		if err != nil {
			return nil, err
		}
		for p, v := range e {
			begin[p] = v
		}
	}
	for _, p := range latest.sorted() {
		if b := begin[p]; latest[p] < b {
			if err := s.dataLoss("%s went back from offset %d to %d (topic recreated?)", p, b, latest[p]); err != nil {
				return nil, err
			}
		}
	}
	s.remember(latest, begin)
	next := latest
	if limit.MaxRows > 0 {
		next = rateLimit(limit.MaxRows, begin, latest)
	}
	if s.o.MinOffsetsPerTrigger > 0 && s.availableNow == nil && s.delayBatch(begin, next) {
		return start, nil
	}
	out := next.encode()
	if string(out) == string(start) || (len(next) == 0 && len(start) == 0) {
		return start, nil // nothing new (or nothing to read yet)
	}
	return out, nil
}

// rateLimit is Spark's: each partition gets limit * its share of the
// backlog, rounded down (up below 1, so small partitions are not starved).
func rateLimit(limit int64, begin, until offsets) offsets {
	sizes := map[tp]int64{}
	var total float64
	for p, e := range until {
		if b, ok := begin[p]; ok && e-b > 0 {
			sizes[p] = e - b
			total += float64(e - b)
		}
	}
	if total < 1 {
		return until
	}
	out := make(offsets, len(until))
	for p, e := range until {
		size, ok := sizes[p]
		if !ok {
			out[p] = e
			continue
		}
		b := begin[p]
		prorate := float64(limit) * (float64(size) / total)
		var n int64
		if prorate < 1 {
			n = int64(ceil(prorate))
		} else {
			n = int64(prorate)
		}
		off := b + n
		if n > (1<<63-1)-b {
			off = 1<<63 - 1
		}
		out[p] = min(e, off)
	}
	return out
}

func ceil(f float64) float64 {
	i := float64(int64(f))
	if f > i {
		return i + 1
	}
	return i
}

// delayBatch is Spark's minOffsetsPerTrigger rule: wait while fewer offsets
// than the minimum are waiting and maxTriggerDelay has not passed.
func (s *Source) delayBatch(begin, next offsets) bool {
	delay := s.o.MaxTriggerDelay
	if delay == 0 {
		delay = 15 * time.Minute
	}
	now := s.clock.Now().UnixMilli()
	if now-s.lastTriggerMs >= delay.Milliseconds() {
		s.lastTriggerMs = now
		return false
	}
	var n int64
	for p, e := range next {
		n += e - begin[p]
	}
	if n < s.o.MinOffsetsPerTrigger {
		return true
	}
	s.lastTriggerMs = now
	return false
}

// GetBatch reads the records in (start, end] (offsets start[p] .. end[p]-1
// of every partition in end). Partitions missing from a non-nil start are
// new and start at their earliest offset.
func (s *Source) GetBatch(ctx context.Context, start, end sources.Offset) (array.RecordReader, error) {
	from, err := decodeOffsets(start)
	if err != nil {
		return nil, err
	}
	until, err := decodeOffsets(end)
	if err != nil {
		return nil, err
	}
	if _, err := s.client(); err != nil {
		return nil, err
	}
	var fresh []tp
	for _, p := range until.sorted() {
		if _, ok := from[p]; !ok {
			fresh = append(fresh, p)
		}
	}
	if len(fresh) > 0 {
		e, err := s.earliest(ctx, fresh)
		if err != nil {
			return nil, err
		}
		for _, p := range fresh {
			if len(start) > 0 && e[p] > 0 {
				if err := s.dataLoss("new partition %s starts at offset %d instead of 0", p, e[p]); err != nil {
					return nil, err
				}
			}
			from[p] = e[p]
		}
	}
	var ranges []*fetchRange
	for _, p := range until.sorted() {
		f, u := from[p], until[p]
		if u < f {
			if err := s.dataLoss("%s: batch end offset %d is before its start %d (topic recreated?)", p, u, f); err != nil {
				return nil, err
			}
			continue
		}
		if u > f {
			ranges = append(ranges, &fetchRange{p: p, from: f, until: u, cur: f})
		}
	}
	return s.newReader(ctx, ranges)
}
