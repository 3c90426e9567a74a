package hashtab

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Test data: random columns over small domains (so keys repeat), with
// NULLs, float edge values, and arrays that are slices of larger ones.

var dictStringType = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

type genOpts struct {
	card     int     // distinct non-NULL values
	nullProb float64 // chance of NULL per row
}

// genArray makes n rows of type dt; the result is usually a slice of a
// larger array (offset != 0).
func genArray(t testing.TB, mem memory.Allocator, rng *rand.Rand, dt arrow.DataType, n int, o genOpts) arrow.Array {
	t.Helper()
	pre := 0
	if rng.IntN(3) > 0 {
		pre = rng.IntN(70)
	}
	post := rng.IntN(5)
	total := pre + n + post
	var full arrow.Array
	if d, ok := dt.(*arrow.DictionaryType); ok {
		full = genDict(mem, rng, d, total, o)
	} else {
		bld := array.NewBuilder(mem, dt)
		for range total {
			appendRandom(bld, rng, o)
		}
		full = bld.NewArray()
		bld.Release()
	}
	if pre == 0 && post == 0 {
		return full
	}
	defer full.Release()
	return array.NewSlice(full, int64(pre), int64(pre+n))
}

func word(k int) string {
	if k == 0 {
		return ""
	}
	return "w" + strconv.Itoa(k*7919%100003) + strings.Repeat("x", k%23)
}

var floatEdges = []float64{0, math.Copysign(0, -1), math.NaN(), math.Float64frombits(0x7ff8000000000001), math.Float64frombits(0xfff8000000000000), math.Inf(1), math.Inf(-1), 1.5, -2.25}

func appendRandom(bld array.Builder, rng *rand.Rand, o genOpts) {
	if rng.Float64() < o.nullProb {
		bld.AppendNull()
		return
	}
	k := rng.IntN(max(o.card, 1))
	switch b := bld.(type) {
	case *array.Int64Builder:
		b.Append(int64(k)*1_000_003 - 7)
	case *array.Int32Builder:
		b.Append(int32(k) - 3)
	case *array.Int16Builder:
		b.Append(int16(k) - 3)
	case *array.Uint8Builder:
		b.Append(uint8(k))
	case *array.Uint64Builder:
		b.Append(math.MaxUint64 - uint64(k))
	case *array.BooleanBuilder:
		b.Append(k%2 == 0)
	case *array.Date32Builder:
		b.Append(arrow.Date32(18000 + k))
	case *array.TimestampBuilder:
		b.Append(arrow.Timestamp(1_700_000_000_000 + int64(k)*300_000))
	case *array.Float64Builder:
		if k < len(floatEdges) {
			b.Append(floatEdges[k])
		} else {
			b.Append(float64(k) / 4)
		}
	case *array.Float32Builder:
		if k < len(floatEdges) {
			b.Append(float32(floatEdges[k]))
		} else {
			b.Append(float32(k) / 4)
		}
	case *array.StringBuilder:
		b.Append(word(k))
	case *array.LargeStringBuilder:
		b.Append(word(k))
	case *array.BinaryBuilder:
		b.Append([]byte(word(k)))
	case *array.Decimal128Builder:
		b.Append(decimal128.New(int64(k%3)-1, uint64(k)*12345))
	case *array.StructBuilder:
		b.Append(true)
		for f := 0; f < b.NumField(); f++ {
			appendRandom(b.FieldBuilder(f), rng, genOpts{card: 3, nullProb: o.nullProb})
		}
	case *array.ListBuilder:
		b.Append(true)
		for range k % 4 {
			appendRandom(b.ValueBuilder(), rng, genOpts{card: 3, nullProb: o.nullProb})
		}
	case *array.LargeListBuilder:
		b.Append(true)
		for range k % 3 {
			appendRandom(b.ValueBuilder(), rng, genOpts{card: 3, nullProb: o.nullProb})
		}
	case *array.FixedSizeListBuilder:
		b.Append(true)
		for range b.Type().(*arrow.FixedSizeListType).Len() {
			appendRandom(b.ValueBuilder(), rng, genOpts{card: 2, nullProb: o.nullProb})
		}
	case *array.MapBuilder:
		b.Append(true)
		for j := range k % 3 {
			appendRandom(b.KeyBuilder(), rng, genOpts{card: 1 + j})
			appendRandom(b.ItemBuilder(), rng, genOpts{card: 2, nullProb: o.nullProb})
		}
	case *array.NullBuilder:
		b.AppendNull()
	case *array.BinaryDictionaryBuilder:
		if err := b.AppendString(word(k)); err != nil {
			panic(err)
		}
	case *array.Int8Builder:
		b.Append(int8(k) - 2)
	case *array.Uint16Builder:
		b.Append(uint16(k) * 1000)
	case *array.Date64Builder:
		b.Append(arrow.Date64(int64(k) * 86_400_000))
	case *array.Time32Builder:
		b.Append(arrow.Time32(k))
	case *array.DurationBuilder:
		b.Append(arrow.Duration(-k))
	case *array.Float16Builder:
		b.Append(float16.New(float32(k) / 4))
	case *array.FixedSizeBinaryBuilder:
		w := b.Type().(*arrow.FixedSizeBinaryType).ByteWidth
		v := make([]byte, w)
		v[k%w] = byte(k)
		b.Append(v)
	case *array.Decimal256Builder:
		b.Append(decimal256.New(uint64(k%2), 0, 7, uint64(k)))
	case *array.StringViewBuilder:
		b.Append(word(k) + strings.Repeat("long", k%5))
	case *array.BinaryViewBuilder:
		b.Append([]byte(word(k)))
	case *array.MonthDayNanoIntervalBuilder:
		b.Append(arrow.MonthDayNanoInterval{Months: int32(k % 2), Days: int32(k % 3), Nanoseconds: int64(k)})
	case *array.DayTimeIntervalBuilder:
		b.Append(arrow.DayTimeInterval{Days: int32(k % 2), Milliseconds: int32(k)})
	default:
		panic(fmt.Sprintf("genArray: no generator for %T", bld))
	}
}

