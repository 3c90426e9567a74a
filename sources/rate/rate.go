// Package rate is the rate source: generated rows (timestamp, value) for
// tests and load experiments, like Spark's "rate" and "rate-micro-batch"
// sources. Values are deterministic: row i has value i and a timestamp
// derived from i, so a replayed batch is identical.
package rate

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/sources"
	"github.com/sluicehq/sluice/trigger"
)

// Schema of rate rows.
var Schema = arrow.NewSchema([]arrow.Field{
	{Name: "timestamp", Type: expr.Timestamp},
	{Name: "value", Type: expr.Int64},
}, nil)

// Options configure the rate source. Zero values take the defaults.
type Options struct {
	// RowsPerSecond after ramp-up. Default 1. Spark: rowsPerSecond.
	RowsPerSecond int64 `yaml:"rowsPerSecond"`
	// RampUpTime grows the rate linearly from 0 over this long. Spark: rampUpTime.
	RampUpTime time.Duration `yaml:"rampUpTime"`
	// NumPartitions splits each batch into this many Arrow batches. Default 1.
	NumPartitions int `yaml:"numPartitions"`
	// RowsPerBatch > 0 selects rate-micro-batch mode: every batch has
	// exactly this many rows, independent of the clock, and row i's
	// timestamp is StartTimestamp + (i / RowsPerBatch) * AdvanceMillisPerBatch.
	RowsPerBatch          int64 `yaml:"rowsPerBatch"`
	StartTimestamp        int64 `yaml:"startTimestamp"`        // ms, rate-micro-batch
	AdvanceMillisPerBatch int64 `yaml:"advanceMillisPerBatch"` // rate-micro-batch, default 1000
	// Clock defaults to the system clock; tests pass a manual one.
	Clock trigger.Clock    `yaml:"-"`
	Mem   memory.Allocator `yaml:"-"`
}

// Validate reports every problem at once.
func (o *Options) Validate() error {
	var errs []string
	if o.RowsPerSecond < 0 {
		errs = append(errs, fmt.Sprintf("rowsPerSecond=%d must be positive", o.RowsPerSecond))
	}
	if o.RampUpTime < 0 {
		errs = append(errs, fmt.Sprintf("rampUpTime=%s must not be negative", o.RampUpTime))
	}
	if o.NumPartitions < 0 {
		errs = append(errs, fmt.Sprintf("numPartitions=%d must be positive", o.NumPartitions))
	}
	if o.RowsPerBatch < 0 {
		errs = append(errs, fmt.Sprintf("rowsPerBatch=%d must be positive", o.RowsPerBatch))
	}
	if o.AdvanceMillisPerBatch < 0 {
		errs = append(errs, fmt.Sprintf("advanceMillisPerBatch=%d must not be negative", o.AdvanceMillisPerBatch))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: rate source: %s", sources.ErrSource, joinLines(errs))
	}
	return nil
}

func joinLines(s []string) string {
	out := s[0]
	for _, x := range s[1:] {
		out += "; " + x
	}
	return out
}

// Source generates rows.
type Source struct {
	o Options
}

// New validates o and makes the source.
func New(o Options) (*Source, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.RowsPerSecond == 0 {
		o.RowsPerSecond = 1
	}
	if o.NumPartitions == 0 {
		o.NumPartitions = 1
	}
	if o.AdvanceMillisPerBatch == 0 {
		o.AdvanceMillisPerBatch = 1000
	}
	if o.Clock == nil {
		o.Clock = trigger.System
	}
	if o.Mem == nil {
		o.Mem = memory.DefaultAllocator
	}
	return &Source{o: o}, nil
}

// offset is the source position: rows generated so far, and (rate mode)
// the start time they are counted from, fixed by the first offset.
type offset struct {
	Rows    int64 `json:"rows"`
	StartMs int64 `json:"startMs,omitempty"`
}

func (s *Source) Schema() *arrow.Schema { return Schema }

func (s *Source) Description() string {
	if s.o.RowsPerBatch > 0 {
		return fmt.Sprintf("RatePerMicroBatchStream[rowsPerBatch=%d]", s.o.RowsPerBatch)
	}
	return fmt.Sprintf("RateStream[rowsPerSecond=%d, rampUpTimeSeconds=%d, numPartitions=%d]", s.o.RowsPerSecond, int64(s.o.RampUpTime.Seconds()), s.o.NumPartitions)
}

// InitialOffset fixes the start time (logged by the engine, so a restart
// keeps counting from the same instant).
func (s *Source) InitialOffset(ctx context.Context) (sources.Offset, error) {
	return encode(offset{StartMs: s.o.Clock.Now().UnixMilli()}), nil
}

