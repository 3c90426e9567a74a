package state

// Metrics describe a store (or, from Operator.Metrics, the sum over an
// operator's stores), shaped after Spark's per-operator state metrics.
type Metrics struct {
	// Version is the loaded version, -1 when none (for an operator: the
	// highest of its stores).
	Version int64
	// NumRowsTotal is the number of keys in the state.
	NumRowsTotal int64
	// NumRowsUpdated and NumRowsRemoved count the keys put (inserted or
	// changed) and removed by the last commit.
	NumRowsUpdated int64
	NumRowsRemoved int64
	// MemoryUsedBytes is the memory held by the in-memory table (hash
	// table, keys, values, bookkeeping).
	MemoryUsedBytes int64
	// CommitTimeMs is the duration of the last commit (0 without
	// Options.Clock).
	CommitTimeMs int64
	// CommitBytes is the size of the delta file the last commit wrote.
	CommitBytes int64
	// SnapshotVersion is the newest snapshot known to exist (0: none).
	SnapshotVersion int64
	// SnapshotBytes is the size of the last snapshot written in this run.
	SnapshotBytes int64
	// SnapshotsWritten counts the snapshots written in this run;
	// SnapshotsFailed those abandoned (cancelled by Load/Abort/Close or
	// failed to write: harmless, restores use older files).
	SnapshotsWritten int64
	SnapshotsFailed  int64
	// Restores counts loads from files (start, restart, Load of a version
	// other than the one in memory, Load after Abort); RestoreTimeMs is
	// the duration of the last one.
	Restores      int64
	RestoreTimeMs int64
	// ReplayMismatches counts commits that found their delta file written
	// by an earlier run with different changes and kept it
	// (ReplayKeepFile).
	ReplayMismatches int64
}

func (m *Metrics) add(o Metrics) {
	m.Version = max(m.Version, o.Version)
	m.NumRowsTotal += o.NumRowsTotal
	m.NumRowsUpdated += o.NumRowsUpdated
	m.NumRowsRemoved += o.NumRowsRemoved
	m.MemoryUsedBytes += o.MemoryUsedBytes
	m.CommitTimeMs = max(m.CommitTimeMs, o.CommitTimeMs)
	m.CommitBytes += o.CommitBytes
	m.SnapshotVersion = max(m.SnapshotVersion, o.SnapshotVersion)
	m.SnapshotBytes += o.SnapshotBytes
	m.SnapshotsWritten += o.SnapshotsWritten
	m.SnapshotsFailed += o.SnapshotsFailed
	m.Restores += o.Restores
	m.RestoreTimeMs = max(m.RestoreTimeMs, o.RestoreTimeMs)
	m.ReplayMismatches += o.ReplayMismatches
}
