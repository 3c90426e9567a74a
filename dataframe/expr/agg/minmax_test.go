package agg

import (
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe/expr"
)

func TestMinMax(t *testing.T) {
	ts := []arrow.DataType{expr.Timestamp}
	runCases(t, []aggCase{
		{name: "min bigint", fn: "min", types: i64, args: []string{`[5, null, -3, 9223372036854775807, null, -100, 4]`},
			gids: gids7, groups: groups7, want: `[-3, null, 4, null]`, wantType: expr.Int64},
		{name: "max bigint", fn: "max", types: i64, args: []string{`[5, null, -3, -9223372036854775808, null, 100, -4]`},
			gids: gids7, groups: groups7, want: `[5, null, -4, null]`},
		{name: "min int extremes", fn: "min", types: i32, args: []string{`[2147483647, -2147483648]`},
			gids: []uint32{0, 1}, groups: 2, want: `[2147483647, -2147483648]`},
		{name: "max tinyint extremes", fn: "max", types: []arrow.DataType{expr.Int8}, args: []string{`[-128, 127]`},
			gids: []uint32{0, 1}, groups: 2, want: `[-128, 127]`},
		{name: "max unsigned", fn: "max", types: []arrow.DataType{arrow.PrimitiveTypes.Uint64}, args: []string{`[18446744073709551615, 1, 0]`},
			gids: []uint32{0, 0, 1}, groups: 2, want: `[18446744073709551615, 0]`},
		{name: "min double NaN is largest", fn: "min", types: f64, args: []string{`["NaN", 3.5, "NaN", "Inf", "-Inf", null]`},
			gids: []uint32{0, 0, 1, 2, 2, 3}, groups: 4, want: `[3.5, "NaN", "-Inf", null]`},
		{name: "max double NaN is largest", fn: "max", types: f64, args: []string{`[1, "NaN", 3.5, "Inf", 2, null]`},
			gids: []uint32{0, 0, 0, 1, 1, 2}, groups: 3, want: `["NaN", "Inf", null]`},
		{name: "max float", fn: "max", types: []arrow.DataType{expr.Float32}, args: []string{`[1.5, -2, null]`},
			gids: []uint32{0, 0, 1}, groups: 2, want: `[1.5, null]`},
		{name: "min string bytewise", fn: "min", types: str, args: []string{`["b", null, "a", "Z", null, "", "ab"]`},
			gids: gids7, groups: groups7, want: `["a", null, "Z", null]`, wantType: expr.String},
		{name: "max string", fn: "max", types: str, args: []string{`["b", "bb", "a", "é", "e", "", "zz"]`},
			gids: []uint32{0, 0, 0, 1, 1, X, 2}, groups: 3, want: `["bb", "é", "zz"]`},
		{name: "max string grows and shrinks", fn: "max", types: str,
			args: []string{`["a", "b", "cccccccccccccccccccc", "d", "e"]`}, gids: []uint32{0, 0, 0, 0, 0}, groups: 1, want: `["e"]`},
		{name: "min string heap and inline", fn: "min", types: str,
			args: []string{`["zzzzzzzzzzzzzzzzzzzzzzzz", "yyyyyyyyyyyyyyyyyy", "b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "a"]`},
			gids: []uint32{0, 0, 0, 0, 0}, groups: 1, want: `["a"]`},
		{name: "min binary", fn: "min", types: []arrow.DataType{expr.Binary}, args: []string{`["AQI=", "AQ==", null]`},
			gids: []uint32{0, 0, 1}, groups: 2, want: `["AQ==", null]`},
		{name: "min bool", fn: "min", types: bl, args: []string{`[true, false, true, null, true]`},
			gids: []uint32{0, 0, 1, 1, 2}, groups: 4, want: `[false, true, true, null]`},
		{name: "max bool", fn: "max", types: bl, args: []string{`[true, false, false, null, false]`},
			gids: []uint32{0, 0, 1, 1, 2}, groups: 4, want: `[true, false, false, null]`},
		{name: "min decimal", fn: "min", types: []arrow.DataType{dec(20, 2)}, args: []string{`["1.50", "-99999999999999999.99", "3", null]`},
			gids: []uint32{0, 0, 1, 2}, groups: 3, want: `["-99999999999999999.99", "3.00", null]`, wantType: dec(20, 2)},
		{name: "max decimal", fn: "max", types: []arrow.DataType{dec(38, 0)}, args: []string{`["-1", "-2", "99999999999999999999999999999999999999"]`},
			gids: []uint32{0, 0, 1}, groups: 2, want: `["-1", "99999999999999999999999999999999999999"]`},
		{name: "max date", fn: "max", types: []arrow.DataType{expr.Date}, args: []string{`[19000, 20000, -5, null]`},
			gids: []uint32{0, 0, 1, 1}, groups: 2, want: `[20000, -5]`, wantType: expr.Date},
		{name: "min timestamp", fn: "min", types: ts, args: []string{`[1700000000000000, -1, null]`},
			gids: []uint32{0, 0, 1}, groups: 2, want: `[-1, null]`, wantType: expr.Timestamp},
		{name: "null type", fn: "max", types: []arrow.DataType{expr.Null}, args: []string{`[null, null]`},
			gids: []uint32{0, 1}, groups: 2, want: `[null, null]`, wantType: expr.Null},
		{name: "empty", fn: "min", types: str, args: []string{`[]`}, gids: []uint32{}, groups: 1, want: `[null]`},
		{name: "distinct is ignored", fn: "max", distinct: true, types: i64, args: []string{`[1, 2, 2]`},
			gids: []uint32{0, 0, 0}, groups: 1, want: `[2]`},
	})
}

