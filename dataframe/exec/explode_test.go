package exec

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe/expr"
)

var explodeSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
}, nil)

// oracleExplode expands rows the way Spark's (pos)explode(_outer) does.
func oracleExplode(rows [][]any, listCol int, outer, withPos bool) [][]any {
	var out [][]any
	for _, r := range rows {
		list, _ := r[listCol].([]any)
		if len(list) == 0 {
			if outer {
				row := append([]any(nil), r...)
				if withPos {
					row = append(row, nil)
				}
				out = append(out, append(row, nil))
			}
			continue
		}
		for i, e := range list {
			row := append([]any(nil), r...)
			if withPos {
				row = append(row, int32(i))
			}
			out = append(out, append(row, e))
		}
	}
	return out
}

func randListRows(r *rand.Rand, n int) [][]any {
	rows := make([][]any, n)
	for i := range rows {
		var list any
		switch r.IntN(6) {
		case 0: // NULL array
		case 1:
			list = []any{} // empty array
		default:
			items := make([]any, r.IntN(7))
			for k := range items {
				if r.IntN(5) != 0 {
					items[k] = randString(r)
				}
			}
			list = items
		}
		rows[i] = []any{int64(i), list}
	}
	return rows
}

func TestExplodeRandom(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(21, 21))
	for iter := 0; iter < 8; iter++ {
		rows := randListRows(r, r.IntN(60))
		src := newBatchesOp(explodeSchema, splitRows(t, mem, explodeSchema, rows, 1+r.IntN(3), 1+r.IntN(10)))
		var in [][]any
		for _, p := range src.parts {
			in = append(in, rowsOf(p)...)
		}
		for _, outer := range []bool{false, true} {
			for _, withPos := range []bool{false, true} {
				op := NewExplode(src, ref(explodeSchema, "tags"), outer, withPos, nil)
				got := run(t, mem, op, 1+r.IntN(8))
				want := oracleExplode(in, 1, outer, withPos)
				if !slices.Equal(sortedRows(got), sortedRows(want)) {
					t.Fatalf("iter %d %s:\ngot  %v\nwant %v", iter, op, got, want)
				}
			}
		}
		src.release()
	}
}

func TestExplodeSchemaAndExplain(t *testing.T) {
	src := newBatchesOp(explodeSchema, nil)
	op := NewExplode(src, ref(explodeSchema, "tags"), true, true, []string{"p", "tag"})
	s := op.Schema()
	if s.NumFields() != 4 || s.Field(2).Name != "p" || s.Field(2).Type.ID() != arrow.INT32 || !s.Field(2).Nullable || s.Field(3).Name != "tag" {
		t.Errorf("schema %s", s)
	}
	if got, want := op.String(), "Generate posexplode(tags), [id, tags], true, [p, tag]"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	op = NewExplode(src, ref(explodeSchema, "tags"), false, false, nil)
	if f := op.Schema().Field(2); f.Name != "col" {
		t.Errorf("default name %q", f.Name)
	}
}

func TestExplodeSlicedList(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	full := mkBatch(t, mem, explodeSchema, [][]any{
		{int64(0), []any{"a", "b"}}, {int64(1), []any{"c"}}, {int64(2), nil}, {int64(3), []any{"d", "e", "f"}},
	})
	sliced := full.NewSlice(1, 4)
	full.Release()
	src := newBatchesOp(explodeSchema, [][]arrow.RecordBatch{{sliced}})
	defer src.release()
	got := run(t, mem, NewExplode(src, ref(explodeSchema, "tags"), false, true, nil), 2)
	want := [][]any{
		{int64(1), []any{"c"}, int32(0), "c"},
		{int64(3), []any{"d", "e", "f"}, int32(0), "d"},
		{int64(3), []any{"d", "e", "f"}, int32(1), "e"},
		{int64(3), []any{"d", "e", "f"}, int32(2), "f"},
	}
	if !equalRows(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestExplodeMap(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	mt := arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64)
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "m", Type: mt, Nullable: true}}, nil)
	ib := array.NewInt64Builder(mem)
	defer ib.Release()
	mb := array.NewMapBuilder(mem, arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64, false)
	defer mb.Release()
	kb, vb := mb.KeyBuilder().(*array.StringBuilder), mb.ItemBuilder().(*array.Int64Builder)
	ib.AppendValues([]int64{1, 2, 3}, nil)
	mb.Append(true)
	kb.AppendValues([]string{"a", "b"}, nil)
	vb.AppendValues([]int64{10, 20}, nil)
	mb.AppendNull()
	mb.Append(true)
	kb.Append("c")
	vb.AppendNull()
	ids, ms := ib.NewArray(), mb.NewArray()
	b := array.NewRecordBatch(schema, []arrow.Array{ids, ms}, 3)
	ids.Release()
	ms.Release()
	src := newBatchesOp(schema, [][]arrow.RecordBatch{{b}})
	defer src.release()
	op := NewExplode(src, ref(schema, "m"), true, false, nil)
	got := run(t, mem, op, 0)
	if op.Schema().Field(2).Name != "key" || op.Schema().Field(3).Name != "value" {
		t.Errorf("schema %s", op.Schema())
	}
	var kv [][]any
	for _, r := range got {
		kv = append(kv, []any{r[0], r[2], r[3]})
	}
	want := [][]any{{int64(1), "a", int64(10)}, {int64(1), "b", int64(20)}, {int64(2), nil, nil}, {int64(3), "c", nil}}
	if !equalRows(kv, want) {
		t.Errorf("got %v, want %v", kv, want)
	}
}

func TestExplodeErrors(t *testing.T) {
	mem := newMem()
	defer mem.AssertSize(t, 0)
	src := newBatchesOp(explodeSchema, nil)
	for _, c := range []struct {
		op   Operator
		want string
	}{
		{NewExplode(src, ref(explodeSchema, "id"), false, false, nil), "array or a map"},
		{NewExplode(src, ref(explodeSchema, "tags"), false, true, []string{"x"}), "names"},
		{NewExplode(src, expr.Col("tags"), false, false, nil), "not resolved"},
	} {
		_, err := runErr(mem, c.op, 0)
		if !errors.Is(err, ErrExec) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want ErrExec mentioning %q", err, c.want)
		}
	}
}
