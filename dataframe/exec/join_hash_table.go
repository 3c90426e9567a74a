package exec

import (
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/hashtab"
)

// keyTable is the part of hashtab.Grouper the join and dedup use.
type keyTable interface {
	Insert(cols []arrow.Array, gids []uint32) error
	Lookup(cols []arrow.Array, gids []uint32) error
	Len() int
	Reserve(n int)
	Release()
}

func newKeyTable(keyTypes []arrow.DataType, mem memory.Allocator) (keyTable, error) {
	g, err := hashtab.New(keyTypes, mem)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot hash keys: %w", ErrExec, err)
	}
	return g, nil
}

// sharedLookup serialises Lookup on a table shared by concurrent probe
// partitions: a Grouper keeps per-call scratch and is used by one goroutine
// at a time. A probe holds the lock for one batch's lookup only; key
// evaluation, chain walks and gathers run in parallel.
type sharedLookup struct {
	mu sync.Mutex
	t  keyTable
}

func (s *sharedLookup) Lookup(cols []arrow.Array, gids []uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.t.Lookup(cols, gids)
}
