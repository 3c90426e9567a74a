package fn

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Most expectations are the examples of Spark's string function reference;
// the rest cover NULLs, unicode, sliced and empty input, and literal vs
// column arguments.
func TestStringFunctions(t *testing.T) {
	strs := func(js string) libCol { return libCol{T: expr.String, JS: js} }
	ints := func(js string) libCol { return libCol{T: expr.Int32, JS: js} }
	libRunCases(t, []libCase{
		{fn: "lower", args: []any{libS("SparkSql")}, want: "sparksql"},
		{fn: "lower", args: []any{strs(`["SparkSql", null, "", "HÉLLO Ωmega"]`)}, want: "sparksql | NULL |  | héllo ωmega"},
		{fn: "lcase", args: []any{strs(`["X", "AbC", "Y"]`)}, want: "x | abc | y"},
		{fn: "upper", args: []any{strs(`["SparkSql", "héllo"]`)}, want: "SPARKSQL | HÉLLO"},
		{fn: "lower", args: []any{libCol{T: expr.String, JS: `["A", "B", "C", "D"]`, Lo: 1, Hi: 3}}, want: "b | c"},
		{fn: "lower", args: []any{strs(`[]`)}, want: ""},
		{fn: "length", args: []any{libS("Spark SQL ")}, want: "10"},
		{fn: "char_length", args: []any{strs(`["héllo", null, ""]`)}, want: "5 | NULL | 0"},
		{fn: "length", args: []any{libCol{T: expr.Binary, JS: `["w6k="]`}}, want: "2"},
		{fn: "octet_length", args: []any{strs(`["Spark SQL", "é"]`)}, want: "9 | 2"},
		{fn: "bit_length", args: []any{libS("Spark SQL")}, want: "72"},

		{fn: "substring", args: []any{strs(`["Spark SQL"]`), libI(5)}, want: "k SQL"},
		{fn: "substring", args: []any{strs(`["Spark SQL"]`), libI(-3)}, want: "SQL"},
		{fn: "substring", args: []any{strs(`["Spark SQL"]`), libI(5), libI(1)}, want: "k"},
		{fn: "substr", args: []any{strs(`["Spark SQL"]`), libI(0), libI(3)}, want: "Spa"},
		{fn: "substring", args: []any{strs(`["Spark"]`), libI(-10), libI(3)}, want: ""},
		{fn: "substring", args: []any{strs(`["Spark"]`), libI(-7), libI(4)}, want: "Sp"},
		{fn: "substring", args: []any{strs(`["Spark"]`), libI(2), libI(-1)}, want: ""},
		{fn: "substring", args: []any{strs(`["Spark"]`), libI(9)}, want: ""},
		{fn: "substring", args: []any{strs(`["héllo wörld", null]`), libI(2), libI(4)}, want: "éllo | NULL"},
		{fn: "substring", args: []any{strs(`["héllo", "abc", "xyz"]`), ints(`[-2, null, 1]`), ints(`[5, 1, 2]`)}, want: "lo | NULL | xy"},
		{fn: "substring", args: []any{libS("Spark SQL"), libI(5)}, want: "k SQL"},
		{fn: "substring", args: []any{strs(`["Spark"]`), libNull(expr.Int32)}, want: "NULL"},
		{fn: "substring", args: []any{libCol{T: expr.Binary, JS: `["AQIDBA=="]`}, libI(2), libI(2)}, want: "[0203]"},
		{fn: "left", args: []any{strs(`["Spark SQL", "ab"]`), libI(3)}, want: "Spa | ab"},
		{fn: "left", args: []any{strs(`["Spark SQL"]`), libI(-1)}, want: ""},
		{fn: "right", args: []any{strs(`["Spark SQL", "ab", "héllo"]`), libI(3)}, want: "SQL | ab | llo"},
		{fn: "right", args: []any{strs(`["Spark SQL"]`), libI(0)}, want: ""},

		{fn: "concat", args: []any{strs(`["Spark", null, "a"]`), libS("SQL")}, want: "SparkSQL | NULL | aSQL"},
		{fn: "concat", args: []any{strs(`["x"]`), libNull(expr.String)}, want: "NULL"},
		{fn: "concat", args: []any{libCol{T: expr.Binary, JS: `["AQ=="]`}, libCol{T: expr.Binary, JS: `["Ag=="]`}}, want: "[0102]"},
		{fn: "concat_ws", args: []any{libS(" "), strs(`["Spark"]`), libS("SQL")}, want: "Spark SQL"},
		{fn: "concat_ws", args: []any{libS("s")}, want: ""},
		{fn: "concat_ws", args: []any{libS("/"), strs(`["foo", null]`), strs(`[null, null]`), libS("bar")}, want: "foo/bar | bar"},
		{fn: "concat_ws", args: []any{libS(","), libCol{T: arrow.ListOf(expr.String), JS: `[["a", null, "b"], null, []]`}, strs(`["c", "d", "e"]`)}, want: "a,b,c | d | e"},
		{fn: "concat_ws", args: []any{libNull(expr.String), libS("a")}, want: "NULL"},

		{fn: "trim", args: []any{strs(`["    SparkSQL   ", "\tx ", null]`)}, want: "SparkSQL | \tx | NULL"},
		{fn: "trim", args: []any{libS("SL"), strs(`["SSparkSQLS"]`)}, want: "parkSQ"},
		{fn: "ltrim", args: []any{strs(`["    SparkSQL   "]`)}, want: "SparkSQL   "},
		{fn: "rtrim", args: []any{strs(`["    SparkSQL   "]`)}, want: "    SparkSQL"},
		{fn: "ltrim", args: []any{strs(`["abc", "éé"]`), strs(`["acbabSparkSQL ", "ééxé"]`)}, want: "SparkSQL  | xé"},
		{fn: "btrim", args: []any{strs(`["SSparkSQLS"]`), libS("SL")}, want: "parkSQ"},

		{fn: "lpad", args: []any{strs(`["hi", "hi", null]`), libI(5), libS("??")}, want: "???hi | ???hi | NULL"},
		{fn: "lpad", args: []any{strs(`["hi"]`), libI(1), libS("??")}, want: "h"},
		{fn: "lpad", args: []any{strs(`["hi"]`), libI(5)}, want: "   hi"},
		{fn: "lpad", args: []any{strs(`["hi"]`), libI(-5)}, want: ""},
		{fn: "lpad", args: []any{strs(`["é"]`), libI(4), libS("üx")}, want: "üxüé"},
		{fn: "rpad", args: []any{strs(`["hi"]`), libI(5), libS("??")}, want: "hi???"},
		{fn: "rpad", args: []any{strs(`["hi"]`), libI(5), libS("")}, want: "hi"},
		{fn: "replace", args: []any{strs(`["ABCabc", null, "abcabc"]`), libS("abc"), libS("DEF")}, want: "ABCDEF | NULL | DEFDEF"},
		{fn: "replace", args: []any{strs(`["ABCabc"]`), libS("abc")}, want: "ABC"},
		{fn: "replace", args: []any{strs(`["ABC"]`), libS(""), libS("x")}, want: "ABC"},
		{fn: "repeat", args: []any{strs(`["123", "x"]`), ints(`[2, -1]`)}, want: "123123 | "},
		{fn: "repeat", args: []any{strs(`["123"]`), libI(1 << 30)}, err: ErrInvalidArgument},
		{fn: "reverse", args: []any{strs(`["Spark SQL", "héllo", ""]`)}, want: "LQS krapS | olléh | "},
		{fn: "initcap", args: []any{strs(`["sPark sql", "  two  words", "élan vital"]`)}, want: "Spark Sql |   Two  Words | Élan Vital"},
		{fn: "translate", args: []any{strs(`["AaBbCc", "héllo"]`), libS("abcé"), libS("123")}, want: "A1B2C3 | hllo"},
		{fn: "translate", args: []any{strs(`["aab"]`), libS("aa"), libS("xy")}, want: "xxb"},
		{fn: "ascii", args: []any{strs(`["222", "", "é", null]`)}, want: "50 | 0 | 233 | NULL"},
		{fn: "chr", args: []any{libCol{T: expr.Int64, JS: `[65, 321, -1, 256, 233]`}}, want: "A | A |  | \x00 | é"},
		{fn: "instr", args: []any{strs(`["SparkSQL", "héllo", "x", null]`), libS("l")}, want: "0 | 3 | 0 | NULL"},
		{fn: "instr", args: []any{strs(`["SparkSQL"]`), libS("SQL")}, want: "6"},
		{fn: "instr", args: []any{strs(`["SparkSQL"]`), libS("")}, want: "1"},
		{fn: "locate", args: []any{libS("bar"), strs(`["foobarbar"]`)}, want: "4"},
		{fn: "locate", args: []any{libS("bar"), strs(`["foobarbar"]`), libI(5)}, want: "7"},
		{fn: "position", args: []any{libS("bar"), strs(`["foobarbar"]`), libI(0)}, want: "0"},
		{fn: "locate", args: []any{libS("bar"), strs(`["foobarbar"]`), libNull(expr.Int32)}, want: "0"},
		{fn: "locate", args: []any{libS("b"), strs(`["ébb", "xb"]`), ints(`[3, null]`)}, want: "3 | 0"},
		{fn: "startswith", args: []any{strs(`["Spark SQL", "SQL", null]`), libS("Spark")}, want: "true | false | NULL"},
		{fn: "endswith", args: []any{strs(`["Spark SQL"]`), libS("SQL")}, want: "true"},
		{fn: "contains", args: []any{strs(`["Spark SQL", "x"]`), strs(`["rk S", ""]`)}, want: "true | true"},

		{fn: "split", args: []any{strs(`["oneAtwoBthreeC", null, ""]`), libS("[ABC]")}, want: "[one, two, three, ] | NULL | []"},
		{fn: "split", args: []any{strs(`["oneAtwoBthreeC"]`), libS("[ABC]"), libI(-1)}, want: "[one, two, three, ]"},
		{fn: "split", args: []any{strs(`["oneAtwoBthreeC"]`), libS("[ABC]"), libI(2)}, want: "[one, twoBthreeC]"},
		{fn: "split", args: []any{strs(`["abc", "héllo"]`), libS(""), libI(2)}, want: "[a, bc] | [h, éllo]"},
		{fn: "split", args: []any{strs(`["abc"]`), libS("")}, want: "[a, b, c]"},
		{fn: "split", args: []any{strs(`["Aone"]`), libS("A")}, want: "[, one]"},
		{fn: "split", args: []any{strs(`["a1b22c"]`), strs(`["\\d+"]`)}, want: "[a, b, c]"},
		{fn: "regexp_extract", args: []any{strs(`["100-200", "x", null]`), libS(`(\d+)-(\d+)`), libI(1)}, want: "100 |  | NULL"},
		{fn: "regexp_extract", args: []any{strs(`["100-200"]`), libS(`(\d+)-(\d+)`)}, want: "100"},
		{fn: "regexp_extract", args: []any{strs(`["100-200"]`), libS(`(\d+)-(\d+)`), libI(0)}, want: "100-200"},
		{fn: "regexp_extract", args: []any{strs(`["100-200"]`), libS(`(\d+)-(\d+)`), libI(3)}, err: ErrInvalidArgument},
		{fn: "regexp_extract", args: []any{strs(`["ab"]`), libS(`(a)|(b)`), libI(2)}, want: ""},
		{fn: "regexp_replace", args: []any{strs(`["100-200", null]`), libS(`(\d+)`), libS("num")}, want: "num-num | NULL"},
		{fn: "regexp_replace", args: []any{strs(`["100-200"]`), libS(`(\d+)-(\d+)`), libS("$2-$1 \\$")}, want: "200-100 $"},
		{fn: "regexp_replace", args: []any{strs(`["aaa", "héé"]`), libS(`a|é`), libS("x"), libI(2)}, want: "axx | hxx"},
		{fn: "regexp_replace", args: []any{strs(`["abc"]`), strs(`["b"]`), strs(`["[$0]"]`)}, want: "a[b]c"},
		{fn: "regexp_replace", args: []any{strs(`["abc"]`), libS(`(b)`), libS("$2")}, err: ErrInvalidArgument},
		{fn: "regexp_like", args: []any{strs(`["%SystemDrive%\\Users\\John", "x", null]`), libS(`%SystemDrive%\\Users.*`)}, want: "true | false | NULL"},
		{fn: "regexp_like", args: []any{strs(`["abc"]`), libS(`(?<=a)b`)}, err: ErrInvalidArgument},

		{fn: "format_string", args: []any{libS("Hello World %d %s"), libCol{T: expr.Int32, JS: `[100, null]`}, libS("days")}, want: "Hello World 100 days | Hello World null days"},
		{fn: "printf", args: []any{libS("%05d|%-4s|%.2f|%,d|%x|%%|%b|%2$s%n"), libCol{T: expr.Int32, JS: `[42]`}, libS("z"), libD(3.14159), libL(1234567), libI(-1), expr.Lit(true)}, want: "00042|z   |3.14|1,234,567|ffffffff|%|true|z\n"},
		{fn: "format_string", args: []any{libNull(expr.String), libI(1)}, want: "NULL"},
		{fn: "format_string", args: []any{libS("%d"), libS("x")}, err: ErrInvalidArgument},
		{fn: "format_string", args: []any{libS("%q"), libS("x")}, err: ErrInvalidArgument},
		{fn: "lower", args: []any{libCol{T: arrow.ListOf(expr.String), JS: `[]`}}, err: expr.ErrType},
	})
}
