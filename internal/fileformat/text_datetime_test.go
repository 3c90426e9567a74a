package fileformat

import (
	"testing"
	"time"
)

func us(t *testing.T, s string) int64 {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UnixMicro()
}

func TestParseISOTimestamp(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC3339 or "" for a parse failure
	}{
		{"2026-01-02 03:04:05", "2026-01-02T03:04:05Z"},
		{"2026-01-02T03:04:05Z", "2026-01-02T03:04:05Z"},
		{"2026-01-02T03:04:05.5", "2026-01-02T03:04:05.5Z"},
		{"2026-01-02 03:04:05.123456789", "2026-01-02T03:04:05.123456Z"},
		{"2026-01-02 03:04:05+05:30", "2026-01-01T21:34:05Z"},
		{"2026-01-02 03:04:05-08", "2026-01-02T11:04:05Z"},
		{"2026-01-02T03:04:05+0100", "2026-01-02T02:04:05Z"},
		{"  2026-01-02 03:04:05  ", "2026-01-02T03:04:05Z"},
		{"2026-01-02", "2026-01-02T00:00:00Z"},
		{"2026-01", "2026-01-01T00:00:00Z"},
		{"2026", "2026-01-01T00:00:00Z"},
		{"2026-1-2 3:4:5", "2026-01-02T03:04:05Z"},
		{"1969-12-31 23:59:59.999999", "1969-12-31T23:59:59.999999Z"},
		{"0001-01-01 00:00:00", "0001-01-01T00:00:00Z"},
		{"2024-02-29 00:00:00", "2024-02-29T00:00:00Z"},
		{"2023-02-29 00:00:00", ""},
		{"2026-13-01", ""},
		{"2026-01-02 24:00:00", ""},
		{"2026-01-02 03:60", ""},
		{"2026-01-02 03:04:05.", ""},
		{"2026-01-02 03:04:05 +25:00", ""},
		{"2026-01-02x", ""},
		{"abc", ""},
		{"", ""},
		{"2026-01-02 03:04:05 Nowhere/City", ""},
	}
	var o datetimeOptions
	for _, tc := range tests {
		got, ok := o.parseTimestamp([]byte(tc.in))
		if tc.want == "" {
			if ok {
				t.Errorf("%q parsed as %v, want failure", tc.in, time.UnixMicro(got).UTC())
			}
			continue
		}
		if !ok || got != us(t, tc.want) {
			t.Errorf("%q = %v (ok=%v), want %s", tc.in, time.UnixMicro(got).UTC(), ok, tc.want)
		}
	}
}

