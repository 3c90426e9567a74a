package protobuf

import (
	"fmt"
	"strconv"
	"strings"
)

// maxNesting bounds nested message/enum/brace depth, so hostile schema
// text cannot exhaust the stack.
const maxNesting = 64

// token is one lexical token of .proto text.
type token struct {
	kind byte   // 'i' identifier (dotted names too), 'n' number, 's' string, 'p' punctuation, 0 EOF
	text string // identifier, number text, unquoted string, or the punctuation char
	line int
}

type lexer struct {
	src  string
	pos  int
	line int
}

func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '\n':
			l.line++
			l.pos++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			l.pos++
		case c == '/' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '/':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
		case c == '/' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '*':
			end := strings.Index(l.src[l.pos+2:], "*/")
			if end < 0 {
				return token{}, schemaErr("line %d: unterminated /* comment", l.line)
			}
			l.line += strings.Count(l.src[l.pos:l.pos+2+end], "\n")
			l.pos += end + 4
		default:
			return l.token()
		}
	}
	return token{line: l.line}, nil
}

func isIdent(c byte, first bool) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
}

func (l *lexer) token() (token, error) {
	start, c := l.pos, l.src[l.pos]
	switch {
	case isIdent(c, true) || c == '.' && l.pos+1 < len(l.src) && isIdent(l.src[l.pos+1], true):
		// Identifiers and dotted (possibly fully qualified) names.
		l.pos++
		for l.pos < len(l.src) && (isIdent(l.src[l.pos], false) || l.src[l.pos] == '.') {
			l.pos++
		}
		return token{kind: 'i', text: l.src[start:l.pos], line: l.line}, nil
	case c >= '0' && c <= '9' || (c == '-' || c == '+' || c == '.') && l.pos+1 < len(l.src) && l.src[l.pos+1] >= '0' && l.src[l.pos+1] <= '9':
		l.pos++
		for l.pos < len(l.src) {
			d := l.src[l.pos]
			if isIdent(d, false) || d == '.' || (d == '-' || d == '+') && (l.src[l.pos-1] == 'e' || l.src[l.pos-1] == 'E') {
				l.pos++
				continue
			}
			break
		}
		return token{kind: 'n', text: l.src[start:l.pos], line: l.line}, nil
	case c == '"' || c == '\'':
		var sb strings.Builder
		l.pos++
		for {
			if l.pos >= len(l.src) || l.src[l.pos] == '\n' {
				return token{}, schemaErr("line %d: unterminated string", l.line)
			}
			d := l.src[l.pos]
			if d == c {
				l.pos++
				return token{kind: 's', text: sb.String(), line: l.line}, nil
			}
			if d == '\\' && l.pos+1 < len(l.src) {
				// Escapes matter only inside option values, which are
				// ignored: keep the escaped character as is.
				sb.WriteByte(l.src[l.pos+1])
				l.pos += 2
				continue
			}
			sb.WriteByte(d)
			l.pos++
		}
	}
	l.pos++
	return token{kind: 'p', text: string(c), line: l.line}, nil
}

// parser is a recursive-descent parser over the token stream.
type parser struct {
	lx    lexer
	tok   token
	file  *File
	depth int
}

// ParseFile parses .proto text; name is the path other files import it by.
func ParseFile(name, text string) (*File, error) {
	p := &parser{lx: lexer{src: text, line: 1}, file: &File{Name: name, Syntax: "proto2"}}
	if err := p.advance(); err != nil {
		return nil, p.wrap(err)
	}
	if err := p.parseFile(); err != nil {
		return nil, p.wrap(err)
	}
	return p.file, nil
}

func (p *parser) wrap(err error) error {
	if p.file.Name != "" {
		return schemaErr("%s: %s", p.file.Name, strings.TrimPrefix(err.Error(), ErrSchema.Error()+": "))
	}
	return err
}

