package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// unionOp is UNION ALL: its partitions are the children's partitions, one
// child after another, so it moves no data.
//
// Children must have the same column count and types (the planner aligns
// them). The output takes the first child's names and a column is nullable
// if it is nullable in any child; batches of children whose schema differs
// only in names or nullability are relabelled.
type unionOp struct {
	children []Operator
	schema   *arrow.Schema
	offsets  []int // offsets[k] is the first output partition of child k
	err      error // schema mismatch, reported by Execute
}

// NewUnion concatenates the partitions of children.
func NewUnion(children ...Operator) Operator {
	u := &unionOp{children: children}
	if len(children) == 0 {
		u.schema = arrow.NewSchema(nil, nil)
		u.err = errorf("Union needs at least one input")
		return u
	}
	first := children[0].Schema()
	fields := append([]arrow.Field(nil), first.Fields()...)
	for k, c := range children[1:] {
		s := c.Schema()
		if s.NumFields() != len(fields) {
			u.err = errorf("Union input %d has %d columns but input 0 has %d; the planner must align union inputs", k+1, s.NumFields(), len(fields))
			break
		}
		for i, f := range s.Fields() {
			if !arrow.TypeEqual(f.Type, fields[i].Type) {
				u.err = errorf("Union input %d column %d (%s) is %s but input 0 has %s; the planner must cast union inputs to one type", k+1, i, f.Name, expr.TypeName(f.Type), expr.TypeName(fields[i].Type))
				break
			}
			fields[i].Nullable = fields[i].Nullable || f.Nullable
		}
	}
	u.schema = arrow.NewSchema(fields, nil)
	n := 0
	for _, c := range children {
		u.offsets = append(u.offsets, n)
		n += c.Partitions()
	}
	u.offsets = append(u.offsets, n)
	return u
}

func (u *unionOp) Schema() *arrow.Schema { return u.schema }
func (u *unionOp) Children() []Operator  { return u.children }
func (u *unionOp) String() string        { return "Union" }
func (u *unionOp) Partitions() int {
	if len(u.children) == 0 {
		return 1
	}
	return u.offsets[len(u.offsets)-1]
}

func (u *unionOp) Execute(ctx context.Context, tc *TaskContext, p int) (Iterator, error) {
	if u.err != nil {
		return nil, u.err
	}
	if p < 0 || p >= u.Partitions() {
		return nil, errorf("Union has %d partitions, asked for partition %d", u.Partitions(), p)
	}
	k := 0
	for p >= u.offsets[k+1] {
		k++
	}
	c := u.children[k]
	it, err := c.Execute(ctx, tc, p-u.offsets[k])
	if err != nil {
		return nil, err
	}
	if c.Schema().Equal(u.schema) {
		return it, nil
	}
	return &relabelIter{in: it, schema: u.schema}, nil
}

// relabelIter gives every batch of in the schema schema (same types).
type relabelIter struct {
	in     Iterator
	schema *arrow.Schema
}

func (it *relabelIter) Next() (arrow.RecordBatch, error) {
	b, err := it.in.Next()
	if err != nil {
		return nil, err
	}
	defer b.Release()
	return array.NewRecordBatch(it.schema, b.Columns(), b.NumRows()), nil
}

func (it *relabelIter) Close() { it.in.Close() }
