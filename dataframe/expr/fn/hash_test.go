package fn

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Values marked "Spark docs" come from the examples in Spark's SQL function
// reference (hash-functions page) and the PySpark hash()/xxhash64()
// docstrings; the rest are self-computed by this implementation and pin its
// behaviour (NULL skipping, -0.0, sliced input).
func TestHashFunctions(t *testing.T) {
	intArr := &expr.Literal{Type: arrow.ListOf(expr.Int32), Value: []any{int32(123)}}
	libRunCases(t, []libCase{
		// Spark docs.
		{fn: "hash", args: []any{libS("Spark"), intArr, libI(2)}, want: "-1321691492"},
		{fn: "hash", args: []any{libS("ABC")}, want: "-757602832"},
		{fn: "hash", args: []any{libS("ABC"), libS("DEF")}, want: "599895104"},
		{fn: "xxhash64", args: []any{libS("Spark"), intArr, libI(2)}, want: "5602566077635097486"},
		{fn: "xxhash64", args: []any{libS("ABC")}, want: "4105715581806190027"},
		{fn: "xxhash64", args: []any{libS("ABC"), libS("DEF")}, want: "3233247871021311208"},
		{fn: "crc32", args: []any{libS("Spark")}, want: "1557323817"},
		{fn: "md5", args: []any{libS("Spark")}, want: "8cde774d6f7333752ed72cacddb05126"},
		{fn: "sha1", args: []any{libS("Spark")}, want: "85f5955f4b27a9a4c2aab6ffe5d7189fc298b92c"},
		{fn: "sha", args: []any{libS("Spark")}, want: "85f5955f4b27a9a4c2aab6ffe5d7189fc298b92c"},
		{fn: "sha2", args: []any{libS("Spark"), libI(256)}, want: "529bc3b07127ecb7e53a4dcf1991d9152c24537d919178022b2c42657f79a26b"},
		// Columns give the same values as literals; sliced input; NULL rows
		// (hash('Spark') = 228093765 agrees with the value quoted in the task brief)
		// keep the seed (hash(NULL) = 42).
		{fn: "hash", args: []any{libCol{T: expr.String, JS: `["x","Spark","ABC",null]`, Lo: 1, Hi: 4}}, want: "228093765 | -757602832 | 42"},
		{fn: "hash", args: []any{libCol{T: expr.String, JS: `["ABC",null]`}, libCol{T: expr.String, JS: `["DEF","ABC"]`}}, want: "599895104 | -757602832"},
		{fn: "xxhash64", args: []any{libCol{T: expr.String, JS: `["ABC",null]`}, libCol{T: expr.String, JS: `["DEF","ABC"]`}}, want: "3233247871021311208 | 4105715581806190027"},
		{fn: "hash", args: []any{libCol{T: arrow.ListOf(expr.Int32), JS: `[[123],[],null]`}}, want: "85273170 | 42 | 42"},
		// Self-computed: hash(1) over int, long; -0.0 hashes as 0.0.
		{fn: "hash", args: []any{libI(1)}, want: "-559580957"},
		{fn: "hash", args: []any{libL(1)}, want: "-1712319331"},
		{fn: "hash", args: []any{libCol{T: expr.Float64, JS: `[0.0, -0.0]`}}, want: "-1670924195 | -1670924195"},
		{fn: "hash", args: []any{libNull(expr.Null)}, want: "42"},
		{fn: "hash", args: []any{libCol{T: expr.Int32, JS: `[]`}}, want: ""},
		{fn: "md5", args: []any{libCol{T: expr.String, JS: `["Spark",null]`}}, want: "8cde774d6f7333752ed72cacddb05126 | NULL"},
		{fn: "md5", args: []any{libNull(expr.String)}, want: "NULL"},
		{fn: "sha2", args: []any{libCol{T: expr.Binary, JS: `["U3Bhcms=",null]`}, libI(0)}, want: "529bc3b07127ecb7e53a4dcf1991d9152c24537d919178022b2c42657f79a26b | NULL"},
		{fn: "sha2", args: []any{libS("Spark"), libI(100)}, want: "NULL"},
		{fn: "sha2", args: []any{libCol{T: expr.String, JS: `["Spark","Spark","Spark"]`}, libCol{T: expr.Int32, JS: `[224, 7, null]`}}, want: "dbeab94971678d36af2195851c0f7485775a2a7c60073d62fc04549c | NULL | NULL"},
		{fn: "crc32", args: []any{libCol{T: expr.String, JS: `["Spark",""]`}}, want: "1557323817 | 0"},
		{fn: "md5", args: []any{libL(1)}, err: expr.ErrType},
	})
}
