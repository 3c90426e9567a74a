package agg

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

var countFunc = &expr.AggFunction{
	Name:    "count",
	MinArgs: 0, MaxArgs: -1,
	Usage: "count(*) | count(expr[, expr...]) | count(DISTINCT expr[, expr...])",
}

var countIfFunc = &expr.AggFunction{
	Name:    "count_if",
	MinArgs: 1, MaxArgs: 1,
	Usage: "count_if(boolean_expr)",
}

func init() {
	countFunc.Bind = bindCount
	countIfFunc.Bind = bindCountIf
}

var countState = []arrow.Field{{Name: "count", Type: expr.Int64}}

// bindCount: count(*) has no arguments and counts rows; count(a, b) counts
// rows where every argument is non-NULL; count(DISTINCT a, b) counts the
// distinct non-NULL tuples.
func bindCount(args []expr.Arg, distinct bool) (*expr.AggBinding, error) {
	types, cast := prepare(args)
	nargs := len(args)
	b := &expr.AggBinding{
		Type:  expr.Int64,
		Cast:  cast,
		State: countState,
		New: func(mem memory.Allocator) expr.Accumulator {
			return &countAcc{counter: newCounter("count", mem), nargs: nargs}
		},
	}
	if distinct && nargs > 0 {
		return withDistinct(countFunc.Name, types, b)
	}
	return b, nil
}

func bindCountIf(args []expr.Arg, distinct bool) (*expr.AggBinding, error) {
	if err := checkArity(countIfFunc, args); err != nil {
		return nil, err
	}
	var cast []arrow.DataType
	switch args[0].Type.ID() {
	case arrow.BOOL:
	case arrow.NULL:
		cast = []arrow.DataType{expr.Boolean}
	default:
		return nil, argTypeErr("count_if", 0, "a boolean", args[0].Type)
	}
	b := &expr.AggBinding{
		Type:  expr.Int64,
		Cast:  cast,
		State: countState,
		New: func(mem memory.Allocator) expr.Accumulator {
			return &countIfAcc{counter: newCounter("count_if", mem)}
		},
	}
	if distinct {
		return withDistinct(countIfFunc.Name, []arrow.DataType{expr.Boolean}, b)
	}
	return b, nil
}

// counter is the bigint-per-group state shared by count and count_if.
type counter struct {
	name   string
	counts vec[int64]
}

func newCounter(name string, mem memory.Allocator) counter {
	return counter{name: name, counts: newVec[int64](mem)}
}

func (c *counter) Resize(n int) {
	if n > c.counts.len() {
		c.counts.resize(n)
	}
}

func (c *counter) MergeState(state []arrow.Array, gids []uint32) error {
	if err := checkState(c.name, state, countState, gids); err != nil {
		return err
	}
	vals := fixedValues[int64](state[0])
	bm, off := nullBits(state[0])
	counts := c.counts.s
	for i, g := range gids {
		if g == expr.NoGroup || (bm != nil && !bitSet(bm, off+i)) {
			continue
		}
		counts[g] += vals[i]
	}
	return nil
}

func (c *counter) State(mem memory.Allocator, n int, sel []uint32) ([]arrow.Array, error) {
	r, err := c.Result(mem, n, sel)
	if err != nil {
		return nil, err
	}
	return []arrow.Array{r}, nil
}

func (c *counter) Result(mem memory.Allocator, n int, sel []uint32) (arrow.Array, error) {
	if err := checkEmit(c.name, n, c.counts.len(), sel); err != nil {
		return nil, err
	}
	return emitFixed(mem, expr.Int64, c.counts.s, nil, n, sel), nil
}

func (c *counter) Reset()   { clear(c.counts.s) }
func (c *counter) Release() { c.counts.release() }

// countAll adds one per row: count(*) and arguments without NULLs.
func countAll(counts []int64, gids []uint32) {
	for _, g := range gids {
		if g != expr.NoGroup {
			counts[g]++
		}
	}
}

type countAcc struct {
	counter
	nargs int
	mask  []uint8
}

func (c *countAcc) Update(args []arrow.Array, gids []uint32) error {
	if err := checkArgs(c.name, args, c.nargs, gids); err != nil {
		return err
	}
	counts := c.counts.s
	nullable := 0
	for _, a := range args {
		if bm, _ := nullBits(a); bm != nil {
			nullable++
		}
	}
	if nullable == 0 {
		countAll(counts, gids)
		return nil
	}
	if len(args) == 1 {
		bm, off := nullBits(args[0])
		for i, g := range gids {
			if g != expr.NoGroup && bitSet(bm, off+i) {
				counts[g]++
			}
		}
		return nil
	}
	mask := allValid(args, len(gids), c.mask)
	c.mask = mask
	for i, g := range gids {
		if g != expr.NoGroup {
			counts[g] += int64(mask[i])
		}
	}
	return nil
}

// allValid returns one byte per row: 1 when every column is non-NULL.
func allValid(args []arrow.Array, n int, scratch []uint8) []uint8 {
	mask := scratch[:0]
	if cap(mask) < n {
		mask = make([]uint8, n)
	}
	mask = mask[:n]
	for i := range mask {
		mask[i] = 1
	}
	for _, a := range args {
		bm, off := nullBits(a)
		if bm == nil {
			continue
		}
		for i := range mask {
			mask[i] &= (bm[(off+i)>>3] >> (uint(off+i) & 7)) & 1
		}
	}
	return mask
}

// countIfAcc counts rows whose boolean argument is true.
type countIfAcc struct {
	counter
	vals []uint8
}

func (c *countIfAcc) Update(args []arrow.Array, gids []uint32) error {
	if err := checkArgs(c.name, args, 1, gids); err != nil {
		return err
	}
	c.vals = boolBytes(args[0], c.vals)
	vals := c.vals
	if bm, off := nullBits(args[0]); bm != nil {
		for i := range vals {
			vals[i] &= (bm[(off+i)>>3] >> (uint(off+i) & 7)) & 1
		}
	}
	counts := c.counts.s
	for i, g := range gids {
		if g != expr.NoGroup {
			counts[g] += int64(vals[i])
		}
	}
	return nil
}