func (p *parser) advance() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) errf(format string, args ...any) error {
	what := p.tok.text
	switch p.tok.kind {
	case 0:
		what = "end of file"
	case 's':
		what = strconv.Quote(what)
	default:
		what = "'" + what + "'"
	}
	return schemaErr("line %d: %s (at %s)", p.tok.line, strings.TrimSpace(fmt.Sprintf(format, args...)), what)
}

func (p *parser) is(text string) bool {
	return p.tok.kind != 's' && p.tok.kind != 0 && p.tok.text == text
}

func (p *parser) expect(text string) error {
	if !p.is(text) {
		return p.errf("want %q", text)
	}
	return p.advance()
}

func (p *parser) ident(what string) (string, error) {
	if p.tok.kind != 'i' {
		return "", p.errf("want %s", what)
	}
	s := p.tok.text
	return s, p.advance()
}

func (p *parser) str(what string) (string, error) {
	if p.tok.kind != 's' {
		return "", p.errf("want %s (a quoted string)", what)
	}
	var sb strings.Builder
	for p.tok.kind == 's' { // adjacent strings concatenate
		sb.WriteString(p.tok.text)
		if err := p.advance(); err != nil {
			return "", err
		}
	}
	return sb.String(), nil
}

// skipStatement skips to the end of a statement: a ';' at this level, or
// a balanced {...} block (aggregate option values, services, extends).
func (p *parser) skipStatement() error {
	depth := 0
	for {
		switch {
		case p.tok.kind == 0:
			return p.errf("unexpected end of file")
		case p.is("{"), p.is("["), p.is("("):
			depth++
			if depth > maxNesting {
				return p.errf("nested too deeply")
			}
		case p.is("}"), p.is("]"), p.is(")"):
			depth--
			if depth < 0 {
				return p.errf("unbalanced %s", p.tok.text)
			}
			if depth == 0 && p.is("}") {
				if err := p.advance(); err != nil {
					return err
				}
				if p.is(";") {
					return p.advance()
				}
				return nil
			}
		case p.is(";") && depth == 0:
			return p.advance()
		}
		if err := p.advance(); err != nil {
			return err
		}
	}
}

func (p *parser) parseFile() error {
	first := true
	for p.tok.kind != 0 {
		switch {
		case p.is(";"):
			if err := p.advance(); err != nil {
				return err
			}
		case p.is("syntax"):
			if !first {
				return p.errf("syntax must be the first statement")
			}
			if err := p.advance(); err != nil {
				return err
			}
			if err := p.expect("="); err != nil {
				return err
			}
			s, err := p.str("proto2 or proto3")
			if err != nil {
				return err
			}
			if s != "proto2" && s != "proto3" {
				return p.errf("syntax %q is not supported (proto2 or proto3)", s)
			}
			p.file.Syntax = s
			if err := p.expect(";"); err != nil {
				return err
			}
		case p.is("edition"):
			return p.errf("protobuf editions are not supported; use syntax proto2 or proto3")
		case p.is("package"):
			if err := p.advance(); err != nil {
				return err
			}
			name, err := p.ident("a package name")
			if err != nil {
				return err
			}
			p.file.Package = strings.TrimPrefix(name, ".")
			if err := p.expect(";"); err != nil {
				return err
			}
		case p.is("import"):
			if err := p.advance(); err != nil {
				return err
			}
			if p.is("public") || p.is("weak") {
				if err := p.advance(); err != nil {
					return err
				}
			}
			path, err := p.str("an import path")
			if err != nil {
				return err
			}
			p.file.Imports = append(p.file.Imports, path)
			if err := p.expect(";"); err != nil {
				return err
			}
		case p.is("message"):
			m, err := p.parseMessage()
			if err != nil {
				return err
			}
			p.file.Messages = append(p.file.Messages, m)
		case p.is("enum"):
			e, err := p.parseEnum()
			if err != nil {
				return err
			}
			p.file.Enums = append(p.file.Enums, e)
		case p.is("option"), p.is("service"), p.is("extend"):
			if err := p.skipStatement(); err != nil {
				return err
			}
		default:
			return p.errf("want syntax, package, import, option, message, enum, service or extend")
		}
		first = false
	}
	return nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxNesting {
		return p.errf("messages nested more than %d deep", maxNesting)
	}
	return nil
}

