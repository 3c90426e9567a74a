// Package fn holds sluice's scalar functions and operators: vectorised
// kernels over Arrow arrays, bound per call site by argument types.
package fn

import (
	"slices"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Builtins is the one list of built-in scalar functions and operators. Each
// group is defined in its own file.
var Builtins = slices.Concat(
	arithmeticFuncs,    // arith.go: + - * / % div negative, timestamp ± interval
	comparisonFuncs,    // compare.go: = != < <= > >= <=>
	logicalFuncs,       // logic.go: and or not, isnull, isnotnull, in, like, ilike, rlike
	conditionalFuncs,   // conditional.go: casewhen if coalesce nullif greatest least nvl
	castFuncs,          // cast.go: cast helpers exposed as functions (e.g. string(x)); see CastKernel
	stringFuncs,        // string.go
	mathFuncs,          // math.go
	temporalFuncs,      // temporal.go
	hashFuncs,          // hash.go
	collectionFuncs,    // collection.go: struct, named_struct, array, size, element_at
	windowFuncs,        // window.go: window, window_array, window_time
	sessionWindowFuncs, // session_window.go: session_window
	jsonFuncs,          // json.go: from_json, to_json
)

// Lookup finds a scalar function by name or alias (case-insensitive).
func Lookup(name string) (*expr.Function, bool) {
	f, ok := index()[lower(name)]
	return f, ok
}

// Names lists every registered name (for "did you mean" suggestions).
func Names() []string {
	out := make([]string, 0, len(index()))
	for n := range index() {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

var byName map[string]*expr.Function

func index() map[string]*expr.Function {
	if byName == nil {
		m := make(map[string]*expr.Function)
		for _, f := range Builtins {
			m[f.Name] = f
			for _, a := range f.Aliases {
				m[a] = f
			}
		}
		byName = m
	}
	return byName
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
