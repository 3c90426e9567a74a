package fileformat

import "fmt"

// csvOptions are the parsed CSV options (see csvOptionSpecs for the list
// and defaults).
type csvOptions struct {
	header        bool
	inferSchema   bool
	multiLine     bool
	enforceSchema bool
	quoteAll      bool
	escapeQuotes  bool
	trimLead      bool
	trimTrail     bool
	preferDate    bool

	sep, quote, escape, comment byte

	nullValue   string
	emptyRead   string // a quoted empty field reads as this
	emptyReadB  []byte
	emptyWrite  string // an empty string writes as this
	nanValue    string
	positiveInf string
	negativeInf string

	mode          parseMode
	corruptColumn string
	samplingRatio float64
	maxRows       int
	maxColumns    int
	maxChars      int
	compression   string

	dt datetimeOptions
}

const defaultCorruptColumn = "_corrupt_record"

// parseCSVOptions checks and decodes CSV options, reporting every problem.
func parseCSVOptions(opts map[string]string) (*csvOptions, error) {
	s := newOptionSet("csv", csvOptionSpecs, opts)
	o := &csvOptions{
		header:        s.boolean("header", false),
		inferSchema:   s.boolean("inferSchema", false),
		multiLine:     s.boolean("multiLine", false),
		enforceSchema: s.boolean("enforceSchema", true),
		quoteAll:      s.boolean("quoteAll", false),
		escapeQuotes:  s.boolean("escapeQuotes", true),
		trimLead:      s.boolean("ignoreLeadingWhiteSpace", false),
		trimTrail:     s.boolean("ignoreTrailingWhiteSpace", false),
		preferDate:    s.boolean("preferDate", true),
		sep:           s.char("sep", ','),
		quote:         s.char("quote", '"'),
		escape:        s.char("escape", '\\'),
		comment:       s.char("comment", 0),
		nullValue:     s.str("nullValue", ""),
		emptyRead:     s.str("emptyValue", ""),
		emptyWrite:    s.str("emptyValue", `""`),
		nanValue:      s.str("nanValue", "NaN"),
		positiveInf:   s.str("positiveInf", "Inf"),
		negativeInf:   s.str("negativeInf", "-Inf"),
		mode:          s.mode(),
		corruptColumn: s.str("columnNameOfCorruptRecord", defaultCorruptColumn),
		samplingRatio: s.float("samplingRatio", 1),
		maxRows:       s.integer("maxRows", 0),
		maxColumns:    s.integer("maxColumns", 20480),
		maxChars:      s.integer("maxCharsPerColumn", -1),
		compression:   s.str("compression", "none"),
		dt:            newDatetimeOptions(s),
	}
	o.emptyReadB = []byte(o.emptyRead)
	if !s.has("emptyValue") {
		// Spark writes "" whatever the quote; use the configured quote so
		// the value reads back as an empty string.
		o.emptyWrite = ""
		if o.quote != 0 {
			o.emptyWrite = string([]byte{o.quote, o.quote})
		}
	}
	if s.has("sep") && o.sep == 0 {
		s.errs = append(s.errs, fmt.Errorf("%w: csv option sep must not be empty", ErrOption))
	}
	if o.sep == '\n' || o.sep == '\r' {
		s.errs = append(s.errs, fmt.Errorf("%w: csv option sep=%q: a line break cannot separate fields", ErrOption, o.sep))
	}
	if o.quote != 0 && o.quote == o.sep {
		s.errs = append(s.errs, fmt.Errorf("%w: csv options sep and quote are both %q; they must differ", ErrOption, o.sep))
	}
	if o.comment != 0 && (o.comment == o.sep || o.comment == o.quote) {
		s.errs = append(s.errs, fmt.Errorf("%w: csv option comment=%q collides with sep or quote", ErrOption, o.comment))
	}
	if err := s.err(); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *csvOptions) tokenizer() csvTokenizer {
	return csvTokenizer{
		sep: o.sep, quote: o.quote, escape: o.escape, comment: o.comment,
		trimLead: o.trimLead, trimTrail: o.trimTrail, multiLine: o.multiLine,
		maxCols: o.maxColumns, maxChars: o.maxChars,
	}
}

// errNoSchema explains how to get a schema.
func errNoSchema(format, name string) error {
	return fmt.Errorf("%w: %s file %s: pass a schema (ReadOptions.Schema, DataFrameReader.Schema) or set option inferSchema=true to infer one from the data",
		ErrNoSchema, format, name)
}
