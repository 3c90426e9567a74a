package kafka

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/sources"
)

// Read is a batch read of o (Spark's spark.read.format("kafka")): from
// startingOffsets (default earliest) to endingOffsets (default latest),
// through the same fetch path as streaming batches. The returned reader
// holds the connection: Release it to close.
func Read(ctx context.Context, o Options) (array.RecordReader, error) {
	s, err := New(o)
	if err != nil {
		return nil, err
	}
	rr, err := s.readBatch(ctx)
	if err != nil {
		s.Close()
		return nil, err
	}
	return &closingReader{reader: rr, s: s}, nil
}

// ValidateBatch checks o for a batch read (Read), without connecting:
// the options must be valid, and the range must not start at latest or
// end at earliest, which would read nothing.
func (o *Options) ValidateBatch() error {
	r, err := o.resolve()
	if err != nil {
		return err
	}
	return checkBatchRange(r)
}

func checkBatchRange(r *resolved) error {
	if r.starting.kind == "latest" {
		return fmt.Errorf("%w: kafka source: startingOffsets latest is not allowed in a batch read (it would read nothing); use earliest or JSON offsets", sources.ErrSource)
	}
	if r.ending.kind == "earliest" {
		return fmt.Errorf("%w: kafka source: endingOffsets earliest is not allowed in a batch read; use latest or JSON offsets", sources.ErrSource)
	}
	if r.starting.kind == "offsets" {
		for p, v := range r.starting.offsets {
			if v == -1 {
				return fmt.Errorf("%w: kafka source: startingOffsets for %s is -1 (latest), which is not allowed in a batch read", sources.ErrSource, p)
			}
		}
	}
	if r.ending.kind == "offsets" {
		for p, v := range r.ending.offsets {
			if v == -2 {
				return fmt.Errorf("%w: kafka source: endingOffsets for %s is -2 (earliest), which is not allowed in a batch read", sources.ErrSource, p)
			}
		}
	}
	return nil
}

func (s *Source) readBatch(ctx context.Context) (*reader, error) {
	if err := checkBatchRange(s.r); err != nil {
		return nil, err
	}
	parts, err := s.partitions(ctx)
	if err != nil {
		return nil, err
	}
	st := s.r.starting
	if st.kind == "" {
		st.kind = "earliest"
	}
	from, err := s.resolveSpec(ctx, "startingOffsets", st, parts)
	if err != nil {
		return nil, err
	}
	en := s.r.ending
	if en.kind == "" {
		en.kind = "latest"
	}
	until, err := s.resolveSpec(ctx, "endingOffsets", en, parts)
	if err != nil {
		return nil, err
	}
	latest, err := s.latest(ctx, parts)
	if err != nil {
		return nil, err
	}
	var ranges []*fetchRange
	for _, p := range parts {
		f, u := from[p], until[p]
		if u > latest[p] {
			return nil, fmt.Errorf("%w: kafka source: endingOffsets for %s is %d but the partition ends at %d", sources.ErrSource, p, u, latest[p])
		}
		if u < f {
			return nil, fmt.Errorf("%w: kafka source: %s: endingOffsets %d is before startingOffsets %d", sources.ErrSource, p, u, f)
		}
		if u > f {
			ranges = append(ranges, &fetchRange{p: p, from: f, until: u, cur: f})
		}
	}
	return s.newReader(ctx, ranges)
}

// closingReader closes the batch read's source with the reader.
type closingReader struct {
	*reader
	s *Source
}

func (c *closingReader) Release() {
	if c.reader.refs.Load() == 1 {
		c.reader.Release()
		c.s.Close()
		return
	}
	c.reader.Release()
}
