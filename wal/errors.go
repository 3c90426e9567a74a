package wal

import "errors"

// Sentinels callers test with errors.Is.
var (
	// ErrConcurrentWriter: a log entry for this batch id already exists with
	// different content. Another query is (or was) writing the same
	// checkpoint.
	ErrConcurrentWriter = errors.New("wal: concurrent writer")
	// ErrCheckpointInUse: another running query holds the checkpoint.
	ErrCheckpointInUse = errors.New("wal: checkpoint in use")
	// ErrCorrupt: a log entry or the metadata file cannot be decoded.
	ErrCorrupt = errors.New("wal: corrupt file")
	// ErrUnsupportedVersion: a log entry was written in a format version
	// this build cannot read (by a newer sluice).
	ErrUnsupportedVersion = errors.New("wal: unsupported log version")
	// ErrNotFound: no log entry for the batch id. Errors wrapping it also
	// wrap storage.ErrNotExist.
	ErrNotFound = errors.New("wal: no log entry")
)
