package state

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/internal/storage"
)

// purgeDir deletes the files of a store directory that restoring versions
// >= minVersion does not need. It finds how minVersion itself would be
// restored (the newest usable snapshot at or below it, base) and deletes
// the snapshots before base and the deltas up to base; every later version
// restores from base or a newer snapshot plus the deltas kept. When
// minVersion cannot be restored it deletes nothing.
func purgeDir(ctx context.Context, fsys storage.FS, dir string, minVersion int64) error {
	if minVersion <= 0 {
		return nil
	}
	vf, err := listVersions(ctx, fsys, dir)
	if err != nil {
		return fmt.Errorf("state: purge %s: %w", dir, err)
	}
	base, err := vf.plan(minVersion)
	if err != nil || base == 0 {
		return nil
	}
	var errs []error
	for _, sv := range vf.snaps {
		if sv < base {
			if err := fsys.Remove(ctx, snapshotName(dir, sv)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for dv := range vf.deltas {
		if dv <= base {
			if err := fsys.Remove(ctx, deltaName(dir, dv)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("state: purge %s: %w", dir, err)
	}
	return nil
}
