package fn

import "testing"

// TestBuiltinNamesUnique guards against two functions registering the same
// name or alias: Lookup would silently pick one of them.
func TestBuiltinNamesUnique(t *testing.T) {
	seen := map[string]string{}
	for _, f := range Builtins {
		for _, n := range append([]string{f.Name}, f.Aliases...) {
			if prev, dup := seen[n]; dup {
				t.Errorf("name %q is registered by %s and %s", n, prev, f.Name)
			}
			seen[n] = f.Name
		}
	}
}
