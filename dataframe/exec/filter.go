package exec

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Filter keeps rows where the condition is true. When keep is set it also
// projects to those input columns, so columns only the predicate needed are
// never gathered.
type Filter struct {
	child  Operator
	cond   expr.Expr
	keep   []int
	schema *arrow.Schema
}

// NewFilter filters child by cond. keep selects output columns of the
// child (nil keeps all).
func NewFilter(child Operator, cond expr.Expr, keep []int) *Filter {
	schema := child.Schema()
	if keep != nil {
		fields := make([]arrow.Field, len(keep))
		for i, k := range keep {
			fields[i] = schema.Field(k)
		}
		schema = arrow.NewSchema(fields, nil)
	}
	return &Filter{child: child, cond: cond, keep: keep, schema: schema}
}

func (f *Filter) Schema() *arrow.Schema { return f.schema }
func (f *Filter) Partitions() int       { return f.child.Partitions() }
func (f *Filter) Children() []Operator  { return []Operator{f.child} }
func (f *Filter) String() string        { return "Filter " + f.cond.String() }

func (f *Filter) Execute(ctx context.Context, tc *TaskContext, part int) (Iterator, error) {
	in, err := f.child.Execute(ctx, tc, part)
	if err != nil {
		return nil, err
	}
	ec := tc.EvalContext()
	var sel []int32
	return &mapIter{in: in, fn: func(b arrow.RecordBatch) (arrow.RecordBatch, error) {
		m, err := expr.Eval(ec, f.cond, b)
		if err != nil {
			return nil, err
		}
		defer m.Release()
		mask, ok := m.(*array.Boolean)
		if !ok {
			if m.DataType().ID() == arrow.NULL {
				return emptyLike(f.schema), nil
			}
			return nil, fmt.Errorf("%w: filter condition %s produced %s, not boolean", ErrExec, f.cond, m.DataType())
		}
		sel = SelectionFromMask(mask, sel)
		src := b
		if f.keep != nil {
			cols := make([]arrow.Array, len(f.keep))
			for i, k := range f.keep {
				cols[i] = b.Column(k)
			}
			src = array.NewRecordBatch(f.schema, cols, b.NumRows())
			defer src.Release()
		}
		if len(sel) == int(b.NumRows()) {
			src.Retain()
			return src, nil
		}
		return TakeBatch(tc.Mem, src, sel)
	}}, nil
}

func emptyLike(schema *arrow.Schema) arrow.RecordBatch {
	cols := make([]arrow.Array, schema.NumFields())
	for i, f := range schema.Fields() {
		cols[i] = array.MakeArrayOfNull(memory.DefaultAllocator, f.Type, 0)
	}
	out := array.NewRecordBatch(schema, cols, 0)
	for _, c := range cols {
		c.Release()
	}
	return out
}
