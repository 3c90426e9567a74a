package exec

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// keyTable assigns dense group ids to key tuples. Lookup must be safe for
// concurrent use once inserts are done: probe partitions share one table.
type keyTable interface {
	Insert(cols []arrow.Array, gids []uint32) error
	Lookup(cols []arrow.Array, gids []uint32) error
	Len() int
	Release()
}

// newKeyTable is a stop-gap until internal/hashtab lands: a Go map over
// rendered keys. Correct, slow; replaced by the vectorised grouper.
var newKeyTable = func(keyTypes []arrow.DataType, mem memory.Allocator) (keyTable, error) {
	return &mapKeyTable{ids: map[string]uint32{}}, nil
}

type mapKeyTable struct {
	ids map[string]uint32
}

func rowKey(cols []arrow.Array, i int) string {
	var b strings.Builder
	for _, c := range cols {
		v := expr.ValueAt(c, i)
		fmt.Fprintf(&b, "%T:%v|", v, v)
	}
	return b.String()
}

func (t *mapKeyTable) Insert(cols []arrow.Array, gids []uint32) error {
	for i := range gids {
		k := rowKey(cols, i)
		g, ok := t.ids[k]
		if !ok {
			g = uint32(len(t.ids))
			t.ids[k] = g
		}
		gids[i] = g
	}
	return nil
}

func (t *mapKeyTable) Lookup(cols []arrow.Array, gids []uint32) error {
	for i := range gids {
		g, ok := t.ids[rowKey(cols, i)]
		if !ok {
			g = expr.NoGroup
		}
		gids[i] = g
	}
	return nil
}

func (t *mapKeyTable) Len() int { return len(t.ids) }
func (t *mapKeyTable) Release() {}
