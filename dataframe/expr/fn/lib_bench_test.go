package fn

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

const libBenchRows = 64 * 1024

// libBenchKernel binds fn over one column (plus literal args) and runs its
// kernel over 64Ki rows per iteration.
func libBenchKernel(b *testing.B, fn string, col arrow.Array, lits ...*expr.Literal) {
	f, ok := Lookup(fn)
	if !ok {
		b.Fatalf("no %s", fn)
	}
	bargs := []expr.Arg{{Type: col.DataType(), Nullable: true}}
	for _, l := range lits {
		bargs = append(bargs, expr.Arg{Type: l.Type, Const: l})
	}
	bnd, err := f.Bind(bargs)
	if err != nil {
		b.Fatal(err)
	}
	args := make([]arrow.Array, len(bargs))
	args[0] = col
	for i := range lits {
		if !bnd.ConstArgs {
			a, err := expr.ConstArray(memory.DefaultAllocator, lits[i].Value, lits[i].Type, col.Len())
			if err != nil {
				b.Fatal(err)
			}
			defer a.Release()
			args[i+1] = a
		}
	}
	ec := expr.NewEvalContext(memory.DefaultAllocator, libNow)
	b.ReportAllocs()
	b.SetBytes(int64(col.Len()))
	b.ResetTimer()
	for range b.N {
		out, err := bnd.Kernel(ec, args, col.Len())
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
}

func libBenchStrings() arrow.Array {
	bld := array.NewStringBuilder(memory.DefaultAllocator)
	defer bld.Release()
	for i := range libBenchRows {
		bld.Append(fmt.Sprintf("User-%06d Clicked Button %d", i, i%97))
	}
	return bld.NewArray()
}

func libBenchTimestamps() arrow.Array {
	bld := array.NewTimestampBuilder(memory.DefaultAllocator, expr.Timestamp)
	defer bld.Release()
	base := libNow.UnixMicro()
	for i := range libBenchRows {
		bld.Append(arrow.Timestamp(base + int64(i)*1_234_567))
	}
	return bld.NewArray()
}

func BenchmarkLower(b *testing.B) {
	col := libBenchStrings()
	defer col.Release()
	libBenchKernel(b, "lower", col)
}

func BenchmarkSubstring(b *testing.B) {
	col := libBenchStrings()
	defer col.Release()
	libBenchKernel(b, "substring", col, libI(6), libI(6))
}

func BenchmarkDateTruncMinute(b *testing.B) {
	col := libBenchTimestamps()
	defer col.Release()
	// date_trunc takes the unit first: bind with the literal in position 0.
	f, _ := Lookup("date_trunc")
	bnd, err := f.Bind([]expr.Arg{{Type: expr.String, Const: libS("minute")}, {Type: expr.Timestamp, Nullable: true}})
	if err != nil {
		b.Fatal(err)
	}
	ec := expr.NewEvalContext(memory.DefaultAllocator, libNow)
	args := []arrow.Array{nil, col}
	b.ReportAllocs()
	b.SetBytes(int64(col.Len()))
	b.ResetTimer()
	for range b.N {
		out, err := bnd.Kernel(ec, args, col.Len())
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
}

func BenchmarkHour(b *testing.B) {
	col := libBenchTimestamps()
	defer col.Release()
	libBenchKernel(b, "hour", col)
}

func BenchmarkHash(b *testing.B) {
	for _, tc := range []struct {
		name string
		col  func() arrow.Array
	}{
		{"int64", func() arrow.Array {
			bld := array.NewInt64Builder(memory.DefaultAllocator)
			defer bld.Release()
			for i := range libBenchRows {
				bld.Append(int64(i) * 7919)
			}
			return bld.NewArray()
		}},
		{"string", libBenchStrings},
	} {
		b.Run(tc.name, func(b *testing.B) {
			col := tc.col()
			defer col.Release()
			libBenchKernel(b, "hash", col)
		})
	}
}
