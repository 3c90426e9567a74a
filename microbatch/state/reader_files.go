package state

import (
	"context"
	"fmt"
	"slices"
)

// StoreFiles describes the version files of one partition's store: which
// versions they can restore and what they weigh. The state reader and
// checkpoint inspection use it to say which batches can be read.
type StoreFiles struct {
	// MinVersion..MaxVersion are the versions the files restore, every
	// one in between: the newest restorable version and the run of
	// restorable versions below it. Both are -1 when the store has no
	// files (nothing committed yet). MinVersion is 0 when every delta from
	// the first is still there (version 0 is the empty state).
	MinVersion, MaxVersion int64
	// Deltas and Snapshots count the files; Bytes is their total size.
	Deltas, Snapshots int
	Bytes             int64
}

// Files lists a partition's store and reports its restorable versions.
func (r *Reader) Files(ctx context.Context, partition int, store string) (StoreFiles, error) {
	if err := r.check(partition, store); err != nil {
		return StoreFiles{}, err
	}
	dir := storeDir(r.stateDir, r.spec.ID, partition, store)
	infos, err := r.fs.List(ctx, dir)
	if err != nil {
		return StoreFiles{}, fmt.Errorf("state: operator %s partition %d store %q: list %s: %w", r.spec.label(), partition, store, dir, err)
	}
	sf := StoreFiles{MinVersion: -1, MaxVersion: -1}
	deltas, snaps := map[int64]bool{}, map[int64]bool{}
	var versions []int64
	for _, fi := range infos {
		if fi.IsDir {
			continue
		}
		v, kind, ok := parseVersionFile(fi.Name)
		if !ok {
			continue
		}
		sf.Bytes += fi.Size
		if kind == kindDelta {
			sf.Deltas++
			deltas[v] = true
		} else {
			sf.Snapshots++
			snaps[v] = true
		}
		versions = append(versions, v)
	}
	if len(versions) == 0 {
		return sf, nil
	}
	slices.Sort(versions)
	versions = slices.Compact(versions)
	sf.MinVersion, sf.MaxVersion = restorableRange(versions, deltas, snaps)
	return sf, nil
}

// restorableRange finds the newest version the files restore and the
// lowest version of the unbroken run of restorable versions ending there
// (-1, -1 when none). A version restores from its own snapshot, or from
// its delta over the version before it; version 0 is the empty state.
// versions lists the file versions, ascending, without repeats.
func restorableRange(versions []int64, deltas, snaps map[int64]bool) (lo, hi int64) {
	lo, hi = -1, -1
	prevOK := versions[0] == 1 // version 0 restores when the chain starts at 1
	runStart := int64(-1)
	if prevOK {
		runStart = 0
	}
	prev := versions[0] - 1
	for _, v := range versions {
		if v != prev+1 {
			prevOK, runStart = false, -1 // a gap: v-1 has no file
		}
		ok := snaps[v] || (deltas[v] && prevOK)
		switch {
		case ok && runStart < 0:
			runStart = v
		case !ok:
			runStart = -1
		}
		if ok {
			lo, hi = runStart, v
		}
		prevOK, prev = ok, v
	}
	return lo, hi
}

// NumRows is the number of keys in a partition's store at version
// (loading the version, then dropping it).
func (r *Reader) NumRows(ctx context.Context, partition int, store string, version int64) (int64, error) {
	if err := r.check(partition, store); err != nil {
		return 0, err
	}
	t, err := r.load(ctx, partition, store, version)
	if err != nil {
		return 0, err
	}
	defer t.release()
	return int64(t.nlive), nil
}
