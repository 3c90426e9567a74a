package expr

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// ParseError is a syntax error in SQL expression or DDL text. It wraps
// ErrParse. Error() shows the offending line with a caret under Pos:
//
//	syntax error at 1:24: expected an expression, found end of input
//	event_type = 'view' AND
//	                       ^
type ParseError struct {
	// Text is the whole input, for the excerpt.
	Text string
	Pos  Pos
	// Expected and Found describe a mismatch ("an expression", "end of
	// input"); Msg replaces both for errors that are not a mismatch
	// ("unterminated string").
	Expected string
	Found    string
	Msg      string
	// Hint says how to fix a common mistake; empty when there is none.
	Hint string
}

func (e *ParseError) Unwrap() error { return ErrParse }

// Message is the one-line description without position or excerpt.
func (e *ParseError) Message() string {
	if e.Msg != "" {
		return e.Msg
	}
	return "expected " + e.Expected + ", found " + e.Found
}

func (e *ParseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "syntax error at %d:%d: %s", e.Pos.Line, e.Pos.Col, e.Message())
	// A blank line (empty input, or the end after a trailing newline) has
	// nothing to point at.
	if line, caret := excerpt(e.Text, e.Pos); strings.TrimSpace(line) != "" {
		b.WriteByte('\n')
		b.WriteString(line)
		b.WriteByte('\n')
		b.WriteString(caret)
	}
	if e.Hint != "" {
		b.WriteString("\nhint: ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// excerptWidth bounds the excerpt of a long line, in characters.
const excerptWidth = 100

// excerpt returns the line holding pos and a caret line pointing at it.
// Tabs before the position are copied into the caret line so the caret
// lines up; very long lines are cut around the position.
func excerpt(text string, pos Pos) (string, string) {
	off := min(max(pos.Offset, 0), len(text))
	ls := strings.LastIndexByte(text[:off], '\n') + 1
	le := strings.IndexByte(text[off:], '\n')
	if le < 0 {
		le = len(text)
	} else {
		le += off
	}
	line := []rune(strings.TrimRight(text[ls:le], "\r"))
	col := utf8.RuneCountInString(text[ls:off])
	prefix, suffix := "", ""
	if len(line) > excerptWidth {
		from := max(0, col-excerptWidth/2)
		to := min(len(line), from+excerptWidth)
		if from > 0 {
			prefix = "..."
		}
		if to < len(line) {
			suffix = "..."
		}
		line = line[from:to]
		col -= from
	}
	col = min(col, len(line))
	var caret strings.Builder
	caret.WriteString(strings.Repeat(" ", len(prefix)))
	for _, r := range line[:col] {
		if r == '\t' {
			caret.WriteByte('\t')
		} else {
			caret.WriteByte(' ')
		}
	}
	caret.WriteByte('^')
	return prefix + string(line) + suffix, caret.String()
}
