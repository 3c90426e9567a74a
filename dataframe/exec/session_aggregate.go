package exec

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/plan"
)

// SessionAggregate is the aggregation grouped by a session window (see
// plan.SessionWindow): per partition it merges the rows of each group of
// the other keys into sessions and aggregates each session. Its output is
// laid out as HashAggregate's: the grouping keys in order, the session
// column at position session, then one column per aggregate (final
// values, or the state columns in AggPartial mode).
//
// AggPartial merges each partition's rows into partial sessions, AggFinal
// merges partial sessions (keys ++ states, as AggPartial emits them) that
// overlap across partitions: merging intervals is associative, so the
// two phases give the sessions of all rows at once. The exchange between
// them must hash by the other keys only.
type SessionAggregate struct {
	child   Operator
	groups  []expr.Expr
	session int
	aggs    []*expr.AggCall
	mode    AggMode
	schema  *arrow.Schema
}

// NewSessionAggregate builds the operator. groups are the grouping
// expressions with the session_window(ts, gap) key at index session (in
// AggFinal mode: references to the input's key columns).
func NewSessionAggregate(child Operator, groups []expr.Expr, session int, aggs []*expr.AggCall, mode AggMode, schema *arrow.Schema) *SessionAggregate {
	return &SessionAggregate{child: child, groups: groups, session: session, aggs: aggs, mode: mode, schema: schema}
}

func (s *SessionAggregate) Schema() *arrow.Schema { return s.schema }
func (s *SessionAggregate) Partitions() int       { return s.child.Partitions() }
func (s *SessionAggregate) Children() []Operator  { return []Operator{s.child} }
func (s *SessionAggregate) String() string {
	aggs := make([]expr.Expr, len(s.aggs))
	for i, a := range s.aggs {
		aggs[i] = a
	}
	return fmt.Sprintf("SessionAggregate(%s) keys=[%s], session=%s, functions=[%s]", s.mode, exprList(s.otherKeys()), s.groups[s.session], exprList(aggs))
}

// otherKeys are the grouping expressions without the session key.
func (s *SessionAggregate) otherKeys() []expr.Expr {
	out := make([]expr.Expr, 0, len(s.groups)-1)
	out = append(out, s.groups[:s.session]...)
	return append(out, s.groups[s.session+1:]...)
}

// OtherKeyTypes are the types of the grouping keys other than the session.
func OtherKeyTypes(groups []expr.Expr, session int) []arrow.DataType {
	var out []arrow.DataType
	for i, g := range groups {
		if i != session {
			out = append(out, g.(expr.Typed).DataType())
		}
	}
	return out
}

func (s *SessionAggregate) Execute(ctx context.Context, tc *TaskContext, p int) (Iterator, error) {
	in, err := s.child.Execute(ctx, tc, p)
	if err != nil {
		return nil, err
	}
	out, err := s.aggregate(ctx, tc, in)
	in.Close()
	if err != nil {
		return nil, err
	}
	defer out.Release()
	return NewOwnedIterator(SliceBatch(out, tc.BatchSize)), nil
}

// SliceBatch splits b into slices of at most size rows (one empty batch
// for an empty b); the caller owns the slices.
func SliceBatch(b arrow.RecordBatch, size int) []arrow.RecordBatch {
	n := b.NumRows()
	if size <= 0 || n <= int64(size) {
		b.Retain()
		return []arrow.RecordBatch{b}
	}
	var out []arrow.RecordBatch
	for lo := int64(0); lo < n; lo += int64(size) {
		out = append(out, b.NewSlice(lo, min(lo+int64(size), n)))
	}
	return out
}

func (s *SessionAggregate) aggregate(ctx context.Context, tc *TaskContext, in Iterator) (arrow.RecordBatch, error) {
	m, err := NewSessionMerger(tc.Mem, OtherKeyTypes(s.groups, s.session), s.aggs)
	if err != nil {
		return nil, err
	}
	defer m.Release()
	ec := tc.EvalContext()
	ng := len(s.groups)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, err := in.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if s.mode == AggFinal {
			cols := b.Columns()
			keys := append(append([]arrow.Array(nil), cols[:s.session]...), cols[s.session+1:ng]...)
			err = m.AddStates(keys, cols[s.session], cols[ng:])
		} else {
			err = m.AddRows(ec, b, s.otherKeys(), s.groups[s.session])
		}
		b.Release()
		if err != nil {
			return nil, err
		}
	}
	if err := m.Merge(); err != nil {
		return nil, err
	}
	keys, session, aggs, err := m.Emit(tc.Mem, nil, s.mode == AggPartial)
	if err != nil {
		return nil, err
	}
	cols := SessionLayout(keys, session, aggs, s.session)
	defer releaseArrays(cols)
	return array.NewRecordBatch(s.schema, cols, int64(m.NumSessions())), nil
}

// SessionLayout puts the session column among the other keys at its
// grouping position, followed by the aggregate columns.
func SessionLayout(keys []arrow.Array, session arrow.Array, aggs []arrow.Array, pos int) []arrow.Array {
	out := make([]arrow.Array, 0, len(keys)+1+len(aggs))
	out = append(out, keys[:pos]...)
	out = append(out, session)
	out = append(out, keys[pos:]...)
	return append(out, aggs...)
}

// planSessionAggregate plans an aggregation grouped by a session window:
// one partition aggregates at once; several merge partial sessions per
// partition, exchange them by the other keys and merge again.
func (pl *Planner) planSessionAggregate(a *plan.Aggregate) (Operator, error) {
	child, err := pl.Plan(a.Child)
	if err != nil {
		return nil, err
	}
	key := a.Session.Key
	buf := plan.AttrSchema(a.BufferAttrs())
	var agg Operator
	if child.Partitions() == 1 {
		agg = NewSessionAggregate(child, a.Groups, key, a.Aggs, AggComplete, buf)
	} else {
		keyFields := buf.Fields()[:len(a.Groups)]
		partial := NewSessionAggregate(child, a.Groups, key, a.Aggs, AggPartial, PartialSchema(keyFields, a.Aggs))
		refs := make([]expr.Expr, len(keyFields))
		var others []expr.Expr
		for i, f := range keyFields {
			refs[i] = &expr.BoundRef{Index: i, Name: f.Name, Type: f.Type, Null: f.Nullable}
			if i != key {
				others = append(others, refs[i])
			}
		}
		var ex Operator
		if len(others) == 0 {
			ex = NewGather(partial)
		} else {
			ex = NewHashExchange(partial, others, child.Partitions())
		}
		agg = NewSessionAggregate(ex, refs, key, a.Aggs, AggFinal, buf)
	}
	return NewProject(agg, a.Out, plan.SchemaOf(a)), nil
}
