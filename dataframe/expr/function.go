package expr

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Kernel evaluates a scalar function over n rows. args holds one array of n
// rows per argument (nil for a literal argument when the Binding set
// ConstArgs: the kernel then uses the constant it captured at bind time).
// Kernels must not retain or release args; the result is owned by the caller.
type Kernel func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error)

// Arg describes one argument at bind time.
type Arg struct {
	Type     arrow.DataType
	Nullable bool
	// Const is set when the argument is a literal, so Bind can specialise
	// (col = 'view' compares against one string, not an array of them).
	Const *Literal
	// Name is the argument's output name when it is a named expression (a
	// column reference or an alias, as expr.Name gives it), "" otherwise.
	// struct(a, b AS c) names its fields from it; unnamed fields become
	// col1, col2, ... as in Spark.
	Name string
}

// Binding is what Bind decides for one call site.
type Binding struct {
	Type     arrow.DataType
	Nullable bool
	// Cast lists, per argument, the type to coerce it to before the kernel
	// runs; nil (or a nil entry) keeps the argument's type. The analyzer
	// inserts the casts, so kernels see exactly the types they asked for.
	Cast   []arrow.DataType
	Kernel Kernel
	// ConstArgs tells Eval to pass nil for literal arguments: the kernel
	// captured their values at bind time.
	ConstArgs bool
	// Volatile marks non-deterministic results (rand, uuid): never folded.
	Volatile bool
}

// Function is a scalar function or operator known by name.
type Function struct {
	Name    string   // Spark name, lower case
	Aliases []string // other names that resolve to it
	// MinArgs and MaxArgs bound the argument count; MaxArgs -1 is variadic.
	MinArgs, MaxArgs int
	// Usage is a one-line signature for errors and docs: "substring(str, pos[, len])".
	Usage string
	// Bind checks argument types (after Cast coercion is decided) and returns
	// the kernel. It reports a wrong type with ErrType, naming the argument.
	Bind func(args []Arg) (*Binding, error)
}

// AggBinding is what an aggregate's Bind decides for one call site.
type AggBinding struct {
	Type     arrow.DataType
	Nullable bool
	Cast     []arrow.DataType
	// State describes the partial aggregation buffer: the columns State
	// emits and MergeState reads. Two-phase aggregation across shuffle
	// partitions and streaming state both carry these columns.
	State []arrow.Field
	// New makes an accumulator for many groups.
	New func(mem memory.Allocator) Accumulator
}

// AggFunction is an aggregate known by name.
type AggFunction struct {
	Name             string
	Aliases          []string
	MinArgs, MaxArgs int
	Usage            string
	// Bind checks argument types; distinct is count(DISTINCT x) and friends.
	Bind func(args []Arg, distinct bool) (*AggBinding, error)
}

// Accumulator holds one aggregate's state for groups 0..n-1 in flat,
// typed slices (never a map or an `any` per group).
//
// Group ids come from the aggregation's hash table and are dense. An
// accumulator is used by one goroutine at a time.
type Accumulator interface {
	// Resize makes room for n groups; new groups start empty (count 0, sum
	// NULL, ...). n never shrinks.
	Resize(n int)
	// Update folds input rows: row i of each args column goes to group
	// gids[i]. count(*) gets no args. Rows whose gid is NoGroup are skipped.
	Update(args []arrow.Array, gids []uint32) error
	// MergeState folds partial states (columns shaped as AggBinding.State):
	// row i goes to group gids[i].
	MergeState(state []arrow.Array, gids []uint32) error
	// State emits the partial state of groups 0..n-1, or of the listed
	// groups when sel is non-nil, in AggBinding.State's shape.
	State(mem memory.Allocator, n int, sel []uint32) ([]arrow.Array, error)
	// Result emits the final value of groups 0..n-1, or of the listed
	// groups when sel is non-nil.
	Result(mem memory.Allocator, n int, sel []uint32) (arrow.Array, error)
	// Reset returns every group to empty, keeping capacity.
	Reset()
	// Release frees memory held outside the Go heap.
	Release()
}

// NoGroup marks a row that belongs to no group (filtered out).
const NoGroup = ^uint32(0)
