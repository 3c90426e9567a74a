package fn

import "github.com/sluicehq/sluice/dataframe/expr"

var conditionalFuncs = []*expr.Function{}
