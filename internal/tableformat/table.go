// Package tableformat renders rows as the aligned +---+ tables Spark's
// show() prints; DataFrame.Show and the console sink share it.
package tableformat

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Format renders a header and rows of cells; more adds Spark's "only
// showing top n rows" line.
func Format(header []string, cells [][]string, more bool, n int) string {
	width := make([]int, len(header))
	for i, h := range header {
		width[i] = max(3, len([]rune(h)))
	}
	for _, r := range cells {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
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
			b.WriteString(strings.Repeat(" ", width[i]-len([]rune(v))))
			b.WriteString(v)
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
		fmt.Fprintf(&b, "only showing top %d rows\n", n)
	}
	return b.String()
}

// Cells renders rows of a batch as display strings, appending to out.
// truncate cuts values longer than 20 characters like Spark.
func Cells(b arrow.RecordBatch, limit int, truncate bool, out [][]string) [][]string {
	for i := 0; i < int(b.NumRows()) && (limit < 0 || len(out) < limit); i++ {
		r := make([]string, b.NumCols())
		for c := range r {
			col := b.Column(c)
			r[c] = expr.FormatValue(expr.ValueAt(col, i), col.DataType(), false)
			if truncate && len([]rune(r[c])) > 20 {
				r[c] = string([]rune(r[c])[:17]) + "..."
			}
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
