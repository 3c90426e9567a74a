package fn

import "github.com/sluicehq/sluice/dataframe/expr"

var castFuncs = []*expr.Function{}
