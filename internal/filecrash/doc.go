// Package filecrash proves the file pipeline exactly-once under real
// crashes: a streaming file source (JSON files arriving in a directory)
// feeding a windowed aggregation with a watermark in append mode, written
// by the Parquet file sink, runs in a child process on local disk and on
// S3 (versitygw). The test kills the child with SIGKILL at random moments
// and at chosen points (around the checkpoint's offsets, commits, state
// and source-log writes, and inside the sink: creating, writing and
// publishing data files, before and after the manifest entry), restarts
// it on the same checkpoint, adds more input files between runs, and at
// the end reads the sink's directory through its manifest: the rows must
// equal the batch answer exactly, with no duplicate and no row from a
// file the manifest does not name.
//
// Run a soak with
//
//	go test ./internal/filecrash -filecrash.kills=2000 -filecrash.s3kills=200 [-filecrash.seed=N]
//
// The package has no non-test code.
package filecrash
