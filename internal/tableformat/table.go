// Package tableformat renders rows as the aligned +---+ tables Spark's
// show() prints; DataFrame.Show and the console sink share it.
package tableformat

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Format renders a header and rows of cells right-aligned, as show() does
// with truncation on; more adds Spark's "only showing top n rows" line.
func Format(header []string, cells [][]string, more bool, n int) string {
	return FormatAligned(header, cells, more, n, true)
}

// FormatAligned is Format with Spark's alignment rule: cells are
// right-aligned when show() truncates and left-aligned when it does not.
// Widths count East Asian wide characters as two columns, like Spark.
func FormatAligned(header []string, cells [][]string, more bool, n int, truncate bool) string {
	header = escapeAll(header)
	width := make([]int, len(header))
	for i, h := range header {
		width[i] = max(3, displayWidth(h))
	}
	for _, r := range cells {
		for i, c := range r {
			width[i] = max(width[i], displayWidth(c))
		}
	}
	var b strings.Builder
	sep := func() {
		b.WriteByte('+')
		for _, w := range width {
			b.WriteString(strings.Repeat("-", w))
			b.WriteByte('+')
		}
		b.WriteByte('\n')
	}
	line := func(vals []string) {
		b.WriteByte('|')
		for i, v := range vals {
			pad := strings.Repeat(" ", width[i]-displayWidth(v))
			if truncate {
				b.WriteString(pad)
				b.WriteString(v)
			} else {
				b.WriteString(v)
				b.WriteString(pad)
			}
			b.WriteByte('|')
		}
		b.WriteByte('\n')
	}
	sep()
	line(header)
	sep()
	for _, r := range cells {
		line(r)
	}
	sep()
	if more {
		rows := "rows"
		if n == 1 {
			rows = "row"
		}
		fmt.Fprintf(&b, "only showing top %d %s\n", n, rows)
	}
	return b.String()
}

// Cells renders rows of a batch as display strings, appending to out.
// truncate cuts values longer than 20 characters like Spark.
func Cells(b arrow.RecordBatch, limit int, truncate bool, out [][]string) [][]string {
	for i := 0; i < int(b.NumRows()) && (limit < 0 || len(out) < limit); i++ {
		r := make([]string, b.NumCols())
		for c := range r {
			r[c] = Cell(b.Column(c), i, truncate)
		}
		out = append(out, r)
	}
	return out
}

// Header lists a schema's column names.
func Header(s *arrow.Schema) []string {
	out := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		out[i] = f.Name
	}
	return out
}

// Cell renders row i of col as show() displays it: binary as hex bytes
// ([0A FF]), control characters escaped (\n), and with truncate values
// longer than 20 characters cut to 17 plus "...".
func Cell(col arrow.Array, i int, truncate bool) string {
	v := expr.ValueAt(col, i)
	var s string
	if bin, ok := v.([]byte); ok {
		var sb strings.Builder
		sb.WriteByte('[')
		for k, c := range bin {
			if k > 0 {
				sb.WriteByte(' ')
			}
			fmt.Fprintf(&sb, "%02X", c)
		}
		sb.WriteByte(']')
		s = sb.String()
	} else {
		s = escape(expr.FormatValue(v, col.DataType(), false))
	}
	if truncate && utf8.RuneCountInString(s) > 20 {
		s = string([]rune(s)[:17]) + "..."
	}
	return s
}

// metaEscaper is Spark's SchemaUtils.escapeMetaCharacters: control
// characters would break the table's lines.
var metaEscaper = strings.NewReplacer("\n", "\\n", "\r", "\\r", "\t", "\\t", "\f", "\\f", "\b", "\\b", "\v", "\\v", "\a", "\\a")

func escape(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 }) < 0 {
		return s
	}
	return metaEscaper.Replace(s)
}

func escapeAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = escape(s)
	}
	return out
}

// displayWidth is Spark's stringHalfWidth: East Asian full-width
// characters take two columns.
func displayWidth(s string) int {
	w := 0
	for _, r := range s {
		w++
		if isFullWidth(r) {
			w++
		}
	}
	return w
}

func isFullWidth(r rune) bool {
	switch {
	case r >= 0x1100 && r <= 0x115F, r >= 0x2E80 && r <= 0xA4CF, r >= 0xAC00 && r <= 0xD7A3,
		r >= 0xF900 && r <= 0xFAFF, r >= 0xFE10 && r <= 0xFE19, r >= 0xFE30 && r <= 0xFE6F,
		r >= 0xFF00 && r <= 0xFF60, r >= 0xFFE0 && r <= 0xFFE6:
		return true
	}
	return false
}
