package nexmark

import (
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Value is row i of an engine result column as Reference writes it: int64,
// float64, string, time.Time (UTC) or nil; decimals as their text. Tests
// and the benchmark compare engine output with Reference through it.
func Value(arr arrow.Array, i int) any {
	v := expr.ValueAt(arr, i)
	switch x := v.(type) {
	case nil, int64, float64, string:
		return x
	case int32:
		return int64(x)
	case arrow.Timestamp:
		return time.UnixMicro(int64(x)).UTC()
	case decimal128.Num:
		return x.ToString(arr.DataType().(*arrow.Decimal128Type).Scale)
	}
	return fmt.Sprintf("%T:%v", v, v)
}
