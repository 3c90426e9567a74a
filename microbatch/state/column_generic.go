package state

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// genericCol stores values of any other type (lists, structs, maps,
// dictionaries, views, odd fixed-size binaries, ...) as Arrow arrays: each
// set copies its input into a chunk, and slot s refers to a row of a chunk.
// A chunk is released when no slot refers to it any more, and all chunks
// are rewritten into one when they hold more than twice the live rows.
// Gathering goes through array.Concatenate of runs: the general path, not
// the fast one.
type genericCol struct {
	dt     arrow.DataType
	mem    memory.Allocator
	chunks []arrow.Array
	refs   []int // live references per chunk
	free   []uint32
	slots  []uint64 // chunk<<32 | row, or noRef
	held   int      // rows of all chunks
	live   int      // slots with a reference
	n      int
}

const noRef = ^uint64(0)

// genericSlack is how many dead rows chunks may hold beyond twice the live
// ones before they are rewritten (a variable for tests).
var genericSlack = 4096

func (c *genericCol) grow(n int) {
	if n <= c.n {
		return
	}
	old := len(c.slots)
	c.slots = growDouble(c.slots, n)
	for i := old; i < n; i++ {
		c.slots[i] = noRef
	}
	c.n = n
}

func (c *genericCol) unref(s uint32) {
	r := c.slots[s]
	if r == noRef {
		return
	}
	c.slots[s] = noRef
	c.live--
	id := uint32(r >> 32)
	c.refs[id]--
	if c.refs[id] == 0 {
		c.held -= c.chunks[id].Len()
		c.chunks[id].Release()
		c.chunks[id] = nil
		c.free = append(c.free, id)
	}
}

func (c *genericCol) addChunk(a arrow.Array) uint32 {
	c.held += a.Len()
	if k := len(c.free); k > 0 {
		id := c.free[k-1]
		c.free = c.free[:k-1]
		c.chunks[id], c.refs[id] = a, 0
		return id
	}
	c.chunks = append(c.chunks, a)
	c.refs = append(c.refs, 0)
	return uint32(len(c.chunks) - 1)
}

func (c *genericCol) set(src arrow.Array, slots []uint32) error {
	n := src.Len()
	used := false
	for _, s := range slots[:n] {
		if s != NoSlot {
			used = true
			break
		}
	}
	if !used {
		return nil
	}
	cp, err := array.Concatenate([]arrow.Array{src}, c.mem)
	if err != nil {
		return err
	}
	id := c.addChunk(cp)
	c.refs[id] = 1 // pinned: a slot listed twice must not free the chunk
	for i, s := range slots[:n] {
		if s == NoSlot {
			continue
		}
		c.unref(s)
		c.slots[s] = uint64(id)<<32 | uint64(i)
		c.refs[id]++
		c.live++
	}
	c.refs[id]--
	if c.refs[id] == 0 {
		c.held -= cp.Len()
		cp.Release()
		c.chunks[id] = nil
		c.free = append(c.free, id)
	}
	if c.held > 2*c.live+genericSlack {
		return c.rewrite()
	}
	return nil
}

// rewrite copies the live rows into one chunk.
func (c *genericCol) rewrite() error {
	sel := make([]uint32, 0, c.live)
	for s := 0; s < c.n; s++ {
		if c.slots[s] != noRef {
			sel = append(sel, uint32(s))
		}
	}
	a, err := c.gather(c.mem, sel)
	if err != nil {
		return err
	}
	c.dropChunks()
	id := c.addChunk(a)
	for i, s := range sel {
		c.slots[s] = uint64(id)<<32 | uint64(i)
	}
	c.refs[id], c.live = len(sel), len(sel)
	return nil
}

func (c *genericCol) dropChunks() {
	for _, a := range c.chunks {
		if a != nil {
			a.Release()
		}
	}
	c.chunks, c.refs, c.free, c.held, c.live = nil, nil, nil, 0, 0
}

func (c *genericCol) clear(s uint32) { c.unref(s) }

func (c *genericCol) gather(mem memory.Allocator, sel []uint32) (arrow.Array, error) {
	if len(sel) == 0 {
		b := array.NewBuilder(mem, c.dt)
		defer b.Release()
		return b.NewArray(), nil
	}
	var pieces []arrow.Array
	defer func() {
		for _, p := range pieces {
			p.Release()
		}
	}()
	// Runs of consecutive rows of one chunk become one slice; runs of
	// NULLs one array of NULLs.
	for i := 0; i < len(sel); {
		r := c.ref(sel[i])
		j := i + 1
		if r == noRef {
			for j < len(sel) && c.ref(sel[j]) == noRef {
				j++
			}
			pieces = append(pieces, array.MakeArrayOfNull(mem, c.dt, j-i))
		} else {
			for j < len(sel) && c.ref(sel[j]) == r+uint64(j-i) {
				j++
			}
			row := int64(uint32(r))
			pieces = append(pieces, array.NewSlice(c.chunks[r>>32], row, row+int64(j-i)))
		}
		i = j
	}
	return array.Concatenate(pieces, mem)
}

func (c *genericCol) ref(s uint32) uint64 {
	if s == NoSlot {
		return noRef
	}
	return c.slots[s]
}

func (c *genericCol) permute(keep []uint32) error {
	a, err := c.gather(c.mem, keep)
	if err != nil {
		return err
	}
	c.dropChunks()
	c.slots, c.n = nil, 0
	c.grow(len(keep))
	id := c.addChunk(a)
	for i := range keep {
		if a.IsValid(i) {
			c.slots[i] = uint64(id)<<32 | uint64(i)
			c.refs[id]++
			c.live++
		}
	}
	if c.refs[id] == 0 {
		c.held -= a.Len()
		a.Release()
		c.chunks[id] = nil
		c.free = append(c.free, id)
	}
	return nil
}

func (c *genericCol) memoryBytes() int64 {
	b := int64(cap(c.slots))*8 + int64(cap(c.refs))*8
	for _, a := range c.chunks {
		if a != nil {
			b += int64(a.Data().(*array.Data).SizeInBytes())
		}
	}
	return b
}

func (c *genericCol) release() {
	c.dropChunks()
	c.slots, c.n = nil, 0
}