func TestBoolAndOr(t *testing.T) {
	runCases(t, []aggCase{
		{name: "bool_and", fn: "bool_and", types: bl, args: []string{`[true, null, false, true, null, false, true]`},
			gids: gids7, groups: groups7, want: `[false, null, true, null]`, wantType: expr.Boolean},
		{name: "every", fn: "every", types: bl, args: []string{`[true, true]`}, gids: []uint32{0, 0}, groups: 1, want: `[true]`},
		{name: "bool_or", fn: "bool_or", types: bl, args: []string{`[false, null, false, true, null, false, false]`},
			gids: gids7, groups: groups7, want: `[false, null, true, null]`},
		{name: "some", fn: "some", types: bl, args: []string{`[false, true]`}, gids: []uint32{0, 0}, groups: 1, want: `[true]`},
	})
}

// Growing values leave old slots behind; the heap compacts and every
// group keeps its own value.
func TestMinMaxStringHeapCompaction(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	const groups = 1000
	for _, fn := range []string{"max", "last"} {
		f, _ := Lookup(fn)
		b, err := f.Bind([]expr.Arg{{Type: expr.String}}, false)
		if err != nil {
			t.Fatal(err)
		}
		acc := b.New(mem)
		acc.Resize(groups)
		gids := make([]uint32, groups)
		for g := range gids {
			gids[g] = uint32(groups - 1 - g)
		}
		for r := 0; r < 60; r++ {
			bld := array.NewStringBuilder(mem)
			for _, g := range gids {
				bld.Append(fmt.Sprintf("%s%04d", strings.Repeat("z", r), g))
			}
			col := bld.NewArray()
			bld.Release()
			if err := acc.Update([]arrow.Array{col}, gids); err != nil {
				t.Fatal(err)
			}
			col.Release()
		}
		if s, ok := acc.(interface{ heapStats() (int, int) }); ok {
			if live, size := s.heapStats(); size > 3*live {
				t.Errorf("%s: heap %d bytes for %d live bytes: compaction did not run", fn, size, live)
			}
		}
		got := result(t, mem, acc, groups, nil)
		for g := 0; g < groups; g++ {
			if want := fmt.Sprintf("%s%04d", strings.Repeat("z", 59), g); got.(*array.String).Value(g) != want {
				t.Fatalf("%s: group %d = %q, want %q", fn, g, got.(*array.String).Value(g), want)
			}
		}
		got.Release()
		acc.Release()
	}
}
