package memory

import (
	"context"

	"github.com/sluicehq/sluice/sources"
)

var _ sources.Backlogger = (*Stream)(nil)

// Backlog counts the rows of the additions in (start, end] and of those
// after end not yet read (up to the AvailableNow snapshot once prepared).
func (s *Stream) Backlog(ctx context.Context, start, end sources.Offset) (sources.Backlog, error) {
	from, err := parse(start)
	if err != nil {
		return sources.Backlog{}, err
	}
	to, err := parse(end)
	if err != nil {
		return sources.Backlog{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	last := s.base + int64(len(s.adds)) - 1
	if s.availableEnd > -2 {
		last = min(last, s.availableEnd)
	}
	b := sources.Backlog{Unit: "rows"}
	for o := max(from+1, s.base); o <= last; o++ {
		if o <= to {
			b.Processed += s.adds[o-s.base].rows
		} else {
			b.Remaining += s.adds[o-s.base].rows
		}
	}
	return b, nil
}
