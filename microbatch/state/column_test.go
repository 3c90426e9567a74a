package state

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Every value column kind against an oracle that remembers, per slot,
// which input row it holds: random sets (sliced inputs, NULLs, repeated
// slots), clears, permutations; gather must give back exactly those rows.
func TestColumnsAgainstOracle(t *testing.T) {
	defer func(a, g int) { arenaMinDead, genericSlack = a, g }(arenaMinDead, genericSlack)
	arenaMinDead, genericSlack = 64, 8 // rewrite arenas and chunks often
	tests := []struct {
		dt  arrow.DataType
		gen func(r *rand.Rand) string // one JSON value
	}{
		{arrow.PrimitiveTypes.Int8, func(r *rand.Rand) string { return fmt.Sprint(r.IntN(256) - 128) }},
		{arrow.PrimitiveTypes.Uint16, func(r *rand.Rand) string { return fmt.Sprint(r.IntN(65536)) }},
		{arrow.PrimitiveTypes.Int32, func(r *rand.Rand) string { return fmt.Sprint(r.Int32()) }},
		{arrow.PrimitiveTypes.Int64, func(r *rand.Rand) string { return fmt.Sprint(r.Int64()) }},
		{arrow.PrimitiveTypes.Float64, func(r *rand.Rand) string { return fmt.Sprint(r.NormFloat64()) }},
		{arrow.FixedWidthTypes.Timestamp_us, func(r *rand.Rand) string { return fmt.Sprint(r.Int64N(1e15)) }},
		{&arrow.Decimal128Type{Precision: 30, Scale: 3}, func(r *rand.Rand) string {
			return fmt.Sprintf("%q", decimal128.FromI64(r.Int64N(1e12)).ToString(3))
		}},
		{&arrow.FixedSizeBinaryType{ByteWidth: 16}, func(r *rand.Rand) string { return fmt.Sprintf("%q", b64(r, 16)) }},
		{&arrow.FixedSizeBinaryType{ByteWidth: 3}, func(r *rand.Rand) string { return fmt.Sprintf("%q", b64(r, 3)) }},
		{arrow.FixedWidthTypes.Boolean, func(r *rand.Rand) string { return fmt.Sprint(r.IntN(2) == 0) }},
		{arrow.BinaryTypes.String, func(r *rand.Rand) string { return fmt.Sprintf("%q", strings.Repeat("ab", r.IntN(12))) }},
		{arrow.BinaryTypes.LargeBinary, func(r *rand.Rand) string { return fmt.Sprintf("%q", b64(r, r.IntN(9))) }},
		{arrow.ListOf(arrow.PrimitiveTypes.Int64), func(r *rand.Rand) string {
			var v []string
			for range r.IntN(4) {
				v = append(v, fmt.Sprint(r.IntN(9)))
			}
			return "[" + strings.Join(v, ",") + "]"
		}},
		{arrow.StructOf(arrow.Field{Name: "a", Type: arrow.BinaryTypes.String, Nullable: true}, arrow.Field{Name: "b", Type: arrow.PrimitiveTypes.Int32}),
			func(r *rand.Rand) string { return fmt.Sprintf(`{"a": "x%d", "b": %d}`, r.IntN(5), r.IntN(5)) }},
		{arrow.Null, func(r *rand.Rand) string { return "null" }},
	}
	for _, tc := range tests {
		t.Run(tc.dt.String(), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(7, uint64(len(tc.dt.String()))))
			c := newColumn(tc.dt, mem)
			defer c.release()
			type ref struct {
				src arrow.Array
				row int
			}
			var inputs []arrow.Array
			defer func() { releaseAll(inputs) }()
			var oracle []*ref // by slot; nil = NULL
			check := func(what string) {
				t.Helper()
				sel := make([]uint32, 0, len(oracle)+2)
				for s := range oracle {
					sel = append(sel, uint32(s))
				}
				r.Shuffle(len(sel), func(i, j int) { sel[i], sel[j] = sel[j], sel[i] })
				sel = append(sel, NoSlot)
				got, err := c.gather(mem, sel)
				must(t, err)
				defer got.Release()
				if got.Len() != len(sel) || !arrow.TypeEqual(got.DataType(), tc.dt) {
					t.Fatalf("%s: gathered %d rows of %s", what, got.Len(), got.DataType())
				}
				for i, s := range sel {
					var want string
					if s == NoSlot || oracle[s] == nil || oracle[s].src.IsNull(oracle[s].row) {
						if got.IsValid(i) && tc.dt.ID() != arrow.NULL {
							t.Fatalf("%s: slot %d = %s, want NULL", what, s, got.ValueStr(i))
						}
						continue
					}
					want = oracle[s].src.ValueStr(oracle[s].row)
					if got.IsNull(i) || got.ValueStr(i) != want {
						t.Fatalf("%s: slot %d = %s (null %v), want %s", what, s, got.ValueStr(i), got.IsNull(i), want)
					}
				}
			}
			for step := 0; step < 200; step++ {
				switch k := r.IntN(10); {
				case k < 6: // set rows of a sliced input to random slots
					n := r.IntN(20)
					vals := make([]string, n+3)
					for i := range vals {
						vals[i] = tc.gen(r)
						if r.IntN(5) == 0 {
							vals[i] = "null"
						}
					}
					full, _, err := array.FromJSON(mem, tc.dt, strings.NewReader("["+strings.Join(vals, ",")+"]"))
					must(t, err)
					src := array.NewSlice(full, 2, int64(2+n))
					full.Release()
					inputs = append(inputs, src)
					grow := len(oracle) + r.IntN(8)
					c.grow(grow)
					for len(oracle) < grow {
						oracle = append(oracle, nil)
					}
					slots := make([]uint32, n)
					for i := range slots {
						if len(oracle) == 0 || r.IntN(6) == 0 {
							slots[i] = NoSlot
							continue
						}
						slots[i] = uint32(r.IntN(len(oracle)))
					}
					must(t, c.set(src, slots))
					for i, s := range slots {
						if s != NoSlot {
							oracle[s] = &ref{src, i}
						}
					}
				case k < 8 && len(oracle) > 0:
					s := uint32(r.IntN(len(oracle)))
					c.clear(s)
					oracle[s] = nil
				case k < 9 && len(oracle) > 0: // keep a random subset, in order
					var keep []uint32
					var next []*ref
					for s := range oracle {
						if r.IntN(3) > 0 {
							keep = append(keep, uint32(s))
							next = append(next, oracle[s])
						}
					}
					must(t, c.permute(keep))
					oracle = next
				default:
					check(fmt.Sprintf("step %d", step))
				}
			}
			check("end")
			if c.memoryBytes() < 0 {
				t.Fatal("negative memory")
			}
		})
	}
}

func b64(r *rand.Rand, n int) string {
	// FromJSON reads binaries as base64
	const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	raw := make([]byte, n)
	for i := range raw {
		raw[i] = byte(r.IntN(256))
	}
	var sb strings.Builder
	for i := 0; i < len(raw); i += 3 {
		var chunk [3]byte
		m := copy(chunk[:], raw[i:])
		v := uint(chunk[0])<<16 | uint(chunk[1])<<8 | uint(chunk[2])
		for j := 0; j < 4; j++ {
			if j <= m {
				sb.WriteByte(a[v>>(18-6*j)&63])
			} else {
				sb.WriteByte('=')
			}
		}
	}
	return sb.String()
}
