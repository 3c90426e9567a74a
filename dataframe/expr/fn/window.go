package fn

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// WindowType is the struct window() returns, as in Spark.
var WindowType = arrow.StructOf(
	arrow.Field{Name: "start", Type: expr.Timestamp, Nullable: true},
	arrow.Field{Name: "end", Type: expr.Timestamp, Nullable: true},
)

// Event-time windows (Spark's window and window_time). window(ts, size)
// is a tumbling window; window(ts, size, slide) with slide < size puts a
// row in several windows, so as a grouping key it is planned as
// window_array + explode (see plan.NewAggregate).
var windowFuncs = []*expr.Function{
	{Name: "window", MinArgs: 2, MaxArgs: 4, Usage: "window(ts, windowDuration[, slideDuration[, startTime]])", Bind: bindWindow(false)},
	{Name: "window_array", MinArgs: 4, MaxArgs: 4, Usage: "window_array(ts, windowDuration, slideDuration, startTime)", Bind: bindWindow(true)},
	{Name: "window_time", MinArgs: 1, MaxArgs: 1, Usage: "window_time(window)", Bind: bindWindowTime},
}

// WindowSpec is a window's size, slide and start offset in microseconds.
type WindowSpec struct{ Size, Slide, Start int64 }

// ParseWindowSpec reads window()'s literal arguments (after the column).
func ParseWindowSpec(args []expr.Arg) (WindowSpec, error) {
	var spec WindowSpec
	var err error
	dur := func(i int, name string) (int64, error) {
		if i >= len(args) {
			return 0, nil
		}
		a := args[i]
		if a.Const == nil || a.Const.Value == nil {
			return 0, fmt.Errorf("%w: window %s must be a literal like '5 minutes'", expr.ErrType, name)
		}
		var iv arrow.MonthDayNanoInterval
		switch v := a.Const.Value.(type) {
		case string:
			if iv, err = expr.ParseInterval(v); err != nil {
				return 0, fmt.Errorf("%w: window %s %q: %v", expr.ErrType, name, v, err)
			}
		case arrow.MonthDayNanoInterval:
			iv = v
		default:
			return 0, fmt.Errorf("%w: window %s must be an interval string like '5 minutes', got %s", expr.ErrType, name, expr.TypeName(a.Type))
		}
		if iv.Months != 0 {
			return 0, fmt.Errorf("%w: window %s %s: intervals of months are not supported (a month has no fixed length); use days", expr.ErrType, name, expr.FormatInterval(iv))
		}
		return int64(iv.Days)*86_400_000_000 + iv.Nanoseconds/1000, nil
	}
	if spec.Size, err = dur(1, "duration"); err != nil {
		return spec, err
	}
	if spec.Slide, err = dur(2, "slide duration"); err != nil {
		return spec, err
	}
	if spec.Start, err = dur(3, "start time"); err != nil {
		return spec, err
	}
	if spec.Slide == 0 {
		spec.Slide = spec.Size
	}
	switch {
	case spec.Size <= 0:
		return spec, fmt.Errorf("%w: window duration must be positive", expr.ErrType)
	case spec.Slide <= 0 || spec.Slide > spec.Size:
		return spec, fmt.Errorf("%w: window slide duration must be positive and at most the window duration", expr.ErrType)
	case spec.Start < 0 || spec.Start >= spec.Slide:
		return spec, fmt.Errorf("%w: window start time must be at least 0 and less than the slide duration", expr.ErrType)
	}
	return spec, nil
}

// IsSliding reports whether a window() call site has slide < size.
func IsSliding(args []expr.Arg) bool {
	spec, err := ParseWindowSpec(args)
	return err == nil && spec.Slide < spec.Size
}

// LastStart is the start of the latest window containing us.
func (w WindowSpec) LastStart(us int64) int64 {
	m := (us - w.Start) % w.Slide
	if m < 0 {
		m += w.Slide
	}
	return us - m
}

func bindWindow(array bool) func([]expr.Arg) (*expr.Binding, error) {
	return func(args []expr.Arg) (*expr.Binding, error) {
		if !arrow.TypeEqual(args[0].Type, expr.Timestamp) && args[0].Type.ID() != arrow.NULL {
			if args[0].Type.ID() == arrow.DATE32 || expr.IsString(args[0].Type) {
				return &expr.Binding{Cast: []arrow.DataType{expr.Timestamp}}, nil
			}
			return nil, fmt.Errorf("%w: window's first argument must be a timestamp, got %s", expr.ErrType, expr.TypeName(args[0].Type))
		}
		spec, err := ParseWindowSpec(args)
		if err != nil {
			return nil, err
		}
		if !array && spec.Slide < spec.Size {
			return nil, fmt.Errorf("%w: a sliding window (slide %s < size %s) puts each row in several windows; use it as a grouping key (GroupBy), where it is expanded",
				expr.ErrType, micros(spec.Slide), micros(spec.Size))
		}
		if array {
			return &expr.Binding{Type: arrow.ListOf(WindowType), Nullable: args[0].Nullable, ConstArgs: true,
				Kernel: func(ec *expr.EvalContext, in []arrow.Array, n int) (arrow.Array, error) {
					return windowArray(ec.Mem, in[0], spec)
				}}, nil
		}
		return &expr.Binding{Type: WindowType, Nullable: args[0].Nullable, ConstArgs: true,
			Kernel: func(ec *expr.EvalContext, in []arrow.Array, n int) (arrow.Array, error) {
				return tumbling(ec.Mem, in[0], spec)
			}}, nil
	}
}

func micros(us int64) string {
	return expr.FormatInterval(arrow.MonthDayNanoInterval{Nanoseconds: us * 1000})
}

