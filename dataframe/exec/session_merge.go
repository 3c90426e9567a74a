package exec

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/dataframe/expr/fn"
)

// SessionMerger is the engine of session-window aggregation (see
// plan.SessionWindow), for batch queries and for streaming state alike.
//
// It collects items: input rows (AddRows, folded with the aggregates'
// Update) or partial sessions with their aggregation states (AddStates,
// folded with MergeState). Each item has a group (its other grouping
// keys) and an interval [start, end). Merge sorts each group's items by
// start and sweeps them into sessions, merging an item into the session
// so far when its start is at or before the session's end (Spark's rule),
// then folds every item into its session's accumulators. Sessions are
// numbered by group, then by start.
//
// Folding waits for Merge because a later item can bridge two sessions;
// so the merger keeps the items' argument (or state) columns until then.
// A SessionMerger is used by one goroutine.
type SessionMerger struct {
	mem     memory.Allocator
	aggs    []*expr.AggCall
	nStates []int
	keys    Grouper // nil: no other keys, every item is in group 0

	// Per item: group (expr.NoGroup: in no session) and interval (µs).
	gid        []uint32
	start, end []int64
	pieces     []sessionPiece

	// After Merge: per item its session, per session its group and bounds.
	merged       bool
	sid          []uint32
	sGid         []uint32
	sStart, sEnd []int64
	accs         []expr.Accumulator
}

// sessionPiece is one AddRows or AddStates call: items first..first+n-1.
type sessionPiece struct {
	first, n int
	args     [][]arrow.Array // per aggregate: Update's argument columns
	states   []arrow.Array   // every aggregate's state columns, in order
}

// NewSessionMerger makes an empty merger for the other grouping keys'
// types (none: one group) and the aggregates.
func NewSessionMerger(mem memory.Allocator, keyTypes []arrow.DataType, aggs []*expr.AggCall) (*SessionMerger, error) {
	m := &SessionMerger{mem: mem, aggs: aggs}
	if len(keyTypes) > 0 {
		g, err := NewGrouper(keyTypes, mem)
		if err != nil {
			return nil, err
		}
		m.keys = g
	}
	for _, a := range aggs {
		m.nStates = append(m.nStates, len(a.Binding.State))
	}
	return m, nil
}

// NumItems is the number of items added.
func (m *SessionMerger) NumItems() int { return len(m.gid) }

// NumGroups is the number of distinct other-key groups seen.
func (m *SessionMerger) NumGroups() int {
	if m.keys == nil {
		if len(m.gid) > 0 {
			return 1
		}
		return 0
	}
	return m.keys.Len()
}

// groups assigns group ids to n key rows.
func (m *SessionMerger) groups(keys []arrow.Array, n int) ([]uint32, error) {
	at := len(m.gid)
	m.gid = slices.Grow(m.gid, n)[:at+n]
	gids := m.gid[at:]
	if m.keys == nil {
		clear(gids)
		return gids, nil
	}
	if err := m.keys.Insert(keys, gids); err != nil {
		m.gid = m.gid[:at]
		return nil, err
	}
	return gids, nil
}

// bounds appends the intervals of a session struct column; NULL sessions
// put their item in no group.
func (m *SessionMerger) bounds(session arrow.Array, gids []uint32) error {
	s, ok := session.(*array.Struct)
	if !ok {
		if session.DataType().ID() == arrow.NULL {
			for i := range gids {
				gids[i] = expr.NoGroup
			}
			m.start = append(m.start, make([]int64, len(gids))...)
			m.end = append(m.end, make([]int64, len(gids))...)
			return nil
		}
		return fmt.Errorf("%w: a session window is a struct<start, end>, got %s", ErrExec, session.DataType())
	}
	starts, ends, err := fn.SessionBounds(s)
	if err != nil {
		return err
	}
	m.start = slices.Grow(m.start, len(starts))
	m.end = slices.Grow(m.end, len(ends))
	for _, v := range starts {
		m.start = append(m.start, int64(v))
	}
	for _, v := range ends {
		m.end = append(m.end, int64(v))
	}
	if s.NullN() > 0 {
		for i := range gids {
			if s.IsNull(i) {
				gids[i] = expr.NoGroup
			}
		}
	}
	return nil
}

