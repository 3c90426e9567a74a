package fn

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

func TestCollectionFunctions(t *testing.T) {
	intList := arrow.ListOf(expr.Int32)
	strList := arrow.ListOf(expr.String)
	ints := func(js string) libCol { return libCol{T: intList, JS: js} }
	libRunCases(t, []libCase{
		{fn: "struct", args: []any{libCol{T: expr.Int32, JS: `[1, null]`}, libCol{T: expr.String, JS: `["a", "b"]`}}, want: "{1, a} | {NULL, b}"},
		{fn: "named_struct", args: []any{libS("a"), libCol{T: expr.Int32, JS: `[1, 2]`}, libS("b"), libS("x")}, want: "{1, x} | {2, x}"},
		{fn: "named_struct", args: []any{libCol{T: expr.String, JS: `["a"]`}, libI(1)}, err: ErrInvalidArgument},
		{fn: "array", args: []any{libCol{T: expr.Int32, JS: `[1, null, 3]`}, libCol{T: expr.Int32, JS: `[4, 5, null]`}}, want: "[1, 4] | [NULL, 5] | [3, NULL]"},
		{fn: "array", args: []any{}, want: "[]"},
		{fn: "array", args: []any{libCol{T: expr.Int32, JS: `[1]`}, libCol{T: arrow.ListOf(expr.Int32), JS: `[[1]]`}}, err: expr.ErrType},
		{fn: "size", args: []any{ints(`[[1, 2], [], null]`)}, want: "2 | 0 | -1"},
		{fn: "cardinality", args: []any{ints(`[[1, 2], [3], [4, 5, 6], null]`)}, want: "2 | 1 | 3 | -1"},
		{fn: "size", args: []any{libCol{T: intList, JS: `[[1, 2], [3], [4, 5, 6]]`, Lo: 1, Hi: 3}}, want: "1 | 3"},
		{fn: "element_at", args: []any{ints(`[[1, 2, 3], [1], null, []]`), libI(2)}, want: "2 | NULL | NULL | NULL"},
		{fn: "element_at", args: []any{ints(`[[1, 2, 3], [1, null]]`), libI(-1)}, want: "3 | NULL"},
		{fn: "element_at", args: []any{ints(`[[1, 2, 3]]`), libI(0)}, err: ErrInvalidArgument},
		{fn: "element_at", args: []any{ints(`[[1, 2, 3], [4, 5]]`), libCol{T: expr.Int32, JS: `[3, null]`}}, want: "3 | NULL"},
		{fn: "element_at", args: []any{libCol{T: arrow.MapOf(expr.String, expr.Int32), JS: `[[{"key": "a", "value": 1}, {"key": "b", "value": 2}], []]`}, libS("b")}, want: "2 | NULL"},
		{fn: "get_item", args: []any{ints(`[[1, 2, 3], [1]]`), libI(1)}, want: "2 | NULL"},
		{fn: "get", args: []any{ints(`[[1, 2, 3]]`), libI(-1)}, want: "NULL"},
		{fn: "get_item", args: []any{libCol{T: arrow.StructOf(arrow.Field{Name: "a", Type: expr.Int32, Nullable: true}, arrow.Field{Name: "b", Type: expr.String, Nullable: true}), JS: `[{"a": 1, "b": "x"}, null]`}, libS("B")}, want: "x | NULL"},
		{fn: "array_contains", args: []any{ints(`[[1, 2, 3], [4], [null, 5], null, []]`), libI(2)}, want: "true | false | NULL | NULL | false"},
		{fn: "array_contains", args: []any{ints(`[[1, 2], [3]]`), libCol{T: expr.Int32, JS: `[2, null]`}}, want: "true | NULL"},
		{fn: "array_contains", args: []any{libCol{T: strList, JS: `[["a", "b"], ["c"]]`, Lo: 1, Hi: 2}, libS("c")}, want: "true"},
		{fn: "array_contains", args: []any{libCol{T: arrow.ListOf(expr.Float64), JS: `[[1.5, -0.0]]`}, libD(0)}, want: "true"},
		{fn: "sort_array", args: []any{libCol{T: strList, JS: `[["b", "d", null, "c", "a"], null, []]`}}, want: "[NULL, a, b, c, d] | NULL | []"},
		{fn: "sort_array", args: []any{libCol{T: strList, JS: `[["b", "d", null, "c", "a"]]`}, expr.Lit(false)}, want: "[d, c, b, a, NULL]"},
		{fn: "sort_array", args: []any{libCol{T: arrow.ListOf(expr.Float64), JS: `[[2, 1, -3.5]]`}}, want: "[-3.5, 1.0, 2.0]"},
		{fn: "array_distinct", args: []any{ints(`[[1, 2, 3, null, 3, null, 1], null, []]`)}, want: "[1, 2, 3, NULL] | NULL | []"},
		{fn: "array_distinct", args: []any{libCol{T: intList, JS: `[[9], [1, 1], [2, 2, 3]]`, Lo: 1, Hi: 3}}, want: "[1] | [2, 3]"},
		{fn: "reverse", args: []any{ints(`[[2, 1, 4, 3], null, []]`)}, want: "[3, 4, 1, 2] | NULL | []"},
		{fn: "size", args: []any{libCol{T: expr.Int32, JS: `[1]`}}, err: expr.ErrType},
	})
}

// TestStructFieldNames checks struct() takes names from Arg.Name and falls
// back to col1, col2 as Spark does.
func TestStructFieldNames(t *testing.T) {
	f, _ := Lookup("struct")
	b, err := f.Bind([]expr.Arg{{Type: expr.Int32, Name: "a"}, {Type: expr.String}})
	if err != nil {
		t.Fatal(err)
	}
	if got := expr.TypeName(b.Type); got != "struct<a:int,col2:string>" {
		t.Fatalf("type %s", got)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
}

func TestArrayConcat(t *testing.T) {
	intList := arrow.ListOf(expr.Int32)
	libRunCases(t, []libCase{
		{fn: "concat", args: []any{libCol{T: intList, JS: `[[1, 2], [3], null, []]`}, libCol{T: intList, JS: `[[4], [], [5], [null]]`}}, want: "[1, 2, 4] | [3] | NULL | [NULL]"},
		{fn: "concat", args: []any{libCol{T: intList, JS: `[[0], [1, 2], [3]]`, Lo: 1, Hi: 3}, libCol{T: intList, JS: `[[9], [4], [5, 6]]`, Lo: 1, Hi: 3}}, want: "[1, 2, 4] | [3, 5, 6]"},
		{fn: "concat", args: []any{libCol{T: intList, JS: `[[1]]`}, libCol{T: expr.String, JS: `["x"]`}}, err: expr.ErrType},
	})
}
