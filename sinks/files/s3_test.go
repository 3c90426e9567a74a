package files

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/internal/testutil/versitygw"
)

// The sink on a real S3 server (versitygw): exactly-once through the
// manifest, replays, compaction and Compact, with no secret in messages.
func TestSinkS3(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	loc := versitygw.Bucket(t, "out")
	o := Options{Path: loc, Mem: mem, PartitionBy: []string{"p"}, ManifestCompactInterval: 2, ManifestMaxCompactBatches: 4}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(loc)
	if secret := u.Query().Get("secretAccessKey"); secret == "" || strings.Contains(s.Description(), secret) {
		t.Errorf("the description leaks the secret key (or the test found none): %s", s.Description())
	}
	for b := 0; b < 9; b++ {
		if err := addBatch(t, s, mem, int64(b), b*5, b*5+5); err != nil {
			t.Fatal(err)
		}
	}
	// A replay is a no-op; a half batch stays invisible.
	if err := addBatch(t, s, mem, 8, 0, 100); err != nil {
		t.Fatal(err)
	}
	fsys, dir, err := storage.Open(loc)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := fsys.Create(ctx, dir+"/p=a/part-000009-00000.parquet", storage.WriteOptions{})
	w.Write([]byte("half"))
	w.Close()
	if got := readRows(t, mem, fsys, dir, "parquet", nil); !slices.Equal(got, wantRows(0, 45)) {
		t.Errorf("rows on S3:\n got %v\nwant %v", got, wantRows(0, 45))
	}
	s2, _ := New(o) // restart
	if err := addBatch(t, s2, mem, 9, 45, 50); err != nil {
		t.Fatal(err)
	}
	res, err := Compact(ctx, fsys, dir, CompactOptions{TargetFileSize: 1 << 20, Mem: mem})
	if err != nil || res.PagesRewritten != 2 {
		t.Fatalf("compact on S3: %+v %v", res, err)
	}
	if got := readRows(t, mem, fsys, dir, "parquet", nil); !slices.Equal(got, wantRows(0, 50)) {
		t.Errorf("rows after compact: %d", len(got))
	}
	m, err := fileformat.ReadManifest(ctx, fsys, dir)
	if err != nil || m.Latest != 9 {
		t.Errorf("manifest %+v %v", m, err)
	}
}
