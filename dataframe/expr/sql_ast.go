package expr

import (
	"strconv"
	"strings"
)

// This file holds the syntax tree of SQL statements (ParseSQL). The tree
// is purely syntactic: names are not resolved and expressions are the
// unresolved Expr trees of the expression parser. Every node keeps the
// position of its first token so the planner can point at it when the
// analyzer rejects it.

// Statement is a parsed SQL statement: a *Query or an *ExplainStmt.
type Statement interface {
	Position() Pos
	// String renders the statement as normalised Spark SQL.
	String() string
	statement()
}

// ExplainStmt is EXPLAIN [EXTENDED] query.
type ExplainStmt struct {
	Pos      Pos
	Extended bool
	Query    *Query
}

// Query is a full query: WITH, a body (a SELECT or a set operation), and
// the ORDER BY and LIMIT that apply to the whole body.
type Query struct {
	Pos     Pos
	With    []*CTE
	Body    QueryBody
	OrderBy []*SQLExpr // each Expr is a *SortOrder
	Limit   *SQLExpr   // nil: no limit (LIMIT ALL is nil too)
}

// CTE is one `name [(col, ...)] AS (query)` of a WITH clause.
type CTE struct {
	Name    Ident
	Columns []Ident
	Query   *Query
}

// Ident is a name with its position.
type Ident struct {
	Name string
	Pos  Pos
}

// SQLExpr is an expression of a statement with its place in the text:
// Pos is its first token and End the byte offset just after its last, so
// text[Pos.Offset:End] is the expression as written.
type SQLExpr struct {
	Expr Expr
	Pos  Pos
	End  int
}

func (e *SQLExpr) String() string { return e.Expr.String() }

// QueryBody is what a query computes before ORDER BY and LIMIT: a
// *SelectStmt, a *SetOp or a *ParenQuery.
type QueryBody interface {
	Position() Pos
	String() string
	queryBody()
}

// SelectStmt is one SELECT ... FROM ... WHERE ... GROUP BY ... HAVING.
type SelectStmt struct {
	Pos      Pos
	Distinct bool
	Items    []*SQLExpr // may hold *Star and *Alias
	From     FromItem   // nil: SELECT without FROM (one row)
	Where    *SQLExpr
	// GroupBy holds the grouping expressions; GroupByAll is GROUP BY ALL.
	GroupBy    []*SQLExpr
	GroupByAll bool
	// GroupByPos is the position of the GROUP keyword.
	GroupByPos Pos
	Having     *SQLExpr
}

// SetOpKind is UNION, INTERSECT or EXCEPT.
type SetOpKind uint8

const (
	SetUnion SetOpKind = iota
	SetIntersect
	SetExcept
)

func (k SetOpKind) String() string {
	switch k {
	case SetIntersect:
		return "INTERSECT"
	case SetExcept:
		return "EXCEPT"
	}
	return "UNION"
}

// SetOp combines two query bodies. All is UNION ALL (and INTERSECT /
// EXCEPT ALL); without it duplicates are removed.
type SetOp struct {
	Pos         Pos // the operator keyword
	Op          SetOpKind
	All         bool
	Left, Right QueryBody
}

// ParenQuery is a parenthesised query used as a query body; it may have
// its own WITH, ORDER BY and LIMIT.
type ParenQuery struct {
	Pos   Pos
	Query *Query
}

// FromItem is a relation in FROM: *TableRef, *SubqueryRef or *JoinExpr.
type FromItem interface {
	Position() Pos
	String() string
	fromItem()
}

// TableAlias is `[AS] name [(col, ...)]` after a relation.
type TableAlias struct {
	Name    Ident
	Columns []Ident
}

// TableRef names a view or a CTE.
type TableRef struct {
	Pos   Pos
	Name  Ident
	Alias *TableAlias
}

// SubqueryRef is `(query) [AS] alias` in FROM.
type SubqueryRef struct {
	Pos   Pos
	Query *Query
	Alias *TableAlias
}

// JoinKind is a join type as written.
type JoinKind uint8

const (
	JoinInner JoinKind = iota
	JoinLeft
	JoinRight
	JoinFull
	JoinLeftSemi
	JoinLeftAnti
	JoinCross
)

