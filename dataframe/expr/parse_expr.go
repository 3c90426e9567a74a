package expr

import (
	"strconv"
	"strings"
)

// Prec is an operator precedence level, lowest first. The levels follow
// Spark's grammar (SqlBaseParser.g4), which differs from some databases:
// || binds like + and -, and the bitwise operators bind looser than
// arithmetic but tighter than comparison.
type Prec int

const (
	PrecLowest  Prec = iota
	PrecOr           // OR
	PrecAnd          // AND
	PrecNot          // prefix NOT, !
	PrecCompare      // = == != <> < <= > >= <=>, IS, [NOT] IN/LIKE/ILIKE/RLIKE/BETWEEN
	PrecBitOr        // |
	PrecBitXor       // ^
	PrecBitAnd       // &
	PrecShift        // << >> >>>
	PrecAdd          // + - ||
	PrecMul          // * / % DIV
	PrecUnary        // prefix - + ~
	PrecPostfix      // :: cast, .field, [index]
)

// binaryOps maps operator spellings to call names and levels.
var binaryOps = map[string]struct {
	name string
	prec Prec
}{
	"=": {"=", PrecCompare}, "==": {"=", PrecCompare}, "!=": {"!=", PrecCompare},
	"<>": {"!=", PrecCompare}, "<": {"<", PrecCompare}, "<=": {"<=", PrecCompare},
	">": {">", PrecCompare}, ">=": {">=", PrecCompare}, "<=>": {"<=>", PrecCompare},
	"!<": {">=", PrecCompare}, "!>": {"<=", PrecCompare},
	"|": {"|", PrecBitOr}, "^": {"^", PrecBitXor}, "&": {"&", PrecBitAnd},
	"<<": {"shiftleft", PrecShift}, ">>": {"shiftright", PrecShift},
	">>>": {"shiftrightunsigned", PrecShift},
	"+":   {"+", PrecAdd}, "-": {"-", PrecAdd}, "||": {"||", PrecAdd},
	"*": {"*", PrecMul}, "/": {"/", PrecMul}, "%": {"%", PrecMul},
}

// predicateKeywords may follow a value (possibly after NOT) at the
// comparison level.
var predicateKeywords = []string{"IN", "LIKE", "ILIKE", "RLIKE", "REGEXP", "BETWEEN"}

// ParseExpr parses a full expression (down to OR). It stops before any
// token that cannot continue the expression.
func (p *Parser) ParseExpr() (Expr, error) { return p.ParseExprPrec(PrecLowest) }

// ParseExprPrec parses an expression whose binary operators bind at least
// as tightly as min: ParseExprPrec(PrecAdd) on "a + b = c" returns a + b.
func (p *Parser) ParseExprPrec(min Prec) (Expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.ErrorAt(p.Peek(), "expression nests too deeply", "split it into smaller expressions")
	}
	left, err := p.parsePrefix(min)
	if err != nil {
		return nil, err
	}
	return p.parseInfix(left, min)
}

// parseInfix extends left with binary operators and predicates of level
// min or tighter.
func (p *Parser) parseInfix(left Expr, min Prec) (Expr, error) {
	for {
		t := p.Peek()
		var name string
		var prec Prec
		switch {
		case t.IsKeyword("OR"):
			name, prec = "or", PrecOr
		case t.IsKeyword("AND"):
			name, prec = "and", PrecAnd
		case t.IsKeyword("DIV"):
			name, prec = "div", PrecMul
		case t.IsKeyword("IS") || p.atPredicate():
			if PrecCompare < min {
				return left, nil
			}
			var err error
			if left, err = p.parsePredicate(left); err != nil {
				return nil, err
			}
			continue
		case t.Kind == TokOp:
			op, ok := binaryOps[t.Value]
			if !ok {
				if t.Value == "&&" {
					return nil, p.ErrorAt(t, "'&&' is not an operator", "use AND for a logical and")
				}
				return left, nil
			}
			name, prec = op.name, op.prec
		default:
			return left, nil
		}
		if prec < min {
			return left, nil
		}
		p.Next()
		right, err := p.ParseExprPrec(prec + 1)
		if err != nil {
			return nil, err
		}
		left = &Call{Name: name, Args: []Expr{left, right}}
	}
}

// atPredicate reports whether the current token starts a predicate suffix:
// IN, LIKE, ..., or NOT / ! followed by one.
func (p *Parser) atPredicate() bool {
	t := p.Peek()
	if t.IsKeyword("NOT") || t.IsOp("!") {
		t = p.PeekAt(1)
	}
	for _, kw := range predicateKeywords {
		if t.IsKeyword(kw) {
			return true
		}
	}
	return false
}