func TestDatetimePatterns(t *testing.T) {
	tests := []struct {
		pattern string
		in      string
		want    string // RFC3339, "" = no match
		format  string // the formatted want ("" = same as in)
	}{
		{"yyyy-MM-dd HH:mm:ss", "2026-01-02 03:04:05", "2026-01-02T03:04:05Z", ""},
		{"yyyy-MM-dd HH:mm:ss", "2026-1-02 03:04:05", "", ""},
		{"yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2026-01-02T03:04:05.120Z", "2026-01-02T03:04:05.12Z", ""},
		{"yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2026-01-02T03:04:05.1+01:00", "2026-01-02T02:04:05.1Z", "2026-01-02T02:04:05.100Z"},
		{"yyyy-MM-dd HH:mm:ss[.SSSSSS]", "2026-01-02 03:04:05", "2026-01-02T03:04:05Z", "2026-01-02 03:04:05.000000"},
		{"yyyy-MM-dd HH:mm:ss[.SSSSSS]", "2026-01-02 03:04:05.25", "2026-01-02T03:04:05.25Z", "2026-01-02 03:04:05.250000"},
		{"dd/MM/yy h:mm a", "02/01/26 3:04 PM", "2026-01-02T15:04:00Z", ""},
		{"dd/MM/yy h:mm a", "02/01/26 12:04 am", "2026-01-02T00:04:00Z", "02/01/26 12:04 AM"},
		{"d MMM yyyy", "2 Jan 2026", "2026-01-02T00:00:00Z", ""},
		{"d MMMM yyyy", "2 january 2026", "2026-01-02T00:00:00Z", "2 January 2026"},
		{"EEE, d MMM yyyy HH:mm:ss Z", "Fri, 2 Jan 2026 03:04:05 +0100", "2026-01-02T02:04:05Z", "Fri, 2 Jan 2026 02:04:05 +0000"},
		{"yyyyMMddHHmmss", "20260102030405", "2026-01-02T03:04:05Z", ""},
		{"yyyy-MM-dd HH:mm:ss VV", "2026-07-01 12:00:00 Europe/Paris", "2026-07-01T10:00:00Z", "2026-07-01 10:00:00 UTC"},
		{"yyyy-MM-dd'T'HH:mm:ssx", "2026-01-02T03:04:05+01", "2026-01-02T02:04:05Z", "2026-01-02T02:04:05+00"},
		{"''yyyy''", "'2026'", "2026-01-01T00:00:00Z", ""},
		{"yyyy-MM-dd", "2026-01-02 ", "", ""},
	}
	for _, tc := range tests {
		p, err := compileDatetimePattern(tc.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		o := datetimeOptions{tsParse: p, tsWrite: p}
		got, ok := o.parseTimestamp([]byte(tc.in))
		if tc.want == "" {
			if ok {
				t.Errorf("%q %q parsed, want failure", tc.pattern, tc.in)
			}
			continue
		}
		if !ok || got != us(t, tc.want) {
			t.Errorf("%q %q = %v (ok=%v), want %s", tc.pattern, tc.in, time.UnixMicro(got).UTC(), ok, tc.want)
			continue
		}
		wantFmt := tc.format
		if wantFmt == "" {
			wantFmt = tc.in
		}
		if f := string(o.appendTimestamp(nil, got)); f != wantFmt {
			t.Errorf("format %q of %s = %q, want %q", tc.pattern, tc.want, f, wantFmt)
		}
	}
}

func TestDatetimePatternErrors(t *testing.T) {
	for _, p := range []string{"", "yyyy-MM-dd'T", "yyyy[-MM", "yyyy]", "QQ", "SSSSSSSSSS", "ddd", "MMMMM"} {
		if _, err := compileDatetimePattern(p); err == nil {
			t.Errorf("pattern %q compiled", p)
		}
	}
}

func TestDefaultWriteFormats(t *testing.T) {
	o := datetimeOptions{}
	o.tsWrite, _ = compileDatetimePattern(defaultTimestampWriteFormat)
	o.dtWrite, _ = compileDatetimePattern(defaultDateWriteFormat)
	if got := string(o.appendTimestamp(nil, us(t, "2026-01-02T03:04:05.123456Z"))); got != "2026-01-02T03:04:05.123Z" {
		t.Errorf("timestamp = %q", got)
	}
	if got := string(o.appendTimestamp(nil, us(t, "1969-12-31T23:59:59.9Z"))); got != "1969-12-31T23:59:59.900Z" {
		t.Errorf("negative timestamp = %q", got)
	}
	if got := string(o.appendDate(nil, -1)); got != "1969-12-31" {
		t.Errorf("date = %q", got)
	}
	loc, _ := loadZone("America/New_York")
	o.loc = loc
	if got := string(o.appendTimestamp(nil, us(t, "2026-07-01T12:00:00Z"))); got != "2026-07-01T08:00:00.000-04:00" {
		t.Errorf("zoned timestamp = %q", got)
	}
}

func TestCivilDays(t *testing.T) {
	for d := int64(-800000); d < 800000; d += 997 {
		y, m, dd := civilFromDays(d)
		if back := daysFromCivil(y, m, dd); back != d {
			t.Fatalf("day %d -> %d-%d-%d -> %d", d, y, m, dd, back)
		}
		want := time.Unix(d*86400, 0).UTC()
		if y != want.Year() || m != int(want.Month()) || dd != want.Day() {
			t.Fatalf("day %d = %d-%d-%d, time says %s", d, y, m, dd, want)
		}
	}
}

func TestParseDatePatterns(t *testing.T) {
	p, _ := compileDatetimePattern("yyyyMMdd")
	o := datetimeOptions{dtParse: p}
	for in, want := range map[string]int32{"20260102": 20455, "19700101": 0, "20261302": -1, "20260230": -1, "2026010": -1} {
		got, ok := o.parseDate([]byte(in))
		if want < 0 {
			if ok {
				t.Errorf("%s parsed as %d", in, got)
			}
			continue
		}
		if !ok || got != want {
			t.Errorf("%s = %d, %v; want %d", in, got, ok, want)
		}
	}
}
