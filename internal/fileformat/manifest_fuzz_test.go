package fileformat

import (
	"context"
	"testing"

	"github.com/sluicehq/sluice/internal/storage"
)

// FuzzManifest feeds arbitrary names and contents to the manifest reader:
// it must return an error, never panic, and a chain it accepts must tile
// its batches.
func FuzzManifest(f *testing.F) {
	entry, _ := EncodeManifestEntry([]ManifestFile{{Path: "a=1/part-0.parquet", Size: 3, Rows: 1, Batch: 0, Partition: map[string]string{"a": "1"}}})
	compact, _ := EncodeManifestCompact(ManifestHeader{First: 0, Last: 1, Sealed: true}, entry[3:], entry[3:])
	f.Add("0", entry)
	f.Add("0-1.compact", compact)
	f.Add("0-1.2.compact", compact)
	f.Add("7", []byte("v1\n{\"path\":\"../x\"}\n"))
	f.Add("3-2.compact", []byte("v1\n{}\n"))
	f.Add("1", []byte("v2\n"))
	f.Add("0-1.compact", []byte("v1\n{\"first\":\"x\"}\n"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		o, ok := ParseManifestName(name)
		if ok && o.First > o.Last {
			t.Fatalf("%q parsed to first %d > last %d", name, o.First, o.Last)
		}
		_, body, err := ManifestBody(name, data, o.Compact)
		if err == nil {
			DecodeManifestFiles(name, body, nil)
		}
		m := storage.NewMem()
		ctx := context.Background()
		m.WriteFile(ctx, "/d/_sluice_log/version", []byte("v1"), storage.WriteOptions{})
		if ok {
			m.WriteFile(ctx, "/d/_sluice_log/"+name, data, storage.WriteOptions{})
			m.WriteFile(ctx, "/d/_sluice_log/0", entry, storage.WriteOptions{})
		}
		ReadManifest(ctx, m, "/d")
		ListCommittedFiles(ctx, m, "/d")
	})
}
