package fileformat

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateOptions(t *testing.T) {
	tests := []struct {
		format string
		opts   map[string]string
		want   []string // substrings of the error; nil = valid
	}{
		{"csv", nil, nil},
		{"CSV", map[string]string{"header": "true", "SEP": ";", "delimiter": ";", "inferSchema": "false"}, nil},
		{"csv", map[string]string{"Header": "TRUE", "mode": "dropmalformed", "nullValue": "NA", "emptyValue": "",
			"quote": "", "escape": `\`, "comment": "#", "sep": `\t`, "encoding": "utf-8",
			"timestampFormat": "yyyy-MM-dd HH:mm:ss[.SSSSSS]", "dateFormat": "dd.MM.yyyy", "timeZone": "+01:00",
			"samplingRatio": "0.5", "multiLine": "true", "ignoreLeadingWhiteSpace": "true", "compression": "gzip",
			"maxFilesPerTrigger": "10", "pathGlobFilter": "*.csv"}, nil},
		{"csv", map[string]string{"delimeter": ","}, []string{`unknown csv option "delimeter" (did you mean "sep"?); valid csv options: `, "columnNameOfCorruptRecord, comment, compression"}},
		{"csv", map[string]string{"header": "yes"}, []string{`csv option header="yes": want true or false`}},
		{"csv", map[string]string{"mode": "strict"}, []string{`csv option mode="strict": want PERMISSIVE, DROPMALFORMED or FAILFAST`}},
		{"csv", map[string]string{"sep": "::"}, []string{`csv option sep="::": want one ASCII character (multi-character values are not supported)`}},
		{"csv", map[string]string{"encoding": "latin1"}, []string{`csv option encoding="latin1": only UTF-8 is supported`}},
		{"csv", map[string]string{"samplingRatio": "0"}, []string{`samplingRatio="0": want a number in (0, 1]`}},
		{"csv", map[string]string{"timestampFormat": "yyyy-QQ"}, []string{`unsupported pattern letter "Q"`}},
		{"csv", map[string]string{"timeZone": "Mars/Olympus"}, []string{`unknown time zone "Mars/Olympus"`}},
		{"csv", map[string]string{"compression": "snappy"}, []string{`compression="snappy": want none or gzip`}},
		{"csv", map[string]string{"sep": ",", "quote": ","}, []string{`sep and quote are both ','`}},
		{"csv", map[string]string{"sep": ",", "delimiter": ";"}, []string{`given twice`}},
		// Every problem at once.
		{"csv", map[string]string{"header": "1", "bogus": "x", "mode": "?"}, []string{`"bogus"`, `header="1"`, `mode="?"`}},
		{"json", map[string]string{"multiLine": "true"}, []string{`multiLine=true is not supported for json`}},
		{"json", map[string]string{"multiLine": "false", "ignoreNullFields": "false", "primitivesAsString": "true"}, nil},
		{"json", map[string]string{"header": "true"}, []string{`unknown json option "header"`}},
		{"text", map[string]string{"wholetext": "true", "compression": "none"}, nil},
		{"text", map[string]string{"sep": ","}, []string{`unknown text option "sep"`}},
		{"xml", nil, []string{`unknown format "xml"; known formats: `, "csv, json"}},
	}
	for _, tc := range tests {
		err := ValidateOptions(tc.format, tc.opts)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s %v: unexpected error %v", tc.format, tc.opts, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s %v: want error containing %q", tc.format, tc.opts, tc.want)
			continue
		}
		if !errors.Is(err, ErrOption) {
			t.Errorf("%s %v: error does not wrap ErrOption: %v", tc.format, tc.opts, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %v:\n got %v\nwant substring %q", tc.format, tc.opts, err, w)
			}
		}
	}
}

func TestValidateOptionsJoinsErrors(t *testing.T) {
	err := ValidateOptions("csv", map[string]string{"header": "1", "bogus": "x", "mode": "?"})
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 3 {
		t.Fatalf("want 3 joined errors, got %v", err)
	}
}

func TestParseCharOption(t *testing.T) {
	tests := map[string]byte{",": ',', `\t`: '\t', `\u0001`: 1, `\\`: '\\', `\0`: 0, "|": '|'}
	for in, want := range tests {
		got, err := parseCharOption(in)
		if err != nil || got != want {
			t.Errorf("parseCharOption(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ab", "é", `\u00e9`} {
		if _, err := parseCharOption(bad); err == nil {
			t.Errorf("parseCharOption(%q) accepted", bad)
		}
	}
}
