package microbatch

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/microbatch/state"
	"github.com/sluicehq/sluice/wal"
)

// Sentinels of the checkpoint reader, for errors.Is.
var (
	// ErrNotCheckpoint: the location holds no checkpoint (no metadata
	// file).
	ErrNotCheckpoint = errors.New("microbatch: not a checkpoint")
	// ErrStateUnavailable: the operator, store or batch asked of a
	// checkpoint's state is not there (never existed, not committed, or
	// purged). The message lists what is.
	ErrStateUnavailable = errors.New("microbatch: state not available")
)

// CheckpointReader reads a query's checkpoint without taking it over: it
// takes no lock and writes nothing, so it can look at the checkpoint of a
// running query, which it sees as of its last commit. The state data
// source and `sluice checkpoint inspect` read through it.
type CheckpointReader struct {
	fs       storage.FS
	root     string
	location string // redacted
	meta     wal.Metadata
	offsets  *wal.OffsetLog
	commits  *wal.CommitLog
}

// OpenCheckpointReader opens the checkpoint at location (a path or a
// storage URL, as a query's checkpointLocation) for reading. It fails
// with ErrNotCheckpoint when there is none.
func OpenCheckpointReader(ctx context.Context, location string) (*CheckpointReader, error) {
	fsys, root, err := storage.Open(location)
	if err != nil {
		return nil, fmt.Errorf("microbatch: checkpoint location: %w", err)
	}
	return OpenCheckpointReaderFS(ctx, fsys, root, storage.RedactLocation(location))
}

// OpenCheckpointReaderFS is OpenCheckpointReader on a given FS and root;
// location names the checkpoint in messages (it must hold no secret).
func OpenCheckpointReaderFS(ctx context.Context, fsys storage.FS, root, location string) (*CheckpointReader, error) {
	p := path.Join(root, "metadata")
	data, err := fsys.ReadFile(ctx, p)
	if errors.Is(err, storage.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s has no checkpoint (no metadata file); give the directory a query used as its checkpointLocation",
			ErrNotCheckpoint, location)
	}
	if err != nil {
		return nil, fmt.Errorf("microbatch: checkpoint %s: %w", location, err)
	}
	meta, err := wal.DecodeMetadata(p, data)
	if err != nil {
		return nil, fmt.Errorf("microbatch: checkpoint %s: %w", location, err)
	}
	return &CheckpointReader{fs: fsys, root: root, location: location, meta: meta,
		offsets: wal.NewOffsetLog(fsys, path.Join(root, "offsets")),
		commits: wal.NewCommitLog(fsys, path.Join(root, "commits"))}, nil
}

// Location names the checkpoint, with any credential redacted.
func (c *CheckpointReader) Location() string { return c.location }

// QueryID is the query's id, fixed when the checkpoint was created.
func (c *CheckpointReader) QueryID() string { return c.meta.ID }

func (c *CheckpointReader) stateDir() string { return path.Join(c.root, "state") }

// Committed returns the ids of the committed batches the commit log
// still holds (older entries are purged), ascending.
func (c *CheckpointReader) Committed(ctx context.Context) ([]int64, error) {
	ids, err := c.commits.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("microbatch: checkpoint %s: %w", c.location, err)
	}
	return ids, nil
}

// StateOperatorInfo describes one stateful operator's state in a
// checkpoint (Spark's state-metadata rows, one per store).
type StateOperatorInfo struct {
	// ID is the operator's id (state/<ID>), numbered in plan order.
	ID int `json:"operatorId"`
	// Name is its kind: aggregate, dedup, join, ...
	Name          string           `json:"operatorName"`
	NumPartitions int              `json:"numPartitions"`
	Stores        []StateStoreInfo `json:"stores"`
}

