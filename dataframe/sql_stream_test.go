package dataframe

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/plan"
	memsrc "github.com/sluicehq/sluice/sources/memory"
	"github.com/sluicehq/sluice/trigger"
)

// A view over a streaming DataFrame makes a SQL query over it streaming,
// with the same plan as the DataFrame chain; the catalog says which views
// are streams.
func TestSQLOverStreamingView(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := NewSessionWith(Config{Allocator: mem, ShufflePartitions: 2, BatchSize: 4})
	clicksSchema, _ := expr.ParseDDL("user_id STRING, event_type STRING, amount INT")
	usersSchema, _ := expr.ParseDDL("user_id STRING, name STRING")
	users, err := rowsFromJSON(mem, usersSchema, []string{`{"user_id":"a","name":"Ada"}`, `{"user_id":"b","name":"Bob"}`})
	if err != nil {
		t.Fatal(err)
	}
	defer users.Release()
	st := memsrc.NewArrowStream("clicks", clicksSchema)
	defer st.Close()
	if err := s.ReadStream(st).CreateOrReplaceTempView("clicks"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateDataFrame(usersSchema, users).CreateOrReplaceTempView("Users"); err != nil {
		t.Fatal(err)
	}

	tables := s.Catalog().ListTables()
	if len(tables) != 2 || tables[0].Name != "clicks" || !tables[0].IsStreaming || tables[1].Name != "users" || tables[1].IsStreaming {
		t.Fatalf("catalog: %+v", tables)
	}
	if !s.Catalog().TableExists("USERS") || s.Catalog().TableExists("nope") {
		t.Fatal("TableExists")
	}
	cols, err := s.Catalog().ListColumns("clicks")
	if err != nil || len(cols) != 3 || cols[2].Name != "amount" {
		t.Fatalf("ListColumns: %v %v", cols, err)
	}
	if _, err := s.Catalog().ListColumns("nope"); !errors.Is(err, plan.ErrAnalysis) {
		t.Fatalf("ListColumns of a missing view: %v", err)
	}

	query := "SELECT c.user_id, u.name, c.amount * 10 AS amount10 FROM clicks c JOIN users u ON c.user_id = u.user_id WHERE c.event_type = 'view'"
	df := s.SQL(query)
	if df.Err() != nil || !df.IsStreaming() {
		t.Fatalf("streaming SQL: %v, streaming %v", df.Err(), df.IsStreaming())
	}
	chain := s.Table("clicks").Alias("c").Join(s.Table("users").Alias("u"), Expr("c.user_id = u.user_id")).
		Filter("c.event_type = 'view'").SelectExpr("c.user_id", "u.name", "c.amount * 10 AS amount10")
	if got, want := plan.Explain(df.Plan()), plan.Explain(chain.Plan()); got != want {
		t.Fatalf("SQL plan:\n%s\nDataFrame plan:\n%s", got, want)
	}
	if _, err := df.Collect(); !errors.Is(err, ErrStreaming) {
		t.Fatalf("Collect of a streaming SQL query: %v", err)
	}

	sink := &recordingSink{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q, err := df.WriteStream().Sink(sink).Clock(trigger.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))).
		Option("checkpointLocation", t.TempDir()).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	for _, rows := range [][]string{
		{`{"user_id":"a","event_type":"view","amount":1}`, `{"user_id":"z","event_type":"view","amount":2}`},
		{`{"user_id":"b","event_type":"click","amount":3}`, `{"user_id":"b","event_type":"view","amount":null}`},
	} {
		b, err := rowsFromJSON(mem, clicksSchema, rows)
		if err != nil {
			t.Fatal(err)
		}
		_, err = st.AddBatch(b)
		b.Release()
		if err != nil {
			t.Fatal(err)
		}
		if err := q.ProcessAllAvailable(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want := strings.Join([]string{
		"+-------+----+--------+",
		"|user_id|name|amount10|",
		"+-------+----+--------+",
		"|      a| Ada|      10|",
		"|      b| Bob|    NULL|",
		"+-------+----+--------+",
	}, "\n")
	if got := strings.TrimSpace(sink.table()); got != want {
		t.Fatalf("stream result:\n%s\nwant:\n%s", got, want)
	}

	// Dropping a view leaves queries built from it alone.
	if !s.Catalog().DropTempView("clicks") || s.Catalog().DropTempView("clicks") {
		t.Fatal("DropTempView")
	}
	if err := s.SQL("SELECT * FROM clicks").Err(); !errors.Is(err, plan.ErrAnalysis) {
		t.Fatalf("dropped view: %v", err)
	}
}

// A streaming query the engine cannot run in the chosen mode fails at
// Start with the engine's message, as the DataFrame API does.
func TestSQLStreamingRestrictions(t *testing.T) {
	s := NewSession()
	schema, _ := expr.ParseDDL("k STRING, v INT")
	st := memsrc.NewArrowStream("s", schema)
	defer st.Close()
	if err := s.ReadStream(st).CreateOrReplaceTempView("s"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, q := range []string{
		"SELECT k, v FROM s ORDER BY v",
		"SELECT k FROM s LIMIT 3",
	} {
		df := s.SQL(q)
		if df.Err() != nil {
			t.Fatalf("%s: %v", q, df.Err())
		}
		_, err := df.WriteStream().Sink(&recordingSink{}).Option("checkpointLocation", t.TempDir()).Start(ctx)
		if !errors.Is(err, plan.ErrUnsupported) {
			t.Fatalf("%s: Start: %v", q, err)
		}
	}
}

// EXPLAIN returns one row of plan text, built when it runs, so the
// result holds no Arrow memory between runs.
func TestSQLExplainStatement(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := NewSessionWith(Config{Allocator: mem})
	schema, _ := expr.ParseDDL("k STRING, v INT")
	if err := s.CreateDataFrame(schema).CreateOrReplaceTempView("t"); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []bool{false, true} {
		q := "SELECT k, sum(v) AS s FROM t WHERE v > 0 GROUP BY k"
		stmt := "EXPLAIN " + q
		if ext {
			stmt = "EXPLAIN EXTENDED " + q
		}
		df := s.SQL(stmt)
		if cols := df.Columns(); len(cols) != 1 || cols[0] != "plan" {
			t.Fatalf("columns %v (%v)", cols, df.Err())
		}
		rows, err := df.Rows()
		if err != nil || len(rows) != 1 {
			t.Fatalf("rows %v %v", rows, err)
		}
		if got, want := rows[0][0], s.SQL(q).Explain(ext); got != want {
			t.Fatalf("EXPLAIN:\n%s\nwant:\n%s", got, want)
		}
	}
	if err := s.SQL("EXPLAIN SELECT nope FROM t").Err(); !errors.Is(err, plan.ErrAnalysis) {
		t.Fatalf("EXPLAIN of a bad query: %v", err)
	}
}
