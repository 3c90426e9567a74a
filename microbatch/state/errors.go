package state

import "errors"

// Sentinels callers test with errors.Is.
var (
	// ErrSchemaChanged: the key or value columns of an operator's state
	// differ from the ones in its checkpoint. The message names the
	// operator and the column.
	ErrSchemaChanged = errors.New("state: state schema changed")
	// ErrPartitionsChanged: the query asks for a different number of
	// shuffle partitions than the checkpoint's state was written with.
	ErrPartitionsChanged = errors.New("state: number of shuffle partitions changed")
	// ErrCorrupt: a state file (delta, snapshot, _metadata) cannot be
	// decoded or fails its checksum. The message names the file.
	ErrCorrupt = errors.New("state: corrupt state file")
	// ErrVersionUnavailable: the files needed to restore a version are
	// missing (purged, never written, or the checkpoint was copied
	// partially).
	ErrVersionUnavailable = errors.New("state: version not available")
	// ErrDeltaConflict: a delta file for the version being committed
	// already exists with different changes.
	ErrDeltaConflict = errors.New("state: delta file conflict")
	// ErrNotLoaded: a data operation on a store with no version loaded
	// (before Load, or after Abort dropped the changes).
	ErrNotLoaded = errors.New("state: no version loaded")
	// ErrBadInput: columns or slots that do not fit the store (count,
	// type, length, slot of a removed row), or an invalid spec.
	ErrBadInput = errors.New("state: bad input")
	// ErrClosed: the store or operator was closed.
	ErrClosed = errors.New("state: closed")
)
