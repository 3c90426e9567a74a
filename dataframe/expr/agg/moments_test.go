package agg

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

func TestMoments(t *testing.T) {
	// group 0: 2, 4, 4, 4, 5, 5, 7, 9 (mean 5, m2 32); group 1: one value;
	// group 2: only NULLs; group 3: nothing.
	in := `[2, 4, 4, 4, 5, 5, 7, 9, 10, null]`
	g := []uint32{0, 0, 0, 0, 0, 0, 0, 0, 1, 2}
	runCases(t, []aggCase{
		{name: "var_pop", fn: "var_pop", types: i64, args: []string{in}, gids: g, groups: 4, want: `[4, 0, null, null]`, wantType: expr.Float64},
		{name: "var_samp", fn: "var_samp", types: i64, args: []string{in}, gids: g, groups: 4, want: `[4.571428571428571, null, null, null]`},
		{name: "variance", fn: "variance", types: i32, args: []string{in}, gids: g, groups: 4, want: `[4.571428571428571, null, null, null]`},
		{name: "stddev_pop", fn: "stddev_pop", types: f64, args: []string{in}, gids: g, groups: 4, want: `[2, 0, null, null]`},
		{name: "stddev", fn: "stddev", types: f64, args: []string{in}, gids: g, groups: 4, want: `[2.138089935299395, null, null, null]`},
		{name: "std", fn: "std", types: []arrow.DataType{expr.Float32}, args: []string{`[1, 3]`}, gids: []uint32{0, 0}, groups: 1, want: `[1.4142135623730951]`},
		{name: "stable for large offsets", fn: "var_pop", types: f64, args: []string{`[1000000000001, 1000000000002, 1000000000003, 1000000000004]`},
			gids: []uint32{0, 0, 0, 0}, groups: 1, want: `[1.25]`},
		{name: "distinct", fn: "var_pop", distinct: true, types: i64, args: []string{`[1, 1, 1, 3]`}, gids: []uint32{0, 0, 0, 0}, groups: 1, want: `[1]`},
		{name: "empty", fn: "stddev_samp", types: i64, args: []string{`[]`}, gids: []uint32{}, groups: 1, want: `[null]`},
	})
}

func TestMomentsDecimalCastsToDouble(t *testing.T) {
	b, err := stddevSampFunc.Bind([]expr.Arg{{Type: dec(10, 2)}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Cast) != 1 || !arrow.TypeEqual(b.Cast[0], expr.Float64) {
		t.Fatalf("cast %v, want double", b.Cast)
	}
}
