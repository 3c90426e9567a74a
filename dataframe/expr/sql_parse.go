package expr

import (
	"errors"
	"strings"
)

// ParseSQL parses one SQL statement in Spark's dialect: a query (SELECT,
// WITH, UNION / INTERSECT / EXCEPT, ORDER BY, LIMIT) or EXPLAIN
// [EXTENDED] query. A trailing semicolon is allowed. Errors are
// *ParseError, positioned in text.
func ParseSQL(text string) (Statement, error) {
	p, err := NewParser(text)
	if err != nil {
		return nil, err
	}
	p.Subquery = sqlSubquery
	p.CallSuffix = sqlCallSuffix
	sp := &sqlParser{p: p}
	st, err := sp.statement()
	if err != nil {
		return nil, err
	}
	semi := p.AcceptOp(";")
	if !p.AtEOF() {
		if semi || p.IsOp(";") {
			return nil, p.ErrorAt(p.Peek(), "only one statement is allowed", "run each statement with its own SQL call")
		}
		return nil, sp.errAfterClause(false)
	}
	return st, nil
}

// maxQueryDepth bounds nested queries (subqueries, parentheses, WITH) so
// hostile input cannot exhaust the stack.
const maxQueryDepth = 200

// sqlParser parses statements on top of the expression Parser.
type sqlParser struct {
	p     *Parser
	depth int
	// memo holds the outcomes of parenthesised FROM items already tried
	// (see memoized).
	memo map[memoKey]memoEntry
	// last is the most recent clause of the current query level ("SELECT",
	// "FROM", "WHERE", ...), for "expected ..." messages and the hint when
	// a clause comes out of order.
	last string
}

// clauses is the order of a query's clauses, with the keyword that starts
// each and how it is shown.
var clauses = []struct{ kw, show string }{
	{"SELECT", "SELECT"}, {"FROM", "FROM"}, {"WHERE", "WHERE"}, {"GROUP", "GROUP BY"},
	{"HAVING", "HAVING"}, {"ORDER", "ORDER BY"}, {"LIMIT", "LIMIT"},
}

func clauseRank(show string) int {
	for i, c := range clauses {
		if c.show == show {
			return i
		}
	}
	return -1
}

// errAfterClause reports an unexpected token after the clause sp.last:
// it lists what may follow and, for a clause keyword out of order, says
// where it belongs. nested is true inside parentheses, where ')' may follow.
func (sp *sqlParser) errAfterClause(nested bool) *ParseError {
	p := sp.p
	rank := clauseRank(sp.last)
	var next []string
	if sp.last == "SELECT" {
		next = append(next, "','")
	}
	for i, c := range clauses {
		if i > rank && i > 0 {
			if c.kw == "WHERE" && sp.last == "FROM" {
				next = append(next, "JOIN")
			}
			next = append(next, c.show)
			if c.kw == "HAVING" {
				next = append(next, "UNION")
			}
		}
	}
	if rank < 0 {
		next = []string{"UNION", "ORDER BY", "LIMIT"}
	}
	if nested {
		next = append(next, "')'")
	} else {
		next = append(next, "end of input")
	}
	expected := next[0]
	if len(next) > 1 {
		expected = strings.Join(next[:len(next)-1], ", ") + " or " + next[len(next)-1]
	}
	err := p.ErrExpected(expected)
	t := p.Peek()
	if t.IsKeyword("SELECT") {
		err.Hint = "is UNION missing before this SELECT? A subquery goes in parentheses"
		return err
	}
	for i, c := range clauses {
		if t.IsKeyword(c.kw) && rank >= 0 && i <= rank {
			err.Hint = c.show + " must come before " + sp.last
			if i == rank {
				err.Hint = "a query has one " + c.show + " clause; combine the conditions with AND or use a subquery"
				if c.kw == "FROM" {
					err.Hint = "a query has one FROM clause; list several tables with JOIN or commas"
				}
			}
			return err
		}
	}
	if err.Hint == "" && (t.Kind == TokIdent && !IsReservedKeyword(t.Value) || t.Kind == TokQuotedIdent) {
		switch sp.last {
		case "SELECT", "GROUP BY", "ORDER BY":
			err.Hint = "is a comma missing before " + t.describe() + "?"
		}
	}
	return err
}

