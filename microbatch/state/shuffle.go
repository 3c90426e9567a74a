package state

import (
	"io"
)

// Byte shuffling (codec 2). State files are mostly 8-byte integers with
// few significant bytes (ids, counts, timestamps): seen as bytes, short
// runs of zeros between a few random bytes, which zstd's fast matcher
// turns into a sequence every few bytes (about 60 MB/s on user ids).
// Shuffling each 64 KiB block of the Arrow IPC stream with stride 8, byte
// p of every 8-byte word into plane p, puts the zero bytes together and
// the random ones together: zstd then compresses the block five times
// faster and smaller. Arrow IPC aligns every buffer to 8 bytes from the
// start of the stream, so the words are the values. The shuffle knows
// nothing of the stream's structure: it is a permutation of each block
// (the last block, shorter, is shuffled over its whole words and keeps its
// last len%8 bytes in place), undone on reading before the IPC decoder
// sees the bytes.

const shuffleBlock = 1 << 16

// shuffle writes block src (at most shuffleBlock bytes) byte-shuffled to
// dst (same length).
func shuffle(dst, src []byte) {
	m := len(src) / 8
	for p := range 8 {
		plane := dst[p*m : (p+1)*m]
		for i := range plane {
			plane[i] = src[i*8+p]
		}
	}
	copy(dst[8*m:], src[8*m:])
}

// unshuffle undoes shuffle.
func unshuffle(dst, src []byte) {
	m := len(src) / 8
	for p := range 8 {
		plane := src[p*m : (p+1)*m]
		for i, b := range plane {
			dst[i*8+p] = b
		}
	}
	copy(dst[8*m:], src[8*m:])
}

// shuffleWriter shuffles what is written to it block by block into w;
// Close writes the last, partial block (it does not close w).
type shuffleWriter struct {
	w   io.Writer
	buf []byte
	out []byte
}

func newShuffleWriter(w io.Writer) *shuffleWriter {
	return &shuffleWriter{w: w, buf: make([]byte, 0, shuffleBlock), out: make([]byte, shuffleBlock)}
}

func (s *shuffleWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := copy(s.buf[len(s.buf):shuffleBlock], p)
		s.buf = s.buf[:len(s.buf)+k]
		p, n = p[k:], n+k
		if len(s.buf) == shuffleBlock {
			if err := s.flush(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (s *shuffleWriter) flush() error {
	out := s.out[:len(s.buf)]
	shuffle(out, s.buf)
	s.buf = s.buf[:0]
	_, err := s.w.Write(out)
	return err
}

func (s *shuffleWriter) Close() error {
	if len(s.buf) == 0 {
		return nil
	}
	return s.flush()
}

// unshuffleReader reads the stream a shuffleWriter wrote to r.
type unshuffleReader struct {
	r    io.Reader
	in   []byte
	out  []byte // unshuffled, not yet read: out[pos:]
	pos  int
	done bool
}

func newUnshuffleReader(r io.Reader) *unshuffleReader {
	return &unshuffleReader{r: r, in: make([]byte, shuffleBlock), out: make([]byte, 0, shuffleBlock)}
}

func (u *unshuffleReader) Read(p []byte) (int, error) {
	if u.pos == len(u.out) {
		if u.done {
			return 0, io.EOF
		}
		// A block is shuffleBlock bytes, or fewer at the end.
		n, err := io.ReadFull(u.r, u.in)
		switch err {
		case nil:
		case io.ErrUnexpectedEOF, io.EOF:
			u.done = true
		default:
			return 0, err
		}
		if n == 0 {
			return 0, io.EOF
		}
		u.out = u.out[:n]
		unshuffle(u.out, u.in[:n])
		u.pos = 0
	}
	k := copy(p, u.out[u.pos:])
	u.pos += k
	return k, nil
}
