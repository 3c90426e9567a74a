package storage

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestMemCrash(t *testing.T) {
	ctx := context.Background()
	m := NewMem()
	if err := m.WriteFile(ctx, "/c/done", []byte("synced"), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	closed, _ := m.Create(ctx, "/c/closed", WriteOptions{})
	closed.Write([]byte("streamed"))
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	open, _ := m.Create(ctx, "/c/open", WriteOptions{})
	open.Write([]byte("half"))
	lock, err := m.Lock(ctx, "/c/.lock")
	if err != nil {
		t.Fatal(err)
	}

	m.Crash()

	for name, want := range map[string]string{"/c/done": "synced", "/c/closed": "streamed"} {
		if got, err := m.ReadFile(ctx, name); err != nil || string(got) != want {
			t.Errorf("%s after crash = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := open.Write([]byte("more")); !errors.Is(err, ErrCrashed) {
		t.Errorf("Write on a pre-crash writer: %v, want ErrCrashed", err)
	}
	if err := open.Close(); !errors.Is(err, ErrCrashed) {
		t.Errorf("Close on a pre-crash writer: %v, want ErrCrashed", err)
	}
	if _, err := m.Stat(ctx, "/c/open"); !errors.Is(err, ErrNotExist) {
		t.Errorf("unclosed file survived the crash: %v", err)
	}
	// the crashed holder's lock is gone; its late Close must not release
	// the new holder's lock
	l2, err := m.Lock(ctx, "/c/.lock")
	if err != nil {
		t.Fatalf("lock after crash: %v", err)
	}
	lock.Close()
	if _, err := m.Lock(ctx, "/c/.lock"); !errors.Is(err, ErrLocked) {
		t.Fatalf("stale Close released the new lock: %v", err)
	}
	l2.Close()
	// the FS works after the crash
	w, _ := m.Create(ctx, "/c/open", WriteOptions{CreateIfAbsent: true})
	w.Write([]byte("again"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFailNth(t *testing.T) {
	ctx := context.Background()
	m := NewMem()
	m.SetHooks(FailNth(3, nil, OpWriteFile))
	for i, name := range []string{"a", "b", "c", "d"} {
		m.ReadFile(ctx, "/x") // not counted
		err := m.WriteFile(ctx, "/"+name, []byte(name), WriteOptions{})
		if (i == 2) != (err != nil) {
			t.Fatalf("write %d (%s): err %v", i+1, name, err)
		}
		if i == 2 {
			if !errors.Is(err, ErrInjected) || !strings.Contains(err.Error(), "/c") {
				t.Fatalf("injected error %v: want ErrInjected naming /c", err)
			}
			if _, err := m.Stat(ctx, "/c"); !errors.Is(err, ErrNotExist) {
				t.Fatal("a write failed before it happened, yet the file exists")
			}
		}
	}
}

// TestLostAck: After turns a successful write into an error; the file is
// there although the caller was told it failed (an S3 response lost on the
// way back).
func TestLostAck(t *testing.T) {
	ctx := context.Background()
	m := NewMem()
	lost := errors.New("connection reset")
	fsys := WithHooks(m, Hooks{After: func(op Op, name string, err error) error {
		if op == OpWriteFile && err == nil {
			return lost
		}
		return err
	}})
	err := fsys.WriteFile(ctx, "/x", []byte("1"), WriteOptions{CreateIfAbsent: true})
	if !errors.Is(err, lost) {
		t.Fatalf("err = %v", err)
	}
	if got, _ := m.ReadFile(ctx, "/x"); string(got) != "1" {
		t.Fatalf("write did not happen: %q", got)
	}
}

func TestFailStreamingWrite(t *testing.T) {
	ctx := context.Background()
	m := NewMem()
	m.SetHooks(FailNth(2, nil, OpWrite))
	w, err := m.Create(ctx, "/big", WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if _, err := w.Write([]byte("1")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("2")); !errors.Is(err, ErrInjected) {
		t.Fatalf("second Write: %v", err)
	}
	w.Abort()
	if _, err := m.Stat(ctx, "/big"); !errors.Is(err, ErrNotExist) {
		t.Fatal("aborted write is visible")
	}
}

func TestNamedMemShared(t *testing.T) {
	ctx := context.Background()
	a, root, err := Open("mem://" + t.Name() + "/ckpt")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.WriteFile(ctx, root+"/f", []byte("x"), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := NamedMem(t.Name()).ReadFile(ctx, "ckpt/f"); err != nil || string(got) != "x" {
		t.Fatalf("shared mem: %q, %v", got, err)
	}
}
