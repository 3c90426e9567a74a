package fileformat

// jsonOptions are the parsed JSON options (see jsonOptionSpecs).
type jsonOptions struct {
	mode               parseMode
	corruptColumn      string
	inferSchema        bool
	samplingRatio      float64
	maxRows            int
	ignoreNullFields   bool
	primitivesAsString bool
	dropFieldIfAllNull bool
	compression        string
	dt                 datetimeOptions
}

// parseJSONOptions checks and decodes JSON options, reporting every problem.
func parseJSONOptions(opts map[string]string) (*jsonOptions, error) {
	s := newOptionSet("json", jsonOptionSpecs, opts)
	if err := s.err(); err != nil {
		return nil, err
	}
	return &jsonOptions{
		mode:               s.mode(),
		corruptColumn:      s.str("columnNameOfCorruptRecord", defaultCorruptColumn),
		inferSchema:        s.boolean("inferSchema", false),
		samplingRatio:      s.float("samplingRatio", 1),
		maxRows:            s.integer("maxRows", 0),
		ignoreNullFields:   s.boolean("ignoreNullFields", true),
		primitivesAsString: s.boolean("primitivesAsString", false),
		dropFieldIfAllNull: s.boolean("dropFieldIfAllNull", false),
		compression:        s.str("compression", "none"),
		dt:                 newDatetimeOptions(s),
	}, nil
}
