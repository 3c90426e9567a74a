package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"sync"
	"testing"
)

// impls are the FS implementations every contract test runs on, each with
// a fresh root.
func impls(t *testing.T) map[string]func(t *testing.T) (FS, string) {
	return map[string]func(t *testing.T) (FS, string){
		"local": func(t *testing.T) (FS, string) { return Local{}, t.TempDir() },
		"local-link": func(t *testing.T) (FS, string) {
			old := forceLinkFallback
			forceLinkFallback = true
			t.Cleanup(func() { forceLinkFallback = old })
			return Local{}, t.TempDir()
		},
		"mem":    func(t *testing.T) (FS, string) { return NewMem(), "/root" },
		"hooked": func(t *testing.T) (FS, string) { return WithHooks(NewMem(), LogHooks(func(string, ...any) {})), "/r" },
		"hooked-local": func(t *testing.T) (FS, string) {
			return WithHooks(Local{}, Hooks{Before: func(Op, string) error { return nil }}), t.TempDir()
		},
		"s3": s3Impl, // a real S3 server (versitygw); skipped when not installed
	}
}

func forEach(t *testing.T, fn func(t *testing.T, fsys FS, root string)) {
	for name, mk := range impls(t) {
		t.Run(name, func(t *testing.T) {
			fsys, root := mk(t)
			fn(t, fsys, root)
		})
	}
}

func names(t *testing.T, fsys FS, dir string) []string {
	t.Helper()
	l, err := fsys.List(context.Background(), dir)
	if err != nil {
		t.Fatalf("List(%s): %v", dir, err)
	}
	var out []string
	for _, fi := range l {
		n := fi.Name
		if fi.IsDir {
			n += "/"
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func TestReadWrite(t *testing.T) {
	ctx := context.Background()
	forEach(t, func(t *testing.T, fsys FS, root string) {
		p := path.Join(root, "a", "b", "c.txt") // parents do not exist yet
		if _, err := fsys.ReadFile(ctx, p); !errors.Is(err, ErrNotExist) || !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("ReadFile missing: %v, want ErrNotExist", err)
		}
		if err := fsys.WriteFile(ctx, p, []byte("one"), WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := fsys.WriteFile(ctx, p, []byte("two!"), WriteOptions{}); err != nil {
			t.Fatalf("overwrite: %v", err)
		}
		got, err := fsys.ReadFile(ctx, p)
		if err != nil || string(got) != "two!" {
			t.Fatalf("ReadFile = %q, %v", got, err)
		}
		err = fsys.WriteFile(ctx, p, []byte("three"), WriteOptions{CreateIfAbsent: true})
		if !errors.Is(err, ErrExist) || !errors.Is(err, fs.ErrExist) {
			t.Fatalf("CreateIfAbsent on existing: %v, want ErrExist", err)
		}
		if got, _ := fsys.ReadFile(ctx, p); string(got) != "two!" {
			t.Fatalf("failed create-if-absent changed the file: %q", got)
		}
		// empty files are files
		e := path.Join(root, "a", "empty")
		if err := fsys.WriteFile(ctx, e, nil, WriteOptions{CreateIfAbsent: true}); err != nil {
			t.Fatal(err)
		}
		if got, err := fsys.ReadFile(ctx, e); err != nil || len(got) != 0 {
			t.Fatalf("empty file: %q, %v", got, err)
		}
		fi, err := fsys.Stat(ctx, p)
		if err != nil || fi.Name != "c.txt" || fi.Size != 4 || fi.IsDir {
			t.Fatalf("Stat = %+v, %v", fi, err)
		}
		if fi, err := fsys.Stat(ctx, path.Join(root, "a")); err != nil || !fi.IsDir {
			t.Fatalf("Stat dir = %+v, %v", fi, err)
		}
		if _, err := fsys.Stat(ctx, path.Join(root, "nope")); !errors.Is(err, ErrNotExist) {
			t.Fatalf("Stat missing: %v", err)
		}
		// no temp files left behind
		if got, want := names(t, fsys, path.Join(root, "a", "b")), []string{"c.txt"}; !slices.Equal(got, want) {
			t.Fatalf("List = %v, want %v", got, want)
		}
	})
}

func TestErrorsNameThePath(t *testing.T) {
	ctx := context.Background()
	forEach(t, func(t *testing.T, fsys FS, root string) {
		p := path.Join(root, "missing-file")
		_, err := fsys.ReadFile(ctx, p)
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(p)) {
			t.Fatalf("error %v does not name %s", err, p)
		}
	})
}

// TestCreateIfAbsentRace: many writers create one name with different
// content; exactly one wins and the file holds the winner's bytes.
func TestCreateIfAbsentRace(t *testing.T) {
	ctx := context.Background()
	forEach(t, func(t *testing.T, fsys FS, root string) {
		for round := range 5 {
			p := path.Join(root, "race", fmt.Sprint(round))
			const n = 16
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					errs[i] = fsys.WriteFile(ctx, p, []byte(fmt.Sprintf("writer %d", i)), WriteOptions{CreateIfAbsent: true})
				})
			}
			wg.Wait()
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil:
					if winner >= 0 {
						t.Fatalf("round %d: writers %d and %d both won", round, winner, i)
					}
					winner = i
				case !errors.Is(err, ErrExist):
					t.Fatalf("writer %d: %v", i, err)
				}
			}
			if winner < 0 {
				t.Fatalf("round %d: nobody won", round)
			}
			got, _ := fsys.ReadFile(ctx, p)
			if want := fmt.Sprintf("writer %d", winner); string(got) != want {
				t.Fatalf("content %q, winner wrote %q", got, want)
			}
		}
	})
}

