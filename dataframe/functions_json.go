package dataframe

import (
	"maps"
	"slices"
)

// FromJSON parses a string or binary column of JSON objects into a struct
// with the fields of schema (DDL, "ad_id STRING, ts TIMESTAMP"), as Spark's
// from_json: NULL or blank text gives NULL; malformed text gives NULL
// fields (option mode PERMISSIVE, the default) or fails the query (mode
// FAILFAST). Other options: timestampFormat, dateFormat, timeZone,
// columnNameOfCorruptRecord. A string names a column.
func FromJSON(c any, schema string, options ...map[string]string) Column {
	return call("from_json", append([]any{toColumn(c), schema}, optionPairs(options)...)...)
}

// ToJSON renders a struct (or array) column as JSON text, as Spark's
// to_json: ToJSON(Struct("*")) makes a Kafka sink's value. NULL fields are
// left out unless the option ignoreNullFields is "false"; timestampFormat,
// dateFormat and timeZone shape dates and times.
func ToJSON(c any, options ...map[string]string) Column {
	return call("to_json", append([]any{toColumn(c)}, optionPairs(options)...)...)
}

// optionPairs flattens option maps into sorted name, value arguments.
func optionPairs(options []map[string]string) []any {
	all := map[string]string{}
	for _, m := range options {
		maps.Copy(all, m)
	}
	var out []any
	for _, k := range slices.Sorted(maps.Keys(all)) {
		out = append(out, k, all[k])
	}
	return out
}
