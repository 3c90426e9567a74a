package hashtab

import (
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// FuzzGrouper feeds rows decoded from the fuzz input, in batches split where
// the input says, to every specialisation and checks the group ids against
// the map oracle. Each row takes 3 bytes: a (int64), b (int64 or string),
// and a flags byte (bit 0/1: a/b NULL, bit 2: end the batch here, bit 3:
// a NULL struct). Struct keys (coded by an inner Grouper) hold (a, a+1) as
// a window does.
func FuzzGrouper(f *testing.F) {
	f.Add([]byte{1, 2, 0, 1, 2, 0, 3, 4, 4, 1, 2, 3, 0, 0, 1})
	f.Add([]byte{0, 0, 3, 0, 0, 3, 0, 0, 0, 255, 255, 4})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		for _, types := range [][]arrow.DataType{{i64}, {i64, i64}, {str}, {i64, str}, {windowType, i64}, {windowType}} {
			g, err := New(types, mem)
			if err != nil {
				t.Fatal(err)
			}
			o := newOracle()
			rest := data
			for len(rest) >= 3 {
				var cols []arrow.Array
				bld := make([]array.Builder, len(types))
				for c, dt := range types {
					bld[c] = array.NewBuilder(mem, dt)
				}
				for len(rest) >= 3 {
					a, b, fl := rest[0], rest[1], rest[2]
					rest = rest[3:]
					for c, bd := range bld {
						v, null := a, fl&1 != 0
						if c == 1 || len(types) == 1 && types[0] == str {
							v, null = b, fl&2 != 0
						}
						switch {
						case types[c] == windowType:
							sb := bd.(*array.StructBuilder)
							if fl&8 != 0 {
								sb.AppendNull()
								break
							}
							sb.Append(true)
							for f := range 2 {
								fb := sb.FieldBuilder(f).(*array.TimestampBuilder)
								if null && f == 1 {
									fb.AppendNull()
								} else {
									fb.Append(arrow.Timestamp(int64(a)*300 + int64(f)*300))
								}
							}
						case null:
							bd.AppendNull()
						case types[c] == str:
							bd.(*array.StringBuilder).Append(strconv.Itoa(int(v) % 50))
						default:
							bd.(*array.Int64Builder).Append(int64(v) * 1e12)
						}
					}
					if fl&4 != 0 {
						break
					}
				}
				for _, bd := range bld {
					cols = append(cols, bd.NewArray())
					bd.Release()
				}
				gids := make([]uint32, cols[0].Len())
				if err := g.Insert(cols, gids); err != nil {
					t.Fatal(err)
				}
				o.check(t, cols, gids, true)
				releaseAll(cols)
			}
			if g.Len() != len(o.first) {
				t.Fatalf("Len %d, oracle %d", g.Len(), len(o.first))
			}
			keys, err := g.Keys(mem, nil)
			if err != nil {
				t.Fatal(err)
			}
			for gid, want := range o.first {
				if got := rowKey(keys, gid); got != want {
					t.Fatalf("Keys: group %d is %s, want %s", gid, got, want)
				}
			}
			releaseAll(keys)
			g.Release()
		}
	})
}
