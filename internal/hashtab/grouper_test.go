package hashtab

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var (
	i64  = arrow.PrimitiveTypes.Int64
	i32  = arrow.PrimitiveTypes.Int32
	str  = arrow.BinaryTypes.String
	f64  = arrow.PrimitiveTypes.Float64
	tsMs = &arrow.TimestampType{Unit: arrow.Millisecond}
	// windowType is the event-time window key of streaming aggregations.
	windowType = arrow.StructOf(arrow.Field{Name: "start", Type: tsMs, Nullable: true}, arrow.Field{Name: "end", Type: tsMs, Nullable: true})
)

type oracleCase struct {
	name    string
	types   []arrow.DataType
	impl    string // expected specialisation
	card    int
	null    float64
	batches int
	rows    int
}

var oracleCases = []oracleCase{
	{"int64", []arrow.DataType{i64}, "*hashtab.fixedImpl", 300, 0.05, 6, 700},
	{"int64 no nulls", []arrow.DataType{i64}, "*hashtab.fixedImpl", 5000, 0, 4, 3000},
	{"int32", []arrow.DataType{i32}, "*hashtab.fixedImpl", 100, 0.1, 4, 500},
	{"int16", []arrow.DataType{arrow.PrimitiveTypes.Int16}, "*hashtab.fixedImpl", 40, 0.1, 3, 300},
	{"uint8", []arrow.DataType{arrow.PrimitiveTypes.Uint8}, "*hashtab.fixedImpl", 256, 0.1, 3, 900},
	{"uint64", []arrow.DataType{arrow.PrimitiveTypes.Uint64}, "*hashtab.fixedImpl", 100, 0.1, 3, 300},
	{"bool", []arrow.DataType{arrow.FixedWidthTypes.Boolean}, "*hashtab.fixedImpl", 2, 0.2, 3, 100},
	{"date32", []arrow.DataType{arrow.FixedWidthTypes.Date32}, "*hashtab.fixedImpl", 60, 0.1, 3, 300},
	{"timestamp", []arrow.DataType{tsMs}, "*hashtab.fixedImpl", 60, 0.1, 3, 300},
	{"float64 NaN and -0", []arrow.DataType{f64}, "*hashtab.fixedImpl", 20, 0.1, 5, 400},
	{"float32 NaN and -0", []arrow.DataType{arrow.PrimitiveTypes.Float32}, "*hashtab.fixedImpl", 20, 0.1, 5, 400},
	{"pair int64", []arrow.DataType{i64, i64}, "*hashtab.pairImpl", 60, 0.05, 6, 800},
	{"pair int32 timestamp", []arrow.DataType{i32, tsMs}, "*hashtab.pairImpl", 40, 0.1, 4, 500},
	{"pair float64 bool", []arrow.DataType{f64, arrow.FixedWidthTypes.Boolean}, "*hashtab.pairImpl", 20, 0.1, 4, 300},
	{"string", []arrow.DataType{str}, "*hashtab.bytesImpl", 300, 0.05, 6, 700},
	{"large_string", []arrow.DataType{arrow.BinaryTypes.LargeString}, "*hashtab.bytesImpl", 100, 0.05, 3, 300},
	{"binary", []arrow.DataType{arrow.BinaryTypes.Binary}, "*hashtab.bytesImpl", 100, 0.05, 3, 300},
	{"decimal128", []arrow.DataType{&arrow.Decimal128Type{Precision: 30, Scale: 2}}, "*hashtab.bytesImpl", 50, 0.1, 3, 300},
	{"dictionary string", []arrow.DataType{dictStringType}, "*hashtab.bytesImpl", 40, 0.1, 8, 300},
	{"generic int32 string float64", []arrow.DataType{i32, str, f64}, "*hashtab.genericImpl", 6, 0.1, 6, 900},
	{"generic dict, decimal, int64", []arrow.DataType{dictStringType, &arrow.Decimal128Type{Precision: 10, Scale: 0}, i64}, "*hashtab.genericImpl", 5, 0.1, 5, 500},
	{"generic three int64", []arrow.DataType{i64, i64, i64}, "*hashtab.genericImpl", 8, 0.05, 4, 600},
	{"struct", []arrow.DataType{arrow.StructOf(arrow.Field{Name: "a", Type: i32, Nullable: true}, arrow.Field{Name: "b", Type: str, Nullable: true})}, "*hashtab.fixedImpl", 4, 0.1, 4, 300},
	{"window struct and int64", []arrow.DataType{windowType, i64}, "*hashtab.pairImpl", 60, 0.05, 6, 800},
	{"struct of struct and list", []arrow.DataType{arrow.StructOf(arrow.Field{Name: "s", Type: windowType, Nullable: true}, arrow.Field{Name: "l", Type: arrow.ListOf(i32), Nullable: true})}, "*hashtab.fixedImpl", 4, 0.1, 4, 300},
	{"struct, string, struct", []arrow.DataType{arrow.StructOf(arrow.Field{Name: "a", Type: i64, Nullable: true}), str, arrow.StructOf(arrow.Field{Name: "x", Type: f64, Nullable: true}, arrow.Field{Name: "y", Type: arrow.FixedWidthTypes.Boolean, Nullable: true})}, "*hashtab.genericImpl", 5, 0.1, 4, 400},
	{"empty struct and int64", []arrow.DataType{arrow.StructOf(), i64}, "*hashtab.genericImpl", 5, 0.2, 3, 200},
	{"list and int64", []arrow.DataType{arrow.ListOf(i32), i64}, "*hashtab.genericImpl", 4, 0.1, 4, 300},
	{"map, large list, fixed-size list", []arrow.DataType{arrow.MapOf(str, i32), arrow.LargeListOf(str), arrow.FixedSizeListOf(2, i64)}, "*hashtab.genericImpl", 4, 0.1, 4, 300},
	{"struct of dictionary", []arrow.DataType{arrow.StructOf(arrow.Field{Name: "d", Type: dictStringType, Nullable: true})}, "*hashtab.fixedImpl", 4, 0.1, 4, 200},
	{"narrow and rare fixed types", []arrow.DataType{arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Uint16, arrow.FixedWidthTypes.Date64,
		arrow.FixedWidthTypes.Time32s, arrow.FixedWidthTypes.Duration_ms, arrow.FixedWidthTypes.Float16, arrow.FixedWidthTypes.DayTimeInterval}, "*hashtab.genericImpl", 3, 0.1, 4, 400},
	{"wide and view types", []arrow.DataType{&arrow.FixedSizeBinaryType{ByteWidth: 3}, &arrow.Decimal256Type{Precision: 40, Scale: 3},
		arrow.BinaryTypes.StringView, arrow.BinaryTypes.BinaryView, arrow.FixedWidthTypes.MonthDayNanoInterval, arrow.BinaryTypes.LargeBinary}, "*hashtab.genericImpl", 3, 0.1, 4, 400},
	{"null type", []arrow.DataType{arrow.Null, i64}, "*hashtab.pairImpl", 5, 0.1, 3, 100},
	{"string_view", []arrow.DataType{arrow.BinaryTypes.StringView}, "*hashtab.bytesImpl", 30, 0.1, 3, 300},
	{"fixed_size_binary", []arrow.DataType{&arrow.FixedSizeBinaryType{ByteWidth: 5}}, "*hashtab.bytesImpl", 30, 0.1, 3, 300},
	{"float16", []arrow.DataType{arrow.FixedWidthTypes.Float16}, "*hashtab.fixedImpl", 30, 0.1, 3, 300},
}

