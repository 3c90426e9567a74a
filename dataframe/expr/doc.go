// Package expr holds sluice's expression trees: the nodes a user or a parser
// builds (unresolved column names and function calls), the resolved forms the
// analyzer produces (bound column ordinals, typed function calls with their
// kernels), the Spark SQL expression and DDL parsers, and vectorised
// evaluation over arrow.RecordBatch.
//
// Functions themselves live in the subpackages fn (scalar) and agg
// (aggregates); each registers its built-ins in one explicit list.
package expr