func (p *parser) parseMessage() (*Message, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if err := p.advance(); err != nil { // "message"
		return nil, err
	}
	name, err := p.ident("a message name")
	if err != nil {
		return nil, err
	}
	if strings.Contains(name, ".") {
		return nil, p.errf("message name %q must not contain '.'", name)
	}
	m := &Message{Name: name, file: p.file}
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	if err := p.messageBody(m, -1); err != nil {
		return nil, err
	}
	return m, nil
}

// messageBody parses up to and including the closing brace; oneof >= 0
// parses a oneof's body into m.
func (p *parser) messageBody(m *Message, oneof int) error {
	for !p.is("}") {
		switch {
		case p.tok.kind == 0:
			return p.errf("message %s is not closed", m.Name)
		case p.is(";"):
			if err := p.advance(); err != nil {
				return err
			}
		case p.is("message") && oneof < 0:
			sub, err := p.parseMessage()
			if err != nil {
				return err
			}
			m.Messages = append(m.Messages, sub)
		case p.is("enum") && oneof < 0:
			e, err := p.parseEnum()
			if err != nil {
				return err
			}
			m.Enums = append(m.Enums, e)
		case p.is("oneof") && oneof < 0:
			if err := p.advance(); err != nil {
				return err
			}
			name, err := p.ident("a oneof name")
			if err != nil {
				return err
			}
			m.Oneofs = append(m.Oneofs, name)
			if err := p.expect("{"); err != nil {
				return err
			}
			if err := p.enter(); err != nil {
				return err
			}
			err = p.messageBody(m, len(m.Oneofs)-1)
			p.depth--
			if err != nil {
				return err
			}
		case p.is("option"), p.is("reserved"), p.is("extensions"), p.is("extend"):
			if err := p.skipStatement(); err != nil {
				return err
			}
		case p.is("map"):
			if err := p.parseMapField(m); err != nil {
				return err
			}
		default:
			if err := p.parseField(m, oneof); err != nil {
				return err
			}
		}
	}
	return p.advance()
}

func (p *parser) parseField(m *Message, oneof int) error {
	f := &Field{Oneof: oneof}
	label := ""
	if p.is("repeated") || p.is("optional") || p.is("required") {
		if oneof >= 0 {
			return p.errf("fields of a oneof take no label")
		}
		label = p.tok.text
		if err := p.advance(); err != nil {
			return err
		}
	}
	typ, err := p.ident("a field type")
	if err != nil {
		return err
	}
	if typ == "group" {
		return p.errf("proto2 groups are not supported")
	}
	name, err := p.ident("a field name")
	if err != nil {
		return err
	}
	f.Name, f.TypeName = name, typ
	if k, ok := scalarKinds[typ]; ok {
		f.kind = k
	}
	if err := p.number(f); err != nil {
		return err
	}
	switch {
	case label == "repeated":
		f.Repeated = true
	case oneof >= 0 || label == "optional" || p.file.Syntax == "proto2":
		f.Presence = true
	}
	m.Fields = append(m.Fields, f)
	return nil
}

// number parses "= N [options];".
func (p *parser) number(f *Field) error {
	if err := p.expect("="); err != nil {
		return err
	}
	if p.tok.kind != 'n' {
		return p.errf("want the field number of %s", f.Name)
	}
	n, err := strconv.ParseInt(p.tok.text, 0, 32)
	if err != nil || n < 1 || n > 1<<29-1 || n >= 19000 && n <= 19999 {
		return p.errf("field %s: number %s is out of range (1 to 536870911, not 19000-19999)", f.Name, p.tok.text)
	}
	f.Number = int32(n)
	if err := p.advance(); err != nil {
		return err
	}
	if p.is("[") {
		if err := p.skipBrackets(); err != nil {
			return err
		}
	}
	return p.expect(";")
}

