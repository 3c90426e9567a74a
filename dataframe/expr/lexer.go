package expr

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Pos is a position in SQL text: a byte offset and the 1-based line and
// column (in characters) a person would count in an editor.
type Pos struct {
	Offset int
	Line   int
	Col    int
}

// TokenKind classifies a token.
type TokenKind uint8

const (
	// TokEOF ends every token stream; its Pos is the end of the text.
	TokEOF TokenKind = iota
	// TokIdent is an unquoted identifier or keyword. Keywords are not a
	// separate kind: Spark lets most keywords double as names, so the parser
	// decides by context (Token.IsKeyword).
	TokIdent
	// TokQuotedIdent is a `backquoted` identifier; Value is the name with ``
	// unescaped. It is never a keyword.
	TokQuotedIdent
	// TokNumber is a numeric literal as written, suffix included (10L, 1.5,
	// 1e3, 2BD). The parser types it (see numberLiteral) so that a leading
	// minus can be folded in first, as Spark does.
	TokNumber
	// TokString is a '...' or "..." (or raw R'...') literal; Value is the
	// decoded text.
	TokString
	// TokBinary is a X'..' hex literal; Value holds the decoded bytes.
	TokBinary
	// TokOp is an operator or punctuation; Value is its spelling.
	TokOp
)

func (k TokenKind) String() string {
	switch k {
	case TokEOF:
		return "end of input"
	case TokIdent:
		return "identifier"
	case TokQuotedIdent:
		return "quoted identifier"
	case TokNumber:
		return "number"
	case TokString:
		return "string"
	case TokBinary:
		return "binary literal"
	case TokOp:
		return "operator"
	}
	return "token"
}

// Token is one lexical unit of SQL text.
type Token struct {
	Kind TokenKind
	// Text is the token exactly as written in the input.
	Text string
	// Value is the token's meaning: the name of an identifier, the decoded
	// content of a string or binary literal, the spelling of an operator.
	Value string
	Pos   Pos
	// End is the byte offset just after the token.
	End int
}

// IsKeyword reports whether t is the unquoted word kw (case-insensitive).
// kw must be upper case.
func (t Token) IsKeyword(kw string) bool {
	return t.Kind == TokIdent && len(t.Value) == len(kw) && strings.EqualFold(t.Value, kw)
}

// IsOp reports whether t is the operator or punctuation op.
func (t Token) IsOp(op string) bool { return t.Kind == TokOp && t.Value == op }

// describe renders the token for "found ..." in error messages.
func (t Token) describe() string {
	if t.Kind == TokEOF {
		return "end of input"
	}
	s := t.Text
	if utf8.RuneCountInString(s) > 30 {
		r := []rune(s)
		s = string(r[:27]) + "..."
	}
	switch t.Kind {
	case TokIdent:
		if IsReservedKeyword(t.Value) {
			return "keyword " + strings.ToUpper(s)
		}
		return "'" + s + "'"
	case TokString:
		return "string " + s
	case TokNumber:
		return "number " + s
	}
	return "'" + s + "'"
}

// operators lists multi-character operators, longest first so the lexer
// takes the longest match (>>> before >> before >).
var operators = []string{
	">>>", "<=>",
	"<<", ">>", "<=", ">=", "<>", "!=", "==", "||", "::", "->", "=>", "!<", "!>", "&&",
}

// singleOps are the one-character operators and punctuation.
const singleOps = "+-*/%=<>&|^~!(),.[]:;?{}"

// Lexer splits SQL text into tokens. It follows Spark's lexer: keywords are
// case-insensitive, identifiers may start with a digit (1st_col) or be
// backquoted, strings take backslash escapes, `--` and nested `/* */`
// comments are skipped.
type Lexer struct {
	text      string
	off       int
	line      int
	lineStart int
}

// NewLexer returns a lexer positioned at the start of text.
func NewLexer(text string) *Lexer {
	return &Lexer{text: text, line: 1}
}

// Tokenize lexes all of text; the last token is TokEOF. Errors are
// *ParseError.
func Tokenize(text string) ([]Token, error) {
	lx := NewLexer(text)
	var toks []Token
	for {
		t, err := lx.Next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		if t.Kind == TokEOF {
			return toks, nil
		}
	}
}