func not(e Expr) Expr { return &Call{Name: "not", Args: []Expr{e}} }

// parsePredicate parses the suffix after a value: IS [NOT] NULL/TRUE/FALSE/
// UNKNOWN/DISTINCT FROM, [NOT] IN (...), [NOT] BETWEEN, [NOT] LIKE/ILIKE/
// RLIKE/REGEXP. Bounds and patterns bind above comparison, as in Spark.
func (p *Parser) parsePredicate(left Expr) (Expr, error) {
	if p.AcceptKeyword("IS") {
		neg := p.AcceptKeyword("NOT") || p.AcceptOp("!")
		var e Expr
		switch {
		case p.AcceptKeyword("NULL"):
			if neg {
				return &Call{Name: "isnotnull", Args: []Expr{left}}, nil
			}
			return &Call{Name: "isnull", Args: []Expr{left}}, nil
		case p.AcceptKeyword("TRUE"):
			e = &Call{Name: "<=>", Args: []Expr{left, Lit(true)}}
		case p.AcceptKeyword("FALSE"):
			e = &Call{Name: "<=>", Args: []Expr{left, Lit(false)}}
		case p.AcceptKeyword("UNKNOWN"):
			e = &Call{Name: "isnull", Args: []Expr{left}}
		case p.AcceptKeyword("DISTINCT"):
			if _, err := p.ExpectKeyword("FROM"); err != nil {
				return nil, err
			}
			right, err := p.ParseExprPrec(PrecBitOr)
			if err != nil {
				return nil, err
			}
			// IS DISTINCT FROM is the negation of null-safe equality.
			e = &Call{Name: "<=>", Args: []Expr{left, right}}
			neg = !neg
		default:
			return nil, p.ErrExpected("NULL, NOT NULL, TRUE, FALSE, UNKNOWN or DISTINCT FROM after IS")
		}
		if neg {
			return not(e), nil
		}
		return e, nil
	}
	neg := p.AcceptKeyword("NOT") || p.AcceptOp("!")
	kw := p.Next()
	var e Expr
	var err error
	switch strings.ToUpper(kw.Value) {
	case "IN":
		e, err = p.parseIn(left)
	case "BETWEEN":
		e, err = p.parseBetween(left)
	case "LIKE", "ILIKE":
		e, err = p.parseLike(left, strings.ToLower(kw.Value), neg)
	case "RLIKE", "REGEXP":
		var pat Expr
		pat, err = p.ParseExprPrec(PrecBitOr)
		e = &Call{Name: "rlike", Args: []Expr{left, pat}}
	}
	if err != nil {
		return nil, err
	}
	if neg {
		return not(e), nil
	}
	return e, nil
}

func (p *Parser) parseIn(left Expr) (Expr, error) {
	open := p.Peek()
	if !open.IsOp("(") {
		err := p.ErrExpected("'(' after IN")
		err.Hint = "IN takes a parenthesized list: x IN (1, 2, 3)"
		return nil, err
	}
	p.Next()
	if p.IsKeyword("SELECT", "WITH") {
		sub, err := p.parseSubquery(open)
		if err != nil {
			return nil, err
		}
		return &Call{Name: "in", Args: []Expr{left, sub}}, nil
	}
	if p.IsOp(")") {
		return nil, p.ErrorAt(p.Peek(), "IN needs at least one value", "write x IN (1, 2), or drop the condition")
	}
	vals, err := p.ParseExprList()
	if err != nil {
		return nil, err
	}
	if _, err := p.ExpectOp(")"); err != nil {
		return nil, err
	}
	return &Call{Name: "in", Args: append([]Expr{left}, vals...)}, nil
}

func (p *Parser) parseBetween(left Expr) (Expr, error) {
	lo, err := p.ParseExprPrec(PrecBitOr)
	if err != nil {
		return nil, err
	}
	if !p.IsKeyword("AND") {
		err := p.ErrExpected("AND")
		err.Hint = "BETWEEN needs both bounds: x BETWEEN 1 AND 10"
		return nil, err
	}
	p.Next()
	hi, err := p.ParseExprPrec(PrecBitOr)
	if err != nil {
		return nil, err
	}
	return &Call{Name: "and", Args: []Expr{
		&Call{Name: ">=", Args: []Expr{left, lo}},
		&Call{Name: "<=", Args: []Expr{left, hi}},
	}}, nil
}

