package storage

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	wd, _ := os.Getwd()
	for _, tc := range []struct {
		loc      string
		kind     string // "local", "mem" or "" for an error
		root     string
		errHas   string
		unsuppor bool
	}{
		{loc: "/data/ckpt", kind: "local", root: "/data/ckpt"},
		{loc: "/data/ckpt/", kind: "local", root: "/data/ckpt"},
		{loc: "ckpt/q1", kind: "local", root: filepath.Join(wd, "ckpt/q1")},
		{loc: "./ckpt", kind: "local", root: filepath.Join(wd, "ckpt")},
		{loc: "file:///data/ckpt", kind: "local", root: "/data/ckpt"},
		{loc: "file://localhost/data/ckpt", kind: "local", root: "/data/ckpt"},
		{loc: "file:///tmp/a%20b", kind: "local", root: "/tmp/a b"},
		{loc: "FILE:///x", kind: "local", root: "/x"},
		{loc: "mem://t1/ckpt/q", kind: "mem", root: "/ckpt/q"},
		{loc: "mem://t1", kind: "mem", root: "/"},
		{loc: "", errHas: "empty location"},
		{loc: "file://otherhost/x", errHas: "host"},
		{loc: "file://", errHas: "no path"},
		{loc: "mem:///x", errHas: "name the in-memory"},
		{loc: "s3://bucket/prefix", kind: "s3", root: "/prefix"},
		{loc: "s3://bucket", kind: "s3", root: "/"},
		{loc: "s3://bucket/prefix?nope=1", errHas: "unknown parameter"},
		{loc: "gs://bucket/prefix", errHas: "unknown scheme"},
	} {
		fsys, root, err := Open(tc.loc)
		if tc.kind == "" {
			if err == nil || !strings.Contains(err.Error(), tc.errHas) || !strings.Contains(err.Error(), tc.loc) {
				t.Errorf("Open(%q) err = %v; want one naming the location and containing %q", tc.loc, err, tc.errHas)
			}
			if tc.unsuppor && !errors.Is(err, ErrUnsupported) {
				t.Errorf("Open(%q): %v is not ErrUnsupported", tc.loc, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Open(%q): %v", tc.loc, err)
			continue
		}
		switch fsys.(type) {
		case Local:
			if tc.kind != "local" {
				t.Errorf("Open(%q) = Local", tc.loc)
			}
		case *Mem:
			if tc.kind != "mem" {
				t.Errorf("Open(%q) = Mem", tc.loc)
			}
		case *S3:
			if tc.kind != "s3" {
				t.Errorf("Open(%q) = S3", tc.loc)
			}
		}
		if root != tc.root {
			t.Errorf("Open(%q) root = %q, want %q", tc.loc, root, tc.root)
		}
	}
	a, _, _ := Open("mem://same/x")
	b, _, _ := Open("mem://same/y")
	if a != b {
		t.Error("two mem://same locations got different file systems")
	}
}
