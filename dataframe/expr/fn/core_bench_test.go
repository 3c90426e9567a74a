package fn

// Benchmarks for the hot operators of the clicks job:
//   ts % 300000, ts - ts % 300000, event_type = 'view'
// over 64Ki rows. Run on one core: taskset -c 0 go test -bench Core -cpu 1.

import (
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

const coreBenchRows = 64 * 1024

// coreBind resolves fn over already-typed arguments (no casts needed).
func coreBind(tb testing.TB, name string, args ...expr.Expr) *expr.ScalarCall {
	tb.Helper()
	f, ok := Lookup(name)
	if !ok {
		tb.Fatalf("no function %q", name)
	}
	bargs := make([]expr.Arg, len(args))
	for i, a := range args {
		t := a.(expr.Typed)
		bargs[i] = expr.Arg{Type: t.DataType(), Nullable: t.Nullable()}
		if l, ok := a.(*expr.Literal); ok {
			bargs[i].Const = l
		}
	}
	bnd, err := f.Bind(bargs)
	if err != nil {
		tb.Fatal(err)
	}
	for i, c := range bnd.Cast {
		if c != nil && !arrow.TypeEqual(c, bargs[i].Type) {
			tb.Fatalf("%s: benchmark arguments need a cast of arg %d to %s", name, i, c)
		}
	}
	return expr.NewScalarCall(f, args, bnd)
}

// clicksBatch makes ts (bigint ms) and event_type (string or dictionary) columns.
func clicksBatch(mem memory.Allocator, dict bool) arrow.RecordBatch {
	ts := array.NewInt64Builder(mem)
	defer ts.Release()
	types := []string{"view", "click", "purchase"}
	var et array.Builder
	if dict {
		et = array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: expr.String})
	} else {
		et = array.NewStringBuilder(mem)
	}
	defer et.Release()
	x := uint64(42)
	for i := 0; i < coreBenchRows; i++ {
		x += 0x9E3779B97F4A7C15
		z := (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		z ^= z >> 31
		ts.Append(1_700_000_000_000 + int64(i)*360 - int64(z%1000))
		s := types[[]int{0, 0, 0, 0, 0, 0, 1, 1, 1, 2}[z%10]]
		if dict {
			_ = et.(*array.BinaryDictionaryBuilder).AppendString(s)
		} else {
			et.(*array.StringBuilder).Append(s)
		}
	}
	tsA, etA := ts.NewArray(), et.NewArray()
	return coreBatch(tsA, etA)
}

// runCoreBench reports wall ns/row and process CPU ns/row; on a shared,
// loaded machine the CPU figure is the one to quote.
func runCoreBench(b *testing.B, e expr.Typed, batch arrow.RecordBatch) {
	ec := expr.NewEvalContext(memory.NewGoAllocator(), time.Time{})
	b.ResetTimer()
	cpu0 := coreCPUTime()
	for i := 0; i < b.N; i++ {
		out, err := e.Eval(ec, batch)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
	cpu := coreCPUTime() - cpu0
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/coreBenchRows, "ns/row")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/coreBenchRows, "cpu-ns/row")
}

func BenchmarkCoreInt64ModConst(b *testing.B) {
	batch := clicksBatch(memory.NewGoAllocator(), false)
	defer batch.Release()
	runCoreBench(b, coreBind(b, "%", coreRef(batch, 0), expr.Lit(int64(300000))), batch)
}

func BenchmarkCoreInt64MinusModConst(b *testing.B) {
	batch := clicksBatch(memory.NewGoAllocator(), false)
	defer batch.Release()
	ts := coreRef(batch, 0)
	runCoreBench(b, coreBind(b, "-", ts, coreBind(b, "%", ts, expr.Lit(int64(300000)))), batch)
}

func BenchmarkCoreStringEqConst(b *testing.B) {
	batch := clicksBatch(memory.NewGoAllocator(), false)
	defer batch.Release()
	runCoreBench(b, coreBind(b, "=", coreRef(batch, 1), expr.Lit("view")), batch)
}

func BenchmarkCoreDictStringEqConst(b *testing.B) {
	batch := clicksBatch(memory.NewGoAllocator(), true)
	defer batch.Release()
	runCoreBench(b, coreBind(b, "=", coreRef(batch, 1), expr.Lit("view")), batch)
}

func BenchmarkCoreInt64LtConst(b *testing.B) {
	batch := clicksBatch(memory.NewGoAllocator(), false)
	defer batch.Release()
	runCoreBench(b, coreBind(b, "<", coreRef(batch, 0), expr.Lit(int64(1_700_000_010_000))), batch)
}

// TestCoreBenchShapes checks the benchmark expressions compute the right thing.
func TestCoreBenchShapes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	batch := clicksBatch(mem, false)
	defer batch.Release()
	ts := coreRef(batch, 0)
	e := coreBind(t, "-", ts, coreBind(t, "%", ts, expr.Lit(int64(300000))))
	out, err := e.Eval(expr.NewEvalContext(mem, time.Time{}), batch)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	in := batch.Column(0).(*array.Int64)
	for i := 0; i < out.Len(); i++ {
		if got, want := out.(*array.Int64).Value(i), in.Value(i)-in.Value(i)%300000; got != want {
			t.Fatalf("row %d: %d want %d", i, got, want)
		}
	}
	for _, dict := range []bool{false, true} {
		b2 := clicksBatch(mem, dict)
		eq, err := coreBind(t, "=", coreRef(b2, 1), expr.Lit("view")).Eval(expr.NewEvalContext(mem, time.Time{}), b2)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < eq.Len(); i++ {
			if got, want := eq.(*array.Boolean).Value(i), expr.ValueAt(b2.Column(1), i) == "view"; got != want {
				t.Fatalf("dict=%v row %d: %v want %v", dict, i, got, want)
			}
		}
		eq.Release()
		b2.Release()
	}
}

func BenchmarkCoreCaseWhen(b *testing.B) {
	batch := clicksBatch(memory.NewGoAllocator(), false)
	defer batch.Release()
	cond := coreBind(b, "=", coreRef(batch, 1), expr.Lit("view"))
	runCoreBench(b, coreBind(b, "casewhen", cond, coreRef(batch, 0), expr.Lit(int64(0))), batch)
}
