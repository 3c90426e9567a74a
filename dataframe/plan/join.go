package plan

import (
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// JoinType is a join's type, named as in Spark.
type JoinType int

const (
	InnerJoin JoinType = iota
	LeftOuterJoin
	RightOuterJoin
	FullOuterJoin
	LeftSemiJoin
	LeftAntiJoin
	CrossJoin
)

var joinNames = []string{"Inner", "LeftOuter", "RightOuter", "FullOuter", "LeftSemi", "LeftAnti", "Cross"}

func (t JoinType) String() string { return joinNames[t] }

// ParseJoinType accepts Spark's names: inner, cross, outer, full, fullouter,
// full_outer, left, leftouter, left_outer, right, rightouter, right_outer,
// semi, leftsemi, left_semi, anti, leftanti, left_anti.
func ParseJoinType(s string) (JoinType, error) {
	switch strings.ReplaceAll(strings.ToLower(s), "_", "") {
	case "inner", "":
		return InnerJoin, nil
	case "cross":
		return CrossJoin, nil
	case "outer", "full", "fullouter":
		return FullOuterJoin, nil
	case "left", "leftouter":
		return LeftOuterJoin, nil
	case "right", "rightouter":
		return RightOuterJoin, nil
	case "semi", "leftsemi":
		return LeftSemiJoin, nil
	case "anti", "leftanti":
		return LeftAntiJoin, nil
	}
	return 0, fmt.Errorf("%w: unknown join type %q; use one of inner, cross, left, right, full, left_semi, left_anti", ErrAnalysis, s)
}

// Join combines two children. Cond is resolved over left ++ right and may
// be nil (cross join).
type Join struct {
	Left, Right Node
	Type        JoinType
	Cond        expr.Expr
	StateOp     // set by the stream engine when both sides are streams
}

// NewJoin resolves cond over the concatenated outputs.
func NewJoin(left, right Node, typ JoinType, cond expr.Expr) (*Join, error) {
	j := &Join{Left: left, Right: right, Type: typ}
	if cond == nil {
		if typ != CrossJoin && typ != InnerJoin {
			return nil, fmt.Errorf("%w: a %s join needs a join condition", ErrAnalysis, typ)
		}
		return j, nil
	}
	in := append(append([]Attribute(nil), left.Output()...), right.Output()...)
	c, err := Resolve(cond, in, false, "the join condition")
	if err != nil {
		return nil, err
	}
	if t := c.(expr.Typed).DataType(); t.ID() != expr.Boolean.ID() {
		return nil, fmt.Errorf("%w: join condition %s must be boolean, it is %s", ErrAnalysis, c, expr.TypeName(t))
	}
	j.Cond = c
	return j, nil
}

func (j *Join) Output() []Attribute {
	l := j.Left.Output()
	if j.Type == LeftSemiJoin || j.Type == LeftAntiJoin {
		return l
	}
	r := j.Right.Output()
	out := make([]Attribute, 0, len(l)+len(r))
	for _, a := range l {
		if j.Type == RightOuterJoin || j.Type == FullOuterJoin {
			a.Nullable = true
		}
		out = append(out, a)
	}
	for _, a := range r {
		if j.Type == LeftOuterJoin || j.Type == FullOuterJoin {
			a.Nullable = true
		}
		out = append(out, a)
	}
	return out
}
func (j *Join) Children() []Node { return []Node{j.Left, j.Right} }
func (j *Join) WithChildren(ch []Node) Node {
	n := *j
	n.Left, n.Right = ch[0], ch[1]
	return &n
}
func (j *Join) String() string {
	if j.Cond == nil {
		return "Join " + j.Type.String()
	}
	return "Join " + j.Type.String() + ", " + j.Cond.String()
}
