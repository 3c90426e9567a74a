package expr

import "errors"

// Sentinels callers test with errors.Is. Messages wrap them with the
// expression and the fix.
var (
	// ErrUnresolved is returned when an unresolved expression is evaluated.
	ErrUnresolved = errors.New("expr: unresolved expression")
	// ErrType reports arguments of the wrong type.
	ErrType = errors.New("expr: type mismatch")
	// ErrParse reports a syntax error in SQL expression or DDL text.
	ErrParse = errors.New("expr: parse error")
	// ErrUnknownFunction reports a function name that is not registered.
	ErrUnknownFunction = errors.New("expr: unknown function")
	// ErrUnknownColumn reports a column name that does not resolve.
	ErrUnknownColumn = errors.New("expr: unknown column")
)
