package files

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sinks"
	sinkfiles "github.com/sluicehq/sluice/sinks/files"
	"github.com/sluicehq/sluice/sources"
)

// The source reading a file sink's output sees committed files only, with
// their row counts, and never the files Compact rewrote.
func TestReadsSinkOutput(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	m := storage.NewMem()
	sink, err := sinkfiles.New(sinkfiles.Options{FS: m, Path: "/out", Mem: mem, ManifestCompactInterval: 2, ManifestMaxCompactBatches: 4})
	if err != nil {
		t.Fatal(err)
	}
	add := func(batch int64, lo, hi int) {
		b := pqBatch(mem, lo, hi)
		defer b.Release()
		rr, _ := array.NewRecordReader(pqSchema, []arrow.RecordBatch{b})
		defer rr.Release()
		if err := sink.AddBatch(ctx, batch, sinks.Append, rr); err != nil {
			t.Fatal(err)
		}
	}
	add(0, 0, 10)
	add(1, 10, 15)
	// A crashed batch 2: a data file and no manifest entry.
	writeParquet(t, mem, m, "/out/part-000002-00000.parquet", 100, 200)

	src, err := New(ctx, Options{FS: m, Path: "/out", Format: "parquet", InferSchema: true, Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	e := &engine{t: t, s: src}
	end, err := src.LatestOffset(ctx, nil, sources.ReadLimit{})
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := src.RowsBetween(nil, end); !ok || n != 15 {
		t.Errorf("RowsBetween = %d, %v; want 15 from the manifest", n, ok)
	}
	if rows := readAll(t, src, nil, end); len(rows) != 15 {
		t.Errorf("read %d rows, want 15 (the half batch must stay invisible)", len(rows))
	}
	e.committed = end
	src.Commit(ctx, end)
	// The replayed batch 2 and more batches, through compactions.
	add(2, 15, 20)
	for b := int64(3); b < 12; b++ {
		add(b, int(b)*10, int(b)*10+1)
	}
	var rows []string
	for {
		_, r := e.step()
		if r == nil {
			break
		}
		rows = append(rows, r...)
	}
	if len(rows) != 5+9 {
		t.Errorf("later batches: %d rows, want 14", len(rows))
	}

	// Files Compact rewrote are not new data.
	res, err := sinkfiles.Compact(ctx, m, "/out", sinkfiles.CompactOptions{TargetFileSize: 1 << 20, Mem: mem})
	if err != nil || res.PagesRewritten == 0 {
		t.Fatalf("compact: %+v %v", res, err)
	}
	if _, r := e.step(); r != nil {
		t.Errorf("compacted files were read as new: %d rows", len(r))
	}
	entry, _ := fileformat.EncodeManifestEntry([]fileformat.ManifestFile{{Path: "compacted-0.parquet", Size: 10, Rows: 99, Batch: 12, Rewritten: true}})
	m.WriteFile(ctx, "/out/_sluice_log/12", entry, storage.WriteOptions{})
	if _, r := e.step(); r != nil {
		t.Errorf("a rewritten file was read as new: %v", r)
	}
	if src.Metrics()["numFilesOutstanding"] != "0" {
		t.Errorf("metrics %v", src.Metrics())
	}
}