// AddRows adds the rows of b: keys are the other grouping keys and session
// the session_window(ts, gap) expression, both over b; rows whose session
// is NULL are in no session.
func (m *SessionMerger) AddRows(ec *expr.EvalContext, b arrow.RecordBatch, keys []expr.Expr, session expr.Expr) error {
	if m.merged {
		return fmt.Errorf("%w: SessionMerger: AddRows after Merge", ErrExec)
	}
	n := int(b.NumRows())
	kcols := make([]arrow.Array, len(keys))
	defer releaseArrays(kcols)
	for i, k := range keys {
		c, err := expr.Eval(ec, k, b)
		if err != nil {
			return err
		}
		kcols[i] = c
	}
	sc, err := expr.Eval(ec, session, b)
	if err != nil {
		return err
	}
	defer sc.Release()
	p := sessionPiece{first: len(m.gid), n: n, args: make([][]arrow.Array, len(m.aggs))}
	fail := func(err error) error {
		for _, as := range p.args {
			releaseArrays(as)
		}
		m.gid, m.start, m.end = m.gid[:p.first], m.start[:p.first], m.end[:p.first]
		return err
	}
	for j, a := range m.aggs {
		p.args[j] = make([]arrow.Array, len(a.Args))
		for i, e := range a.Args {
			c, err := expr.Eval(ec, e, b)
			if err != nil {
				return fail(err)
			}
			p.args[j][i] = c
		}
	}
	gids, err := m.groups(kcols, n)
	if err != nil {
		return fail(err)
	}
	if err := m.bounds(sc, gids); err != nil {
		return fail(err)
	}
	m.pieces = append(m.pieces, p)
	return nil
}

// AddStates adds partial sessions: n rows of the other keys, a session
// struct column and every aggregate's state columns (AggBinding.State,
// in order). The merger retains the columns until Merge.
func (m *SessionMerger) AddStates(keys []arrow.Array, session arrow.Array, states []arrow.Array) error {
	if m.merged {
		return fmt.Errorf("%w: SessionMerger: AddStates after Merge", ErrExec)
	}
	want := 0
	for _, k := range m.nStates {
		want += k
	}
	if len(states) != want {
		return fmt.Errorf("%w: SessionMerger: %d state columns, the aggregates have %d", ErrExec, len(states), want)
	}
	n := session.Len()
	p := sessionPiece{first: len(m.gid), n: n}
	gids, err := m.groups(keys, n)
	if err != nil {
		return err
	}
	if err := m.bounds(session, gids); err != nil {
		m.gid, m.start, m.end = m.gid[:p.first], m.start[:p.first], m.end[:p.first]
		return err
	}
	for _, c := range states {
		c.Retain()
	}
	p.states = append([]arrow.Array(nil), states...)
	m.pieces = append(m.pieces, p)
	return nil
}

// Merge sweeps the items into sessions and folds them. After it, only
// the session accessors and Emit may be called.
func (m *SessionMerger) Merge() error {
	if m.merged {
		return nil
	}
	m.merged = true
	order := m.sortedItems()
	// At most one session per item: no growing while sweeping.
	m.sGid = make([]uint32, 0, len(order))
	m.sStart = make([]int64, 0, len(order))
	m.sEnd = make([]int64, 0, len(order))
	m.sid = make([]uint32, len(m.gid))
	for i := range m.sid {
		m.sid[i] = expr.NoGroup
	}
	prevGid := expr.NoGroup
	var curEnd int64
	for _, it := range order {
		g, s, e := m.gid[it], m.start[it], m.end[it]
		if g != prevGid || s > curEnd {
			m.sGid = append(m.sGid, g)
			m.sStart = append(m.sStart, s)
			m.sEnd = append(m.sEnd, e)
			prevGid, curEnd = g, e
		} else if e > curEnd {
			curEnd = e
			m.sEnd[len(m.sEnd)-1] = e
		}
		m.sid[it] = uint32(len(m.sGid) - 1)
	}
	n := len(m.sGid)
	for _, a := range m.aggs {
		acc := a.Binding.New(m.mem)
		acc.Resize(n)
		m.accs = append(m.accs, acc)
	}
	defer m.releasePieces()
	for _, p := range m.pieces {
		sids := m.sid[p.first : p.first+p.n]
		pos := 0
		for j, acc := range m.accs {
			var err error
			if p.states != nil {
				err = acc.MergeState(p.states[pos:pos+m.nStates[j]], sids)
				pos += m.nStates[j]
			} else {
				err = acc.Update(p.args[j], sids)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", m.aggs[j], err)
			}
		}
	}
	return nil
}

