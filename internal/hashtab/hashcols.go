package hashtab

import (
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
)

// hasherPool recycles the scratch buffers of HashColumns.
var hasherPool = sync.Pool{New: func() any { return new(hasher) }}

type hasher struct {
	nz []*normalizer
	dh []uint64 // hashes of a dictionary's entries
}

// HashColumns writes to out[i] the hash of row i of the key columns, the
// columns' hashes combined in order. It is the hash to partition rows by
// (shuffle, state store partitions): equal keys, as the Grouper defines
// them (NULLs equal, floats normalised, dictionaries by value), hash
// equally, and the function is fixed across processes and versions.
// len(out) must equal the row count.
func HashColumns(cols []arrow.Array, out []uint64) error {
	if len(cols) == 0 || cols[0] == nil {
		return fmt.Errorf("%w: no key columns to hash", ErrBadInput)
	}
	n := cols[0].Len()
	if len(out) != n {
		return fmt.Errorf("%w: %d hash slots for %d rows; pass an out slice of the batch's length", ErrBadInput, len(out), n)
	}
	hz := hasherPool.Get().(*hasher)
	defer hasherPool.Put(hz)
	for c, col := range cols {
		if col == nil || col.Len() != n {
			return fmt.Errorf("%w: key column %d is nil or its length differs from column 0's %d rows", ErrBadInput, c, n)
		}
		kt, err := classify(col.DataType())
		if err != nil {
			return fmt.Errorf("key column %d: %w", c, err)
		}
		if c >= len(hz.nz) {
			hz.nz = append(hz.nz, newNormalizer(kt))
		}
		nz := hz.nz[c]
		nz.kt, nz.dict = kt, nil
		// Dictionary columns: hash each entry once, then gather.
		_, nz.keepDict = col.(*array.Dictionary)
		v, err := nz.view(col)
		if err != nil {
			return fmt.Errorf("key column %d: %w", c, err)
		}
		if v.dict != nil {
			hz.hashDict(&v, out, c == 0)
			continue
		}
		hashView(&v, out, c == 0, partitionSeed)
	}
	return nil
}

// hashDict hashes a dictionary column viewed as dictionary + indices: the
// same hashes as its values would get, at one hash per entry.
func (hz *hasher) hashDict(v *colView, out []uint64, first bool) {
	dh := scratchU64(&hz.dh, v.dict.n)
	hashView(v.dict, dh, true, partitionSeed)
	for i, j := range v.idx[:v.n] {
		c := nullHash ^ uint64(partitionSeed)
		if j >= 0 {
			c = dh[j]
		}
		if first {
			out[i] = c
		} else {
			out[i] = combine(out[i], c)
		}
	}
}

// NullRows sets out[i] to whether row i has a NULL in any key column (a
// NULL index or a NULL dictionary value counts) and returns how many rows
// do. Such rows never match in an equi-join unless it is null-safe (<=>).
// len(out) must equal the row count.
func NullRows(cols []arrow.Array, out []bool) (int, error) {
	clear(out)
	for c, col := range cols {
		if col == nil || col.Len() != len(out) {
			return 0, fmt.Errorf("%w: key column %d is nil or has a length other than len(out) = %d", ErrBadInput, c, len(out))
		}
		if d, ok := col.(*array.Dictionary); ok {
			dict := d.Dictionary()
			if d.NullN() == 0 && dict.NullN() == 0 {
				continue
			}
			for i := range out {
				if d.IsNull(i) {
					out[i] = true
					continue
				}
				j := d.GetValueIndex(i)
				if j < 0 || j >= dict.Len() {
					return 0, fmt.Errorf("%w: key column %d: dictionary index %d out of range [0, %d) at row %d", ErrBadInput, c, j, dict.Len(), i)
				}
				if dict.IsNull(j) {
					out[i] = true
				}
			}
			continue
		}
		nulls := col.NullN()
		if nulls == 0 {
			continue
		}
		bits := col.NullBitmapBytes()
		if bits == nil || nulls == col.Len() {
			for i := range out {
				out[i] = true
			}
			continue
		}
		off := col.Data().Offset()
		for i := range out {
			if !bitutil.BitIsSet(bits, off+i) {
				out[i] = true
			}
		}
	}
	n := 0
	for _, b := range out {
		if b {
			n++
		}
	}
	return n, nil
}
