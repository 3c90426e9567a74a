package files

import (
	"context"
	"encoding/binary"
	"io"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"

	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sinks"
)

// pqgoRow is the benchmark's row for parquet-go's own writer.
type pqgoRow struct {
	ID int64   `parquet:"id"`
	X  float64 `parquet:"x"`
	S  string  `parquet:"s"`
}

// BenchmarkParquetSinkVsParquetGo writes the same 1Mi rows of (int64,
// float64, string), snappy, one row group, in one run:
//
//   - parquet-go: parquet-go's own columnar path (README, "Writing Columns
//     of Typed Arrays"): typed WriteInt64s / WriteDoubles /
//     WriteByteArrays into a GenericBuffer, then WriteRowGroup, to
//     io.Discard. Required columns, its fastest case; converting Arrow's
//     strings to PLAIN-encoded byte arrays is included.
//   - writer: sluice's Parquet writer alone (nullable columns, the
//     sink's schema), to io.Discard.
//   - sink-mem: the file sink's AddBatch (writer, file naming, manifest
//     entry) into in-memory storage.
//   - sink-local: the same on local disk (temp file, fsync, rename, fsync
//     of the directory, manifest entry).
//
// Run on one core: taskset -c 0 go test ./sinks/files -run '^$'
// -bench ParquetSinkVsParquetGo. Mrows/cpu-s is the figure to compare on
// a shared machine (wall time includes other processes' turns).
func BenchmarkParquetSinkVsParquetGo(b *testing.B) {
	const n = 1 << 20
	mem := memory.DefaultAllocator
	recs := benchBatches(mem, n)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	ctx := context.Background()
	b.Run("parquet-go", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := cpuTime()
		var plain []byte
		for i := 0; i < b.N; i++ {
			buf := parquet.NewGenericBuffer[pqgoRow]()
			sc := buf.Schema()
			col := func(name string) parquet.ColumnBuffer {
				leaf, _ := sc.Lookup(name)
				return buf.ColumnBuffers()[leaf.ColumnIndex]
			}
			ids, xs, ss := col("id").(parquet.Int64Writer), col("x").(parquet.DoubleWriter), col("s").(parquet.ByteArrayWriter)
			for _, r := range recs {
				if _, err := ids.WriteInt64s(r.Column(0).(*array.Int64).Int64Values()); err != nil {
					b.Fatal(err)
				}
				if _, err := xs.WriteDoubles(r.Column(1).(*array.Float64).Float64Values()); err != nil {
					b.Fatal(err)
				}
				plain = plainByteArrays(plain[:0], r.Column(2).(*array.String))
				if _, err := ss.WriteByteArrays(plain); err != nil {
					b.Fatal(err)
				}
			}
			w := parquet.NewGenericWriter[pqgoRow](io.Discard, parquet.Compression(&parquet.Snappy))
			if _, err := w.WriteRowGroup(buf); err != nil {
				b.Fatal(err)
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b, int64(b.N)*n, cpu0)
	})
	b.Run("writer", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := cpuTime()
		for i := 0; i < b.N; i++ {
			w, err := fileformat.Parquet{}.NewWriter(io.Discard, benchSchema, fileformat.WriteOptions{Mem: mem, Options: map[string]string{"compression": "snappy"}})
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range recs {
				if err := w.Write(r); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b, int64(b.N)*n, cpu0)
	})
	for _, where := range []string{"sink-mem", "sink-local"} {
		b.Run(where, func(b *testing.B) {
			open := func() *Sink {
				var fsys storage.FS = storage.Local{}
				dir := b.TempDir()
				if where == "sink-mem" {
					fsys, dir = storage.NewMem(), "/out"
				}
				s, err := New(Options{FS: fsys, Path: dir, Compression: "snappy", Mem: mem})
				if err != nil {
					b.Fatal(err)
				}
				return s
			}
			s := open()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				rr, _ := array.NewRecordReader(benchSchema, recs)
				if err := s.AddBatch(ctx, int64(i), sinks.Append, rr); err != nil {
					b.Fatal(err)
				}
				rr.Release()
				if i%8 == 7 { // keep memory (and the disk) flat
					b.StopTimer()
					s = open()
					b.StartTimer()
				}
			}
			reportRate(b, int64(b.N)*n, cpu0)
		})
	}
}

// plainByteArrays renders Arrow strings as parquet-go's PLAIN byte
// arrays: each value prefixed by its 4-byte little-endian length.
func plainByteArrays(dst []byte, a *array.String) []byte {
	offs := a.ValueOffsets()
	data := a.ValueBytes()
	for i := 0; i < a.Len(); i++ {
		v := data[offs[i]-offs[0] : offs[i+1]-offs[0]]
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(v)))
		dst = append(dst, v...)
	}
	return dst
}
