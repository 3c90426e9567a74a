package agg

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe/expr"
)

func TestLookup(t *testing.T) {
	for name, want := range map[string]string{
		"count": "count", "COUNT": "count", "Sum": "sum", "mean": "avg", "stddev": "stddev_samp", "std": "stddev_samp",
		"variance": "var_samp", "every": "bool_and", "some": "bool_or", "any": "bool_or", "first_value": "first",
		"last_value": "last", "array_agg": "collect_list", "approx_count_distinct": "approx_count_distinct",
	} {
		f, ok := Lookup(name)
		if !ok || f.Name != want {
			t.Errorf("Lookup(%q) = %v, want %s", name, f, want)
		}
	}
	if _, ok := Lookup("upper"); ok {
		t.Error("upper is not an aggregate")
	}
	seen := map[string]bool{}
	for _, f := range Builtins {
		for _, n := range append([]string{f.Name}, f.Aliases...) {
			if seen[n] {
				t.Errorf("name %s registered twice", n)
			}
			seen[n] = true
		}
		if f.Bind == nil || f.Usage == "" {
			t.Errorf("%s: missing Bind or Usage", f.Name)
		}
	}
}

func TestBindErrors(t *testing.T) {
	mapT := arrow.MapOf(expr.String, expr.Int64)
	structT := arrow.StructOf(arrow.Field{Name: "a", Type: expr.Int64})
	col := func(dt arrow.DataType) expr.Arg { return expr.Arg{Type: dt, Nullable: true} }
	lit := func(v any) expr.Arg { l := expr.Lit(v); return expr.Arg{Type: l.Type, Const: l} }
	for _, c := range []struct {
		fn   string
		args []expr.Arg
		want string
	}{
		{"sum", []expr.Arg{col(expr.Boolean)}, "argument 1 of sum requires a numeric type, got boolean"},
		{"sum", nil, "sum takes 1 argument(s), got 0"},
		{"sum", []expr.Arg{col(expr.Int64), col(expr.Int64)}, "sum takes 1 argument(s), got 2"},
		{"avg", []expr.Arg{col(expr.Boolean)}, "argument 1 of avg requires a numeric type, got boolean"},
		{"avg", []expr.Arg{col(expr.Timestamp)}, "got timestamp"},
		{"stddev", []expr.Arg{col(expr.Binary)}, "argument 1 of stddev_samp requires a numeric type, got binary"},
		{"count_if", []expr.Arg{col(expr.Int64)}, "argument 1 of count_if requires a boolean, got bigint"},
		{"bool_and", []expr.Arg{col(expr.Int64)}, "argument 1 of bool_and requires a boolean, got bigint"},
		{"min", []expr.Arg{col(structT)}, "argument 1 of min requires an orderable type"},
		{"max", []expr.Arg{col(mapT)}, "got map<string,bigint>"},
		{"max", []expr.Arg{col(expr.Interval)}, "got interval"},
		{"first", []expr.Arg{col(expr.Int64), col(expr.Boolean)}, "argument 2 of first must be a boolean literal"},
		{"last", []expr.Arg{col(expr.Int64), lit(nil)}, "argument 2 of last must be a boolean literal"},
		{"last", []expr.Arg{col(expr.Int64), {Type: expr.Boolean, Const: expr.TypedNull(expr.Boolean)}}, "must be true or false, not NULL"},
		{"approx_count_distinct", []expr.Arg{col(expr.Int64), col(expr.Float64)}, "relativeSD) must be a numeric literal"},
		{"approx_count_distinct", []expr.Arg{col(expr.Int64), lit(0.5)}, "use at most 0.39"},
		{"collect_set", []expr.Arg{col(mapT)}, "not a map"},
	} {
		f, ok := Lookup(c.fn)
		if !ok {
			t.Fatalf("%s not registered", c.fn)
		}
		_, err := f.Bind(c.args, false)
		if !errors.Is(err, expr.ErrType) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want ErrType mentioning %q", c.fn, err, c.want)
		}
	}
	// DISTINCT over an uncomparable type fails at bind time, not per row.
	if _, err := countFunc.Bind([]expr.Arg{col(arrow.DenseUnionOf(nil, nil))}, true); !errors.Is(err, expr.ErrType) {
		t.Errorf("count(DISTINCT union): %v", err)
	}
}

