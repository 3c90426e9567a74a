package state

import (
	"bytes"
	"io"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/storage"
)

// The shuffled stream reads back byte for byte whatever the length (whole
// blocks, a partial last block, a tail shorter than a word) and however
// the writes and reads are cut.
func TestShuffleRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 8, 9, 1000, shuffleBlock - 1, shuffleBlock, shuffleBlock + 1, 3*shuffleBlock + 13} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(r.IntN(4)) // compressible, like small integers
		}
		var enc bytes.Buffer
		sw := newShuffleWriter(&enc)
		for rest := data; len(rest) > 0; {
			k := min(len(rest), 1+r.IntN(20000))
			if _, err := sw.Write(rest[:k]); err != nil {
				t.Fatal(err)
			}
			rest = rest[k:]
		}
		must(t, sw.Close())
		if enc.Len() != n {
			t.Fatalf("n=%d: %d shuffled bytes", n, enc.Len())
		}
		if n >= 16 && bytes.Equal(enc.Bytes(), data) {
			t.Fatalf("n=%d: the stream was not shuffled", n)
		}
		var got []byte
		ur := newUnshuffleReader(&enc)
		buf := make([]byte, 1+r.IntN(5000))
		for {
			k, err := ur.Read(buf)
			got = append(got, buf[:k]...)
			if err == io.EOF {
				break
			}
			must(t, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("n=%d: round trip differs", n)
		}
	}
}

// shuffle puts byte p of every word in plane p, whether the words go
// through the 8x8 transpose or one by one.
func TestShuffleLayout(t *testing.T) {
	for _, words := range []int{0, 1, 7, 8, 9, 16, 17, 8191, 8192} {
		src := make([]byte, words*8+words%5)
		for i := range src {
			src[i] = byte(i*31 + i/7)
		}
		dst := make([]byte, len(src))
		shuffle(dst, src)
		for i := range words {
			for p := range 8 {
				if dst[p*words+i] != src[i*8+p] {
					t.Fatalf("%d words: byte %d of word %d at %d is %d, want %d", words, p, i, p*words+i, dst[p*words+i], src[i*8+p])
				}
			}
		}
		for i := words * 8; i < len(src); i++ {
			if dst[i] != src[i] {
				t.Fatalf("%d words: tail byte %d moved", words, i)
			}
		}
		back := make([]byte, len(src))
		unshuffle(back, dst)
		if !bytes.Equal(back, src) {
			t.Fatalf("%d words: unshuffle differs", words)
		}
	}
	src := []byte{1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 14, 15, 16, 17, 18, 99}
	dst := make([]byte, len(src))
	shuffle(dst, src)
	want := []byte{1, 11, 2, 12, 3, 13, 4, 14, 5, 15, 6, 16, 7, 17, 8, 18, 99}
	if !bytes.Equal(dst, want) {
		t.Fatalf("shuffle = %v, want %v", dst, want)
	}
	back := make([]byte, len(src))
	unshuffle(back, dst)
	if !bytes.Equal(back, src) {
		t.Fatalf("unshuffle = %v", back)
	}
}

// Files of the earlier codecs (1: zstd of the plain stream, 0: none)
// still load.
func TestEarlierCodecsLoad(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fsys := storage.NewMem()
	writeVersions(t, fsys, mem, 3)
	op, st := openStore(t, fsys, pairSpec(1), Options{Mem: mem})
	must(t, st.Load(ctx, 3))
	want := dump(t, st)
	op.Close()
	orig := map[string][]byte{}
	for _, name := range []string{"1.delta", "2.snapshot", "3.delta"} {
		path := "ckpt/state/0/0/" + name
		b, err := fsys.ReadFile(ctx, path)
		must(t, err)
		if _, c, _, err := checkFrame(path, b); err != nil || c != codecZstdShuffled {
			t.Fatalf("%s written with codec %d (%v)", path, c, err)
		}
		orig[path] = b
	}
	for _, codec := range []byte{codecNone, codecZstd} {
		for path, b := range orig {
			raw := unzstdBody(t, b)
			rows, _, _, _ := checkFrame(path, b)
			body := raw
			if codec == codecZstd {
				var err error
				body, err = encodeZstd(raw)
				must(t, err)
			}
			must(t, fsys.WriteFile(ctx, path, frame(body, codec, uint64(rows)), storage.WriteOptions{}))
		}
		op, st := openStore(t, fsys, pairSpec(1), Options{Mem: mem})
		must(t, st.Load(ctx, 3))
		if got := dump(t, st); !maps.Equal(got, want) {
			t.Fatalf("codec %d: state %v, want %v", codec, got, want)
		}
		op.Close()
	}
}

func BenchmarkShuffle(b *testing.B) {
	src := make([]byte, shuffleBlock)
	for i := range src {
		src[i] = byte(i * 7)
	}
	dst := make([]byte, shuffleBlock)
	b.SetBytes(shuffleBlock)
	for b.Loop() {
		shuffle(dst, src)
	}
}
