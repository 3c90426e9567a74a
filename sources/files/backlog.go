package files

import (
	"context"

	"github.com/sluicehq/sluice/sources"
)

var _ sources.Backlogger = (*Source)(nil)

// Backlog counts the files of the log entries in (start, end] and the
// files left after end: those logged for later batches plus those the last
// listing (LatestOffset) found and left for later, within the AvailableNow
// snapshot once prepared; with their bytes. A process that has not listed
// yet (a replayed batch) knows only the logged ones. Metrics are the
// source's own (numFilesOutstanding, numBytesOutstanding, bad records).
func (s *Source) Backlog(ctx context.Context, start, end sources.Offset) (sources.Backlog, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensureLog(ctx); err != nil {
		return sources.Backlog{}, err
	}
	from, err := s.checkOffset(start)
	if err != nil {
		return sources.Backlog{}, err
	}
	to, err := s.checkOffset(end)
	if err != nil {
		return sources.Backlog{}, err
	}
	b := sources.Backlog{Unit: "files", Metrics: s.Metrics()}
	for id := from + 1; id <= s.log.latest; id++ {
		files, err := s.log.entry(ctx, id)
		if err != nil {
			return sources.Backlog{}, err
		}
		if id <= to {
			b.Processed += int64(len(files))
			continue
		}
		b.Remaining += int64(len(files))
		for _, f := range files {
			b.RemainingBytes += f.Size
		}
	}
	b.Remaining += s.outstandingFiles.Load()
	b.RemainingBytes += s.outstandingBytes.Load()
	return b, nil
}
