package fileformat

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/klauspost/compress/gzip"
)

// StreamFormat is implemented by formats that can read any byte stream,
// not only a local path: the file source uses it for object stores and
// in-memory storage. name is used in error messages and picks the
// decompression (a name ending in ".gz" is gunzipped). The returned
// Reader does not close r.
type StreamFormat interface {
	NewReader(ctx context.Context, r io.Reader, name string, opts ReadOptions) (Reader, error)
	// InferReader is Format.Infer over a byte stream.
	InferReader(ctx context.Context, r io.Reader, name string, opts ReadOptions) (*arrow.Schema, error)
}

// openLocal opens a local file (a plain path or a file:// URL) for a text
// format, returning the byte stream, its closer and the name for messages.
func openLocal(path string) (*os.File, error) {
	p := strings.TrimPrefix(path, "file://")
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("fileformat: open %s: %w", path, err)
	}
	return f, nil
}

// decompressor wraps r by the file name's extension.
func decompressor(r io.Reader, name string) (io.Reader, io.Closer, error) {
	ext := strings.ToLower(filepath.Ext(name))
	switch ext {
	case ".gz", ".gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			if err == io.EOF { // an empty .gz file reads as empty
				return bytes.NewReader(nil), nil, nil
			}
			return nil, nil, fmt.Errorf("%w: %s: not a gzip stream: %v", ErrMalformed, name, err)
		}
		return zr, zr, nil
	case ".bz2", ".zst", ".zstd", ".snappy", ".lz4", ".deflate", ".xz", ".zip":
		return nil, nil, fmt.Errorf("%w: %s: %s-compressed input is not supported; only gzip (.gz) is, or decompress the file first",
			ErrOption, name, ext[1:])
	}
	return r, nil, nil
}

// lineSource buffers a byte stream for the line-oriented readers. The
// window buf[pos:end] holds unread input; a record must fit in the window,
// which grows as needed. The UTF-8 BOM at the start of the stream is
// dropped.
type lineSource struct {
	r       io.Reader
	buf     []byte
	pos     int
	end     int
	eof     bool
	err     error
	started bool
}

const lineSourceChunk = 1 << 20

func newLineSource(r io.Reader) *lineSource {
	return &lineSource{r: r, buf: make([]byte, 0, 64<<10)}
}

// window returns the unread bytes.
func (s *lineSource) window() []byte { return s.buf[s.pos:s.end] }

func (s *lineSource) advance(n int) { s.pos += n }

// more reads at least one more byte into the window unless the stream is
// exhausted; it returns false at EOF (or on error, kept in s.err).
func (s *lineSource) more() bool {
	if s.eof || s.err != nil {
		return false
	}
	if s.pos > 0 {
		n := copy(s.buf[:cap(s.buf)], s.buf[s.pos:s.end])
		s.pos, s.end = 0, n
	}
	if s.end == cap(s.buf) {
		nb := make([]byte, 0, max(2*cap(s.buf), lineSourceChunk))
		nb = append(nb, s.buf[:s.end]...)
		s.buf = nb
	} else if cap(s.buf) < lineSourceChunk && s.end > cap(s.buf)/2 {
		nb := make([]byte, 0, lineSourceChunk)
		nb = append(nb, s.buf[:s.end]...)
		s.buf = nb
	}
	s.buf = s.buf[:cap(s.buf)]
	before := s.end
	for {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if !s.started && s.end >= 3 || (!s.started && err != nil) {
			s.started = true
			if s.end >= 3 && s.buf[0] == 0xEF && s.buf[1] == 0xBB && s.buf[2] == 0xBF {
				s.pos = 3
			}
		}
		if err == io.EOF {
			s.eof = true
			return s.end > before
		}
		if err != nil {
			s.err = err
			return s.end > before
		}
		if n > 0 && s.started {
			return true
		}
	}
}

// nextLine returns the next line without its terminator (\n or \r\n) and
// whether there was one. The slice is valid until the next call.
func (s *lineSource) nextLine() ([]byte, bool) {
	searched := 0
	for {
		w := s.buf[s.pos:s.end]
		if i := bytes.IndexByte(w[searched:], '\n'); i >= 0 {
			i += searched
			line := w[:i]
			s.pos += i + 1
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			return line, true
		}
		searched = len(w)
		if !s.more() {
			w = s.buf[s.pos:s.end]
			if len(w) == 0 {
				return nil, false
			}
			s.pos = s.end
			if w[len(w)-1] == '\r' {
				w = w[:len(w)-1]
			}
			return w, true
		}
	}
}

// compressWriter wraps w for the compression option (none|gzip) behind a
// buffered writer; finish flushes and ends the gzip stream without closing w.
type compressWriter struct {
	*bufio.Writer
	gz *gzip.Writer
}

func newCompressWriter(w io.Writer, compression string) *compressWriter {
	cw := &compressWriter{}
	switch strings.ToLower(compression) {
	case "gzip":
		cw.gz = gzip.NewWriter(w)
		cw.Writer = bufio.NewWriterSize(cw.gz, 256<<10)
	default:
		cw.Writer = bufio.NewWriterSize(w, 256<<10)
	}
	return cw
}

func (c *compressWriter) finish() error {
	if err := c.Flush(); err != nil {
		return err
	}
	if c.gz != nil {
		return c.gz.Close()
	}
	return nil
}
