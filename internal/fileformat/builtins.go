package fileformat

// Formats is the one list of built-in formats. Add a format here and it is
// reachable from the API, job specs, the streaming source and the sink.
var Formats = []Format{
	Parquet{},
	CSV,
	JSON,
	Text,
	// parquet, csv, json, text are registered here as they land.
}
