package storage_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/internal/testutil/versitygw"
	"github.com/sluicehq/sluice/wal"
)

// TestS3Checkpoint: a checkpoint on s3:// works unchanged (its logs,
// reopening, the lease lock), and of queries opening one S3 checkpoint at
// the same time exactly one gets it.
func TestS3Checkpoint(t *testing.T) {
	ctx := context.Background()
	loc := versitygw.Bucket(t, "queries/q1")

	c, err := wal.OpenCheckpoint(ctx, loc, wal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id := c.QueryID()
	seq := wal.OffsetSeq{Offsets: []json.RawMessage{json.RawMessage(`{"p0":10}`)}}
	if err := c.Offsets().Add(ctx, 0, seq); err != nil {
		t.Fatal(err)
	}
	if err := c.Commits().Add(ctx, 0, wal.CommitMetadata{NextBatchWatermarkMs: 5}); err != nil {
		t.Fatal(err)
	}
	// a second query is refused while the first runs
	_, err = wal.OpenCheckpoint(ctx, loc, wal.Options{})
	if !errors.Is(err, wal.ErrCheckpointInUse) {
		t.Fatalf("second open: %v; want ErrCheckpointInUse", err)
	}
	// the location in messages has its secret redacted
	secret, _ := url.Parse(loc)
	if s := secret.Query().Get("secretAccessKey"); s == "" || strings.Contains(err.Error(), s) || strings.Contains(c.Location(), s) {
		t.Fatalf("secret shown: %v / %s", err, c.Location())
	}
	// another query's offsets for batch 0 are a concurrent writer
	other := wal.OffsetSeq{Offsets: []json.RawMessage{json.RawMessage(`{"p0":99}`)}}
	fsys, root, err := storage.Open(loc)
	if err != nil {
		t.Fatal(err)
	}
	if err := wal.NewOffsetLog(fsys, root+"/offsets").Add(ctx, 0, other); !errors.Is(err, wal.ErrConcurrentWriter) {
		t.Fatalf("conflicting offsets entry: %v; want ErrConcurrentWriter", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// restart: same query id, same entries
	c2, err := wal.OpenCheckpoint(ctx, loc, wal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c2.QueryID() != id {
		t.Fatalf("query id changed: %s -> %s", id, c2.QueryID())
	}
	n, got, ok, err := c2.Offsets().Latest(ctx)
	if err != nil || !ok || n != 0 || string(got.Offsets[0]) != `{"p0":10}` {
		t.Fatalf("offsets Latest = %d %+v %v %v", n, got, ok, err)
	}
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}

	// queries racing to open: exactly one wins
	const queries = 4
	cks := make([]*wal.Checkpoint, queries)
	errs := make([]error, queries)
	var wg sync.WaitGroup
	for i := range queries {
		wg.Go(func() { cks[i], errs[i] = wal.OpenCheckpoint(ctx, loc, wal.Options{}) })
	}
	wg.Wait()
	winners := 0
	for i := range queries {
		switch {
		case errs[i] == nil:
			winners++
			defer cks[i].Close()
		case !errors.Is(errs[i], wal.ErrCheckpointInUse):
			t.Fatalf("query %d: %v", i, errs[i])
		}
	}
	if winners != 1 {
		t.Fatalf("%d queries got the checkpoint, want 1", winners)
	}
}
