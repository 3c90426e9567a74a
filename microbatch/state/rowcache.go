package state

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The rows of a batch's update, kept for its delta. A streaming
// aggregation in update mode writes the new buffers of the keys it
// touched (Set) and emits them with their keys (Keys): the same key and
// value rows its delta file holds. SetAndKeys keeps both until Commit,
// which writes them as they are instead of gathering every key and value
// again from the table. Any later change to one of those slots in the
// same version drops the kept rows (Commit then gathers as usual).

// rowCache is the kept rows: cols is keys ++ values of slots, in order.
type rowCache struct {
	slots []uint32
	cols  []arrow.Array
	bits  bitset // slots held
}

func (c *rowCache) empty() bool { return c.cols == nil }

// drop forgets the kept rows.
func (c *rowCache) drop() {
	releaseAll(c.cols)
	for _, sl := range c.slots {
		c.bits.clear(sl)
	}
	c.slots, c.cols = nil, nil
}

// holds reports whether slot sl's row is kept.
func (c *rowCache) holds(sl uint32) bool { return c.cols != nil && c.bits.get(sl) }

// SetAndKeys is Set, then Keys of the same slots, which Commit then
// writes to the version's delta as they are (without gathering those
// keys and values again). The slots must be distinct and none NoSlot.
// values is retained until Commit (an exception to the store's rule of
// copying what it is given); the returned keys are the caller's to
// release, as with Keys.
func (s *Store) SetAndKeys(mem memory.Allocator, slots []uint32, values []arrow.Array) ([]arrow.Array, error) {
	if err := s.Set(slots, values); err != nil {
		return nil, err
	}
	keys, err := s.Keys(mem, slots)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &s.cache
	if !c.empty() || s.t == nil {
		c.drop() // one update per version is kept; a second one means gathering
		return keys, nil
	}
	c.bits.grow(s.t.n)
	for _, sl := range slots {
		if sl == NoSlot || c.bits.get(sl) {
			for _, sl2 := range slots {
				c.bits.clear(sl2)
			}
			return keys, nil // not distinct: not kept
		}
		c.bits.set(sl)
	}
	c.slots = append([]uint32(nil), slots...)
	for _, a := range keys {
		a.Retain()
		c.cols = append(c.cols, a)
	}
	for _, a := range values {
		a.Retain()
		c.cols = append(c.cols, a)
	}
	return keys, nil
}

// uncache drops the kept rows if slot sl is one of them: it is about to
// change again.
func (s *Store) uncache(sl uint32) {
	if s.cache.holds(sl) {
		s.cache.drop()
	}
}

// writeCached writes the kept rows (all puts) as delta record batches and
// returns sel without their slots.
func (s *Store) writeCached(fw *fileWriter, schema *arrow.Schema, sel []uint32) ([]uint32, error) {
	c := &s.cache
	rest := make([]uint32, 0, max(0, len(sel)-len(c.slots)))
	held := 0
	for _, sl := range sel {
		if c.bits.get(sl) {
			held++
		} else {
			rest = append(rest, sl)
		}
	}
	if held != len(c.slots) {
		return nil, fmt.Errorf("state: %d kept rows, %d of them changed", len(c.slots), held)
	}
	n := len(c.slots)
	for lo := 0; lo < n; lo += deltaChunk {
		hi := min(lo+deltaChunk, n)
		cols := make([]arrow.Array, 0, len(c.cols)+1)
		for _, a := range c.cols {
			cols = append(cols, array.NewSlice(a, int64(lo), int64(hi)))
		}
		cols = append(cols, falses(s.mem, hi-lo))
		rec := array.NewRecordBatch(schema, cols, int64(hi-lo))
		releaseAll(cols)
		err := fw.write(rec)
		rec.Release()
		if err != nil {
			return nil, err
		}
	}
	return rest, nil
}

// falses is a boolean column of n false values.
func falses(mem memory.Allocator, n int) arrow.Array {
	vb := newValidity(mem, n)
	return makeArray(arrow.FixedWidthTypes.Boolean, n, []*memory.Buffer{nil, vb}, 0)
}
