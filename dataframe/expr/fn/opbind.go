package fn

// Bind-time helpers shared by the operators (arith, compare, logic,
// conditional): coercion to an operand type and capture of literal operands.

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// opTypeErr reports operands an operator cannot take.
func opTypeErr(op string, args []expr.Arg, why string) error {
	switch len(args) {
	case 1:
		return fmt.Errorf("%w: cannot apply %s to %s: %s", expr.ErrType, op, expr.TypeName(args[0].Type), why)
	case 2:
		return fmt.Errorf("%w: cannot apply %s to %s and %s: %s", expr.ErrType, op,
			expr.TypeName(args[0].Type), expr.TypeName(args[1].Type), why)
	}
	names := ""
	for i, a := range args {
		if i > 0 {
			names += ", "
		}
		names += expr.TypeName(a.Type)
	}
	return fmt.Errorf("%w: cannot apply %s to (%s): %s", expr.ErrType, op, names, why)
}

// operands is the bind-time view of a call's arguments after coercion: the
// type each is cast to and, for literals, the value already in that type.
type operands struct {
	types  []arrow.DataType
	casts  []arrow.DataType // Binding.Cast
	consts []*expr.Literal  // nil for non-literal arguments
	// anyConst / nullConst say whether some argument is a literal / a NULL literal.
	anyConst, nullConst bool
}

// coerce casts every argument to its target type (targets[i] nil keeps the
// canonical type), converting literal values at bind time.
func coerce(args []expr.Arg, targets []arrow.DataType) (*operands, error) {
	o := &operands{
		types:  make([]arrow.DataType, len(args)),
		casts:  make([]arrow.DataType, len(args)),
		consts: make([]*expr.Literal, len(args)),
	}
	for i, a := range args {
		t := canonical(a.Type)
		if i < len(targets) && targets[i] != nil {
			t = targets[i]
		}
		o.types[i] = t
		o.casts[i] = castTo(a.Type, t)
		if a.Const == nil {
			continue
		}
		o.anyConst = true
		lit, err := castLiteral(a.Const, t)
		if err != nil {
			return nil, err
		}
		o.consts[i] = lit
		if lit.Value == nil {
			o.nullConst = true
		}
	}
	return o, nil
}

// constVal returns the captured value of argument i in kernel type T (zero
// when the argument is not a literal).
func constVal[T fixed](o *operands, i int) T {
	var z T
	if o.consts[i] == nil {
		return z
	}
	v, _ := constOf[T](o.consts[i].Value)
	return v
}

// anyNullable reports whether some argument may be NULL.
func anyNullable(args []expr.Arg) bool {
	for _, a := range args {
		if a.Nullable || a.Type.ID() == arrow.NULL || (a.Const != nil && a.Const.Value == nil) {
			return true
		}
	}
	return false
}

// binding assembles the Binding for a NULL-propagating operator: a NULL
// literal operand makes every row NULL.
func (o *operands) binding(dt arrow.DataType, nullable bool, k expr.Kernel) *expr.Binding {
	if o.nullConst {
		return &expr.Binding{Type: dt, Nullable: true, Cast: o.casts, Kernel: nullKernel(dt), ConstArgs: true}
	}
	return &expr.Binding{Type: dt, Nullable: nullable, Cast: o.casts, Kernel: k, ConstArgs: o.anyConst}
}
