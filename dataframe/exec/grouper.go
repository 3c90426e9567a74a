package exec

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/hashtab"
)

// Grouper maps key tuples to dense group ids (see internal/hashtab).
type Grouper interface {
	Insert(cols []arrow.Array, gids []uint32) error
	Len() int
	Keys(mem memory.Allocator, sel []uint32) ([]arrow.Array, error)
	Release()
}

// NewGrouper makes the hash table for the key types.
func NewGrouper(keyTypes []arrow.DataType, mem memory.Allocator) (Grouper, error) {
	return hashtab.New(keyTypes, mem)
}

// HashColumns hashes rows of key columns (exchange partitioning).
func HashColumns(cols []arrow.Array, out []uint64) error { return hashtab.HashColumns(cols, out) }
