package fileformat

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// OptionValidator is implemented by formats that check their options.
// ValidateOptions dispatches to it; a format without it accepts any option.
type OptionValidator interface {
	// ValidateOptions reports every unknown or invalid option at once
	// (errors.Join), each wrapping ErrOption.
	ValidateOptions(opts map[string]string) error
}

// ValidateOptions checks the options of format (case-insensitive name) and
// reports every problem at once, so a job spec is fixed in one pass. Option
// names are Spark's and, like in Spark, case-insensitive. Read and write
// options share one namespace per format; options of the other direction
// are accepted and ignored. Options that belong to the file source (path,
// pathGlobFilter, maxFilesPerTrigger, ...) are accepted for every format.
func ValidateOptions(format string, opts map[string]string) error {
	f, ok := Lookup(format)
	if !ok {
		names := make([]string, 0, len(Formats))
		for _, f := range Formats {
			names = append(names, f.Name())
		}
		return fmt.Errorf("%w: unknown format %q; known formats: %s", ErrOption, format, strings.Join(names, ", "))
	}
	if v, ok := f.(OptionValidator); ok {
		return v.ValidateOptions(opts)
	}
	return nil
}

// fileSourceOptions are read by the file source and sink, not by a format;
// every format accepts them so one option map can serve both.
var fileSourceOptions = []string{
	"path", "pathGlobFilter", "recursiveFileLookup", "basePath",
	"modifiedBefore", "modifiedAfter", "maxFilesPerTrigger", "maxBytesPerTrigger",
	"latestFirst", "fileNameOnly", "maxFileAge", "cleanSource", "sourceArchiveDir",
	"ignoreCorruptFiles", "ignoreMissingFiles", "partitionOverwriteMode", "mergeSchema",
}

// optionSpec describes one option: its Spark name, aliases and how to
// check its value. The spec lists are the single source of truth for
// validation and for the "valid options" hint.
type optionSpec struct {
	name    string
	aliases []string
	check   func(v string) error // nil accepts any string
}

// parseMode is Spark's mode option.
type parseMode uint8

const (
	// modeFailFast stops at the first malformed record. Our default (Spark
	// defaults to PERMISSIVE): bad input is a clear error, not silent NULLs.
	modeFailFast parseMode = iota
	// modePermissive keeps malformed records: unparsable fields become NULL
	// and columnNameOfCorruptRecord (if in the schema) gets the raw record.
	modePermissive
	// modeDropMalformed skips malformed records.
	modeDropMalformed
)

func (m parseMode) String() string {
	switch m {
	case modePermissive:
		return "PERMISSIVE"
	case modeDropMalformed:
		return "DROPMALFORMED"
	}
	return "FAILFAST"
}

func parseModeValue(v string) (parseMode, error) {
	switch strings.ToUpper(v) {
	case "FAILFAST":
		return modeFailFast, nil
	case "PERMISSIVE":
		return modePermissive, nil
	case "DROPMALFORMED":
		return modeDropMalformed, nil
	}
	return 0, errors.New("want PERMISSIVE, DROPMALFORMED or FAILFAST")
}

func checkBool(v string) error {
	_, err := parseBoolOption(v)
	return err
}

func parseBoolOption(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errors.New("want true or false")
}

func checkMode(v string) error { _, err := parseModeValue(v); return err }

func checkRatio(v string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || !(f > 0 && f <= 1) {
		return errors.New("want a number in (0, 1]")
	}
	return nil
}

func checkNonNegInt(v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return errors.New("want a non-negative integer")
	}
	return nil
}

func checkIntOrMinusOne(v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < -1 || n == 0 {
		return errors.New("want a positive integer or -1 (unlimited)")
	}
	return nil
}

func checkUTF8(v string) error {
	switch strings.ToUpper(strings.ReplaceAll(v, "-", "")) {
	case "UTF8":
		return nil
	}
	return errors.New("only UTF-8 is supported; convert the files to UTF-8 first (iconv -f <enc> -t UTF-8)")
}

func checkCompression(v string) error {
	switch strings.ToLower(v) {
	case "none", "uncompressed", "gzip":
		return nil
	}
	return errors.New("want none or gzip")
}

func checkTimestampPattern(v string) error {
	_, err := compileDatetimePattern(v)
	return err
}

func checkTimeZone(v string) error {
	_, err := loadZone(v)
	return err
}

