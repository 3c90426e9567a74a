package dataframe

import (
	"context"
	"errors"
	"io"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/plan"
)

// apiTable is a small in-memory table built through the public API.
func apiTable(t *testing.T, mem memory.Allocator, ddl string, rows ...string) (*arrow.Schema, arrow.RecordBatch) {
	t.Helper()
	schema, err := expr.ParseDDL(ddl)
	if err != nil {
		t.Fatal(err)
	}
	b, err := rowsFromJSON(mem, schema, rows)
	if err != nil {
		t.Fatal(err)
	}
	return schema, b
}

func apiSession(mem memory.Allocator, parts int) *Session {
	return NewSessionWith(Config{Allocator: mem, ShufflePartitions: parts, BatchSize: 2,
		Clock: fixedClock{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}})
}

func mustRows(t *testing.T, df *DataFrame) []Row {
	t.Helper()
	rows, err := df.Rows()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestSessionDefaults(t *testing.T) {
	c := NewSession().Conf()
	if c.ShufflePartitions != runtime.GOMAXPROCS(0) || c.BatchSize != 65536 || c.Allocator == nil || c.Clock == nil {
		t.Fatalf("defaults: %+v", c)
	}
	c = NewSessionWith(Config{ShufflePartitions: 3, BatchSize: 10}).Conf()
	if c.ShufflePartitions != 3 || c.BatchSize != 10 {
		t.Fatalf("explicit config not kept: %+v", c)
	}
}

// Rows converts every type to its documented Go value.
func TestRowsGoValues(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema, b := apiTable(t, mem,
		"b BOOLEAN, i8 TINYINT, i16 SMALLINT, i32 INT, i64 BIGINT, f FLOAT, d DOUBLE, dec DECIMAL(5,2), s STRING, bin BINARY, day DATE, ts TIMESTAMP, st STRUCT<a: INT, b: STRING>, arr ARRAY<DATE>",
		`{"b":true,"i8":1,"i16":2,"i32":3,"i64":4,"f":1.5,"d":2.5,"dec":1.25,"s":"x","bin":"hi","day":"2026-03-01","ts":"2026-03-01 10:00:00.5","st":{"a":1,"b":null},"arr":["2026-01-01",null]}`,
		`{}`)
	defer b.Release()
	s := apiSession(mem, 1)
	rows := mustRows(t, s.CreateDataFrame(schema, b))
	want := []Row{
		{true, int8(1), int16(2), int32(3), int64(4), float32(1.5), 2.5, "1.25", "x", []byte("hi"),
			time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 10, 0, 0, 500000000, time.UTC),
			map[string]any{"a": int32(1), "b": nil}, []any{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), nil}},
		{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows\n got %#v\nwant %#v", rows, want)
	}
	// An empty result is no rows and no error.
	rows = mustRows(t, s.CreateDataFrame(schema, b).Limit(0))
	if len(rows) != 0 {
		t.Fatalf("Limit(0): %v", rows)
	}
}

