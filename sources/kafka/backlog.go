package kafka

import (
	"context"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/sources"
)

var _ sources.Backlogger = (*Source)(nil)

// Backlog counts the offsets of (start, end] and those between end and
// the latest offsets the last LatestOffset saw (capped at the
// AvailableNow snapshot), as Spark's Kafka source does for its metrics:
// no request to Kafka unless this process has not listed offsets yet (a
// replayed batch). Offsets of transaction markers and aborted records
// count too. Metrics are Spark's min/max/avgOffsetsBehindLatest over the
// partitions.
func (s *Source) Backlog(ctx context.Context, start, end sources.Offset) (sources.Backlog, error) {
	from, err := decodeOffsets(start)
	if err != nil {
		return sources.Backlog{}, err
	}
	until, err := decodeOffsets(end)
	if err != nil {
		return sources.Backlog{}, err
	}
	s.mu.Lock()
	latest, begin := s.seenLatest, s.seenBegin
	s.mu.Unlock()
	if latest == nil {
		parts, err := s.partitions(ctx)
		if err != nil {
			return sources.Backlog{}, err
		}
		if latest, err = s.latest(ctx, parts); err != nil {
			return sources.Backlog{}, err
		}
		s.capAvailableNow(latest)
	}
	b := sources.Backlog{Unit: "offsets"}
	for p, e := range until {
		f, ok := from[p]
		if !ok {
			f, ok = begin[p] // a new partition starts at its earliest offset
		}
		if ok && e > f {
			b.Processed += e - f
		}
	}
	var lo, hi, n int64 = -1, 0, 0
	for p, l := range latest {
		at, ok := until[p]
		if !ok {
			if at, ok = begin[p]; !ok {
				continue
			}
		}
		behind := max(l-at, 0)
		b.Remaining += behind
		hi = max(hi, behind)
		if lo < 0 || behind < lo {
			lo = behind
		}
		n++
	}
	if n > 0 {
		avg := strconv.FormatFloat(float64(b.Remaining)/float64(n), 'f', -1, 64)
		if !strings.ContainsAny(avg, ".e") {
			avg += ".0" // a double, as Spark prints it
		}
		b.Metrics = map[string]string{
			"minOffsetsBehindLatest": strconv.FormatInt(lo, 10),
			"maxOffsetsBehindLatest": strconv.FormatInt(hi, 10),
			"avgOffsetsBehindLatest": avg,
		}
	}
	return b, nil
}

// capAvailableNow keeps latest within the AvailableNow snapshot, if any.
func (s *Source) capAvailableNow(latest offsets) {
	if s.availableNow == nil {
		return
	}
	for p, v := range latest {
		c, ok := s.availableNow[p]
		switch {
		case !ok:
			delete(latest, p)
		case v > c:
			latest[p] = c
		}
	}
}

// remember keeps what LatestOffset saw, for Backlog.
func (s *Source) remember(latest, begin offsets) {
	s.mu.Lock()
	s.seenLatest, s.seenBegin = latest.clone(), begin.clone()
	s.mu.Unlock()
}
