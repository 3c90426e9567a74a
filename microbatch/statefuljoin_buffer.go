package microbatch

import (
	"context"
	"fmt"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/exec"
	"github.com/sluicehq/sluice/microbatch/state"
)

// joinBuffer is the rows of one join side in one shuffle partition, kept
// as Spark keeps them, in two stores:
//
//	keyToNumValues:      join key -> number of rows with that key
//	keyWithIndexToValue: (join key, index) -> row ++ matched
//
// The indexes of a key are 0..n-1 at the end of every batch: a probe looks
// up (key, 0), (key, 1), ... for every probing row, all in one vectorised
// call. Rows removed during a batch leave holes that compact fills by
// moving the key's last rows down; until then probes skip the holes and
// appends take indexes above the count.
type joinBuffer struct {
	counts, rows *state.Store
	nkeys        int
	mem          memory.Allocator
	// removed holds the key ++ index columns of rows removed in this
	// batch, for compact.
	removed [][]arrow.Array
}

// joinStoreNames are the store names of each side, Spark's.
var joinStoreNames = [2][2]string{
	{"left-keyToNumValues", "left-keyWithIndexToValue"},
	{"right-keyToNumValues", "right-keyWithIndexToValue"},
}

func openJoinBuffer(ctx context.Context, op *state.Operator, side, part, nkeys int, batchID int64, mem memory.Allocator) (*joinBuffer, error) {
	b := &joinBuffer{nkeys: nkeys, mem: mem}
	var err error
	if b.counts, err = op.Store(part, joinStoreNames[side][0]); err != nil {
		return nil, err
	}
	if b.rows, err = op.Store(part, joinStoreNames[side][1]); err != nil {
		return nil, err
	}
	if err := b.counts.Load(ctx, batchID); err != nil {
		return nil, err
	}
	if err := b.rows.Load(ctx, batchID); err != nil {
		b.counts.Abort()
		return nil, err
	}
	return b, nil
}

func (b *joinBuffer) abort() {
	b.release()
	b.counts.Abort()
	b.rows.Abort()
}

func (b *joinBuffer) release() {
	for _, k := range b.removed {
		exec.ReleaseArrays(k)
	}
	b.removed = nil
}

func (b *joinBuffer) commit(ctx context.Context) error {
	if err := b.compact(); err != nil {
		return err
	}
	if _, err := b.counts.Commit(ctx); err != nil {
		return err
	}
	_, err := b.rows.Commit(ctx)
	return err
}

// candidates calls fn with the buffered rows whose key equals a probing
// row's, about chunk pairs at a time: for pair i, probe row pi[i], the
// stored row's slot slots[i], its key ++ index columns (keys) and its
// value columns (row ++ matched). The arrays are released after fn
// returns. keys are the probing rows' key columns (no NULLs).
func (b *joinBuffer) candidates(keys []arrow.Array, n, chunk int, fn func(pi []int32, slots []uint32, keys, values []arrow.Array) error) error {
	if n == 0 {
		return nil
	}
	ks := make([]uint32, n)
	if err := b.counts.Lookup(keys, ks); err != nil {
		return err
	}
	cv, err := b.counts.Values(b.mem, ks)
	if err != nil {
		return err
	}
	defer exec.ReleaseArrays(cv)
	counts := cv[0].(*array.Int64)
	i, k := 0, int64(0) // next probe row, next index within it
	for i < n {
		var pi []int32
		var ix []int64
		for i < n && len(pi) < chunk {
			if counts.IsNull(i) {
				i++
				continue
			}
			c := counts.Value(i)
			for ; k < c && len(pi) < chunk; k++ {
				pi = append(pi, int32(i))
				ix = append(ix, k)
			}
			if k >= c {
				i, k = i+1, 0
			}
		}
		if len(pi) == 0 {
			continue
		}
		if err := b.lookupPairs(keys, pi, ix, fn); err != nil {
			return err
		}
	}
	return nil
}