// pos returns the position of byte offset off, which must be at or after
// the start of the current line.
func (lx *Lexer) pos(off int) Pos {
	return Pos{Offset: off, Line: lx.line, Col: utf8.RuneCountInString(lx.text[lx.lineStart:off]) + 1}
}

func (lx *Lexer) errAt(off int, msg, hint string) *ParseError {
	return &ParseError{Text: lx.text, Pos: PosOf(lx.text, off), Msg: msg, Hint: hint}
}

// Next returns the next token, or a *ParseError for malformed input.
func (lx *Lexer) Next() (Token, error) {
	if err := lx.skipSpace(); err != nil {
		return Token{}, err
	}
	start := lx.off
	p := lx.pos(start)
	if start >= len(lx.text) {
		return Token{Kind: TokEOF, Pos: p, End: start}, nil
	}
	c := lx.text[start]
	tok := func(kind TokenKind, value string) (Token, error) {
		return Token{Kind: kind, Text: lx.text[start:lx.off], Value: value, Pos: p, End: lx.off}, nil
	}
	switch {
	case (c == 'x' || c == 'X') && start+1 < len(lx.text) && lx.text[start+1] == '\'':
		v, err := lx.hexString()
		if err != nil {
			return Token{}, err
		}
		return tok(TokBinary, v)
	case (c == 'r' || c == 'R') && start+1 < len(lx.text) && (lx.text[start+1] == '\'' || lx.text[start+1] == '"'):
		v, err := lx.rawString()
		if err != nil {
			return Token{}, err
		}
		return tok(TokString, v)
	case c == '\'' || c == '"':
		v, err := lx.quotedString()
		if err != nil {
			return Token{}, err
		}
		return tok(TokString, v)
	case c == '`':
		v, err := lx.backquoted()
		if err != nil {
			return Token{}, err
		}
		return tok(TokQuotedIdent, v)
	case isDigit(c) || c == '.' && start+1 < len(lx.text) && isDigit(lx.text[start+1]):
		kind, err := lx.number()
		if err != nil {
			return Token{}, err
		}
		if kind == TokIdent {
			return tok(TokIdent, lx.text[start:lx.off])
		}
		return tok(TokNumber, lx.text[start:lx.off])
	}
	if r, size := utf8.DecodeRuneInString(lx.text[start:]); isIdentRune(r) && r != utf8.RuneError {
		lx.off += size
		lx.identRest()
		return tok(TokIdent, lx.text[start:lx.off])
	}
	for _, op := range operators {
		if strings.HasPrefix(lx.text[start:], op) {
			lx.off += len(op)
			return tok(TokOp, op)
		}
	}
	if strings.IndexByte(singleOps, c) >= 0 {
		lx.off++
		return tok(TokOp, lx.text[start:lx.off])
	}
	r, _ := utf8.DecodeRuneInString(lx.text[start:])
	var msg string
	if r == utf8.RuneError {
		msg = "invalid UTF-8 byte in SQL text"
	} else {
		msg = "unexpected character " + quoteRune(r)
	}
	hint := ""
	switch r {
	case '#', '$', '@':
		hint = "names with special characters must be backquoted: `my#col`"
	case '‘', '’', '“', '”':
		hint = "use plain ASCII quotes (' or \") around strings"
	}
	return Token{}, lx.errAt(start, msg, hint)
}

func quoteRune(r rune) string {
	if r == '\'' {
		return `"'"`
	}
	return "'" + string(r) + "'"
}

// skipSpace skips whitespace and comments, keeping the line count.
func (lx *Lexer) skipSpace() error {
	for lx.off < len(lx.text) {
		c := lx.text[lx.off]
		switch {
		case c == '\n':
			lx.off++
			lx.line++
			lx.lineStart = lx.off
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			lx.off++
		case c == '-' && strings.HasPrefix(lx.text[lx.off:], "--"):
			for lx.off < len(lx.text) && lx.text[lx.off] != '\n' {
				lx.off++
			}
		case c == '/' && strings.HasPrefix(lx.text[lx.off:], "/*"):
			if err := lx.blockComment(); err != nil {
				return err
			}
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(lx.text[lx.off:])
			if r == utf8.RuneError || !unicode.IsSpace(r) {
				return nil
			}
			lx.off += size
		default:
			return nil
		}
	}
	return nil
}

