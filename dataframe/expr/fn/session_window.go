package fn

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// session_window(ts, gap) is Spark's session window. Per row it is the
// row's own session [ts, ts + gap), a struct<start, end> like window()'s;
// as a grouping key the aggregation merges the overlapping sessions of
// each group into one (see plan.SessionWindow). gap is an interval or
// interval text, a literal or a per-row expression; a row whose gap is
// NULL or not positive (end <= start) belongs to no session: its value is
// NULL and a session aggregation drops it, as Spark does.
var sessionWindowFuncs = []*expr.Function{
	{Name: "session_window", MinArgs: 2, MaxArgs: 2, Usage: "session_window(ts, gapDuration)", Bind: bindSessionWindow},
}

func bindSessionWindow(args []expr.Arg) (*expr.Binding, error) {
	tsCast := false
	switch id := args[0].Type.ID(); {
	case arrow.TypeEqual(args[0].Type, expr.Timestamp) || id == arrow.NULL:
	case id == arrow.DATE32 || expr.IsString(args[0].Type):
		tsCast = true
	default:
		return nil, fmt.Errorf("%w: session_window's first argument must be a timestamp, got %s", expr.ErrType, expr.TypeName(args[0].Type))
	}
	var gap *arrow.MonthDayNanoInterval
	gapCast := false
	switch id := args[1].Type.ID(); {
	case id == arrow.INTERVAL_MONTH_DAY_NANO:
		if c := args[1].Const; c != nil && c.Value != nil {
			v := c.Value.(arrow.MonthDayNanoInterval)
			if err := checkGapLiteral(v); err != nil {
				return nil, err
			}
			gap = &v
		}
	case expr.IsString(args[1].Type) || id == arrow.NULL:
		gapCast = true
		if c := args[1].Const; c != nil && c.Value != nil {
			v, err := expr.ParseInterval(c.Value.(string))
			if err != nil {
				return nil, fmt.Errorf("%w: session_window gap duration %q is not an interval; write it like '5 minutes'", expr.ErrType, c.Value)
			}
			if err := checkGapLiteral(v); err != nil {
				return nil, err
			}
			gap = &v
		}
	default:
		return nil, fmt.Errorf("%w: session_window's gap duration must be an interval or interval text like '5 minutes', got %s", expr.ErrType, expr.TypeName(args[1].Type))
	}
	var cast []arrow.DataType
	if tsCast || gapCast {
		cast = []arrow.DataType{nil, nil}
		if tsCast {
			cast[0] = expr.Timestamp
		}
		if gapCast {
			cast[1] = expr.Interval
		}
	}
	if tsCast {
		// Bound again over the timestamp (the analyzer does).
		return &expr.Binding{Cast: cast}, nil
	}
	tsConst := args[0].Const
	return &expr.Binding{Type: WindowType, Nullable: true, ConstArgs: true, Cast: cast,
		Kernel: func(ec *expr.EvalContext, in []arrow.Array, n int) (arrow.Array, error) {
			ts := in[0]
			if ts == nil {
				c, err := expr.ConstArray(ec.Mem, tsConst.Value, tsConst.Type, n)
				if err != nil {
					return nil, err
				}
				defer c.Release()
				ts = c
			}
			if gap == nil && in[1] == nil {
				// A NULL literal gap: no row has a session.
				return array.MakeArrayOfNull(ec.Mem, WindowType, n), nil
			}
			return sessionWindow(ec.Mem, ts, in[1], gap, n)
		}}, nil
}

// checkGapLiteral refuses a literal gap that can never be positive: it
// would silently drop every row.
func checkGapLiteral(v arrow.MonthDayNanoInterval) error {
	if v.Months <= 0 && v.Days <= 0 && v.Nanoseconds <= 0 {
		return fmt.Errorf("%w: session_window gap duration %s must be positive", expr.ErrType, expr.FormatInterval(v))
	}
	return nil
}

// sessionWindow computes [ts, ts + gap) per row; gaps is nil when gap is
// the constant c. A row is NULL when ts or its gap is NULL or when the gap
// does not move the end past the start.
func sessionWindow(mem memory.Allocator, ts, gaps arrow.Array, c *arrow.MonthDayNanoInterval, n int) (arrow.Array, error) {
	if ts.DataType().ID() == arrow.NULL || (gaps != nil && gaps.DataType().ID() == arrow.NULL) {
		return array.MakeArrayOfNull(mem, WindowType, n), nil
	}
	tv := values[arrow.Timestamp](ts)
	startBuf, starts := allocFixed[arrow.Timestamp](mem, n)
	endBuf, ends := allocFixed[arrow.Timestamp](mem, n)
	copy(starts, tv)
	valid, _ := andValidity(mem, n, ts, gaps)
	var bm []byte
	if valid != nil {
		bm = valid.Bytes()
	}
	invalid := func(i int) {
		if bm == nil {
			valid, bm = allocBits(mem, n)
			bitutil.SetBitsTo(bm, 0, int64(n), true)
		}
		bitutil.ClearBit(bm, i)
	}
	if gaps == nil {
		g := *c
		if g.Months == 0 && g.Days == 0 {
			d := arrow.Timestamp(g.Nanoseconds / 1000)
			for i, v := range tv {
				ends[i] = v + d
			}
			if d <= 0 {
				for i := range ends {
					invalid(i)
				}
			}
		} else {
			for i, v := range tv {
				ends[i] = arrow.Timestamp(timestampAddInterval(int64(v), g))
				if ends[i] <= v && (bm == nil || bitutil.BitIsSet(bm, i)) {
					invalid(i)
				}
			}
		}
	} else {
		gv := values[arrow.MonthDayNanoInterval](gaps)
		for i, v := range tv {
			g := gv[i]
			if g.Months == 0 && g.Days == 0 {
				ends[i] = v + arrow.Timestamp(g.Nanoseconds/1000)
			} else {
				ends[i] = arrow.Timestamp(timestampAddInterval(int64(v), g))
			}
			if ends[i] <= v && (bm == nil || bitutil.BitIsSet(bm, i)) {
				invalid(i)
			}
		}
	}
	nulls := 0
	if valid != nil {
		nulls = n - bitutil.CountSetBits(bm, 0, n)
	}
	start := makeArray(expr.Timestamp, n, nil, 0, startBuf)
	defer start.Release()
	end := makeArray(expr.Timestamp, n, nil, 0, endBuf)
	defer end.Release()
	if valid != nil {
		defer valid.Release()
		if nulls == 0 {
			valid = nil
		}
	}
	return array.NewStructArrayWithFieldsAndNulls([]arrow.Array{start, end}, WindowType.Fields(), valid, nulls, 0)
}

// SessionBounds reads the start and end (µs) of a session_window struct
// column (arrow-go slices a struct's children with it). Rows that are
// NULL have arbitrary values; check the struct's validity.
func SessionBounds(s *array.Struct) (starts, ends []arrow.Timestamp, err error) {
	if s.NumField() != 2 {
		return nil, nil, fmt.Errorf("%w: a session window is a struct<start, end>, got %s", expr.ErrType, s.DataType())
	}
	st, ok1 := s.Field(0).(*array.Timestamp)
	en, ok2 := s.Field(1).(*array.Timestamp)
	if !ok1 || !ok2 {
		return nil, nil, fmt.Errorf("%w: a session window is a struct<start: timestamp, end: timestamp>, got %s", expr.ErrType, s.DataType())
	}
	return st.TimestampValues(), en.TimestampValues(), nil
}