func (b *joinBuffer) lookupPairs(keys []arrow.Array, pi []int32, ix []int64, fn func(pi []int32, slots []uint32, keys, values []arrow.Array) error) error {
	kt, err := keyIndexColumns(b.mem, keys, pi, ix)
	if err != nil {
		return err
	}
	defer func() { exec.ReleaseArrays(kt) }()
	slots := make([]uint32, len(pi))
	if err := b.rows.Lookup(kt, slots); err != nil {
		return err
	}
	// Holes left by rows removed in this batch: skip them.
	var sel []int32
	for i, s := range slots {
		if s != state.NoSlot {
			sel = append(sel, int32(i))
		}
	}
	if len(sel) == 0 {
		return nil
	}
	if len(sel) < len(slots) {
		npi := make([]int32, len(sel))
		nsl := make([]uint32, len(sel))
		for i, r := range sel {
			npi[i], nsl[i] = pi[r], slots[r]
		}
		kt2, err := takeAll(b.mem, kt, sel)
		if err != nil {
			return err
		}
		exec.ReleaseArrays(kt)
		kt, pi, slots = kt2, npi, nsl
	}
	vals, err := b.rows.Values(b.mem, slots)
	if err != nil {
		return err
	}
	defer exec.ReleaseArrays(vals)
	return fn(pi, slots, kt, vals)
}

// keyIndexColumns gathers rows pi of the key columns and appends the
// index column ix.
func keyIndexColumns(mem memory.Allocator, keys []arrow.Array, pi []int32, ix []int64) ([]arrow.Array, error) {
	out, err := takeAll(mem, keys, pi)
	if err != nil {
		return nil, err
	}
	ib := array.NewInt64Builder(mem)
	defer ib.Release()
	ib.AppendValues(ix, nil)
	return append(out, ib.NewArray()), nil
}

