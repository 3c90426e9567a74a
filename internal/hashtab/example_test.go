package hashtab_test

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/hashtab"
)

// A hash aggregation: group ids index the accumulators' flat slices, and
// Keys gives the key columns of the result.
func Example() {
	mem := memory.NewGoAllocator()
	b := array.NewStringBuilder(mem)
	b.AppendValues([]string{"view", "click", "view", "", "click"}, []bool{true, true, true, false, true})
	col := b.NewArray()
	b.Release()
	defer col.Release()

	g, err := hashtab.New([]arrow.DataType{arrow.BinaryTypes.String}, mem)
	if err != nil {
		panic(err)
	}
	defer g.Release()
	gids := make([]uint32, col.Len())
	if err := g.Insert([]arrow.Array{col}, gids); err != nil {
		panic(err)
	}
	counts := make([]int, g.Len()) // count(*) per group
	for _, id := range gids {
		counts[id]++
	}
	keys, err := g.Keys(mem, nil)
	if err != nil {
		panic(err)
	}
	defer keys[0].Release()
	fmt.Println(gids, keys[0], counts)
	// Output: [0 1 0 2 1] ["view" "click" (null)] [2 2 1]
}
