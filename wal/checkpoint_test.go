package wal

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/storage"
)

func TestCheckpointOpen(t *testing.T) {
	ctx := context.Background()
	for kind, loc := range map[string]string{"path": t.TempDir() + "/ckpt", "file": "file://" + t.TempDir() + "/ckpt", "mem": "mem://" + t.Name() + "/ckpt"} {
		t.Run(kind, func(t *testing.T) {
			c, err := OpenCheckpoint(ctx, loc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			id := c.QueryID()
			if len(id) != 36 || c.Metadata().ID != id {
				t.Fatalf("query id %q", id)
			}
			md, err := c.FS().ReadFile(ctx, path.Join(c.Root(), "metadata"))
			if err != nil || string(md) != `{"id":"`+id+`"}` {
				t.Fatalf("metadata file = %q, %v", md, err)
			}
			seq := OffsetSeq{
				Metadata: OffsetSeqMetadata{BatchTimestampMs: 1700000000000, Conf: map[string]string{"sluice.sql.shuffle.partitions": "4"}},
				Offsets:  []json.RawMessage{json.RawMessage(`{"p0":10}`), nil},
			}
			if err := c.Offsets().Add(ctx, 0, seq); err != nil {
				t.Fatal(err)
			}
			if err := c.Commits().Add(ctx, 0, CommitMetadata{NextBatchWatermarkMs: 5}); err != nil {
				t.Fatal(err)
			}
			if err := c.Sources(1).Add(ctx, 0, []byte("seen: a.json")); err != nil {
				t.Fatal(err)
			}
			if c.StateDir() != path.Join(c.Root(), "state") || c.Sources(1).Dir() != path.Join(c.Root(), "sources", "1") {
				t.Fatalf("StateDir %s, Sources(1) %s", c.StateDir(), c.Sources(1).Dir())
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}

			// reopen: same id, same entries
			c2, err := OpenCheckpoint(ctx, loc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer c2.Close()
			if c2.QueryID() != id {
				t.Fatalf("query id changed across restarts: %s -> %s", id, c2.QueryID())
			}
			n, got, ok, err := c2.Offsets().Latest(ctx)
			if err != nil || !ok || n != 0 || string(got.Offsets[0]) != `{"p0":10}` || got.Offsets[1] != nil || got.Metadata.Conf["sluice.sql.shuffle.partitions"] != "4" {
				t.Fatalf("offsets Latest = %d %+v %v %v", n, got, ok, err)
			}
			m, cm, ok, err := c2.Commits().Latest(ctx)
			if err != nil || !ok || m != 0 || cm.NextBatchWatermarkMs != 5 {
				t.Fatalf("commits Latest = %d %+v %v %v", m, cm, ok, err)
			}
			// the same batch from the same query replays; another query's
			// offsets for it are refused, naming the checkpoint
			if err := c2.Offsets().Add(ctx, 0, seq); err != nil {
				t.Fatalf("replay: %v", err)
			}
			seq.Offsets[0] = json.RawMessage(`{"p0":11}`)
			err = c2.Offsets().Add(ctx, 0, seq)
			if !errors.Is(err, ErrConcurrentWriter) || !strings.Contains(err.Error(), loc) {
				t.Fatalf("conflicting offsets: %v (want ErrConcurrentWriter naming %s)", err, loc)
			}
		})
	}
}

func TestCheckpointLock(t *testing.T) {
	ctx := context.Background()
	for _, loc := range []string{t.TempDir(), "mem://" + t.Name() + "/q"} {
		a, err := OpenCheckpoint(ctx, loc, Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = OpenCheckpoint(ctx, loc, Options{})
		if !errors.Is(err, ErrCheckpointInUse) || !strings.Contains(err.Error(), loc) {
			t.Fatalf("second open of %s: %v; want ErrCheckpointInUse naming it", loc, err)
		}
		a.Close()
		b, err := OpenCheckpoint(ctx, loc, Options{})
		if err != nil {
			t.Fatalf("open after Close: %v", err)
		}
		b.Close()
	}
}

// TestCheckpointLockMemCrash: a query that died (Mem.Crash) without Close
// does not block the restart.
func TestCheckpointLockMemCrash(t *testing.T) {
	ctx := context.Background()
	loc := "mem://" + t.Name() + "/q"
	if _, err := OpenCheckpoint(ctx, loc, Options{}); err != nil {
		t.Fatal(err)
	}
	storage.NamedMem(t.Name()).Crash()
	c, err := OpenCheckpoint(ctx, loc, Options{})
	if err != nil {
		t.Fatalf("open after crash: %v", err)
	}
	c.Close()
}

const lockHolderEnv = "SLUICE_WAL_LOCK_HOLDER"

// TestLockHolderProcess is the child of TestCheckpointLockSIGKILL: it opens
// the checkpoint, says so, and waits to be killed.
func TestLockHolderProcess(t *testing.T) {
	loc := os.Getenv(lockHolderEnv)
	if loc == "" {
		t.Skip("helper process for TestCheckpointLockSIGKILL")
	}
	if _, err := OpenCheckpoint(context.Background(), loc, Options{}); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
	os.Exit(2)
}

// TestCheckpointLockSIGKILL: a query process killed with SIGKILL never
// runs Close, yet its lock goes with it.
func TestCheckpointLockSIGKILL(t *testing.T) {
	ctx := context.Background()
	loc := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHolderProcess$")
	cmd.Env = append(os.Environ(), lockHolderEnv+"="+loc)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	_, err = OpenCheckpoint(ctx, loc, Options{})
	if !errors.Is(err, ErrCheckpointInUse) || !strings.Contains(err.Error(), loc) {
		t.Fatalf("open while the helper holds it: %v", err)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()
	c, err := OpenCheckpoint(ctx, loc, Options{})
	if err != nil {
		t.Fatalf("open after the holder was killed: %v", err)
	}
	c.Close()
}

func TestCheckpointPurge(t *testing.T) {
	ctx := context.Background()
	c, err := OpenCheckpoint(ctx, "mem://"+t.Name(), Options{MinBatchesToRetain: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for n := range int64(10) {
		c.Offsets().Add(ctx, n, OffsetSeq{})
		c.Commits().Add(ctx, n, CommitMetadata{})
		keep, err := c.Purge(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if want := max(0, n-2); keep != want {
			t.Fatalf("Purge(%d) keeps from %d, want %d", n, keep, want)
		}
	}
	for _, l := range []interface {
		List(context.Context) ([]int64, error)
	}{c.Offsets(), c.Commits()} {
		if ids, _ := l.List(ctx); !slices.Equal(ids, []int64{7, 8, 9}) {
			t.Fatalf("after purges: %v", ids)
		}
	}
	if _, err := OpenCheckpoint(ctx, "mem://"+t.Name()+"/x", Options{MinBatchesToRetain: -1}); err == nil {
		t.Fatal("negative MinBatchesToRetain accepted")
	}
	d, _ := OpenCheckpoint(ctx, "mem://"+t.Name()+"/d", Options{})
	defer d.Close()
	if d.MinBatchesToRetain() != DefaultMinBatchesToRetain {
		t.Fatalf("default retention %d", d.MinBatchesToRetain())
	}
}

func TestCheckpointErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := OpenCheckpoint(ctx, "s3://bucket/ckpt?bogus=1", Options{}); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("s3 with an unknown parameter: %v", err)
	}
	// storage that cannot lock: refused unless DisableLock
	m := storage.NewMem()
	m.SetHooks(storage.Hooks{Before: func(op storage.Op, _ string) error {
		if op == storage.OpLock {
			return storage.ErrUnsupported
		}
		return nil
	}})
	if _, err := OpenCheckpointFS(ctx, m, "/c", Options{}); err == nil || !strings.Contains(err.Error(), "DisableLock") {
		t.Fatalf("no lock: %v", err)
	}
	c, err := OpenCheckpointFS(ctx, m, "/c", Options{DisableLock: true})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	// a corrupt metadata file is an error naming it
	bad := storage.NewMem()
	bad.WriteFile(ctx, "/c/metadata", []byte(`{"id":`), storage.WriteOptions{})
	_, err = OpenCheckpointFS(ctx, bad, "/c", Options{})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "/c/metadata") {
		t.Fatalf("corrupt metadata: %v", err)
	}
	// and the failed open released its lock
	if _, err := bad.Lock(ctx, "/c/.lock"); err != nil {
		t.Fatalf("failed open kept the lock: %v", err)
	}
}

// TestMetadataRace: starters racing to create the metadata agree on one
// id.
func TestMetadataRace(t *testing.T) {
	ctx := context.Background()
	backends(t, func(t *testing.T, fsys storage.FS, root string) {
		const n = 12
		ids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				var m Metadata
				m, errs[i] = LoadOrCreateMetadata(ctx, fsys, path.Join(root, "metadata"), func() string { return fmt.Sprint("id-", i) })
				ids[i] = m.ID
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("starters disagree: %v", ids)
			}
		}
	})
}

// TestCrashRecovery: a query that crashed mid-batch (offsets/N written,
// commits/N not) finds N to re-run; completed entries survive the crash,
// an interrupted streaming write does not.
func TestCrashRecovery(t *testing.T) {
	ctx := context.Background()
	m := storage.NamedMem(t.Name())
	loc := "mem://" + t.Name() + "/q"
	c, err := OpenCheckpoint(ctx, loc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.Offsets().Add(ctx, 0, OffsetSeq{Offsets: []json.RawMessage{json.RawMessage(`1`)}})
	c.Commits().Add(ctx, 0, CommitMetadata{})
	// batch 1: offsets written, then the commit write fails and the process dies
	m.SetHooks(storage.FailNth(2, nil, storage.OpWriteFile))
	if err := c.Offsets().Add(ctx, 1, OffsetSeq{Offsets: []json.RawMessage{json.RawMessage(`2`)}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Commits().Add(ctx, 1, CommitMetadata{}); !errors.Is(err, storage.ErrInjected) {
		t.Fatalf("commit: %v", err)
	}
	m.SetHooks(storage.Hooks{})
	w, _ := m.Create(ctx, "/q/state/0/1/2.delta", storage.WriteOptions{})
	w.Write([]byte("half a delta"))
	m.Crash()

	c2, err := OpenCheckpoint(ctx, loc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	n, seq, _, err := c2.Offsets().Latest(ctx)
	if err != nil || n != 1 || string(seq.Offsets[0]) != "2" {
		t.Fatalf("offsets latest = %d %v %v", n, seq, err)
	}
	if mm, _, _, err := c2.Commits().Latest(ctx); err != nil || mm != 0 {
		t.Fatalf("commits latest = %d %v", mm, err)
	}
	if _, err := m.Stat(ctx, "/q/state/0/1/2.delta"); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("interrupted streaming write survived: %v", err)
	}
	// re-running batch 1 logs the same offsets: accepted
	if err := c2.Offsets().Add(ctx, 1, seq); err != nil {
		t.Fatal(err)
	}
}