var joinKindNames = []string{"INNER", "LEFT OUTER", "RIGHT OUTER", "FULL OUTER", "LEFT SEMI", "LEFT ANTI", "CROSS"}

func (k JoinKind) String() string { return joinKindNames[k] }

// JoinExpr joins two relations. A comma in FROM is an inner join without
// a condition (Comma set). At most one of On and Using is set; Natural
// joins on the columns both sides share.
type JoinExpr struct {
	Pos         Pos // the JOIN keyword (or the comma)
	Kind        JoinKind
	Natural     bool
	Comma       bool
	Left, Right FromItem
	On          *SQLExpr
	Using       []Ident
}

func (*Query) statement()       {}
func (*ExplainStmt) statement() {}
func (*SelectStmt) queryBody()  {}
func (*SetOp) queryBody()       {}
func (*ParenQuery) queryBody()  {}
func (*TableRef) fromItem()     {}
func (*SubqueryRef) fromItem()  {}
func (*JoinExpr) fromItem()     {}

func (s *ExplainStmt) Position() Pos { return s.Pos }
func (q *Query) Position() Pos       { return q.Pos }
func (s *SelectStmt) Position() Pos  { return s.Pos }
func (s *SetOp) Position() Pos       { return s.Pos }
func (q *ParenQuery) Position() Pos  { return q.Pos }
func (t *TableRef) Position() Pos    { return t.Pos }
func (s *SubqueryRef) Position() Pos { return s.Pos }
func (j *JoinExpr) Position() Pos    { return j.Pos }

func (s *ExplainStmt) String() string {
	if s.Extended {
		return "EXPLAIN EXTENDED " + s.Query.String()
	}
	return "EXPLAIN " + s.Query.String()
}

func (q *Query) String() string {
	var b strings.Builder
	if len(q.With) > 0 {
		b.WriteString("WITH ")
		for i, c := range q.With {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(QuoteIdent(c.Name.Name))
			if len(c.Columns) > 0 {
				b.WriteString(identList(c.Columns))
			}
			b.WriteString(" AS (")
			b.WriteString(c.Query.String())
			b.WriteString(")")
		}
		b.WriteString(" ")
	}
	b.WriteString(q.Body.String())
	if len(q.OrderBy) > 0 {
		b.WriteString(" ORDER BY ")
		b.WriteString(sqlExprList(q.OrderBy))
	}
	if q.Limit != nil {
		b.WriteString(" LIMIT ")
		b.WriteString(q.Limit.String())
	}
	return b.String()
}

func (s *SelectStmt) String() string {
	var b strings.Builder
	b.WriteString("SELECT ")
	if s.Distinct {
		b.WriteString("DISTINCT ")
	}
	b.WriteString(sqlExprList(s.Items))
	if s.From != nil {
		b.WriteString(" FROM ")
		b.WriteString(s.From.String())
	}
	if s.Where != nil {
		b.WriteString(" WHERE ")
		b.WriteString(s.Where.String())
	}
	if s.GroupByAll {
		b.WriteString(" GROUP BY ALL")
	} else if len(s.GroupBy) > 0 {
		b.WriteString(" GROUP BY ")
		b.WriteString(sqlExprList(s.GroupBy))
	}
	if s.Having != nil {
		b.WriteString(" HAVING ")
		b.WriteString(s.Having.String())
	}
	return b.String()
}

func (s *SetOp) String() string {
	op := s.Op.String()
	if s.All {
		op += " ALL"
	}
	return s.Left.String() + " " + op + " " + s.Right.String()
}

func (q *ParenQuery) String() string { return "(" + q.Query.String() + ")" }

func (a *TableAlias) String() string {
	if a == nil {
		return ""
	}
	s := " AS " + QuoteIdent(a.Name.Name)
	if len(a.Columns) > 0 {
		s += identList(a.Columns)
	}
	return s
}

func (t *TableRef) String() string { return QuoteIdent(t.Name.Name) + t.Alias.String() }

func (s *SubqueryRef) String() string { return "(" + s.Query.String() + ")" + s.Alias.String() }

