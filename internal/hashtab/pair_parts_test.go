package hashtab

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// windowBatch makes n rows of (user, window): users random in [0, users),
// windows advancing by one every `per` rows from w0, a few NULLs in each.
func windowBatch(mem memory.Allocator, rng *rand.Rand, n, users, per int, w0 int64, swap bool) []arrow.Array {
	ub := array.NewInt64Builder(mem)
	wb := array.NewInt64Builder(mem)
	defer ub.Release()
	defer wb.Release()
	for i := range n {
		if rng.IntN(200) == 0 {
			ub.AppendNull()
		} else {
			ub.Append(int64(rng.IntN(users)))
		}
		if rng.IntN(300) == 0 {
			wb.AppendNull()
		} else {
			wb.Append((w0 + int64(i/per)) * 300_000)
		}
	}
	u, w := ub.NewArray(), wb.NewArray()
	if swap {
		return []arrow.Array{w, u}
	}
	return []arrow.Array{u, w}
}

// TestPairPartitioned drives the partitioned mode of the two-column path
// through its transitions: chosen on clustered input, used for Insert and
// Lookup, left for the flat table when a batch is not clustered or when
// there are too many partition values, with the oracle checking each step.
func TestPairPartitioned(t *testing.T) {
	for _, swap := range []bool{false, true} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		rng := rand.New(rand.NewPCG(11, 12))
		g, err := New([]arrow.DataType{i64, i64}, mem)
		if err != nil {
			t.Fatal(err)
		}
		p := g.impl.(*pairImpl)
		o := newOracle()
		insert := func(cols []arrow.Array) {
			t.Helper()
			gids := make([]uint32, cols[0].Len())
			if err := g.Insert(cols, gids); err != nil {
				t.Fatal(err)
			}
			o.check(t, cols, gids, true)
			releaseAll(cols)
		}
		lookup := func(cols []arrow.Array) {
			t.Helper()
			gids := make([]uint32, cols[0].Len())
			before := g.Len()
			if err := g.Lookup(cols, gids); err != nil {
				t.Fatal(err)
			}
			o.check(t, cols, gids, false)
			releaseAll(cols)
			if g.Len() != before {
				t.Fatal("Lookup created groups")
			}
		}
		w := int64(100)
		for range 5 {
			insert(windowBatch(mem, rng, 3000, 800, 1000, w, swap))
			w += 3
		}
		if p.mode != pairParted || p.pp.pcol != map[bool]int{false: 1, true: 0}[swap] {
			t.Fatalf("swap=%v: mode %d, partition column %d; want partitioned on the window column", swap, p.mode, p.pp.pcol)
		}
		// Known and unknown windows and users.
		lookup(windowBatch(mem, rng, 3000, 1600, 500, 98, swap))
		checkKeys(t, mem, g, o, rng)

		if p.pp.wideMode {
			t.Fatal("narrow keys made the sub-tables wide")
		}
		// Keys beyond 32 bits, and ones equal in their low 32 bits to keys
		// already present (-1 and 2^32-1): the sub-tables widen.
		for _, big := range []int64{-1, 1<<32 - 1, 1 << 40, -(1 << 33)} {
			ub := array.NewInt64Builder(mem)
			wb := array.NewInt64Builder(mem)
			for i := range 300 {
				ub.Append(big + int64(i%3))
				wb.Append((w - 1) * 300_000)
			}
			c := []arrow.Array{ub.NewArray(), wb.NewArray()}
			ub.Release()
			wb.Release()
			if swap {
				c[0], c[1] = c[1], c[0]
			}
			insert(c)
		}
		if !p.pp.wideMode || p.mode != pairParted {
			t.Fatalf("swap=%v: mode %d, wide %v after keys beyond 32 bits; want partitioned and wide", swap, p.mode, p.pp.wideMode)
		}
		insert(windowBatch(mem, rng, 3000, 800, 1000, w, swap))
		lookup(windowBatch(mem, rng, 3000, 1600, 500, 98, swap))
		checkKeys(t, mem, g, o, rng)

		// A batch not clustered on the window: flat from here on.
		cols := windowBatch(mem, rng, 3000, 800, 1, w-10, swap)
		insert(cols)
		if p.mode != pairFlat {
			t.Fatalf("swap=%v: mode %d after an unclustered batch, want flat", swap, p.mode)
		}
		insert(windowBatch(mem, rng, 3000, 800, 1000, w, swap))
		lookup(windowBatch(mem, rng, 3000, 1600, 500, 98, swap))
		checkKeys(t, mem, g, o, rng)

		// Too many partition values in the middle of a batch.
		g.Reset()
		o = newOracle()
		insert(windowBatch(mem, rng, 3000, 50, 1000, 0, swap))
		if p.mode != pairParted {
			t.Fatalf("swap=%v: mode %d after Reset, want partitioned", swap, p.mode)
		}
		insert(windowBatch(mem, rng, 64*(maxParts+10), 50, 64, 10, swap))
		if p.mode != pairFlat {
			t.Fatalf("swap=%v: mode %d with %d partition values, want flat", swap, p.mode, maxParts+10)
		}
		insert(windowBatch(mem, rng, 3000, 50, 100, 0, swap))
		checkKeys(t, mem, g, o, rng)
		g.Release()
		mem.AssertSize(t, 0)
	}
}

