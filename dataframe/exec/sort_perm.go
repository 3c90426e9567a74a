package exec

import (
	"cmp"
	"context"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
)

// keyIdx is a row's order-preserving key prefix and its row index.
type keyIdx struct {
	k uint64
	i int32
}

// sortPermutation returns the row order of key columns keys (all of the
// same length) under orders: a stable sort, so rows with equal keys keep
// their input order.
//
// The first key is turned into uint64 prefixes (exact for numbers, dates,
// timestamps and booleans; the first 8 bytes for strings) and radix sorted;
// runs of equal prefixes are then ordered by the full typed comparator.
// Types without a prefix (decimals) sort by comparator alone.
func sortPermutation(ctx context.Context, keys []arrow.Array, orders []keyOrder) ([]int32, error) {
	if len(keys) == 0 {
		return nil, errorf("sort needs at least one key")
	}
	n := keys[0].Len()
	full, err := newRowCmp(keys, keys, orders)
	if err != nil {
		return nil, err
	}
	byCmp := func(x, y int32) int {
		if c := full.cmp(int(x), int(y)); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	}
	pairs, nulls, exact, ok := prefixKeys(keys[0], orders[0].desc, make([]keyIdx, 0, n), nil)
	if !ok {
		perm := make([]int32, n)
		for i := range perm {
			perm[i] = int32(i)
		}
		slices.SortFunc(perm, byCmp)
		return perm, nil
	}
	pairs = radixSort(pairs)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	perm := make([]int32, 0, n)
	if orders[0].nullsFirst {
		perm = append(perm, nulls...)
	}
	start := len(perm)
	for _, p := range pairs {
		perm = append(perm, p.i)
	}
	if !orders[0].nullsFirst {
		perm = append(perm, nulls...)
	}
	// NULL rows are equal on the first key; later keys order them.
	if len(keys) > 1 && len(nulls) > 1 {
		ns := 0
		if !orders[0].nullsFirst {
			ns = start + len(pairs)
		}
		slices.SortFunc(perm[ns:ns+len(nulls)], byCmp)
	}
	if exact && len(keys) == 1 {
		return perm, nil
	}
	for i := 0; i < len(pairs); {
		j := i + 1
		for j < len(pairs) && pairs[j].k == pairs[i].k {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(perm[start+i:start+j], byCmp)
		}
		i = j
	}
	return perm, ctx.Err()
}

// radixSort sorts by k, stably (LSD, one byte per pass, skipping bytes
// every key shares). It returns a or its scratch copy, whichever holds the
// result. Bytes beat 11-bit digits here: 256 scatter targets stay in cache.
func radixSort(a []keyIdx) []keyIdx {
	n := len(a)
	if n < 256 {
		slices.SortStableFunc(a, func(x, y keyIdx) int { return cmp.Compare(x.k, y.k) })
		return a
	}
	// Sort by k - min: keys of a small range that straddles a byte
	// boundary (small negative and positive integers around the sign flip)
	// then share their high bytes, and those passes are skipped.
	lo := a[0].k
	for _, e := range a {
		lo = min(lo, e.k)
	}
	var counts [8][256]int
	for i := range a {
		a[i].k -= lo
		k := a[i].k
		counts[0][byte(k)]++
		counts[1][byte(k>>8)]++
		counts[2][byte(k>>16)]++
		counts[3][byte(k>>24)]++
		counts[4][byte(k>>32)]++
		counts[5][byte(k>>40)]++
		counts[6][byte(k>>48)]++
		counts[7][byte(k>>56)]++
	}
	var scratch []keyIdx
	src := a
	for b := 0; b < 8; b++ {
		shift := uint(8 * b)
		c := &counts[b]
		if c[byte(src[0].k>>shift)] == n {
			continue // every key has the same byte here
		}
		if scratch == nil {
			scratch = make([]keyIdx, n)
		}
		dst := scratch
		sum := 0
		for d := range c {
			t := c[d]
			c[d] = sum
			sum += t
		}
		for _, e := range src {
			d := byte(e.k >> shift)
			dst[c[d]] = e
			c[d]++
		}
		scratch = src
		src = dst
	}
	for i := range src {
		src[i].k += lo
	}
	return src
}