// parseLike parses the pattern of LIKE/ILIKE: `p [ESCAPE 'c']` or a
// quantified list `ANY|SOME|ALL (p1, p2)`, which becomes like_any /
// like_all (ilike_any / ilike_all). Under NOT (which the caller wraps
// around the result) the quantifier flips: NOT LIKE ANY (a, b) means "fails
// to match at least one", which is NOT (LIKE ALL (a, b)), as Spark's
// NotLikeAny.
func (p *Parser) parseLike(left Expr, name string, neg bool) (Expr, error) {
	if p.IsKeyword("ANY", "SOME", "ALL") && p.PeekAt(1).IsOp("(") {
		q := strings.ToUpper(p.Next().Value)
		p.Next()
		var pats []Expr
		if !p.IsOp(")") {
			var err error
			if pats, err = p.ParseExprList(); err != nil {
				return nil, err
			}
		}
		if _, err := p.ExpectOp(")"); err != nil {
			return nil, err
		}
		fn := name + "_any"
		if (q == "ALL") != neg {
			fn = name + "_all"
		}
		return &Call{Name: fn, Args: append([]Expr{left}, pats...)}, nil
	}
	pat, err := p.ParseExprPrec(PrecBitOr)
	if err != nil {
		return nil, err
	}
	args := []Expr{left, pat}
	if p.AcceptKeyword("ESCAPE") {
		t := p.Peek()
		if t.Kind != TokString {
			err := p.ErrExpected("an escape character string")
			err.Hint = "write LIKE 'a!%' ESCAPE '!'"
			return nil, err
		}
		p.Next()
		if len([]rune(t.Value)) != 1 {
			return nil, p.ErrorAt(t, "the ESCAPE string must be exactly one character", "write ESCAPE '!'")
		}
		args = append(args, Lit(t.Value))
	}
	return &Call{Name: name, Args: args}, nil
}

// parsePrefix parses prefix operators (NOT, unary minus, ~) and then a
// primary with its postfix operators.
func (p *Parser) parsePrefix(min Prec) (Expr, error) {
	t := p.Peek()
	switch {
	case t.IsKeyword("NOT") || t.IsOp("!"):
		// NOT binds looser than comparison: NOT a = b is NOT (a = b). Where
		// a tighter operand is required (a = NOT b) it takes just that.
		p.Next()
		e, err := p.ParseExprPrec(max(min, PrecNot))
		if err != nil {
			return nil, err
		}
		return not(e), nil
	case t.IsOp("-"):
		p.Next()
		if n := p.Peek(); n.Kind == TokNumber {
			// Spark's grammar has MINUS? number as one constant, so
			// -2147483648 is an int and -128Y a tinyint.
			p.Next()
			lit, err := p.numberLiteral(n, true)
			if err != nil {
				err.(*ParseError).Pos = t.Pos // point at the minus sign
				return nil, err
			}
			return p.parsePostfix(lit)
		}
		e, err := p.ParseExprPrec(PrecUnary)
		if err != nil {
			return nil, err
		}
		return &Call{Name: "negative", Args: []Expr{e}}, nil
	case t.IsOp("+"):
		// Unary plus is the identity.
		p.Next()
		return p.ParseExprPrec(PrecUnary)
	case t.IsOp("~"):
		p.Next()
		e, err := p.ParseExprPrec(PrecUnary)
		if err != nil {
			return nil, err
		}
		return &Call{Name: "~", Args: []Expr{e}}, nil
	}
	e, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	return p.parsePostfix(e)
}

// parsePostfix applies `.field`, `[index]` and `::type`, left to right.
func (p *Parser) parsePostfix(e Expr) (Expr, error) {
	for {
		t := p.Peek()
		switch {
		case t.IsOp("."):
			n := p.PeekAt(1)
			if n.Kind != TokIdent && n.Kind != TokQuotedIdent {
				p.Next()
				return nil, p.ErrExpected("a field name after '.'")
			}
			p.Next()
			p.Next()
			e = &Field{Child: e, Name: n.Value}
		case t.IsOp("["):
			p.Next()
			idx, err := p.ParseExpr()
			if err != nil {
				return nil, err
			}
			if _, err := p.ExpectOp("]"); err != nil {
				return nil, err
			}
			e = &Call{Name: "get_item", Args: []Expr{e, idx}}
		case t.IsOp("::"):
			p.Next()
			dt, err := p.ParseType()
			if err != nil {
				return nil, err
			}
			e = &Cast{Child: e, To: dt, Try: true}
		default:
			return e, nil
		}
	}
}