// skipBrackets skips a balanced [...] of field options.
func (p *parser) skipBrackets() error {
	depth := 0
	for {
		switch {
		case p.tok.kind == 0:
			return p.errf("unterminated [")
		case p.is("["), p.is("{"):
			depth++
			if depth > maxNesting {
				return p.errf("nested too deeply")
			}
		case p.is("]"), p.is("}"):
			depth--
			if depth == 0 {
				return p.advance()
			}
		}
		if err := p.advance(); err != nil {
			return err
		}
	}
}

func (p *parser) parseMapField(m *Message) error {
	if err := p.advance(); err != nil { // map
		return err
	}
	if err := p.expect("<"); err != nil {
		return err
	}
	kt, err := p.ident("a map key type")
	if err != nil {
		return err
	}
	switch kt {
	case "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32", "sfixed64", "bool", "string":
	default:
		return p.errf("map key type %s is not allowed (integers, bool or string)", kt)
	}
	if err := p.expect(","); err != nil {
		return err
	}
	vt, err := p.ident("a map value type")
	if err != nil {
		return err
	}
	if strings.HasPrefix(vt, "map") && p.is("<") {
		return p.errf("map values cannot be maps")
	}
	if err := p.expect(">"); err != nil {
		return err
	}
	name, err := p.ident("a field name")
	if err != nil {
		return err
	}
	entry := &Message{Name: mapEntryName(name), file: p.file, mapEntry: true, Fields: []*Field{
		{Name: "key", Number: 1, TypeName: kt, kind: scalarKinds[kt], Oneof: -1},
		{Name: "value", Number: 2, TypeName: vt, kind: scalarKinds[vt], Oneof: -1},
	}}
	f := &Field{Name: name, Repeated: true, Oneof: -1, kind: kMap, msg: entry, TypeName: "map"}
	if err := p.number(f); err != nil {
		return err
	}
	m.Messages = append(m.Messages, entry)
	m.Fields = append(m.Fields, f)
	return nil
}

// mapEntryName is protoc's: foo_bar -> FooBarEntry.
func mapEntryName(field string) string {
	var sb strings.Builder
	up := true
	for i := 0; i < len(field); i++ {
		c := field[i]
		if c == '_' {
			up = true
			continue
		}
		if up && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up = false
		sb.WriteByte(c)
	}
	return sb.String() + "Entry"
}

func (p *parser) parseEnum() (*Enum, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if err := p.advance(); err != nil { // enum
		return nil, err
	}
	name, err := p.ident("an enum name")
	if err != nil {
		return nil, err
	}
	e := &Enum{Name: name, byNumber: map[int32]string{}}
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	for !p.is("}") {
		switch {
		case p.tok.kind == 0:
			return nil, p.errf("enum %s is not closed", name)
		case p.is(";"):
			if err := p.advance(); err != nil {
				return nil, err
			}
		case p.is("option"), p.is("reserved"):
			if err := p.skipStatement(); err != nil {
				return nil, err
			}
		default:
			vn, err := p.ident("an enum value name")
			if err != nil {
				return nil, err
			}
			if err := p.expect("="); err != nil {
				return nil, err
			}
			if p.tok.kind != 'n' {
				return nil, p.errf("want the number of %s", vn)
			}
			n, err := strconv.ParseInt(p.tok.text, 0, 32)
			if err != nil {
				return nil, p.errf("enum value %s: number %s is out of range", vn, p.tok.text)
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
			if p.is("[") {
				if err := p.skipBrackets(); err != nil {
					return nil, err
				}
			}
			if err := p.expect(";"); err != nil {
				return nil, err
			}
			e.Values = append(e.Values, EnumValue{Name: vn, Number: int32(n)})
			if _, dup := e.byNumber[int32(n)]; !dup { // aliases: the first name wins
				e.byNumber[int32(n)] = vn
			}
		}
	}
	if len(e.Values) == 0 {
		return nil, p.errf("enum %s has no values", name)
	}
	return e, p.advance()
}
