package agg

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// withDistinct turns an aggregate into its DISTINCT form: a deduplicating
// store over (group, argument tuple) lets each distinct tuple through to
// the inner accumulator once. The partial state is the list of distinct
// values per group (a list of structs for several arguments), which
// merges by replaying it through the same store, so DISTINCT stays
// correct across shuffle partitions and streaming batches.
func withDistinct(name string, types []arrow.DataType, inner *expr.AggBinding) (*expr.AggBinding, error) {
	kinds := make([]kind, len(types))
	for i, t := range types {
		k, ok := kindOf(t)
		if !ok || containsMap(t) {
			return nil, argTypeErr(name+"(DISTINCT ...)", i, "a type that can be compared", t)
		}
		kinds[i] = k
	}
	elem := types[0]
	if len(types) > 1 {
		fields := make([]arrow.Field, len(types))
		for i, t := range types {
			fields[i] = arrow.Field{Name: fmt.Sprintf("c%d", i+1), Type: t, Nullable: true}
		}
		elem = arrow.StructOf(fields...)
	}
	lt := arrow.ListOf(elem)
	b := *inner
	b.State = []arrow.Field{{Name: "distinct", Type: lt}}
	innerNew := inner.New
	b.New = func(mem memory.Allocator) expr.Accumulator {
		var st store
		if len(kinds) == 1 {
			st = newStore(mem, kinds[0], true)
		} else {
			st = newBytesStore(mem, kinds, true)
		}
		return &distinctAcc{name: name, st: st, inner: innerNew(mem), dt: lt, state: b.State, nargs: len(types)}
	}
	return &b, nil
}

type distinctAcc struct {
	name    string
	st      store
	inner   expr.Accumulator
	dt      *arrow.ListType
	state   []arrow.Field
	nargs   int
	groups  int
	newGids []uint32
	egids   []uint32
}

func (d *distinctAcc) Resize(n int) {
	d.inner.Resize(n)
	d.groups = max(d.groups, n)
}

func (d *distinctAcc) Update(args []arrow.Array, gids []uint32) error {
	if err := checkArgs(d.name, args, d.nargs, gids); err != nil {
		return err
	}
	if cap(d.newGids) < len(gids) {
		d.newGids = make([]uint32, len(gids))
	}
	ng := d.newGids[:len(gids)]
	if err := d.st.add(args, gids, ng); err != nil {
		return err
	}
	return d.inner.Update(args, ng)
}

func (d *distinctAcc) MergeState(state []arrow.Array, gids []uint32) error {
	if err := checkState(d.name, state, d.state, gids); err != nil {
		return err
	}
	vals, eg := listParts(state[0].(*array.List), gids, d.egids)
	defer vals.Release()
	d.egids = eg
	args := []arrow.Array{vals}
	if d.nargs > 1 {
		st := vals.(*array.Struct)
		args = make([]arrow.Array, st.NumField())
		for i := range args {
			args[i] = st.Field(i)
		}
	}
	return d.Update(args, eg)
}

func (d *distinctAcc) State(mem memory.Allocator, n int, sel []uint32) ([]arrow.Array, error) {
	l, err := d.st.lists(mem, d.dt, d.groups, n, sel)
	if err != nil {
		return nil, err
	}
	return []arrow.Array{l}, nil
}

func (d *distinctAcc) Result(mem memory.Allocator, n int, sel []uint32) (arrow.Array, error) {
	return d.inner.Result(mem, n, sel)
}

func (d *distinctAcc) Reset() {
	d.st.reset()
	d.inner.Reset()
}

func (d *distinctAcc) Release() {
	d.st.release()
	d.inner.Release()
}
