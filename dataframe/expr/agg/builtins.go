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
	// count, sum, avg, min, max, first, last, stddev..., approx_count_distinct,
	// collect_list, collect_set are registered here as they land.
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
