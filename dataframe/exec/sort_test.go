package exec

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// oracleCompare orders two non-NULL engine values of the same type the way
// Spark does (NaN largest, -0.0 = 0.0, bytes unsigned).
func oracleCompare(x, y any) int {
	switch a := x.(type) {
	case bool:
		b := y.(bool)
		switch {
		case a == b:
			return 0
		case !a:
			return -1
		}
		return 1
	case int8:
		return cmp.Compare(a, y.(int8))
	case int16:
		return cmp.Compare(a, y.(int16))
	case int32:
		return cmp.Compare(a, y.(int32))
	case int64:
		return cmp.Compare(a, y.(int64))
	case float32:
		return oracleFloat(float64(a), float64(y.(float32)))
	case float64:
		return oracleFloat(a, y.(float64))
	case string:
		return strings.Compare(a, y.(string))
	case []byte:
		return bytes.Compare(a, y.([]byte))
	case arrow.Date32:
		return cmp.Compare(a, y.(arrow.Date32))
	case arrow.Timestamp:
		return cmp.Compare(a, y.(arrow.Timestamp))
	case decimal128.Num:
		return a.Cmp(y.(decimal128.Num))
	}
	panic(fmt.Sprintf("oracleCompare: %T", x))
}

func oracleFloat(a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type oracleOrder struct {
	col              int
	desc, nullsFirst bool
}

// oracleSort is a stable row sort by orders: the reference for Sort and TopN.
func oracleSort(rows [][]any, orders []oracleOrder) [][]any {
	out := slices.Clone(rows)
	slices.SortStableFunc(out, func(a, b []any) int {
		for _, o := range orders {
			x, y := a[o.col], b[o.col]
			var c int
			switch {
			case x == nil && y == nil:
				c = 0
			case x == nil:
				c = 1
				if o.nullsFirst {
					c = -1
				}
			case y == nil:
				c = -1
				if o.nullsFirst {
					c = 1
				}
			default:
				c = oracleCompare(x, y)
				if o.desc {
					c = -c
				}
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	return out
}

func sortOrders(schema *arrow.Schema, os []oracleOrder) []*expr.SortOrder {
	out := make([]*expr.SortOrder, len(os))
	for i, o := range os {
		f := schema.Field(o.col)
		out[i] = &expr.SortOrder{Child: ref(schema, f.Name), Desc: o.desc, NullsFirst: o.nullsFirst}
	}
	return out
}

// randValue draws a value of dt from a small domain (so keys repeat), NULL
// with probability pNull, with NaN/-0.0/Inf for floats.
func randValue(r *rand.Rand, dt arrow.DataType, pNull float64) any {
	if r.Float64() < pNull {
		return nil
	}
	switch dt.ID() {
	case arrow.BOOL:
		return r.IntN(2) == 1
	case arrow.INT8:
		return int8(r.IntN(256) - 128)
	case arrow.INT16:
		return int16(r.IntN(40) - 20)
	case arrow.INT32:
		return int32(r.IntN(40) - 20)
	case arrow.INT64:
		if r.IntN(10) == 0 {
			return []int64{math.MinInt64, math.MaxInt64, 0, -1}[r.IntN(4)]
		}
		return int64(r.IntN(50) - 25)
	case arrow.FLOAT32:
		return float32(randFloat(r))
	case arrow.FLOAT64:
		return randFloat(r)
	case arrow.STRING:
		return randString(r)
	case arrow.BINARY:
		return []byte(randString(r))
	case arrow.DATE32:
		return arrow.Date32(r.IntN(40) - 20)
	case arrow.TIMESTAMP:
		return arrow.Timestamp(int64(r.IntN(40)-20) * 1_000_000)
	case arrow.DECIMAL128:
		return decimal128.FromI64(int64(r.IntN(40) - 20)).Mul(decimal128.FromI64(int64(1) << (r.IntN(2) * 62)))
	}
	panic(dt.String())
}

func randFloat(r *rand.Rand) float64 {
	switch r.IntN(12) {
	case 0:
		return math.NaN()
	case 1:
		return math.Copysign(0, -1)
	case 2:
		return math.Inf(1)
	case 3:
		return math.Inf(-1)
	}
	return float64(r.IntN(20)-10) / 2
}

func randString(r *rand.Rand) string {
	// Shared 8-byte prefixes, empty strings, high bytes, embedded zeros.
	parts := []string{"", "a", "ab", "abcdefgh", "abcdefghX", "abcdefghY", "abcdefgh\x00", "\xff", "b", "zz"}
	return parts[r.IntN(len(parts))]
}

var sortTypes = []arrow.DataType{
	arrow.FixedWidthTypes.Boolean, arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int16,
	arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float32,
	arrow.PrimitiveTypes.Float64, arrow.BinaryTypes.String, arrow.BinaryTypes.Binary,
	expr.Date, expr.Timestamp, &arrow.Decimal128Type{Precision: 38, Scale: 2},
}

// TestSortEveryType sorts a single key of each orderable type in all four
// direction/null combinations, over several partitions and batches, and
// checks the exact output (stability included: column 1 is the input
// position).
func TestSortEveryType(t *testing.T) {
	for _, dt := range sortTypes {
		for _, o := range []oracleOrder{{0, false, true}, {0, false, false}, {0, true, true}, {0, true, false}} {
			name := fmt.Sprintf("%s/desc=%v/nullsFirst=%v", expr.TypeName(dt), o.desc, o.nullsFirst)
			t.Run(name, func(t *testing.T) {
				mem := newMem()
				defer mem.AssertSize(t, 0)
				r := rand.New(rand.NewPCG(1, uint64(dt.ID())))
				schema := arrow.NewSchema([]arrow.Field{{Name: "k", Type: dt, Nullable: true}, {Name: "seq", Type: arrow.PrimitiveTypes.Int64}}, nil)
				for _, n := range []int{0, 1, 7, 300, 1000} {
					rows := make([][]any, n)
					for i := range rows {
						rows[i] = []any{randValue(r, dt, 0.1), int64(i)}
					}
					src := newBatchesOp(schema, splitRows(t, mem, schema, rows, 3, 50))
					// Input order is partition order: rebuild it for the oracle.
					var in [][]any
					for _, p := range src.parts {
						in = append(in, rowsOf(p)...)
					}
					got := run(t, mem, NewSort(src, sortOrders(schema, []oracleOrder{o})), 64)
					want := oracleSort(in, []oracleOrder{o})
					if !equalRows(got, want) {
						t.Errorf("n=%d:\ngot  %v\nwant %v", n, head(got), head(want))
					}
					src.release()
				}
			})
		}
	}
}

func head(rows [][]any) [][]any {
	if len(rows) > 20 {
		return rows[:20]
	}
	return rows
}

// TestSortMultiKeyRandom checks random multi-key orders against the oracle.
func TestSortMultiKeyRandom(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(7, 7))
	fields := []arrow.Field{
		{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "d", Type: &arrow.Decimal128Type{Precision: 38, Scale: 0}, Nullable: true},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "seq", Type: arrow.PrimitiveTypes.Int64},
	}
	schema := arrow.NewSchema(fields, nil)
	for iter := 0; iter < 40; iter++ {
		n := r.IntN(2000)
		rows := make([][]any, n)
		for i := range rows {
			rows[i] = make([]any, len(fields))
			for c := 0; c < len(fields)-1; c++ {
				rows[i][c] = randValue(r, fields[c].Type, 0.15)
			}
			rows[i][len(fields)-1] = int64(i)
		}
		var orders []oracleOrder
		for _, c := range r.Perm(len(fields) - 1)[:1+r.IntN(3)] {
			orders = append(orders, oracleOrder{col: c, desc: r.IntN(2) == 0, nullsFirst: r.IntN(2) == 0})
		}
		src := newBatchesOp(schema, splitRows(t, mem, schema, rows, 1+r.IntN(4), 1+r.IntN(300)))
		var in [][]any
		for _, p := range src.parts {
			in = append(in, rowsOf(p)...)
		}
		bs := 1 + r.IntN(500)
		got := run(t, mem, NewSort(src, sortOrders(schema, orders)), bs)
		want := oracleSort(in, orders)
		if !equalRows(got, want) {
			t.Fatalf("iter %d orders %+v n=%d:\ngot  %v\nwant %v", iter, orders, n, head(got), head(want))
		}
		src.release()
	}
}

// TestSortNaNAndZero pins Spark's float order explicitly.
func TestSortNaNAndZero(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil)
	nan, negz := math.NaN(), math.Copysign(0, -1)
	rows := [][]any{{nan}, {1.0}, {nil}, {math.Inf(1)}, {negz}, {math.Inf(-1)}, {0.0}, {-2.5}}
	src := newBatchesOp(schema, [][]arrow.RecordBatch{{mkBatch(t, mem, schema, rows)}})
	defer src.release()
	got := run(t, mem, NewSort(src, []*expr.SortOrder{expr.NewSortOrder(ref(schema, "f"), false)}), 0)
	want := [][]any{{nil}, {math.Inf(-1)}, {-2.5}, {negz}, {0.0}, {1.0}, {math.Inf(1)}, {nan}}
	if !equalRows(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if !math.Signbit(got[3][0].(float64)) {
		t.Errorf("-0.0 and 0.0 are equal keys: input order (-0.0 first) must be kept")
	}
	got = run(t, mem, NewSort(src, []*expr.SortOrder{expr.NewSortOrder(ref(schema, "f"), true)}), 0)
	want = [][]any{{nan}, {math.Inf(1)}, {1.0}, {negz}, {0.0}, {-2.5}, {math.Inf(-1)}, {nil}}
	if !equalRows(got, want) {
		t.Fatalf("desc: got %v, want %v", got, want)
	}
}

func TestSortErrors(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true}}, nil)
	src := newBatchesOp(schema, [][]arrow.RecordBatch{{mkBatch(t, mem, schema, [][]any{{[]any{int64(1)}}, {nil}})}})
	defer src.release()
	_, err := runErr(mem, NewSort(src, []*expr.SortOrder{expr.NewSortOrder(ref(schema, "l"), false)}), 0)
	if !errors.Is(err, ErrExec) || !strings.Contains(err.Error(), "array<bigint>") {
		t.Errorf("sort by a list: got %v, want ErrExec naming the type", err)
	}
	_, err = runErr(mem, NewSort(src, []*expr.SortOrder{expr.NewSortOrder(expr.Col("l"), false)}), 0)
	if !errors.Is(err, expr.ErrUnresolved) {
		t.Errorf("unresolved key: got %v", err)
	}
	// A failing child surfaces its error and leaks nothing.
	schema2 := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}}, nil)
	src2 := newBatchesOp(schema2, splitRows(t, mem, schema2, [][]any{{int64(1)}, {int64(2)}, {int64(3)}}, 2, 1))
	defer src2.release()
	src2.failAt = 2
	_, err = runErr(mem, NewSort(src2, []*expr.SortOrder{expr.NewSortOrder(ref(schema2, "a"), false)}), 0)
	if !errors.Is(err, errInjected) {
		t.Errorf("child failure: got %v", err)
	}
}

