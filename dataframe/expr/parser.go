package expr

import (
	"fmt"
	"strings"
)

// ParseExpr parses one Spark SQL expression, optionally aliased
// ("price * qty AS total", "upper(name) n").
func ParseExpr(text string) (Expr, error) {
	p, err := NewParser(text)
	if err != nil {
		return nil, err
	}
	e, err := p.ParseNamedExpr()
	if err != nil {
		return nil, err
	}
	if err := p.ExpectEOF(); err != nil {
		return nil, err
	}
	return e, nil
}

// ParseExprs parses a comma-separated list of (optionally aliased)
// expressions, as in a select list.
func ParseExprs(text string) ([]Expr, error) {
	p, err := NewParser(text)
	if err != nil {
		return nil, err
	}
	es, err := p.ParseNamedExprList()
	if err != nil {
		return nil, err
	}
	if err := p.ExpectEOF(); err != nil {
		return nil, err
	}
	return es, nil
}

// ParseSortOrder parses one ORDER BY item: "ts DESC NULLS LAST".
func ParseSortOrder(text string) (*SortOrder, error) {
	p, err := NewParser(text)
	if err != nil {
		return nil, err
	}
	s, err := p.ParseSortOrder()
	if err != nil {
		return nil, err
	}
	if err := p.ExpectEOF(); err != nil {
		return nil, err
	}
	return s, nil
}

// maxDepth bounds expression nesting so hostile input cannot exhaust the
// stack; real queries stay far below it.
const maxDepth = 500

// Parser is a recursive-descent parser over a token stream, shared by the
// expression, DDL and SELECT parsers of this package. Its methods that
// start with Parse consume one construct and leave the parser on the token
// after it; they stop without error at any token that cannot continue the
// construct (FROM, WHERE, a comma, ...), so a statement parser calls them
// and then looks at Peek.
//
// Every error is a *ParseError pointing into the text.
type Parser struct {
	text  string
	toks  []Token
	i     int
	depth int

	// Subquery, when set, parses a subquery whose first token (SELECT or
	// WITH) is the current one, for `(SELECT ...)`, `x IN (SELECT ...)` and
	// `EXISTS (SELECT ...)`; the parser consumes the parentheses. When nil,
	// subqueries are a syntax error.
	Subquery func(p *Parser) (Expr, error)
	// CallSuffix, when set, parses what may follow a function call: OVER
	// (window) and FILTER (WHERE ...). It is called with the current token
	// on OVER or FILTER. When nil, these are a syntax error.
	CallSuffix func(p *Parser, call *Call) (Expr, error)
}

// NewParser lexes text; lexical errors (an unterminated string, a stray
// character) are reported here.
func NewParser(text string) (*Parser, error) {
	toks, err := Tokenize(text)
	if err != nil {
		return nil, err
	}
	return &Parser{text: text, toks: toks}, nil
}

// Text returns the input the parser was built from.
func (p *Parser) Text() string { return p.text }

// Peek returns the current token without consuming it.
func (p *Parser) Peek() Token { return p.toks[p.i] }

// PeekAt returns the token n places after the current one (0 is Peek);
// past the end it returns the EOF token.
func (p *Parser) PeekAt(n int) Token {
	if p.i+n >= len(p.toks) {
		return p.toks[len(p.toks)-1]
	}
	return p.toks[p.i+n]
}

// Next consumes and returns the current token. At the end it keeps
// returning the EOF token.
func (p *Parser) Next() Token {
	t := p.toks[p.i]
	if t.Kind != TokEOF {
		p.i++
	}
	return t
}

// Mark returns the current position for Reset (backtracking).
func (p *Parser) Mark() int { return p.i }

// Reset returns to a position from Mark.
func (p *Parser) Reset(mark int) { p.i = mark }

// AtEOF reports whether all input has been consumed.
func (p *Parser) AtEOF() bool { return p.Peek().Kind == TokEOF }