// parsePrimary parses literals, names, calls, parentheses and the keyword
// forms (CASE, CAST, EXTRACT, typed literals, ...).
func (p *Parser) parsePrimary() (Expr, error) {
	t := p.Peek()
	switch t.Kind {
	case TokNumber:
		p.Next()
		return p.numberLiteral(t, false)
	case TokString:
		p.Next()
		s := t.Value
		// Adjacent string literals concatenate: 'a' 'b' is 'ab'.
		for p.Peek().Kind == TokString {
			s += p.Next().Value
		}
		return Lit(s), nil
	case TokBinary:
		p.Next()
		return &Literal{Value: []byte(t.Value), Type: Binary}, nil
	case TokQuotedIdent:
		return p.parseName()
	case TokOp:
		switch t.Value {
		case "(":
			return p.parseParen()
		case "*":
			p.Next()
			return p.parseStarExcept(&Star{})
		case "?", ":":
			return nil, p.ErrorAt(t, "query parameters are not supported", "put the value into the text as a literal")
		}
	case TokIdent:
		return p.parseKeywordOrName()
	}
	return nil, p.ErrExpected("an expression")
}

// parseKeywordOrName handles an unquoted word at the start of a primary.
func (p *Parser) parseKeywordOrName() (Expr, error) {
	t := p.Peek()
	next := p.PeekAt(1)
	call := next.IsOp("(")
	switch strings.ToUpper(t.Value) {
	case "NULL":
		p.Next()
		return &Literal{Type: Null}, nil
	case "TRUE":
		p.Next()
		return Lit(true), nil
	case "FALSE":
		p.Next()
		return Lit(false), nil
	case "CASE":
		return p.parseCase()
	case "CAST", "TRY_CAST":
		if call {
			return p.parseCast()
		}
	case "EXTRACT":
		if call {
			return p.parseExtract()
		}
	case "SUBSTRING", "SUBSTR":
		if call {
			return p.parseSubstring()
		}
	case "TRIM":
		if call {
			return p.parseTrim()
		}
	case "POSITION":
		if call {
			return p.parsePosition()
		}
	case "OVERLAY":
		if call {
			return p.parseOverlay()
		}
	case "TIMESTAMPADD", "DATEADD", "DATE_ADD", "TIMESTAMPDIFF", "DATEDIFF", "DATE_DIFF", "TIMEDIFF":
		if call && isDatetimeUnit(p.PeekAt(2)) && p.PeekAt(3).IsOp(",") {
			// Spark's grammar tries the (unit, n, ts) form first; with two
			// arguments, date_add(day, 1) is a plain call on a column day.
			mark := p.Mark()
			if e, err := p.parseTimestampArith(); err == nil {
				return e, nil
			}
			p.Reset(mark)
		}
	case "EXISTS":
		if call {
			p.Next()
			open := p.Next()
			if !p.IsKeyword("SELECT", "WITH") {
				return nil, p.ErrExpected("a subquery after EXISTS (")
			}
			sub, err := p.parseSubquery(open)
			if err != nil {
				return nil, err
			}
			return &Call{Name: "exists", Args: []Expr{sub}}, nil
		}
	case "DATE", "TIMESTAMP", "TIMESTAMP_LTZ", "TIMESTAMP_NTZ":
		if next.Kind == TokString {
			return p.parseTypedLiteral()
		}
	case "INTERVAL":
		// INTERVAL 'x' and INTERVAL 5 ... are literals; with a sign it is
		// one only if a unit follows (interval - 1 subtracts from a column).
		if next.Kind == TokString || next.Kind == TokNumber ||
			(next.IsOp("-") || next.IsOp("+")) && (p.PeekAt(2).Kind == TokNumber || p.PeekAt(2).Kind == TokString) && isIntervalUnitTok(p.PeekAt(3)) {
			return p.parseInterval()
		}
	case "CURRENT_DATE", "CURRENT_TIMESTAMP", "CURRENT_USER":
		if !call {
			p.Next()
			return &Call{Name: strings.ToLower(t.Value)}, nil
		}
	case "LEFT", "RIGHT", "FILTER", "LIKE", "ILIKE", "RLIKE", "REGEXP":
		// Keywords that are also function names.
		if call {
			return p.parseName()
		}
	}
	if !canBeColumn(t.Value) {
		return nil, p.ErrExpected("an expression")
	}
	return p.parseName()
}

