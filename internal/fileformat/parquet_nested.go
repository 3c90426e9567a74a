package fileformat

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Nested columns (structs, lists, maps) are rebuilt from the definition
// and repetition levels of their leaves (the Dremel encoding). For every
// plan node, "entries" are the level positions, in each leaf's level
// stream, where one value (slot) of that node starts. Top-level entries are
// the row starts; a struct passes its entries to its children; a list turns
// each non-empty entry into the positions of its elements.

// assemble builds the Arrow data of plan p from its leaves' chunks.
func assemble(mem memory.Allocator, p *readPlan, chunks []*leafChunk, ents [][]int32, file string) (arrow.ArrayData, error) {
	switch p.kind {
	case planLeaf:
		return assembleLeaf(mem, p, chunks[p.lo], ents[p.lo])
	case planStruct:
		first := chunks[p.lo]
		e := ents[p.lo]
		v := validity{mem: mem}
		for _, pos := range e {
			ok := len(first.defs) == 0 || int(first.defs[pos]) >= p.def
			if ok {
				v.appendValid(1)
			} else {
				v.ensure(1)
				bitutil.ClearBit(v.buf.Buf(), v.n)
				v.n++
				v.nulls++
			}
		}
		children := make([]arrow.ArrayData, 0, len(p.children))
		release := func() {
			for _, c := range children {
				c.Release()
			}
			v.release()
		}
		for _, cp := range p.children {
			cd, err := assemble(mem, cp, chunks, ents, file)
			if err != nil {
				release()
				return nil, err
			}
			children = append(children, cd)
			if cd.Len() != len(e) {
				release()
				return nil, fmt.Errorf("%w: file %s: column %q: struct fields disagree on row count", ErrMalformed, file, p.node.path)
			}
		}
		vb, nulls := v.finish()
		d := array.NewData(p.dt, len(e), []*memory.Buffer{vb}, children, nulls, 0)
		if vb != nil {
			vb.Release()
		}
		for _, c := range children {
			c.Release()
		}
		return d, nil
	case planList:
		// Element entries, per leaf of the subtree.
		sub := make([][]int32, len(ents))
		n := len(ents[p.lo])
		offs := memory.NewResizableBuffer(mem)
		offs.Resize((n + 1) * 4)
		o := arrow.Int32Traits.CastFromBytes(offs.Bytes())
		v := validity{mem: mem}
		for li := p.lo; li < p.hi; li++ {
			ch := chunks[li]
			var out []int32
			for k, pos := range ents[li] {
				def := int(ch.defs[pos])
				if li == p.lo {
					o[k] = int32(len(out))
					if def < p.def {
						v.ensure(1)
						bitutil.ClearBit(v.buf.Buf(), v.n)
						v.n++
						v.nulls++
					} else {
						v.appendValid(1)
					}
				}
				if def < p.elemDef {
					continue
				}
				out = append(out, pos)
				for j := int(pos) + 1; j < len(ch.reps) && int(ch.reps[j]) >= p.rep; j++ {
					if int(ch.reps[j]) == p.rep {
						out = append(out, int32(j))
					}
				}
			}
			if li == p.lo {
				o[n] = int32(len(out))
			} else if len(out) != len(sub[p.lo]) {
				offs.Release()
				v.release()
				return nil, fmt.Errorf("%w: file %s: column %q: list leaves disagree on element count", ErrMalformed, file, p.node.path)
			}
			sub[li] = out
		}
		child, err := assemble(mem, p.children[0], chunks, sub, file)
		if err != nil {
			offs.Release()
			v.release()
			return nil, err
		}
		vb, nulls := v.finish()
		d := array.NewData(p.dt, n, []*memory.Buffer{vb, offs}, []arrow.ArrayData{child}, nulls, 0)
		if vb != nil {
			vb.Release()
		}
		offs.Release()
		child.Release()
		return d, nil
	}
	return nil, fmt.Errorf("%w: unknown plan kind", ErrMalformed)
}

func assembleLeaf(mem memory.Allocator, p *readPlan, ch *leafChunk, ents []int32) (arrow.ArrayData, error) {
	maxDef := byte(p.def)
	if ch.denseIdx == nil && len(ch.defs) > 0 {
		ch.denseIdx = make([]int32, len(ch.defs))
		k := int32(0)
		for i, d := range ch.defs {
			ch.denseIdx[i] = k
			if d == maxDef {
				k++
			}
		}
	}
	// Present dense indexes in order, and a presence level per entry.
	idx := make([]int32, 0, len(ents))
	pres := make([]byte, len(ents))
	for i, pos := range ents {
		if len(ch.defs) == 0 || ch.defs[pos] == maxDef {
			pres[i] = 1
			if len(ch.defs) == 0 {
				idx = append(idx, pos)
			} else {
				idx = append(idx, ch.denseIdx[pos])
			}
		}
	}
	w := ch.dense.width
	tmp := newColBuf(mem, w)
	defer tmp.release()
	if err := gather(idx, ch.dense, tmp); err != nil {
		return nil, err
	}
	out := newColBuf(mem, w)
	scatter(tmp, out, pres, 1)
	v := validity{mem: mem}
	v.appendLevels(pres, 1)
	vb, nulls := v.finish()
	offs, vals := out.finish()
	var bufs []*memory.Buffer
	if w == 0 {
		bufs = []*memory.Buffer{vb, offs, vals}
	} else {
		bufs = []*memory.Buffer{vb, vals}
	}
	d := array.NewData(p.dt, len(ents), bufs, nil, nulls, 0)
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
	return d, nil
}
