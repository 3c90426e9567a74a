package expr

import (
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// EvalContext carries what evaluation needs besides the batch.
type EvalContext struct {
	Mem memory.Allocator
	// Now is current_timestamp() for the whole query (or micro-batch), as
	// Spark fixes it once per query execution.
	Now time.Time
}

// NewEvalContext returns a context with the Go allocator and the given now.
func NewEvalContext(mem memory.Allocator, now time.Time) *EvalContext {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &EvalContext{Mem: mem, Now: now}
}

// Eval evaluates a resolved expression; unresolved nodes are an error.
func Eval(ec *EvalContext, e Expr, b arrow.RecordBatch) (arrow.Array, error) {
	t, ok := e.(Typed)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnresolved, e)
	}
	return t.Eval(ec, b)
}

func (r *BoundRef) Eval(ec *EvalContext, b arrow.RecordBatch) (arrow.Array, error) {
	col := b.Column(r.Index)
	col.Retain()
	return col, nil
}

func (a *Alias) DataType() arrow.DataType { return a.Child.(Typed).DataType() }
func (a *Alias) Nullable() bool           { return a.Child.(Typed).Nullable() }
func (a *Alias) Eval(ec *EvalContext, b arrow.RecordBatch) (arrow.Array, error) {
	return Eval(ec, a.Child, b)
}

func (f *Field) DataType() arrow.DataType { return f.Type }
func (f *Field) Nullable() bool           { return true }
func (f *Field) Eval(ec *EvalContext, b arrow.RecordBatch) (arrow.Array, error) {
	in, err := Eval(ec, f.Child, b)
	if err != nil {
		return nil, err
	}
	defer in.Release()
	st, ok := in.(*array.Struct)
	if !ok {
		return nil, fmt.Errorf("%w: %s is %s, not a struct", ErrType, f.Child, TypeName(in.DataType()))
	}
	field := st.Field(f.Index)
	if st.NullN() == 0 {
		field.Retain()
		return field, nil
	}
	// A NULL struct makes its fields NULL: merge the struct's validity in.
	return withParentNulls(ec.Mem, field, st)
}

func withParentNulls(mem memory.Allocator, child arrow.Array, parent arrow.Array) (arrow.Array, error) {
	bld := array.NewBuilder(mem, child.DataType())
	defer bld.Release()
	for i := 0; i < child.Len(); i++ {
		if parent.IsNull(i) {
			bld.AppendNull()
			continue
		}
		if err := AppendValue(bld, ValueAt(child, i)); err != nil {
			return nil, err
		}
	}
	return bld.NewArray(), nil
}

func (c *Cast) DataType() arrow.DataType { return c.To }
func (c *Cast) Nullable() bool           { return true }
func (c *Cast) Eval(ec *EvalContext, b arrow.RecordBatch) (arrow.Array, error) {
	in, err := Eval(ec, c.Child, b)
	if err != nil {
		return nil, err
	}
	defer in.Release()
	if c.Kernel == nil {
		if arrow.TypeEqual(in.DataType(), c.To) {
			in.Retain()
			return in, nil
		}
		return nil, fmt.Errorf("%w: %s", ErrUnresolved, c)
	}
	return c.Kernel(ec, []arrow.Array{in}, in.Len())
}

func (c *ScalarCall) Eval(ec *EvalContext, b arrow.RecordBatch) (arrow.Array, error) {
	var buf [4]arrow.Array
	args := buf[:0]
	defer func() {
		for _, a := range args {
			if a != nil {
				a.Release()
			}
		}
	}()
	for i, a := range c.Args {
		if i < len(c.constArg) && c.constArg[i] {
			args = append(args, nil)
			continue
		}
		v, err := Eval(ec, a, b)
		if err != nil {
			return nil, err
		}
		args = append(args, v)
	}
	return c.Binding.Kernel(ec, args, int(b.NumRows()))
}

func (c *AggCall) Eval(*EvalContext, arrow.RecordBatch) (arrow.Array, error) {
	return nil, fmt.Errorf("expr: aggregate %s evaluated outside an aggregation", c)
}

// FoldConstant evaluates a resolved expression without column references to
// a Literal. ok is false when e reads columns or is volatile.
func FoldConstant(ec *EvalContext, e Expr) (lit *Literal, ok bool, err error) {
	if l, isLit := e.(*Literal); isLit {
		return l, true, nil
	}
	t, isTyped := e.(Typed)
	if !isTyped || !IsFoldable(e) {
		return nil, false, nil
	}
	empty := array.NewRecordBatch(arrow.NewSchema(nil, nil), nil, 1)
	defer empty.Release()
	arr, err := t.Eval(ec, empty)
	if err != nil {
		return nil, false, err
	}
	defer arr.Release()
	return &Literal{Value: ValueAt(arr, 0), Type: t.DataType()}, true, nil
}

// IsFoldable reports whether e is deterministic and reads no columns.
func IsFoldable(e Expr) bool {
	ok := true
	Walk(e, func(n Expr) bool {
		switch t := n.(type) {
		case *BoundRef, *Column, *Star, *AggCall, *Call:
			ok = false
		case *ScalarCall:
			if t.Binding.Volatile {
				ok = false
			}
		}
		return ok
	})
	return ok
}