func TestGrouperMatchesOracle(t *testing.T) {
	for ci, tc := range oracleCases {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rng := rand.New(rand.NewPCG(uint64(ci), 42))
			g, err := New(tc.types, mem)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Release()
			if got := typeName(g.impl); got != tc.impl {
				t.Errorf("implementation %s, want %s", got, tc.impl)
			}
			o := newOracle()
			for b := 0; b < tc.batches; b++ {
				n := tc.rows
				if b == 1 {
					n = 0 // an empty batch in the middle
				}
				cols := genCols(t, mem, rng, tc.types, n, genOpts{card: tc.card, nullProb: tc.null})
				gids := make([]uint32, n)
				if err := g.Insert(cols, gids); err != nil {
					t.Fatal(err)
				}
				o.check(t, cols, gids, true)
				releaseAll(cols)
			}
			if g.Len() != len(o.first) {
				t.Fatalf("Len() = %d, oracle has %d groups", g.Len(), len(o.first))
			}
			checkKeys(t, mem, g, o, rng)

			// Lookup over a wider domain: known keys find their group,
			// unknown ones get NoGroup, and nothing is created.
			cols := genCols(t, mem, rng, tc.types, tc.rows, genOpts{card: tc.card * 2, nullProb: tc.null})
			gids := make([]uint32, tc.rows)
			if err := g.Lookup(cols, gids); err != nil {
				t.Fatal(err)
			}
			before := len(o.first)
			o.check(t, cols, gids, false)
			releaseAll(cols)
			if g.Len() != before {
				t.Fatalf("Lookup created groups: Len() = %d, was %d", g.Len(), before)
			}
		})
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *fixedImpl:
		return "*hashtab.fixedImpl"
	case *pairImpl:
		return "*hashtab.pairImpl"
	case *bytesImpl:
		return "*hashtab.bytesImpl"
	case *genericImpl:
		return "*hashtab.genericImpl"
	}
	return "?"
}