func TestSortCancelled(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}}, nil)
	src := newBatchesOp(schema, splitRows(t, mem, schema, [][]any{{int64(1)}, {int64(2)}}, 1, 1))
	defer src.release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tc := NewTaskContext(mem, time.Unix(0, 0))
	_, err := Collect(ctx, tc, NewSort(src, []*expr.SortOrder{expr.NewSortOrder(ref(schema, "a"), false)}))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestSortExplain(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "views", Type: arrow.PrimitiveTypes.Int64}}, nil)
	op := NewSort(newBatchesOp(schema, nil), []*expr.SortOrder{expr.NewSortOrder(ref(schema, "views"), true)})
	if got, want := op.String(), "Sort [views DESC NULLS LAST]"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func BenchmarkSortInt64(b *testing.B) {
	const n = 1 << 20
	mem := newMem()
	schema := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int64}, {Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	r := rand.New(rand.NewPCG(1, 2))
	parts := make([][]arrow.RecordBatch, 1)
	bldRows := make([][]any, 0, 64*1024)
	for i := 0; i < n; i++ {
		bldRows = append(bldRows, []any{r.Int64(), int64(i)})
		if len(bldRows) == cap(bldRows) {
			parts[0] = append(parts[0], mkBatch(b, mem, schema, bldRows))
			bldRows = bldRows[:0]
		}
	}
	src := newBatchesOp(schema, parts)
	defer src.release()
	op := NewSort(src, []*expr.SortOrder{expr.NewSortOrder(ref(schema, "k"), false)})
	tc := NewTaskContext(mem, time.Unix(0, 0))
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		err := Drain(context.Background(), tc, op, func(arrow.RecordBatch) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
	reportPerRow(b, n, cpu0)
}
