package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"strconv"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/klauspost/compress/zstd"
)

// A state file (delta or snapshot):
//
//	header  16 bytes: magic "SLSTATE\x00", format uint16 LE (1), codec
//	        byte (0 none, 1 zstd, 2 zstd of the byte-shuffled stream),
//	        5 reserved zero bytes
//	body    an Arrow IPC stream (schema + record batches + end marker),
//	        compressed as one zstd frame when codec is 1; codec 2 shuffles
//	        each 64 KiB block of the stream first (shuffle.go)
//	trailer 16 bytes: rows uint64 LE, CRC-32C (Castagnoli) uint32 LE of
//	        header+body, magic "SLND"
//
// The body is compressed as a whole rather than with IPC buffer
// compression: a small delta compresses better as one frame, one pooled
// encoder serves every commit, and decoding is a bounded stream (IPC
// buffer compression trusts a size prefix in the data for its allocation).
// The stream's schema metadata records what the file is (fileKind,
// fileVersion, ...), so a misplaced or renamed file is caught. Writers
// use codec 2; readers accept all three.

const (
	fileMagic         = "SLSTATE\x00"
	trailMagic        = "SLND"
	fileFormat        = 1
	codecNone         = 0
	codecZstd         = 1
	codecZstdShuffled = 2
	headerLen         = 16
	trailerLen        = 16
	metaKind          = "sluice.state.kind"
	metaVersion       = "sluice.state.version"
	metaOp            = "sluice.state.operator"
	metaPart          = "sluice.state.partition"
	metaStore         = "sluice.state.store"
	kindDelta         = "delta"
	kindSnap          = "snapshot"
	// removedCol is the last column of a delta: true for a removed key.
	removedCol = "__removed"
)

// maxMessageBytes bounds one IPC message (and any single allocation) when
// decoding: a corrupt length cannot make the reader allocate more. Files
// are written in batches far below it. A variable so tests can lower it.
var maxMessageBytes int64 = 1 << 30

// maxBatchRows is the most rows of one record batch in a state file: the
// writers' chunk sizes (deltaChunk, snapshot chunks, ReadBatchRows) are at
// most this, and a reader refuses more (a corrupt length must not size
// the tables).
const maxBatchRows = 1 << 16

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// zstdWindow is the window files are compressed with; readers accept up
// to maxZstdWindow, so a corrupt frame header cannot make them allocate
// more.
const (
	zstdWindow    = 1 << 20
	maxZstdWindow = 1 << 25
)

var encoderPool = sync.Pool{New: func() any {
	e, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithWindowSize(zstdWindow))
	if err != nil {
		panic(err) // only for invalid options
	}
	return e
}}

var decoderPool = sync.Pool{New: func() any {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderLowmem(true))
	if err != nil {
		panic(err)
	}
	return d
}}

// fileHeader identifies one file for its schema metadata.
type fileHeader struct {
	kind      string
	version   int64
	operator  int
	partition int
	store     string
}

func (h fileHeader) metadata() arrow.Metadata {
	return arrow.NewMetadata(
		[]string{metaKind, metaVersion, metaOp, metaPart, metaStore},
		[]string{h.kind, strconv.FormatInt(h.version, 10), strconv.Itoa(h.operator), strconv.Itoa(h.partition), h.store})
}

// crcWriter checksums and counts what passes to w.
type crcWriter struct {
	w   io.Writer
	crc hash.Hash32
	n   int64
}

