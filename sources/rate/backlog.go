package rate

import (
	"context"

	"github.com/sluicehq/sluice/sources"
)

var _ sources.Backlogger = (*Source)(nil)

// Backlog counts the rows of (start, end] and, in rate mode, the rows due
// by now that end leaves behind (a query falling behind its rate). In
// rate-micro-batch mode rows are made per batch, so none are ever behind.
func (s *Source) Backlog(ctx context.Context, start, end sources.Offset) (sources.Backlog, error) {
	a, err := decode(start)
	if err != nil {
		return sources.Backlog{}, err
	}
	b, err := decode(end)
	if err != nil {
		return sources.Backlog{}, err
	}
	bl := sources.Backlog{Unit: "rows", Processed: b.Rows - a.Rows}
	if s.o.RowsPerBatch == 0 {
		due := s.rowsDue(s.o.Clock.Now().UnixMilli() - b.StartMs)
		bl.Remaining = max(due-b.Rows, 0)
	}
	return bl, nil
}
