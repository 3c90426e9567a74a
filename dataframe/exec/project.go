package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Project evaluates one expression per output column.
type Project struct {
	child  Operator
	exprs  []expr.Expr
	schema *arrow.Schema
}

// NewProject builds a projection; schema names the outputs.
func NewProject(child Operator, exprs []expr.Expr, schema *arrow.Schema) *Project {
	return &Project{child: child, exprs: exprs, schema: schema}
}

func (p *Project) Schema() *arrow.Schema { return p.schema }
func (p *Project) Partitions() int       { return p.child.Partitions() }
func (p *Project) Children() []Operator  { return []Operator{p.child} }
func (p *Project) String() string        { return "Project [" + exprList(p.exprs) + "]" }

func (p *Project) Execute(ctx context.Context, tc *TaskContext, part int) (Iterator, error) {
	in, err := p.child.Execute(ctx, tc, part)
	if err != nil {
		return nil, err
	}
	ec := tc.EvalContext()
	return &mapIter{in: in, fn: func(b arrow.RecordBatch) (arrow.RecordBatch, error) {
		return ProjectBatch(ec, b, p.exprs, p.schema)
	}}, nil
}

// ProjectBatch evaluates exprs over b into a new batch of schema.
func ProjectBatch(ec *expr.EvalContext, b arrow.RecordBatch, exprs []expr.Expr, schema *arrow.Schema) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, len(exprs))
	for i, e := range exprs {
		c, err := expr.Eval(ec, e, b)
		if err != nil {
			for _, d := range cols[:i] {
				d.Release()
			}
			return nil, err
		}
		cols[i] = c
	}
	out := array.NewRecordBatch(schema, cols, b.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return out, nil
}

// mapIter applies fn to each batch of in; fn does not own its input.
type mapIter struct {
	in Iterator
	fn func(arrow.RecordBatch) (arrow.RecordBatch, error)
}

func (m *mapIter) Next() (arrow.RecordBatch, error) {
	b, err := m.in.Next()
	if err != nil {
		return nil, err
	}
	defer b.Release()
	return m.fn(b)
}
func (m *mapIter) Close() { m.in.Close() }