func (c *crcWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.crc.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// fileWriter streams record batches into a state file.
type fileWriter struct {
	cw   *crcWriter
	zw   *zstd.Encoder
	sw   *shuffleWriter
	iw   *ipc.Writer
	rows int64
	done bool
}

func newFileWriter(w io.Writer, schema *arrow.Schema, mem memory.Allocator) (*fileWriter, error) {
	cw := &crcWriter{w: w, crc: crc32.New(castagnoli)}
	var hdr [headerLen]byte
	copy(hdr[:], fileMagic)
	binary.LittleEndian.PutUint16(hdr[8:], fileFormat)
	hdr[10] = codecZstdShuffled
	if _, err := cw.Write(hdr[:]); err != nil {
		return nil, err
	}
	zw := encoderPool.Get().(*zstd.Encoder)
	zw.Reset(cw)
	sw := newShuffleWriter(zw)
	iw := ipc.NewWriter(sw, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	return &fileWriter{cw: cw, zw: zw, sw: sw, iw: iw}, nil
}

func (f *fileWriter) write(rec arrow.RecordBatch) error {
	f.rows += rec.NumRows()
	return f.iw.Write(rec)
}

// close ends the stream and writes the trailer.
func (f *fileWriter) close() error {
	if f.done {
		return nil
	}
	f.done = true
	err := f.iw.Close()
	if e := f.sw.Close(); err == nil {
		err = e
	}
	if e := f.zw.Close(); err == nil {
		err = e
	}
	f.zw.Reset(nil)
	encoderPool.Put(f.zw)
	if err != nil {
		return err
	}
	var tr [trailerLen]byte
	binary.LittleEndian.PutUint64(tr[0:], uint64(f.rows))
	binary.LittleEndian.PutUint32(tr[8:], f.cw.crc.Sum32())
	copy(tr[12:], trailMagic)
	_, err = f.cw.w.Write(tr[:])
	return err
}

// abandon frees the writer after a failure.
func (f *fileWriter) abandon() {
	if f.done {
		return
	}
	f.done = true
	f.iw.Close()
	f.zw.Close()
	f.zw.Reset(nil)
	encoderPool.Put(f.zw)
}

// encodeFile renders record batches as a whole state file.
func encodeFile(schema *arrow.Schema, mem memory.Allocator, recs []arrow.RecordBatch) ([]byte, error) {
	var buf bytes.Buffer
	fw, err := newFileWriter(&buf, schema, mem)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if err := fw.write(r); err != nil {
			fw.abandon()
			return nil, err
		}
	}
	if err := fw.close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// fileRows checks a file's frame (magic, CRC) and returns its trailer's
// row count and its body.
func checkFrame(name string, data []byte) (rows int64, codec byte, body []byte, err error) {
	if len(data) < headerLen+trailerLen {
		return 0, 0, nil, corruptf(name, "%d bytes is too short for a state file (at least %d)", len(data), headerLen+trailerLen)
	}
	if string(data[:8]) != fileMagic {
		return 0, 0, nil, corruptf(name, "not a state file (bad magic %q)", data[:8])
	}
	if v := binary.LittleEndian.Uint16(data[8:]); v != fileFormat {
		return 0, 0, nil, corruptf(name, "format version %d; this build reads version %d (written by a newer sluice?)", v, fileFormat)
	}
	codec = data[10]
	if codec != codecNone && codec != codecZstd && codec != codecZstdShuffled {
		return 0, 0, nil, corruptf(name, "unknown compression codec %d", codec)
	}
	tr := data[len(data)-trailerLen:]
	if string(tr[12:]) != trailMagic {
		return 0, 0, nil, corruptf(name, "truncated: the end marker is missing")
	}
	want := binary.LittleEndian.Uint32(tr[8:])
	if got := crc32.Checksum(data[:len(data)-trailerLen], castagnoli); got != want {
		return 0, 0, nil, corruptf(name, "checksum mismatch (stored %08x, computed %08x): the file was damaged", want, got)
	}
	r := binary.LittleEndian.Uint64(tr[0:])
	if r > 1<<40 {
		return 0, 0, nil, corruptf(name, "implausible row count %d", r)
	}
	return int64(r), codec, data[headerLen : len(data)-trailerLen], nil
}

// decodeFile reads a state file, checks that it is the expected kind and
// version and has the expected column types, and hands each record batch
// to fn (valid during the call only). begin, when not nil, first gets
// the row count of the trailer (to size tables).
func decodeFile(name string, data []byte, want fileHeader, types []arrow.DataType, mem memory.Allocator,
	begin func(rows int64), fn func(arrow.RecordBatch) error) (rows int64, err error) {
	rows, codec, body, err := checkFrame(name, data)
	if err != nil {
		return 0, err
	}
	if begin != nil {
		begin(rows)
	}
	var src io.Reader = bytes.NewReader(body)
	if codec == codecZstd || codec == codecZstdShuffled {
		dec := decoderPool.Get().(*zstd.Decoder)
		if err := dec.Reset(bytes.NewReader(body)); err != nil {
			decoderPool.Put(dec)
			return 0, corruptf(name, "zstd: %v", err)
		}
		defer func() {
			dec.Reset(nil)
			decoderPool.Put(dec)
		}()
		src = dec
		if codec == codecZstdShuffled {
			src = newUnshuffleReader(dec)
		}
	}
	lim := &limitAllocator{mem: mem, max: int(maxMessageBytes)}
	// The ipc.Reader owns mr: its Release releases mr.
	mr := newSafeMessageReader(src, lim, int(min(maxMessageBytes, 1<<24)), maxMessageBytes)
	var rr *ipc.Reader
	if err := guard(func() error {
		var e error
		rr, e = ipc.NewReaderFromMessageReader(mr, ipc.WithAllocator(lim))
		return e
	}); err != nil {
		return 0, corruptf(name, "arrow ipc: %v", err)
	}
	defer rr.Release()
	if err := checkFileSchema(rr.Schema(), want, types); err != nil {
		return 0, corruptf(name, "%v", err)
	}
	var got int64
	for {
		var ok bool
		var rec arrow.RecordBatch
		if err := guard(func() error {
			ok = rr.Next()
			if ok {
				rec = rr.RecordBatch()
				if n := rec.NumRows(); n > maxBatchRows {
					return fmt.Errorf("a batch of %d rows; writers make at most %d", n, maxBatchRows)
				}
				return validateRecord(rec)
			}
			return rr.Err()
		}); err != nil {
			return 0, corruptf(name, "arrow ipc: %v", err)
		}
		if !ok {
			break
		}
		got += rec.NumRows()
		if err := fn(rec); err != nil {
			return 0, fmt.Errorf("state file %s: %w", name, err)
		}
	}
	if got != rows {
		return 0, corruptf(name, "holds %d rows, its trailer says %d", got, rows)
	}
	return rows, nil
}

// validateRecord checks every column's buffers (O(n)) before anything
// reads them. Top-level NULL columns are skipped: arrow-go's validator
// wants a buffer its IPC reader does not give them, and they hold no data.
func validateRecord(rec arrow.RecordBatch) error {
	for i, c := range rec.Columns() {
		if c.DataType().ID() == arrow.NULL {
			continue
		}
		if err := array.ValidateFull(c); err != nil {
			return fmt.Errorf("column %d (%s): %w", i, rec.Schema().Field(i).Name, err)
		}
	}
	return nil
}

func checkFileSchema(s *arrow.Schema, want fileHeader, types []arrow.DataType) error {
	md := s.Metadata()
	get := func(k string) string {
		if i := md.FindKey(k); i >= 0 {
			return md.Values()[i]
		}
		return ""
	}
	if k := get(metaKind); k != want.kind {
		return fmt.Errorf("is a %q file, expected a %s", k, want.kind)
	}
	if v := get(metaVersion); v != strconv.FormatInt(want.version, 10) {
		return fmt.Errorf("holds version %q, expected %d (a renamed or misplaced file?)", v, want.version)
	}
	if o, p, st := get(metaOp), get(metaPart), get(metaStore); o != strconv.Itoa(want.operator) || p != strconv.Itoa(want.partition) || st != want.store {
		return fmt.Errorf("belongs to operator %s partition %s store %q, expected operator %d partition %d store %q (a misplaced file?)",
			o, p, st, want.operator, want.partition, want.store)
	}
	if s.NumFields() != len(types) {
		return fmt.Errorf("has %d columns, expected %d", s.NumFields(), len(types))
	}
	for i, dt := range types {
		if f := s.Field(i); !arrow.TypeEqual(f.Type, dt) {
			return fmt.Errorf("column %d %q has type %s, expected %s", i, f.Name, f.Type, dt)
		}
	}
	return nil
}

func corruptf(name, format string, args ...any) error {
	return fmt.Errorf("%w %s: %s", ErrCorrupt, name, fmt.Sprintf(format, args...))
}

// guard runs fn, turning a panic (arrow's IPC reader panics on some
// malformed input) into an error.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed data (%v)", r)
		}
	}()
	return fn()
}

var errTooLarge = errors.New("allocation exceeds the state file limit")

// limitAllocator refuses (by panicking, caught by guard) allocations
// larger than max, so a corrupt size cannot exhaust memory.
type limitAllocator struct {
	mem memory.Allocator
	max int
}

func (a *limitAllocator) Allocate(n int) []byte {
	if n < 0 || n > a.max {
		panic(errTooLarge)
	}
	return a.mem.Allocate(n)
}

func (a *limitAllocator) Reallocate(n int, b []byte) []byte {
	if n < 0 || n > a.max {
		panic(errTooLarge)
	}
	return a.mem.Reallocate(n, b)
}

func (a *limitAllocator) Free(b []byte) { a.mem.Free(b) }
