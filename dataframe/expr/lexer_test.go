package expr

import (
	"fmt"
	"strings"
	"testing"
)

// Tokens carry kind, value and position (offset, line, column in
// characters); comments and whitespace vanish.
func TestLexerTokens(t *testing.T) {
	text := "SELECT `a``b`, 'x\\ty' -- note\n  /* c /* d */ */ é1 >= 10L::int\r\n\t.5e2 X'0A' R'\\d' a>>>b !< c"
	toks, err := Tokenize(text)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tk := range toks {
		got = append(got, fmt.Sprintf("%s %q %d:%d@%d", kindName(tk.Kind), tk.Value, tk.Pos.Line, tk.Pos.Col, tk.Pos.Offset))
		if tk.Kind != TokEOF && text[tk.Pos.Offset:tk.End] != tk.Text {
			t.Errorf("token %q: text %q does not match its span", tk.Text, text[tk.Pos.Offset:tk.End])
		}
		if want := PosOf(text, tk.Pos.Offset); want != tk.Pos {
			t.Errorf("token %q: pos %+v, want %+v", tk.Text, tk.Pos, want)
		}
	}
	want := []string{
		`ident "SELECT" 1:1@0`,
		"qident \"a`b\" 1:8@7",
		`op "," 1:14@13`,
		`string "x\ty" 1:16@15`,
		`ident "é1" 2:19@48`,
		`op ">=" 2:22@52`,
		`number "10L" 2:25@55`,
		`op "::" 2:28@58`,
		`ident "int" 2:30@60`,
		`number ".5e2" 3:2@66`,
		`binary "\n" 3:7@71`,
		`string "\\d" 3:13@77`,
		`ident "a" 3:19@83`,
		`op ">>>" 3:20@84`,
		`ident "b" 3:23@87`,
		`op "!<" 3:25@89`,
		`ident "c" 3:28@92`,
		`eof "" 3:29@93`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func kindName(k TokenKind) string {
	return map[TokenKind]string{TokEOF: "eof", TokIdent: "ident", TokQuotedIdent: "qident",
		TokNumber: "number", TokString: "string", TokBinary: "binary", TokOp: "op"}[k]
}

// Numbers: Spark's shapes, suffixes in any case, identifiers that start
// with digits.
func TestLexerNumbers(t *testing.T) {
	for in, want := range map[string]string{
		"1":        "number 1",
		"1.":       "number 1.",
		"1.5e-3":   "number 1.5e-3",
		"1E+3":     "number 1E+3",
		"1e":       "ident 1e",
		"2bd":      "number 2bd",
		"2BDx":     "ident 2BDx",
		"10l":      "number 10l",
		"10Lx":     "ident 10Lx",
		"1st":      "ident 1st",
		"123_456":  "ident 123_456",
		"1.5f":     "number 1.5f",
		".5":       "number .5",
		"1..2":     "number 1|op .|number .2",
		"a.5":      "ident a|number .5",
		"t.col":    "ident t|op .|ident col",
		"1-2":      "number 1|op -|number 2",
		"1e3d":     "number 1e3d",
		"0x1F":     "ident 0x1F",
		"9e99999":  "number 9e99999",
		"5minutes": "ident 5minutes",
	} {
		toks, err := Tokenize(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		var parts []string
		for _, tk := range toks[:len(toks)-1] {
			parts = append(parts, kindName(tk.Kind)+" "+tk.Text)
		}
		if got := strings.Join(parts, "|"); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}

// String escapes follow Spark's unescapeSQLString.
func TestLexerStringEscapes(t *testing.T) {
	for in, want := range map[string]string{
		`'a\'b'`:         "a'b",
		`"a\"b"`:         `a"b`,
		`'a"b'`:          `a"b`,
		`"a'b"`:          "a'b",
		`'\\'`:           `\`,
		`'\n\r\t\b\0\Z'`: "\n\r\t\b\x00\x1a",
		`'\%\_'`:         `\%\_`,
		`'\q'`:           "q",
		`'\u0041\u00e9'`: "Aé",
		`'\U0001F600'`:   "😀",
		`'\u12'`:         "u12",
		`'\101\060'`:     "A0",
		`'\08'`:          "\x008",
		`'\é'`:           "é",
		`''`:             "",
		"'multi\nline'":  "multi\nline",
		`R'\n'`:          `\n`,
		`r"a\"`:          `a\`,
	} {
		toks, err := Tokenize(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if toks[0].Kind != TokString || toks[0].Value != want || toks[1].Kind != TokEOF {
			t.Errorf("%s: got %v %q, want %q", in, kindName(toks[0].Kind), toks[0].Value, want)
		}
	}
}

// Lexical errors are *ParseError at the start of the bad token.
func TestLexerErrors(t *testing.T) {
	for in, want := range map[string]string{
		"a 'b":        "1:3: unterminated string",
		"a\n\"b":      "2:1: unterminated string",
		"`x":          "1:1: unterminated quoted identifier",
		"a /* /* */":  "1:3: unterminated comment",
		"X'1":         "1:1: unterminated binary literal",
		"X'1Z'":       "1:4: invalid hex digit",
		"R'abc":       "1:1: unterminated raw string",
		"a $ b":       "1:3: unexpected character '$'",
		"a \xff b":    "1:3: invalid UTF-8 byte",
		"1.5x":        "1:1: invalid number 1.5x",
		"'a\\":        "1:1: unterminated string",
		"\n\n   @foo": "3:4: unexpected character '@'",
	} {
		_, err := Tokenize(in)
		if err == nil {
			t.Errorf("%q: no error", in)
			continue
		}
		checkParseError(t, in, err)
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %s", in, err, want)
		}
	}
}