// TestPairFlatMixedWidths: the flat two-column table with values that
// agree in their low 32 bits, NULLs and negatives.
func TestPairFlatMixedWidths(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(21, 22))
	g, err := New([]arrow.DataType{i64, i64}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	p := g.impl.(*pairImpl)
	o := newOracle()
	for b := range 6 {
		ab := array.NewInt64Builder(mem)
		bb := array.NewInt64Builder(mem)
		for range 2000 {
			x, y := int64(rng.IntN(300)), int64(rng.IntN(300))-150
			if b >= 3 && rng.IntN(4) == 0 {
				x += []int64{1 << 32, -(1 << 32), 1<<32 - 1 - 300}[rng.IntN(3)]
			}
			if rng.IntN(100) == 0 {
				ab.AppendNull()
			} else {
				ab.Append(x)
			}
			bb.Append(y)
		}
		cols := []arrow.Array{ab.NewArray(), bb.NewArray()}
		ab.Release()
		bb.Release()
		gids := make([]uint32, 2000)
		if err := g.Insert(cols, gids); err != nil {
			t.Fatal(err)
		}
		o.check(t, cols, gids, true)
		releaseAll(cols)
		if p.mode != pairFlat {
			t.Fatalf("batch %d: mode %d, want flat", b, p.mode)
		}
	}
	checkKeys(t, mem, g, o, rng)
}

// pairKeys keeps keys packed while they fit in 32 bits, across segments,
// and converts to 16-byte keys at the first that does not.
func TestPairKeys(t *testing.T) {
	for _, wideAt := range []int{-1, 0, 100, 3*keySegSize + 5} {
		var k pairKeys
		if wideAt < 0 {
			k.reserve(2*keySegSize + 10)
		}
		n := 4*keySegSize + 17
		want := make([]pairKey, n)
		for i := range n {
			a, b := uint64(int64(i)-5000), uint64(int64(-i))
			if i == wideAt {
				a = 1 << 40
			}
			want[i] = pairKey{a, b}
			k.add(a, b)
			if k.len() != i+1 {
				t.Fatalf("len %d after %d adds", k.len(), i+1)
			}
		}
		if k.wide != (wideAt >= 0) {
			t.Fatalf("wideAt %d: wide = %v", wideAt, k.wide)
		}
		for i, w := range want {
			if a, b := k.get(uint32(i)); a != w.a || b != w.b {
				t.Fatalf("wideAt %d: key %d = (%d, %d), want (%d, %d)", wideAt, i, a, b, w.a, w.b)
			}
		}
		sel := []uint32{uint32(n - 1), 0, keySegSize, uint32(wideAt + 1), 7}
		for c := range 2 {
			all := k.column(c, nil)
			part := k.column(c, sel)
			for i, w := range want {
				if v := [2]uint64{w.a, w.b}[c]; all[i] != v {
					t.Fatalf("column %d row %d = %d, want %d", c, i, all[i], v)
				}
			}
			for i, g := range sel {
				if part[i] != all[g] {
					t.Fatalf("column %d of group %d = %d, want %d", c, g, part[i], all[g])
				}
			}
		}
		if b := k.memoryBytes(); b < int64(n)*8 || b > int64(n)*16+keySegSize*16 {
			t.Fatalf("wideAt %d: %d bytes for %d keys", wideAt, b, n)
		}
		k.reset()
		k.add(1, 2)
		if a, b := k.get(0); k.len() != 1 || a != 1 || b != 2 {
			t.Fatalf("after reset: len %d, key (%d, %d)", k.len(), a, b)
		}
	}
}

// Events near a window boundary arrive a little out of order, so the rows
// of a batch alternate between two windows there: the table stays
// partitioned (switching between the last two sub-tables is free) and
// agrees with the oracle. Rows jumping among many windows still make it
// flat.
func TestPairPartitionedBoundaryJitter(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(8, 9))
	g, err := New([]arrow.DataType{i64, i64}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	o := newOracle()
	const n = 20000
	for b := range 6 {
		ub, wb := array.NewInt64Builder(mem), array.NewInt64Builder(mem)
		for i := range n {
			w := int64(b*2 + i*2/n) // two windows per batch
			if i > n/2-3000 && i < n/2+3000 && rng.IntN(2) == 0 {
				w ^= 1 // the boundary zone: half the rows late or early
			}
			ub.Append(int64(rng.IntN(3000)))
			wb.Append(w * 300_000)
		}
		cols := []arrow.Array{ub.NewArray(), wb.NewArray()}
		ub.Release()
		wb.Release()
		gids := make([]uint32, n)
		if err := g.Insert(cols, gids); err != nil {
			t.Fatal(err)
		}
		o.check(t, cols, gids, true)
		releaseAll(cols)
		if p := g.impl.(*pairImpl); p.mode != pairParted {
			t.Fatalf("batch %d: mode %d, want partitioned", b, p.mode)
		}
	}
	checkKeys(t, mem, g, o, rng)
	// Many windows in turn: flat from now on.
	ub, wb := array.NewInt64Builder(mem), array.NewInt64Builder(mem)
	for i := range n {
		ub.Append(int64(rng.IntN(3000)))
		wb.Append(int64(i%7) * 300_000)
	}
	cols := []arrow.Array{ub.NewArray(), wb.NewArray()}
	ub.Release()
	wb.Release()
	defer releaseAll(cols)
	gids := make([]uint32, n)
	if err := g.Insert(cols, gids); err != nil {
		t.Fatal(err)
	}
	o.check(t, cols, gids, true)
	if p := g.impl.(*pairImpl); p.mode != pairFlat {
		t.Fatalf("mode %d after an unclustered batch, want flat", p.mode)
	}
}

