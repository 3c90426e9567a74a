package fn

import "github.com/sluicehq/sluice/dataframe/expr"

var hashFuncs = []*expr.Function{}
