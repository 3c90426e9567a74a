package fileformat

import (
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"
)

// leafCursor walks the pages of one leaf column chunk, converting values
// straight from parquet-go's decoded page buffers (page.Data(), dictionary
// pages as int32 indexes) into Arrow buffers. No per-value parquet.Value is
// ever materialised.
type leafCursor struct {
	plan           *readPlan
	file           string
	maxDef, maxRep byte

	pages parquet.Pages
	page  parquet.Page
	defs  []byte
	reps  []byte
	raw   []byte
	offs  []uint32
	idx   []int32 // dictionary indexes when the page is dictionary-encoded
	nlev  int     // levels in the page (values, for a required flat column)
	nval  int     // dense values available in the page
	lpos  int
	vpos  int

	dictSrc parquet.Dictionary
	dict    *colBuf // the dictionary converted to Arrow layout (Go memory)
	scratch *colBuf
}

func newLeafCursor(p *readPlan, file string, mem memory.Allocator) *leafCursor {
	return &leafCursor{plan: p, file: file, maxDef: byte(p.node.def), maxRep: byte(p.node.rep),
		scratch: newColBuf(mem, outWidth(p.dt))}
}

func (c *leafCursor) errf(format string, args ...any) error {
	return fmt.Errorf("%w: file %s: column %q: %s", ErrMalformed, c.file, c.plan.node.path, fmt.Sprintf(format, args...))
}

func (c *leafCursor) wrap(err error) error {
	if errors.Is(err, ErrMalformed) {
		return fmt.Errorf("file %s: column %q: %w", c.file, c.plan.node.path, err)
	}
	return fmt.Errorf("%w: file %s: column %q: %v", ErrMalformed, c.file, c.plan.node.path, err)
}

// start points the cursor at a new column chunk.
func (c *leafCursor) start(pages parquet.Pages) {
	c.closeChunk()
	c.pages = pages
}

func (c *leafCursor) closeChunk() {
	c.dropPage()
	if c.pages != nil {
		c.pages.Close()
		c.pages = nil
	}
}

func (c *leafCursor) dropPage() {
	if c.page != nil {
		parquet.Release(c.page)
		c.page = nil
	}
	c.defs, c.reps, c.raw, c.offs, c.idx = nil, nil, nil, nil, nil
	c.nlev, c.nval, c.lpos, c.vpos = 0, 0, 0, 0
}

func (c *leafCursor) close() {
	c.closeChunk()
	c.scratch.release()
	if c.dict != nil {
		c.dict.release()
		c.dict = nil
	}
}

// nextPage loads the next page; io.EOF at the end of the chunk.
func (c *leafCursor) nextPage() error {
	c.dropPage()
	if c.pages == nil {
		return io.EOF
	}
	p, err := c.pages.ReadPage()
	if err != nil {
		if err == io.EOF {
			return io.EOF
		}
		return c.wrap(err)
	}
	c.page = p
	c.defs = p.DefinitionLevels()
	c.reps = p.RepetitionLevels()
	nv := p.NumValues()
	if nv < 0 || nv > 1<<31 {
		return c.errf("page claims %d values", nv)
	}
	c.nlev = int(nv)
	if c.maxDef > 0 && len(c.defs) != c.nlev {
		return c.errf("page has %d definition levels for %d values", len(c.defs), c.nlev)
	}
	if c.maxRep > 0 && len(c.reps) != c.nlev {
		return c.errf("page has %d repetition levels for %d values", len(c.reps), c.nlev)
	}
	data := p.Data()
	raw, offs := (&data).Data()
	if d := p.Dictionary(); d != nil {
		if d != c.dictSrc {
			if err := c.loadDict(d); err != nil {
				return err
			}
		}
		c.idx = arrow.Int32Traits.CastFromBytes(raw)
		c.nval = len(c.idx)
		return nil
	}
	c.raw, c.offs = raw, offs
	switch rw := rawWidth(c.plan.conv, c.plan.fixedLen); {
	case rw > 0:
		c.nval = len(raw) / rw
	case rw == 0:
		c.nval = max(len(offs)-1, 0)
	default:
		c.nval = len(raw) * 8
	}
	return nil
}

func (c *leafCursor) loadDict(d parquet.Dictionary) error {
	if c.dict != nil {
		c.dict.release()
		c.dict = nil
	}
	c.dictSrc = d
	dp := d.Page()
	dd := dp.Data()
	raw, offs := (&dd).Data()
	nd := d.Len()
	buf := newColBuf(memory.DefaultAllocator, c.scratch.width)
	if err := convert(c.plan.conv, c.plan.fixedLen, raw, offs, 0, nd, buf); err != nil {
		buf.release()
		return c.wrap(err)
	}
	c.dict = buf
	return nil
}

// dense appends count present values from the current page to dst.
func (c *leafCursor) dense(count int, dst *colBuf) error {
	if c.vpos+count > c.nval {
		return c.errf("page has %d values, levels need %d", c.nval, c.vpos+count)
	}
	var err error
	if c.idx != nil {
		err = gather(c.idx[c.vpos:c.vpos+count], c.dict, dst)
	} else {
		err = convert(c.plan.conv, c.plan.fixedLen, c.raw, c.offs, c.vpos, count, dst)
	}
	if err != nil {
		return c.wrap(err)
	}
	c.vpos += count
	return nil
}

