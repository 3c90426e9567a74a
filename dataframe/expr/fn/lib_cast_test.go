package fn

import (
	"testing"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// TestLibraryImplicitCasts runs functions on arguments the analyzer must
// cast first (Spark's implicit casts), through CastKernel.
func TestLibraryImplicitCasts(t *testing.T) {
	libRunCases(t, []libCase{
		{fn: "year", args: []any{libCol{T: expr.String, JS: `["2016-07-30", "nope", null]`}}, want: "2016 | NULL | NULL"},
		{fn: "to_timestamp", args: []any{libCol{T: expr.String, JS: `["2016-12-31 01:02:03", "x"]`}}, want: "2016-12-31 01:02:03 | NULL"},
		{fn: "to_date", args: []any{libCol{T: expr.String, JS: `["2016-12-31"]`}}, want: "2016-12-31"},
		{fn: "lower", args: []any{libCol{T: expr.Int32, JS: `[123, null]`}}, want: "123 | NULL"},
		{fn: "sqrt", args: []any{libCol{T: expr.Int32, JS: `[4]`}}, want: "2.0"},
		{fn: "substring", args: []any{libCol{T: expr.String, JS: `["Spark SQL"]`}, libL(5), libL(1)}, want: "k"},
		{fn: "date_add", args: []any{libCol{T: expr.Timestamp, JS: `["2016-07-30 23:59:59"]`}, libL(1)}, want: "2016-07-31"},
		{fn: "date_format", args: []any{libCol{T: expr.Date, JS: `["2016-07-30"]`}, libS("yyyy/MM/dd HH")}, want: "2016/07/30 00"},
		{fn: "array", args: []any{libCol{T: expr.Int32, JS: `[1]`}, libCol{T: expr.Float64, JS: `[2.5]`}}, want: "[1.0, 2.5]"},
		{fn: "hash", args: []any{libCol{T: expr.Int32, JS: `[1]`}}, want: "-559580957"},
	})
}
