// Package memory is the memory stream source: rows added by the program
// (tests, demos) become the next micro-batch. Like Spark's MemoryStream it
// lives in one process: it cannot replay data after the process dies.
package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/sources"
)

// Stream is an Arrow memory stream. Each AddBatch or AddBatches call is one
// addition, one step of the offset (Spark's LongOffset): offset n covers
// the first n+1 additions.
type Stream struct {
	name   string
	schema *arrow.Schema
	opts   Options

	mu   sync.Mutex
	adds []addition // adds[i] has offset base+i
	base int64      // offset of adds[0]
	// availableEnd caps LatestOffset under Trigger.AvailableNow: the last
	// offset added before PrepareForAvailableNow; -2 when not prepared.
	availableEnd int64
}

// Options configure a memory stream. Zero values take the defaults.
type Options struct {
	// MaxRowsPerTrigger caps the rows of one micro-batch (the read limit the
	// engine asks with, also under AvailableNow, which then splits the
	// backlog into several batches). An addition is never split: a batch
	// holds whole additions, at least one, so an addition larger than the
	// cap is a batch of its own. Default 0: no cap. Spark's sources call it
	// maxOffsetsPerTrigger or maxFilesPerTrigger.
	MaxRowsPerTrigger int64 `yaml:"maxRowsPerTrigger"`
}

// Validate reports every problem at once.
func (o *Options) Validate() error {
	if o.MaxRowsPerTrigger < 0 {
		return fmt.Errorf("%w: memory stream: maxRowsPerTrigger=%d must not be negative (0 means no cap)", sources.ErrSource, o.MaxRowsPerTrigger)
	}
	return nil
}

// NewArrowStream makes a stream of Arrow batches of schema.
func NewArrowStream(name string, schema *arrow.Schema) *Stream {
	return &Stream{name: name, schema: schema, availableEnd: -2}
}

// NewArrowStreamWith is NewArrowStream with options.
func NewArrowStreamWith(name string, schema *arrow.Schema, o Options) (*Stream, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	s := NewArrowStream(name, schema)
	s.opts = o
	return s, nil
}

// DefaultReadLimit is the read limit of the options (sources.DefaultLimiter).
func (s *Stream) DefaultReadLimit() sources.ReadLimit {
	return sources.ReadLimit{MaxRows: s.opts.MaxRowsPerTrigger}
}

// PrepareForAvailableNow fixes the end of what Trigger.AvailableNow
// processes: the additions made so far (sources.AvailableNowPreparer).
// Later additions wait for the next run.
func (s *Stream) PrepareForAvailableNow(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.availableEnd = s.base + int64(len(s.adds)) - 1
	return nil
}

// addition is what one AddBatch or AddBatches call added.
type addition struct {
	batches []arrow.RecordBatch
	rows    int64
}

// AddBatch appends a batch (retained by the stream) as one addition and
// returns its offset.
func (s *Stream) AddBatch(b arrow.RecordBatch) (int64, error) { return s.AddBatches(b) }