// sortedItems orders the items that are in a group by (group, start):
// a stable counting sort by group, then a sort of each group's run unless
// it already is in start order (input in event-time order costs O(n)).
func (m *SessionMerger) sortedItems() []uint32 {
	ng := m.NumGroups()
	counts := make([]int, ng+1)
	for _, g := range m.gid {
		if g != expr.NoGroup {
			counts[g+1]++
		}
	}
	for g := 1; g <= ng; g++ {
		counts[g] += counts[g-1]
	}
	order := make([]uint32, counts[ng])
	next := append([]int(nil), counts[:ng]...)
	for i, g := range m.gid {
		if g != expr.NoGroup {
			order[next[g]] = uint32(i)
			next[g]++
		}
	}
	for g := 0; g < ng; g++ {
		run := order[counts[g]:counts[g+1]]
		sorted := true
		for k := 1; k < len(run); k++ {
			if m.start[run[k]] < m.start[run[k-1]] {
				sorted = false
				break
			}
		}
		if !sorted {
			slices.SortStableFunc(run, func(a, b uint32) int { return cmp.Compare(m.start[a], m.start[b]) })
		}
	}
	return order
}

func (m *SessionMerger) releasePieces() {
	for _, p := range m.pieces {
		for _, as := range p.args {
			releaseArrays(as)
		}
		releaseArrays(p.states)
	}
	m.pieces = nil
}

// NumSessions is the number of sessions after Merge.
func (m *SessionMerger) NumSessions() int { return len(m.sGid) }

// ItemSessions is each item's session after Merge (expr.NoGroup for
// items in no session); ItemGroups is each item's group.
func (m *SessionMerger) ItemSessions() []uint32 { return m.sid }
func (m *SessionMerger) ItemGroups() []uint32   { return m.gid }

// Session returns session s's group and bounds (µs).
func (m *SessionMerger) Session(s int) (gid uint32, start, end int64) {
	return m.sGid[s], m.sStart[s], m.sEnd[s]
}

// GroupKeys returns the other-key columns of the listed groups (none
// when there are no other keys).
func (m *SessionMerger) GroupKeys(mem memory.Allocator, gids []uint32) ([]arrow.Array, error) {
	if m.keys == nil {
		return nil, nil
	}
	if gids == nil {
		gids = []uint32{}
	}
	return m.keys.Keys(mem, gids)
}

// Emit returns, for all sessions (sel nil) or the listed ones, the other
// keys' columns, the session column (struct<start, end>) and one column
// per aggregate: its final value, or its state columns when state is set.
func (m *SessionMerger) Emit(mem memory.Allocator, sel []uint32, state bool) (keys []arrow.Array, session arrow.Array, aggs []arrow.Array, err error) {
	if !m.merged {
		return nil, nil, nil, fmt.Errorf("%w: SessionMerger: Emit before Merge", ErrExec)
	}
	n := len(m.sGid)
	rows := n
	if sel != nil {
		rows = len(sel)
	}
	gids := make([]uint32, rows)
	starts := make([]arrow.Timestamp, rows)
	ends := make([]arrow.Timestamp, rows)
	for i := range gids {
		s := i
		if sel != nil {
			s = int(sel[i])
		}
		gids[i], starts[i], ends[i] = m.sGid[s], arrow.Timestamp(m.sStart[s]), arrow.Timestamp(m.sEnd[s])
	}
	if keys, err = m.GroupKeys(mem, gids); err != nil {
		return nil, nil, nil, err
	}
	session = SessionArray(mem, starts, ends)
	for _, acc := range m.accs {
		if state {
			cs, err := acc.State(mem, n, sel)
			if err != nil {
				releaseArrays(keys)
				session.Release()
				releaseArrays(aggs)
				return nil, nil, nil, err
			}
			aggs = append(aggs, cs...)
		} else {
			c, err := acc.Result(mem, n, sel)
			if err != nil {
				releaseArrays(keys)
				session.Release()
				releaseArrays(aggs)
				return nil, nil, nil, err
			}
			aggs = append(aggs, c)
		}
	}
	return keys, session, aggs, nil
}

// SessionArray builds a session column (struct<start, end>, no NULLs).
func SessionArray(mem memory.Allocator, starts, ends []arrow.Timestamp) arrow.Array {
	sb := array.NewTimestampBuilder(mem, expr.Timestamp)
	defer sb.Release()
	sb.AppendValues(starts, nil)
	s := sb.NewArray()
	defer s.Release()
	sb.AppendValues(ends, nil)
	e := sb.NewArray()
	defer e.Release()
	out, _ := array.NewStructArrayWithFieldsAndNulls([]arrow.Array{s, e}, fn.WindowType.Fields(), nil, 0, 0)
	return out
}

// Release frees the merger's table, accumulators and retained columns.
func (m *SessionMerger) Release() {
	m.releasePieces()
	if m.keys != nil {
		m.keys.Release()
		m.keys = nil
	}
	for _, a := range m.accs {
		a.Release()
	}
	m.accs = nil
}