func (sp *sqlParser) enter() error {
	sp.depth++
	if sp.depth > maxQueryDepth {
		return sp.p.ErrorAt(sp.p.Peek(), "the query nests too deeply", "split it into views or WITH clauses")
	}
	return nil
}

func (sp *sqlParser) leave() { sp.depth-- }

// lastEnd is the byte offset just after the last consumed token.
func (sp *sqlParser) lastEnd() int {
	if sp.p.i == 0 {
		return 0
	}
	return sp.p.toks[sp.p.i-1].End
}

// unsupportedStatements are statements people try first, with what to do
// instead.
var unsupportedStatements = map[string]string{
	"CREATE":   "register a DataFrame as a view with df.CreateOrReplaceTempView(name)",
	"INSERT":   "write results with df.Write() or df.WriteStream()",
	"UPDATE":   "compute the new rows with a SELECT and write them out",
	"DELETE":   "keep the rows you want with a SELECT ... WHERE",
	"MERGE":    "join the inputs with a SELECT and write the result",
	"DROP":     "remove a view with session.Catalog().DropTempView(name)",
	"ALTER":    "derive a new view from a SELECT",
	"SHOW":     "list views with session.Catalog().ListTables()",
	"DESCRIBE": "read a view's columns with session.Catalog().ListColumns(name) or df.PrintSchema()",
	"DESC":     "read a view's columns with session.Catalog().ListColumns(name) or df.PrintSchema()",
	"SET":      "set options on the Session's Config",
	"USE":      "views live in the session; there are no databases",
	"CACHE":    "collect the DataFrame once and register the result as a view",
	"TRUNCATE": "there are no tables to change; views are read-only",
	"LOAD":     "read files with session.Read()",
	"ANALYZE":  "there are no table statistics",
	"REFRESH":  "files are listed when the DataFrame is created; read them again",
}

func (sp *sqlParser) statement() (Statement, error) {
	p := sp.p
	t := p.Peek()
	switch {
	case t.IsKeyword("EXPLAIN"):
		p.Next()
		ext := false
		switch {
		case p.AcceptKeyword("EXTENDED"):
			ext = true
		case p.IsKeyword("FORMATTED", "CODEGEN", "COST", "LOGICAL"):
			return nil, p.ErrorAt(p.Peek(), "EXPLAIN "+strings.ToUpper(p.Peek().Value)+" is not supported",
				"use EXPLAIN or EXPLAIN EXTENDED")
		}
		if !sp.startsQuery() {
			return nil, sp.errNotQuery("a query after EXPLAIN")
		}
		q, err := sp.query()
		if err != nil {
			return nil, err
		}
		return &ExplainStmt{Pos: t.Pos, Extended: ext, Query: q}, nil
	case sp.startsQuery():
		return sp.query()
	}
	return nil, sp.errNotQuery("a query (SELECT, WITH or EXPLAIN)")
}

func (sp *sqlParser) startsQuery() bool {
	p := sp.p
	return p.IsKeyword("SELECT", "WITH", "VALUES", "FROM") || p.IsOp("(") ||
		p.IsKeyword("TABLE") && (p.PeekAt(1).Kind == TokIdent || p.PeekAt(1).Kind == TokQuotedIdent)
}

func (sp *sqlParser) errNotQuery(expected string) error {
	p := sp.p
	t := p.Peek()
	if t.Kind == TokIdent {
		kw := strings.ToUpper(t.Value)
		if hint, ok := unsupportedStatements[kw]; ok {
			return p.ErrorAt(t, kw+" statements are not supported: sluice SQL runs queries", hint)
		}
	}
	return p.ErrExpected(expected)
}

