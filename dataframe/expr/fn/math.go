package fn

import "github.com/sluicehq/sluice/dataframe/expr"

var mathFuncs = []*expr.Function{}