func TestCollectAndCount(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema, b := apiTable(t, mem, "id INT", `{"id":1}`, `{"id":2}`, `{"id":3}`, `{"id":null}`, `{"id":5}`)
	defer b.Release()
	for _, parts := range []int{1, 3} {
		s := apiSession(mem, parts)
		df := s.CreateDataFrame(schema, b)
		batches, err := df.Filter("id > 1").Collect()
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, r := range batches {
			if !r.Schema().Equal(df.Schema()) {
				t.Errorf("batch schema %s", r.Schema())
			}
			n += r.NumRows()
			r.Release()
		}
		if n != 3 {
			t.Errorf("parts=%d: collected %d rows, want 3", parts, n)
		}
		for _, c := range []struct {
			df   *DataFrame
			want int64
		}{
			{df, 5}, {df.Filter("id IS NULL"), 1}, {df.Filter("id > 100"), 0}, {df.Limit(0), 0}, {df.Limit(2), 2},
			{df.Distinct(), 5}, {df.Union(df), 10},
		} {
			got, err := c.df.Count()
			if err != nil || got != c.want {
				t.Errorf("parts=%d: Count %d, %v; want %d", parts, got, err, c.want)
			}
		}
	}
	// CreateDataFrame refuses batches of another schema.
	other, ob := apiTable(t, mem, "id BIGINT", `{"id":1}`)
	defer ob.Release()
	_ = other
	if err := apiSession(mem, 1).CreateDataFrame(schema, ob).Err(); err == nil || !strings.Contains(err.Error(), "schema") {
		t.Fatalf("schema mismatch: %v", err)
	}
	// No batches is an empty table.
	n, err := apiSession(mem, 2).CreateDataFrame(schema).Count()
	if err != nil || n != 0 {
		t.Fatalf("empty CreateDataFrame: %d %v", n, err)
	}
}

