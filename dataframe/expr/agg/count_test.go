package agg

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// The shared shape of most cases: group 1 only sees NULLs, group 3 sees
// nothing, one row belongs to no group.
var (
	gids7   = []uint32{0, 1, 0, 2, 1, X, 2}
	groups7 = 4
)

func TestCount(t *testing.T) {
	runCases(t, []aggCase{
		{name: "star", fn: "count", types: none, gids: gids7, groups: groups7, want: `[2, 2, 2, 0]`, wantType: expr.Int64},
		{name: "column skips nulls", fn: "count", types: i64, args: []string{`[1, null, 3, 4, null, 6, 7]`},
			gids: gids7, groups: groups7, want: `[2, 0, 2, 0]`},
		{name: "no nulls", fn: "count", types: str, args: []string{`["a", "b", "c", "d", "e", "f", "g"]`},
			gids: gids7, groups: groups7, want: `[2, 2, 2, 0]`},
		{name: "literal", fn: "count", types: i32, consts: []*expr.Literal{expr.Lit(int32(1))},
			gids: gids7, groups: groups7, want: `[2, 2, 2, 0]`},
		{name: "null literal", fn: "count", types: []arrow.DataType{expr.Null}, consts: []*expr.Literal{expr.Lit(nil)},
			gids: gids7, groups: groups7, want: `[0, 0, 0, 0]`},
		{name: "several args need all non-null", fn: "count", types: []arrow.DataType{expr.Int64, expr.String},
			args: []string{`[1, null, 3, 4, 5, 6, 7]`, `["a", "b", null, "d", null, "f", "g"]`},
			gids: gids7, groups: groups7, want: `[1, 0, 2, 0]`},
		{name: "empty input", fn: "count", types: i64, args: []string{`[]`}, gids: []uint32{}, groups: 0, want: `[]`},
		{name: "empty input one group", fn: "count", types: none, gids: []uint32{}, groups: 1, want: `[0]`},
		{name: "distinct", fn: "count", distinct: true, types: i64,
			args: []string{`[1, 1, 2, null, 1, 2, 3, 3]`}, gids: []uint32{0, 0, 0, 0, 1, 1, 2, X}, groups: 4, want: `[2, 2, 1, 0]`},
		{name: "distinct strings", fn: "count", distinct: true, types: str,
			args: []string{`["a", "a", "b", null, "a", "", "", "zz"]`}, gids: []uint32{0, 0, 0, 0, 1, 1, 1, 2}, groups: 4, want: `[2, 2, 1, 0]`},
		{name: "distinct doubles normalise NaN and -0", fn: "count", distinct: true, types: f64,
			args: []string{`[0.0, -0.0, "NaN", "NaN", 1.5, null]`}, gids: []uint32{0, 0, 0, 0, 0, 1}, groups: 2, want: `[3, 0]`},
		{name: "distinct tuple", fn: "count", distinct: true, types: []arrow.DataType{expr.Int64, expr.String},
			args: []string{`[1, 1, 1, 2, null, 1]`, `["a", "a", "b", "a", "a", null]`},
			gids: []uint32{0, 0, 0, 0, 0, 1}, groups: 2, want: `[3, 0]`},
		{name: "distinct booleans", fn: "count", distinct: true, types: bl,
			args: []string{`[true, false, true, null, false]`}, gids: []uint32{0, 0, 0, 1, 1}, groups: 2, want: `[2, 1]`},
	})
}

func TestCountIf(t *testing.T) {
	runCases(t, []aggCase{
		{name: "basic", fn: "count_if", types: bl, args: []string{`[true, null, false, true, true, true, true]`},
			gids: gids7, groups: groups7, want: `[1, 1, 2, 0]`, wantType: expr.Int64},
		{name: "empty", fn: "count_if", types: bl, args: []string{`[]`}, gids: []uint32{}, groups: 1, want: `[0]`},
		{name: "distinct", fn: "count_if", distinct: true, types: bl, args: []string{`[true, true, false, null]`},
			gids: []uint32{0, 0, 0, 1}, groups: 2, want: `[1, 0]`},
	})
}
