package expr

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The parser's shapes: each statement renders normalised (keywords upper
// case, implicit parts spelled out), which shows how it was read.
func TestParseSQL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"select a, b + 1 c from t", "SELECT a, b + 1 AS c FROM t"},
		{"SELECT DISTINCT * EXCEPT (a) FROM t AS x", "SELECT DISTINCT * EXCEPT (a) FROM t AS x"},
		{"SELECT x.*, `a b` FROM t x", "SELECT x.*, `a b` FROM t AS x"},
		{"SELECT ALL a FROM t", "SELECT a FROM t"},
		{"SELECT 1", "SELECT 1"},
		{"SELECT a FROM t WHERE a > 1 GROUP BY a, 2 HAVING count(*) > 1 ORDER BY 1 DESC NULLS FIRST LIMIT 5",
			"SELECT a FROM t WHERE a > 1 GROUP BY a, 2 HAVING count(*) > 1 ORDER BY 1 DESC NULLS FIRST LIMIT 5"},
		{"SELECT a FROM t GROUP BY ALL", "SELECT a FROM t GROUP BY ALL"},
		{"SELECT a FROM t LIMIT ALL", "SELECT a FROM t"},
		{"SELECT * FROM a JOIN b ON a.x = b.x", "SELECT * FROM a INNER JOIN b ON a.x = b.x"},
		{"SELECT * FROM a LEFT JOIN b USING (x, y)", "SELECT * FROM a LEFT OUTER JOIN b USING (x, y)"},
		{"SELECT * FROM a RIGHT OUTER JOIN b ON true", "SELECT * FROM a RIGHT OUTER JOIN b ON true"},
		{"SELECT * FROM a FULL JOIN b ON true", "SELECT * FROM a FULL OUTER JOIN b ON true"},
		{"SELECT * FROM a SEMI JOIN b ON true", "SELECT * FROM a LEFT SEMI JOIN b ON true"},
		{"SELECT * FROM a LEFT ANTI JOIN b ON true", "SELECT * FROM a LEFT ANTI JOIN b ON true"},
		{"SELECT * FROM a CROSS JOIN b", "SELECT * FROM a CROSS JOIN b"},
		{"SELECT * FROM a NATURAL JOIN b", "SELECT * FROM a NATURAL INNER JOIN b"},
		{"SELECT * FROM a, b, c", "SELECT * FROM a, b, c"},
		{"SELECT * FROM a JOIN (b JOIN c ON b.x = c.x) ON a.x = b.x", "SELECT * FROM a INNER JOIN (b INNER JOIN c ON b.x = c.x) ON a.x = b.x"},
		{"SELECT * FROM a JOIN b", "SELECT * FROM a INNER JOIN b"},
		{"SELECT * FROM (SELECT 1 AS x) s(y)", "SELECT * FROM (SELECT 1 AS x) AS s(y)"},
		{"SELECT * FROM (SELECT 1)", "SELECT * FROM (SELECT 1)"},
		{"SELECT * FROM ((SELECT 1) UNION ALL (SELECT 2)) u", "SELECT * FROM ((SELECT 1) UNION ALL (SELECT 2)) AS u"},
		{"SELECT * FROM ((a JOIN b ON true))", "SELECT * FROM a INNER JOIN b ON true"},
		{"WITH x AS (SELECT 1), y (a) AS (SELECT * FROM x) SELECT * FROM y",
			"WITH x AS (SELECT 1), y(a) AS (SELECT * FROM x) SELECT * FROM y"},
		{"WITH x (SELECT 1) SELECT * FROM x", "WITH x AS (SELECT 1) SELECT * FROM x"},
		// INTERSECT binds tighter than UNION and EXCEPT.
		{"SELECT 1 UNION SELECT 2 INTERSECT SELECT 3 EXCEPT ALL SELECT 4",
			"SELECT 1 UNION SELECT 2 INTERSECT SELECT 3 EXCEPT ALL SELECT 4"},
		{"SELECT 1 MINUS SELECT 2", "SELECT 1 EXCEPT SELECT 2"},
		{"SELECT 1 UNION DISTINCT SELECT 2 ORDER BY 1 LIMIT 1", "SELECT 1 UNION SELECT 2 ORDER BY 1 ASC NULLS FIRST LIMIT 1"},
		{"(SELECT 1 LIMIT 1) UNION ALL (SELECT 2)", "(SELECT 1 LIMIT 1) UNION ALL (SELECT 2)"},
		{"TABLE t", "SELECT * FROM t"},
		{"EXPLAIN SELECT 1", "EXPLAIN SELECT 1"},
		{"explain extended select 1;", "EXPLAIN EXTENDED SELECT 1"},
		{"SELECT CAST(a AS INT), a::string, INTERVAL 5 MINUTES, TIMESTAMP '2026-01-01 00:00:00' FROM t",
			"SELECT CAST(a AS INT), CAST(a AS STRING), INTERVAL '300 seconds', TIMESTAMP '2026-01-01 00:00:00' FROM t"},
		{"SELECT window(ts, '5 minutes'), count(*) FROM t GROUP BY window(ts, '5 minutes')",
			"SELECT window(ts, '5 minutes'), count(*) FROM t GROUP BY window(ts, '5 minutes')"},
		{"-- c\nSELECT /* x */ a -- y\nFROM t", "SELECT a FROM t"},
		{"SELECT a FROM t WHERE a IN (1, 2) AND b LIKE 'x%'", "SELECT a FROM t WHERE (a IN (1, 2)) AND (b LIKE 'x%')"},
	} {
		st, err := ParseSQL(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := st.String(); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

// Every syntax error says what was expected and where; the common
// mistakes get a hint.
func TestParseSQLErrors(t *testing.T) {
	for _, tc := range []struct{ in, pos, msg, hint string }{
		{"", "1:1", "expected a query (SELECT, WITH or EXPLAIN), found end of input", "the text is empty"},
		{"SELECT a, FROM t", "1:11", "expected an expression, found keyword FROM", "remove the comma before FROM"},
		{"SELECT FROM t", "1:8", "expected an expression", "the select list is empty"},
		{"SELECT a b c FROM t", "1:12", "expected ',', FROM, WHERE", "is a comma missing before 'c'?"},
		{"SELECT a FROM t GROUP BY a WHERE b", "1:28", "found keyword WHERE", "WHERE must come before GROUP BY"},
		{"SELECT a FROM t WHERE a WHERE b", "1:25", "found keyword WHERE", "a query has one WHERE clause"},
		{"SELECT a FROM t LIMIT 1 ORDER BY a", "1:25", "expected end of input", "ORDER BY must come before LIMIT"},
		{"SELECT a FROM t x y", "1:19", "expected JOIN, WHERE", ""},
		{"SELECT * FROM t LEFT JOIN u", "1:28", "expected ON or USING", "a LEFT OUTER JOIN needs a condition"},
		{"SELECT * FROM t JOIN u USING id", "1:30", "expected '(' after USING", "USING (id)"},
		{"SELECT * FROM t NATURAL JOIN u ON t.a = u.a", "1:32", "a NATURAL join takes no ON or USING", ""},
		{"SELECT * FROM t WHERE a IN (SELECT b FROM u)", "1:29", "subqueries in expressions", "LEFT SEMI JOIN"},
		{"SELECT * FROM t WHERE EXISTS (SELECT 1)", "1:31", "subqueries in expressions", ""},
		{"SELECT (SELECT 1)", "1:9", "subqueries in expressions", ""},
		{"SELECT rank() OVER (ORDER BY a) FROM t", "1:15", "window functions (OVER) are not supported", ""},
		{"SELECT count(*) FILTER (WHERE a) FROM t", "1:17", "FILTER (WHERE ...)", "count(CASE WHEN cond THEN 1 END)"},
		{"SELECT * FROM db.t", "1:15", "table names have one part", ""},
		{"SELECT * FROM range(10)", "1:15", "table-valued functions are not supported", ""},
		{"SELECT * FROM where", "1:15", "expected a table name or '('", "name the table to read after FROM"},
		{"SELECT * FROM select", "1:15", "expected a table name or '('", "backquote it"},
		{"SELECT 1; SELECT 2", "1:11", "only one statement is allowed", ""},
		{"CREATE TABLE t (a INT)", "1:1", "CREATE statements are not supported", "CreateOrReplaceTempView"},
		{"SHOW TABLES", "1:1", "SHOW statements are not supported", "ListTables"},
		{"WITH x AS SELECT 1 SELECT 2", "1:11", "expected '('", "WITH x AS (SELECT ...)"},
		{"WITH x AS (SELECT 1), x AS (SELECT 2) SELECT 3", "1:23", "defines `x` twice", ""},
		{"WITH x AS (SELECT 1) y AS (SELECT 2) SELECT 3", "1:22", "expected SELECT after the WITH clause", "is a comma missing"},
		{"WITH RECURSIVE x AS (SELECT 1) SELECT 1", "1:6", "recursive WITH is not supported", ""},
		{"SELECT a FROM (SELECT a FROM t", "1:31", "expected JOIN, WHERE, GROUP BY, HAVING, UNION, ORDER BY, LIMIT or ')'", ""},
		{"SELECT a FROM t GROUP BY ROLLUP (a)", "1:26", "GROUPING SETS, ROLLUP and CUBE are not supported", ""},
		{"SELECT a FROM t SORT BY a", "1:17", "SORT BY is not supported", "ORDER BY"},
		{"SELECT a FROM t LIMIT 1 OFFSET 2", "1:25", "OFFSET is not supported", ""},
		{"SELECT a FROM t INTERSECT", "1:26", "expected SELECT or '('", ""},
		{"VALUES (1)", "1:1", "VALUES lists are not supported", ""},
		{"FROM t SELECT a", "1:1", "a query starts with SELECT", ""},
		{"EXPLAIN FORMATTED SELECT 1", "1:9", "EXPLAIN FORMATTED is not supported", ""},
		{"EXPLAIN", "1:8", "expected a query after EXPLAIN", ""},
		{"SELECT a FROM t SELECT b", "1:17", "found keyword SELECT", "is UNION missing"},
		{"SELECT 'abc FROM t", "1:8", "unterminated string", ""},
		{"SELECT a\nFROM t\nWHERE b = = 1", "3:11", "expected an expression, found '='", ""},
		{"SELECT * FROM (a JOIN b ON true) AS x", "1:34", "an alias after a parenthesised join is not supported", ""},
		{"SELECT * FROM t LATERAL VIEW explode(a) x", "1:17", "LATERAL VIEW is not supported", "explode"},
		{"SELECT " + strings.Repeat("(", 600) + "1", "", "nests too deeply", ""},
		{strings.Repeat("(", 300) + "SELECT 1", "", "nests too deeply", ""},
	} {
		_, err := ParseSQL(tc.in)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: want a *ParseError, got %v", tc.in, err)
			continue
		}
		if got := posString(pe.Pos); tc.pos != "" && got != tc.pos {
			t.Errorf("%q: error at %s, want %s: %v", tc.in, got, tc.pos, err)
		}
		if !strings.Contains(pe.Message(), tc.msg) {
			t.Errorf("%q: message %q, want it to contain %q", tc.in, pe.Message(), tc.msg)
		}
		if !strings.Contains(pe.Hint, tc.hint) {
			t.Errorf("%q: hint %q, want it to contain %q", tc.in, pe.Hint, tc.hint)
		}
	}
}

// Statements render as SQL that parses back to the same rendering, so
// the rendering shows exactly what was parsed.
func TestSQLRoundTrip(t *testing.T) {
	for _, text := range sqlCorpus(t) {
		st, err := ParseSQL(text)
		if err != nil {
			continue
		}
		out := st.String()
		again, err := ParseSQL(out)
		if err != nil {
			t.Errorf("%q renders as %q, which does not parse: %v", text, out, err)
			continue
		}
		if again.String() != out {
			t.Errorf("%q renders as %q, which renders as %q", text, out, again.String())
		}
	}
}

func TestTablesAndPositions(t *testing.T) {
	text := "WITH w AS (SELECT * FROM a) SELECT x.k, upper(b.v) FROM w x JOIN b ON x.k = b.k, (SELECT 1 FROM C) s"
	st, err := ParseSQL(text)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(Tables(st), ","); got != "a,w,b,C" {
		t.Fatalf("tables %s", got)
	}
	sel := st.(*Query).Body.(*SelectStmt)
	item := sel.Items[1]
	if got := text[item.Pos.Offset:item.End]; got != "upper(b.v)" {
		t.Fatalf("item text %q", got)
	}
	call := item.Expr.(*Call)
	if p, ok := item.FindInText(text, call); !ok || text[p.Offset:p.Offset+5] != "upper" {
		t.Fatalf("call at %+v %v", p, ok)
	}
	if p, ok := item.FindInText(text, call.Args[0]); !ok || text[p.Offset:p.Offset+3] != "b.v" {
		t.Fatalf("column at %+v %v", p, ok)
	}
	if _, ok := item.FindInText(text, &Column{Parts: []string{"v"}}); ok {
		t.Fatal("a field after a dot is not the column v")
	}
	on := sel.From.(*JoinExpr).Left.(*JoinExpr).On
	if p, ok := on.FindInText(text, &Column{Parts: []string{"b", "k"}}); !ok || p.Col != strings.Index(text, "b.k")+1 {
		t.Fatalf("b.k at %+v %v", p, ok)
	}
}

// A parenthesis in FROM may open a query or a relation; trying both must
// not take time exponential in the nesting.
func TestParseSQLNestedParensStayFast(t *testing.T) {
	for _, text := range []string{
		strings.Repeat("SELECT * FROM ((", 60) + "x",
		"SELECT * FROM " + strings.Repeat("((SELECT 1) UNION ALL ", 40) + "x",
		"SELECT * FROM " + strings.Repeat("(", 150) + "t" + strings.Repeat(")", 150),
	} {
		start := time.Now()
		_, err := ParseSQL(text)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("%d bytes took %v (%v)", len(text), d, err)
		}
	}
}
