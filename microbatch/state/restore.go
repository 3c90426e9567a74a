package state

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/storage"
)

// versionFiles are the version files found in a store's directory.
type versionFiles struct {
	deltas map[int64]bool
	snaps  []int64 // ascending
}

// parseVersionFile recognises "<v>.delta" and "<v>.snapshot" (v in
// canonical decimal, >= 1).
func parseVersionFile(name string) (v int64, kind string, ok bool) {
	num, kind, found := strings.Cut(name, ".")
	if !found || (kind != kindDelta && kind != kindSnap) || !isDigits(num) {
		return 0, "", false
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 1 || strconv.FormatInt(v, 10) != num {
		return 0, "", false
	}
	return v, kind, true
}

func listVersions(ctx context.Context, fsys storage.FS, dir string) (versionFiles, error) {
	infos, err := fsys.List(ctx, dir)
	if err != nil {
		return versionFiles{}, err
	}
	vf := versionFiles{deltas: map[int64]bool{}}
	for _, fi := range infos {
		if fi.IsDir {
			continue
		}
		v, kind, ok := parseVersionFile(fi.Name)
		if !ok {
			continue
		}
		if kind == kindDelta {
			vf.deltas[v] = true
		} else {
			vf.snaps = append(vf.snaps, v)
		}
	}
	slices.Sort(vf.snaps)
	return vf, nil
}

// plan picks how to restore version v: from the snapshot of version base
// (base 0: the empty state) and the deltas base+1..v.
func (vf versionFiles) plan(v int64) (base int64, err error) {
	if v == 0 {
		return 0, nil
	}
	low := v + 1 // deltas low..v are all present
	for low > 1 && vf.deltas[low-1] {
		low--
	}
	for i := len(vf.snaps) - 1; i >= 0; i-- {
		if s := vf.snaps[i]; s <= v && s >= low-1 {
			return s, nil
		}
	}
	if low == 1 {
		return 0, nil
	}
	missing := low - 1
	return 0, fmt.Errorf("%w: version %d needs %d.delta (missing) or a snapshot of version %d or later; "+
		"the files were purged, never written (was batch %d committed?), or the checkpoint was copied partially",
		ErrVersionUnavailable, v, missing, missing, v-1)
}

// latestSnapshotAtOrBelow is the newest snapshot version <= v, 0 if none.
func (vf versionFiles) latestSnapshotAtOrBelow(v int64) int64 {
	best := int64(0)
	for _, sv := range vf.snaps {
		if sv <= v {
			best = sv
		}
	}
	return best
}

// restore builds the table of version v from the files and returns it
// with the newest snapshot version at or below v.
func (s *Store) restore(ctx context.Context, v int64) (*table, int64, error) {
	vf, err := listVersions(ctx, s.fs, s.dir)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: restore version %d: %w", s.label(), v, err)
	}
	base, err := vf.plan(v)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: restore: %w", s.label(), err)
	}
	t, err := loadVersion(ctx, s.fs, s.dir, s.header(kindSnap, 0), s.ktypes, s.vtypes, s.mem, base, v)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: restore version %d: %w", s.label(), v, err)
	}
	if err := s.initTimes(t); err != nil {
		t.release()
		return nil, 0, fmt.Errorf("%s: restore version %d: %w", s.label(), v, err)
	}
	return t, vf.latestSnapshotAtOrBelow(v), nil
}

// loadVersion reads the snapshot of version base (none when base is 0)
// and the deltas base+1..v into a new table.
func loadVersion(ctx context.Context, fsys storage.FS, dir string, hdr fileHeader, ktypes, vtypes []arrow.DataType,
	mem memory.Allocator, base, v int64) (*table, error) {
	t, err := newTable(mem, ktypes, vtypes)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			t.release()
		}
	}()
	ftypes := make([]arrow.DataType, 0, len(ktypes)+len(vtypes)+1)
	ftypes = append(ftypes, t.g.KeyTypes()...)
	ftypes = append(ftypes, vtypes...)
	if base > 0 {
		name := snapshotName(dir, base)
		data, err := fsys.ReadFile(ctx, name)
		if err != nil {
			return nil, err
		}
		hdr.kind, hdr.version = kindSnap, base
		if err := applySnapshot(t, name, data, hdr, ftypes, mem); err != nil {
			return nil, err
		}
	}
	dtypes := append(ftypes, arrow.FixedWidthTypes.Boolean)
	for x := base + 1; x <= v; x++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := deltaName(dir, x)
		data, err := fsys.ReadFile(ctx, name)
		if err != nil {
			return nil, err
		}
		hdr.kind, hdr.version = kindDelta, x
		if err := applyDelta(t, name, data, hdr, dtypes, mem); err != nil {
			return nil, err
		}
	}
	if d := t.dead(); d >= compactMinDead && d >= t.nlive {
		if err := t.compact(); err != nil {
			return nil, err
		}
	}
	ok = true
	return t, nil
}

// plausibleRows caps a trailer's row count (not yet proven by decoding)
// by the file's size, so a corrupt count cannot size the table: state
// rows compress far less than 64 to a byte.
func plausibleRows(rows int64, data []byte) int {
	return int(min(rows, 64*int64(len(data))+maxBatchRows))
}

func applySnapshot(t *table, name string, data []byte, hdr fileHeader, types []arrow.DataType, mem memory.Allocator) error {
	nk := len(t.ktypes)
	var slots []uint32
	_, err := decodeFile(name, data, hdr, types, mem, func(rows int64) { t.g.Reserve(plausibleRows(rows, data)) }, func(rec arrow.RecordBatch) error {
		cols := rec.Columns()
		slots = growDouble(slots[:0], int(rec.NumRows()))
		if err := t.insert(cols[:nk], slots); err != nil {
			return err
		}
		for i, sl := range slots {
			if t.live.get(sl) {
				return corruptf(name, "key %s appears twice", rowString(cols[:nk], i))
			}
			t.revive(sl)
		}
		return t.setValues(slots, cols[nk:])
	})
	return err
}

func applyDelta(t *table, name string, data []byte, hdr fileHeader, types []arrow.DataType, mem memory.Allocator) error {
	nk, nv := len(t.ktypes), len(t.vtypes)
	var slots, puts []uint32
	reserve := func(rows int64) {
		// Only for large deltas: Reserve sizes to exactly what it is
		// asked, so many small ones would copy the keys over and over.
		if rows > int64(t.n)/4 {
			t.g.Reserve(t.n + plausibleRows(rows, data))
		}
	}
	_, err := decodeFile(name, data, hdr, types, mem, reserve, func(rec arrow.RecordBatch) error {
		cols := rec.Columns()
		n := int(rec.NumRows())
		removed, ok := cols[nk+nv].(*array.Boolean)
		if !ok || removed.NullN() > 0 {
			return corruptf(name, "the %s column has NULLs", removedCol)
		}
		slots = growDouble(slots[:0], n)
		puts = growDouble(puts[:0], n)
		if err := t.insert(cols[:nk], slots); err != nil {
			return err
		}
		// Puts first (the values of removed rows are not set), then
		// removals.
		for i, sl := range slots {
			if removed.Value(i) {
				puts[i] = NoSlot
				continue
			}
			puts[i] = sl
			if !t.live.get(sl) {
				t.revive(sl)
			}
		}
		if err := t.setValues(puts, cols[nk:nk+nv]); err != nil {
			return err
		}
		for i, sl := range slots {
			if removed.Value(i) && t.live.get(sl) {
				t.kill(sl)
			}
		}
		return nil
	})
	return err
}
