package fn

// Test helpers for the core operator tests (prefixed "core" so other test
// files of package fn can keep their own helpers).

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

var coreTSRe = regexp.MustCompile(`"(\d{4}-\d\d-\d\d[ T][0-9:.]+)"`)

// coreArr builds an array from JSON; slice "[1:3]"-style slicing is done by coreSlice.
func coreArr(t testing.TB, mem memory.Allocator, dt arrow.DataType, js string) arrow.Array {
	t.Helper()
	if dt.ID() == arrow.TIMESTAMP { // arrow wants an explicit zone for a zoned type
		js = coreTSRe.ReplaceAllString(js, `"${1}Z"`)
	}
	a, _, err := array.FromJSON(mem, dt, strings.NewReader(js))
	if err != nil {
		t.Fatalf("FromJSON(%s, %s): %v", dt, js, err)
	}
	return a
}

// coreSlice returns a[i:j] and releases a.
func coreSlice(a arrow.Array, i, j int) arrow.Array {
	s := array.NewSlice(a, int64(i), int64(j))
	a.Release()
	return s
}

// coreRows renders every row of arr with FormatValue (NULL for NULL).
func coreRows(arr arrow.Array) []string {
	out := make([]string, arr.Len())
	for i := range out {
		out[i] = expr.FormatValue(expr.ValueAt(arr, i), arr.DataType(), false)
	}
	return out
}

// coreLiteralsAsArrays makes coreCall build calls without NewScalarCall,
// so kernels get literal arguments as arrays (of the literal's cast type)
// instead of nil: kernels must accept both.
var coreLiteralsAsArrays bool

// coreCall binds fn name over args (Literals or BoundRefs into b) and
// evaluates it over b. It returns the result rendered per row, the result
// type, and the bind/eval error.
func coreCall(t testing.TB, mem memory.Allocator, name string, b arrow.RecordBatch, args ...expr.Expr) ([]string, arrow.DataType, error) {
	t.Helper()
	f, ok := Lookup(name)
	if !ok {
		t.Fatalf("function %q not registered", name)
	}
	bargs := make([]expr.Arg, len(args))
	for i, a := range args {
		tp := a.(expr.Typed)
		bargs[i] = expr.Arg{Type: tp.DataType(), Nullable: tp.Nullable()}
		if l, ok := a.(*expr.Literal); ok {
			bargs[i].Const = l
		}
	}
	bnd, err := f.Bind(bargs)
	if err != nil {
		return nil, nil, err
	}
	ec := expr.NewEvalContext(mem, time.Unix(0, 0))
	// Apply the requested casts the way the analyzer does: literals are
	// folded, columns wrapped in a Cast node.
	cargs := make([]expr.Expr, len(args))
	for i, a := range args {
		cargs[i] = a
		if i < len(bnd.Cast) && bnd.Cast[i] != nil && !arrow.TypeEqual(bnd.Cast[i], a.(expr.Typed).DataType()) {
			k, err := CastKernel(a.(expr.Typed).DataType(), bnd.Cast[i], true)
			if err != nil {
				t.Fatalf("%s: cast arg %d to %s: %v", name, i, bnd.Cast[i], err)
			}
			c := &expr.Cast{Child: a, To: bnd.Cast[i], Kernel: k, Try: true}
			cargs[i] = c
			if _, isLit := a.(*expr.Literal); isLit {
				lit, _, err := expr.FoldConstant(ec, c)
				if err != nil {
					t.Fatalf("fold %s: %v", c, err)
				}
				cargs[i] = lit
			}
		}
	}
	call := expr.NewScalarCall(f, cargs, bnd)
	if coreLiteralsAsArrays {
		call = &expr.ScalarCall{Fn: f, Args: cargs, Binding: bnd} // no const marks: literals arrive as arrays
	}
	out, err := call.Eval(ec, b)
	if err != nil {
		return nil, bnd.Type, err
	}
	defer out.Release()
	if out.Len() != int(b.NumRows()) {
		t.Fatalf("%s: %d rows out for %d in", name, out.Len(), b.NumRows())
	}
	if !arrow.TypeEqual(out.DataType(), bnd.Type) {
		t.Fatalf("%s: result type %s, binding said %s", name, out.DataType(), bnd.Type)
	}
	if v, ok := out.(interface{ ValidateFull() error }); ok {
		if err := v.ValidateFull(); err != nil {
			t.Fatalf("%s: invalid result array: %v", name, err)
		}
	}
	return coreRows(out), bnd.Type, nil
}

// coreBatch makes a record batch of the given columns (named c0, c1, ...),
// taking ownership of the arrays.
func coreBatch(cols ...arrow.Array) arrow.RecordBatch {
	fields := make([]arrow.Field, len(cols))
	n := 0
	for i, c := range cols {
		fields[i] = arrow.Field{Name: "c" + string(rune('0'+i)), Type: c.DataType(), Nullable: true}
		n = c.Len()
	}
	b := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return b
}

// coreRef references column i of a batch.
func coreRef(b arrow.RecordBatch, i int) *expr.BoundRef {
	return &expr.BoundRef{Index: i, Name: b.Schema().Field(i).Name, Type: b.Column(i).DataType(), Null: true}
}
