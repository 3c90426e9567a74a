package files

import (
	"strings"
	"testing"
	"time"
)

func TestParseOptions(t *testing.T) {
	o, err := ParseOptions("csv", "id BIGINT, d STRING", map[string]string{
		"path": "/in", "MaxFilesPerTrigger": "3", "maxBytesPerTrigger": "1MB", "latestFirst": "true",
		"maxFileAge": "2d", "cleanSource": "delete", "badRecordsPath": "/bad", "partitionColumns": "d, ",
		"seenFilesCompactInterval": "5", "header": "true", "sep": ";",
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.Path != "/in" || o.Format != "csv" || o.Schema != "id BIGINT, d STRING" || o.MaxFilesPerTrigger != 3 ||
		o.MaxBytesPerTrigger != 1<<20 || !o.LatestFirst || o.MaxFileAge != 48*time.Hour || o.CleanSource != "delete" ||
		o.BadRecordsPath != "/bad" || len(o.PartitionColumns) != 1 || o.PartitionColumns[0] != "d" ||
		o.SeenFilesCompactInterval != 5 || len(o.FormatOptions) != 2 || o.FormatOptions["sep"] != ";" {
		t.Fatalf("parsed %+v", o)
	}
	for _, c := range []struct {
		m    map[string]string
		want string
	}{
		{map[string]string{"path": "/in", "maxFilesPerTrigger": "x"}, `maxFilesPerTrigger="x"`},
		{map[string]string{"path": "/in", "maxBytesPerTrigger": "0"}, "maxBytesPerTrigger"},
		{map[string]string{"path": "/in", "latestFirst": "maybe"}, "latestFirst"},
		{map[string]string{"path": "/in", "maxFileAge": "-1h"}, "maxFileAge"},
		{map[string]string{"path": "/in", "inferSchema": "yes"}, "inferSchema"},
		{map[string]string{"path": "/in", "seenFilesCompactInterval": "1"}, "seenFilesCompactInterval"},
		{map[string]string{"path": "/in", "schema": "a INT"}, "given twice"},
		{map[string]string{"path": "/in", "fileNameOnly": "true"}, "fileNameOnly is not supported"},
		{map[string]string{"path": "/in", "cleanSource": "archive"}, "needs sourceArchiveDir"},
		{map[string]string{}, "path is required"},
	} {
		_, err := ParseOptions("csv", "id BIGINT", c.m)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.m, err, c.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90s", 90 * time.Second, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"0.5d", 12 * time.Hour, true},
		{"7 days", 7 * 24 * time.Hour, true},
		{"1 hour", time.Hour, true},
		{"2 months", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	} {
		got, err := ParseDuration(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

// FuzzParseDuration: nothing panics; a parsed duration from the "d" form
// is never negative.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"7d", "90s", "7 days", "1 hour", "-1h", "1e9d", "d", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && strings.HasSuffix(strings.TrimSpace(s), "d") && d < 0 {
			t.Fatalf("ParseDuration(%q) = %v", s, d)
		}
	})
}