// query parses [WITH ...] body [ORDER BY ...] [LIMIT n].
func (sp *sqlParser) query() (*Query, error) {
	if err := sp.enter(); err != nil {
		return nil, err
	}
	defer sp.leave()
	p := sp.p
	q := &Query{Pos: p.Peek().Pos}
	if p.AcceptKeyword("WITH") {
		if p.IsKeyword("RECURSIVE") {
			return nil, p.ErrorAt(p.Peek(), "recursive WITH is not supported", "")
		}
		seen := map[string]bool{}
		for {
			c, err := sp.cte()
			if err != nil {
				return nil, err
			}
			k := strings.ToLower(c.Name.Name)
			if seen[k] {
				return nil, &ParseError{Text: p.text, Pos: c.Name.Pos, Msg: "the WITH clause defines `" + c.Name.Name + "` twice",
					Hint: "give each query of the WITH clause its own name"}
			}
			seen[k] = true
			q.With = append(q.With, c)
			if !p.AcceptOp(",") {
				break
			}
		}
		if !sp.startsQuery() {
			err := p.ErrExpected("SELECT after the WITH clause")
			if p.Peek().Kind == TokIdent && !IsReservedKeyword(p.Peek().Value) {
				err.Hint = "is a comma missing between the queries of the WITH clause?"
			}
			return nil, err
		}
	}
	body, err := sp.setExpr()
	if err != nil {
		return nil, err
	}
	q.Body = body
	if err := sp.orderLimit(q); err != nil {
		return nil, err
	}
	return q, nil
}

// cte parses `name [(a, b)] [AS] (query)`.
func (sp *sqlParser) cte() (*CTE, error) {
	p := sp.p
	t := p.Peek()
	if t.Kind != TokQuotedIdent && (t.Kind != TokIdent || IsReservedKeyword(t.Value)) {
		err := p.ErrExpected("a name for the query of the WITH clause")
		if t.IsKeyword("SELECT") {
			err.Hint = "name the query: WITH recent AS (SELECT ...) SELECT ... FROM recent"
		}
		return nil, err
	}
	p.Next()
	c := &CTE{Name: Ident{Name: t.Value, Pos: t.Pos}}
	if p.IsOp("(") && !p.PeekAt(1).IsKeyword("SELECT") && !p.PeekAt(1).IsKeyword("WITH") {
		cols, err := sp.identList()
		if err != nil {
			return nil, err
		}
		c.Columns = cols
	}
	p.AcceptKeyword("AS")
	if _, err := p.ExpectOp("("); err != nil {
		err.(*ParseError).Hint = "put the query in parentheses: WITH " + QuoteIdent(t.Value) + " AS (SELECT ...)"
		return nil, err
	}
	q, err := sp.query()
	if err != nil {
		return nil, err
	}
	if _, err := p.ExpectOp(")"); err != nil {
		return nil, sp.errAfterClause(true)
	}
	c.Query = q
	return c, nil
}

// identList parses `(a, b, ...)`.
func (sp *sqlParser) identList() ([]Ident, error) {
	p := sp.p
	if _, err := p.ExpectOp("("); err != nil {
		return nil, err
	}
	var out []Ident
	for {
		t := p.Peek()
		name, err := p.ParseIdentifier()
		if err != nil {
			return nil, err
		}
		out = append(out, Ident{Name: name, Pos: t.Pos})
		if !p.AcceptOp(",") {
			break
		}
	}
	if _, err := p.ExpectOp(")"); err != nil {
		return nil, err
	}
	return out, nil
}

// setExpr parses bodies joined by UNION / EXCEPT (left to right), over
// INTERSECT, which binds tighter, as in Spark.
func (sp *sqlParser) setExpr() (QueryBody, error) {
	p := sp.p
	left, err := sp.intersectExpr()
	if err != nil {
		return nil, err
	}
	for {
		t := p.Peek()
		var op SetOpKind
		switch {
		case t.IsKeyword("UNION"):
			op = SetUnion
		case t.IsKeyword("EXCEPT"), t.IsKeyword("MINUS"):
			op = SetExcept
		default:
			return left, nil
		}
		p.Next()
		all := p.AcceptKeyword("ALL")
		if !all {
			p.AcceptKeyword("DISTINCT")
		}
		right, err := sp.intersectExpr()
		if err != nil {
			return nil, err
		}
		left = &SetOp{Pos: t.Pos, Op: op, All: all, Left: left, Right: right}
	}
}

