package fn

import "github.com/sluicehq/sluice/dataframe/expr"

var collectionFuncs = []*expr.Function{}