func genCols(t testing.TB, mem memory.Allocator, rng *rand.Rand, types []arrow.DataType, n int, o genOpts) []arrow.Array {
	cols := make([]arrow.Array, len(types))
	for c, dt := range types {
		cols[c] = genArray(t, mem, rng, dt, n, o)
	}
	return cols
}

// oracle numbers distinct row keys in first-seen order with a Go map.
type oracle struct {
	ids   map[string]uint32
	first []string
}

func newOracle() *oracle { return &oracle{ids: map[string]uint32{}} }

func (o *oracle) check(t *testing.T, cols []arrow.Array, gids []uint32, create bool) {
	t.Helper()
	bad := 0
	for i := range gids {
		k := rowKey(cols, i)
		want, ok := o.ids[k]
		if !ok {
			want = NoGroup
			if create {
				want = uint32(len(o.first))
				o.ids[k] = want
				o.first = append(o.first, k)
			}
		}
		if gids[i] != want {
			if bad++; bad <= 5 {
				t.Errorf("row %d key %s: group %d, want %d", i, k, gids[i], want)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d rows in the wrong group", bad, len(gids))
	}
}

func checkKeys(t *testing.T, mem memory.Allocator, g *Grouper, o *oracle, rng *rand.Rand) {
	t.Helper()
	keys, err := g.Keys(mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAll(keys)
	for c, k := range keys {
		if !arrow.TypeEqual(k.DataType(), g.KeyTypes()[c]) {
			t.Errorf("key column %d: type %s, want %s", c, k.DataType(), g.KeyTypes()[c])
		}
		if k.Len() != g.Len() {
			t.Fatalf("key column %d: %d rows, want %d", c, k.Len(), g.Len())
		}
	}
	for gid, want := range o.first {
		if got := rowKey(keys, gid); got != want {
			t.Fatalf("Keys: group %d is %s, want %s", gid, got, want)
		}
	}
	// A selection, in an order of its own, with repeats.
	var sel []uint32
	for range 50 {
		if g.Len() > 0 {
			sel = append(sel, uint32(rng.IntN(g.Len())))
		}
	}
	part, err := g.Keys(mem, sel)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAll(part)
	for i, gid := range sel {
		if got := rowKey(part, i); got != o.first[gid] {
			t.Fatalf("Keys(sel): row %d (group %d) is %s, want %s", i, gid, got, o.first[gid])
		}
	}
}

// TestGrowth inserts many distinct keys in small batches, so the table
// rehashes many times, including in the middle of a chunk.
func TestGrowth(t *testing.T) {
	for _, types := range [][]arrow.DataType{{i64}, {i64, i64}, {str}, {i32, str, f64}} {
		t.Run(rowTypes(types), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rng := rand.New(rand.NewPCG(7, 7))
			g, err := New(types, mem)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Release()
			o := newOracle()
			for b := range 12 {
				if b == 6 {
					g.Reserve(g.Len() * 8) // grow in the middle, from the slots
				}
				n := 300 + rng.IntN(4000)
				cols := genCols(t, mem, rng, types, n, genOpts{card: 20000, nullProb: 0.01})
				gids := make([]uint32, n)
				if err := g.Insert(cols, gids); err != nil {
					t.Fatal(err)
				}
				o.check(t, cols, gids, true)
				releaseAll(cols)
			}
			if g.Len() < 1000 {
				t.Fatalf("only %d groups: the test does not exercise growth", g.Len())
			}
			checkKeys(t, mem, g, o, rng)
			if g.MemoryBytes() <= 0 {
				t.Fatal("MemoryBytes() <= 0 with groups present")
			}
		})
	}
}

func rowTypes(types []arrow.DataType) string {
	s := ""
	for i, dt := range types {
		if i > 0 {
			s += ","
		}
		s += dt.String()
	}
	return s
}

// TestResetReserveRelease reuses one Grouper: numbering restarts at 0.
func TestResetReserveRelease(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, types := range [][]arrow.DataType{{i64}, {i64, i64}, {str}, {i32, str}} {
		g, err := New(types, mem)
		if err != nil {
			t.Fatal(err)
		}
		g.Reserve(10000)
		rng := rand.New(rand.NewPCG(1, 2))
		for round, op := range []func(){g.Reset, g.Release, func() { g.Reserve(50) }} {
			g.Reset()
			o := newOracle()
			cols := genCols(t, mem, rng, types, 2000, genOpts{card: 500, nullProb: 0.05})
			gids := make([]uint32, 2000)
			if err := g.Insert(cols, gids); err != nil {
				t.Fatal(err)
			}
			o.check(t, cols, gids, true)
			checkKeys(t, mem, g, o, rng)
			releaseAll(cols)
			full := g.MemoryBytes()
			op()
			if round < 2 && g.Len() != 0 {
				t.Fatalf("%s: Len() = %d after Reset/Release", rowTypes(types), g.Len())
			}
			if round == 1 && g.MemoryBytes() >= full/4 {
				t.Fatalf("%s: MemoryBytes() = %d after Release, %d before", rowTypes(types), g.MemoryBytes(), full)
			}
		}
		g.Release()
	}
}

// TestDictionaryAcrossBatches: the same strings arrive under different
// dictionaries (and plain) and must land in the same groups.
func TestDictionaryAcrossBatches(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	g, err := New([]arrow.DataType{dictStringType}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	mk := func(dict []string, idx []int32, nullIdx int) arrow.Array {
		db := array.NewStringBuilder(mem)
		db.AppendValues(dict, nil)
		d := db.NewArray()
		db.Release()
		ib := array.NewInt32Builder(mem)
		for i, x := range idx {
			if i == nullIdx {
				ib.AppendNull()
			} else {
				ib.Append(x)
			}
		}
		ix := ib.NewArray()
		ib.Release()
		a := array.NewDictionaryArray(dictStringType, ix, d)
		d.Release()
		ix.Release()
		return a
	}
	a := mk([]string{"x", "y", "z"}, []int32{0, 1, 2, 0}, 3)
	b := mk([]string{"z", "x"}, []int32{0, 1, 1, 0}, 2)
	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"y", "q", "z"}, nil)
	sb.AppendNull()
	c := sb.NewArray()
	sb.Release()
	defer a.Release()
	defer b.Release()
	defer c.Release()
	want := [][]uint32{{0, 1, 2, 3}, {2, 0, 3, 2}, {1, 4, 2, 3}}
	for i, arr := range []arrow.Array{a, b, c} {
		gids := make([]uint32, arr.Len())
		if err := g.Insert([]arrow.Array{arr}, gids); err != nil {
			t.Fatal(err)
		}
		for j := range gids {
			if gids[j] != want[i][j] {
				t.Fatalf("batch %d: gids %v, want %v", i, gids, want[i])
			}
		}
	}
	keys, err := g.Keys(mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAll(keys)
	if got := keys[0].String(); got != `["x" "y" "z" (null) "q"]` {
		t.Fatalf("Keys = %s", got)
	}
}

func TestErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	if _, err := New(nil, mem); !errors.Is(err, ErrBadInput) {
		t.Errorf("New(nil): %v, want ErrBadInput", err)
	}
	if _, err := New([]arrow.DataType{arrow.SparseUnionOf(nil, nil)}, mem); !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("New(union): %v, want ErrUnsupportedType", err)
	}
	if _, err := New([]arrow.DataType{arrow.ListOf(arrow.SparseUnionOf(nil, nil))}, mem); !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("New(list<union>): %v, want ErrUnsupportedType", err)
	}
	g, err := New([]arrow.DataType{i64, str}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	rng := rand.New(rand.NewPCG(3, 3))
	good := genCols(t, mem, rng, []arrow.DataType{i64, str}, 10, genOpts{card: 3})
	defer releaseAll(good)
	short := genArray(t, mem, rng, str, 9, genOpts{card: 3})
	defer short.Release()
	wrong := genArray(t, mem, rng, i32, 10, genOpts{card: 3})
	defer wrong.Release()
	gids := make([]uint32, 10)
	for name, call := range map[string]func() error{
		"one column":   func() error { return g.Insert(good[:1], gids) },
		"wrong type":   func() error { return g.Insert([]arrow.Array{good[0], wrong}, gids) },
		"short column": func() error { return g.Insert([]arrow.Array{good[0], short}, gids) },
		"nil column":   func() error { return g.Lookup([]arrow.Array{good[0], nil}, gids) },
		"short gids":   func() error { return g.Insert(good, gids[:5]) },
		"keys range":   func() error { _, err := g.Keys(mem, []uint32{99}); return err },
		"hash no cols": func() error { return HashColumns(nil, nil) },
		"hash short":   func() error { return HashColumns([]arrow.Array{good[0], short}, make([]uint64, 10)) },
		"hash out len": func() error { return HashColumns(good, make([]uint64, 3)) },
		"nullrows len": func() error { _, err := NullRows(good, make([]bool, 3)); return err },
		"hash unsupported": func() error {
			u := array.MakeArrayOfNull(mem, arrow.SparseUnionOf([]arrow.Field{{Name: "a", Type: i32}}, []arrow.UnionTypeCode{0}), 10)
			defer u.Release()
			return HashColumns([]arrow.Array{u}, make([]uint64, 10))
		},
	} {
		if err := call(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if g.Len() != 0 {
		t.Fatalf("failed calls created %d groups", g.Len())
	}
}

// TestDictionaryIndexOutOfRange: a malformed dictionary array is an error,
// not a panic.
func TestDictionaryIndexOutOfRange(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	db := array.NewStringBuilder(mem)
	db.AppendValues([]string{"a"}, nil)
	d := db.NewArray()
	db.Release()
	defer d.Release()
	ib := array.NewInt32Builder(mem)
	ib.AppendValues([]int32{0, 5}, nil)
	ix := ib.NewArray()
	ib.Release()
	defer ix.Release()
	data := array.NewDataWithDictionary(dictStringType, 2, ix.Data().Buffers(), 0, 0, d.Data().(*array.Data))
	arr := array.MakeFromData(data)
	data.Release()
	defer arr.Release()
	g, err := New([]arrow.DataType{str}, mem)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Insert([]arrow.Array{arr}, make([]uint32, 2)); !errors.Is(err, ErrBadInput) {
		t.Fatalf("Insert: %v, want ErrBadInput", err)
	}
	if err := HashColumns([]arrow.Array{arr}, make([]uint64, 2)); !errors.Is(err, ErrBadInput) {
		t.Fatalf("HashColumns: %v, want ErrBadInput", err)
	}
}

// TestFirstOccurrences checks the DISTINCT recipe given in Insert's doc.
func TestFirstOccurrences(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(9, 9))
	g, err := New([]arrow.DataType{str, i64}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	seen := map[string]bool{}
	for range 4 {
		cols := genCols(t, mem, rng, []arrow.DataType{str, i64}, 500, genOpts{card: 30, nullProb: 0.1})
		gids := make([]uint32, 500)
		next := uint32(g.Len())
		if err := g.Insert(cols, gids); err != nil {
			t.Fatal(err)
		}
		for i, id := range gids {
			k := rowKey(cols, i)
			first := id == next
			if first {
				next++
			}
			if first == seen[k] {
				t.Fatalf("row %d (%s): first occurrence %v, but seen before %v", i, k, first, seen[k])
			}
			seen[k] = true
		}
		releaseAll(cols)
	}
}

// TestFixedWidens: the single-key table starts with 32-bit slots and
// must widen when a key needs 64 bits, keeping every group.
func TestFixedWidens(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	g, err := New([]arrow.DataType{i64}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	o := newOracle()
	for _, vals := range [][]int64{
		{1, 2, 3, -1, 2, 1 << 20, 0},
		{-1, 1<<32 - 1, 1 << 40, 3, -(1 << 33), 1<<32 - 1, 0},
		{1<<32 - 1, -1, 1 << 20, 7},
	} {
		a := int64WithGarbage(mem, vals, []bool{true, true, true, true, true, true, false}[:len(vals)])
		gids := make([]uint32, len(vals))
		if err := g.Insert([]arrow.Array{a}, gids); err != nil {
			t.Fatal(err)
		}
		o.check(t, []arrow.Array{a}, gids, true)
		a.Release()
	}
	if !g.impl.(*fixedImpl).wideMode {
		t.Fatal("table did not widen")
	}
	checkKeys(t, mem, g, o, rand.New(rand.NewPCG(1, 1)))
}

// TestConcurrentGroupers: Groupers share no state, and HashColumns may be
// called from many goroutines (run with -race).
func TestConcurrentGroupers(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 4 {
		for _, types := range [][]arrow.DataType{{i64}, {i64, i64}, {str}, {i32, str}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 3))
				g, err := New(types, mem)
				if err != nil {
					errs <- err
					return
				}
				defer g.Release()
				for range 3 {
					cols := genCols(t, mem, rng, types, 2000, genOpts{card: 300, nullProb: 0.05})
					if err := g.Insert(cols, make([]uint32, 2000)); err != nil {
						errs <- err
					}
					if err := HashColumns(cols, make([]uint64, 2000)); err != nil {
						errs <- err
					}
					releaseAll(cols)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestCompact drops a random half of the groups: kept ones keep their
// order and keys, dropped ones come back as new groups.
func TestCompact(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, types := range [][]arrow.DataType{{i64}, {i64, i64}, {dictStringType}, {i32, str, f64}, {arrow.ListOf(i32)}} {
		rng := rand.New(rand.NewPCG(5, 6))
		g, err := New(types, mem)
		if err != nil {
			t.Fatal(err)
		}
		cols := genCols(t, mem, rng, types, 3000, genOpts{card: 200, nullProb: 0.05})
		gids := make([]uint32, 3000)
		if err := g.Insert(cols, gids); err != nil {
			t.Fatal(err)
		}
		before := g.Len()
		keep := make([]bool, before)
		kept := 0
		for i := range keep {
			if keep[i] = rng.IntN(2) == 0; keep[i] {
				kept++
			}
		}
		remap, err := g.Compact(keep)
		if err != nil {
			t.Fatal(err)
		}
		if g.Len() != kept {
			t.Fatalf("%s: Len %d after Compact, kept %d", rowTypes(types), g.Len(), kept)
		}
		next := uint32(0)
		for old, k := range keep {
			want := NoGroup
			if k {
				want = next
				next++
			}
			if remap[old] != want {
				t.Fatalf("%s: group %d maps to %d, want %d", rowTypes(types), old, remap[old], want)
			}
		}
		again := make([]uint32, 3000)
		if err := g.Insert(cols, again); err != nil {
			t.Fatal(err)
		}
		fresh := uint32(kept)
		seen := map[uint32]uint32{}
		for i, old := range gids {
			if keep[old] {
				if again[i] != remap[old] {
					t.Fatalf("%s: row %d: group %d, want %d", rowTypes(types), i, again[i], remap[old])
				}
				continue
			}
			if id, ok := seen[old]; ok {
				if again[i] != id {
					t.Fatalf("%s: row %d: dropped key split into groups %d and %d", rowTypes(types), i, id, again[i])
				}
				continue
			}
			if again[i] != fresh {
				t.Fatalf("%s: row %d: dropped key got group %d, want new group %d", rowTypes(types), i, again[i], fresh)
			}
			seen[old] = fresh
			fresh++
		}
		if _, err := g.Compact(keep[:1]); !errors.Is(err, ErrBadInput) {
			t.Fatalf("Compact with a short keep: %v", err)
		}
		releaseAll(cols)
		g.Release()
	}
}

// TestProbersConcurrent: Probers of one Grouper look up in parallel
// (run with -race), including batches that would make Insert change the
// layout (keys beyond 32 bits, unclustered windows), and agree with the
// oracle.
func TestProbersConcurrent(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	type build struct {
		name   string
		types  []arrow.DataType
		insert func(rng *rand.Rand) []arrow.Array
		probe  func(rng *rand.Rand) []arrow.Array
	}
	gen := func(types []arrow.DataType, card int) func(*rand.Rand) []arrow.Array {
		return func(rng *rand.Rand) []arrow.Array {
			return genCols(t, mem, rng, types, 1500, genOpts{card: card, nullProb: 0.05})
		}
	}
	for _, b := range []build{
		{"fixed", []arrow.DataType{i64}, gen([]arrow.DataType{i64}, 200), func(rng *rand.Rand) []arrow.Array {
			vals := make([]int64, 1500)
			for i := range vals {
				vals[i] = int64(rng.IntN(400))*1_000_003 - 7
				if rng.IntN(5) == 0 {
					vals[i] += 1 << 40 // cannot be in the narrow table
				}
			}
			return []arrow.Array{int64s(vals)}
		}},
		{"pair parted", []arrow.DataType{i64, i64},
			func(rng *rand.Rand) []arrow.Array { return windowBatch(mem, rng, 3000, 500, 1000, 10, false) },
			func(rng *rand.Rand) []arrow.Array { return windowBatch(mem, rng, 1500, 1000, 1, 9, false) }},
		{"pair flat", []arrow.DataType{i64, i64}, gen([]arrow.DataType{i64, i64}, 60), gen([]arrow.DataType{i64, i64}, 120)},
		{"dictionary", []arrow.DataType{dictStringType}, gen([]arrow.DataType{dictStringType}, 50), gen([]arrow.DataType{dictStringType}, 100)},
		{"string", []arrow.DataType{str}, gen([]arrow.DataType{str}, 300), gen([]arrow.DataType{str}, 600)},
		{"generic", []arrow.DataType{i32, str, f64}, gen([]arrow.DataType{i32, str, f64}, 6), gen([]arrow.DataType{i32, str, f64}, 12)},
		{"struct codes", []arrow.DataType{windowType, i64}, gen([]arrow.DataType{windowType, i64}, 60), gen([]arrow.DataType{windowType, i64}, 120)},
	} {
		t.Run(b.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(31, 32))
			g, err := New(b.types, mem)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Release()
			o := newOracle()
			for range 3 {
				cols := b.insert(rng)
				gids := make([]uint32, cols[0].Len())
				if err := g.Insert(cols, gids); err != nil {
					t.Fatal(err)
				}
				o.check(t, cols, gids, true)
				releaseAll(cols)
			}
			var probes [][]arrow.Array
			for range 8 {
				cols := b.probe(rng)
				for _, c := range cols {
					warmNullCounts(c) // arrow counts NULLs lazily, racily
				}
				probes = append(probes, cols)
			}
			before := g.Len()
			var wg sync.WaitGroup
			results := make([][][]uint32, 4)
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					p := g.NewProber()
					for _, cols := range probes {
						gids := make([]uint32, cols[0].Len())
						if err := p.Lookup(cols, gids); err != nil {
							t.Error(err)
							return
						}
						results[w] = append(results[w], gids)
					}
				}()
			}
			wg.Wait()
			for w := range results {
				for i, cols := range probes {
					if i < len(results[w]) {
						o.check(t, cols, results[w][i], false)
					}
				}
			}
			for _, cols := range probes {
				releaseAll(cols)
			}
			if g.Len() != before {
				t.Fatalf("Probers created groups: %d, was %d", g.Len(), before)
			}
		})
	}
}

// warmNullCounts makes arrow compute and cache the NULL counts of a (maybe
// dictionary) array, so that goroutines sharing it only read them.
func warmNullCounts(a arrow.Array) {
	a.NullN()
	switch d := a.(type) {
	case *array.Dictionary:
		d.Indices().NullN()
		warmNullCounts(d.Dictionary())
	case *array.Struct:
		for f := range d.NumField() {
			warmNullCounts(d.Field(f))
		}
	}
}