func (sp *sqlParser) intersectExpr() (QueryBody, error) {
	p := sp.p
	left, err := sp.primaryBody()
	if err != nil {
		return nil, err
	}
	for p.IsKeyword("INTERSECT") {
		t := p.Next()
		all := p.AcceptKeyword("ALL")
		if !all {
			p.AcceptKeyword("DISTINCT")
		}
		right, err := sp.primaryBody()
		if err != nil {
			return nil, err
		}
		left = &SetOp{Pos: t.Pos, Op: SetIntersect, All: all, Left: left, Right: right}
	}
	return left, nil
}

// primaryBody parses a SELECT, a parenthesised query or TABLE name.
func (sp *sqlParser) primaryBody() (QueryBody, error) {
	p := sp.p
	t := p.Peek()
	switch {
	case t.IsKeyword("SELECT"):
		return sp.selectStmt()
	case t.IsOp("("):
		p.Next()
		if !sp.startsQuery() {
			return nil, sp.errNotQuery("a query after '('")
		}
		q, err := sp.query()
		if err != nil {
			return nil, err
		}
		if !p.IsOp(")") {
			return nil, sp.errAfterClause(true)
		}
		p.Next()
		sp.last = "(query)"
		return &ParenQuery{Pos: t.Pos, Query: q}, nil
	case t.IsKeyword("TABLE"):
		p.Next()
		ref, err := sp.tableRef()
		if err != nil {
			return nil, err
		}
		sp.last = "FROM"
		return &SelectStmt{Pos: t.Pos, Items: []*SQLExpr{{Expr: &Star{}, Pos: t.Pos, End: t.End}}, From: ref}, nil
	case t.IsKeyword("VALUES"):
		return nil, p.ErrorAt(t, "VALUES lists are not supported",
			"make a DataFrame with session.CreateDataFrame and register it with CreateOrReplaceTempView")
	case t.IsKeyword("FROM"):
		return nil, p.ErrorAt(t, "a query starts with SELECT", "write SELECT ... FROM t")
	}
	return nil, p.ErrExpected("SELECT or '('")
}