// parseName parses a column reference (a.b.c), a star (t.*) or a function
// call (name(...), db.name(...)).
func (p *Parser) parseName() (Expr, error) {
	first := p.Next()
	parts := []string{first.Value}
	for p.IsOp(".") {
		n := p.PeekAt(1)
		switch {
		case n.Kind == TokIdent || n.Kind == TokQuotedIdent:
			p.Next()
			p.Next()
			parts = append(parts, n.Value)
			continue
		case n.IsOp("*"):
			if len(parts) > 1 {
				return nil, p.ErrorAt(first, "a star takes one qualifier: t.*",
					"qualify the star with the table alias only")
			}
			p.Next()
			p.Next()
			return p.parseStarExcept(&Star{Qualifier: parts[0]})
		}
		break
	}
	if p.IsOp("(") {
		lower := make([]string, len(parts))
		for i, s := range parts {
			lower[i] = strings.ToLower(s)
		}
		return p.parseCall(strings.Join(lower, "."))
	}
	return &Column{Parts: parts}, nil
}

// parseStarExcept parses an optional `EXCEPT (a, b.c)` after a star.
func (p *Parser) parseStarExcept(s *Star) (Expr, error) {
	if !p.IsKeyword("EXCEPT") || !p.PeekAt(1).IsOp("(") || p.PeekAt(2).IsKeyword("SELECT") {
		return s, nil
	}
	p.Next()
	p.Next()
	for {
		parts, err := p.ParseMultipartIdentifier()
		if err != nil {
			return nil, err
		}
		s.Except = append(s.Except, (&Column{Parts: parts}).String())
		if !p.AcceptOp(",") {
			break
		}
	}
	if _, err := p.ExpectOp(")"); err != nil {
		return nil, err
	}
	return s, nil
}

// parseCall parses the argument list of a call whose name was consumed:
// (), (*), ([DISTINCT|ALL] a, b, ...), then IGNORE/RESPECT NULLS and the
// OVER / FILTER suffixes (through CallSuffix).
func (p *Parser) parseCall(name string) (Expr, error) {
	p.Next() // (
	c := &Call{Name: name}
	ignoreNulls := false
	if !p.IsOp(")") {
		if p.AcceptKeyword("DISTINCT") {
			c.Distinct = true
		} else if p.IsKeyword("ALL") && !p.PeekAt(1).IsOp(")") && !p.PeekAt(1).IsOp(",") {
			p.Next()
		}
		if p.IsOp("*") && p.PeekAt(1).IsOp(")") {
			p.Next()
			c.Star = true
		} else {
			for {
				// struct(a, b AS c) names its fields with aliases.
				var a Expr
				var err error
				if name == "struct" {
					a, err = p.ParseNamedExpr()
				} else {
					a, err = p.ParseExpr()
				}
				if err != nil {
					return nil, err
				}
				if t := p.Peek(); t.IsOp("->") || t.IsOp("=>") {
					return nil, p.ErrorAt(t, "'"+t.Value+"' is not supported in function arguments", p.hintFor(t, ""))
				}
				c.Args = append(c.Args, a)
				if !p.AcceptOp(",") {
					break
				}
			}
			if p.IsKeyword("IGNORE") && p.PeekAt(1).IsKeyword("NULLS") {
				p.Next()
				p.Next()
				ignoreNulls = true
			} else if p.IsKeyword("RESPECT") && p.PeekAt(1).IsKeyword("NULLS") {
				p.Next()
				p.Next()
			}
		}
	}
	if _, err := p.ExpectOp(")"); err != nil {
		return nil, err
	}
	if p.IsKeyword("IGNORE", "RESPECT") && p.PeekAt(1).IsKeyword("NULLS") {
		ignoreNulls = p.Next().IsKeyword("IGNORE")
		p.Next()
	}
	if ignoreNulls {
		if err := p.applyIgnoreNulls(c); err != nil {
			return nil, err
		}
	}
	if p.IsKeyword("WITHIN") {
		return nil, p.ErrorAt(p.Peek(), "WITHIN GROUP is not supported", "")
	}
	if p.IsKeyword("OVER") || p.IsKeyword("FILTER") && p.PeekAt(1).IsOp("(") {
		if p.CallSuffix == nil {
			kw := strings.ToUpper(p.Peek().Value)
			return nil, p.ErrorAt(p.Peek(), kw+" is not supported in this expression",
				"window functions and aggregate filters belong in a SELECT statement")
		}
		return p.CallSuffix(p, c)
	}
	return c, nil
}

// applyIgnoreNulls turns first(x) IGNORE NULLS into first(x, true), the
// form Spark's first/last/any_value take.
func (p *Parser) applyIgnoreNulls(c *Call) error {
	switch c.Name {
	case "first", "last", "first_value", "last_value", "any_value":
		if len(c.Args) == 1 {
			c.Args = append(c.Args, Lit(true))
			return nil
		}
	}
	return p.ErrorAt(p.toks[p.i-1], "IGNORE NULLS is supported only for first, last, first_value, last_value and any_value with one argument", "")
}

