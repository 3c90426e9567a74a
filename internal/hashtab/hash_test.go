package hashtab

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// int64WithGarbage builds an int64 array whose NULL rows hold the given
// values (builders write zeros there; real producers need not).
func int64WithGarbage(mem memory.Allocator, vals []int64, valid []bool) arrow.Array {
	vb := memory.NewResizableBuffer(mem)
	vb.Resize(len(vals) * 8)
	copy(arrow.Int64Traits.CastFromBytes(vb.Bytes()), vals)
	nb, nulls := validityBuffer(mem, notSlice(valid))
	return makeArray(i64, len(vals), []*memory.Buffer{nb, vb}, nulls)
}

func notSlice(b []bool) []bool {
	out := make([]bool, len(b))
	for i, v := range b {
		out[i] = !v
	}
	return out
}

func float64Array(mem memory.Allocator, vals []float64, valid []bool) arrow.Array {
	b := array.NewFloat64Builder(mem)
	defer b.Release()
	b.AppendValues(vals, valid)
	return b.NewArray()
}

func stringArray(mem memory.Allocator, vals []string, valid []bool) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.AppendValues(vals, valid)
	return b.NewArray()
}

func dictArray(mem memory.Allocator, dict []string, idx []int32, valid []bool) arrow.Array {
	d := stringArray(mem, dict, nil)
	defer d.Release()
	ib := array.NewInt32Builder(mem)
	defer ib.Release()
	ib.AppendValues(idx, valid)
	ix := ib.NewArray()
	defer ix.Release()
	return array.NewDictionaryArray(dictStringType, ix, d)
}

