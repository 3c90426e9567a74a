package fn

import (
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

func TestSessionWindowFunction(t *testing.T) {
	ts := func(js string) libCol { return libCol{T: expr.Timestamp, JS: js} }
	ivs := func(js string) libCol { return libCol{T: expr.Interval, JS: js} }
	strs := func(js string) libCol { return libCol{T: expr.String, JS: js} }
	libRunCases(t, []libCase{
		// A literal gap: [ts, ts + gap); NULL ts is NULL.
		{fn: "session_window", args: []any{ts(`["2024-01-01 00:00:00", null]`), libS("5 minutes")},
			want: "{2024-01-01 00:00:00, 2024-01-01 00:05:00} | NULL"},
		{fn: "session_window", args: []any{ts(`["2024-01-01 00:00:00"]`), expr.Lit(90 * time.Second)},
			want: "{2024-01-01 00:00:00, 2024-01-01 00:01:30}"},
		// Days and months move the calendar (Feb 29 + 1 month = Mar 29).
		{fn: "session_window", args: []any{ts(`["2024-02-29 12:00:00"]`), libS("1 month 1 day")},
			want: "{2024-02-29 12:00:00, 2024-03-30 12:00:00}"},
		// A per-row gap: NULL, zero and negative gaps give NULL; sliced inputs.
		{fn: "session_window", args: []any{
			libCol{T: expr.Timestamp, JS: `["2023-01-01 00:00:00", "2024-01-01 00:00:00", "2024-01-01 00:00:00", "2024-01-01 00:00:00", "2024-01-01 00:00:00", null]`, Lo: 1, Hi: 6},
			libCol{T: expr.Interval, JS: `[{"months":9,"days":9,"nanoseconds":9}, {"months":0,"days":0,"nanoseconds":2000000000}, null, {"months":0,"days":0,"nanoseconds":0}, {"months":0,"days":1,"nanoseconds":-86401000000000}, {"months":0,"days":0,"nanoseconds":1000}]`, Lo: 1, Hi: 6}},
			want: "{2024-01-01 00:00:00, 2024-01-01 00:00:02} | NULL | NULL | NULL | NULL"},
		{fn: "session_window", args: []any{ts(`["2024-01-01 00:00:00", "2024-01-01 00:00:00", "2024-01-01 00:00:00"]`), strs(`["10 seconds", "ten", null]`)},
			want: "{2024-01-01 00:00:00, 2024-01-01 00:00:10} | NULL | NULL"},
		{fn: "session_window", args: []any{ts(`["2024-01-01 00:00:00"]`), ivs(`[{"months":0,"days":1,"nanoseconds":0}]`)},
			want: "{2024-01-01 00:00:00, 2024-01-02 00:00:00}"},
		// NULL gap literal and NULL ts literal: every row NULL.
		{fn: "session_window", args: []any{ts(`["2024-01-01 00:00:00", "2024-01-01 00:00:01"]`), libNull(expr.Interval)}, want: "NULL | NULL"},
		{fn: "session_window", args: []any{libNull(arrow.Null), libS("1 second")}, want: "NULL"},
		{fn: "session_window", args: []any{ts(`[]`), libS("1 second")}, want: ""},
		// A literal gap that can never be positive, or is not an interval.
		{fn: "session_window", args: []any{ts(`["2024-01-01 00:00:00"]`), libS("0 seconds")}, err: expr.ErrType},
		{fn: "session_window", args: []any{ts(`["2024-01-01 00:00:00"]`), libS("-1 day")}, err: expr.ErrType},
		{fn: "session_window", args: []any{ts(`["2024-01-01 00:00:00"]`), libS("soon")}, err: expr.ErrType},
		{fn: "session_window", args: []any{ts(`["2024-01-01 00:00:00"]`), libI(5)}, err: expr.ErrType},
		{fn: "session_window", args: []any{libCol{T: expr.Int64, JS: `[1]`}, libS("1 second")}, err: expr.ErrType},
	})
}
