package state

import (
	"encoding/binary"
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
// dst (same length): 8 words at a time by an 8x8 byte transpose in
// registers, the words left over byte by byte.
func shuffle(dst, src []byte) {
	m := len(src) / 8
	m8 := m &^ 7
	le := binary.LittleEndian
	for i := 0; i < m8; i += 8 {
		w := src[i*8 : i*8+64]
		r0, r1, r2, r3 := le.Uint64(w[0:]), le.Uint64(w[8:]), le.Uint64(w[16:]), le.Uint64(w[24:])
		r4, r5, r6, r7 := le.Uint64(w[32:]), le.Uint64(w[40:]), le.Uint64(w[48:]), le.Uint64(w[56:])
		r0, r1, r2, r3, r4, r5, r6, r7 = transpose8(r0, r1, r2, r3, r4, r5, r6, r7)
		le.PutUint64(dst[i:], r0)
		le.PutUint64(dst[m+i:], r1)
		le.PutUint64(dst[2*m+i:], r2)
		le.PutUint64(dst[3*m+i:], r3)
		le.PutUint64(dst[4*m+i:], r4)
		le.PutUint64(dst[5*m+i:], r5)
		le.PutUint64(dst[6*m+i:], r6)
		le.PutUint64(dst[7*m+i:], r7)
	}
	for p := range 8 {
		for i := m8; i < m; i++ {
			dst[p*m+i] = src[i*8+p]
		}
	}
	copy(dst[8*m:], src[8*m:])
}

// unshuffle undoes shuffle.
func unshuffle(dst, src []byte) {
	m := len(src) / 8
	m8 := m &^ 7
	le := binary.LittleEndian
	for i := 0; i < m8; i += 8 {
		r0, r1, r2, r3 := le.Uint64(src[i:]), le.Uint64(src[m+i:]), le.Uint64(src[2*m+i:]), le.Uint64(src[3*m+i:])
		r4, r5, r6, r7 := le.Uint64(src[4*m+i:]), le.Uint64(src[5*m+i:]), le.Uint64(src[6*m+i:]), le.Uint64(src[7*m+i:])
		r0, r1, r2, r3, r4, r5, r6, r7 = transpose8(r0, r1, r2, r3, r4, r5, r6, r7)
		w := dst[i*8 : i*8+64]
		le.PutUint64(w[0:], r0)
		le.PutUint64(w[8:], r1)
		le.PutUint64(w[16:], r2)
		le.PutUint64(w[24:], r3)
		le.PutUint64(w[32:], r4)
		le.PutUint64(w[40:], r5)
		le.PutUint64(w[48:], r6)
		le.PutUint64(w[56:], r7)
	}
	for p := range 8 {
		for i := m8; i < m; i++ {
			dst[i*8+p] = src[p*m+i]
		}
	}
	copy(dst[8*m:], src[8*m:])
}

// transpose8 transposes the 8x8 byte matrix whose row k is rk (column p
// in byte p): swap the off-diagonal 4x4 blocks, then 2x2, then bytes.
func transpose8(r0, r1, r2, r3, r4, r5, r6, r7 uint64) (uint64, uint64, uint64, uint64, uint64, uint64, uint64, uint64) {
	const m32, m16, m8 = 0x00000000ffffffff, 0x0000ffff0000ffff, 0x00ff00ff00ff00ff
	t := (r0>>32 ^ r4) & m32
	r0, r4 = r0^t<<32, r4^t
	t = (r1>>32 ^ r5) & m32
	r1, r5 = r1^t<<32, r5^t
	t = (r2>>32 ^ r6) & m32
	r2, r6 = r2^t<<32, r6^t
	t = (r3>>32 ^ r7) & m32
	r3, r7 = r3^t<<32, r7^t

	t = (r0>>16 ^ r2) & m16
	r0, r2 = r0^t<<16, r2^t
	t = (r1>>16 ^ r3) & m16
	r1, r3 = r1^t<<16, r3^t
	t = (r4>>16 ^ r6) & m16
	r4, r6 = r4^t<<16, r6^t
	t = (r5>>16 ^ r7) & m16
	r5, r7 = r5^t<<16, r7^t

	t = (r0>>8 ^ r1) & m8
	r0, r1 = r0^t<<8, r1^t
	t = (r2>>8 ^ r3) & m8
	r2, r3 = r2^t<<8, r3^t
	t = (r4>>8 ^ r5) & m8
	r4, r5 = r4^t<<8, r5^t
	t = (r6>>8 ^ r7) & m8
	r6, r7 = r6^t<<8, r7^t
	return r0, r1, r2, r3, r4, r5, r6, r7
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