// tumbling computes one window per row.
func tumbling(mem memory.Allocator, ts arrow.Array, spec WindowSpec) (arrow.Array, error) {
	if ts.DataType().ID() == arrow.NULL {
		return array.MakeArrayOfNull(mem, WindowType, ts.Len()), nil
	}
	// One pass writes both fields (every row of a windowed aggregation
	// goes through here: two mapUnary passes were a quarter of Nexmark
	// q7's CPU).
	n := ts.Len()
	sb, starts := allocFixed[arrow.Timestamp](mem, n)
	eb, ends := allocFixed[arrow.Timestamp](mem, n)
	for i, us := range values[arrow.Timestamp](ts) {
		st := spec.LastStart(int64(us))
		starts[i], ends[i] = arrow.Timestamp(st), arrow.Timestamp(st+spec.Size)
	}
	sv, sn := andValidity(mem, n, ts)
	start := makeArray(expr.Timestamp, n, sv, sn, sb)
	defer start.Release()
	ev, en := andValidity(mem, n, ts)
	end := makeArray(expr.Timestamp, n, ev, en, eb)
	defer end.Release()
	return structWithParentNulls(mem, []arrow.Array{start, end}, ts)
}

// structWithParentNulls builds a window struct whose validity is ts's.
func structWithParentNulls(mem memory.Allocator, cols []arrow.Array, parent arrow.Array) (arrow.Array, error) {
	var nulls *memory.Buffer
	if parent.NullN() > 0 {
		nulls, _ = andValidity(mem, parent.Len(), parent)
		defer nulls.Release()
	}
	return array.NewStructArrayWithFieldsAndNulls(cols, WindowType.Fields(), nulls, parent.NullN(), 0)
}

// windowArray lists every window containing each row, earliest first.
func windowArray(mem memory.Allocator, ts arrow.Array, spec WindowSpec) (arrow.Array, error) {
	if ts.DataType().ID() == arrow.NULL {
		b := array.NewListBuilder(mem, WindowType)
		defer b.Release()
		for i := 0; i < ts.Len(); i++ {
			b.AppendNull()
		}
		return b.NewArray(), nil
	}
	// Vectorised: the windows' starts and ends go straight into typed
	// buffers and the list offsets into a third; no builder per element
	// (the sliding-window expansion feeds every row of a windowed
	// aggregation, Nexmark q5 among them).
	n := ts.Len()
	t := ts.(*array.Timestamp)
	vals := t.TimestampValues()
	per := int((spec.Size + spec.Slide - 1) / spec.Slide)
	offBuf, offs := allocFixed[int32](mem, n+1)
	startBuf, starts := allocFixed[arrow.Timestamp](mem, n*per)
	endBuf, ends := allocFixed[arrow.Timestamp](mem, n*per)
	k := 0
	for i, v := range vals {
		offs[i] = int32(k)
		if t.IsNull(i) {
			continue
		}
		last := spec.LastStart(int64(v))
		for s := last - int64(per-1)*spec.Slide; s <= last; s += spec.Slide {
			if s+spec.Size <= int64(v) {
				continue // window ends at or before the row
			}
			starts[k], ends[k] = arrow.Timestamp(s), arrow.Timestamp(s+spec.Size)
			k++
		}
	}
	offs[n] = int32(k)
	startBuf.Resize(k * 8)
	endBuf.Resize(k * 8)
	startArr := makeArray(expr.Timestamp, k, nil, 0, startBuf)
	defer startArr.Release()
	endArr := makeArray(expr.Timestamp, k, nil, 0, endBuf)
	defer endArr.Release()
	sd := array.NewData(WindowType, k, []*memory.Buffer{nil}, []arrow.ArrayData{startArr.Data(), endArr.Data()}, 0, 0)
	defer sd.Release()
	valid, nulls := andValidity(mem, n, ts)
	ld := array.NewData(arrow.ListOf(WindowType), n, []*memory.Buffer{valid, offBuf}, []arrow.ArrayData{sd}, nulls, 0)
	if valid != nil {
		valid.Release()
	}
	offBuf.Release()
	defer ld.Release()
	return array.MakeFromData(ld), nil
}

func bindWindowTime(args []expr.Arg) (*expr.Binding, error) {
	st, ok := args[0].Type.(*arrow.StructType)
	if !ok || st.NumFields() != 2 || !strings.EqualFold(st.Field(1).Name, "end") {
		return nil, fmt.Errorf("%w: window_time needs a window column (struct<start, end>), got %s", expr.ErrType, expr.TypeName(args[0].Type))
	}
	return &expr.Binding{Type: expr.Timestamp, Nullable: args[0].Nullable,
		Kernel: func(ec *expr.EvalContext, in []arrow.Array, n int) (arrow.Array, error) {
			s := in[0].(*array.Struct)
			end := s.Field(1)
			out := mapUnary(ec.Mem, expr.Timestamp, end, func(us arrow.Timestamp) arrow.Timestamp { return us - 1 })
			if s.NullN() == 0 {
				return out, nil
			}
			defer out.Release()
			return withValidityOf(ec.Mem, out, s)
		}}, nil
}

// withValidityOf copies arr with the nulls of parent added.
func withValidityOf(mem memory.Allocator, arr, parent arrow.Array) (arrow.Array, error) {
	valid, nulls := andValidity(mem, arr.Len(), arr, parent)
	defer func() {
		if valid != nil {
			valid.Release()
		}
	}()
	bufs := append([]*memory.Buffer{valid}, arr.Data().Buffers()[1:]...)
	d := array.NewData(arr.DataType(), arr.Len(), bufs, nil, nulls, arr.Data().Offset())
	defer d.Release()
	return array.MakeFromData(d), nil
}