// IsKeyword reports whether the current token is one of the keywords
// (upper case, matched case-insensitively).
func (p *Parser) IsKeyword(kws ...string) bool {
	t := p.Peek()
	for _, kw := range kws {
		if t.IsKeyword(kw) {
			return true
		}
	}
	return false
}

// AcceptKeyword consumes the current token if it is kw.
func (p *Parser) AcceptKeyword(kw string) bool {
	if p.Peek().IsKeyword(kw) {
		p.Next()
		return true
	}
	return false
}

// ExpectKeyword consumes kw or fails with "expected KW".
func (p *Parser) ExpectKeyword(kw string) (Token, error) {
	if p.Peek().IsKeyword(kw) {
		return p.Next(), nil
	}
	return Token{}, p.ErrExpected(kw)
}

// IsOp reports whether the current token is the operator op.
func (p *Parser) IsOp(op string) bool { return p.Peek().IsOp(op) }

// AcceptOp consumes the current token if it is op.
func (p *Parser) AcceptOp(op string) bool {
	if p.Peek().IsOp(op) {
		p.Next()
		return true
	}
	return false
}

// ExpectOp consumes op or fails with "expected 'op'".
func (p *Parser) ExpectOp(op string) (Token, error) {
	if p.Peek().IsOp(op) {
		return p.Next(), nil
	}
	return Token{}, p.ErrExpected("'" + op + "'")
}

// ExpectEOF fails unless all input has been consumed.
func (p *Parser) ExpectEOF() error {
	if p.AtEOF() {
		return nil
	}
	return p.ErrExpected("end of input")
}

// ErrExpected reports that the current token is not what the grammar
// needs. expected is a phrase: "an expression", "')'", "THEN".
func (p *Parser) ErrExpected(expected string) *ParseError {
	t := p.Peek()
	return &ParseError{
		Text: p.text, Pos: t.Pos, Expected: expected, Found: t.describe(),
		Hint: p.hintFor(t, expected),
	}
}

// ErrorAt reports msg at tok, with an optional hint.
func (p *Parser) ErrorAt(tok Token, msg, hint string) *ParseError {
	return &ParseError{Text: p.text, Pos: tok.Pos, Msg: msg, Hint: hint}
}

// ParseIdentifier consumes a name: an unquoted word (keywords included, as
// Spark allows after AS and in DDL) or a backquoted identifier.
func (p *Parser) ParseIdentifier() (string, error) {
	t := p.Peek()
	if t.Kind == TokIdent || t.Kind == TokQuotedIdent {
		p.Next()
		return t.Value, nil
	}
	return "", p.ErrExpected("a name")
}

// ParseMultipartIdentifier consumes a dotted name: db.tbl, t.`a b`.
func (p *Parser) ParseMultipartIdentifier() ([]string, error) {
	first, err := p.ParseIdentifier()
	if err != nil {
		return nil, err
	}
	parts := []string{first}
	for p.IsOp(".") {
		p.Next()
		n, err := p.ParseIdentifier()
		if err != nil {
			return nil, err
		}
		parts = append(parts, n)
	}
	return parts, nil
}

// ParseNamedExpr parses an expression with an optional alias: `e AS name`,
// `e name` (when name is not a reserved keyword) or `e AS (a, b)` (not
// supported yet: an error).
func (p *Parser) ParseNamedExpr() (Expr, error) {
	e, err := p.ParseExpr()
	if err != nil {
		return nil, err
	}
	return p.parseAlias(e)
}

func (p *Parser) parseAlias(e Expr) (Expr, error) {
	t := p.Peek()
	switch {
	case t.IsKeyword("AS"):
		p.Next()
		if p.IsOp("(") {
			return nil, p.ErrorAt(p.Peek(), "multi-name aliases AS (a, b) are not supported",
				"alias the fields separately, for example with a struct: named_struct('a', x, 'b', y)")
		}
		name, err := p.ParseIdentifier()
		if err != nil {
			if p.Peek().Kind == TokString {
				err.(*ParseError).Hint = "an alias is a name, not a string: AS total or AS `total amount`"
			}
			return nil, err
		}
		return &Alias{Child: e, Name: name}, nil
	case t.Kind == TokQuotedIdent, t.Kind == TokIdent && !IsReservedKeyword(t.Value):
		p.Next()
		return &Alias{Child: e, Name: t.Value}, nil
	}
	return e, nil
}

