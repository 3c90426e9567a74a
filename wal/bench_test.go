package wal

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/sluicehq/sluice/internal/storage"
)

// BenchmarkBatchLogWrites is the WAL cost of one micro-batch: offsets/N
// (~200 bytes) and commits/N, each a create-if-absent fsynced write. On
// local disk this is the engine's latency floor per batch.
func BenchmarkBatchLogWrites(b *testing.B) {
	for name, mk := range map[string]func() (storage.FS, string){
		"local": func() (storage.FS, string) { return storage.Local{}, b.TempDir() },
		"mem":   func() (storage.FS, string) { return storage.NewMem(), "/ckpt" },
	} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			fsys, root := mk()
			c, err := OpenCheckpointFS(ctx, fsys, root, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			seq := OffsetSeq{
				Metadata: OffsetSeqMetadata{BatchWatermarkMs: 1700000000000, BatchTimestampMs: 1700000005000,
					Conf: map[string]string{"sluice.sql.shuffle.partitions": "8"}},
				Offsets: []json.RawMessage{
					json.RawMessage(`{"clicks":{"0":1234567,"1":1234890,"2":1233001,"3":1235550}}`),
					json.RawMessage(`{"logOffset":41}`),
				},
			}
			enc, _ := EncodeOffsetSeq(seq)
			b.ReportMetric(float64(len(enc)), "offset-bytes")
			b.ResetTimer()
			for i := range int64(b.N) {
				if err := c.Offsets().Add(ctx, i, seq); err != nil {
					b.Fatal(err)
				}
				if err := c.Commits().Add(ctx, i, CommitMetadata{NextBatchWatermarkMs: 1700000000000}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
