package fn

import "github.com/sluicehq/sluice/dataframe/expr"

var logicalFuncs = []*expr.Function{}
