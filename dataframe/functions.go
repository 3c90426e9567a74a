package dataframe

import (
	"strings"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Call applies any registered function or aggregate by its Spark name:
// Call("regexp_extract", Col("url"), `id=(\d+)`, 1). Go values are literals.
func Call(name string, args ...any) Column { return call(strings.ToLower(name), args...) }

// Aggregates.

// Count counts rows: Count("*") counts all rows, Count(col) non-null values.
func Count(c any) Column {
	if s, ok := c.(string); ok && s == "*" {
		return Column{e: countStar()}
	}
	return call("count", toColumn(c))
}
func CountDistinct(cols ...any) Column { return distinct(call("count", colsOf(cols)...)) }
func Sum(c any) Column                 { return call("sum", toColumn(c)) }
func SumDistinct(c any) Column         { return distinct(call("sum", toColumn(c))) }
func Avg(c any) Column                 { return call("avg", toColumn(c)) }
func Mean(c any) Column                { return Avg(c) }
func Min(c any) Column                 { return call("min", toColumn(c)) }
func Max(c any) Column                 { return call("max", toColumn(c)) }
func First(c any) Column               { return call("first", toColumn(c)) }
func Last(c any) Column                { return call("last", toColumn(c)) }
func StddevSamp(c any) Column          { return call("stddev_samp", toColumn(c)) }
func StddevPop(c any) Column           { return call("stddev_pop", toColumn(c)) }
func Stddev(c any) Column              { return call("stddev", toColumn(c)) }
func VarSamp(c any) Column             { return call("var_samp", toColumn(c)) }
func VarPop(c any) Column              { return call("var_pop", toColumn(c)) }
func Variance(c any) Column            { return call("variance", toColumn(c)) }
func CollectList(c any) Column         { return call("collect_list", toColumn(c)) }
func CollectSet(c any) Column          { return call("collect_set", toColumn(c)) }

// MaxByAll is every value of x whose ord is the group's largest, as an
// array (ties kept, NULL ords ignored); MinByAll the same at the smallest.
// A sluice extension (not in Spark): the group keeps only the tied rows,
// so "the rows at the maximum" needs no list of every row.
func MaxByAll(x, ord any) Column { return call("max_by_all", toColumn(x), toColumn(ord)) }
func MinByAll(x, ord any) Column { return call("min_by_all", toColumn(x), toColumn(ord)) }

// ApproxCountDistinct estimates distinct values with HyperLogLog++;
// rsd is the maximum relative standard deviation (default 0.05).
func ApproxCountDistinct(c any, rsd ...float64) Column {
	if len(rsd) > 0 {
		return call("approx_count_distinct", toColumn(c), rsd[0])
	}
	return call("approx_count_distinct", toColumn(c))
}

// Generators.

// Explode makes one row per element of an array column (in Select).
func Explode(c any) Column { return call("explode", toColumn(c)) }

// ExplodeOuter is Explode keeping rows with NULL or empty arrays.
func ExplodeOuter(c any) Column { return call("explode_outer", toColumn(c)) }

// PosExplode is Explode with a position column.
func PosExplode(c any) Column { return call("posexplode", toColumn(c)) }

// Common scalar functions; every other one is reachable through Call or Expr.
func Lower(c any) Column                 { return call("lower", toColumn(c)) }
func Upper(c any) Column                 { return call("upper", toColumn(c)) }
func Length(c any) Column                { return call("length", toColumn(c)) }
func Trim(c any) Column                  { return call("trim", toColumn(c)) }
func Substring(c any, pos, n int) Column { return call("substring", toColumn(c), pos, n) }
func Concat(cols ...any) Column          { return call("concat", colsOf(cols)...) }
func ConcatWS(sep string, cols ...any) Column {
	return call("concat_ws", append([]any{sep}, colsOf(cols)...)...)
}
func Coalesce(cols ...any) Column         { return call("coalesce", colsOf(cols)...) }
func Abs(c any) Column                    { return call("abs", toColumn(c)) }
func Round(c any, scale int) Column       { return call("round", toColumn(c), scale) }
func Sqrt(c any) Column                   { return call("sqrt", toColumn(c)) }
func CurrentTimestamp() Column            { return call("current_timestamp") }
func DateTrunc(unit string, c any) Column { return call("date_trunc", unit, toColumn(c)) }
func ToTimestamp(c any) Column            { return call("to_timestamp", toColumn(c)) }
func ToDate(c any) Column                 { return call("to_date", toColumn(c)) }
func Year(c any) Column                   { return call("year", toColumn(c)) }
func Hour(c any) Column                   { return call("hour", toColumn(c)) }
func Hash(cols ...any) Column             { return call("hash", colsOf(cols)...) }
func XXHash64(cols ...any) Column         { return call("xxhash64", colsOf(cols)...) }
func Struct(cols ...any) Column           { return call("struct", colsOf(cols)...) }
func Array(cols ...any) Column            { return call("array", colsOf(cols)...) }
func Greatest(cols ...any) Column         { return call("greatest", colsOf(cols)...) }
func Least(cols ...any) Column            { return call("least", colsOf(cols)...) }

// colsOf treats strings as column names.
func colsOf(vs []any) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = toColumn(v)
	}
	return out
}

func countStar() *expr.Call { return &expr.Call{Name: "count", Star: true} }

func distinct(c Column) Column {
	if c.err != nil {
		return c
	}
	cl := *c.e.(*expr.Call)
	cl.Distinct = true
	return Column{e: &cl}
}

// Window groups rows into event-time windows of ts: Window(ts, "5 minutes")
// is tumbling; Window(ts, "10 minutes", "5 minutes") slides (a row is in
// every window that contains it); an optional third duration offsets the
// window starts. The column is a struct<start, end> named "window".
func Window(ts any, size string, slideAndStart ...string) Column {
	args := []any{toColumn(ts), size}
	for _, d := range slideAndStart {
		args = append(args, d)
	}
	return call("window", args...)
}

// WindowTime is the event time of a window: its end minus one microsecond,
// so a windowed result can feed another windowed aggregation.
func WindowTime(w any) Column { return call("window_time", toColumn(w)) }

// SessionWindow groups rows into session windows of ts, as Spark's
// session_window: each row opens [ts, ts+gap), and rows of a group whose
// sessions overlap form one session [first ts, last ts + gap). gap is a
// duration text ("5 minutes", a literal) or a Column evaluated per row
// (an interval, or interval text); rows whose gap is NULL or not positive
// are in no session and dropped. The column is a struct<start, end>
// named "session_window".
func SessionWindow(ts any, gap any) Column {
	return call("session_window", toColumn(ts), gap)
}