// LatestOffset: rate mode counts the rows due by now; micro-batch mode adds
// RowsPerBatch to every batch.
func (s *Source) LatestOffset(ctx context.Context, start sources.Offset, limit sources.ReadLimit) (sources.Offset, error) {
	o, err := decode(start)
	if err != nil {
		return nil, err
	}
	next := o
	if s.o.RowsPerBatch > 0 {
		next.Rows += s.o.RowsPerBatch
	} else {
		next.Rows = s.rowsDue(s.o.Clock.Now().UnixMilli() - o.StartMs)
		if next.Rows < o.Rows {
			next.Rows = o.Rows
		}
	}
	if limit.MaxRows > 0 && next.Rows-o.Rows > limit.MaxRows {
		next.Rows = o.Rows + limit.MaxRows
	}
	if next.Rows == o.Rows {
		return start, nil
	}
	return encode(next), nil
}

// rowsDue is how many rows exist after elapsedMs, with linear ramp-up.
func (s *Source) rowsDue(elapsedMs int64) int64 {
	if elapsedMs <= 0 {
		return 0
	}
	r := s.o.RowsPerSecond
	ramp := s.o.RampUpTime.Milliseconds()
	if ramp <= 0 {
		return elapsedMs * r / 1000
	}
	if elapsedMs <= ramp {
		// integral of r*t/ramp dt from 0 to elapsed
		return r * elapsedMs * elapsedMs / (2 * ramp * 1000)
	}
	return r*ramp/2000 + (elapsedMs-ramp)*r/1000
}

// timestampMs of row i, the instant the rate says it was produced.
func (s *Source) timestampMs(start, i int64) int64 {
	if s.o.RowsPerBatch > 0 {
		return s.o.StartTimestamp + (i/s.o.RowsPerBatch)*s.o.AdvanceMillisPerBatch
	}
	r := s.o.RowsPerSecond
	ramp := s.o.RampUpTime.Milliseconds()
	rampRows := r * ramp / 2000
	if ramp > 0 && i < rampRows {
		// invert rows(t) = r t^2 / (2 ramp 1000)
		t := int64(sqrt(float64(2*ramp*1000*i) / float64(r)))
		return start + t
	}
	return start + ramp + (i-rampRows)*1000/r
}

func sqrt(x float64) float64 {
	if x <= 0 {
		return 0
	}
	z := x
	for k := 0; k < 60; k++ {
		z = (z + x/z) / 2
	}
	return z
}

// GetBatch generates rows (start, end]: values start.Rows .. end.Rows-1.
func (s *Source) GetBatch(ctx context.Context, start, end sources.Offset) (array.RecordReader, error) {
	a, err := decode(start)
	if err != nil {
		return nil, err
	}
	b, err := decode(end)
	if err != nil {
		return nil, err
	}
	total := b.Rows - a.Rows
	parts := int64(s.o.NumPartitions)
	var out []arrow.RecordBatch
	defer func() {
		for _, r := range out {
			r.Release()
		}
	}()
	for p := int64(0); p < parts && total > 0; p++ {
		lo := a.Rows + total*p/parts
		hi := a.Rows + total*(p+1)/parts
		if hi == lo {
			continue
		}
		rb := array.NewRecordBuilder(s.o.Mem, Schema)
		ts := rb.Field(0).(*array.TimestampBuilder)
		vs := rb.Field(1).(*array.Int64Builder)
		ts.Reserve(int(hi - lo))
		vs.Reserve(int(hi - lo))
		for i := lo; i < hi; i++ {
			ts.UnsafeAppend(arrow.Timestamp(s.timestampMs(b.StartMs, i) * 1000))
			vs.UnsafeAppend(i)
		}
		out = append(out, rb.NewRecordBatch())
		rb.Release()
	}
	return array.NewRecordReader(Schema, out)
}

func (s *Source) Commit(ctx context.Context, end sources.Offset) error { return nil }
func (s *Source) Close() error                                         { return nil }

func encode(o offset) sources.Offset {
	b, _ := json.Marshal(o)
	return b
}

func decode(o sources.Offset) (offset, error) {
	var v offset
	if len(o) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(o, &v); err != nil {
		return v, fmt.Errorf("%w: rate offset %q: %v", sources.ErrSource, string(o), err)
	}
	if v.Rows < 0 {
		return v, fmt.Errorf("%w: rate offset %q: negative rows", sources.ErrSource, string(o))
	}
	return v, nil
}

var _ = strconv.Itoa