// The Column API builds the same expressions as SQL text.
func TestColumnAPI(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema, b := apiTable(t, mem, "id INT, s STRING, x DOUBLE, st STRUCT<a: INT>",
		`{"id":1,"s":"apple","x":1.5,"st":{"a":10}}`,
		`{"id":2,"s":"banana","x":null,"st":null}`,
		`{"id":null,"s":null,"x":-3,"st":{"a":null}}`)
	defer b.Release()
	df := apiSession(mem, 2).CreateDataFrame(schema, b)
	id, s, x := Col("id"), Col("s"), Col("x")
	cases := []struct {
		name string
		col  Column
		want []any // per row, in input order
	}{
		{"plus", id.Plus(1), []any{int64(2), int64(3), nil}},
		{"minus", id.Minus(Col("id")), []any{int32(0), int32(0), nil}},
		{"multiply", x.Multiply(2), []any{3.0, nil, -6.0}},
		{"divide", id.Divide(0), []any{nil, nil, nil}},
		{"mod", id.Mod(2), []any{int64(1), int64(0), nil}},
		{"eq", s.Eq("apple"), []any{true, false, nil}},
		{"eqnullsafe", s.EqNullSafe(nil), []any{false, false, true}},
		{"noteq", id.NotEq(1), []any{false, true, nil}},
		{"lt", id.Lt(2), []any{true, false, nil}},
		{"le", id.Le(2), []any{true, true, nil}},
		{"gt", x.Gt(0), []any{true, nil, false}},
		{"ge", x.Ge(1.5), []any{true, nil, false}},
		{"and", id.Gt(0).And(x.Gt(0)), []any{true, nil, false}},
		{"or", id.Gt(1).Or(x.Gt(0)), []any{true, true, nil}},
		{"not", id.Eq(1).Not(), []any{false, true, nil}},
		{"negate", x.Negate(), []any{-1.5, nil, 3.0}},
		{"isnull", x.IsNull(), []any{false, true, false}},
		{"isnotnull", s.IsNotNull(), []any{true, true, false}},
		{"like", s.Like("%an%"), []any{false, true, nil}},
		{"rlike", s.RLike("^a"), []any{true, false, nil}},
		{"startswith", s.StartsWith("ban"), []any{false, true, nil}},
		{"endswith", s.EndsWith("le"), []any{true, false, nil}},
		{"contains", s.Contains("pp"), []any{true, false, nil}},
		{"isin", id.IsIn(2, 3), []any{false, true, nil}},
		{"between", x.Between(-5, 1.5), []any{true, nil, true}},
		{"cast", x.Cast("int"), []any{int32(1), nil, int32(-3)}},
		{"castdecimal", x.Cast("decimal(4,1)"), []any{"1.5", nil, "-3.0"}},
		{"field", Col("st").Field("a"), []any{int32(10), nil, nil}},
		{"path", Col("st.a"), []any{int32(10), nil, nil}},
		{"when", When(id.Eq(1), "one").When(id.Eq(2), "two").Otherwise("many"), []any{"one", "two", "many"}},
		{"whennoelse", When(x.Gt(0), x), []any{1.5, nil, nil}},
		{"coalesce", Coalesce(x, id, Lit(0.0)), []any{1.5, 2.0, -3.0}},
		{"lit", Lit(int64(7)), []any{int64(7), int64(7), int64(7)}},
		{"litnil", Lit(nil), []any{nil, nil, nil}},
		{"littime", Lit(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), []any{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"expr", Expr("upper(s) || '!'"), []any{"APPLE!", "BANANA!", nil}},
		{"call", Call("REGEXP_EXTRACT", s, `(a)(n)`, 2), []any{"", "n", nil}},
		{"lower", Lower(Upper(s)), []any{"apple", "banana", nil}},
		{"length", Length(s), []any{int32(5), int32(6), nil}},
		{"trim", Trim(Lit(" a ")), []any{"a", "a", "a"}},
		{"substring", Substring(s, 2, 3), []any{"ppl", "ana", nil}},
		{"concat", Concat(s, Lit("-"), s), []any{"apple-apple", "banana-banana", nil}},
		{"concatws", ConcatWS("-", s, "id"), []any{"apple-1", "banana-2", ""}},
		{"abs", Abs(x), []any{1.5, nil, 3.0}},
		{"round", Round(x, 0), []any{2.0, nil, -3.0}},
		{"sqrt", Sqrt(Lit(4)), []any{2.0, 2.0, 2.0}},
		{"greatest", Greatest(x, Lit(0.0)), []any{1.5, 0.0, 0.0}},
		{"least", Least(id, Lit(int32(2))), []any{int32(1), int32(2), int32(2)}},
		{"year", Year(ToDate(Lit("2026-05-06"))), []any{int32(2026), int32(2026), int32(2026)}},
		{"hour", Hour(ToTimestamp(Lit("2026-05-06 07:08:09"))), []any{int32(7), int32(7), int32(7)}},
		{"datetrunc", DateTrunc("day", CurrentTimestamp()), []any{time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}},
		{"hash", Hash(Lit("Spark"), Array(Lit(int32(123))), Lit(int32(2))), []any{int32(-1321691492), int32(-1321691492), int32(-1321691492)}},
		{"xxhash64", XXHash64(Lit("Spark"), Array(Lit(int32(123))), Lit(int32(2))), []any{int64(5602566077635097486), int64(5602566077635097486), int64(5602566077635097486)}},
		{"struct", Struct(id, s), []any{map[string]any{"id": int32(1), "s": "apple"}, map[string]any{"id": int32(2), "s": "banana"}, map[string]any{"id": nil, "s": nil}}},
	}
	for _, c := range cases {
		rows, err := df.Select(id, c.col.As("out")).OrderBy(Col("id").AscNullsLast()).Rows()
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		got := make([]any, len(rows))
		for i, r := range rows {
			got[i] = r[1]
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s (%s): got %#v, want %#v", c.name, c.col, got, c.want)
		}
	}
}

func TestSortOrdersAPI(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema, b := apiTable(t, mem, "v INT", `{"v":2}`, `{"v":null}`, `{"v":1}`, `{"v":3}`)
	defer b.Release()
	df := apiSession(mem, 3).CreateDataFrame(schema, b)
	for _, c := range []struct {
		order Column
		want  []any
	}{
		{Col("v"), []any{nil, int32(1), int32(2), int32(3)}},
		{Col("v").Asc(), []any{nil, int32(1), int32(2), int32(3)}},
		{Col("v").AscNullsLast(), []any{int32(1), int32(2), int32(3), nil}},
		{Col("v").Desc(), []any{int32(3), int32(2), int32(1), nil}},
		{Col("v").DescNullsFirst(), []any{nil, int32(3), int32(2), int32(1)}},
	} {
		for _, d := range []*DataFrame{df.OrderBy(c.order), df.Sort(c.order), df.OrderBy(c.order).Limit(10)} {
			rows := mustRows(t, d)
			got := make([]any, len(rows))
			for i, r := range rows {
				got[i] = r[0]
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s: got %v, want %v", c.order, got, c.want)
			}
		}
	}
	// Column names as strings sort ascending.
	rows := mustRows(t, df.OrderBy("v").Limit(2))
	if len(rows) != 2 || rows[0][0] != nil || rows[1][0] != int32(1) {
		t.Errorf("OrderBy(\"v\").Limit(2): %v", rows)
	}
}

func TestAggregateAPI(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema, b := apiTable(t, mem, "k STRING, v INT",
		`{"k":"a","v":1}`, `{"k":"a","v":3}`, `{"k":"b","v":null}`, `{"k":"b","v":4}`, `{"k":"a","v":3}`)
	defer b.Release()
	df := apiSession(mem, 3).CreateDataFrame(schema, b)
	rows := mustRows(t, df.GroupBy("k").Agg(
		Count("*"), Count("v").As("nv"), CountDistinct("v").As("dv"), Sum("v").As("s"), SumDistinct("v").As("sd"),
		Avg("v").As("a"), Mean(Col("v")).As("m"), Min("v").As("mn"), Max("v").As("mx"),
		StddevPop("v").As("sp"), VarPop("v").As("vp"), Stddev("v").As("sd2"), StddevSamp("v").As("ss"),
		Variance("v").As("var"), VarSamp("v").As("vs"), ApproxCountDistinct("v").As("acd"), ApproxCountDistinct("v", 0.02).As("acd2"),
		Call("sort_array", CollectSet("v")).As("set"), Call("size", CollectList("v")).As("nl"),
		Call("size", MaxByAll("k", "v")).As("atmax"), Call("size", MinByAll(Col("v"), Col("v"))).As("atmin"),
	).OrderBy("k"))
	want := []Row{
		{"a", int64(3), int64(3), int64(2), int64(7), int64(4), 7.0 / 3, 7.0 / 3, int32(1), int32(3),
			0.9428090415820634, 0.8888888888888888, 1.1547005383792515, 1.1547005383792515, 1.3333333333333333, 1.3333333333333333,
			int64(2), int64(2), []any{int32(1), int32(3)}, int32(3), int32(2), int32(1)},
		{"b", int64(2), int64(1), int64(1), int64(4), int64(4), 4.0, 4.0, int32(4), int32(4),
			0.0, 0.0, nil, nil, nil, nil, int64(1), int64(1), []any{int32(4)}, int32(1), int32(1), int32(1)},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("aggregates\n got %v\nwant %v", rows, want)
	}
	// Unaliased aggregates are named by their SQL text (Spark says
	// count(1) for count(*); see docs/dataframe.md).
	if cols := strings.Join(df.GroupBy("k").Agg(Count("*")).Columns(), ","); cols != "k,count(*)" {
		t.Errorf("count(*) column name %q", cols)
	}
	// The shortcuts of GroupedData.
	for name, c := range map[string]struct {
		df   *DataFrame
		want []Row
	}{
		"count":  {df.GroupBy("k").Count().OrderBy("k"), []Row{{"a", int64(3)}, {"b", int64(2)}}},
		"sum":    {df.GroupBy("k").Sum("v").OrderBy("k"), []Row{{"a", int64(7)}, {"b", int64(4)}}},
		"avg":    {df.GroupBy("k").Avg("v").OrderBy("k"), []Row{{"a", 7.0 / 3}, {"b", 4.0}}},
		"min":    {df.GroupBy("k").Min("v").OrderBy("k"), []Row{{"a", int32(1)}, {"b", int32(4)}}},
		"max":    {df.GroupBy("k").Max("v").OrderBy("k"), []Row{{"a", int32(3)}, {"b", int32(4)}}},
		"first":  {df.Filter("k = 'a'").Agg(First("v"), Last("v")), []Row{{int32(1), int32(3)}}},
		"global": {df.Agg(Count("*").As("n"), Max("k").As("k")), []Row{{int64(5), "b"}}},
	} {
		if got := mustRows(t, c.df); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", name, got, c.want)
		}
	}
	if cols := strings.Join(df.GroupBy("k").Sum("v").Columns(), ","); cols != "k,sum(v)" {
		t.Errorf("GroupBy.Sum column names %q", cols)
	}
	if err := df.GroupBy("nope").Count().Err(); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown group column: %v", err)
	}
}

