package files

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/internal/testutil/versitygw"
)

// The source on a real S3 server (versitygw): a glob in an s3:// URL with
// a query, a checkpoint on S3, cleanSource archive, bad records on S3,
// and no secret in messages.
func TestSourceS3(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	srv := versitygw.New(t)
	bucketLoc := srv.NewBucket(t, "")
	base, query, _ := strings.Cut(bucketLoc, "?")
	at := func(p string) string { return base + "/" + p + "?" + query }
	fsys, root, err := storage.Open(at("in"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		data := fmt.Sprintf(`{"id":%d}`+"\n", i)
		if i == 3 {
			data += `{"id":"bad"}` + "\n"
		}
		if err := fsys.WriteFile(ctx, fmt.Sprintf("%s/d=%d/f%d.json", root, i%2, i), []byte(data), storage.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	fsys.WriteFile(ctx, root+"/d=0/skip.txt", []byte("x"), storage.WriteOptions{})
	ckFS, ckRoot, err := storage.Open(at("ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Path: at("in/*/*.json"), Format: "json", InferSchema: true, PartitionColumns: []string{"d"},
		MaxFilesPerTrigger: 2, CleanSource: "archive", SourceArchiveDir: at("archive"), BadRecordsPath: at("bad"), Mem: mem}
	s, err := NewWithCheckpoint(ctx, o, ckFS, ckRoot+"/sources/0")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(bucketLoc)
	if secret := u.Query().Get("secretAccessKey"); strings.Contains(s.Description(), secret) {
		t.Errorf("description leaks the secret: %s", s.Description())
	}
	e := &engine{t: t, s: s}
	var rows []string
	for {
		_, r := e.step()
		if r == nil {
			break
		}
		rows = append(rows, r...)
	}
	if want := []string{"0|0", "1|1", "2|0", "3|1", "4|0"}; !slices.Equal(sorted(rows), want) {
		t.Errorf("rows %v, want %v", rows, want)
	}
	if s.BadRecords() != 1 {
		t.Errorf("bad records %d", s.BadRecords())
	}
	// Archived on S3 under their original names; the source is empty.
	left, _ := fsys.List(ctx, root+"/d=1")
	if len(left) != 0 {
		t.Errorf("not archived: %v", left)
	}
	afs, aroot, _ := storage.Open(at("archive"))
	if _, err := afs.Stat(ctx, aroot+root+"/d=1/f3.json"); err != nil {
		t.Errorf("archived copy: %v", err)
	}
	// A restart on the S3 checkpoint reuses the fixed schema and log.
	s2, err := NewWithCheckpoint(ctx, o, ckFS, ckRoot+"/sources/0")
	if err != nil {
		t.Fatal(err)
	}
	if !s2.Schema().Equal(s.Schema()) {
		t.Errorf("schema after restart %s", s2.Schema())
	}
}
