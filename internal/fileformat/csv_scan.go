package fileformat

import (
	"bytes"
	"fmt"
)

// csvField is one token of a record. b points into the input window or
// into the tokenizer's scratch (for quoted fields with escapes); it is
// valid until the next call to record.
type csvField struct {
	b      []byte
	quoted bool
}

// csvTokenizer splits records into fields. Quotes are recognised only at
// the start of a field (after leading blanks if ignoreLeadingWhiteSpace);
// inside quotes, escape+quote, a doubled quote and escape+escape stand for
// the character itself. An unquoted field is taken literally.
type csvTokenizer struct {
	sep, quote, escape, comment byte
	trimLead, trimTrail         bool
	multiLine                   bool
	maxCols, maxChars           int

	fields  []csvField
	scratch []byte
}

type recStatus uint8

const (
	recOK       recStatus = iota
	recSkip               // blank or comment line
	recNeedMore           // the record may continue past the data given
	recEnd                // no more input
	recError              // syntax error; msg explains
)

// record splits the next record from data. atEOF says no more data will
// follow. It returns the bytes consumed (with the line terminator), the
// physical lines they span, the status and, for recError, a message.
func (t *csvTokenizer) record(data []byte, atEOF bool) (n, lines int, st recStatus, msg string) {
	if len(data) == 0 {
		if atEOF {
			return 0, 0, recEnd, ""
		}
		return 0, 0, recNeedMore, ""
	}
	t.fields = t.fields[:0]
	t.scratch = t.scratch[:0]
	nl := bytes.IndexByte(data, '\n')
	var line []byte
	if nl < 0 {
		if !atEOF {
			return 0, 0, recNeedMore, ""
		}
		line, n = data, len(data)
	} else {
		line, n = data[:nl], nl+1
	}
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if len(line) == 0 || (t.comment != 0 && line[0] == t.comment) {
		return n, 1, recSkip, ""
	}
	if t.quote == 0 || bytes.IndexByte(line, t.quote) < 0 {
		t.splitPlain(line)
		if m := t.check(); m != "" {
			return n, 1, recError, m
		}
		return n, 1, recOK, ""
	}
	if !t.multiLine {
		_, _, st, msg := t.splitQuoted(line, true, false)
		if st == recError {
			return n, 1, st, msg
		}
		if m := t.check(); m != "" {
			return n, 1, recError, m
		}
		return n, 1, recOK, ""
	}
	n, lines, st, msg = t.splitQuoted(data, atEOF, true)
	if st == recOK {
		if m := t.check(); m != "" {
			return n, lines, recError, m
		}
	}
	return n, lines, st, msg
}

// splitPlain splits a line without quote characters.
func (t *csvTokenizer) splitPlain(line []byte) {
	i := 0
	for {
		j := bytes.IndexByte(line[i:], t.sep)
		if j < 0 {
			t.addPlain(line[i:])
			return
		}
		t.addPlain(line[i : i+j])
		i += j + 1
	}
}

func (t *csvTokenizer) addPlain(b []byte) {
	if t.trimLead {
		for len(b) > 0 && b[0] <= ' ' {
			b = b[1:]
		}
	}
	if t.trimTrail {
		for len(b) > 0 && b[len(b)-1] <= ' ' {
			b = b[:len(b)-1]
		}
	}
	t.fields = append(t.fields, csvField{b: b})
}

func (t *csvTokenizer) check() string {
	if t.maxCols > 0 && len(t.fields) > t.maxCols {
		return fmt.Sprintf("%d columns exceed maxColumns=%d", len(t.fields), t.maxCols)
	}
	if t.maxChars > 0 {
		for i, f := range t.fields {
			if len(f.b) > t.maxChars {
				return fmt.Sprintf("column %d has %d characters, more than maxCharsPerColumn=%d", i+1, len(f.b), t.maxChars)
			}
		}
	}
	return ""
}