func TestExplodeAPI(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema, b := apiTable(t, mem, "id INT, tags ARRAY<STRING>",
		`{"id":1,"tags":["x","y"]}`, `{"id":2,"tags":[]}`, `{"id":3,"tags":null}`)
	defer b.Release()
	df := apiSession(mem, 2).CreateDataFrame(schema, b)
	for name, c := range map[string]struct {
		df   *DataFrame
		cols string
		want []Row
	}{
		"explode":  {df.Select("id", Explode("tags").As("tag")), "id,tag", []Row{{int32(1), "x"}, {int32(1), "y"}}},
		"default":  {df.Select(Explode("tags")), "col", []Row{{"x"}, {"y"}}},
		"outer":    {df.Select("id", ExplodeOuter("tags")), "id,col", []Row{{int32(1), "x"}, {int32(1), "y"}, {int32(2), nil}, {int32(3), nil}}},
		"pos":      {df.Select("id", PosExplode("tags")), "id,pos,col", []Row{{int32(1), int32(0), "x"}, {int32(1), int32(1), "y"}}},
		"posalias": {df.Select(PosExplode("tags").As("t")), "pos,t", []Row{{int32(0), "x"}, {int32(1), "y"}}},
	} {
		if cols := strings.Join(c.df.Columns(), ","); cols != c.cols {
			t.Errorf("%s: columns %s, want %s", name, cols, c.cols)
		}
		if got := mustRows(t, c.df.OrderBy(c.df.Columns()[0], c.df.Columns()[len(c.df.Columns())-1])); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", name, got, c.want)
		}
	}
	if err := df.Select(Explode("id")).Err(); err == nil || !strings.Contains(err.Error(), "array") {
		t.Errorf("explode of an int: %v", err)
	}
}

