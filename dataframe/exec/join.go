package exec

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// JoinType is a physical join's type, named as in Spark.
type JoinType int

const (
	Inner JoinType = iota
	LeftOuter
	RightOuter
	FullOuter
	LeftSemi
	LeftAnti
)

var joinTypeNames = [...]string{"Inner", "LeftOuter", "RightOuter", "FullOuter", "LeftSemi", "LeftAnti"}

func (t JoinType) String() string {
	if t < 0 || int(t) >= len(joinTypeNames) {
		return fmt.Sprintf("JoinType(%d)", int(t))
	}
	return joinTypeNames[t]
}

// BuildSide says which input of a join is collected (and hashed) in
// memory; the other input streams through, partition by partition.
type BuildSide int

const (
	BuildRight BuildSide = iota
	BuildLeft
)

func (b BuildSide) String() string {
	if b == BuildLeft {
		return "BuildLeft"
	}
	return "BuildRight"
}

// joinShape is what a join type and build side imply for the probe loop.
// The probe side streams; the build side is collected once and shared by
// all probe partitions.
type joinShape struct {
	typ   JoinType
	build BuildSide

	pairs      bool // emit matched pairs (not semi/anti)
	probeOuter bool // emit unmatched probe rows, build side NULL
	probeSemi  bool // emit probe rows with a match (output: probe side only)
	probeAnti  bool // emit probe rows without a match
	buildOuter bool // after all probing, emit unmatched build rows, probe side NULL
	buildSemi  bool // after all probing, emit matched build rows (output: build side only)
	buildAnti  bool // after all probing, emit unmatched build rows
}

func newJoinShape(typ JoinType, build BuildSide) (joinShape, error) {
	s := joinShape{typ: typ, build: build}
	probeLeft := build == BuildRight
	switch typ {
	case Inner:
		s.pairs = true
	case LeftOuter:
		s.pairs = true
		s.probeOuter, s.buildOuter = probeLeft, !probeLeft
	case RightOuter:
		s.pairs = true
		s.probeOuter, s.buildOuter = !probeLeft, probeLeft
	case FullOuter:
		s.pairs, s.probeOuter, s.buildOuter = true, true, true
	case LeftSemi:
		s.probeSemi, s.buildSemi = probeLeft, !probeLeft
	case LeftAnti:
		s.probeAnti, s.buildAnti = probeLeft, !probeLeft
	default:
		return s, errorf("unknown join type %d", int(typ))
	}
	if build != BuildRight && build != BuildLeft {
		return s, errorf("unknown build side %d", int(build))
	}
	return s, nil
}

// trackBuild reports that build rows' matches must be recorded across all
// probe partitions.
func (s joinShape) trackBuild() bool { return s.buildOuter || s.buildSemi || s.buildAnti }

// leftOnly reports semi/anti output: the left side's columns only.
func (s joinShape) leftOnly() bool { return s.typ == LeftSemi || s.typ == LeftAnti }

// joinSchemas returns the output schema and the schema the residual
// condition is evaluated over (left ++ right, as the planner bound it).
func joinSchemas(left, right *arrow.Schema, typ JoinType) (out, pair *arrow.Schema) {
	pairFields := append(append([]arrow.Field(nil), left.Fields()...), right.Fields()...)
	pair = arrow.NewSchema(pairFields, nil)
	if typ == LeftSemi || typ == LeftAnti {
		return left, pair
	}
	fields := append([]arrow.Field(nil), pairFields...)
	nl := left.NumFields()
	for i := range fields {
		isLeft := i < nl
		if (isLeft && (typ == RightOuter || typ == FullOuter)) || (!isLeft && (typ == LeftOuter || typ == FullOuter)) {
			fields[i].Nullable = true
		}
	}
	return arrow.NewSchema(fields, nil), pair
}

// condString renders an optional residual condition for EXPLAIN.
func condString(cond expr.Expr) string {
	if cond == nil {
		return ""
	}
	return ", (" + cond.String() + ")"
}
