package exec

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Grouper maps key tuples to dense group ids (see internal/hashtab).
type Grouper interface {
	Insert(cols []arrow.Array, gids []uint32) error
	Len() int
	Keys(mem memory.Allocator, sel []uint32) ([]arrow.Array, error)
	Release()
}
