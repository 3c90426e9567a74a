package fn

import "github.com/sluicehq/sluice/dataframe/expr"

var comparisonFuncs = []*expr.Function{}
