package fileformat

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
)

// ReaderAtFormat is implemented by formats that need random access
// (Parquet reads its footer first, then the column chunks): the file
// source and the batch readers use it for any storage whose files offer
// io.ReaderAt and a size (storage.File does). name is used in error
// messages. The returned Reader does not close r: the caller does, after
// the Reader's Close.
type ReaderAtFormat interface {
	OpenReaderAt(ctx context.Context, r io.ReaderAt, size int64, name string, opts ReadOptions) (Reader, error)
	// InferReaderAt is Format.Infer over random-access bytes.
	InferReaderAt(ctx context.Context, r io.ReaderAt, size int64, name string, opts ReadOptions) (*arrow.Schema, error)
}

var _ ReaderAtFormat = Parquet{}

// OpenReaderAt is Open over r (size bytes), for files that are not on the
// local disk. Behaviour (schema checks, projection, row-group pruning,
// splits) is Open's.
func (Parquet) OpenReaderAt(ctx context.Context, r io.ReaderAt, size int64, name string, opts ReadOptions) (Reader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := openPQReaderAt(name, r, size, nil)
	if err != nil {
		return nil, err
	}
	pr, err := newParquetReaderFile(f, opts)
	if err != nil {
		return nil, err
	}
	pr.ctx = ctx
	return pr, nil
}

// InferReaderAt reads the footer of r and proposes its schema.
func (Parquet) InferReaderAt(ctx context.Context, r io.ReaderAt, size int64, name string, opts ReadOptions) (*arrow.Schema, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := openPQReaderAt(name, r, size, nil)
	if err != nil {
		return nil, err
	}
	s, err := fileArrowSchema(f.root)
	if err != nil {
		return nil, fmt.Errorf("file %s: %w", name, err)
	}
	return s, nil
}

// RowCountReaderAt returns the number of rows recorded in r's footer.
func (Parquet) RowCountReaderAt(ctx context.Context, r io.ReaderAt, size int64, name string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	f, err := openPQReaderAt(name, r, size, nil)
	if err != nil {
		return 0, err
	}
	return f.pf.Metadata().NumRows, nil
}
