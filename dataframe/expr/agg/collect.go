package agg

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

var collectListFunc = &expr.AggFunction{
	Name:    "collect_list",
	Aliases: []string{"array_agg"},
	MinArgs: 1, MaxArgs: 1,
	Usage: "collect_list(expr)",
}

var collectSetFunc = &expr.AggFunction{
	Name:    "collect_set",
	MinArgs: 1, MaxArgs: 1,
	Usage: "collect_set(expr)",
}

func init() {
	collectListFunc.Bind = func(args []expr.Arg, distinct bool) (*expr.AggBinding, error) {
		return bindCollect(collectListFunc, args, distinct)
	}
	collectSetFunc.Bind = func(args []expr.Arg, _ bool) (*expr.AggBinding, error) {
		return bindCollect(collectSetFunc, args, true)
	}
}

// bindCollect: collect_list keeps every non-NULL value in arrival order;
// collect_set (or collect_list(DISTINCT x)) keeps each value once per group,
// in order of first arrival. Groups without values get an empty array.
func bindCollect(f *expr.AggFunction, args []expr.Arg, dedup bool) (*expr.AggBinding, error) {
	if err := checkArity(f, args); err != nil {
		return nil, err
	}
	types, cast := prepare(args)
	k, ok := kindOf(types[0])
	if !ok {
		return nil, argTypeErr(f.Name, 0, "a type that can be collected", types[0])
	}
	if dedup && k.phys == physNested && containsMap(types[0]) {
		return nil, argTypeErr(f.Name, 0, "a type that can be compared (not a map)", types[0])
	}
	lt := arrow.ListOf(types[0])
	state := []arrow.Field{{Name: f.Name, Type: lt}}
	name := f.Name
	return &expr.AggBinding{
		Type:  lt,
		Cast:  cast,
		State: state,
		New: func(mem memory.Allocator) expr.Accumulator {
			return &collectAcc{name: name, st: newStore(mem, k, dedup), dt: lt, state: state}
		},
	}, nil
}

func containsMap(dt arrow.DataType) bool {
	switch t := dt.(type) {
	case *arrow.MapType:
		return true
	case *arrow.StructType:
		for _, f := range t.Fields() {
			if containsMap(f.Type) {
				return true
			}
		}
	case *arrow.ListType:
		return containsMap(t.Elem())
	case *arrow.LargeListType:
		return containsMap(t.Elem())
	}
	return false
}

type collectAcc struct {
	name   string
	st     store
	dt     *arrow.ListType
	state  []arrow.Field
	groups int
	egids  []uint32
}

func (c *collectAcc) Resize(n int) { c.groups = max(c.groups, n) }

func (c *collectAcc) Update(args []arrow.Array, gids []uint32) error {
	if err := checkArgs(c.name, args, 1, gids); err != nil {
		return err
	}
	return c.st.add(args, gids, nil)
}

func (c *collectAcc) MergeState(state []arrow.Array, gids []uint32) error {
	if err := checkState(c.name, state, c.state, gids); err != nil {
		return err
	}
	vals, eg := listParts(state[0].(*array.List), gids, c.egids)
	defer vals.Release()
	c.egids = eg
	return c.st.add([]arrow.Array{vals}, eg, nil)
}

func (c *collectAcc) State(mem memory.Allocator, n int, sel []uint32) ([]arrow.Array, error) {
	r, err := c.Result(mem, n, sel)
	if err != nil {
		return nil, err
	}
	return []arrow.Array{r}, nil
}

func (c *collectAcc) Result(mem memory.Allocator, n int, sel []uint32) (arrow.Array, error) {
	return c.st.lists(mem, c.dt, c.groups, n, sel)
}

func (c *collectAcc) Reset()   { c.st.reset() }
func (c *collectAcc) Release() { c.st.release() }
