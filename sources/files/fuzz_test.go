package files

import (
	"context"
	"testing"

	"github.com/sluicehq/sluice/internal/storage"
)

// FuzzSeenLog feeds arbitrary bytes to the seen-files log, schema and
// offset decoders: errors, never panics.
func FuzzSeenLog(f *testing.F) {
	entry, _ := encodeEntry([]seenFile{{Path: "/in/a.json", Size: 3, ModTimeMs: 5, Partition: map[string]string{"d": "1"}}})
	f.Add(entry, []byte(`{"logOffset":3}`))
	f.Add([]byte("v1\n{\"logOffset\":9,\"latestModTime\":5,\"purgeBefore\":0}\n{\"path\":\"/a\",\"modTime\":1}"), []byte(`{"logOffset":-1}`))
	f.Add([]byte("v1\n{\"path\":\"\"}"), []byte(`{"logOffset":1,"x":2}`))
	f.Add([]byte(`{"ddl":"a int","arrowSchema":"AAAA"}`), []byte("null"))
	f.Fuzz(func(t *testing.T, data, offset []byte) {
		decodeEntry("e", data)
		parseOffset(offset)
		decodeSchema("schema", data)
		ctx := context.Background()
		m := storage.NewMem()
		m.WriteFile(ctx, "/s/0", data, storage.WriteOptions{})
		m.WriteFile(ctx, "/s/9.compact", data, storage.WriteOptions{})
		l := newSeenLog(m, "/s", 10, 1000)
		l.load(ctx)
	})
}