// selectStmt parses SELECT ... [FROM] [WHERE] [GROUP BY] [HAVING].
func (sp *sqlParser) selectStmt() (*SelectStmt, error) {
	p := sp.p
	selTok := p.Next()
	s := &SelectStmt{Pos: selTok.Pos}
	sp.last = "SELECT"
	if p.AcceptKeyword("DISTINCT") {
		s.Distinct = true
	} else {
		p.AcceptKeyword("ALL")
	}
	if p.IsKeyword("TRANSFORM") && p.PeekAt(1).IsOp("(") {
		return nil, p.ErrorAt(p.Peek(), "SELECT TRANSFORM (scripts) is not supported", "")
	}
	for {
		it, err := sp.selectItem()
		if err != nil {
			return nil, err
		}
		s.Items = append(s.Items, it)
		if !p.AcceptOp(",") {
			break
		}
	}
	if p.AcceptKeyword("FROM") {
		sp.last = "FROM"
		f, err := sp.fromList()
		if err != nil {
			return nil, err
		}
		s.From = f
		if p.IsKeyword("LATERAL") && p.PeekAt(1).IsKeyword("VIEW") {
			return nil, p.ErrorAt(p.Peek(), "LATERAL VIEW is not supported",
				"use a generator in the select list: SELECT t.*, explode(t.items) AS item FROM t")
		}
		sp.last = "FROM"
	}
	if p.AcceptKeyword("WHERE") {
		sp.last = "WHERE"
		w, err := sp.expr()
		if err != nil {
			return nil, err
		}
		s.Where = w
	}
	if p.IsKeyword("GROUP") {
		s.GroupByPos = p.Next().Pos
		if _, err := p.ExpectKeyword("BY"); err != nil {
			return nil, err
		}
		sp.last = "GROUP BY"
		switch {
		case p.IsKeyword("ALL") && !p.PeekAt(1).IsOp("(") && !p.PeekAt(1).IsOp("."):
			p.Next()
			s.GroupByAll = true
		case p.IsKeyword("GROUPING", "ROLLUP", "CUBE") && (p.PeekAt(1).IsOp("(") || p.PeekAt(1).IsKeyword("SETS")):
			return nil, p.ErrorAt(p.Peek(), "GROUPING SETS, ROLLUP and CUBE are not supported",
				"compute each grouping with its own GROUP BY and combine them with UNION ALL")
		default:
			for {
				g, err := sp.expr()
				if err != nil {
					return nil, err
				}
				s.GroupBy = append(s.GroupBy, g)
				if !p.AcceptOp(",") {
					break
				}
			}
		}
		if p.IsKeyword("WITH") && (p.PeekAt(1).IsKeyword("ROLLUP") || p.PeekAt(1).IsKeyword("CUBE")) {
			return nil, p.ErrorAt(p.Peek(), "WITH ROLLUP and WITH CUBE are not supported",
				"compute each grouping with its own GROUP BY and combine them with UNION ALL")
		}
	}
	if p.AcceptKeyword("HAVING") {
		sp.last = "HAVING"
		h, err := sp.expr()
		if err != nil {
			return nil, err
		}
		s.Having = h
	}
	switch {
	case p.IsKeyword("WINDOW"):
		return nil, p.ErrorAt(p.Peek(), "the WINDOW clause is not supported", "")
	case p.IsKeyword("QUALIFY"):
		return nil, p.ErrorAt(p.Peek(), "QUALIFY is not supported", "filter in an outer query")
	case p.IsKeyword("FROM", "WHERE", "GROUP", "HAVING", "SELECT"):
		return nil, sp.errAfterClause(sp.depth > 1)
	}
	return s, nil
}

// selectItem parses one entry of the select list.
func (sp *sqlParser) selectItem() (*SQLExpr, error) {
	p := sp.p
	start := p.Peek()
	e, err := p.ParseNamedExpr()
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) && p.Peek().Pos == pe.Pos && p.IsKeyword("FROM") {
			switch {
			case p.i > 0 && p.toks[p.i-1].IsOp(","):
				pe.Hint = "remove the comma before FROM"
			case p.i > 0 && p.toks[p.i-1].IsKeyword("SELECT"), p.i > 0 && p.toks[p.i-1].IsKeyword("DISTINCT"):
				pe.Hint = "the select list is empty: name the columns to compute, or * for all of them"
			}
		}
		return nil, err
	}
	return &SQLExpr{Expr: e, Pos: start.Pos, End: sp.lastEnd()}, nil
}

// expr parses an expression with its position.
func (sp *sqlParser) expr() (*SQLExpr, error) {
	start := sp.p.Peek()
	e, err := sp.p.ParseExpr()
	if err != nil {
		return nil, err
	}
	return &SQLExpr{Expr: e, Pos: start.Pos, End: sp.lastEnd()}, nil
}

// orderLimit parses the ORDER BY and LIMIT of a query.
func (sp *sqlParser) orderLimit(q *Query) error {
	p := sp.p
	if p.IsKeyword("SORT", "CLUSTER", "DISTRIBUTE") && p.PeekAt(1).IsKeyword("BY") {
		return p.ErrorAt(p.Peek(), strings.ToUpper(p.Peek().Value)+" BY is not supported", "use ORDER BY for a sorted result")
	}
	if p.IsKeyword("ORDER") {
		p.Next()
		if _, err := p.ExpectKeyword("BY"); err != nil {
			return err
		}
		sp.last = "ORDER BY"
		for {
			start := p.Peek()
			o, err := p.ParseSortOrder()
			if err != nil {
				return err
			}
			q.OrderBy = append(q.OrderBy, &SQLExpr{Expr: o, Pos: start.Pos, End: sp.lastEnd()})
			if !p.AcceptOp(",") {
				break
			}
		}
	}
	if p.IsKeyword("LIMIT") {
		p.Next()
		sp.last = "LIMIT"
		if !p.AcceptKeyword("ALL") {
			l, err := sp.expr()
			if err != nil {
				return err
			}
			q.Limit = l
		}
	}
	if p.IsKeyword("OFFSET") {
		return p.ErrorAt(p.Peek(), "OFFSET is not supported", "")
	}
	if p.IsKeyword("FROM", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "SELECT") {
		return sp.errAfterClause(sp.depth > 1)
	}
	return nil
}