// A struct column's star selects its fields, as Spark's select("v.*").
func TestStructStarAPI(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema, b := apiTable(t, mem, "id INT, v STRUCT<a: INT, b: STRING>",
		`{"id":1,"v":{"a":5,"b":"x"}}`, `{"id":2,"v":null}`)
	defer b.Release()
	df := apiSession(mem, 1).CreateDataFrame(schema, b)
	for name, got := range map[string]*DataFrame{
		"Select":     df.Select("id", "v.*"),
		"Col":        df.Select(Col("id"), Col("v.*")),
		"SelectExpr": df.SelectExpr("id", "v.*"),
	} {
		if cols := strings.Join(got.Columns(), ","); cols != "id,a,b" {
			t.Errorf("%s: columns %s", name, cols)
		}
		if rows := mustRows(t, got.OrderBy("id")); !reflect.DeepEqual(rows, []Row{{int32(1), int32(5), "x"}, {int32(2), nil, nil}}) {
			t.Errorf("%s: rows %v", name, rows)
		}
	}
	if err := df.Select("id.*").Err(); err == nil || !strings.Contains(err.Error(), "no table, alias or struct column") {
		t.Errorf("star of an int column: %v", err)
	}
}

// Errors are kept: the first one wins, every later step and action
// returns it, and nothing panics.
func TestErrorsAreKept(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema, b := apiTable(t, mem, "id INT, s STRING", `{"id":1,"s":"a"}`)
	defer b.Release()
	s := apiSession(mem, 2)
	df := s.CreateDataFrame(schema, b)

	bad := df.Select("nope").Filter("also_nope > 1").WithColumn("x", Col("more_nope")).Limit(-1)
	first := bad.Err()
	if first == nil || !strings.Contains(first.Error(), "`nope`") || !errors.Is(first, plan.ErrAnalysis) {
		t.Fatalf("first error: %v", first)
	}
	for name, err := range map[string]error{
		"Count":   func() error { _, err := bad.Count(); return err }(),
		"Rows":    func() error { _, err := bad.Rows(); return err }(),
		"Collect": func() error { _, err := bad.Collect(); return err }(),
		"Show":    func() error { _, err := bad.ShowString(5, true); return err }(),
		"Schema":  func() error { _, err := bad.SchemaString(); return err }(),
		"Write":   bad.Write().Parquet(t.TempDir()),
		"Execute": bad.Execute(func(arrow.RecordBatch) error { return nil }),
		"Join":    df.Join(bad, "id").Err(),
		"Union":   df.Union(bad).Err(),
	} {
		if err != first {
			t.Errorf("%s returned %v, want the first error %v", name, err, first)
		}
	}
	if ex := bad.Explain(); !strings.Contains(ex, "== Error ==") || !strings.Contains(ex, "nope") {
		t.Errorf("Explain of a failed DataFrame:\n%s", ex)
	}
	if bad.Schema() != nil || bad.Columns() != nil || bad.Plan() != nil {
		t.Error("a failed DataFrame has no schema, columns or plan")
	}

	for name, d := range map[string]*DataFrame{
		"limit":       df.Limit(-1),
		"sample":      df.Sample(1.5, 1),
		"samplesign":  df.Sample(-0.1, 1),
		"filtertype":  df.Filter(42),
		"filtersql":   df.Filter("id >"),
		"joinon":      df.Join(df, 42),
		"jointype":    df.Join(df, "id", "sideways"),
		"lit":         df.Select(Lit(struct{}{})),
		"cast":        df.Select(Col("id").Cast("nonsense")),
		"otherwise":   df.Select(Col("id").Otherwise(1)),
		"when":        df.Select(Col("id").When(Col("id").Eq(1), 1)),
		"unknownfunc": df.Select(Call("nope", Col("id"))),
		"nonbool":     df.Filter(Col("id")),
		"typeerr":     df.Select(Col("s").Minus(Lit(true))),
		"union":       df.Union(df.Select("id")),
		"byname":      df.UnionByName(df.Select("id")),
		"dropdup":     df.DropDuplicates("nope"),
		"agg":         df.Filter(Count("*").Gt(1)),
		"selectexpr":  df.SelectExpr("id +"),
	} {
		if d.Err() == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if _, err := d.Count(); err != d.Err() {
			t.Errorf("%s: Count returned %v, want %v", name, err, d.Err())
		}
	}
	// A parse error shows the text with a caret under the position.
	err := df.Filter("id = 1 AND AND s = 'a'").Err()
	if err == nil || !strings.Contains(err.Error(), "id = 1 AND AND s = 'a'\n           ^") {
		t.Errorf("parse error without a caret: %v", err)
	}
	// Type errors name the expression and the types.
	err = df.Select(Col("s").Minus(Lit(true))).Err()
	if err == nil || !strings.Contains(err.Error(), "string") || !strings.Contains(err.Error(), "boolean") {
		t.Errorf("type error: %v", err)
	}
}

