package fn

import (
	"testing"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Expected values follow the examples of Spark's datetime function reference
// (converted to UTC where Spark's examples use a session zone) plus edge
// cases: leap years, negative epochs, NULLs, sliced columns.
func TestTemporalFunctions(t *testing.T) {
	ts := func(js string) libCol { return libCol{T: expr.Timestamp, JS: js} }
	dates := func(js string) libCol { return libCol{T: expr.Date, JS: js} }
	strs := func(js string) libCol { return libCol{T: expr.String, JS: js} }
	libRunCases(t, []libCase{
		{fn: "current_timestamp", want: "2024-02-29 13:45:30.123456 | 2024-02-29 13:45:30.123456", rows: 2},
		{fn: "now", want: "2024-02-29 13:45:30.123456"},
		{fn: "current_date", want: "2024-02-29"},
		{fn: "unix_timestamp", want: "1709214330"},

		{fn: "to_timestamp", args: []any{libS("2016-12-31"), libS("yyyy-MM-dd")}, want: "2016-12-31 00:00:00"},
		{fn: "to_timestamp", args: []any{strs(`["2016-12-31 10:11:12.5", "bad", null, "2016-02-30 00:00:00.1", "x2016-12-31 10:11:12.5"]`), libS("yyyy-MM-dd HH:mm:ss.SSS")},
			want: "2016-12-31 10:11:12.5 | NULL | NULL | NULL | NULL"},
		{fn: "to_timestamp", args: []any{strs(`["2016-12-31T10:11:12+01:00", "2016-12-31T10:11:12Z"]`), libS("yyyy-MM-dd'T'HH:mm:ssXXX")},
			want: "2016-12-31 09:11:12 | 2016-12-31 10:11:12"},
		{fn: "to_timestamp", args: []any{strs(`["20240229", "20230229"]`), libS("yyyyMMdd")}, want: "2024-02-29 00:00:00 | NULL"},
		{fn: "to_timestamp", args: []any{strs(`["12/31/99 11:05 PM", "1/2/05 12:00 AM"]`), libS("M/d/yy h:mm a")}, want: "2099-12-31 23:05:00 | 2005-01-02 00:00:00"},
		{fn: "to_timestamp", args: []any{strs(`["2016-12-31", "2016-12-31 10:11"]`), strs(`["yyyy-MM-dd", "yyyy-MM-dd HH:mm"]`)}, want: "2016-12-31 00:00:00 | 2016-12-31 10:11:00"},
		{fn: "to_timestamp", args: []any{strs(`["x"]`), libS("yyyy-MM-dd Y")}, err: ErrInvalidArgument},
		{fn: "to_timestamp", args: []any{libTS("2016-12-31 01:02:03")}, want: "2016-12-31 01:02:03"},
		{fn: "to_timestamp", args: []any{libNull(expr.String), libS("yyyy")}, want: "NULL"},
		{fn: "to_date", args: []any{libS("2016-12-31"), libS("yyyy-MM-dd")}, want: "2016-12-31"},
		{fn: "to_date", args: []any{strs(`["31.12.2016 23:59", "1.1.1969 00:00"]`), libS("d.M.yyyy HH:mm")}, want: "2016-12-31 | 1969-01-01"},

		{fn: "date_format", args: []any{libTS("2016-04-08 13:04:05"), libS("y")}, want: "2016"},
		{fn: "date_format", args: []any{ts(`["2016-04-08 13:04:05.123456", null, "1969-12-31 23:59:59.999999"]`), libS("yyyy-MM-dd HH:mm:ss.SSS EEE MMM a hh Q D")},
			want: "2016-04-08 13:04:05.123 Fri Apr PM 01 2 99 | NULL | 1969-12-31 23:59:59.999 Wed Dec PM 11 4 365"},
		{fn: "date_format", args: []any{ts(`["2024-02-29 00:00:00"]`), libS("EEEE, MMMM d, yyyy 'at' h a '''q''' [XXX]")}, want: "Thursday, February 29, 2024 at 12 AM 'q' Z"},
		{fn: "date_format", args: []any{dates(`["2024-02-29"]`), libS("yyyy-MM-dd")}, want: "2024-02-29"},
		{fn: "date_format", args: []any{libTS("2016-04-08 13:04:05"), libS("yyyy-MM-dd u")}, err: ErrInvalidArgument},

		{fn: "from_unixtime", args: []any{libL(0), libS("yyyy-MM-dd HH:mm:ss")}, want: "1970-01-01 00:00:00"},
		{fn: "from_unixtime", args: []any{libCol{T: expr.Int64, JS: `[0, 1460073600, null, -1]`}}, want: "1970-01-01 00:00:00 | 2016-04-08 00:00:00 | NULL | 1969-12-31 23:59:59"},
		{fn: "unix_timestamp", args: []any{libS("2016-04-08"), libS("yyyy-MM-dd")}, want: "1460073600"},
		{fn: "unix_timestamp", args: []any{strs(`["2016-04-08 00:00:01", "nope", null]`)}, want: "1460073601 | NULL | NULL"},
		{fn: "unix_timestamp", args: []any{ts(`["1969-12-31 23:59:59.5"]`)}, want: "-1"},
		{fn: "unix_timestamp", args: []any{dates(`["2016-04-08"]`)}, want: "1460073600"},

		{fn: "date_trunc", args: []any{libS("YEAR"), ts(`["2015-03-05 09:32:05.359"]`)}, want: "2015-01-01 00:00:00"},
		{fn: "date_trunc", args: []any{libS("MM"), ts(`["2015-03-05 09:32:05.359"]`)}, want: "2015-03-01 00:00:00"},
		{fn: "date_trunc", args: []any{libS("DD"), ts(`["2015-03-05 09:32:05.359"]`)}, want: "2015-03-05 00:00:00"},
		{fn: "date_trunc", args: []any{libS("HOUR"), ts(`["2015-03-05 09:32:05.359"]`)}, want: "2015-03-05 09:00:00"},
		{fn: "date_trunc", args: []any{libS("MILLISECOND"), ts(`["2015-03-05 09:32:05.123456"]`)}, want: "2015-03-05 09:32:05.123"},
		{fn: "date_trunc", args: []any{libS("quarter"), ts(`["2015-03-05 09:32:05", "2024-12-31 23:59:59"]`)}, want: "2015-01-01 00:00:00 | 2024-10-01 00:00:00"},
		{fn: "date_trunc", args: []any{libS("week"), ts(`["2024-03-03 10:00:00", "2024-03-04 10:00:00"]`)}, want: "2024-02-26 00:00:00 | 2024-03-04 00:00:00"},
		{fn: "date_trunc", args: []any{libS("minute"), ts(`["1969-12-31 23:59:59.5", null, "2024-02-29 12:34:56"]`)}, want: "1969-12-31 23:59:00 | NULL | 2024-02-29 12:34:00"},
		{fn: "date_trunc", args: []any{libS("fortnight"), ts(`["2024-02-29 12:34:56"]`)}, want: "NULL"},
		{fn: "date_trunc", args: []any{strs(`["second", "bogus", "DAY"]`), ts(`["2024-02-29 12:34:56.7", "2024-02-29 12:34:56", "2024-02-29 12:34:56"]`)}, want: "2024-02-29 12:34:56 | NULL | 2024-02-29 00:00:00"},
		{fn: "trunc", args: []any{libDate("2019-08-04"), libS("week")}, want: "2019-07-29"},
		{fn: "trunc", args: []any{dates(`["2019-08-04", null]`), libS("quarter")}, want: "2019-07-01 | NULL"},
		{fn: "trunc", args: []any{dates(`["2009-02-12"]`), libS("MM")}, want: "2009-02-01"},
		{fn: "trunc", args: []any{dates(`["2015-10-27"]`), libS("YEAR")}, want: "2015-01-01"},
		{fn: "trunc", args: []any{dates(`["2015-10-27"]`), libS("hour")}, want: "NULL"},

		{fn: "year", args: []any{dates(`["2016-07-30", null, "0001-01-01", "1969-12-31"]`)}, want: "2016 | NULL | 1 | 1969"},
		{fn: "year", args: []any{ts(`["1969-12-31 23:59:59.999999"]`)}, want: "1969"},
		{fn: "quarter", args: []any{dates(`["2016-08-31"]`)}, want: "3"},
		{fn: "month", args: []any{dates(`["2016-07-30"]`)}, want: "7"},
		{fn: "day", args: []any{dates(`["2009-07-30"]`)}, want: "30"},
		{fn: "dayofmonth", args: []any{dates(`["2024-02-29"]`)}, want: "29"},
		{fn: "dayofweek", args: []any{dates(`["2009-07-30", "2024-03-03", "2024-03-02"]`)}, want: "5 | 1 | 7"},
		{fn: "weekday", args: []any{dates(`["2009-07-30"]`)}, want: "3"},
		{fn: "dayofyear", args: []any{dates(`["2016-04-09", "2024-12-31", "2023-12-31"]`)}, want: "100 | 366 | 365"},
		{fn: "weekofyear", args: []any{dates(`["2008-02-20", "2021-01-03", "2020-12-31", "2024-12-30"]`)}, want: "8 | 53 | 53 | 1"},
		{fn: "hour", args: []any{ts(`["2009-07-30 12:58:59", "1969-12-31 23:00:00", null]`)}, want: "12 | 23 | NULL"},
		{fn: "minute", args: []any{ts(`["2009-07-30 12:58:59"]`)}, want: "58"},
		{fn: "second", args: []any{ts(`["2009-07-30 12:58:59", "1969-12-31 23:59:58.5"]`)}, want: "59 | 58"},
		{fn: "hour", args: []any{dates(`["2009-07-30"]`)}, want: "0"},

		{fn: "timestamp_seconds", args: []any{libL(1230219000)}, want: "2008-12-25 15:30:00"},
		{fn: "timestamp_seconds", args: []any{libD(1230219000.123)}, want: "2008-12-25 15:30:00.123"},
		{fn: "timestamp_millis", args: []any{libL(1230219000123)}, want: "2008-12-25 15:30:00.123"},
		{fn: "timestamp_micros", args: []any{libL(1230219000123123)}, want: "2008-12-25 15:30:00.123123"},
		{fn: "unix_seconds", args: []any{ts(`["1970-01-01 00:00:01", "1969-12-31 23:59:59.5"]`)}, want: "1 | -1"},
		{fn: "unix_millis", args: []any{ts(`["1970-01-01 00:00:01"]`)}, want: "1000"},
		{fn: "unix_micros", args: []any{ts(`["1970-01-01 00:00:01"]`)}, want: "1000000"},
		{fn: "unix_date", args: []any{dates(`["1970-01-02"]`)}, want: "1"},
		{fn: "date_from_unix_date", args: []any{libI(1)}, want: "1970-01-02"},

		{fn: "date_add", args: []any{dates(`["2016-07-30", null]`), libI(1)}, want: "2016-07-31 | NULL"},
		{fn: "date_sub", args: []any{dates(`["2016-07-30"]`), libI(1)}, want: "2016-07-29"},
		{fn: "date_add", args: []any{dates(`["2024-02-28", "2023-02-28"]`), libCol{T: expr.Int32, JS: `[1, 1]`}}, want: "2024-02-29 | 2023-03-01"},
		{fn: "datediff", args: []any{dates(`["2009-07-31"]`), dates(`["2009-07-30"]`)}, want: "1"},
		{fn: "datediff", args: []any{dates(`["2009-07-30"]`), dates(`["2009-07-31"]`)}, want: "-1"},
		{fn: "add_months", args: []any{dates(`["2016-08-31", "2024-01-31", "2024-03-31"]`), libCol{T: expr.Int32, JS: `[1, 1, -13]`}}, want: "2016-09-30 | 2024-02-29 | 2023-02-28"},
		{fn: "months_between", args: []any{ts(`["1997-02-28 10:30:00"]`), ts(`["1996-10-30 00:00:00"]`)}, want: "3.94959677"},
		{fn: "months_between", args: []any{ts(`["1997-02-28 10:30:00"]`), ts(`["1996-10-30 00:00:00"]`), expr.Lit(false)}, want: "3.9495967741935485"},
		{fn: "months_between", args: []any{ts(`["2024-02-29 10:00:00"]`), ts(`["2024-01-31 00:00:00"]`)}, want: "1.0"},
		{fn: "last_day", args: []any{dates(`["2009-01-12", "2024-02-10", "2023-02-10"]`)}, want: "2009-01-31 | 2024-02-29 | 2023-02-28"},
		{fn: "make_date", args: []any{libI(2013), libI(7), libI(15)}, want: "2013-07-15"},
		{fn: "make_date", args: []any{libI(2019), libI(7), libNull(expr.Int32)}, want: "NULL"},
		{fn: "make_date", args: []any{libCol{T: expr.Int32, JS: `[2024, 2023, 2024]`}, libI(2), libCol{T: expr.Int32, JS: `[29, 29, 0]`}}, want: "2024-02-29 | NULL | NULL"},
		{fn: "make_timestamp", args: []any{libI(2014), libI(12), libI(28), libI(6), libI(30), libD(45.887)}, want: "2014-12-28 06:30:45.887"},
		{fn: "make_timestamp", args: []any{libI(2014), libI(12), libI(28), libI(6), libI(30), libD(45.887), libS("+01:00")}, want: "2014-12-28 05:30:45.887"},
		{fn: "make_timestamp", args: []any{libI(2019), libI(6), libI(30), libI(23), libI(59), libD(60)}, want: "2019-07-01 00:00:00"},
		{fn: "make_timestamp", args: []any{libI(2019), libI(6), libI(30), libI(23), libI(59), libD(60.5)}, want: "NULL"},
		{fn: "make_timestamp", args: []any{libI(2019), libI(13), libI(1), libI(10), libI(11), libD(12)}, want: "NULL"},
		{fn: "year", args: []any{libCol{T: expr.Float64, JS: `[1]`}}, err: expr.ErrType},
	})
}

func TestTemporalSliced(t *testing.T) {
	libRunCases(t, []libCase{
		{fn: "hour", args: []any{libCol{T: expr.Timestamp, JS: `["2009-07-30 01:00:00", "2009-07-30 02:00:00", null, "2009-07-30 04:00:00"]`, Lo: 1, Hi: 4}}, want: "2 | NULL | 4"},
		{fn: "date_format", args: []any{libCol{T: expr.Timestamp, JS: `["2009-07-30 01:00:00", null, "2009-07-30 04:00:00"]`, Lo: 1, Hi: 3}, libS("HH")}, want: "NULL | 04"},
		{fn: "to_timestamp", args: []any{libCol{T: expr.String, JS: `["2001", "2002", "2003"]`, Lo: 1, Hi: 3}, libS("yyyy")}, want: "2002-01-01 00:00:00 | 2003-01-01 00:00:00"},
		{fn: "date_trunc", args: []any{libS("minute"), libCol{T: expr.Timestamp, JS: `[]`}}, want: ""},
	})
}

func TestTemporalCivilRoundTrip(t *testing.T) {
	for d := int64(-800_000); d <= 800_000; d += 7 {
		y, m, day := calCivilFromDays(d)
		if back := calDaysFromCivil(y, m, day); back != d {
			t.Fatalf("day %d -> %d-%d-%d -> %d", d, y, m, day, back)
		}
	}
	if !calIsLeap(2000) || calIsLeap(1900) || !calIsLeap(2024) || calIsLeap(2023) {
		t.Fatal("leap year rule")
	}
}

func TestDatetimePatternRoundTrip(t *testing.T) {
	pats := []string{"yyyy-MM-dd HH:mm:ss.SSSSSS", "yyyyMMddHHmmss", "dd MMM yyyy hh:mm:ss a", "EEEE d MMMM yyyy HH:mm:ss.SSS", "D yyyy HH mm ss"}
	for _, ps := range pats {
		p, err := compileDatetimePattern(ps)
		if err != nil {
			t.Fatal(err)
		}
		for _, us := range []int64{0, 1, -1, 951782400_000_000, 1709214330_123456, -62135596800_000_000} {
			s := p.appendFormat(nil, us)
			got, ok := p.parse(s)
			want := us
			if ps != "yyyy-MM-dd HH:mm:ss.SSSSSS" {
				frac := int64(0)
				if ps == "EEEE d MMMM yyyy HH:mm:ss.SSS" {
					frac = calFloorMod(us, usPerSecond) / 1000 * 1000
				}
				want = calFloorDiv(us, usPerSecond)*usPerSecond + frac
			}
			if !ok || got != want {
				t.Errorf("%q: %d -> %q -> %d, %v (want %d)", ps, us, s, got, ok, want)
			}
		}
	}
}
