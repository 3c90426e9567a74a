package agg

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

func TestSum(t *testing.T) {
	runCases(t, []aggCase{
		{name: "bigint", fn: "sum", types: i64, args: []string{`[1, null, 3, 4, null, 6, 7]`},
			gids: gids7, groups: groups7, want: `[4, null, 11, null]`, wantType: expr.Int64},
		{name: "int to bigint", fn: "sum", types: i32, args: []string{`[2147483647, null, 1, 4, null, 6, 7]`},
			gids: gids7, groups: groups7, want: `[2147483648, null, 11, null]`, wantType: expr.Int64},
		{name: "tinyint", fn: "sum", types: []arrow.DataType{expr.Int8}, args: []string{`[127, null, 127, -128, null, 6, -128]`},
			gids: gids7, groups: groups7, want: `[254, null, -256, null]`, wantType: expr.Int64},
		{name: "bigint wraps", fn: "sum", types: i64, args: []string{`[9223372036854775807, 1, -9223372036854775808, -1]`},
			gids: []uint32{0, 0, 1, 1}, groups: 2, want: `[-9223372036854775808, 9223372036854775807]`},
		{name: "double", fn: "sum", types: f64, args: []string{`[1.5, null, 2.25, "NaN", null, 1, 2]`},
			gids: gids7, groups: groups7, want: `[3.75, null, "NaN", null]`, wantType: expr.Float64},
		{name: "float to double", fn: "sum", types: []arrow.DataType{expr.Float32}, args: []string{`[1.5, null, 2.25, 1, null, 1, 2]`},
			gids: gids7, groups: groups7, want: `[3.75, null, 3, null]`, wantType: expr.Float64},
		{name: "decimal", fn: "sum", types: []arrow.DataType{dec(5, 2)}, args: []string{`["1.25", null, "-3.50", "999.99", null, "1", "999.99"]`},
			gids: gids7, groups: groups7, want: `["-2.25", null, "1999.98", null]`, wantType: dec(15, 2)},
		{name: "decimal overflow is null", fn: "sum", types: []arrow.DataType{dec(38, 0)},
			args: []string{`["99999999999999999999999999999999999999", "1", "5", "99999999999999999999999999999999999999", "-1"]`},
			gids: []uint32{0, 0, 1, 2, 2}, groups: 3, want: `[null, "5", "99999999999999999999999999999999999998"]`, wantType: dec(38, 0)},
		{name: "decimal overflow past int128 is null", fn: "sum", types: []arrow.DataType{dec(38, 0)},
			args: []string{`["99999999999999999999999999999999999999", "99999999999999999999999999999999999999", "1"]`},
			gids: []uint32{0, 0, 0}, groups: 1, want: `[null]`},
		{name: "null type", fn: "sum", types: []arrow.DataType{expr.Float64}, args: []string{`[null, null]`},
			gids: []uint32{0, 1}, groups: 2, want: `[null, null]`},
		{name: "empty", fn: "sum", types: i64, args: []string{`[]`}, gids: []uint32{}, groups: 0, want: `[]`},
		{name: "empty one group", fn: "sum", types: i64, args: []string{`[]`}, gids: []uint32{}, groups: 1, want: `[null]`},
		{name: "distinct", fn: "sum", distinct: true, types: i64, args: []string{`[1, 1, 2, null, 5, 5, 5]`},
			gids: []uint32{0, 0, 0, 0, 1, 1, 1}, groups: 3, want: `[3, 5, null]`},
		{name: "distinct decimal", fn: "sum", distinct: true, types: []arrow.DataType{dec(4, 1)}, args: []string{`["1.5", "1.50", "2.0", null]`},
			gids: []uint32{0, 0, 0, 1}, groups: 2, want: `["3.5", null]`},
	})
}

func TestAvg(t *testing.T) {
	runCases(t, []aggCase{
		{name: "bigint", fn: "avg", types: i64, args: []string{`[1, null, 4, 4, null, 6, 7]`},
			gids: gids7, groups: groups7, want: `[2.5, null, 5.5, null]`, wantType: expr.Float64},
		{name: "double", fn: "avg", types: f64, args: []string{`[1.5, null, 2.5, 1, null, 6, 2]`},
			gids: gids7, groups: groups7, want: `[2, null, 1.5, null]`},
		{name: "mean alias", fn: "mean", types: i32, args: []string{`[1, 2]`}, gids: []uint32{0, 0}, groups: 1, want: `[1.5]`},
		{name: "decimal rounds half up", fn: "avg", types: []arrow.DataType{dec(5, 2)},
			args: []string{`["1.00", "2.00", "2.00", "0.01", "0.01", "0.00", "-0.01", "-0.01", "0.00"]`},
			gids: []uint32{0, 0, 0, 1, 1, 1, 2, 2, 2}, groups: 4, want: `["1.666667", "0.006667", "-0.006667", null]`, wantType: dec(9, 6)},
		{name: "decimal capped at 38", fn: "avg", types: []arrow.DataType{dec(38, 36)},
			args: []string{`["0.000000000000000000000000000000000001", "0", "1", "1"]`},
			gids: []uint32{0, 0, 1, 1}, groups: 2, want: `["0.00000000000000000000000000000000000050", null]`, wantType: dec(38, 38)},
		{name: "decimal precision capped", fn: "avg", types: []arrow.DataType{dec(36, 2)}, args: []string{`["1.00", "2.00"]`},
			gids: []uint32{0, 0}, groups: 1, want: `["1.500000"]`, wantType: dec(38, 6)},
		{name: "distinct", fn: "avg", distinct: true, types: i64, args: []string{`[1, 1, 1, 4, null]`},
			gids: []uint32{0, 0, 0, 0, 1}, groups: 2, want: `[2.5, null]`},
		{name: "empty", fn: "avg", types: i64, args: []string{`[]`}, gids: []uint32{}, groups: 1, want: `[null]`},
	})
}