// parseSubquery hands `( SELECT ...` to the Subquery hook; open is the '('
// already consumed, and the hook's result must be followed by ')'.
func (p *Parser) parseSubquery(open Token) (Expr, error) {
	if p.Subquery == nil {
		return nil, p.ErrorAt(p.Peek(), "subqueries are not supported in this expression",
			"a subquery needs a SELECT statement around it")
	}
	sub, err := p.Subquery(p)
	if err != nil {
		return nil, err
	}
	if _, err := p.ExpectOp(")"); err != nil {
		return nil, err
	}
	return sub, nil
}

// parseParen parses `( expr )`, a row constructor `(a, b)` (a struct), or
// a subquery.
func (p *Parser) parseParen() (Expr, error) {
	open := p.Next()
	if p.IsKeyword("SELECT", "WITH") {
		return p.parseSubquery(open)
	}
	e, err := p.ParseNamedExpr()
	if err != nil {
		return nil, err
	}
	if p.IsOp(",") {
		fields := []Expr{e}
		for p.AcceptOp(",") {
			f, err := p.ParseNamedExpr()
			if err != nil {
				return nil, err
			}
			fields = append(fields, f)
		}
		if _, err := p.ExpectOp(")"); err != nil {
			return nil, err
		}
		if p.IsOp("->") {
			return nil, p.ErrorAt(p.Peek(), "lambda functions are not supported yet", "")
		}
		return &Call{Name: "struct", Args: fields}, nil
	}
	if a, ok := e.(*Alias); ok {
		return nil, p.ErrorAt(open, "an alias inside parentheses names nothing",
			"move AS "+QuoteIdent(a.Name)+" after the closing parenthesis")
	}
	if _, err := p.ExpectOp(")"); err != nil {
		return nil, err
	}
	return e, nil
}

// parseCase parses CASE [x] WHEN c THEN v ... [ELSE e] END into
// casewhen(c1, v1, c2, v2, ..., [e]); the simple form compares x = v.
func (p *Parser) parseCase() (Expr, error) {
	caseTok := p.Next()
	var operand Expr
	if !p.IsKeyword("WHEN", "ELSE", "END") {
		var err error
		if operand, err = p.ParseExpr(); err != nil {
			return nil, err
		}
	}
	if operand == nil && !p.IsKeyword("WHEN") {
		err := p.ErrExpected("WHEN")
		err.Hint = "CASE needs at least one WHEN ... THEN ...: CASE WHEN x > 0 THEN 'pos' END"
		return nil, err
	}
	var args []Expr
	for p.AcceptKeyword("WHEN") {
		cond, err := p.ParseExpr()
		if err != nil {
			return nil, err
		}
		if !p.IsKeyword("THEN") {
			err := p.ErrExpected("THEN")
			err.Hint = "each WHEN needs a THEN: CASE WHEN x > 0 THEN 'pos' ELSE 'neg' END"
			return nil, err
		}
		p.Next()
		val, err := p.ParseExpr()
		if err != nil {
			return nil, err
		}
		if operand != nil {
			cond = &Call{Name: "=", Args: []Expr{operand, cond}}
		}
		args = append(args, cond, val)
	}
	if len(args) == 0 {
		err := p.ErrExpected("WHEN")
		err.Hint = "CASE needs at least one WHEN ... THEN ...: CASE WHEN x > 0 THEN 'pos' END"
		return nil, err
	}
	hasElse := p.AcceptKeyword("ELSE")
	if hasElse {
		e, err := p.ParseExpr()
		if err != nil {
			return nil, err
		}
		args = append(args, e)
	}
	if !p.IsKeyword("END") {
		err := p.ErrExpected("END")
		if !hasElse {
			err.Expected = "WHEN, ELSE or END"
		}
		err.Hint = "close the CASE at " + posString(caseTok.Pos) + " with END"
		return nil, err
	}
	p.Next()
	return &Call{Name: "casewhen", Args: args}, nil
}

func posString(p Pos) string {
	return strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col)
}

// parseCast parses CAST(x AS type) and TRY_CAST(x AS type). Both are
// Try casts: sluice follows Spark's non-ANSI mode, where an invalid cast
// gives NULL.
func (p *Parser) parseCast() (Expr, error) {
	kw := p.Next()
	p.Next() // (
	e, err := p.ParseExpr()
	if err != nil {
		return nil, err
	}
	if !p.IsKeyword("AS") {
		err := p.ErrExpected("AS")
		err.Hint = "write " + strings.ToUpper(kw.Value) + "(x AS INT)"
		return nil, err
	}
	p.Next()
	dt, err := p.ParseType()
	if err != nil {
		return nil, err
	}
	if _, err := p.ExpectOp(")"); err != nil {
		return nil, err
	}
	return &Cast{Child: e, To: dt, Try: true}, nil
}