// AddBatches appends several batches (retained by the stream) as one
// addition, so one offset step (and, without a row cap, one micro-batch)
// can hold many Arrow batches; it returns the addition's offset.
func (s *Stream) AddBatches(bs ...arrow.RecordBatch) (int64, error) {
	a := addition{batches: make([]arrow.RecordBatch, 0, len(bs))}
	for _, b := range bs {
		if !b.Schema().Equal(s.schema) {
			return 0, fmt.Errorf("%w: memory stream %s: batch schema %s does not match the stream's %s", sources.ErrSource, s.name, b.Schema(), s.schema)
		}
		a.rows += b.NumRows()
	}
	for _, b := range bs {
		b.Retain()
		a.batches = append(a.batches, b)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.adds = append(s.adds, a)
	return s.base + int64(len(s.adds)) - 1, nil
}

func (s *Stream) Schema() *arrow.Schema { return s.schema }

func (s *Stream) Description() string { return "MemoryStream[" + s.name + "]" }

// LatestOffset returns the offset of the latest addition; with a row
// limit, the last addition that keeps the batch within it (at least one).
func (s *Stream) LatestOffset(ctx context.Context, start sources.Offset, limit sources.ReadLimit) (sources.Offset, error) {
	from, err := parse(start)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	last := s.base + int64(len(s.adds)) - 1
	if s.availableEnd > -2 {
		last = min(last, s.availableEnd)
	}
	if last < 0 || last <= from {
		return start, nil
	}
	if limit.MaxRows > 0 {
		rows := int64(0)
		end := from
		for o := from + 1; o <= last; o++ {
			n := s.adds[o-s.base].rows
			if end > from && rows+n > limit.MaxRows {
				break
			}
			rows += n
			end = o
		}
		last = end
	}
	return format(last), nil
}

// GetBatch returns the additions in (start, end].
func (s *Stream) GetBatch(ctx context.Context, start, end sources.Offset) (array.RecordReader, error) {
	from, err := parse(start)
	if err != nil {
		return nil, err
	}
	to, err := parse(end)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if from+1 < s.base {
		return nil, fmt.Errorf("%w: memory stream %s: offsets %d..%d were committed and dropped; a memory stream cannot replay them (it does not survive a restart)", sources.ErrSource, s.name, from+1, s.base-1)
	}
	if to >= s.base+int64(len(s.adds)) {
		return nil, fmt.Errorf("%w: memory stream %s: offset %d was never added (was the stream recreated after a restart?)", sources.ErrSource, s.name, to)
	}
	var out []arrow.RecordBatch
	for o := from + 1; o <= to; o++ {
		out = append(out, s.adds[o-s.base].batches...)
	}
	return array.NewRecordReader(s.schema, out)
}

// Commit drops additions up to end.
func (s *Stream) Commit(ctx context.Context, end sources.Offset) error {
	to, err := parse(end)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.base <= to && len(s.adds) > 0 {
		s.adds[0].release()
		s.adds = s.adds[1:]
		s.base++
	}
	return nil
}

func (a addition) release() {
	for _, b := range a.batches {
		b.Release()
	}
}

// Close releases the batches not yet committed.
func (s *Stream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.adds {
		a.release()
	}
	s.adds = nil
	return nil
}

// parse reads an offset: nil is -1 (before the first addition).
func parse(o sources.Offset) (int64, error) {
	if len(o) == 0 {
		return -1, nil
	}
	var v struct {
		Offset *int64 `json:"offset"`
	}
	if err := json.Unmarshal(o, &v); err != nil || v.Offset == nil {
		return 0, fmt.Errorf("%w: memory stream offset %q is not {\"offset\":N}", sources.ErrSource, string(o))
	}
	return *v.Offset, nil
}

func format(n int64) sources.Offset {
	return sources.Offset(`{"offset":` + strconv.FormatInt(n, 10) + `}`)
}

// Typed is a memory stream of Go structs: AddData converts rows to Arrow
// with the schema derived from T's fields (see SchemaOf).
type Typed[T any] struct {
	*Stream
	mem memory.Allocator
	enc *encoder
}

// Allocatorer is anything that supplies an allocator (a dataframe.Session).
type Allocatorer interface{ Allocator() memory.Allocator }

// NewStream makes a typed stream; a is usually the session.
func NewStream[T any](a Allocatorer) *Typed[T] {
	var zero T
	enc, err := newEncoder(zero)
	if err != nil {
		panic(fmt.Sprintf("memory.NewStream: %v", err)) // programmer error: T is not a usable struct
	}
	name := fmt.Sprintf("%T", zero)
	return &Typed[T]{Stream: NewArrowStream(name, enc.schema), mem: a.Allocator(), enc: enc}
}

// NewStreamWith is NewStream with options.
func NewStreamWith[T any](a Allocatorer, o Options) (*Typed[T], error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	t := NewStream[T](a)
	t.opts = o
	return t, nil
}

// AddData appends rows as one addition and returns its offset.
func (t *Typed[T]) AddData(rows ...T) (int64, error) {
	b, err := t.enc.encode(t.mem, rows)
	if err != nil {
		return 0, err
	}
	defer b.Release()
	return t.AddBatch(b)
}

var (
	_ sources.Source               = (*Stream)(nil)
	_ sources.DefaultLimiter       = (*Stream)(nil)
	_ sources.AvailableNowPreparer = (*Stream)(nil)
)