// fromList parses relations separated by commas (inner joins without a
// condition).
func (sp *sqlParser) fromList() (FromItem, error) {
	p := sp.p
	left, err := sp.relation()
	if err != nil {
		return nil, err
	}
	for p.IsOp(",") {
		t := p.Next()
		right, err := sp.relation()
		if err != nil {
			return nil, err
		}
		left = &JoinExpr{Pos: t.Pos, Kind: JoinInner, Comma: true, Left: left, Right: right}
	}
	return left, nil
}

// relation parses a primary relation followed by any number of joins.
func (sp *sqlParser) relation() (FromItem, error) {
	p := sp.p
	left, err := sp.relationPrimary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.Peek()
		natural := p.AcceptKeyword("NATURAL")
		kind := JoinInner
		switch {
		case p.IsKeyword("JOIN"):
		case p.AcceptKeyword("INNER"):
		case p.AcceptKeyword("CROSS"):
			kind = JoinCross
		case p.AcceptKeyword("LEFT"):
			switch {
			case p.AcceptKeyword("SEMI"):
				kind = JoinLeftSemi
			case p.AcceptKeyword("ANTI"):
				kind = JoinLeftAnti
			default:
				p.AcceptKeyword("OUTER")
				kind = JoinLeft
			}
		case p.AcceptKeyword("RIGHT"):
			p.AcceptKeyword("OUTER")
			kind = JoinRight
		case p.AcceptKeyword("FULL"):
			p.AcceptKeyword("OUTER")
			kind = JoinFull
		case p.IsKeyword("SEMI") && p.PeekAt(1).IsKeyword("JOIN"):
			p.Next()
			kind = JoinLeftSemi
		case p.IsKeyword("ANTI") && p.PeekAt(1).IsKeyword("JOIN"):
			p.Next()
			kind = JoinLeftAnti
		default:
			if natural {
				return nil, p.ErrExpected("JOIN after NATURAL")
			}
			if p.IsKeyword("LATERAL") && p.PeekAt(1).IsKeyword("VIEW") {
				return left, nil // the SELECT reports it
			}
			if p.IsKeyword("LATERAL", "PIVOT", "UNPIVOT", "TABLESAMPLE") {
				return nil, p.ErrorAt(p.Peek(), strings.ToUpper(p.Peek().Value)+" is not supported", "")
			}
			return left, nil
		}
		joinTok, err := p.ExpectKeyword("JOIN")
		if err != nil {
			return nil, err
		}
		if natural && kind == JoinCross {
			return nil, p.ErrorAt(t, "NATURAL CROSS JOIN is not a join type", "use NATURAL JOIN or CROSS JOIN")
		}
		right, err := sp.relationPrimary()
		if err != nil {
			return nil, err
		}
		j := &JoinExpr{Pos: t.Pos, Kind: kind, Natural: natural, Left: left, Right: right}
		switch {
		case natural:
			if p.IsKeyword("ON", "USING") {
				return nil, p.ErrorAt(p.Peek(), "a NATURAL join takes no ON or USING: it joins on the columns both sides share", "drop NATURAL, or drop the condition")
			}
		case p.AcceptKeyword("ON"):
			on, err := sp.expr()
			if err != nil {
				return nil, err
			}
			j.On = on
		case p.AcceptKeyword("USING"):
			if !p.IsOp("(") {
				err := p.ErrExpected("'(' after USING")
				err.Hint = "list the join columns in parentheses: USING (id)"
				return nil, err
			}
			cols, err := sp.identList()
			if err != nil {
				return nil, err
			}
			j.Using = cols
		default:
			if kind != JoinInner && kind != JoinCross {
				err := p.ErrExpected("ON or USING")
				err.Hint = "a " + kind.String() + " JOIN needs a condition: ... ON a.id = b.id, or USING (id)"
				return nil, err
			}
		}
		_ = joinTok
		left = j
	}
}