// readFlat appends n rows of a non-repeated top-level column to out and
// its validity to valid. It returns the rows read (< n only at the end of
// the chunk).
func (c *leafCursor) readFlat(n int, out *colBuf, valid *validity) (int, error) {
	got := 0
	for got < n {
		if c.page == nil || c.lpos >= c.nlev {
			if err := c.nextPage(); err != nil {
				if err == io.EOF {
					return got, nil
				}
				return got, err
			}
			continue
		}
		k := min(n-got, c.nlev-c.lpos)
		if c.maxDef == 0 {
			if err := c.dense(k, out); err != nil {
				return got, err
			}
			valid.appendValid(k)
		} else {
			d := c.defs[c.lpos : c.lpos+k]
			m := countEq(d, c.maxDef)
			if m == k {
				if err := c.dense(k, out); err != nil {
					return got, err
				}
				valid.appendValid(k)
			} else {
				c.scratch.reset()
				if err := c.dense(m, c.scratch); err != nil {
					return got, err
				}
				scatter(c.scratch, out, d, c.maxDef)
				valid.appendLevels(d, c.maxDef)
			}
		}
		c.lpos += k
		got += k
	}
	return got, nil
}

// leafChunk holds the levels and dense values of n rows of a nested leaf.
type leafChunk struct {
	defs, reps []byte
	dense      *colBuf
	denseIdx   []int32 // level position -> dense value index (lazy)
}

// readLevels appends the levels and present values of n rows to lc.
func (c *leafCursor) readLevels(n int, lc *leafChunk) (int, error) {
	rows := 0
	for {
		if c.page == nil || c.lpos >= c.nlev {
			if err := c.nextPage(); err != nil {
				if err == io.EOF {
					return rows, nil
				}
				return rows, err
			}
			continue
		}
		// Take levels up to (not including) the start of row n+1.
		end := c.lpos
		for end < c.nlev {
			if c.maxRep == 0 || c.reps[end] == 0 {
				if rows == n {
					break
				}
				rows++
			}
			end++
		}
		k := end - c.lpos
		if k > 0 {
			m := k
			if c.maxDef > 0 {
				d := c.defs[c.lpos:end]
				lc.defs = append(lc.defs, d...)
				m = countEq(d, c.maxDef)
			}
			if c.maxRep > 0 {
				lc.reps = append(lc.reps, c.reps[c.lpos:end]...)
			}
			if err := c.dense(m, lc.dense); err != nil {
				return rows, err
			}
			c.lpos = end
		}
		if end < c.nlev {
			return rows, nil // stopped at the start of row n+1
		}
	}
}

// scatter spreads the dense values of src over the positions of levels
// equal to want, leaving zero values (empty strings) elsewhere.
func scatter(src, dst *colBuf, levels []byte, want byte) {
	k := len(levels)
	dst.reserve(k)
	n := dst.n
	j := 0
	switch w := dst.width; w {
	case -1:
		sb, db := src.vals.Buf(), dst.vals.Buf()
		for i, l := range levels {
			if l == want {
				bitutil.SetBitTo(db, n+i, bitutil.BitIsSet(sb, j))
				j++
			} else {
				bitutil.ClearBit(db, n+i)
			}
		}
	case 0:
		src.reserve(0) // offsets[0] exists even with no values
		so := src.offsets()
		dst.reserveData(src.nbytes)
		copy(dst.vals.Buf()[dst.nbytes:], src.vals.Buf()[:src.nbytes])
		do := dst.offsets()[n+1 : n+1+k]
		base := int32(dst.nbytes)
		for i, l := range levels {
			if l == want {
				j++
			}
			do[i] = base + so[j]
		}
		dst.nbytes += src.nbytes
	default:
		sb, db := src.vals.Buf(), dst.vals.Buf()[n*w:(n+k)*w]
		for i, l := range levels {
			if l == want {
				copy(db[i*w:i*w+w], sb[j*w:j*w+w])
				j++
			} else {
				clear(db[i*w : i*w+w])
			}
		}
	}
	dst.n += k
}

// validity builds a validity bitmap lazily: no buffer until the first null.
type validity struct {
	mem   memory.Allocator
	buf   *memory.Buffer
	n     int
	nulls int
}

func (v *validity) ensure(extra int) {
	need := int(bitutil.BytesForBits(int64(v.n + extra)))
	if v.buf == nil {
		v.buf = memory.NewResizableBuffer(v.mem)
		v.buf.Reserve(max(need, 64))
		clear(v.buf.Buf())
		bitutil.SetBitsTo(v.buf.Buf(), 0, int64(v.n), true)
		return
	}
	if need > v.buf.Cap() {
		old := v.buf.Cap()
		v.buf.Reserve(growCap(old, need))
		clear(v.buf.Buf()[old:])
	}
}

func (v *validity) appendValid(k int) {
	if v.buf != nil {
		v.ensure(k)
		bitutil.SetBitsTo(v.buf.Buf(), int64(v.n), int64(k), true)
	}
	v.n += k
}

func (v *validity) appendLevels(levels []byte, want byte) {
	v.ensure(len(levels))
	b := v.buf.Buf()
	for i, l := range levels {
		if l == want {
			bitutil.SetBit(b, v.n+i)
		} else {
			bitutil.ClearBit(b, v.n+i)
			v.nulls++
		}
	}
	v.n += len(levels)
}

// finish returns the bitmap (nil when there were no nulls) and the null count.
func (v *validity) finish() (*memory.Buffer, int) {
	b := v.buf
	v.buf = nil
	if b != nil && v.nulls == 0 {
		b.Release()
		b = nil
	}
	if b != nil {
		b.ResizeNoShrink(int(bitutil.BytesForBits(int64(v.n))))
	}
	n := v.nulls
	v.n, v.nulls = 0, 0
	return b, n
}

func (v *validity) release() {
	if v.buf != nil {
		v.buf.Release()
		v.buf = nil
	}
	v.n, v.nulls = 0, 0
}