// genDict makes a dictionary array whose dictionary is a random selection
// of the domain in random order, with duplicates and sometimes a NULL value,
// so that two batches encode the same string with different indices.
func genDict(mem memory.Allocator, rng *rand.Rand, dt *arrow.DictionaryType, n int, o genOpts) arrow.Array {
	db := array.NewBuilder(mem, dt.ValueType).(*array.StringBuilder)
	defer db.Release()
	size := 1 + rng.IntN(max(o.card, 1)+3)
	for range size {
		if rng.IntN(20) == 0 {
			db.AppendNull()
		} else {
			db.Append(word(rng.IntN(max(o.card, 1))))
		}
	}
	dict := db.NewArray()
	defer dict.Release()
	ib := array.NewInt32Builder(mem)
	defer ib.Release()
	for range n {
		if rng.Float64() < o.nullProb {
			ib.AppendNull()
		} else {
			ib.Append(int32(rng.IntN(size)))
		}
	}
	idx := ib.NewArray()
	defer idx.Release()
	return array.NewDictionaryArray(dt, idx, dict)
}

// oracleKey renders row i of arr as a string that is equal for equal keys
// under GROUP BY semantics, written independently of the package.
func oracleKey(arr arrow.Array, i int) string {
	if d, ok := arr.(*array.Dictionary); ok {
		if d.IsNull(i) {
			return "N"
		}
		return oracleKey(d.Dictionary(), d.GetValueIndex(i))
	}
	if arr.IsNull(i) {
		return "N"
	}
	canon := func(f float64) string {
		switch {
		case math.IsNaN(f):
			return "NaN"
		case f == 0:
			return "0"
		}
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	switch a := arr.(type) {
	case *array.Float64:
		return "F" + canon(a.Value(i))
	case *array.Float32:
		return "F" + canon(float64(a.Value(i)))
	case *array.String:
		return "S" + strconv.Quote(a.Value(i))
	case *array.LargeString:
		return "S" + strconv.Quote(a.Value(i))
	case *array.Binary:
		return "B" + strconv.Quote(string(a.Value(i)))
	case *array.Decimal128:
		v := a.Value(i)
		return fmt.Sprintf("D%d:%d", v.HighBits(), v.LowBits())
	case *array.Decimal256:
		return fmt.Sprintf("D%v", a.Value(i).Array())
	case *array.Struct:
		parts := make([]string, a.NumField())
		for f := range parts {
			parts[f] = oracleKey(a.Field(f), i)
		}
		return "{" + strings.Join(parts, ",") + "}"
	case array.ListLike: // list, large list, fixed-size list, map
		s, e := a.ValueOffsets(i)
		var parts []string
		for j := s; j < e; j++ {
			parts = append(parts, oracleKey(a.ListValues(), int(j)))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return "V" + arr.ValueStr(i)
}

func rowKey(cols []arrow.Array, i int) string {
	parts := make([]string, len(cols))
	for c, col := range cols {
		parts[c] = oracleKey(col, i)
	}
	return strings.Join(parts, "|")
}

func releaseAll(arrs []arrow.Array) {
	for _, a := range arrs {
		if a != nil {
			a.Release()
		}
	}
}