// splitQuoted is the general state machine. With multi, newlines inside
// quotes belong to the field and the record ends at an unquoted newline;
// otherwise data is one line (without terminator). Quoted fields are
// copied into scratch; scratch is pre-sized so earlier field slices stay
// valid.
func (t *csvTokenizer) splitQuoted(data []byte, atEOF, multi bool) (n, lines int, st recStatus, msg string) {
	if cap(t.scratch) < len(data) {
		t.scratch = make([]byte, 0, len(data)+len(data)/2)
	}
	lines = 1
	i := 0
	for {
		// One field starts at i.
		start := i
		if t.trimLead {
			for i < len(data) && data[i] <= ' ' && data[i] != '\n' && data[i] != t.sep {
				i++
			}
		}
		if i < len(data) && data[i] == t.quote {
			i++
			s := len(t.scratch)
			seg := i
			for {
				if i >= len(data) {
					if multi && !atEOF {
						return 0, 0, recNeedMore, ""
					}
					hint := ""
					if !multi {
						hint = "; set multiLine=true if quoted fields contain line breaks"
					}
					return len(data), lines, recError, fmt.Sprintf("column %d: unterminated quoted field%s", len(t.fields)+1, hint)
				}
				c := data[i]
				if c == t.escape && t.escape != t.quote && i+1 < len(data) && (data[i+1] == t.quote || data[i+1] == t.escape) {
					t.scratch = append(t.scratch, data[seg:i]...)
					t.scratch = append(t.scratch, data[i+1])
					i += 2
					seg = i
					continue
				}
				if c == t.quote {
					if i+1 < len(data) && data[i+1] == t.quote {
						t.scratch = append(t.scratch, data[seg:i+1]...)
						i += 2
						seg = i
						continue
					}
					if i+1 >= len(data) && multi && !atEOF {
						// The next byte may be a quote continuing "" .
						return 0, 0, recNeedMore, ""
					}
					t.scratch = append(t.scratch, data[seg:i]...)
					i++
					break
				}
				if c == '\n' {
					lines++
				}
				i++
			}
			t.fields = append(t.fields, csvField{b: t.scratch[s:len(t.scratch):len(t.scratch)], quoted: true})
			for i < len(data) && (data[i] == ' ' || data[i] == '\t') && data[i] != t.sep {
				i++
			}
			switch {
			case i >= len(data):
				if multi && !atEOF {
					return 0, 0, recNeedMore, ""
				}
				return len(data), lines, recOK, ""
			case data[i] == t.sep:
				i++
				if i >= len(data) && !(multi && !atEOF) {
					t.fields = append(t.fields, csvField{})
					return len(data), lines, recOK, ""
				}
				continue
			case data[i] == '\n' && multi:
				return i + 1, lines, recOK, ""
			case data[i] == '\r' && multi && i+1 < len(data) && data[i+1] == '\n':
				return i + 2, lines, recOK, ""
			case data[i] == '\r' && multi && i+1 >= len(data):
				if !atEOF {
					return 0, 0, recNeedMore, ""
				}
				return i + 1, lines, recOK, ""
			default:
				return t.skipToEnd(data, i, atEOF, multi, lines,
					fmt.Sprintf("column %d: unexpected character %q after the closing quote (quote characters inside a field must be escaped)", len(t.fields), data[i]))
			}
		}
		// Unquoted field: up to the separator or the end of the line.
		i = start
		j := i
		for j < len(data) && data[j] != t.sep && data[j] != '\n' {
			j++
		}
		f := data[i:j]
		if j >= len(data) {
			if multi && !atEOF {
				return 0, 0, recNeedMore, ""
			}
			if multi && len(f) > 0 && f[len(f)-1] == '\r' {
				f = f[:len(f)-1]
			}
			t.addPlain(f)
			return len(data), lines, recOK, ""
		}
		if data[j] == '\n' {
			if len(f) > 0 && f[len(f)-1] == '\r' {
				f = f[:len(f)-1]
			}
			t.addPlain(f)
			return j + 1, lines, recOK, ""
		}
		t.addPlain(f)
		i = j + 1
		if i >= len(data) && !(multi && !atEOF) {
			t.fields = append(t.fields, csvField{})
			return len(data), lines, recOK, ""
		}
	}
}

// skipToEnd consumes the rest of a bad record (to the end of its line) so
// that reading can go on in PERMISSIVE and DROPMALFORMED modes.
func (t *csvTokenizer) skipToEnd(data []byte, i int, atEOF, multi bool, lines int, msg string) (int, int, recStatus, string) {
	if !multi {
		return len(data), lines, recError, msg
	}
	j := bytes.IndexByte(data[i:], '\n')
	if j < 0 {
		if !atEOF {
			return 0, 0, recNeedMore, ""
		}
		return len(data), lines, recError, msg
	}
	return i + j + 1, lines, recError, msg
}
