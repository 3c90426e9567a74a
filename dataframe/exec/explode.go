package exec

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// explodeOp is Spark's Generate for explode / posexplode / explode_outer /
// posexplode_outer: one output row per element of an array (or entry of a
// map) per input row, carrying the input row's columns along.
//
// Output columns: the child's columns, then pos (int, if withPos), then the
// element (or key and value for a map). Without outer, rows whose array is
// NULL or empty vanish; with outer they yield one row with NULL pos and
// element. Vectorised: the list offsets give, per output row, the parent
// row and the element index; both sides are then gathered.
type explodeOp struct {
	child   Operator
	gen     expr.Expr
	outer   bool
	withPos bool
	names   []string
	schema  *arrow.Schema
	keep    []int // the child columns carried into the output
	isMap   bool
	err     error // reported by Execute
}

// NewExplode explodes gen (an array- or map-typed expression over child)
// into rows. names are the generated columns' names ([pos,] element, or
// [pos,] key, value); nil takes Spark's defaults pos, col, key, value.
func NewExplode(child Operator, gen expr.Expr, outer, withPos bool, names []string) Operator {
	return NewExplodeKeeping(child, nil, gen, outer, withPos, names)
}

// NewExplodeKeeping is NewExplode whose output carries only the child
// columns keep lists (nil: all): a column no parent reads, such as the
// exploded list itself, is not copied into every element row.
func NewExplodeKeeping(child Operator, keep []int, gen expr.Expr, outer, withPos bool, names []string) Operator {
	e := &explodeOp{child: child, gen: gen, outer: outer, withPos: withPos, keep: keep}
	all := child.Schema().Fields()
	if keep == nil {
		e.keep = make([]int, len(all))
		for i := range e.keep {
			e.keep[i] = i
		}
	}
	fields := make([]arrow.Field, len(e.keep))
	for i, c := range e.keep {
		fields[i] = all[c]
	}
	var gfields []arrow.Field
	t, ok := gen.(expr.Typed)
	if !ok {
		e.err = fmt.Errorf("%w: explode argument %s is not resolved: %w", ErrExec, gen, expr.ErrUnresolved)
	} else {
		switch dt := t.DataType().(type) {
		case *arrow.MapType:
			e.isMap = true
			gfields = []arrow.Field{{Name: "key", Type: dt.KeyType(), Nullable: outer}, {Name: "value", Type: dt.ItemType(), Nullable: true}}
		case *arrow.ListType:
			gfields = []arrow.Field{{Name: "col", Type: dt.Elem(), Nullable: true}}
		default:
			e.err = errorf("explode needs an array or a map, but %s is %s", gen, expr.TypeName(t.DataType()))
		}
	}
	if withPos {
		gfields = append([]arrow.Field{{Name: "pos", Type: arrow.PrimitiveTypes.Int32, Nullable: outer}}, gfields...)
	}
	if names != nil && e.err == nil {
		if len(names) != len(gfields) {
			e.err = errorf("explode of %s makes %d columns but %d names were given (%s)", gen, len(gfields), len(names), strings.Join(names, ", "))
		} else {
			for i := range gfields {
				gfields[i].Name = names[i]
			}
		}
	}
	e.names = make([]string, len(gfields))
	for i, f := range gfields {
		e.names[i] = f.Name
	}
	e.schema = arrow.NewSchema(append(fields, gfields...), nil)
	return e
}

func (e *explodeOp) Schema() *arrow.Schema { return e.schema }
func (e *explodeOp) Partitions() int       { return e.child.Partitions() }
func (e *explodeOp) Children() []Operator  { return []Operator{e.child} }

// String follows Spark: Generate explode(tags), [id, name], false, [col].
func (e *explodeOp) String() string {
	fn := "explode"
	if e.withPos {
		fn = "posexplode"
	}
	cs := e.child.Schema().Fields()
	req := make([]string, len(e.keep))
	for i, c := range e.keep {
		req[i] = expr.QuoteIdent(cs[c].Name)
	}
	gen := make([]string, len(e.names))
	for i, n := range e.names {
		gen[i] = expr.QuoteIdent(n)
	}
	return fmt.Sprintf("Generate %s(%s), [%s], %v, [%s]", fn, e.gen, strings.Join(req, ", "), e.outer, strings.Join(gen, ", "))
}

