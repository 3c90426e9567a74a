package fn

import "github.com/sluicehq/sluice/dataframe/expr"

var stringFuncs = []*expr.Function{}
