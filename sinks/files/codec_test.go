package files

import (
	"bytes"
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
)

// The Parquet files the sink writes use snappy unless told otherwise,
// zstd when asked, and row groups of RowGroupSize rows, as read from the
// files' own footers.
func TestSinkParquetCodecAndRowGroups(t *testing.T) {
	tests := []struct {
		name      string
		opts      Options
		codec     format.CompressionCodec
		rowGroups int
	}{
		{"default", Options{}, format.Snappy, 1},
		{"zstd", Options{Compression: "zstd"}, format.Zstd, 1},
		{"none", Options{Compression: "none"}, format.Uncompressed, 1},
		{"rowGroupSize", Options{RowGroupSize: 4}, format.Snappy, 3}, // 10 rows
		{"zstd and rowGroupSize", Options{Compression: "zstd", RowGroupSize: 5}, format.Zstd, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx := context.Background()
			m := storage.NewMem()
			o := tt.opts
			o.FS, o.Path, o.Mem = m, "/out", mem
			s, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			if err := addBatch(t, s, mem, 0, 0, 10); err != nil {
				t.Fatal(err)
			}
			files, err := fileformat.ListCommittedFiles(ctx, m, "/out")
			if err != nil || len(files) != 1 {
				t.Fatalf("files %v, %v", files, err)
			}
			data, err := m.ReadFile(ctx, files[0].Path)
			if err != nil {
				t.Fatal(err)
			}
			pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			md := pf.Metadata()
			if len(md.RowGroups) != tt.rowGroups || md.NumRows != 10 {
				t.Errorf("%d row groups, %d rows; want %d, 10", len(md.RowGroups), md.NumRows, tt.rowGroups)
			}
			for _, rg := range md.RowGroups {
				for _, c := range rg.Columns {
					if c.MetaData.Codec != tt.codec {
						t.Errorf("column %v codec %v, want %v", c.MetaData.PathInSchema, c.MetaData.Codec, tt.codec)
					}
				}
			}
		})
	}
}
