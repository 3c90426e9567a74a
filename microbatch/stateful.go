package microbatch

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/exec"
	"github.com/sluicehq/sluice/dataframe/plan"
	"github.com/sluicehq/sluice/microbatch/state"
	"github.com/sluicehq/sluice/sinks"
)

// statefulOp is one stateful operator of a running query. Its state
// stores stay open (and in memory) across batches; each batch plans the
// node afresh over that state.
type statefulOp interface {
	// operator plans this batch's optimised copy of the node. planChild
	// plans one of its children.
	operator(n plan.Node, planChild func(plan.Node) (exec.Operator, error), b batchInfo) (exec.Operator, error)
	// metrics reports the operator after a batch and resets its per-batch
	// counters.
	metrics() StateOperator
	// stateStore is the operator's versioned state, for purging.
	stateStore() *state.Operator
	close()
}

// batchInfo is what a stateful operator needs to know about the batch.
type batchInfo struct {
	batchID int64
	// watermarkUs is the batch's watermark (µs): state whose event time is
	// below it is evicted (and, in append mode, emitted).
	watermarkUs int64
	// lateUs is the watermark input rows are checked against: rows older
	// are late and dropped. It is watermarkUs for an operator reading the
	// sources, and the previous batch's watermark for one fed by another
	// stateful operator, whose output in this batch is older than this
	// batch's watermark by construction (Spark 3.4's two watermarks).
	lateUs int64
	mode   sinks.OutputMode
	// late, when the query has a late-data sink, collects the input rows
	// the watermark closed instead of dropping them.
	late *lateRows
}

// opEnv is what opening a stateful operator needs.
type opEnv struct {
	ck     checkpointStore
	nparts int
	mem    memory.Allocator
	clock  state.Clock
}

// statefulKind is one kind of stateful operator.
type statefulKind struct {
	name string
	// wants reports whether n, in a streaming plan, keeps state of this
	// kind.
	wants func(n plan.Node) bool
	open  func(ctx context.Context, env opEnv, n plan.Node) (statefulOp, error)
	// check (optional) refuses, at Start, what this kind cannot run in
	// the output mode, saying what to do instead.
	check func(n plan.Node, mode sinks.OutputMode) error
}

// statefulKinds lists the stateful operators the engine runs. A node that
// no kind wants runs statelessly over each batch.
var statefulKinds = []statefulKind{
	{name: "session", wants: wantsSession, open: openSession, check: checkSession},
	{name: "aggregate", wants: wantsAggregate, open: openAggregate, check: checkAggregate},
	{name: "join", wants: wantsJoin, open: openJoin, check: checkJoin},
	{name: "dedup", wants: wantsDedup, open: openDedup, check: checkDedup},
}

// numberStateful marks the stateful nodes of p, numbering them in plan
// order (their state lives under state/<id>).
func numberStateful(p plan.Node, mode sinks.OutputMode) (plan.Node, error) {
	next := 0
	return plan.Transform(p, func(n plan.Node) (plan.Node, error) {
		if kindOf(n) == nil || overComplete(n, mode) {
			return n, nil
		}
		c := n.WithChildren(n.Children()).(plan.Stateful)
		*c.State() = plan.StateOp{Stateful: true, StateID: next}
		next++
		return c, nil
	})
}

// overComplete reports whether n, in complete output mode, runs as a
// batch operator over complete results: each of its streaming inputs is a
// streaming aggregation, or such an operator itself. An aggregation emits
// its whole result every micro-batch in complete mode, so what reads only
// such results (a second aggregation, a join of two aggregations) sees
// all of their rows each time and needs no state of its own. Aggregations
// over aggregations (Nexmark q4, q5, q6, q8 as published) stream this way
// in complete mode; Spark refuses them. A node that also reads a raw
// stream (only this batch's rows) is not over complete results.
func overComplete(n plan.Node, mode sinks.OutputMode) bool {
	return mode == sinks.Complete && wholeInputs(n)
}

func wholeInputs(n plan.Node) bool {
	found := false
	for _, c := range n.Children() {
		if !plan.IsStreaming(c) {
			continue
		}
		if !aggregates(c) && !wholeInputs(c) {
			return false
		}
		found = true
	}
	return found
}

func kindOf(n plan.Node) *statefulKind {
	if _, ok := n.(plan.Stateful); !ok {
		return nil
	}
	for i := range statefulKinds {
		if statefulKinds[i].wants(n) {
			return &statefulKinds[i]
		}
	}
	return nil
}

// openStateful opens the state of every numbered node of p, by id.
func openStateful(ctx context.Context, env opEnv, p plan.Node) ([]statefulOp, error) {
	var ops []statefulOp
	var err error
	plan.Transform(p, func(n plan.Node) (plan.Node, error) {
		s, ok := n.(plan.Stateful)
		if !ok || !s.State().Stateful || err != nil {
			return n, nil
		}
		var op statefulOp
		op, err = kindOf(n).open(ctx, env, n)
		if err != nil {
			err = fmt.Errorf("%w: stateful operator %d (%s): %w", ErrQuery, s.State().StateID, kindOf(n).name, err)
			return n, nil
		}
		for len(ops) <= s.State().StateID {
			ops = append(ops, nil)
		}
		ops[s.State().StateID] = op
		return n, nil
	})
	if err != nil {
		closeStateful(ops)
		return nil, err
	}
	return ops, nil
}

func closeStateful(ops []statefulOp) {
	for _, op := range ops {
		if op != nil {
			op.close()
		}
	}
}

// fedByState reports whether n reads the output of another stateful
// operator.
func fedByState(n plan.Node) bool {
	return plan.Below(n, func(x plan.Node) bool {
		s, ok := x.(plan.Stateful)
		return ok && s.State().Stateful
	})
}