func TestWithContextCancels(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema, b := apiTable(t, mem, "id INT", `{"id":1}`, `{"id":2}`, `{"id":3}`)
	defer b.Release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	df := apiSession(mem, 2).CreateDataFrame(schema, b).WithContext(ctx)
	if _, err := df.Filter("id > 0").Count(); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

func TestExplainSections(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema, b := apiTable(t, mem, "id INT, s STRING", `{"id":1,"s":"a"}`)
	defer b.Release()
	df := apiSession(mem, 2).CreateDataFrame(schema, b).Filter("id > 1 + 1").GroupBy("s").Agg(Count("*").As("n"))
	short := df.Explain()
	if strings.Contains(short, "Logical Plan") || !strings.HasPrefix(short, "== Physical Plan ==") {
		t.Errorf("Explain():\n%s", short)
	}
	long := df.Explain(true)
	i1, i2, i3 := strings.Index(long, "== Analyzed Logical Plan =="), strings.Index(long, "== Optimized Logical Plan =="), strings.Index(long, "== Physical Plan ==")
	if i1 < 0 || i2 < i1 || i3 < i2 {
		t.Fatalf("Explain(true) sections out of order:\n%s", long)
	}
	if !strings.Contains(long[i1:i2], "1 + 1") || strings.Contains(long[i2:i3], "1 + 1") || !strings.Contains(long[i2:i3], "> 2") {
		t.Errorf("constant folding not visible between analyzed and optimized plans:\n%s", long)
	}
}

// Show and PrintSchema write to stdout what ShowString and SchemaString
// return.
func TestShowAndPrintSchemaWriteStdout(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema, b := apiTable(t, mem, "id INT, s STRING", `{"id":1,"s":"a"}`, `{"id":2,"s":"b"}`)
	defer b.Release()
	df := apiSession(mem, 1).CreateDataFrame(schema, b)
	capture := func(f func() error) string {
		t.Helper()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		old := os.Stdout
		os.Stdout = w
		ferr := f()
		os.Stdout = old
		w.Close()
		out, _ := io.ReadAll(r)
		if ferr != nil {
			t.Fatal(ferr)
		}
		return string(out)
	}
	want := "+---+---+\n| id|  s|\n+---+---+\n|  1|  a|\n+---+---+\nonly showing top 1 row\n"
	if got := capture(func() error { return df.Show(1) }); got != want {
		t.Errorf("Show(1):\n%s\nwant\n%s", got, want)
	}
	if got := capture(func() error { return df.Show() }); !strings.Contains(got, "|  2|  b|") || strings.Contains(got, "only showing") {
		t.Errorf("Show():\n%s", got)
	}
	wantSchema := "root\n |-- id: integer (nullable = true)\n |-- s: string (nullable = true)\n"
	if got := capture(df.PrintSchema); got != wantSchema {
		t.Errorf("PrintSchema:\n%s", got)
	}
}

func TestTempViews(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema, b := apiTable(t, mem, "id INT", `{"id":1}`, `{"id":2}`)
	defer b.Release()
	s := apiSession(mem, 2)
	if err := s.CreateDataFrame(schema, b).Filter("id > 1").CreateOrReplaceTempView("big"); err != nil {
		t.Fatal(err)
	}
	rows := mustRows(t, s.Table("BIG").Select(Col("big.id")))
	if len(rows) != 1 || rows[0][0] != int32(2) {
		t.Fatalf("view rows %v", rows)
	}
	if err := s.Table("small").Err(); err == nil || !strings.Contains(err.Error(), "big") {
		t.Fatalf("unknown view: %v", err)
	}
}

// A Session and its DataFrames are safe for concurrent use.
func TestConcurrentActions(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema, b := apiTable(t, mem, "k STRING, v INT", `{"k":"a","v":1}`, `{"k":"b","v":2}`, `{"k":"a","v":3}`)
	defer b.Release()
	df := apiSession(mem, 3).CreateDataFrame(schema, b).GroupBy("k").Agg(Sum("v").As("s")).OrderBy("k")
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			rows, err := df.Rows()
			if err == nil && !reflect.DeepEqual(rows, []Row{{"a", int64(4)}, {"b", int64(2)}}) {
				err = errors.New("wrong rows")
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