// relationPrimary parses a table name or a parenthesised query or
// relation, with an optional alias.
func (sp *sqlParser) relationPrimary() (FromItem, error) {
	p := sp.p
	t := p.Peek()
	switch {
	case t.IsOp("("):
		if p.PeekAt(1).IsKeyword("SELECT") || p.PeekAt(1).IsKeyword("WITH") {
			return sp.subqueryRef()
		}
		if p.PeekAt(1).IsOp("(") {
			// ((SELECT ...) UNION ...) is a query, ((a JOIN b)) a
			// relation: try the query first; if neither parses, report
			// the error that got further.
			mark, savedLast := p.Mark(), sp.last
			sub, qerr := sp.memoized('q', sp.subqueryRef)
			if qerr == nil {
				return sub, nil
			}
			p.Reset(mark)
			sp.last = savedLast
			rel, rerr := sp.memoized('r', sp.parenRelation)
			if rerr == nil {
				return rel, nil
			}
			var qe, re *ParseError
			if errors.As(qerr, &qe) && errors.As(rerr, &re) && qe.Pos.Offset > re.Pos.Offset {
				return nil, qerr
			}
			return nil, rerr
		}
		return sp.parenRelation()
	case t.Kind == TokQuotedIdent, t.Kind == TokIdent && !IsReservedKeyword(t.Value):
		return sp.tableRef()
	case t.IsKeyword("LATERAL"):
		return nil, p.ErrorAt(t, "LATERAL subqueries are not supported", "")
	}
	err := p.ErrExpected("a table name or '('")
	if t.Kind == TokIdent {
		err.Hint = strings.ToUpper(t.Value) + " is a keyword; to use it as a table name, backquote it: `" + t.Value + "`"
		if t.IsKeyword("WHERE") || t.IsKeyword("GROUP") || t.IsKeyword("ORDER") || t.IsKeyword("LIMIT") {
			err.Hint = "name the table to read after FROM"
		}
	}
	return nil, err
}

// memoized runs parse at the current token once: trying a nested
// parenthesis both as a query and as a relation would otherwise take time
// exponential in the nesting. The outcome (and where it ended) is reused
// when another path reaches the same token.
func (sp *sqlParser) memoized(kind byte, parse func() (FromItem, error)) (FromItem, error) {
	key := memoKey{tok: sp.p.i, kind: kind}
	if m, ok := sp.memo[key]; ok {
		sp.p.i, sp.last = m.end, m.last
		return m.item, m.err
	}
	item, err := parse()
	if sp.memo == nil {
		sp.memo = map[memoKey]memoEntry{}
	}
	sp.memo[key] = memoEntry{item: item, err: err, end: sp.p.i, last: sp.last}
	return item, err
}

type memoKey struct {
	tok  int
	kind byte
}

type memoEntry struct {
	item FromItem
	err  error
	end  int
	last string
}

// subqueryRef parses `(query) [AS] alias`.
func (sp *sqlParser) subqueryRef() (FromItem, error) {
	p := sp.p
	t := p.Next() // (
	savedLast := sp.last
	q, err := sp.query()
	if err != nil {
		return nil, err
	}
	if !p.IsOp(")") {
		return nil, sp.errAfterClause(true)
	}
	p.Next()
	sp.last = savedLast
	alias, err := sp.tableAlias()
	if err != nil {
		return nil, err
	}
	return &SubqueryRef{Pos: t.Pos, Query: q, Alias: alias}, nil
}