// ParseNamedExprList parses `e1 [AS a1], e2 [AS a2], ...` (at least one).
func (p *Parser) ParseNamedExprList() ([]Expr, error) {
	var out []Expr
	for {
		e, err := p.ParseNamedExpr()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		if !p.AcceptOp(",") {
			return out, nil
		}
	}
}

// ParseExprList parses `e1, e2, ...` (at least one) without aliases.
func (p *Parser) ParseExprList() ([]Expr, error) {
	var out []Expr
	for {
		e, err := p.ParseExpr()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		if !p.AcceptOp(",") {
			return out, nil
		}
	}
}

// ParseSortOrder parses `e [ASC|DESC] [NULLS FIRST|LAST]`.
func (p *Parser) ParseSortOrder() (*SortOrder, error) {
	e, err := p.ParseExpr()
	if err != nil {
		return nil, err
	}
	desc := false
	if p.AcceptKeyword("DESC") {
		desc = true
	} else {
		p.AcceptKeyword("ASC")
	}
	s := NewSortOrder(e, desc)
	if p.AcceptKeyword("NULLS") {
		switch {
		case p.AcceptKeyword("FIRST"):
			s.NullsFirst = true
		case p.AcceptKeyword("LAST"):
			s.NullsFirst = false
		default:
			return nil, p.ErrExpected("FIRST or LAST")
		}
	}
	return s, nil
}

// ParseSortOrderList parses `s1, s2, ...` (at least one).
func (p *Parser) ParseSortOrderList() ([]*SortOrder, error) {
	var out []*SortOrder
	for {
		s, err := p.ParseSortOrder()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		if !p.AcceptOp(",") {
			return out, nil
		}
	}
}

// reserved are the words that end an expression: they cannot be an
// implicit alias (`SELECT a FROM t` must not alias a as FROM). The value
// says whether the word may still start a column reference (`window.start`,
// `desc`): false words are never a bare column name and must be
// backquoted.
var reserved = map[string]bool{
	"ALL": false, "AND": false, "ANTI": true, "AS": false, "ASC": true, "BETWEEN": false,
	"BY": false, "CASE": false, "CAST": false, "CLUSTER": true, "CROSS": false, "DESC": true,
	"DISTINCT": false, "DISTRIBUTE": true, "DIV": false, "ELSE": false, "END": false,
	"ESCAPE": false, "EXCEPT": false, "EXISTS": false, "FALSE": false, "FILTER": true,
	"FOR": false, "FROM": false, "FULL": false, "GROUP": false, "HAVING": false,
	"IGNORE": true, "ILIKE": false, "IN": false, "INNER": false, "INTERSECT": false,
	"INTO": false, "IS": false, "JOIN": false, "LATERAL": true, "LEFT": false, "LIKE": false,
	"LIMIT": false, "MINUS": true, "NATURAL": true, "NOT": false, "NULL": false,
	"NULLS": true, "ON": false, "OR": false, "ORDER": false, "OUTER": true, "OVER": true,
	"PIVOT": true, "QUALIFY": true, "REGEXP": false, "RESPECT": true, "RIGHT": false,
	"RLIKE": false, "SELECT": false, "SEMI": true, "SORT": true, "TABLESAMPLE": true,
	"THEN": false, "TRUE": false, "TRY_CAST": false, "UNION": false, "UNPIVOT": true,
	"USING": false, "VALUES": false, "WHEN": false, "WHERE": false, "WINDOW": true,
	"WITH": false,
}