// extractFields maps EXTRACT field names (and Spark's abbreviations) to
// the function computing them.
var extractFields = map[string]string{
	"YEAR": "year", "Y": "year", "YEARS": "year", "YR": "year", "YRS": "year",
	"QUARTER": "quarter", "QTR": "quarter",
	"MONTH": "month", "MON": "month", "MONS": "month", "MONTHS": "month",
	"WEEK": "weekofyear", "W": "weekofyear", "WEEKS": "weekofyear",
	"DAY": "day", "D": "day", "DAYS": "day",
	"DAYOFWEEK": "dayofweek", "DOW": "dayofweek",
	"DAYOFYEAR": "dayofyear", "DOY": "dayofyear",
	"HOUR": "hour", "H": "hour", "HOURS": "hour", "HR": "hour", "HRS": "hour",
	"MINUTE": "minute", "M": "minute", "MIN": "minute", "MINS": "minute", "MINUTES": "minute",
	"SECOND": "second", "S": "second", "SEC": "second", "SECONDS": "second", "SECS": "second",
}

// parseExtract parses EXTRACT(field FROM x) into field(x): year(x), ...
func (p *Parser) parseExtract() (Expr, error) {
	p.Next()
	p.Next() // (
	f := p.Peek()
	if f.Kind != TokIdent && f.Kind != TokString {
		return nil, p.ErrExpected("a field name (YEAR, MONTH, DAY, HOUR, ...)")
	}
	fn, ok := extractFields[strings.ToUpper(f.Value)]
	if !ok {
		return nil, p.ErrorAt(f, "unknown EXTRACT field "+f.Text,
			"use YEAR, QUARTER, MONTH, WEEK, DAY, DAYOFWEEK, DAYOFYEAR, HOUR, MINUTE or SECOND")
	}
	p.Next()
	if _, err := p.ExpectKeyword("FROM"); err != nil {
		return nil, err
	}
	e, err := p.ParseExpr()
	if err != nil {
		return nil, err
	}
	if _, err := p.ExpectOp(")"); err != nil {
		return nil, err
	}
	return &Call{Name: fn, Args: []Expr{e}}, nil
}

// parseSubstring parses SUBSTRING(s FROM pos [FOR len]) and the plain call
// form SUBSTRING(s, pos[, len]).
func (p *Parser) parseSubstring() (Expr, error) {
	name := strings.ToLower(p.Next().Value)
	p.Next() // (
	s, err := p.ParseExpr()
	if err != nil {
		return nil, err
	}
	args := []Expr{s}
	if p.AcceptKeyword("FROM") || p.AcceptOp(",") {
		pos, err := p.ParseExpr()
		if err != nil {
			return nil, err
		}
		args = append(args, pos)
		if p.AcceptKeyword("FOR") || p.AcceptOp(",") {
			n, err := p.ParseExpr()
			if err != nil {
				return nil, err
			}
			args = append(args, n)
		}
	}
	if _, err := p.ExpectOp(")"); err != nil {
		return nil, err
	}
	return &Call{Name: name, Args: args}, nil
}

// parseTrim parses TRIM([BOTH|LEADING|TRAILING] [chars] FROM s) into
// trim/ltrim/rtrim(s) or, with chars, trim/ltrim/rtrim(chars, s) — Spark's
// two-argument order — and the plain call form trim(s), trim(chars, s).
func (p *Parser) parseTrim() (Expr, error) {
	p.Next()
	p.Next() // (
	name := "trim"
	explicit := false
	if p.IsKeyword("BOTH", "LEADING", "TRAILING") && !p.PeekAt(1).IsOp(")") && !p.PeekAt(1).IsOp(",") {
		// A lone BOTH is a column of that name.
		explicit = true
		switch strings.ToUpper(p.Next().Value) {
		case "LEADING":
			name = "ltrim"
		case "TRAILING":
			name = "rtrim"
		}
	}
	var chars Expr
	if !p.IsKeyword("FROM") {
		e, err := p.ParseExpr()
		if err != nil {
			return nil, err
		}
		chars = e
	}
	if !p.AcceptKeyword("FROM") {
		if explicit || chars == nil {
			return nil, p.ErrExpected("FROM")
		}
		// Plain call: trim(s) or trim(chars, s).
		args := []Expr{chars}
		for p.AcceptOp(",") {
			e, err := p.ParseExpr()
			if err != nil {
				return nil, err
			}
			args = append(args, e)
		}
		if _, err := p.ExpectOp(")"); err != nil {
			return nil, err
		}
		return &Call{Name: name, Args: args}, nil
	}
	s, err := p.ParseExpr()
	if err != nil {
		return nil, err
	}
	if _, err := p.ExpectOp(")"); err != nil {
		return nil, err
	}
	if chars == nil {
		return &Call{Name: name, Args: []Expr{s}}, nil
	}
	return &Call{Name: name, Args: []Expr{chars, s}}, nil
}