func hashes(t *testing.T, cols ...arrow.Array) []uint64 {
	t.Helper()
	out := make([]uint64, cols[0].Len())
	if err := HashColumns(cols, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHashColumnsEqualKeysHashEqually: the same logical keys in different
// physical forms (garbage under NULLs, -0.0, NaN payloads, dictionary vs
// plain, sliced vs not) hash the same, row by row.
func TestHashColumnsEqualKeysHashEqually(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	negZero := math.Copysign(0, -1)
	nan2 := math.Float64frombits(0xfff8000000000123)

	a1 := int64WithGarbage(mem, []int64{1, 999, 3, 4}, []bool{true, false, true, true})
	a2 := int64WithGarbage(mem, []int64{1, -5, 3, 4}, []bool{true, false, true, true})
	f1 := float64Array(mem, []float64{0, math.NaN(), 2, 7}, []bool{true, true, true, false})
	f2 := float64Array(mem, []float64{negZero, nan2, 2, 8}, []bool{true, true, true, false})
	s1 := stringArray(mem, []string{"a", "", "b", "c"}, []bool{true, true, false, true})
	d2 := dictArray(mem, []string{"c", "x", "", "a"}, []int32{3, 2, 1, 0}, []bool{true, true, false, true})
	big := stringArray(mem, []string{"zz", "a", "", "q", "c", "zz"}, []bool{true, true, true, false, true, true})
	s3 := array.NewSlice(big, 1, 5)
	big.Release()
	for _, a := range []arrow.Array{a1, a2, f1, f2, s1, d2, s3} {
		defer a.Release()
	}

	for _, pair := range [][2][]arrow.Array{
		{{a1}, {a2}},
		{{f1}, {f2}},
		{{s1}, {d2}},
		{{s1}, {s3}},
		{{a1, f1, s1}, {a2, f2, d2}},
	} {
		h1, h2 := hashes(t, pair[0]...), hashes(t, pair[1]...)
		for i := range h1 {
			if h1[i] != h2[i] {
				t.Errorf("%s vs %s: row %d hashes %x and %x", pair[0][0].DataType(), pair[1][0].DataType(), i, h1[i], h2[i])
			}
		}
	}
	// NULL differs from the zero value, and column order matters.
	h := hashes(t, a1)
	z := int64WithGarbage(mem, []int64{0}, []bool{true})
	defer z.Release()
	if hz := hashes(t, z); hz[0] == h[1] {
		t.Error("NULL hashes like 0")
	}
	if x, y := hashes(t, a1, f1), hashes(t, f1, a1); x[0] == y[0] {
		t.Error("(a, b) hashes like (b, a)")
	}
}

// TestHashColumnsGolden pins the partitioning hash: it is persisted (state
// store partitions), so a change must be deliberate.
func TestHashColumnsGolden(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := int64WithGarbage(mem, []int64{0, 1, -1, 42}, []bool{true, true, true, false})
	defer a.Release()
	s := stringArray(mem, []string{"", "a", "hello, world", "a much longer string value"}, nil)
	defer s.Release()
	got := append(hashes(t, a), hashes(t, s)...)
	got = append(got, hashes(t, a, s)...)
	want := []uint64{
		0x1ff5c2923a788d2c, 0x38f94c439ac36242, 0xdff5c05abb606d30, 0x9e3779b97f4a7c15,
		0x74a74c639755a605, 0xd272602c25a9ad74, 0x6d1f7e15bcd49227, 0x0d0876eb6f9e43f2,
		0xd38b9d3fdc011567, 0xaff12605f0479579, 0x236352872cb3dc0a, 0x420e68eb2771115f,
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("hash %d = %#x, want %#x", i, got[i], want[i])
		}
	}
}

// TestHashSpread: distinct int64 and string keys do not collide in 64 bits
// and fill the buckets of a 1024-slot table evenly, by low and by top bits.
func TestHashSpread(t *testing.T) {
	const n = 1 << 16
	for name, h := range map[string]func(i int) uint64{
		"int64":  func(i int) uint64 { return hash64(uint64(i), tableSeed) },
		"pair":   func(i int) uint64 { return hashPair(uint64(i>>4), uint64(i&15)*300000, tableSeed) },
		"string": func(i int) uint64 { return hashString(word(i), tableSeed) },
	} {
		seen := make(map[uint64]bool, n)
		var low, high [1024]int // tables index by low bits (sub-tables) and top bits
		for i := range n {
			x := h(i)
			if seen[x] {
				t.Fatalf("%s: collision at %d", name, i)
			}
			seen[x] = true
			low[x&1023]++
			high[x>>54]++
		}
		for b := range low {
			for _, c := range []int{low[b], high[b]} {
				if c < n/1024/2 || c > n/1024*2 {
					t.Fatalf("%s: bucket %d has %d keys, expected about %d", name, b, c, n/1024)
				}
			}
		}
	}
}

func TestNullRows(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	a := int64WithGarbage(mem, []int64{1, 2, 3, 4, 5}, []bool{true, false, true, true, true})
	d := dictArray(mem, []string{"x", "y"}, []int32{0, 1, 0, 1, 0}, []bool{true, true, true, false, true})
	defer a.Release()
	defer d.Release()
	// A dictionary whose value at index 1 is NULL.
	dv := stringArray(mem, []string{"x", ""}, []bool{true, false})
	defer dv.Release()
	ib := array.NewInt32Builder(mem)
	ib.AppendValues([]int32{0, 0, 1, 0, 0}, nil)
	ix := ib.NewArray()
	ib.Release()
	defer ix.Release()
	dn := array.NewDictionaryArray(dictStringType, ix, dv)
	defer dn.Release()

	out := make([]bool, 5)
	n, err := NullRows([]arrow.Array{a, d, dn}, out)
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{false, true, true, true, false}
	if n != 3 {
		t.Errorf("NullRows = %d, want 3", n)
	}
	for i := range want {
		if out[i] != want[i] {
			t.Fatalf("NullRows out = %v, want %v", out, want)
		}
	}
	empty := make([]bool, 0)
	e := array.NewSlice(a, 0, 0)
	defer e.Release()
	if n, err := NullRows([]arrow.Array{e}, empty); n != 0 || err != nil {
		t.Fatalf("empty: %d, %v", n, err)
	}
}

// TestGrouperFloatsAndGarbage pins the float rules and that values under
// NULLs never matter, on every specialisation.
func TestGrouperFloatsAndGarbage(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	negZero := math.Copysign(0, -1)
	f := float64Array(mem, []float64{negZero, 0, math.NaN(), math.Float64frombits(0xfff8000000000007), 1, 0}, []bool{true, true, true, true, true, false})
	defer f.Release()
	ga := int64WithGarbage(mem, []int64{7, 1, 7, 2, 3, 4}, []bool{true, false, true, false, true, true})
	defer ga.Release()
	s := stringArray(mem, []string{"a", "a", "a", "a", "b", "b"}, nil)
	defer s.Release()

	for _, tc := range []struct {
		cols []arrow.Array
		want []uint32
	}{
		{[]arrow.Array{f}, []uint32{0, 0, 1, 1, 2, 3}},
		{[]arrow.Array{ga}, []uint32{0, 1, 0, 1, 2, 3}},
		{[]arrow.Array{ga, f}, []uint32{0, 1, 2, 3, 4, 5}},
		{[]arrow.Array{f, ga}, []uint32{0, 1, 2, 3, 4, 5}},
		{[]arrow.Array{s, ga, f}, []uint32{0, 1, 2, 3, 4, 5}},
		{[]arrow.Array{s, ga}, []uint32{0, 1, 0, 1, 2, 3}},
	} {
		types := make([]arrow.DataType, len(tc.cols))
		for i, c := range tc.cols {
			types[i] = c.DataType()
		}
		g, err := New(types, mem)
		if err != nil {
			t.Fatal(err)
		}
		gids := make([]uint32, 6)
		if err := g.Insert(tc.cols, gids); err != nil {
			t.Fatal(err)
		}
		for i := range gids {
			if gids[i] != tc.want[i] {
				t.Fatalf("%s: gids %v, want %v", rowTypes(types), gids, tc.want)
			}
		}
		// Inserting again finds the same groups (now through the
		// candidate/verify path rather than group creation).
		again := make([]uint32, 6)
		if err := g.Insert(tc.cols, again); err != nil {
			t.Fatal(err)
		}
		for i := range gids {
			if again[i] != gids[i] {
				t.Fatalf("%s: second insert %v, first %v", rowTypes(types), again, gids)
			}
		}
		g.Release()
	}

	g, err := New([]arrow.DataType{f64}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	if err := g.Insert([]arrow.Array{f}, make([]uint32, 6)); err != nil {
		t.Fatal(err)
	}
	keys, err := g.Keys(mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAll(keys)
	k := keys[0].(*array.Float64)
	if math.Signbit(k.Value(0)) || math.Float64bits(k.Value(1)) != canonNaN64 || k.Value(2) != 1 || !k.IsNull(3) {
		t.Fatalf("float keys %v: want [0 NaN 1 null] with +0 and the canonical NaN", k)
	}
}

// TestEmptyInput: zero rows are fine everywhere.
func TestEmptyInput(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(5, 5))
	for _, types := range [][]arrow.DataType{{i64}, {i64, i64}, {str}, {i32, str, f64}, {dictStringType}} {
		g, err := New(types, mem)
		if err != nil {
			t.Fatal(err)
		}
		cols := genCols(t, mem, rng, types, 0, genOpts{card: 3})
		if err := g.Insert(cols, nil); err != nil {
			t.Fatal(err)
		}
		if err := g.Lookup(cols, []uint32{}); err != nil {
			t.Fatal(err)
		}
		if err := HashColumns(cols, nil); err != nil {
			t.Fatal(err)
		}
		keys, err := g.Keys(mem, nil)
		if err != nil {
			t.Fatal(err)
		}
		if g.Len() != 0 || len(keys) != len(types) || keys[0].Len() != 0 {
			t.Fatalf("%s: Len %d, keys %v", rowTypes(types), g.Len(), keys)
		}
		releaseAll(keys)
		releaseAll(cols)
		g.Release()
	}
}

// TestStringLengths groups strings of every length from 0 to 40 over a
// two-letter alphabet, so that many share prefixes and suffixes: every
// branch of hashString and of the inline compare sees equal and unequal
// keys.
func TestStringLengths(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(4, 4))
	var vals []string
	for range 6000 {
		n := rng.IntN(41)
		b := make([]byte, n)
		for i := range b {
			b[i] = "ab"[rng.IntN(2)]
		}
		if n > 0 && rng.IntN(4) == 0 {
			b[0] = 0 // NUL bytes are ordinary bytes
		}
		vals = append(vals, string(b))
	}
	for _, types := range [][]arrow.DataType{{str}, {str, i64}} {
		g, err := New(types, mem)
		if err != nil {
			t.Fatal(err)
		}
		o := newOracle()
		for lo := 0; lo < len(vals); lo += 1000 {
			s := stringArray(mem, vals[lo:lo+1000], nil)
			cols := []arrow.Array{s}
			if len(types) == 2 {
				z := int64WithGarbage(mem, make([]int64, 1000), nil)
				cols = append(cols, z)
			}
			gids := make([]uint32, 1000)
			if err := g.Insert(cols, gids); err != nil {
				t.Fatal(err)
			}
			o.check(t, cols, gids, true)
			releaseAll(cols)
		}
		checkKeys(t, mem, g, o, rng)
		g.Release()
	}
}
