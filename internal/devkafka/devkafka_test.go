package devkafka

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestStart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := Start(ctx, Config{Partitions: 3, Topics: []string{"a", "b"}, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Fatalf("address %q", addr)
	}
	cl, err := b.Client(kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	tds, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tds) != 2 || len(tds["a"].Partitions) != 3 {
		t.Fatalf("topics %v", tds.Names())
	}
	// Topics are also created on first use (by clients that ask for it).
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "auto", Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	b.Close()
	// A restart on the same directory and port keeps topics and records;
	// asking for an existing topic again is fine.
	b2, err := Start(ctx, Config{Addr: addr, DataDir: dir, Topics: []string{"a", "c"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	cl2, _ := b2.Client()
	defer cl2.Close()
	end, err := kadm.NewClient(cl2).ListEndOffsets(ctx, "auto", "c")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	end.Each(func(o kadm.ListedOffset) {
		if o.Topic == "auto" {
			n += o.Offset
		}
	})
	if n != 1 || len(end["c"]) != 1 {
		t.Fatalf("after restart: %d records in auto, c has %d partitions", n, len(end["c"]))
	}
}

func TestBadAddress(t *testing.T) {
	for _, addr := range []string{"nope", "127.0.0.1:x", "127.0.0.1:70000"} {
		if _, err := Start(context.Background(), Config{Addr: addr}); !errors.Is(err, ErrBroker) {
			t.Errorf("%s: %v", addr, err)
		}
	}
}
