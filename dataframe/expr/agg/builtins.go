// Package agg holds sluice's aggregate functions: accumulators that keep
// per-group state in flat typed slices, fed by the hash aggregation
// operator with dense group ids.
package agg

import (
	"slices"
	"strings"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Builtins is the one list of built-in aggregates.
var Builtins = []*expr.AggFunction{
	countFunc,               // count.go
	countIfFunc,             // count.go
	sumFunc,                 // sum.go
	avgFunc,                 // avg.go
	minFunc,                 // minmax.go
	maxFunc,                 // minmax.go
	boolAndFunc,             // minmax.go
	boolOrFunc,              // minmax.go
	firstFunc,               // firstlast.go
	lastFunc,                // firstlast.go
	anyValueFunc,            // firstlast.go
	stddevSampFunc,          // moments.go
	stddevPopFunc,           // moments.go
	varSampFunc,             // moments.go
	varPopFunc,              // moments.go
	approxCountDistinctFunc, // hll.go
	collectListFunc,         // collect.go
	collectSetFunc,          // collect.go
	maxByAllFunc,            // maxbyall.go (sluice extension)
	minByAllFunc,            // maxbyall.go (sluice extension)
}

// Lookup finds an aggregate by name or alias (case-insensitive).
func Lookup(name string) (*expr.AggFunction, bool) {
	for _, f := range Builtins {
		if strings.EqualFold(f.Name, name) || slices.ContainsFunc(f.Aliases, func(a string) bool { return strings.EqualFold(a, name) }) {
			return f, true
		}
	}
	return nil, false
}
