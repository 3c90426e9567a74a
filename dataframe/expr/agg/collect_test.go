package agg

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

func TestCollect(t *testing.T) {
	nested := arrow.StructOf(arrow.Field{Name: "a", Type: expr.Int64, Nullable: true}, arrow.Field{Name: "b", Type: arrow.ListOf(expr.String), Nullable: true})
	runCases(t, []aggCase{
		{name: "list keeps order and duplicates, skips nulls", fn: "collect_list", types: i64, args: []string{`[3, null, 1, 3, null, 9, 2, 3]`},
			gids: []uint32{0, 1, 0, 0, 1, X, 2, 2}, groups: 4, want: `[[3, 1, 3], [], [2, 3], []]`, wantType: arrow.ListOf(expr.Int64)},
		{name: "array_agg strings", fn: "array_agg", types: str, args: []string{`["b", "", null, "a", "b"]`},
			gids: []uint32{0, 0, 0, 1, 0}, groups: 2, want: `[["b", "", "b"], ["a"]]`},
		{name: "set first arrival order", fn: "collect_set", types: i64, args: []string{`[3, null, 1, 3, null, 9, 2, 3, 2]`},
			gids: []uint32{0, 1, 0, 0, 1, X, 2, 2, 2}, groups: 4, want: `[[3, 1], [], [2, 3], []]`},
		{name: "set strings", fn: "collect_set", types: str, args: []string{`["b", "", "b", "a", "", "a"]`},
			gids: []uint32{0, 0, 0, 1, 0, 1}, groups: 2, want: `[["b", ""], ["a"]]`},
		{name: "list doubles keep -0", fn: "collect_list", types: f64, args: []string{`[-0.0, 0.0, "NaN"]`},
			gids: []uint32{0, 0, 0}, groups: 1, want: `[[-0.0, 0.0, "NaN"]]`},
		{name: "set doubles normalise", fn: "collect_set", types: f64, args: []string{`[0.0, -0.0, "NaN", "NaN", 1]`},
			gids: []uint32{0, 0, 0, 0, 0}, groups: 1, want: `[[0.0, "NaN", 1]]`},
		{name: "list bool", fn: "collect_list", types: bl, args: []string{`[true, false, null, true]`},
			gids: []uint32{0, 0, 0, 1}, groups: 2, want: `[[true, false], [true]]`},
		{name: "set bool", fn: "collect_set", types: bl, args: []string{`[true, false, true, true]`},
			gids: []uint32{0, 0, 0, 1}, groups: 2, want: `[[true, false], [true]]`},
		{name: "list decimal", fn: "collect_list", types: []arrow.DataType{dec(5, 1)}, args: []string{`["1.5", null, "-2"]`},
			gids: []uint32{0, 0, 0}, groups: 1, want: `[["1.5", "-2.0"]]`},
		{name: "set dates", fn: "collect_set", types: []arrow.DataType{expr.Date}, args: []string{`[1, 2, 1, null]`},
			gids: []uint32{0, 0, 0, 0}, groups: 1, want: `[[1, 2]]`},
		{name: "list nested", fn: "collect_list", types: []arrow.DataType{nested},
			args: []string{`[{"a": 1, "b": ["x"]}, null, {"a": null, "b": null}, {"a": 1, "b": ["x"]}]`},
			gids: []uint32{0, 0, 0, 0}, groups: 2,
			want: `[[{"a": 1, "b": ["x"]}, {"a": null, "b": null}, {"a": 1, "b": ["x"]}], []]`},
		{name: "set nested", fn: "collect_set", types: []arrow.DataType{nested},
			args: []string{`[{"a": 1, "b": ["x"]}, {"a": 1, "b": ["x", null]}, {"a": 1, "b": ["x"]}]`},
			gids: []uint32{0, 0, 0}, groups: 1,
			want: `[[{"a": 1, "b": ["x"]}, {"a": 1, "b": ["x", null]}]]`},
		{name: "set intervals", fn: "collect_set", types: []arrow.DataType{expr.Interval},
			args: []string{`[{"months": 1, "days": 2, "nanoseconds": 3}, {"months": 1, "days": 2, "nanoseconds": 3}, {"months": 0, "days": 0, "nanoseconds": -1}]`},
			gids: []uint32{0, 0, 0}, groups: 1, want: `[[{"months": 1, "days": 2, "nanoseconds": 3}, {"months": 0, "days": 0, "nanoseconds": -1}]]`},
		{name: "list of null type", fn: "collect_list", types: []arrow.DataType{expr.Null}, args: []string{`[null, null]`},
			gids: []uint32{0, 1}, groups: 2, want: `[[], []]`},
		{name: "distinct list is a set", fn: "collect_list", distinct: true, types: i32, args: []string{`[1, 1, 2]`},
			gids: []uint32{0, 0, 0}, groups: 1, want: `[[1, 2]]`},
		{name: "empty", fn: "collect_list", types: i64, args: []string{`[]`}, gids: []uint32{}, groups: 1, want: `[[]]`},
		{name: "empty no groups", fn: "collect_set", types: str, args: []string{`[]`}, gids: []uint32{}, groups: 0, want: `[]`},
	})
}

func TestCollectSetRejectsMaps(t *testing.T) {
	_, err := collectSetFunc.Bind([]expr.Arg{{Type: arrow.MapOf(expr.String, expr.Int64)}}, false)
	if err == nil {
		t.Fatal("collect_set over a map bound")
	}
}

// A state that lost its element nullability in storage still merges.
func TestCollectMergesStateWithOtherNullability(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	b, err := collectListFunc.Bind([]expr.Arg{{Type: expr.Int64}}, false)
	if err != nil {
		t.Fatal(err)
	}
	acc := b.New(mem)
	defer acc.Release()
	acc.Resize(2)
	st := fromJSON(t, mem, arrow.ListOfNonNullable(expr.Int64), `[[1, 2], [], [3]]`)
	defer st.Release()
	if err := acc.MergeState([]arrow.Array{st}, []uint32{1, 0, 1}); err != nil {
		t.Fatal(err)
	}
	got := result(t, mem, acc, 2, nil)
	defer got.Release()
	want := fromJSON(t, mem, b.Type, `[[], [1, 2, 3]]`)
	defer want.Release()
	sameArray(t, "merged", want, got)
	wrong := fromJSON(t, mem, arrow.ListOf(expr.Int32), `[[1]]`)
	defer wrong.Release()
	if err := acc.MergeState([]arrow.Array{wrong}, []uint32{0}); err == nil {
		t.Fatal("merged a list<int> state into collect_list(bigint)")
	}
}
