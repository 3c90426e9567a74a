package agg

import (
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// aggCase is one aggregate over a small input: argument columns (JSON),
// the group of each row, and the expected result per group (JSON).
type aggCase struct {
	name     string
	fn       string
	distinct bool
	types    []arrow.DataType // argument types as the accumulator sees them
	consts   []*expr.Literal  // a literal argument (nil: column)
	args     []string         // JSON rows per column argument (ignored for consts)
	gids     []uint32
	groups   int
	want     string // JSON, one value per group
	wantType arrow.DataType
}

const X = expr.NoGroup

func newMem() *memory.CheckedAllocator { return memory.NewCheckedAllocator(memory.NewGoAllocator()) }

func bindCase(t *testing.T, c aggCase) *expr.AggBinding {
	t.Helper()
	f, ok := Lookup(c.fn)
	if !ok {
		t.Fatalf("%s is not registered", c.fn)
	}
	args := make([]expr.Arg, len(c.types))
	for i, dt := range c.types {
		args[i] = expr.Arg{Type: dt, Nullable: true}
		if i < len(c.consts) && c.consts[i] != nil {
			args[i].Const = c.consts[i]
		}
	}
	b, err := f.Bind(args, c.distinct)
	if err != nil {
		t.Fatalf("bind: %v", err)
	}
	for i, to := range b.Cast {
		if to != nil && !arrow.TypeEqual(to, c.types[i]) && (i >= len(c.consts) || c.consts[i] == nil) {
			t.Fatalf("binding asks to cast argument %d to %s; give the case that type", i+1, expr.TypeName(to))
		}
	}
	if c.wantType != nil && !arrow.TypeEqual(b.Type, c.wantType) {
		t.Fatalf("result type %s, want %s", expr.TypeName(b.Type), expr.TypeName(c.wantType))
	}
	return b
}

func fromJSON(t *testing.T, mem memory.Allocator, dt arrow.DataType, js string) arrow.Array {
	t.Helper()
	a, _, err := array.FromJSON(mem, dt, strings.NewReader(js))
	if err != nil {
		t.Fatalf("bad test JSON %s for %s: %v", js, dt, err)
	}
	return a
}

// caseArgs builds the argument columns for rows [lo, hi).
func caseArgs(t *testing.T, mem memory.Allocator, c aggCase, lo, hi int, sliced bool) []arrow.Array {
	t.Helper()
	out := make([]arrow.Array, len(c.types))
	for i, dt := range c.types {
		var full arrow.Array
		if i < len(c.consts) && c.consts[i] != nil {
			var err error
			full, err = expr.ConstArray(mem, c.consts[i].Value, dt, len(c.gids))
			if err != nil {
				t.Fatal(err)
			}
		} else {
			full = fromJSON(t, mem, dt, c.args[i])
		}
		if full.Len() != len(c.gids) {
			t.Fatalf("argument %d has %d rows, gids %d", i+1, full.Len(), len(c.gids))
		}
		if sliced {
			// Surround the rows with copies so they sit at an offset in
			// bigger buffers.
			big, err := array.Concatenate([]arrow.Array{full, full, full}, mem)
			if err != nil {
				t.Fatal(err)
			}
			full.Release()
			full = array.NewSlice(big, int64(len(c.gids)), int64(2*len(c.gids)))
			big.Release()
		}
		out[i] = array.NewSlice(full, int64(lo), int64(hi))
		full.Release()
	}
	return out
}

func releaseAll(as []arrow.Array) {
	for _, a := range as {
		a.Release()
	}
}

func sameArray(t *testing.T, what string, want, got arrow.Array) {
	t.Helper()
	if !arrow.TypeEqual(want.DataType(), got.DataType()) {
		t.Fatalf("%s: type %s, want %s", what, got.DataType(), want.DataType())
	}
	if !array.ApproxEqual(want, got, array.WithNaNsEqual(true), array.WithAbsTolerance(1e-9)) {
		t.Fatalf("%s:\n got %s\nwant %s", what, got, want)
	}
}

// update feeds rows [lo, hi) of the case into acc, in batches of size step.
func update(t *testing.T, mem memory.Allocator, c aggCase, acc expr.Accumulator, lo, hi, step int, sliced bool) {
	t.Helper()
	acc.Resize(c.groups)
	for s := lo; s < hi || (s == lo && lo == hi); s += step {
		e := min(hi, s+step)
		args := caseArgs(t, mem, c, s, e, sliced)
		err := acc.Update(args, c.gids[s:e])
		releaseAll(args)
		if err != nil {
			t.Fatalf("update rows %d..%d: %v", s, e, err)
		}
		if lo == hi {
			break
		}
	}
}

func result(t *testing.T, mem memory.Allocator, acc expr.Accumulator, n int, sel []uint32) arrow.Array {
	t.Helper()
	r, err := acc.Result(mem, n, sel)
	if err != nil {
		t.Fatalf("result: %v", err)
	}
	return r
}

// mergeInto emits acc's state (for sel, or all groups) and merges it into
// dst, mapping state row j to group sel[j].
func mergeInto(t *testing.T, mem memory.Allocator, b *expr.AggBinding, acc, dst expr.Accumulator, n int, sel []uint32) {
	t.Helper()
	st, err := acc.State(mem, n, sel)
	if err != nil {
		t.Fatalf("state: %v", err)
	}
	defer releaseAll(st)
	if len(st) != len(b.State) {
		t.Fatalf("state has %d columns, binding says %d", len(st), len(b.State))
	}
	for i, col := range st {
		if !arrow.TypeEqual(col.DataType(), b.State[i].Type) {
			t.Fatalf("state column %d is %s, binding says %s", i, col.DataType(), b.State[i].Type)
		}
	}
	gids := sel
	if gids == nil {
		gids = make([]uint32, n)
		for i := range gids {
			gids[i] = uint32(i)
		}
	}
	if err := dst.MergeState(st, gids); err != nil {
		t.Fatalf("merge: %v", err)
	}
}

// runCase checks every path that must give the same answer: one batch,
// small batches, sliced input, two-phase merge at several split points
// (with states emitted in a different group order), Result with sel, and
// Reset.
func runCase(t *testing.T, c aggCase) {
	t.Helper()
	mem := newMem()
	defer mem.AssertSize(t, 0)
	b := bindCase(t, c)
	want := fromJSON(t, mem, b.Type, c.want)
	defer want.Release()
	if want.Len() != c.groups {
		t.Fatalf("want has %d rows for %d groups", want.Len(), c.groups)
	}
	n := len(c.gids)

	check := func(t *testing.T, what string, acc expr.Accumulator) {
		t.Helper()
		got := result(t, mem, acc, c.groups, nil)
		defer got.Release()
		sameArray(t, what, want, got)
	}

	t.Run("one batch", func(t *testing.T) {
		acc := b.New(mem)
		defer acc.Release()
		update(t, mem, c, acc, 0, n, max(n, 1), false)
		check(t, "one batch", acc)
		// Reset empties every group; feeding the input again gives the same.
		acc.Reset()
		update(t, mem, c, acc, 0, n, max(n, 1), false)
		check(t, "after reset", acc)
	})
	t.Run("small sliced batches", func(t *testing.T) {
		for _, step := range []int{1, 2, 3} {
			acc := b.New(mem)
			update(t, mem, c, acc, 0, n, step, true)
			check(t, fmt.Sprintf("batches of %d", step), acc)
			acc.Release()
		}
	})
	t.Run("two phase", func(t *testing.T) {
		// reverse order of groups for the second partial's state
		rev := make([]uint32, c.groups)
		for i := range rev {
			rev[i] = uint32(c.groups - 1 - i)
		}
		for _, k := range []int{0, n / 3, n / 2, n} {
			p1, p2, fin := b.New(mem), b.New(mem), b.New(mem)
			update(t, mem, c, p1, 0, k, max(k, 1), false)
			update(t, mem, c, p2, k, n, max(n-k, 1), true)
			fin.Resize(c.groups)
			mergeInto(t, mem, b, p1, fin, c.groups, nil)
			mergeInto(t, mem, b, p2, fin, c.groups, rev)
			check(t, fmt.Sprintf("merged at row %d", k), fin)
			// A merged state merges again (streaming state is re-merged every batch).
			again := b.New(mem)
			again.Resize(c.groups)
			mergeInto(t, mem, b, fin, again, c.groups, nil)
			check(t, fmt.Sprintf("re-merged at row %d", k), again)
			for _, a := range []expr.Accumulator{p1, p2, fin, again} {
				a.Release()
			}
		}
	})
	t.Run("sel", func(t *testing.T) {
		acc := b.New(mem)
		defer acc.Release()
		update(t, mem, c, acc, 0, n, max(n, 1), false)
		var sel []uint32
		for g := c.groups - 1; g >= 0; g -= 2 {
			sel = append(sel, uint32(g))
		}
		got := result(t, mem, acc, c.groups, sel)
		defer got.Release()
		idx := make([]string, len(sel))
		for j, g := range sel {
			idx[j] = fmt.Sprint(g)
		}
		wantSel := takeRows(t, mem, want, sel)
		defer wantSel.Release()
		sameArray(t, "sel ["+strings.Join(idx, ",")+"]", wantSel, got)
		// An empty sel emits nothing.
		empty := result(t, mem, acc, c.groups, []uint32{})
		if empty.Len() != 0 {
			t.Fatalf("empty sel gave %d rows", empty.Len())
		}
		empty.Release()
	})
}

func takeRows(t *testing.T, mem memory.Allocator, a arrow.Array, sel []uint32) arrow.Array {
	parts := make([]arrow.Array, len(sel))
	for j, g := range sel {
		parts[j] = array.NewSlice(a, int64(g), int64(g)+1)
	}
	defer releaseAll(parts)
	if len(parts) == 0 {
		return array.MakeArrayOfNull(mem, a.DataType(), 0)
	}
	out, err := array.Concatenate(parts, mem)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func runCases(t *testing.T, cases []aggCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runCase(t, c) })
	}
}

// Common argument type lists.
var (
	i64  = []arrow.DataType{expr.Int64}
	i32  = []arrow.DataType{expr.Int32}
	f64  = []arrow.DataType{expr.Float64}
	str  = []arrow.DataType{expr.String}
	bl   = []arrow.DataType{expr.Boolean}
	none = []arrow.DataType{}
)

func dec(p, s int32) *arrow.Decimal128Type { return &arrow.Decimal128Type{Precision: p, Scale: s} }