func (e *explodeOp) Execute(ctx context.Context, tc *TaskContext, p int) (Iterator, error) {
	if e.err != nil {
		return nil, e.err
	}
	in, err := e.child.Execute(ctx, tc, p)
	if err != nil {
		return nil, err
	}
	return &explodeIter{ctx: ctx, tc: tc, op: e, gen: e.gen.(expr.Typed), in: in}, nil
}

type explodeIter struct {
	ctx context.Context
	tc  *TaskContext
	op  *explodeOp
	gen expr.Typed
	in  Iterator

	// The input batch being exploded and its output row plan.
	cur    arrow.RecordBatch
	list   arrow.Array // the evaluated generator column
	parent []int32     // per output row: input row
	elem   []int32     // per output row: element index in the list values, -1 for outer NULL
	pos    []int32
	done   int // output rows emitted from cur
}

func (it *explodeIter) Next() (arrow.RecordBatch, error) {
	for {
		if err := it.ctx.Err(); err != nil {
			return nil, err
		}
		if it.cur != nil && it.done < len(it.parent) {
			return it.emit()
		}
		it.dropCur()
		if it.in == nil {
			return nil, io.EOF
		}
		b, err := it.in.Next()
		if err != nil {
			return nil, err // io.EOF included
		}
		if err := it.plan(b); err != nil {
			b.Release()
			return nil, err
		}
	}
}

// plan evaluates the generator over b and lays out the output rows.
func (it *explodeIter) plan(b arrow.RecordBatch) error {
	col, err := it.gen.Eval(it.tc.EvalContext(), b)
	if err != nil {
		return err
	}
	it.cur, it.list = b, col
	var offs []int32
	switch l := col.(type) {
	case *array.Map:
		offs = l.Offsets()
	case *array.List:
		offs = l.Offsets()
	default:
		return errorf("explode of %s produced %s, not an array", it.op.gen, expr.TypeName(col.DataType()))
	}
	off := col.Data().Offset()
	n := col.Len()
	it.parent, it.elem, it.pos, it.done = it.parent[:0], it.elem[:0], it.pos[:0], 0
	// Size the index slices once: growing them row by row was a fifth of
	// a sliding-window aggregation's CPU (Nexmark q5).
	if want := int(offs[off+n]-offs[off]) + n; cap(it.parent) < want {
		it.parent, it.elem, it.pos = make([]int32, 0, want), make([]int32, 0, want), make([]int32, 0, want)
	}
	v := validityOf(col)
	for i := 0; i < n; i++ {
		start, end := offs[off+i], offs[off+i+1]
		if v.isNull(i) || start == end {
			if it.op.outer {
				it.parent = append(it.parent, int32(i))
				it.elem = append(it.elem, -1)
				it.pos = append(it.pos, 0)
			}
			continue
		}
		for j := start; j < end; j++ {
			it.parent = append(it.parent, int32(i))
			it.elem = append(it.elem, j)
			it.pos = append(it.pos, j-start)
		}
	}
	return nil
}

func (it *explodeIter) emit() (arrow.RecordBatch, error) {
	end := min(it.done+batchSize(it.tc), len(it.parent))
	parent, elem := it.parent[it.done:end], it.elem[it.done:end]
	it.done = end
	mem := it.tc.Mem
	cols := make([]arrow.Array, 0, it.op.schema.NumFields())
	defer func() { releaseArrays(cols) }()
	for _, c := range it.op.keep {
		a, err := Take(mem, it.cur.Column(c), parent)
		if err != nil {
			return nil, err
		}
		cols = append(cols, a)
	}
	if it.op.withPos {
		cols = append(cols, nullableInt32(mem, it.pos[end-len(parent):end], elem))
	}
	var values []arrow.Array
	switch l := it.list.(type) {
	case *array.Map:
		values = []arrow.Array{l.Keys(), l.Items()}
	case *array.List:
		values = []arrow.Array{l.ListValues()}
	}
	for _, v := range values {
		a, err := takeOrNull(mem, v, elem)
		if err != nil {
			return nil, err
		}
		cols = append(cols, a)
	}
	return array.NewRecordBatch(it.op.schema, cols, int64(len(parent))), nil
}

func (it *explodeIter) dropCur() {
	if it.cur != nil {
		it.cur.Release()
		it.cur = nil
	}
	if it.list != nil {
		it.list.Release()
		it.list = nil
	}
}

func (it *explodeIter) Close() {
	it.dropCur()
	if it.in != nil {
		it.in.Close()
		it.in = nil
	}
}
