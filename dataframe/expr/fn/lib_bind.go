package fn

// Bind-time and kernel-side helpers shared by the library functions (string,
// math, temporal, hash, collection). Prefixed "lib" to keep them apart from
// the operator helpers in kernels.go.

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// libTypeErr reports an argument of the wrong type, naming the function, the
// argument and what would be accepted.
func libTypeErr(fn string, i int, want string, got arrow.DataType) error {
	return fmt.Errorf("%w: %s: argument %d must be %s, not %s", expr.ErrType, fn, i+1, want, expr.TypeName(got))
}

// libArgErr reports an argument whose value (not type) is unusable.
func libArgErr(fn string, i int, format string, a ...any) error {
	return fmt.Errorf("%w: %s: argument %d: %s", ErrInvalidArgument, fn, i+1, fmt.Sprintf(format, a...))
}

// ErrInvalidArgument reports a literal argument whose value a function
// cannot use (a malformed datetime pattern or regular expression, a group
// index past the pattern's groups, an array index of 0).
var ErrInvalidArgument = errors.New("fn: invalid argument")

// libNullConst reports an argument that is a NULL literal.
func libNullConst(a expr.Arg) bool {
	return a.Const != nil && a.Const.Value == nil || a.Type != nil && a.Type.ID() == arrow.NULL
}

// libAnyNullConst reports whether any argument is a NULL literal, which makes
// a NULL-propagating function NULL for every row.
func libAnyNullConst(args []expr.Arg) bool {
	for _, a := range args {
		if libNullConst(a) {
			return true
		}
	}
	return false
}

// libAnyNullable reports whether any argument may be NULL.
func libAnyNullable(args []expr.Arg) bool {
	for _, a := range args {
		if a.Nullable || libNullConst(a) {
			return true
		}
	}
	return false
}

// libAllConst reports whether every argument is a literal.
func libAllConst(args []expr.Arg) bool {
	for _, a := range args {
		if a.Const == nil {
			return false
		}
	}
	return true
}

// libAnyConst reports whether some argument is a literal.
func libAnyConst(args []expr.Arg) bool {
	for _, a := range args {
		if a.Const != nil {
			return true
		}
	}
	return false
}

// libIsAtomic reports types Spark implicitly casts to string.
func libIsAtomic(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.LIST, arrow.LARGE_LIST, arrow.STRUCT, arrow.MAP, arrow.FIXED_SIZE_LIST:
		return false
	}
	return true
}

// libStringCast decides the coercion of argument i of fn to string: nil when
// it is already a string, String for atomic types, an error otherwise.
func libStringCast(fn string, i int, dt arrow.DataType) (arrow.DataType, error) {
	if dt.ID() == arrow.STRING {
		return nil, nil
	}
	if libIsAtomic(dt) {
		return expr.String, nil
	}
	return nil, libTypeErr(fn, i, "a string", dt)
}

// libIntCast decides the coercion of argument i of fn to want (an integer
// type): integers, NULL and strings cast; others are a type error.
func libIntCast(fn string, i int, dt, want arrow.DataType) (arrow.DataType, error) {
	if arrow.TypeEqual(dt, want) {
		return nil, nil
	}
	if expr.IsInteger(dt) || expr.IsString(dt) || expr.IsNull(dt) {
		return want, nil
	}
	return nil, libTypeErr(fn, i, "an integer", dt)
}

// libConstString returns a literal's value as text (strings and binary as
// they are, other types in their display form); ok is false for NULL.
func libConstString(l *expr.Literal) (string, bool) {
	if l == nil || l.Value == nil {
		return "", false
	}
	switch v := l.Value.(type) {
	case string:
		return v, true
	case []byte:
		return string(v), true
	}
	return expr.FormatValue(l.Value, l.Type, false), true
}

// libConstInt returns an integer literal's value; ok is false for NULL or a
// non-numeric literal.
func libConstInt(l *expr.Literal) (int64, bool) {
	if l == nil {
		return 0, false
	}
	if s, isStr := l.Value.(string); isStr {
		var v int64
		if _, err := fmt.Sscan(s, &v); err != nil {
			return 0, false
		}
		return v, true
	}
	return constOf[int64](l.Value)
}

// libValid is a row validity test over a bitmap at offset 0 (nil: all valid).
type libValid []byte

func libValidity(mem memory.Allocator, n int, arrs ...arrow.Array) (*memory.Buffer, libValid) {
	buf, _ := andValidity(mem, n, arrs...)
	if buf == nil {
		return nil, nil
	}
	return buf, libValid(buf.Bytes())
}

func (v libValid) ok(i int) bool { return v == nil || bitutil.BitIsSet(v, i) }

// libStr is a string-like argument as a kernel sees it: a String/Binary
// column or the constant captured at bind time (when the column is nil).
type libStr struct {
	offs  []int32
	data  []byte
	c     []byte
	konst bool
}

func newLibStr(a arrow.Array, c string) libStr {
	if a == nil {
		return libStr{c: []byte(c), konst: true}
	}
	offs, data := stringData(a)
	return libStr{offs: offs, data: data}
}

func (s *libStr) at(i int) []byte {
	if s.konst {
		return s.c
	}
	return s.data[s.offs[i]:s.offs[i+1]]
}

// libInt is an integer argument (int32 or int64 column, or a constant).
type libInt struct {
	v32   []int32
	v64   []int64
	c     int64
	konst bool
}

func newLibInt(a arrow.Array, c int64) libInt {
	if a == nil {
		return libInt{c: c, konst: true}
	}
	switch a.DataType().ID() {
	case arrow.INT32:
		return libInt{v32: values[int32](a)}
	case arrow.INT64:
		return libInt{v64: values[int64](a)}
	}
	return libInt{konst: true}
}

func (x *libInt) at(i int) int64 {
	switch {
	case x.konst:
		return x.c
	case x.v32 != nil:
		return int64(x.v32[i])
	}
	return x.v64[i]
}

// A cast from a string can fail (to NULL), so a function fed through one is
// nullable even when its argument is not. Applied to every library function.
func init() {
	for _, list := range [][]*expr.Function{stringFuncs, mathFuncs, temporalFuncs, hashFuncs, collectionFuncs} {
		for _, f := range list {
			f.Bind = libNullableCasts(f.Bind)
		}
	}
}

func libNullableCasts(bind func([]expr.Arg) (*expr.Binding, error)) func([]expr.Arg) (*expr.Binding, error) {
	return func(args []expr.Arg) (*expr.Binding, error) {
		b, err := bind(args)
		if err != nil || b == nil || b.Nullable {
			return b, err
		}
		for i, c := range b.Cast {
			if c != nil && i < len(args) && expr.IsString(args[i].Type) && !expr.IsString(c) {
				b.Nullable = true
				break
			}
		}
		return b, err
	}
}