// StateStoreInfo describes one store of an operator.
type StateStoreInfo struct {
	// Name is "" for the operator's main store.
	Name string `json:"name"`
	// Key and Value are the columns the state reader returns for it.
	Key   *arrow.Schema `json:"-"`
	Value *arrow.Schema `json:"-"`
	// KeyColumns and ValueColumns describe them as "name: type".
	KeyColumns   []string `json:"keyColumns"`
	ValueColumns []string `json:"valueColumns"`
	// MinBatchID..MaxBatchID are the committed batches whose state can be
	// read; both -1 when none can (nothing committed, or purged).
	MinBatchID int64 `json:"minBatchId"`
	MaxBatchID int64 `json:"maxBatchId"`
	// Files and Bytes count its delta and snapshot files, all partitions.
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// StateOperators lists the operators with state in the checkpoint, by
// id, with the batches each store can be read at.
func (c *CheckpointReader) StateOperators(ctx context.Context) ([]StateOperatorInfo, error) {
	committed, err := c.Committed(ctx)
	if err != nil {
		return nil, err
	}
	ids, err := state.ListOperators(ctx, c.fs, c.stateDir())
	if err != nil {
		return nil, fmt.Errorf("microbatch: checkpoint %s: %w", c.location, err)
	}
	var out []StateOperatorInfo
	for _, id := range ids {
		r, err := state.OpenReader(ctx, c.fs, c.stateDir(), id, nil)
		if errors.Is(err, storage.ErrNotExist) {
			continue // a directory without _metadata: not an operator's state
		}
		if err != nil {
			return nil, fmt.Errorf("microbatch: checkpoint %s: %w", c.location, err)
		}
		info, err := operatorInfo(ctx, r, committed)
		if err != nil {
			return nil, fmt.Errorf("microbatch: checkpoint %s: %w", c.location, err)
		}
		out = append(out, info)
	}
	return out, nil
}

func operatorInfo(ctx context.Context, r *state.Reader, committed []int64) (StateOperatorInfo, error) {
	spec := r.Spec()
	info := StateOperatorInfo{ID: spec.ID, Name: spec.Name, NumPartitions: spec.NumPartitions}
	for _, st := range spec.Stores {
		sch, err := r.Schema(st.Name)
		if err != nil {
			return info, err
		}
		nk := st.Key.NumFields()
		si := StateStoreInfo{Name: st.Name,
			Key:   arrow.NewSchema(sch.Fields()[:nk], nil),
			Value: arrow.NewSchema(sch.Fields()[nk:], nil)}
		si.KeyColumns, si.ValueColumns = describeColumns(si.Key), describeColumns(si.Value)
		// The versions every partition can restore.
		lo, hi := int64(0), int64(-1)
		for p := 0; p < spec.NumPartitions; p++ {
			sf, err := r.Files(ctx, p, st.Name)
			if err != nil {
				return info, err
			}
			si.Files += sf.Deltas + sf.Snapshots
			si.Bytes += sf.Bytes
			if p == 0 {
				lo, hi = sf.MinVersion, sf.MaxVersion
			} else {
				lo, hi = max(lo, sf.MinVersion), min(hi, sf.MaxVersion)
			}
		}
		// Batch N's state is version N+1.
		si.MinBatchID, si.MaxBatchID = -1, -1
		if hi >= 1 {
			for _, id := range committed {
				if id+1 >= lo && id+1 <= hi {
					if si.MinBatchID < 0 {
						si.MinBatchID = id
					}
					si.MaxBatchID = id
				}
			}
		}
		info.Stores = append(info.Stores, si)
	}
	return info, nil
}

func describeColumns(s *arrow.Schema) []string {
	out := make([]string, 0, s.NumFields())
	for _, f := range s.Fields() {
		out = append(out, f.Name+": "+f.Type.String())
	}
	return out
}

// StateAt checks that the state of an operator's store can be read at a
// batch and returns the operator's description and the state version to
// read (batchID+1). batchID < 0 means the last committed batch. The
// errors wrap ErrStateUnavailable and say what exists: the operators,
// the stores, the committed batches, the batches whose state was kept.
func (c *CheckpointReader) StateAt(ctx context.Context, operatorID int, store string, batchID int64) (StateOperatorInfo, StateStoreInfo, int64, error) {
	ops, err := c.StateOperators(ctx)
	if err != nil {
		return StateOperatorInfo{}, StateStoreInfo{}, 0, err
	}
	var op *StateOperatorInfo
	for i := range ops {
		if ops[i].ID == operatorID {
			op = &ops[i]
		}
	}
	if op == nil {
		if len(ops) == 0 {
			return StateOperatorInfo{}, StateStoreInfo{}, 0, fmt.Errorf("%w: checkpoint %s has no state: its query has no stateful operator (aggregation, dropDuplicates, stream join) or has not run a batch",
				ErrStateUnavailable, c.location)
		}
		return StateOperatorInfo{}, StateStoreInfo{}, 0, fmt.Errorf("%w: checkpoint %s: operator %d does not exist; operators: %s",
			ErrStateUnavailable, c.location, operatorID, describeOperators(ops))
	}
	var st *StateStoreInfo
	var names []string
	for i := range op.Stores {
		names = append(names, fmt.Sprintf("%q", op.Stores[i].Name))
		if op.Stores[i].Name == store {
			st = &op.Stores[i]
		}
	}
	if st == nil {
		return *op, StateStoreInfo{}, 0, fmt.Errorf("%w: checkpoint %s: operator %d (%s) has no store %q; stores: %s",
			ErrStateUnavailable, c.location, op.ID, op.Name, store, strings.Join(names, ", "))
	}
	committed, err := c.Committed(ctx)
	if err != nil {
		return *op, *st, 0, err
	}
	if len(committed) == 0 {
		return *op, *st, 0, fmt.Errorf("%w: checkpoint %s: no batch has committed yet, so there is no state to read", ErrStateUnavailable, c.location)
	}
	if batchID < 0 {
		batchID = committed[len(committed)-1]
	}
	if batchID < committed[0] {
		return *op, *st, 0, fmt.Errorf("%w: checkpoint %s: batch %d is not committed: committed batches are %s (older entries are purged: the checkpoint keeps the last minBatchesToRetain batches)",
			ErrStateUnavailable, c.location, batchID, batchRanges(committed))
	}
	if !slices.Contains(committed, batchID) {
		return *op, *st, 0, fmt.Errorf("%w: checkpoint %s: batch %d is not committed: committed batches are %s",
			ErrStateUnavailable, c.location, batchID, batchRanges(committed))
	}
	if st.MinBatchID < 0 || batchID < st.MinBatchID || batchID > st.MaxBatchID {
		kept := "none"
		if st.MinBatchID >= 0 {
			kept = fmt.Sprintf("%d..%d", st.MinBatchID, st.MaxBatchID)
		}
		return *op, *st, 0, fmt.Errorf("%w: checkpoint %s: the state of operator %d (%s) at batch %d is not in the checkpoint (purged, or its files are missing); batches with state: %s",
			ErrStateUnavailable, c.location, op.ID, op.Name, batchID, kept)
	}
	return *op, *st, batchID + 1, nil
}

// OpenState opens a reader of an operator's state; mem allocates what it
// reads (nil: the default allocator).
func (c *CheckpointReader) OpenState(ctx context.Context, operatorID int, mem memory.Allocator) (*state.Reader, error) {
	r, err := state.OpenReader(ctx, c.fs, c.stateDir(), operatorID, mem)
	if errors.Is(err, storage.ErrNotExist) {
		return nil, fmt.Errorf("%w: checkpoint %s: operator %d has no state", ErrStateUnavailable, c.location, operatorID)
	}
	if err != nil {
		return nil, fmt.Errorf("microbatch: checkpoint %s: %w", c.location, err)
	}
	return r, nil
}

func describeOperators(ops []StateOperatorInfo) string {
	parts := make([]string, len(ops))
	for i, o := range ops {
		parts[i] = fmt.Sprintf("%d (%s)", o.ID, o.Name)
	}
	return strings.Join(parts, ", ")
}

// batchRanges renders ascending ids as runs: "5..11", "0..3, 7".
func batchRanges(ids []int64) string {
	var parts []string
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if i == j {
			parts = append(parts, fmt.Sprint(ids[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d..%d", ids[i], ids[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