// parsePosition parses POSITION(sub IN s) into position(sub, s), and the
// plain call form.
func (p *Parser) parsePosition() (Expr, error) {
	p.Next()
	p.Next() // (
	sub, err := p.ParseExprPrec(PrecBitOr)
	if err != nil {
		return nil, err
	}
	if p.AcceptKeyword("IN") {
		s, err := p.ParseExprPrec(PrecBitOr)
		if err != nil {
			return nil, err
		}
		if _, err := p.ExpectOp(")"); err != nil {
			return nil, err
		}
		return &Call{Name: "position", Args: []Expr{sub, s}}, nil
	}
	if sub, err = p.parseInfix(sub, PrecLowest); err != nil {
		return nil, err
	}
	return p.finishCallArgs("position", sub)
}

// finishCallArgs parses the remaining `, arg ...)` of a plain call whose
// first argument was already parsed.
func (p *Parser) finishCallArgs(name string, first Expr) (Expr, error) {
	args := []Expr{first}
	for p.AcceptOp(",") {
		e, err := p.ParseExpr()
		if err != nil {
			return nil, err
		}
		args = append(args, e)
	}
	if _, err := p.ExpectOp(")"); err != nil {
		return nil, err
	}
	return &Call{Name: name, Args: args}, nil
}

// parseOverlay parses OVERLAY(s PLACING r FROM pos [FOR len]) into
// overlay(s, r, pos[, len]), and the plain call form.
func (p *Parser) parseOverlay() (Expr, error) {
	p.Next()
	p.Next() // (
	s, err := p.ParseExpr()
	if err != nil {
		return nil, err
	}
	if !p.AcceptKeyword("PLACING") {
		return p.finishCallArgs("overlay", s)
	}
	r, err := p.ParseExpr()
	if err != nil {
		return nil, err
	}
	if _, err := p.ExpectKeyword("FROM"); err != nil {
		return nil, err
	}
	pos, err := p.ParseExpr()
	if err != nil {
		return nil, err
	}
	args := []Expr{s, r, pos}
	if p.AcceptKeyword("FOR") {
		n, err := p.ParseExpr()
		if err != nil {
			return nil, err
		}
		args = append(args, n)
	}
	if _, err := p.ExpectOp(")"); err != nil {
		return nil, err
	}
	return &Call{Name: "overlay", Args: args}, nil
}

var datetimeUnits = map[string]bool{
	"YEAR": true, "QUARTER": true, "MONTH": true, "WEEK": true, "DAY": true, "DAYOFYEAR": true,
	"HOUR": true, "MINUTE": true, "SECOND": true, "MILLISECOND": true, "MICROSECOND": true,
}

func isDatetimeUnit(t Token) bool {
	return t.Kind == TokIdent && datetimeUnits[strings.ToUpper(t.Value)]
}

// parseTimestampArith parses TIMESTAMPADD(unit, n, ts) and
// TIMESTAMPDIFF(unit, start, end) (and their DATEADD/DATEDIFF spellings)
// into timestampadd / timestampdiff calls whose first argument is the unit
// as an upper-case string literal.
func (p *Parser) parseTimestampArith() (Expr, error) {
	name := "timestampadd"
	switch strings.ToUpper(p.Next().Value) {
	case "TIMESTAMPDIFF", "DATEDIFF", "DATE_DIFF", "TIMEDIFF":
		name = "timestampdiff"
	}
	p.Next() // (
	unit := Lit(strings.ToUpper(p.Next().Value))
	p.Next() // ,
	a, err := p.ParseExpr()
	if err != nil {
		return nil, err
	}
	if _, err := p.ExpectOp(","); err != nil {
		return nil, err
	}
	b, err := p.ParseExpr()
	if err != nil {
		return nil, err
	}
	if _, err := p.ExpectOp(")"); err != nil {
		return nil, err
	}
	return &Call{Name: name, Args: []Expr{unit, a, b}}, nil
}