// takeAll gathers rows idx of every column; the caller releases them.
func takeAll(mem memory.Allocator, cols []arrow.Array, idx []int32) ([]arrow.Array, error) {
	out := make([]arrow.Array, 0, len(cols))
	for _, c := range cols {
		t, err := exec.Take(mem, c, idx)
		if err != nil {
			exec.ReleaseArrays(out)
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// add buffers n rows: keys (no NULLs) and values (row ++ matched).
func (b *joinBuffer) add(keys, values []arrow.Array, n int) error {
	if n == 0 {
		return nil
	}
	ks := make([]uint32, n)
	if _, err := b.counts.Insert(keys, ks, nil); err != nil {
		return err
	}
	cv, err := b.counts.Values(b.mem, ks)
	if err != nil {
		return err
	}
	counts := cv[0].(*array.Int64)
	// Number the rows of each key on from its count.
	next := make(map[uint32]int64)
	ix := make([]int64, n)
	var uniq []uint32
	for i, s := range ks {
		v, seen := next[s]
		if !seen {
			if counts.IsValid(i) {
				v = counts.Value(i)
			}
			uniq = append(uniq, s)
		}
		ix[i] = v
		next[s] = v + 1
	}
	exec.ReleaseArrays(cv)
	nc := make([]int64, len(uniq))
	for i, s := range uniq {
		nc[i] = next[s]
	}
	if err := b.setCounts(uniq, nc); err != nil {
		return err
	}
	all := make([]int32, n)
	for i := range all {
		all[i] = int32(i)
	}
	kt, err := keyIndexColumns(b.mem, keys, all, ix)
	if err != nil {
		return err
	}
	defer exec.ReleaseArrays(kt)
	rs := make([]uint32, n)
	if _, err := b.rows.Insert(kt, rs, nil); err != nil {
		return err
	}
	return b.rows.Set(rs, values)
}

func (b *joinBuffer) setCounts(slots []uint32, counts []int64) error {
	ib := array.NewInt64Builder(b.mem)
	defer ib.Release()
	ib.AppendValues(counts, nil)
	arr := ib.NewArray()
	defer arr.Release()
	return b.counts.Set(slots, []arrow.Array{arr})
}

// remove drops buffered rows: their slots and key ++ index columns (kept
// for compact; remove takes them over).
func (b *joinBuffer) remove(slots []uint32, keyIdx []arrow.Array) (int, error) {
	b.removed = append(b.removed, keyIdx)
	return b.rows.Remove(slots)
}

// compact renumbers the rows of the keys that lost rows in this batch to
// 0..n-1 again, moving each key's highest rows into its holes, and
// updates or drops the key's count.
func (b *joinBuffer) compact() error {
	if len(b.removed) == 0 {
		return nil
	}
	defer b.release()
	gone := make(map[uint32][]int64)
	var uniq []uint32
	for _, kc := range b.removed {
		n := kc[0].Len()
		ks := make([]uint32, n)
		if err := b.counts.Lookup(kc[:b.nkeys], ks); err != nil {
			return err
		}
		idx := kc[b.nkeys].(*array.Int64)
		for i, s := range ks {
			if s == state.NoSlot {
				return fmt.Errorf("%w: join state: a removed row's key has no count", ErrQuery)
			}
			if _, ok := gone[s]; !ok {
				uniq = append(uniq, s)
			}
			gone[s] = append(gone[s], idx.Value(i))
		}
	}
	sort.Slice(uniq, func(i, j int) bool { return uniq[i] < uniq[j] })
	cv, err := b.counts.Values(b.mem, uniq)
	if err != nil {
		return err
	}
	counts := cv[0].(*array.Int64)
	var owner []int32
	var src, dst []int64
	var keepSlots, dropSlots []uint32
	var keepCounts []int64
	for u, s := range uniq {
		c := counts.Value(u)
		rm := gone[s]
		sort.Slice(rm, func(i, j int) bool { return rm[i] < rm[j] })
		rm = dedupSorted(rm)
		left := c - int64(len(rm))
		if left <= 0 {
			dropSlots = append(dropSlots, s)
			continue
		}
		keepSlots = append(keepSlots, s)
		keepCounts = append(keepCounts, left)
		// Holes below the new count take the live rows at or above it.
		j := sort.Search(len(rm), func(i int) bool { return rm[i] >= left })
		holes, above := rm[:j], rm[j:]
		mover := left
		for _, h := range holes {
			for len(above) > 0 && above[0] == mover {
				above = above[1:]
				mover++
			}
			owner = append(owner, int32(u))
			src = append(src, mover)
			dst = append(dst, h)
			mover++
		}
	}
	exec.ReleaseArrays(cv)
	if len(owner) > 0 {
		if err := b.move(uniq, owner, src, dst); err != nil {
			return err
		}
	}
	if err := b.setCounts(keepSlots, keepCounts); err != nil {
		return err
	}
	_, err = b.counts.Remove(dropSlots)
	return err
}

// move re-keys rows (key uniq[owner[i]], src[i]) as (same key, dst[i]).
func (b *joinBuffer) move(uniq []uint32, owner []int32, src, dst []int64) error {
	keys, err := b.counts.Keys(b.mem, uniq)
	if err != nil {
		return err
	}
	defer exec.ReleaseArrays(keys)
	from, err := keyIndexColumns(b.mem, keys, owner, src)
	if err != nil {
		return err
	}
	defer exec.ReleaseArrays(from)
	to, err := keyIndexColumns(b.mem, keys, owner, dst)
	if err != nil {
		return err
	}
	defer exec.ReleaseArrays(to)
	fs := make([]uint32, len(owner))
	if err := b.rows.Lookup(from, fs); err != nil {
		return err
	}
	for _, s := range fs {
		if s == state.NoSlot {
			return fmt.Errorf("%w: join state: a row to move is missing", ErrQuery)
		}
	}
	vals, err := b.rows.Values(b.mem, fs)
	if err != nil {
		return err
	}
	defer exec.ReleaseArrays(vals)
	ts := make([]uint32, len(owner))
	if _, err := b.rows.Insert(to, ts, nil); err != nil {
		return err
	}
	if err := b.rows.Set(ts, vals); err != nil {
		return err
	}
	_, err = b.rows.Remove(fs)
	return err
}

func dedupSorted(v []int64) []int64 {
	if len(v) < 2 {
		return v
	}
	out := v[:1]
	for _, x := range v[1:] {
		if x != out[len(out)-1] {
			out = append(out, x)
		}
	}
	return out
}
