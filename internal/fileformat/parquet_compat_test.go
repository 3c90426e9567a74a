package fileformat

import (
	"bytes"
	"context"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// compatRow exercises encodings and annotations our own writer never
// produces: millis/nanos timestamps, INT96, unsigned ints, byte-array
// decimals, delta encodings, plain strings, byte-stream-split doubles and
// legacy bare repeated fields.
type compatRow struct {
	TsMs   int64            `parquet:"ts_ms,timestamp(millisecond)"`
	TsNs   int64            `parquet:"ts_ns,timestamp(nanosecond)"`
	I96    deprecated.Int96 `parquet:"i96"`
	U8     uint8            `parquet:"u8,uint(8)"`
	U32    uint32           `parquet:"u32,uint(32)"`
	U64    uint64           `parquet:"u64,uint(64)"`
	DecB   []byte           `parquet:"dec_b,decimal(2:20)"`
	Delta  int64            `parquet:"delta,delta"`
	PlainS string           `parquet:"plain_s"`
	DeltaS string           `parquet:"delta_s,delta"`
	Opt    *int64           `parquet:"opt,optional"`
	Rep    []int32          `parquet:"rep"`
	Split  float64          `parquet:"split,split"`
}

func pqInt96Of(us int64) deprecated.Int96 {
	const day = 86_400_000_000
	d := pqFloorDiv(us, day)
	nanos := uint64((us - d*day) * 1000)
	return deprecated.Int96{uint32(nanos), uint32(nanos >> 32), uint32(d + 2440588)}
}

// pqBigEndianBytes is v as 9-byte big-endian two's complement (the width
// parquet-go gives decimal(20)).
func pqBigEndianBytes(v int64) []byte {
	x := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 72), big.NewInt(v))
	b := x.Bytes()
	out := make([]byte, 9)
	copy(out[9-min(9, len(b)):], b[max(0, len(b)-9):])
	return out
}