// Compact of the pair table in each mode (partitioned with whole windows
// dropped, with some keys of a window dropped, flat, with NULL keys):
// kept groups keep their order, keys and lookups; dropped keys come back
// as new groups; the table stays in its mode.
func TestPairCompact(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, tc := range []struct {
		name  string
		types []arrow.DataType
		batch func(rng *rand.Rand, b int) []arrow.Array
		keep  func(rng *rand.Rand, keys []arrow.Array, g int) bool
		mode  pairMode
	}{
		{"whole windows", []arrow.DataType{i64, i64},
			func(rng *rand.Rand, b int) []arrow.Array {
				return windowBatch(mem, rng, 4000, 500, 1000, int64(b*4), false)
			},
			func(rng *rand.Rand, keys []arrow.Array, g int) bool {
				return keys[1].IsNull(g) || keys[1].(*array.Int64).Value(g) >= 6*300_000
			}, pairParted},
		{"some keys of a window", []arrow.DataType{i64, i64},
			func(rng *rand.Rand, b int) []arrow.Array {
				return windowBatch(mem, rng, 4000, 500, 1000, int64(b*4), true)
			},
			func(rng *rand.Rand, keys []arrow.Array, g int) bool { return rng.IntN(3) > 0 }, pairParted},
		{"struct windows", []arrow.DataType{windowType, i64},
			func(rng *rand.Rand, b int) []arrow.Array {
				return genCols(t, mem, rng, []arrow.DataType{windowType, i64}, 3000, genOpts{card: 100, nullProb: 0.02})
			},
			func(rng *rand.Rand, keys []arrow.Array, g int) bool { return rng.IntN(2) > 0 }, 0},
		{"flat", []arrow.DataType{i64, i64},
			func(rng *rand.Rand, b int) []arrow.Array {
				return genCols(t, mem, rng, []arrow.DataType{i64, i64}, 3000, genOpts{card: 300, nullProb: 0.05})
			},
			func(rng *rand.Rand, keys []arrow.Array, g int) bool { return rng.IntN(2) > 0 }, pairFlat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, 12))
			g, err := New(tc.types, mem)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Release()
			o := newOracle()
			var batches [][]arrow.Array
			for b := range 3 {
				cols := tc.batch(rng, b)
				gids := make([]uint32, cols[0].Len())
				if err := g.Insert(cols, gids); err != nil {
					t.Fatal(err)
				}
				o.check(t, cols, gids, true)
				batches = append(batches, cols)
			}
			defer func() {
				for _, b := range batches {
					releaseAll(b)
				}
			}()
			mode := g.impl.(*pairImpl).mode
			if tc.mode != 0 && mode != tc.mode {
				t.Fatalf("mode %d before Compact, want %d", mode, tc.mode)
			}
			keys, err := g.Keys(mem, nil)
			if err != nil {
				t.Fatal(err)
			}
			keep := make([]bool, g.Len())
			o2 := newOracle()
			for i := range keep {
				if keep[i] = tc.keep(rng, keys, i); keep[i] {
					k := o.first[i]
					o2.ids[k] = uint32(len(o2.first))
					o2.first = append(o2.first, k)
				}
			}
			releaseAll(keys)
			if _, err := g.Compact(keep); err != nil {
				t.Fatal(err)
			}
			if g.impl.(*pairImpl).mode != mode {
				t.Fatalf("Compact changed the mode from %d to %d", mode, g.impl.(*pairImpl).mode)
			}
			if g.Len() != len(o2.first) {
				t.Fatalf("Len %d after Compact, want %d", g.Len(), len(o2.first))
			}
			checkKeys(t, mem, g, o2, rng)
			for _, cols := range batches {
				gids := make([]uint32, cols[0].Len())
				if err := g.Lookup(cols, gids); err != nil {
					t.Fatal(err)
				}
				o2.check(t, cols, gids, false)
			}
			for _, cols := range batches {
				gids := make([]uint32, cols[0].Len())
				if err := g.Insert(cols, gids); err != nil {
					t.Fatal(err)
				}
				o2.check(t, cols, gids, true)
			}
		})
	}
}