func (j *JoinExpr) String() string {
	if j.Comma {
		return j.Left.String() + ", " + j.Right.String()
	}
	var b strings.Builder
	b.WriteString(j.Left.String())
	b.WriteByte(' ')
	if j.Natural {
		b.WriteString("NATURAL ")
	}
	b.WriteString(j.Kind.String())
	b.WriteString(" JOIN ")
	right := j.Right.String()
	if _, nested := j.Right.(*JoinExpr); nested {
		right = "(" + right + ")"
	}
	b.WriteString(right)
	switch {
	case j.On != nil:
		b.WriteString(" ON ")
		b.WriteString(j.On.String())
	case len(j.Using) > 0:
		b.WriteString(" USING ")
		b.WriteString(identList(j.Using))
	}
	return b.String()
}

func sqlExprList(es []*SQLExpr) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.String()
	}
	return strings.Join(parts, ", ")
}

func identList(ids []Ident) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = QuoteIdent(id.Name)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// Tables lists the names of the relations a statement reads (views and
// CTE references, CTE names included), left to right, each once.
func Tables(st Statement) []string {
	var out []string
	seen := map[string]bool{}
	var query func(q *Query)
	var body func(b QueryBody)
	var from func(f FromItem)
	query = func(q *Query) {
		for _, c := range q.With {
			query(c.Query)
		}
		body(q.Body)
	}
	body = func(b QueryBody) {
		switch t := b.(type) {
		case *SelectStmt:
			if t.From != nil {
				from(t.From)
			}
		case *SetOp:
			body(t.Left)
			body(t.Right)
		case *ParenQuery:
			query(t.Query)
		}
	}
	from = func(f FromItem) {
		switch t := f.(type) {
		case *TableRef:
			k := strings.ToLower(t.Name.Name)
			if !seen[k] {
				seen[k] = true
				out = append(out, t.Name.Name)
			}
		case *SubqueryRef:
			query(t.Query)
		case *JoinExpr:
			from(t.Left)
			from(t.Right)
		}
	}
	switch t := st.(type) {
	case *Query:
		query(t)
	case *ExplainStmt:
		query(t.Query)
	}
	return out
}

// FindInText returns the position of a column reference or a function
// call inside e's text, so an error about that node can point at it
// rather than at the start of the expression. It matches c by its name
// as written (a Column by its parts, a Call by its name followed by '(').
func (e *SQLExpr) FindInText(text string, target Expr) (Pos, bool) {
	if e == nil || e.Pos.Offset < 0 || e.End > len(text) || e.Pos.Offset > e.End {
		return Pos{}, false
	}
	toks, err := Tokenize(text[e.Pos.Offset:e.End])
	if err != nil {
		return Pos{}, false
	}
	name := func(t Token) bool { return t.Kind == TokIdent || t.Kind == TokQuotedIdent }
	at := func(i int) Pos { return PosOf(text, e.Pos.Offset+toks[i].Pos.Offset) }
	switch t := target.(type) {
	case *Column:
		for i := range toks {
			if !matchParts(toks, i, t.Parts, name) {
				continue
			}
			// A call of the same name is not the column.
			if j := i + 2*len(t.Parts) - 1; j < len(toks) && toks[j].IsOp("(") {
				continue
			}
			return at(i), true
		}
	case *Call:
		parts := strings.Split(t.Name, ".")
		for i := range toks {
			if !matchParts(toks, i, parts, name) {
				continue
			}
			if j := i + 2*len(parts) - 1; j < len(toks) && toks[j].IsOp("(") {
				return at(i), true
			}
		}
	}
	return Pos{}, false
}

// matchParts reports whether toks[i:] starts with parts joined by dots.
func matchParts(toks []Token, i int, parts []string, name func(Token) bool) bool {
	for k, p := range parts {
		j := i + 2*k
		if j >= len(toks) || !name(toks[j]) || !strings.EqualFold(toks[j].Value, p) {
			return false
		}
		if k > 0 && !toks[j-1].IsOp(".") {
			return false
		}
	}
	// The previous token must not make this a field of something else.
	return i == 0 || !toks[i-1].IsOp(".")
}

// Ordinal returns n when e is a plain integer literal (ORDER BY 2,
// GROUP BY 1).
func Ordinal(e Expr) (int64, bool) {
	l, ok := e.(*Literal)
	if !ok {
		return 0, false
	}
	switch v := l.Value.(type) {
	case int8:
		return int64(v), true
	case int16:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	}
	return 0, false
}

func itoa(n int) string { return strconv.Itoa(n) }
