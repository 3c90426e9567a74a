package expr

import (
	"fmt"
	"strings"
)

// SQLError is a semantic error in a SQL statement — an unknown column or
// function, a type mismatch, a column outside GROUP BY — placed at the
// part of the text it is about. Error() renders like ParseError:
//
//	analysis error at 1:8: column `usr` does not exist in the select list. Available columns: `user_id`, `amount`
//	SELECT usr FROM clicks
//	       ^
//	hint: did you mean `user_id`?
//
// Err is the analyzer's error, so errors.Is(err, plan.ErrAnalysis) holds.
type SQLError struct {
	// Text is the whole statement, for the excerpt.
	Text string
	Pos  Pos
	// Kind starts the first line: "analysis error", "unsupported operation".
	Kind string
	Msg  string
	Hint string
	Err  error
}

func (e *SQLError) Unwrap() error { return e.Err }

// Message is the one-line description without position or excerpt.
func (e *SQLError) Message() string { return e.Msg }

func (e *SQLError) Error() string {
	var b strings.Builder
	kind := e.Kind
	if kind == "" {
		kind = "error"
	}
	fmt.Fprintf(&b, "%s at %d:%d: %s", kind, e.Pos.Line, e.Pos.Col, e.Msg)
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
