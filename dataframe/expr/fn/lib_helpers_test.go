package fn

// Test helpers for the library function tests (string, math, temporal, hash,
// collection), prefixed "lib" to stay apart from other test files.

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// libCol is a column argument given as JSON; Lo/Hi (when Hi > 0) slice it so
// kernels see a non-zero offset.
type libCol struct {
	T      arrow.DataType
	JS     string
	Lo, Hi int
}

// libTSJSON turns ["2024-01-02 03:04:05.5", null] into microsecond numbers.
func libTSJSON(t testing.TB, js string) string {
	var in []*string
	if err := json.Unmarshal([]byte(js), &in); err != nil {
		t.Fatalf("timestamp JSON %s: %v", js, err)
	}
	out := make([]string, len(in))
	for i, s := range in {
		if s == nil {
			out[i] = "null"
			continue
		}
		tm, err := time.Parse("2006-01-02 15:04:05.999999", *s)
		if err != nil {
			t.Fatalf("timestamp %q: %v", *s, err)
		}
		out[i] = strconv.FormatInt(tm.UnixMicro(), 10)
	}
	return "[" + strings.Join(out, ",") + "]"
}

// libNow is the EvalContext.Now of every library test.
var libNow = time.Date(2024, 2, 29, 13, 45, 30, 123456000, time.UTC)

// libRun binds fn over args (libCol or *expr.Literal) and evaluates it. rows
// is the row count when every argument is a literal. The result is rendered
// per row in display form; casts the binding asks for are applied as the
// analyzer does (literals folded, columns wrapped).
func libRun(t testing.TB, mem memory.Allocator, fn string, rows int, args ...any) ([]string, arrow.DataType, error) {
	t.Helper()
	f, ok := Lookup(fn)
	if !ok {
		t.Fatalf("function %q not registered", fn)
	}
	var cols []arrow.Array
	var fields []arrow.Field
	exprs := make([]expr.Expr, len(args))
	bargs := make([]expr.Arg, len(args))
	for i, a := range args {
		switch x := a.(type) {
		case *expr.Literal:
			exprs[i] = x
			bargs[i] = expr.Arg{Type: x.Type, Nullable: x.Value == nil, Const: x}
		case libCol:
			js := x.JS
			if x.T.ID() == arrow.TIMESTAMP {
				js = libTSJSON(t, js)
			}
			arr, _, err := array.FromJSON(mem, x.T, strings.NewReader(js))
			if err != nil {
				t.Fatalf("%s: FromJSON(%s, %s): %v", fn, x.T, x.JS, err)
			}
			if x.Hi > 0 {
				s := array.NewSlice(arr, int64(x.Lo), int64(x.Hi))
				arr.Release()
				arr = s
			}
			defer arr.Release()
			rows = arr.Len()
			exprs[i] = &expr.BoundRef{Index: len(cols), Name: "c" + string(rune('0'+len(cols))), Type: x.T, Null: true}
			fields = append(fields, arrow.Field{Name: "c", Type: x.T, Nullable: true})
			cols = append(cols, arr)
			bargs[i] = expr.Arg{Type: x.T, Nullable: true}
		default:
			t.Fatalf("libRun: bad argument %T", a)
		}
	}
	b := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(rows))
	defer b.Release()
	bnd, err := f.Bind(bargs)
	if err != nil {
		return nil, nil, err
	}
	ec := expr.NewEvalContext(mem, libNow)
	call := expr.NewScalarCall(f, append([]expr.Expr(nil), exprs...), bnd)
	for i := range exprs {
		if i >= len(bnd.Cast) || bnd.Cast[i] == nil || arrow.TypeEqual(bnd.Cast[i], bargs[i].Type) {
			continue
		}
		if _, isLit := exprs[i].(*expr.Literal); isLit && bnd.ConstArgs {
			continue // the kernel uses the constant it captured
		}
		k, err := CastKernel(bargs[i].Type, bnd.Cast[i], true)
		if err != nil {
			t.Skipf("%s: needs cast %s -> %s: %v", fn, expr.TypeName(bargs[i].Type), expr.TypeName(bnd.Cast[i]), err)
		}
		c := &expr.Cast{Child: exprs[i], To: bnd.Cast[i], Kernel: k, Try: true}
		call.Args[i] = c
		if _, isLit := exprs[i].(*expr.Literal); isLit {
			lit, _, err := expr.FoldConstant(ec, c)
			if err != nil {
				t.Fatalf("fold %s: %v", c, err)
			}
			call.Args[i] = lit
		}
	}
	out, err := call.Eval(ec, b)
	if err != nil {
		return nil, bnd.Type, err
	}
	defer out.Release()
	if out.Len() != rows {
		t.Fatalf("%s: %d rows out for %d in", fn, out.Len(), rows)
	}
	if !arrow.TypeEqual(out.DataType(), bnd.Type) {
		t.Fatalf("%s: result type %s, binding said %s", fn, out.DataType(), bnd.Type)
	}
	if v, ok := out.(interface{ ValidateFull() error }); ok {
		if err := v.ValidateFull(); err != nil {
			t.Fatalf("%s: invalid result array: %v", fn, err)
		}
	}
	if !bnd.Nullable && out.NullN() > 0 {
		t.Fatalf("%s: binding says not nullable but result has %d NULLs", fn, out.NullN())
	}
	res := make([]string, out.Len())
	for i := range res {
		res[i] = expr.FormatValue(expr.ValueAt(out, i), out.DataType(), false)
	}
	return res, bnd.Type, nil
}

// libCase is one table row: fn(args) over rows gives want (rows rendered
// and joined with " | ") or an error matching err.
type libCase struct {
	fn   string
	args []any
	want string
	err  error
	rows int // for all-literal calls; default 1
}

func libRunCases(t *testing.T, cases []libCase) {
	t.Helper()
	for _, c := range cases {
		name := c.fn + "/" + libArgsName(c.args)
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rows := c.rows
			if rows == 0 {
				rows = 1
			}
			got, _, err := libRun(t, mem, c.fn, rows, c.args...)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err = %v, want %v", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if g := strings.Join(got, " | "); g != c.want {
				t.Errorf("got  %q\nwant %q", g, c.want)
			}
		})
	}
}

func libArgsName(args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		switch x := a.(type) {
		case *expr.Literal:
			parts[i] = x.String()
		case libCol:
			parts[i] = "col"
			if x.Hi > 0 {
				parts[i] = "sliced"
			}
		}
	}
	s := strings.Join(parts, ",")
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

// Shorthands for literals.
func libS(s string) *expr.Literal             { return expr.Lit(s) }
func libI(v int32) *expr.Literal              { return expr.Lit(v) }
func libL(v int64) *expr.Literal              { return expr.Lit(v) }
func libD(v float64) *expr.Literal            { return expr.Lit(v) }
func libNull(dt arrow.DataType) *expr.Literal { return expr.TypedNull(dt) }

// libTS parses "2024-01-02 03:04:05.123456" as a UTC timestamp literal.
func libTS(s string) *expr.Literal {
	t, err := time.Parse("2006-01-02 15:04:05.999999", s)
	if err != nil {
		panic(err)
	}
	return expr.Lit(arrow.Timestamp(t.UnixMicro()))
}

// libDate parses "2024-01-02" as a date literal.
func libDate(s string) *expr.Literal {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return expr.Lit(arrow.Date32(t.Unix() / 86400))
}
