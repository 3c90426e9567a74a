package fileformat

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// parquet-go sizes buffers from footer and page header fields before it
// reads the bytes they describe, so a corrupt file can make it allocate
// gigabytes. These checks run first and reject such files with
// ErrMalformed. The limits are far above what writers produce (pages are
// typically about 1 MiB and 20k rows).
const (
	maxPageBytes  = 256 << 20 // uncompressed size of one page
	maxPageValues = 1 << 26   // values (levels) in one page
	maxFooter     = 256 << 20
)

// checkFooterSize validates the footer length in the file's trailer.
func checkFooterSize(path string, r io.ReaderAt, size int64) error {
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return fmt.Errorf("%w: file %s: reading the footer: %v", ErrMalformed, path, err)
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n+12 > size || n > maxFooter {
		return fmt.Errorf("%w: file %s: footer of %d bytes does not fit in a %d-byte file", ErrMalformed, path, n, size)
	}
	return nil
}

// checkChunkPages walks the page headers of one column chunk and checks
// that every page lies inside the chunk and declares sane sizes. rows is
// the row group's row count; repeated says whether the leaf has
// repetition levels (then values may exceed rows).
func checkChunkPages(path, column string, r io.ReaderAt, fileSize int64, md *format.ColumnMetaData, rows int64, repeated bool) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: file %s: column %q: %s", ErrMalformed, path, column, fmt.Sprintf(format, args...))
	}
	start := md.DataPageOffset
	if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < start {
		start = md.DictionaryPageOffset
	}
	end := start + md.TotalCompressedSize
	if start < 4 || end > fileSize || md.TotalCompressedSize < 0 {
		return bad("column chunk [%d, %d) lies outside the %d-byte file", start, end, fileSize)
	}
	var proto thrift.CompactProtocol
	buf := make([]byte, 512)
	var values int64
	for off := start; off < end; {
		var h format.PageHeader
		var hlen int
		for {
			n := int(min(int64(len(buf)), end-off))
			if _, err := r.ReadAt(buf[:n], off); err != nil && err != io.EOF {
				return bad("reading page header at %d: %v", off, err)
			}
			pr := proto.NewReaderFromBytes(buf[:n])
			h = format.PageHeader{}
			err := thrift.NewDecoder(pr).Decode(&h)
			if err == nil {
				hlen = pr.BytesRead()
				break
			}
			if int64(n) < end-off && len(buf) < 16<<20 {
				buf = make([]byte, len(buf)*8) // a header with large statistics
				continue
			}
			return bad("page header at %d: %v", off, err)
		}
		cs, us := int64(h.CompressedPageSize), int64(h.UncompressedPageSize)
		if cs < 0 || off+int64(hlen)+cs > end {
			return bad("page at %d of %d bytes overruns the column chunk", off, cs)
		}
		if us < 0 || us > maxPageBytes || us > cs*4096+(1<<20) {
			return bad("page at %d claims %d uncompressed bytes from %d", off, us, cs)
		}
		var nv int64
		switch {
		case h.DataPageHeader.Valid:
			nv = int64(h.DataPageHeader.V.NumValues)
		case h.DataPageHeaderV2.Valid:
			v2 := h.DataPageHeaderV2.V
			nv = int64(v2.NumValues)
			if v2.NumNulls < 0 || v2.NumRows < 0 || int64(v2.NumNulls) > nv || v2.RepetitionLevelsByteLength < 0 ||
				v2.DefinitionLevelsByteLength < 0 || int64(v2.RepetitionLevelsByteLength)+int64(v2.DefinitionLevelsByteLength) > cs {
				return bad("page at %d has inconsistent v2 header", off)
			}
		case h.DictionaryPageHeader.Valid:
			dn := int64(h.DictionaryPageHeader.V.NumValues)
			limit := us/4 + 8 // plain values take at least 4 bytes...
			switch md.Type {
			case format.Boolean:
				limit = us*8 + 8 // ...except booleans (bits)
			case format.FixedLenByteArray:
				limit = us + 8 // ...and short fixed-size binaries
			}
			if dn < 0 || dn > limit {
				return bad("dictionary page at %d claims %d values in %d bytes", off, dn, us)
			}
		}
		if nv < 0 || nv > maxPageValues || (!repeated && nv > rows) {
			return bad("page at %d claims %d values (row group has %d rows)", off, nv, rows)
		}
		values += nv
		off += int64(hlen) + cs
	}
	if !repeated && values > rows {
		return bad("pages hold %d values for %d rows", values, rows)
	}
	return nil
}
