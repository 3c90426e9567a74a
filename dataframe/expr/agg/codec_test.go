package agg

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// codecType exercises every branch of the codec.
var codecType = arrow.StructOf(
	arrow.Field{Name: "i", Type: expr.Int64, Nullable: true},
	arrow.Field{Name: "s", Type: expr.String, Nullable: true},
	arrow.Field{Name: "l", Type: arrow.ListOf(expr.Float64), Nullable: true},
	arrow.Field{Name: "m", Type: arrow.MapOf(expr.String, expr.Boolean), Nullable: true},
	arrow.Field{Name: "d", Type: dec(12, 3), Nullable: true},
	arrow.Field{Name: "t", Type: expr.Timestamp, Nullable: true},
	arrow.Field{Name: "b", Type: expr.Binary, Nullable: true},
	arrow.Field{Name: "iv", Type: expr.Interval, Nullable: true},
	arrow.Field{Name: "ll", Type: arrow.LargeListOf(expr.Int8), Nullable: true},
)

const codecRows = `[
	{"i": 1, "s": "x", "l": [1.5, null, -0.0], "m": [{"key": "a", "value": true}], "d": "1.250", "t": 5, "b": "AAE=", "iv": {"months": 1, "days": 2, "nanoseconds": 3}, "ll": [1, 2]},
	{"i": null, "s": "", "l": [], "m": [], "d": null, "t": null, "b": "", "iv": null, "ll": null},
	null,
	{"i": -9, "s": null, "l": null, "m": null, "d": "-0.001", "t": -1, "b": null, "iv": {"months": 0, "days": 0, "nanoseconds": 0}, "ll": []}
]`

func TestCodecRoundTrip(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	in := fromJSON(t, mem, codecType, codecRows)
	defer in.Release()
	bld := array.NewBuilder(mem, codecType)
	defer bld.Release()
	var enc []byte
	for i := 0; i < in.Len(); i++ {
		enc = encodeRow(enc[:0], in, i, false)
		rest, err := decodeRow(enc, bld)
		if err != nil || len(rest) != 0 {
			t.Fatalf("row %d: %v, %d bytes left", i, err, len(rest))
		}
	}
	out := bld.NewArray()
	defer out.Release()
	if !array.Equal(in, out) {
		t.Fatalf("round trip:\n got %s\nwant %s", out, in)
	}
	// Sliced input encodes the same rows.
	sl := array.NewSlice(in, 1, 3)
	defer sl.Release()
	if !bytes.Equal(encodeRow(nil, sl, 0, false), encodeRow(nil, in, 1, false)) {
		t.Fatal("sliced struct row encodes differently")
	}
}

func TestCodecNormalises(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	a := fromJSON(t, mem, arrow.ListOf(expr.Float64), `[[0.0, "NaN"], [-0.0, "NaN"]]`)
	defer a.Release()
	if bytes.Equal(encodeRow(nil, a, 0, false), encodeRow(nil, a, 1, false)) {
		t.Fatal("-0.0 and 0.0 must differ without normalisation")
	}
	if !bytes.Equal(encodeRow(nil, a, 0, true), encodeRow(nil, a, 1, true)) {
		t.Fatal("normalised encodings must be equal")
	}
}

func TestCodecCorruptInput(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	in := fromJSON(t, mem, codecType, codecRows)
	defer in.Release()
	enc := encodeRow(nil, in, 0, false)
	for cut := 0; cut < len(enc); cut++ {
		bld := array.NewBuilder(mem, codecType)
		if _, err := decodeRow(enc[:cut], bld); !errors.Is(err, expr.ErrType) || !strings.Contains(err.Error(), "corrupt") {
			t.Fatalf("truncated at %d: %v", cut, err)
		}
		bld.Release()
	}
}

// FuzzDecodeRow: arbitrary bytes never panic the decoder.
func FuzzDecodeRow(f *testing.F) {
	mem := memory.NewGoAllocator()
	in, _, err := array.FromJSON(mem, codecType, strings.NewReader(codecRows))
	if err != nil {
		f.Fatal(err)
	}
	for i := 0; i < in.Len(); i++ {
		f.Add(encodeRow(nil, in, i, false))
	}
	f.Add([]byte{1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		bld := array.NewBuilder(mem, codecType)
		defer bld.Release()
		for len(data) > 0 {
			var err error
			if data, err = decodeRow(data, bld); err != nil {
				return
			}
		}
	})
}

// FuzzHLLMerge: arbitrary binary state is rejected or merged, never a panic.
func FuzzHLLMerge(f *testing.F) {
	mem := memory.NewGoAllocator()
	b, err := approxCountDistinctFunc.Bind([]expr.Arg{{Type: expr.Int64}}, false)
	if err != nil {
		f.Fatal(err)
	}
	good := append([]byte{hllVersion, 9}, make([]byte, 512)...)
	good[100] = 70
	f.Add(good)
	f.Add([]byte{1, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		acc := b.New(mem)
		defer acc.Release()
		acc.Resize(1)
		bb := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
		bb.Append(data)
		st := bb.NewArray()
		bb.Release()
		defer st.Release()
		_ = acc.MergeState([]arrow.Array{st}, []uint32{0})
		r, err := acc.Result(mem, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Release()
	})
}
