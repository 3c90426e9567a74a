package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sources"
)

// cleanFiles archives or deletes files of a committed batch. It is
// idempotent: a file already gone (cleaned before a crash, or deleted by
// someone else) is skipped, so Commit may repeat it after a restart.
func (s *Source) cleanFiles(ctx context.Context, files []seenFile) error {
	for _, f := range files {
		var err error
		switch s.clean {
		case "delete":
			err = s.fs.Remove(ctx, f.Path)
		case "archive":
			err = s.archive(ctx, f.Path)
		}
		if err != nil {
			return fmt.Errorf("%w: file source %s: cleanSource %s of %s: %w", sources.ErrSource, s.name, s.clean, f.Path, err)
		}
	}
	return nil
}

// archive moves name to sourceArchiveDir + name (Spark keeps the whole
// original path under the archive directory, so equal base names from
// different directories do not collide). Storage has no rename: the file
// is copied, published, then removed.
func (s *Source) archive(ctx context.Context, name string) error {
	src, err := s.fs.Open(ctx, name)
	if errors.Is(err, storage.ErrNotExist) {
		return nil // moved before
	}
	if err != nil {
		return err
	}
	defer src.Close()
	dst := path.Join(s.archRoot, name)
	w, err := s.archFS.Create(ctx, dst, storage.WriteOptions{})
	if err != nil {
		return err
	}
	defer w.Abort()
	if _, err := io.Copy(w, io.NewSectionReader(src, 0, src.Size())); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return s.fs.Remove(ctx, name)
}