// blockComment skips a /* */ comment; like Spark's, comments nest.
func (lx *Lexer) blockComment() error {
	start := lx.off
	depth := 0
	for lx.off < len(lx.text) {
		switch {
		case strings.HasPrefix(lx.text[lx.off:], "/*"):
			depth++
			lx.off += 2
		case strings.HasPrefix(lx.text[lx.off:], "*/"):
			depth--
			lx.off += 2
			if depth == 0 {
				return nil
			}
		default:
			if lx.text[lx.off] == '\n' {
				lx.line++
				lx.lineStart = lx.off + 1
			}
			lx.off++
		}
	}
	return lx.errAt(start, "unterminated comment", "close the /* comment with */")
}

func (lx *Lexer) identRest() {
	for lx.off < len(lx.text) {
		r, size := utf8.DecodeRuneInString(lx.text[lx.off:])
		if r == utf8.RuneError || !isIdentRune(r) && !unicode.IsDigit(r) {
			return
		}
		lx.off += size
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentRune(r rune) bool {
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= utf8.RuneSelf && unicode.IsLetter(r)
}

func (lx *Lexer) identCharAt(off int) bool {
	if off >= len(lx.text) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(lx.text[off:])
	return r != utf8.RuneError && (isIdentRune(r) || unicode.IsDigit(r))
}

// number scans a numeric literal: digits, an optional fraction, an optional
// exponent and an optional type suffix (L S Y D F BD). Like Spark, a digit
// run followed by letters that make no suffix is an identifier (1st_place);
// a fraction followed by letters is an error.
func (lx *Lexer) number() (TokenKind, error) {
	start := lx.off
	t := lx.text
	i := start
	for i < len(t) && isDigit(t[i]) {
		i++
	}
	intOnly := true
	if i < len(t) && t[i] == '.' && !(i+1 < len(t) && t[i+1] == '.') {
		// "1." is a decimal in Spark; "1.e3" too.
		intOnly = false
		i++
		for i < len(t) && isDigit(t[i]) {
			i++
		}
	}
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		j := i + 1
		if j < len(t) && (t[j] == '+' || t[j] == '-') {
			j++
		}
		if j < len(t) && isDigit(t[j]) {
			for j < len(t) && isDigit(t[j]) {
				j++
			}
			i = j
		}
	}
	if i+1 < len(t) && (t[i] == 'b' || t[i] == 'B') && (t[i+1] == 'd' || t[i+1] == 'D') && !lx.identCharAt(i+2) {
		i += 2
	} else if i < len(t) && strings.IndexByte("lLsSyYdDfF", t[i]) >= 0 && !lx.identCharAt(i+1) {
		i++
	}
	if lx.identCharAt(i) {
		if intOnly {
			lx.off = i
			lx.identRest()
			return TokIdent, nil
		}
		lx.off = i
		lx.identRest()
		return 0, lx.errAt(start, "invalid number "+t[start:lx.off],
			"a number must not run into letters; put a space or an operator between them")
	}
	lx.off = i
	return TokNumber, nil
}

// quotedString decodes a '...' or "..." string with Spark's backslash
// escapes (see unescapeSQLString in Spark): \n \t \r \b \0 \Z \\ \' \",
// \uXXXX, \UXXXXXXXX and octal \ooo; \% and \_ keep their backslash for
// LIKE; any other escaped character stands for itself.
func (lx *Lexer) quotedString() (string, error) {
	start := lx.off
	q := lx.text[start]
	var b strings.Builder
	i := start + 1
	t := lx.text
	for i < len(t) {
		c := t[i]
		switch {
		case c == q:
			lx.off = i + 1
			return b.String(), nil
		case c == '\\' && i+1 < len(t):
			n := lx.escape(&b, i+1)
			i += 1 + n
		case c == '\\':
			i++
		default:
			if c == '\n' {
				lx.line++
				lx.lineStart = i + 1
			}
			b.WriteByte(c)
			i++
		}
	}
	lx.off = len(t)
	return "", lx.errAt(start, "unterminated string",
		"add the closing "+string(q)+"; a quote inside the string is written \\"+string(q))
}

// escape decodes the escape sequence whose first character (after the
// backslash) is at i, and returns how many bytes it used.
func (lx *Lexer) escape(b *strings.Builder, i int) int {
	t := lx.text
	c := t[i]
	switch c {
	case 'u', 'U':
		n := 4
		if c == 'U' {
			n = 8
		}
		if i+1+n <= len(t) && isHex(t[i+1:i+1+n]) {
			var r rune
			for _, h := range t[i+1 : i+1+n] {
				r = r<<4 | rune(hexVal(byte(h)))
			}
			if utf8.ValidRune(r) {
				b.WriteRune(r)
			} else {
				b.WriteRune(utf8.RuneError)
			}
			return 1 + n
		}
	case '0', '1', '2', '3':
		if i+3 <= len(t) && isOct(t[i+1]) && isOct(t[i+2]) {
			v := (c-'0')<<6 | (t[i+1]-'0')<<3 | (t[i+2] - '0')
			b.WriteRune(rune(v))
			return 3
		}
	}
	switch c {
	case '0':
		b.WriteByte(0)
	case 'b':
		b.WriteByte('\b')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'Z':
		b.WriteByte(0x1A)
	case '%', '_':
		b.WriteByte('\\')
		b.WriteByte(c)
	case '\n':
		lx.line++
		lx.lineStart = i + 1
		b.WriteByte(c)
	default:
		// Any other escaped character stands for itself, whole rune.
		_, size := utf8.DecodeRuneInString(t[i:])
		b.WriteString(t[i : i+size])
		return size
	}
	return 1
}

func isOct(c byte) bool { return c >= '0' && c <= '7' }

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if hexVal(s[i]) < 0 {
			return false
		}
	}
	return true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// rawString decodes R'...' / R"...": no escapes, as in Spark.
