package microbatch_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/sinks"
)

// runAggBatches runs a rate-micro-batch aggregation (2 state partitions,
// update mode) on ckpt until batch until has committed.
func runAggBatches(t *testing.T, ckpt string, until int64) {
	runRateQuery(t, ckpt, until, rateQuery{rows: 5, parts: 2, mode: sinks.Update,
		build: func(df *dataframe.DataFrame) *dataframe.DataFrame {
			return df.GroupBy(dataframe.Expr("value % 7 AS k")).Agg(dataframe.Count("*").As("n"))
		}})
}

// stateFiles counts the delta and snapshot files of each store
// directory under state/.
func stateFiles(t *testing.T, ckpt string) (dirs int, maxFiles int) {
	t.Helper()
	err := filepath.WalkDir(filepath.Join(ckpt, "state"), func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		ents, _ := os.ReadDir(p)
		n := 0
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".delta") || strings.HasSuffix(e.Name(), ".snapshot") {
				n++
			}
		}
		if n > 0 {
			dirs++
			maxFiles = max(maxFiles, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs, maxFiles
}

// State versions are purged with the logs (every few batches, in the
// background): the state directory stays bounded, and a restart still
// restores and continues.
func TestStatePurgedWithLogs(t *testing.T) {
	ckpt := t.TempDir()
	runAggBatches(t, ckpt, 45)
	dirs, most := stateFiles(t, ckpt)
	if dirs != 2 {
		t.Fatalf("state store directories: %d, want 2 (one per partition)", dirs)
	}
	// Without purging each store would hold ~46 deltas and 4 snapshots.
	// Kept: what the 3 retained batches need, back to a snapshot (one
	// snapshot interval of deltas), plus up to one purge period.
	if most > 25 {
		t.Errorf("a state store keeps %d files after 46 batches with 3 retained; want them purged", most)
	}
	runAggBatches(t, ckpt, 60)
}