func TestParquetReadsForeignEncodings(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const n = 3000
	rows := make([]compatRow, n)
	for i := range rows {
		us := int64(i-1500) * 1_234_567_891
		v := int64(i * 3)
		rows[i] = compatRow{
			TsMs: us / 1000, TsNs: us * 1000, I96: pqInt96Of(us),
			U8: uint8(i), U32: uint32(4_000_000_000 + i), U64: uint64(1<<63) + uint64(i),
			DecB: pqBigEndianBytes(int64(i-1500) * 1001), Delta: int64(i) * 7, PlainS: string(rune('a' + i%26)),
			DeltaS: "prefix-" + string(rune('a'+i%26)), Rep: make([]int32, i%4), Split: float64(i) / 8,
		}
		if i%3 == 0 {
			rows[i].Opt = &v
		}
		for j := range rows[i].Rep {
			rows[i].Rep[j] = int32(i + j)
		}
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[compatRow](&buf, parquet.MaxRowsPerRowGroup(1000), parquet.PageBufferSize(4096))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "compat.parquet")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	schema, err := Parquet{}.Infer(context.Background(), path, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantTypes := map[string]string{
		"ts_ms": "timestamp", "ts_ns": "timestamp", "i96": "timestamp", "u8": "smallint", "u32": "bigint",
		"u64": "decimal(20,0)", "dec_b": "decimal(20,2)", "delta": "bigint", "plain_s": "string",
		"delta_s": "string", "opt": "bigint", "rep": "array<int>", "split": "double",
	}
	for _, f := range schema.Fields() {
		if got := pqTypeName(f.Type); got != wantTypes[f.Name] {
			t.Errorf("column %s: inferred %s, want %s", f.Name, got, wantTypes[f.Name])
		}
	}
	got, _ := pqReadAll(t, mem, path, ReadOptions{BatchSize: 700})
	defer got.Release()
	if got.NumRows() != n {
		t.Fatalf("%d rows", got.NumRows())
	}
	col := func(name string) arrow.Array { return got.Column(got.Schema().FieldIndices(name)[0]) }
	tsMs, tsNs, i96 := col("ts_ms").(*array.Timestamp), col("ts_ns").(*array.Timestamp), col("i96").(*array.Timestamp)
	u8, u32, u64 := col("u8").(*array.Int16), col("u32").(*array.Int64), col("u64").(*array.Decimal128)
	decB, delta, opt := col("dec_b").(*array.Decimal128), col("delta").(*array.Int64), col("opt").(*array.Int64)
	plainS, deltaS, rep, split := col("plain_s").(*array.String), col("delta_s").(*array.String), col("rep").(*array.List), col("split").(*array.Float64)
	repVals := rep.ListValues().(*array.Int32)
	for i := 0; i < n; i++ {
		us := int64(i-1500) * 1_234_567_891
		if g := int64(tsMs.Value(i)); g != pqFloorDiv(us, 1000)*1000 && g != (us/1000)*1000 {
			t.Fatalf("row %d ts_ms %d want %d", i, g, (us/1000)*1000)
		}
		if g := int64(tsNs.Value(i)); g != us {
			t.Fatalf("row %d ts_ns %d want %d", i, g, us)
		}
		if g := int64(i96.Value(i)); g != us {
			t.Fatalf("row %d i96 %d want %d", i, g, us)
		}
		if u8.Value(i) != int16(uint8(i)) || u32.Value(i) != int64(4_000_000_000+i) {
			t.Fatalf("row %d unsigned %d %d", i, u8.Value(i), u32.Value(i))
		}
		if g := u64.Value(i); g.HighBits() != 0 || g.LowBits() != uint64(1<<63)+uint64(i) {
			t.Fatalf("row %d u64 %v", i, g)
		}
		if g := decB.Value(i); g.ToString(2) != pqBigDecString(int64(i-1500)*1001, 2) {
			t.Fatalf("row %d dec_b %s want %s", i, g.ToString(2), pqBigDecString(int64(i-1500)*1001, 2))
		}
		if delta.Value(i) != int64(i)*7 || plainS.Value(i) != string(rune('a'+i%26)) || deltaS.Value(i) != "prefix-"+string(rune('a'+i%26)) {
			t.Fatalf("row %d delta/plain", i)
		}
		if (i%3 == 0) != opt.IsValid(i) || (i%3 == 0 && opt.Value(i) != int64(i*3)) {
			t.Fatalf("row %d opt", i)
		}
		s, e := rep.ValueOffsets(i)
		if int(e-s) != i%4 || rep.IsNull(i) {
			t.Fatalf("row %d rep has %d elements", i, e-s)
		}
		for j := s; j < e; j++ {
			if repVals.Value(int(j)) != int32(i+int(j-s)) {
				t.Fatalf("row %d rep[%d]", i, j-s)
			}
		}
		if split.Value(i) != float64(i)/8 {
			t.Fatalf("row %d split", i)
		}
	}
}

func pqBigDecString(unscaled int64, scale int) string {
	r := new(big.Rat).SetFrac(big.NewInt(unscaled), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	return r.FloatString(scale)
}

func pqTypeName(dt arrow.DataType) string {
	return expr.TypeName(dt)
}

// TestParquetReadsPeersFile checks a file written by arrow's pqarrow
// (dictionary pages with plain fallback, snappy) against the generator's
// formula. It skips when the peers data is absent.
func TestParquetReadsPeersFile(t *testing.T) {
	path := "/work/peers/data/events_1M.parquet"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not present", path)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r, err := Parquet{}.Open(context.Background(), path, ReadOptions{Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	const n = 1_000_000
	names := [3]string{"view", "click", "purchase"}
	row := int64(0)
	for {
		b, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		u := b.Column(0).(*array.Int64).Int64Values()
		ts := b.Column(1).(*array.Int64).Int64Values()
		et := b.Column(2).(*array.String)
		for i := range u {
			wu, wts, wty := pqPeersEvent(row, n)
			if u[i] != wu || ts[i] != wts || et.Value(i) != names[wty] {
				b.Release()
				t.Fatalf("row %d: got (%d, %d, %s), want (%d, %d, %s)", row, u[i], ts[i], et.Value(i), wu, wts, names[wty])
			}
			row++
		}
		b.Release()
	}
	if row != n {
		t.Fatalf("read %d rows, want %d", row, n)
	}
}

// pqPeersEvent is the generator in /work/peers/events (splitmix64).
func pqPeersEvent(i, n int64) (user, ts int64, typ int) {
	mix := func(x uint64) uint64 {
		x ^= x >> 30
		x *= 0xbf58476d1ce4e5b9
		x ^= x >> 27
		x *= 0x94d049bb133111eb
		x ^= x >> 31
		return x
	}
	seed := uint64(0x5eed)
	base := seed*0x9e3779b97f4a7c15 + uint64(i)*3
	user = int64(mix(base) % 100000)
	ts = 1_700_000_000_000 + i*3_600_000/n - int64(mix(base+1)%1000)
	typ = int(mix(base+2) % 3)
	return
}