func TestCreateStreaming(t *testing.T) {
	ctx := context.Background()
	forEach(t, func(t *testing.T, fsys FS, root string) {
		p := path.Join(root, "out", "part-0.parquet")
		w, err := fsys.Create(ctx, p, WriteOptions{CreateIfAbsent: true})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		big := bytes.Repeat([]byte("0123456789"), 100_000)
		for range 3 {
			if _, err := w.Write(big); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := fsys.Stat(ctx, p); !errors.Is(err, ErrNotExist) {
			t.Fatalf("visible before Close: %v", err)
		}
		if got := names(t, fsys, path.Join(root, "out")); len(got) != 0 {
			t.Fatalf("List before Close = %v", got)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := w.Abort(); err != nil {
			t.Fatalf("Abort after Close: %v", err)
		}
		f, err := fsys.Open(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if f.Size() != int64(3*len(big)) {
			t.Fatalf("Size = %d", f.Size())
		}
		buf := make([]byte, 10)
		if _, err := f.ReadAt(buf, int64(len(big))+3); err != nil || string(buf) != "3456789012" {
			t.Fatalf("ReadAt = %q, %v", buf, err)
		}
		all, err := io.ReadAll(f)
		if err != nil || len(all) != 3*len(big) {
			t.Fatalf("ReadAll: %d bytes, %v", len(all), err)
		}

		// create-if-absent fails at Close (or Create) when the name exists
		w2, err := fsys.Create(ctx, p, WriteOptions{CreateIfAbsent: true})
		if err == nil {
			w2.Write([]byte("x"))
			err = w2.Close()
		}
		if !errors.Is(err, ErrExist) {
			t.Fatalf("second create-if-absent: %v, want ErrExist", err)
		}
		// overwrite works
		w3, err := fsys.Create(ctx, p, WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w3.Write([]byte("small"))
		if err := w3.Close(); err != nil {
			t.Fatal(err)
		}
		if got, _ := fsys.ReadFile(ctx, p); string(got) != "small" {
			t.Fatalf("after overwrite: %q", got)
		}
		// Abort publishes nothing and leaves nothing
		a := path.Join(root, "out", "aborted")
		w4, err := fsys.Create(ctx, a, WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w4.Write([]byte("junk"))
		if err := w4.Abort(); err != nil {
			t.Fatal(err)
		}
		if err := w4.Close(); err == nil {
			t.Fatal("Close after Abort succeeded")
		}
		if _, err := fsys.Stat(ctx, a); !errors.Is(err, ErrNotExist) {
			t.Fatalf("aborted file exists: %v", err)
		}
		if got, want := names(t, fsys, path.Join(root, "out")), []string{"part-0.parquet"}; !slices.Equal(got, want) {
			t.Fatalf("List = %v, want %v", got, want)
		}
	})
}

func TestListRemove(t *testing.T) {
	ctx := context.Background()
	forEach(t, func(t *testing.T, fsys FS, root string) {
		if got := names(t, fsys, path.Join(root, "does", "not", "exist")); len(got) != 0 {
			t.Fatalf("List missing = %v", got)
		}
		for _, n := range []string{"d/1", "d/2", "d/sub/3", "d/sub/deeper/4"} {
			if err := fsys.WriteFile(ctx, path.Join(root, n), []byte(n), WriteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := fsys.MkdirAll(ctx, path.Join(root, "d", "emptydir")); err != nil {
			t.Fatal(err)
		}
		if err := fsys.MkdirAll(ctx, path.Join(root, "d", "emptydir")); err != nil {
			t.Fatalf("MkdirAll twice: %v", err)
		}
		_, objectStore := fsys.(*S3) // no directories: MkdirAll is a no-op, Remove deletes one object
		want := []string{"1", "2", "emptydir/", "sub/"}
		if objectStore {
			want = []string{"1", "2", "sub/"}
		}
		if got := names(t, fsys, path.Join(root, "d")); !slices.Equal(got, want) {
			t.Fatalf("List = %v, want %v", got, want)
		}
		if err := fsys.Remove(ctx, path.Join(root, "d", "1")); err != nil {
			t.Fatal(err)
		}
		if err := fsys.Remove(ctx, path.Join(root, "d", "1")); err != nil {
			t.Fatalf("Remove missing: %v", err)
		}
		if err := fsys.Remove(ctx, path.Join(root, "d", "sub")); err == nil && !objectStore {
			t.Fatal("Remove of a non-empty directory succeeded")
		}
		if err := fsys.Remove(ctx, path.Join(root, "d", "emptydir")); err != nil {
			t.Fatalf("Remove empty dir: %v", err)
		}
		if err := fsys.RemoveAll(ctx, path.Join(root, "d", "sub")); err != nil {
			t.Fatal(err)
		}
		if err := fsys.RemoveAll(ctx, path.Join(root, "d", "sub")); err != nil {
			t.Fatalf("RemoveAll missing: %v", err)
		}
		if got, want := names(t, fsys, path.Join(root, "d")), []string{"2"}; !slices.Equal(got, want) {
			t.Fatalf("List = %v, want %v", got, want)
		}
		// a file where a directory is needed is an error, not a panic
		if err := fsys.WriteFile(ctx, path.Join(root, "d", "2", "x"), nil, WriteOptions{}); err == nil {
			t.Fatal("write under a file succeeded")
		}
	})
}

func TestLock(t *testing.T) {
	ctx := context.Background()
	forEach(t, func(t *testing.T, fsys FS, root string) {
		l, ok := fsys.(Locker)
		if !ok {
			t.Skip("not a Locker")
		}
		p := path.Join(root, "ckpt", ".lock")
		a, err := l.Lock(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Lock(ctx, p); !errors.Is(err, ErrLocked) {
			t.Fatalf("second Lock: %v, want ErrLocked", err)
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		b, err := l.Lock(ctx, p)
		if err != nil {
			t.Fatalf("Lock after Close: %v", err)
		}
		b.Close()
	})
}

func TestCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	forEach(t, func(t *testing.T, fsys FS, root string) {
		if err := fsys.WriteFile(ctx, path.Join(root, "x"), nil, WriteOptions{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("WriteFile with canceled ctx: %v", err)
		}
	})
}

func TestLocalLeavesNoTempFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := path.Join(dir, "f")
	Local{}.WriteFile(ctx, p, []byte("a"), WriteOptions{})
	Local{}.WriteFile(ctx, p, []byte("b"), WriteOptions{CreateIfAbsent: true}) // fails: exists
	w, _ := Local{}.Create(ctx, path.Join(dir, "g"), WriteOptions{})
	w.Abort()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "f" {
		var ns []string
		for _, e := range ents {
			ns = append(ns, e.Name())
		}
		t.Fatalf("directory holds %v, want just f", ns)
	}
	// List hides abandoned temp files
	os.WriteFile(path.Join(dir, tempPrefix+"f-123"), []byte("x"), 0o644)
	if got := names(t, Local{}, dir); !slices.Equal(got, []string{"f"}) {
		t.Fatalf("List = %v", got)
	}
}