// IsReservedKeyword reports whether word (any case) is a keyword that ends
// an expression and so is never taken as an implicit alias. A statement
// parser uses it to tell `FROM t x` (alias x) from `FROM t JOIN ...`.
func IsReservedKeyword(word string) bool {
	_, ok := reserved[strings.ToUpper(word)]
	return ok
}

// canBeColumn reports whether an unquoted word may be a bare column name.
func canBeColumn(word string) bool {
	ok, isReserved := reserved[strings.ToUpper(word)]
	return !isReserved || ok
}

// hintFor suggests a fix for the commonest mistakes behind "expected X,
// found tok".
func (p *Parser) hintFor(t Token, expected string) string {
	switch {
	case t.IsOp("&&"):
		return "use AND for a logical and"
	case t.IsOp("=>"):
		return "named function arguments (name => value) are not supported; pass arguments by position"
	case t.IsOp("->"):
		return "lambda functions (x -> ...) are not supported yet"
	case t.IsOp(")") && p.unmatchedClose("(", ")"):
		return "this ')' has no matching '('"
	case t.IsOp("]") && p.unmatchedClose("[", "]"):
		return "this ']' has no matching '['"
	}
	if t.Kind == TokEOF {
		if open, ok := p.unclosedParen(); ok {
			return fmt.Sprintf("the '%s' at %d:%d is never closed", open.Value, open.Pos.Line, open.Pos.Col)
		}
		if p.i > 0 && p.toks[p.i-1].IsOp(",") && expected == "an expression" {
			return "remove the trailing comma"
		}
		if p.i == 0 {
			return "the text is empty"
		}
		return ""
	}
	if t.Kind == TokIdent && expected == "an expression" && !canBeColumn(t.Value) {
		switch strings.ToUpper(t.Value) {
		case "SELECT", "WITH":
			return "this takes an expression, not a SELECT statement"
		case "AND", "OR", "NOT", "IS", "IN", "LIKE", "ILIKE", "RLIKE", "REGEXP", "BETWEEN", "WHEN",
			"THEN", "ELSE", "END", "AS", "ESCAPE", "DIV", "DISTINCT", "ALL", "EXISTS", "CASE", "CAST",
			"TRY_CAST", "NULL", "TRUE", "FALSE":
			return ""
		}
		return fmt.Sprintf("%s is a keyword; to use it as a name, backquote it: `%s`",
			strings.ToUpper(t.Value), t.Value)
	}
	if t.IsOp(",") && expected == "end of input" {
		return "one expression is expected here; pass each expression on its own"
	}
	if expected == "',' or end of input" && (t.Kind == TokIdent || t.Kind == TokQuotedIdent) {
		return "is a comma missing before " + t.describe() + "?"
	}
	if expected == "end of input" || expected == "')'" {
		switch {
		case t.Kind == TokIdent && !IsReservedKeyword(t.Value), t.Kind == TokQuotedIdent,
			t.Kind == TokNumber, t.Kind == TokString, t.Kind == TokBinary:
			return "is an operator or a comma missing before " + t.describe() + "?"
		}
	}
	return ""
}

// unclosedParen finds the innermost '(' or '[' before the current token
// that is not closed before it.
func (p *Parser) unclosedParen() (Token, bool) {
	var stack []Token
	for _, t := range p.toks[:p.i] {
		switch {
		case t.IsOp("("), t.IsOp("["):
			stack = append(stack, t)
		case t.IsOp(")"), t.IsOp("]"):
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	if len(stack) == 0 {
		return Token{}, false
	}
	return stack[len(stack)-1], true
}

// unmatchedClose reports whether the current closing bracket closes
// nothing.
func (p *Parser) unmatchedClose(open, close string) bool {
	depth := 0
	for _, t := range p.toks[:p.i] {
		switch {
		case t.IsOp(open):
			depth++
		case t.IsOp(close):
			depth--
		}
	}
	return depth <= 0
}