func TestBindCasts(t *testing.T) {
	dict := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.LargeString}
	for _, c := range []struct {
		fn   string
		in   arrow.DataType
		cast arrow.DataType
		out  arrow.DataType
	}{
		{"min", dict, expr.String, expr.String},
		{"collect_list", arrow.BinaryTypes.LargeBinary, expr.Binary, arrow.ListOf(expr.Binary)},
		{"sum", expr.Null, expr.Float64, expr.Float64},
		{"avg", expr.Null, expr.Float64, expr.Float64},
		{"bool_or", expr.Null, expr.Boolean, expr.Boolean},
		{"var_pop", dec(10, 2), expr.Float64, expr.Float64},
		{"sum", expr.Int32, nil, expr.Int64},
	} {
		f, _ := Lookup(c.fn)
		b, err := f.Bind([]expr.Arg{{Type: c.in, Nullable: true}}, false)
		if err != nil {
			t.Fatalf("%s(%s): %v", c.fn, c.in, err)
		}
		var cast arrow.DataType
		if len(b.Cast) > 0 {
			cast = b.Cast[0]
		}
		if (cast == nil) != (c.cast == nil) || (cast != nil && !arrow.TypeEqual(cast, c.cast)) {
			t.Errorf("%s(%s): cast %v, want %v", c.fn, c.in, cast, c.cast)
		}
		if !arrow.TypeEqual(b.Type, c.out) {
			t.Errorf("%s(%s): type %s, want %s", c.fn, c.in, b.Type, c.out)
		}
	}
}

// Misuse by the operator is an error, never a panic.
func TestAccumulatorMisuse(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	for _, f := range Builtins {
		args := make([]expr.Arg, max(1, f.MinArgs)) // max_by_all(x, ord) takes two
		for i := range args {
			args[i] = expr.Arg{Type: expr.Int64, Nullable: true}
		}
		switch f.Name {
		case "count_if", "bool_and", "bool_or":
			args[0].Type = expr.Boolean
		}
		b, err := f.Bind(args, false)
		if err != nil {
			t.Fatalf("%s(bigint): %v", f.Name, err)
		}
		acc := b.New(mem)
		acc.Resize(2)
		col := fromJSON(t, mem, args[0].Type, `[null, null, null]`)
		cols := make([]arrow.Array, len(args))
		for i := range cols {
			cols[i] = col
		}
		if err := acc.Update(cols, []uint32{0, 1}); !errors.Is(err, expr.ErrType) {
			t.Errorf("%s: update with 3 rows and 2 gids: %v", f.Name, err)
		}
		if err := acc.Update(nil, []uint32{0}); !errors.Is(err, expr.ErrType) {
			t.Errorf("%s: update without arguments: %v", f.Name, err)
		}
		wrong := array.MakeArrayOfNull(mem, arrow.BinaryTypes.LargeString, 1)
		st := make([]arrow.Array, len(b.State))
		for i := range st {
			st[i] = wrong
		}
		if err := acc.MergeState(st, []uint32{0}); !errors.Is(err, expr.ErrType) {
			t.Errorf("%s: merge of a wrong state type: %v", f.Name, err)
		}
		if err := acc.MergeState(nil, []uint32{0}); !errors.Is(err, expr.ErrType) {
			t.Errorf("%s: merge without state columns: %v", f.Name, err)
		}
		if _, err := acc.Result(mem, 3, nil); !errors.Is(err, expr.ErrType) {
			t.Errorf("%s: result for 3 of 2 groups: %v", f.Name, err)
		}
		if _, err := acc.State(mem, 2, []uint32{5}); !errors.Is(err, expr.ErrType) {
			t.Errorf("%s: state selecting group 5 of 2: %v", f.Name, err)
		}
		wrong.Release()
		col.Release()
		acc.Release()
	}
}