// parenRelation parses `( relation )`; the parentheses only group.
func (sp *sqlParser) parenRelation() (FromItem, error) {
	p := sp.p
	if err := sp.enter(); err != nil {
		return nil, err
	}
	defer sp.leave()
	p.Next() // (
	rel, err := sp.fromList()
	if err != nil {
		return nil, err
	}
	if _, err := p.ExpectOp(")"); err != nil {
		return nil, err
	}
	if p.IsKeyword("AS") || p.Peek().Kind == TokQuotedIdent || p.Peek().Kind == TokIdent && !IsReservedKeyword(p.Peek().Value) && !p.IsKeyword("OFFSET") {
		return nil, p.ErrorAt(p.Peek(), "an alias after a parenthesised join is not supported",
			"alias the tables inside the parentheses, or wrap the join in a subquery: (SELECT * FROM a JOIN b ...) AS x")
	}
	return rel, nil
}

// tableRef parses a view name with an optional alias.
func (sp *sqlParser) tableRef() (*TableRef, error) {
	p := sp.p
	t := p.Peek()
	if t.Kind != TokQuotedIdent && (t.Kind != TokIdent || IsReservedKeyword(t.Value)) {
		return nil, p.ErrExpected("a table name")
	}
	p.Next()
	if p.IsOp(".") {
		return nil, p.ErrorAt(t, "table names have one part: views live in the session, there are no databases",
			"name the view without a qualifier")
	}
	if p.IsOp("(") {
		return nil, p.ErrorAt(t, "table-valued functions are not supported", "register a DataFrame as a view and read it by name")
	}
	ref := &TableRef{Pos: t.Pos, Name: Ident{Name: t.Value, Pos: t.Pos}}
	alias, err := sp.tableAlias()
	if err != nil {
		return nil, err
	}
	ref.Alias = alias
	if p.IsKeyword("TABLESAMPLE") {
		return nil, p.ErrorAt(p.Peek(), "TABLESAMPLE is not supported", "")
	}
	return ref, nil
}

// tableAlias parses `[AS] name [(col, ...)]` if present.
func (sp *sqlParser) tableAlias() (*TableAlias, error) {
	p := sp.p
	t := p.Peek()
	switch {
	case t.IsKeyword("AS"):
		p.Next()
		t = p.Peek()
		if t.Kind != TokIdent && t.Kind != TokQuotedIdent {
			return nil, p.ErrExpected("an alias after AS")
		}
	case t.Kind == TokQuotedIdent:
	case t.Kind == TokIdent && !IsReservedKeyword(t.Value) && !t.IsKeyword("OFFSET"):
	default:
		return nil, nil
	}
	p.Next()
	a := &TableAlias{Name: Ident{Name: t.Value, Pos: t.Pos}}
	if p.IsOp("(") {
		cols, err := sp.identList()
		if err != nil {
			return nil, err
		}
		a.Columns = cols
	}
	return a, nil
}

// sqlSubquery is the Parser.Subquery hook of statements: subqueries
// inside expressions are not planned yet, so they fail here, positioned.
func sqlSubquery(p *Parser) (Expr, error) {
	return nil, p.ErrorAt(p.Peek(), "subqueries in expressions (IN (SELECT ...), EXISTS, scalar subqueries) are not supported yet",
		"join with the subquery in FROM instead, for example: FROM t LEFT SEMI JOIN (SELECT id FROM u) s ON t.id = s.id")
}

// sqlCallSuffix is the Parser.CallSuffix hook of statements.
func sqlCallSuffix(p *Parser, c *Call) (Expr, error) {
	t := p.Peek()
	if t.IsKeyword("OVER") {
		return nil, p.ErrorAt(t, "window functions (OVER) are not supported yet",
			"compute the aggregate with GROUP BY in a subquery and join it back")
	}
	return nil, p.ErrorAt(t, "FILTER (WHERE ...) on aggregates is not supported yet",
		"move the condition into the argument: sum(CASE WHEN cond THEN x END), count(CASE WHEN cond THEN 1 END)")
}
