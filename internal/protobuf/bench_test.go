package protobuf

import (
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/fileformat"
)

// BenchmarkDecodeYSB decodes YSB-shaped events (6 string fields and a
// timestamp) into Arrow columns, as Protobuf and, for a ratio on the same
// machine, as JSON through the JSON file format's scanner.
func BenchmarkDecodeYSB(b *testing.B) {
	m := mustMessage(b, `syntax = "proto3"; import "google/protobuf/timestamp.proto";
		message Event { string user_id = 1; string page_id = 2; string ad_id = 3; string ad_type = 4;
			string event_type = 5; google.protobuf.Timestamp event_time = 6; string ip_address = 7; }`, "Event")
	const n = 4096
	msgs := make([][]byte, n)
	jsons := make([][]byte, n)
	size, jsize := 0, 0
	for i := range msgs {
		jsons[i] = fmt.Appendf(nil, `{"user_id":"%08x-0000-4000-8000-%012x","page_id":"%08x-1111-4000-8000-%012x","ad_id":"%08x-2222-4000-8000-%012x","ad_type":"banner","event_type":%q,"event_time":"%s","ip_address":"1.2.3.4"}`,
			i, i, i, i, i%100, i%100, []string{"view", "click", "purchase"}[i%3], time.Unix(int64(1767225600+i), int64(i*1000)).UTC().Format(time.RFC3339Nano))
		jsize += len(jsons[i])
		msgs[i] = enc(nil).str(1, fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)).str(2, fmt.Sprintf("%08x-1111-4000-8000-%012x", i, i)).
			str(3, fmt.Sprintf("%08x-2222-4000-8000-%012x", i%100, i%100)).str(4, "banner").str(5, []string{"view", "click", "purchase"}[i%3]).
			bytes(6, enc(nil).varint(1, uint64(1767225600+i)).varint(2, uint64(i*1000))).str(7, "1.2.3.4")
		size += len(msgs[i])
	}
	b.Run("protobuf", func(b *testing.B) {
		d, err := NewDecoder(m, memory.NewGoAllocator())
		if err != nil {
			b.Fatal(err)
		}
		defer d.Release()
		b.SetBytes(int64(size))
		for i := 0; i < b.N; i++ {
			for _, msg := range msgs {
				if err := d.Append(msg); err != nil {
					b.Fatal(err)
				}
			}
			d.NewBatch().Release()
		}
		b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("json", func(b *testing.B) {
		sc, err := m.ArrowSchema()
		if err != nil {
			b.Fatal(err)
		}
		d, err := fileformat.NewJSONDecoder(sc, memory.NewGoAllocator(), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer d.Release()
		b.SetBytes(int64(jsize))
		for i := 0; i < b.N; i++ {
			for _, j := range jsons {
				if err := d.Append(j); err != nil {
					b.Fatal(err)
				}
			}
			d.NewBatch().Release()
		}
		b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "events/s")
	})
}
