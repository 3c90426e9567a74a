package agg

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

func TestFirstLast(t *testing.T) {
	ignore := []*expr.Literal{nil, expr.Lit(true)}
	keep := []*expr.Literal{nil, expr.Lit(false)}
	i64b := []arrow.DataType{expr.Int64, expr.Boolean}
	strb := []arrow.DataType{expr.String, expr.Boolean}
	nested := arrow.StructOf(arrow.Field{Name: "a", Type: expr.Int64, Nullable: true}, arrow.Field{Name: "b", Type: arrow.ListOf(expr.String), Nullable: true})
	runCases(t, []aggCase{
		{name: "first keeps nulls", fn: "first", types: i64, args: []string{`[null, 1, 2, 3, 4, 5, 6]`},
			gids: []uint32{0, 0, 0, 1, 1, X, 2}, groups: 4, want: `[null, 3, 6, null]`, wantType: expr.Int64},
		{name: "first ignoring nulls", fn: "first", types: i64b, consts: ignore, args: []string{`[null, 1, 2, null, null, 5, 6]`},
			gids: []uint32{0, 0, 0, 1, 1, X, 2}, groups: 4, want: `[1, null, 6, null]`},
		{name: "first explicit false", fn: "first_value", types: i64b, consts: keep, args: []string{`[null, 1]`},
			gids: []uint32{0, 0}, groups: 1, want: `[null]`},
		{name: "last keeps nulls", fn: "last", types: i64, args: []string{`[1, 2, null, 3, 4, 5, 6]`},
			gids: []uint32{0, 0, 0, 1, 1, X, 2}, groups: 4, want: `[null, 4, 6, null]`},
		{name: "last ignoring nulls", fn: "last_value", types: i64b, consts: ignore, args: []string{`[1, 2, null, null, null, 5, 6]`},
			gids: []uint32{0, 0, 0, 1, 1, X, 2}, groups: 4, want: `[2, null, 6, null]`},
		{name: "first string", fn: "first", types: str, args: []string{`["a", "bb", "ccc", null, "d"]`},
			gids: []uint32{1, 0, 1, 2, 2}, groups: 3, want: `["bb", "a", null]`, wantType: expr.String},
		{name: "last string", fn: "last", types: strb, consts: ignore, args: []string{`["a", "bb", "ccc", "d", null, ""]`},
			gids: []uint32{1, 0, 1, 1, 2, 0}, groups: 3, want: `["", "d", null]`},
		{name: "last string long short long", fn: "last", types: str,
			args: []string{`["aaaaaaaaaaaaaaaaaaaa", "x", "b", "cccccccccccccccccccccccccc", "y", "dd", "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "z"]`},
			gids: []uint32{0, 1, 0, 0, 1, 0, 0, 1}, groups: 2, want: `["eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "z"]`},
		{name: "last bool", fn: "last", types: bl, args: []string{`[true, false, null, true]`},
			gids: []uint32{0, 0, 1, 1}, groups: 2, want: `[false, true]`},
		{name: "first decimal", fn: "first", types: []arrow.DataType{dec(10, 3)}, args: []string{`["1.5", "2"]`},
			gids: []uint32{0, 0}, groups: 1, want: `["1.500"]`},
		{name: "last nested", fn: "last", types: []arrow.DataType{nested},
			args: []string{`[{"a": 1, "b": ["x"]}, {"a": null, "b": ["y", null]}, null, {"a": 3, "b": null}]`},
			gids: []uint32{0, 0, 1, 2}, groups: 3,
			want: `[{"a": null, "b": ["y", null]}, null, {"a": 3, "b": null}]`, wantType: nested},
		{name: "any_value", fn: "any_value", types: i64, args: []string{`[7, 8, null]`},
			gids: []uint32{0, 0, 1}, groups: 2, want: `[7, null]`},
		{name: "null type", fn: "first", types: []arrow.DataType{expr.Null}, args: []string{`[null]`},
			gids: []uint32{0}, groups: 1, want: `[null]`},
		{name: "empty", fn: "last", types: i64, args: []string{`[]`}, gids: []uint32{}, groups: 1, want: `[null]`},
	})
}
