package memory

import (
	"context"
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/sources"
)

var idSchema = arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)

// addRows adds one addition per count, of that many rows.
func addRows(t *testing.T, mem memory.Allocator, s *Stream, counts ...int) {
	t.Helper()
	for _, n := range counts {
		b := array.NewInt64Builder(mem)
		for i := 0; i < n; i++ {
			b.Append(int64(i))
		}
		col := b.NewArray()
		b.Release()
		rb := array.NewRecordBatch(idSchema, []arrow.Array{col}, int64(n))
		col.Release()
		if _, err := s.AddBatch(rb); err != nil {
			t.Fatal(err)
		}
		rb.Release()
	}
}

// batches walks LatestOffset from the start with the stream's own read
// limit, as the engine does, committing each batch; it returns the rows
// of each batch.
func batches(t *testing.T, s *Stream) []int64 {
	t.Helper()
	ctx := context.Background()
	var out []int64
	var start sources.Offset
	for {
		end, err := s.LatestOffset(ctx, start, s.DefaultReadLimit())
		if err != nil {
			t.Fatal(err)
		}
		if string(end) == string(start) {
			return out
		}
		rr, err := s.GetBatch(ctx, start, end)
		if err != nil {
			t.Fatal(err)
		}
		n := int64(0)
		for rr.Next() {
			n += rr.RecordBatch().NumRows()
		}
		rr.Release()
		out = append(out, n)
		if err := s.Commit(ctx, end); err != nil {
			t.Fatal(err)
		}
		start = end
	}
}

func TestMaxRowsPerTrigger(t *testing.T) {
	tests := []struct {
		name   string
		max    int64
		counts []int
		want   []int64
	}{
		{"no cap: one batch", 0, []int{2, 3, 1}, []int64{6}},
		{"cap fits whole additions", 3, []int{1, 2, 3, 1, 1, 1}, []int64{3, 3, 3}},
		{"an addition above the cap is a batch of its own", 2, []int{5, 1, 1, 4}, []int64{5, 2, 4}},
		{"cap of one", 1, []int{1, 1, 1}, []int64{1, 1, 1}},
		{"empty additions ride along", 2, []int{0, 2, 0, 1}, []int64{2, 1}},
		{"nothing added", 5, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			s, err := NewArrowStreamWith("s", idSchema, Options{MaxRowsPerTrigger: tt.max})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := s.DefaultReadLimit(); got.MaxRows != tt.max {
				t.Fatalf("DefaultReadLimit %+v, want MaxRows %d", got, tt.max)
			}
			addRows(t, mem, s, tt.counts...)
			got := batches(t, s)
			if len(got) != len(tt.want) {
				t.Fatalf("batches %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("batches %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	_, err := NewArrowStreamWith("s", idSchema, Options{MaxRowsPerTrigger: -1})
	if !errors.Is(err, sources.ErrSource) {
		t.Fatalf("negative cap: %v", err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	if _, err := NewStreamWith[struct{ A int64 }](alloc{mem}, Options{MaxRowsPerTrigger: -5}); err == nil {
		t.Fatal("typed: negative cap accepted")
	}
	ts, err := NewStreamWith[struct{ A int64 }](alloc{mem}, Options{MaxRowsPerTrigger: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	if ts.DefaultReadLimit().MaxRows != 2 {
		t.Fatalf("typed stream limit %+v", ts.DefaultReadLimit())
	}
}

// AvailableNow sees only what was added before PrepareForAvailableNow,
// still split by the cap; later additions wait.
func TestPrepareForAvailableNow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	s, err := NewArrowStreamWith("s", idSchema, Options{MaxRowsPerTrigger: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addRows(t, mem, s, 1, 1, 1)
	if err := s.PrepareForAvailableNow(ctx); err != nil {
		t.Fatal(err)
	}
	addRows(t, mem, s, 1, 1)
	if got := batches(t, s); len(got) != 2 || got[0] != 2 || got[1] != 1 {
		t.Fatalf("AvailableNow batches %v, want [2 1]", got)
	}
	// A stream prepared while empty has nothing to give.
	e := NewArrowStream("e", idSchema)
	defer e.Close()
	if err := e.PrepareForAvailableNow(ctx); err != nil {
		t.Fatal(err)
	}
	addRows(t, mem, e, 3)
	end, err := e.LatestOffset(ctx, nil, sources.ReadLimit{})
	if err != nil || end != nil {
		t.Fatalf("prepared empty stream: latest %q, %v; want nil (no data)", end, err)
	}
}

// One AddBatches call is one addition: one offset, counted whole against
// the cap, read back in order.
func TestAddBatchesIsOneAddition(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	s, err := NewArrowStreamWith("s", idSchema, Options{MaxRowsPerTrigger: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tmp := NewArrowStream("tmp", idSchema)
	addRows(t, mem, tmp, 2, 2, 1)
	rr, err := tmp.GetBatch(ctx, nil, format(2))
	if err != nil {
		t.Fatal(err)
	}
	var bs []arrow.RecordBatch
	for rr.Next() {
		bs = append(bs, rr.RecordBatch())
	}
	if off, err := s.AddBatches(bs[0], bs[1]); err != nil || off != 0 {
		t.Fatalf("AddBatches: %d, %v", off, err)
	}
	if off, err := s.AddBatches(bs[2]); err != nil || off != 1 {
		t.Fatalf("AddBatches: %d, %v", off, err)
	}
	if off, err := s.AddBatches(); err != nil || off != 2 {
		t.Fatalf("empty AddBatches: %d, %v", off, err)
	}
	rr.Release()
	tmp.Close()
	other := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.BinaryTypes.String}}, nil)
	ob := array.NewRecordBatch(other, []arrow.Array{array.MakeArrayOfNull(mem, arrow.BinaryTypes.String, 1)}, 1)
	if _, err := s.AddBatches(ob); !errors.Is(err, sources.ErrSource) {
		t.Fatalf("schema mismatch: %v", err)
	}
	ob.Column(0).Release()
	ob.Release()
	// The first addition (4 rows) is over the cap of 3: a batch of its own.
	if got := batches(t, s); len(got) != 2 || got[0] != 4 || got[1] != 1 {
		t.Fatalf("batches %v, want [4 1]", got)
	}
}
