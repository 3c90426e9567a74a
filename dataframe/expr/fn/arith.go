package fn

import "github.com/sluicehq/sluice/dataframe/expr"

var arithmeticFuncs = []*expr.Function{}