func (lx *Lexer) rawString() (string, error) {
	start := lx.off
	q := lx.text[start+1]
	end := strings.IndexByte(lx.text[start+2:], q)
	if end < 0 {
		lx.off = len(lx.text)
		return "", lx.errAt(start, "unterminated raw string", "add the closing "+string(q))
	}
	v := lx.text[start+2 : start+2+end]
	lx.advanceLines(start, start+2+end+1)
	return v, nil
}

// hexString decodes X'...'. An odd number of digits gets a leading zero,
// as Spark's unhex does.
func (lx *Lexer) hexString() (string, error) {
	start := lx.off
	end := strings.IndexByte(lx.text[start+2:], '\'')
	if end < 0 {
		lx.off = len(lx.text)
		return "", lx.errAt(start, "unterminated binary literal", "add the closing ': X'0A1B'")
	}
	digits := lx.text[start+2 : start+2+end]
	for i := 0; i < len(digits); i++ {
		if hexVal(digits[i]) < 0 {
			return "", lx.errAt(start+2+i, "invalid hex digit in binary literal X'"+digits+"'",
				"a binary literal holds hex digits only: X'CAFE'")
		}
	}
	if len(digits)%2 == 1 {
		digits = "0" + digits
	}
	out := make([]byte, len(digits)/2)
	for i := range out {
		out[i] = byte(hexVal(digits[2*i])<<4 | hexVal(digits[2*i+1]))
	}
	lx.off = start + 2 + end + 1
	return string(out), nil
}

// backquoted decodes a `quoted` identifier; “ is a literal backquote.
func (lx *Lexer) backquoted() (string, error) {
	start := lx.off
	var b strings.Builder
	t := lx.text
	for i := start + 1; i < len(t); i++ {
		if t[i] == '`' {
			if i+1 < len(t) && t[i+1] == '`' {
				b.WriteByte('`')
				i++
				continue
			}
			lx.advanceLines(start, i+1)
			return b.String(), nil
		}
		b.WriteByte(t[i])
	}
	lx.off = len(t)
	return "", lx.errAt(start, "unterminated quoted identifier", "add the closing `; a backquote inside the name is written ``")
}

// advanceLines moves the lexer to end, counting newlines in [from, end).
func (lx *Lexer) advanceLines(from, end int) {
	for i := from; i < end; i++ {
		if lx.text[i] == '\n' {
			lx.line++
			lx.lineStart = i + 1
		}
	}
	lx.off = end
}

// PosOf computes the position of byte offset off in text (clamped to the
// text).
func PosOf(text string, off int) Pos {
	if off < 0 {
		off = 0
	}
	if off > len(text) {
		off = len(text)
	}
	line := 1 + strings.Count(text[:off], "\n")
	ls := strings.LastIndexByte(text[:off], '\n') + 1
	return Pos{Offset: off, Line: line, Col: utf8.RuneCountInString(text[ls:off]) + 1}
}
