package wal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/internal/storage"
)

// backends runs fn on local disk and on Mem.
func backends(t *testing.T, fn func(t *testing.T, fsys storage.FS, root string)) {
	t.Run("local", func(t *testing.T) { fn(t, storage.Local{}, t.TempDir()) })
	t.Run("mem", func(t *testing.T) { fn(t, storage.NewMem(), "/ckpt") })
}

func TestLogAddGet(t *testing.T) {
	ctx := context.Background()
	backends(t, func(t *testing.T, fsys storage.FS, root string) {
		l := NewLog(fsys, path.Join(root, "offsets"))
		if _, _, ok, err := l.Latest(ctx); ok || err != nil {
			t.Fatalf("Latest of an empty log: ok=%v err=%v", ok, err)
		}
		if id, ok, err := l.LatestID(ctx); ok || err != nil || id != -1 {
			t.Fatalf("LatestID of an empty log: %d %v %v", id, ok, err)
		}
		if _, err := l.Get(ctx, 0); !errors.Is(err, ErrNotFound) || !errors.Is(err, storage.ErrNotExist) {
			t.Fatalf("Get missing: %v", err)
		}
		for id := range int64(3) {
			if err := l.Add(ctx, id, []byte(fmt.Sprintf("entry %d", id))); err != nil {
				t.Fatal(err)
			}
		}
		got, err := l.Get(ctx, 1)
		if err != nil || string(got) != "entry 1" {
			t.Fatalf("Get(1) = %q, %v", got, err)
		}
		// identical replay is fine
		if err := l.Add(ctx, 2, []byte("entry 2")); err != nil {
			t.Fatalf("identical replay: %v", err)
		}
		// a different entry for a written batch is another writer
		err = l.Add(ctx, 2, []byte("other query's entry 2"))
		if !errors.Is(err, ErrConcurrentWriter) {
			t.Fatalf("conflicting Add: %v", err)
		}
		for _, want := range []string{root, "batch 2", "another query may be running on the same checkpoint"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
		if got, _ := l.Get(ctx, 2); string(got) != "entry 2" {
			t.Fatalf("conflicting Add changed the entry: %q", got)
		}
		if err := l.Add(ctx, -1, nil); err == nil {
			t.Fatal("negative id accepted")
		}
		id, data, ok, err := l.Latest(ctx)
		if err != nil || !ok || id != 2 || string(data) != "entry 2" {
			t.Fatalf("Latest = %d %q %v %v", id, data, ok, err)
		}
	})
}

// TestLogAddRace: many writers add the same batch with different content:
// exactly one wins, the rest get ErrConcurrentWriter. With the same
// content, all succeed.
func TestLogAddRace(t *testing.T) {
	ctx := context.Background()
	backends(t, func(t *testing.T, fsys storage.FS, root string) {
		l := NewLog(fsys, path.Join(root, "offsets"))
		const n = 16
		for id := range int64(4) {
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { errs[i] = l.Add(ctx, id, []byte(fmt.Sprintf("writer %d", i))) })
			}
			wg.Wait()
			winner := -1
			for i, err := range errs {
				if err == nil {
					if winner >= 0 {
						t.Fatalf("batch %d: writers %d and %d both won", id, winner, i)
					}
					winner = i
				} else if !errors.Is(err, ErrConcurrentWriter) {
					t.Fatalf("batch %d writer %d: %v", id, i, err)
				}
			}
			if winner < 0 {
				t.Fatalf("batch %d: nobody won", id)
			}
			if got, _ := l.Get(ctx, id); string(got) != fmt.Sprintf("writer %d", winner) {
				t.Fatalf("batch %d holds %q, winner was %d", id, got, winner)
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { errs[i] = l.Add(ctx, 10, []byte("same")) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("identical concurrent adds: %v", err)
		}
	})
}

// TestLogRetryAfterLostAck: the write happened but the caller was told it
// failed; retrying Add finds the identical entry and succeeds.
func TestLogRetryAfterLostAck(t *testing.T) {
	ctx := context.Background()
	m := storage.NewMem()
	first := true
	fsys := storage.WithHooks(m, storage.Hooks{After: func(op storage.Op, name string, err error) error {
		if op == storage.OpWriteFile && first {
			first = false
			return errors.New("timeout")
		}
		return err
	}})
	l := NewLog(fsys, "/c/offsets")
	if err := l.Add(ctx, 0, []byte("x")); err == nil {
		t.Fatal("first Add should report the lost ack")
	}
	if err := l.Add(ctx, 0, []byte("x")); err != nil {
		t.Fatalf("retry: %v", err)
	}
}

// TestLatestIgnoresStrays: the highest id decides, whatever the listing
// order; temp files, non-canonical names and directories are ignored.
func TestLatestIgnoresStrays(t *testing.T) {
	ctx := context.Background()
	backends(t, func(t *testing.T, fsys storage.FS, root string) {
		dir := path.Join(root, "commits")
		l := NewCommitLog(fsys, dir)
		for _, id := range []int64{0, 1, 2, 5, 9} { // gaps: purged or never written
			if err := l.Add(ctx, id, CommitMetadata{NextBatchWatermarkMs: id * 1000}); err != nil {
				t.Fatal(err)
			}
		}
		for _, stray := range []string{"010", "99.tmp", ".99.tmp", "+12", "-3", "x", "99999999999999999999", ".sluice-tmp-12-abc", "12.crc"} {
			if err := fsys.WriteFile(ctx, path.Join(dir, stray), []byte("garbage"), storage.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := fsys.MkdirAll(ctx, path.Join(dir, "42")); err != nil {
			t.Fatal(err)
		}
		if _, ok := fsys.(storage.Local); ok { // an abandoned temp file of a crashed write
			os.WriteFile(filepath.Join(dir, ".sluice-tmp-77-xyz"), []byte("v1\n{"), 0o644)
		}
		ids, err := l.List(ctx)
		if err != nil || !slices.Equal(ids, []int64{0, 1, 2, 5, 9}) {
			t.Fatalf("List = %v, %v", ids, err)
		}
		id, c, ok, err := l.Latest(ctx)
		if err != nil || !ok || id != 9 || c.NextBatchWatermarkMs != 9000 {
			t.Fatalf("Latest = %d %+v %v %v", id, c, ok, err)
		}
	})
}

// TestLatestCorrupt: a torn, truncated or garbage latest entry is an error
// naming the file, never a fallback to the entry before it.
func TestLatestCorrupt(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ name, content string }{
		{"empty", ""},
		{"truncated-metadata", "v1\n{\"batchWatermarkMs\":0,\"batc"},
		{"truncated-offset", "v1\n{\"batchWatermarkMs\":0,\"batchTimestampMs\":0,\"conf\":{}}\n{\"p\":{\"0\":1"},
		{"version-only", "v1"},
		{"garbage", "\x00\x01\x02 not a log entry"},
		{"newer-version", "v3\n{}"},
	} {
		backends(t, func(t *testing.T, fsys storage.FS, root string) {
			t.Run(tc.name, func(t *testing.T) {
				dir := path.Join(root, tc.name, "offsets")
				l := NewOffsetLog(fsys, dir)
				for id := range int64(3) {
					if err := l.Add(ctx, id, OffsetSeq{Offsets: []json.RawMessage{json.RawMessage(fmt.Sprint(id))}}); err != nil {
						t.Fatal(err)
					}
				}
				// a non-atomic copy or a bad disk produced this
				bad := path.Join(dir, "3")
				if err := fsys.WriteFile(ctx, bad, []byte(tc.content), storage.WriteOptions{}); err != nil {
					t.Fatal(err)
				}
				id, _, ok, err := l.Latest(ctx)
				if err == nil || ok || id != -1 {
					t.Fatalf("Latest = %d ok=%v err=%v; want an error", id, ok, err)
				}
				if !strings.Contains(err.Error(), bad) {
					t.Fatalf("error %q does not name %s", err, bad)
				}
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedVersion) {
					t.Fatalf("error %v is neither ErrCorrupt nor ErrUnsupportedVersion", err)
				}
				if _, err := l.Get(ctx, 3); err == nil {
					t.Fatal("Get of the corrupt entry succeeded")
				}
				if s, err := l.Get(ctx, 2); err != nil || string(s.Offsets[0]) != "2" {
					t.Fatalf("Get(2) = %v, %v", s, err)
				}
			})
		})
	}
}

func TestPurge(t *testing.T) {
	ctx := context.Background()
	backends(t, func(t *testing.T, fsys storage.FS, root string) {
		l := NewLog(fsys, path.Join(root, "offsets"))
		for id := range int64(10) {
			l.Add(ctx, id, []byte("x"))
		}
		if err := l.Purge(ctx, 7); err != nil {
			t.Fatal(err)
		}
		ids, _ := l.List(ctx)
		if !slices.Equal(ids, []int64{7, 8, 9}) {
			t.Fatalf("after Purge(7): %v", ids)
		}
		if err := l.Purge(ctx, 0); err != nil {
			t.Fatal(err)
		}
		if err := l.Purge(ctx, 100); err != nil {
			t.Fatal(err)
		}
		if ids, _ := l.List(ctx); len(ids) != 0 {
			t.Fatalf("after Purge(100): %v", ids)
		}
	})
}

func TestParseID(t *testing.T) {
	for name, want := range map[string]int64{"0": 0, "1": 1, "10": 10, "9223372036854775807": 1<<63 - 1} {
		if got, ok := ParseID(name); !ok || got != want {
			t.Errorf("ParseID(%q) = %d, %v", name, got, ok)
		}
	}
	for _, name := range []string{"", "00", "01", "-1", "+1", "1.0", " 1", "1x", "9223372036854775808", "１"} {
		if _, ok := ParseID(name); ok {
			t.Errorf("ParseID(%q) accepted", name)
		}
	}
}
