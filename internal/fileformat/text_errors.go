package fileformat

import (
	"strconv"
	"strings"
)

// MalformedError describes one record the text formats could not read. It
// wraps ErrMalformed. Its message names the file, the physical line
// (1-based), the column or field, its type and the offending value, e.g.
//
//	events.csv:17: column "ts" (timestamp): cannot parse "abc"
//	events.json:3: field "user.age" (int) at byte 41: cannot parse "x1"
type MalformedError struct {
	File   string // file name; empty for a bare JSONDecoder
	Line   int    // physical line of the record start; 0 if unknown
	Column string // column or field path; empty for record-level problems
	Type   string // the column's type (Spark name)
	Offset int    // byte offset in the record (JSON); -1 if not applicable
	Value  string // the offending text, truncated
	Reason string // what is wrong, when "cannot parse" is not enough
}

func (e *MalformedError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
		if e.Line > 0 {
			b.WriteString(strconv.Itoa(e.Line))
			b.WriteByte(':')
		}
		b.WriteByte(' ')
	} else if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	}
	if e.Column != "" {
		if e.Offset >= 0 {
			b.WriteString("field ")
		} else {
			b.WriteString("column ")
		}
		b.WriteString(strconv.Quote(e.Column))
		if e.Type != "" {
			b.WriteString(" (")
			b.WriteString(e.Type)
			b.WriteByte(')')
		}
		if e.Offset >= 0 {
			b.WriteString(" at byte ")
			b.WriteString(strconv.Itoa(e.Offset))
		}
		b.WriteString(": ")
	} else if e.Offset >= 0 {
		b.WriteString("at byte ")
		b.WriteString(strconv.Itoa(e.Offset))
		b.WriteString(": ")
	}
	switch {
	case e.Reason != "" && e.Value != "":
		b.WriteString("cannot parse ")
		b.WriteString(strconv.Quote(e.Value))
		b.WriteString(": ")
		b.WriteString(e.Reason)
	case e.Reason != "":
		b.WriteString(e.Reason)
	default:
		b.WriteString("cannot parse ")
		b.WriteString(strconv.Quote(e.Value))
	}
	return b.String()
}

func (e *MalformedError) Unwrap() error { return ErrMalformed }

// shortValue truncates an offending value for messages.
func shortValue(b []byte) string {
	const max = 64
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
