package fn

import "github.com/sluicehq/sluice/dataframe/expr"

var temporalFuncs = []*expr.Function{}