// checkChar accepts one ASCII character, or a backslash escape (\t, \n,
// \r, \\, \u0001) as Spark does. empty tells whether "" is allowed (it
// turns the feature off, e.g. quote="" disables quoting).
func checkChar(empty bool) func(string) error {
	return func(v string) error {
		if v == "" && empty {
			return nil
		}
		_, err := parseCharOption(v)
		return err
	}
}

// parseCharOption decodes a one-character option value. 0 means none.
func parseCharOption(v string) (byte, error) {
	s := v
	if len(s) > 1 && s[0] == '\\' {
		switch {
		case s == `\t`:
			s = "\t"
		case s == `\n`:
			s = "\n"
		case s == `\r`:
			s = "\r"
		case s == `\\`:
			s = `\`
		case s == `\0`:
			return 0, nil
		case len(s) == 6 && s[1] == 'u':
			n, err := strconv.ParseUint(s[2:], 16, 16)
			if err != nil || n >= 0x80 {
				return 0, errors.New("want one ASCII character")
			}
			return byte(n), nil
		}
	}
	if len(s) != 1 {
		if len(s) == 0 {
			return 0, errors.New("want one character, got an empty string")
		}
		return 0, errors.New("want one ASCII character (multi-character values are not supported)")
	}
	if s[0] >= 0x80 {
		return 0, errors.New("want one ASCII character")
	}
	return s[0], nil
}

// optionSet is a parsed, case-insensitive view of an options map.
type optionSet struct {
	format string
	specs  []optionSpec
	vals   map[string]string // canonical name -> value
	errs   []error
}

// newOptionSet resolves names (case-insensitive, aliases) and checks every
// value; problems are collected in errs.
func newOptionSet(format string, specs []optionSpec, opts map[string]string) *optionSet {
	s := &optionSet{format: format, specs: specs, vals: make(map[string]string, len(opts))}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic error order
	for _, k := range keys {
		v := opts[k]
		spec := s.find(k)
		if spec == nil {
			if containsFold(fileSourceOptions, k) {
				continue
			}
			s.errs = append(s.errs, s.unknown(k))
			continue
		}
		if prev, dup := s.vals[spec.name]; dup && prev != v {
			s.errs = append(s.errs, fmt.Errorf("%w: %s option %q is given twice (as an alias or in another case) with different values %q and %q",
				ErrOption, format, spec.name, prev, v))
			continue
		}
		if spec.check != nil {
			if err := spec.check(v); err != nil {
				s.errs = append(s.errs, fmt.Errorf("%w: %s option %s=%q: %v", ErrOption, format, spec.name, v, err))
				continue
			}
		}
		s.vals[spec.name] = v
	}
	return s
}

func (s *optionSet) find(k string) *optionSpec {
	for i := range s.specs {
		sp := &s.specs[i]
		if strings.EqualFold(sp.name, k) {
			return sp
		}
		for _, a := range sp.aliases {
			if strings.EqualFold(a, k) {
				return sp
			}
		}
	}
	return nil
}

func (s *optionSet) unknown(k string) error {
	names := make([]string, 0, len(s.specs))
	best, bestD := "", 1<<30
	for _, sp := range s.specs {
		names = append(names, sp.name)
		for _, n := range append([]string{sp.name}, sp.aliases...) {
			if d := editDistance(strings.ToLower(k), strings.ToLower(n)); d < bestD {
				best, bestD = sp.name, d
			}
		}
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	hint := ""
	if bestD <= 2 || (bestD <= 3 && len(k) > 8) {
		hint = fmt.Sprintf(" (did you mean %q?)", best)
	}
	return fmt.Errorf("%w: unknown %s option %q%s; valid %s options: %s", ErrOption, s.format, k, hint, s.format, strings.Join(names, ", "))
}

func (s *optionSet) err() error { return errors.Join(s.errs...) }

func (s *optionSet) has(name string) bool { _, ok := s.vals[name]; return ok }

func (s *optionSet) str(name, def string) string {
	if v, ok := s.vals[name]; ok {
		return v
	}
	return def
}

func (s *optionSet) boolean(name string, def bool) bool {
	if v, ok := s.vals[name]; ok {
		b, _ := parseBoolOption(v)
		return b
	}
	return def
}

func (s *optionSet) integer(name string, def int) int {
	if v, ok := s.vals[name]; ok {
		n, _ := strconv.Atoi(strings.TrimSpace(v))
		return n
	}
	return def
}

func (s *optionSet) float(name string, def float64) float64 {
	if v, ok := s.vals[name]; ok {
		f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return f
	}
	return def
}

// char returns a one-character option; "" maps to 0 (feature off).
func (s *optionSet) char(name string, def byte) byte {
	if v, ok := s.vals[name]; ok {
		if v == "" {
			return 0
		}
		c, _ := parseCharOption(v)
		return c
	}
	return def
}

func (s *optionSet) mode() parseMode {
	m, _ := parseModeValue(s.str("mode", "FAILFAST"))
	return m
}

func containsFold(list []string, k string) bool {
	for _, n := range list {
		if strings.EqualFold(n, k) {
			return true
		}
	}
	return false
}

// editDistance is the Levenshtein distance, for "did you mean" hints.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Option specs per format. Each says in a comment whether it applies to
// reading, writing or both; Spark's defaults unless noted.
var commonTextSpecs = []optionSpec{
	{name: "encoding", aliases: []string{"charset"}, check: checkUTF8},         // read/write: UTF-8 only
	{name: "compression", aliases: []string{"codec"}, check: checkCompression}, // write: none|gzip (read: by .gz extension)
	{name: "mode", check: checkMode},                                           // read: default FAILFAST (Spark: PERMISSIVE)
	{name: "columnNameOfCorruptRecord"},                                        // read: default _corrupt_record
	{name: "timestampFormat", check: checkTimestampPattern},                    // read/write
	{name: "dateFormat", check: checkTimestampPattern},                         // read/write
	{name: "timeZone", check: checkTimeZone},                                   // read/write: default UTC
	{name: "inferSchema", check: checkBool},                                    // read: default false
	{name: "samplingRatio", check: checkRatio},                                 // inference: default 1.0
	{name: "maxRows", check: checkNonNegInt},                                   // inference: sluice extension, rows to sample, 0 = all
}

var csvOptionSpecs = slices.Concat(commonTextSpecs, []optionSpec{
	{name: "header", check: checkBool},                                     // read/write: default false
	{name: "sep", aliases: []string{"delimiter"}, check: checkChar(false)}, // read/write: default ","
	{name: "quote", check: checkChar(true)},                                // read/write: default `"`, "" disables quoting
	{name: "escape", check: checkChar(true)},                               // read/write: default `\`
	{name: "comment", check: checkChar(true)},                              // read: default none
	{name: "nullValue"},                                                    // read/write: default ""
	{name: "emptyValue"},                                                   // read: default "", write: default `""`
	{name: "nanValue"},                                                     // read: default NaN
	{name: "positiveInf"},                                                  // read: default Inf
	{name: "negativeInf"},                                                  // read: default -Inf
	{name: "ignoreLeadingWhiteSpace", check: checkBool},                    // read: default false
	{name: "ignoreTrailingWhiteSpace", check: checkBool},                   // read: default false
	{name: "multiLine", check: checkBool},                                  // read: default false
	{name: "enforceSchema", check: checkBool},                              // read: default true
	{name: "quoteAll", check: checkBool},                                   // write: default false
	{name: "escapeQuotes", check: checkBool},                               // write: default true
	{name: "maxColumns", check: checkNonNegInt},                            // read: default 20480
	{name: "maxCharsPerColumn", check: checkIntOrMinusOne},                 // read: default -1
	{name: "preferDate", check: checkBool},                                 // inference: default true
})

var jsonOptionSpecs = slices.Concat(commonTextSpecs, []optionSpec{
	{name: "multiLine", check: func(v string) error { // read: only false
		b, err := parseBoolOption(v)
		if err != nil {
			return err
		}
		if b {
			return errors.New("multiLine=true is not supported for json: use JSON lines (one object per line)")
		}
		return nil
	}},
	{name: "ignoreNullFields", check: checkBool},   // write: default true
	{name: "primitivesAsString", check: checkBool}, // inference: default false
	{name: "dropFieldIfAllNull", check: checkBool}, // inference: default false
})

var textOptionSpecs = []optionSpec{
	{name: "encoding", aliases: []string{"charset"}, check: checkUTF8},
	{name: "compression", aliases: []string{"codec"}, check: checkCompression},
	{name: "wholetext", check: checkBool}, // read: whole file as one row, default false
}
