package fn

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// date_format, from_unixtime and unix_timestamp: formatting and parsing with
// a compiled pattern.

func bindDateFormat(args []expr.Arg) (*expr.Binding, error) {
	cast, err := libTimestampInput("date_format", 0, args[0].Type)
	if err != nil {
		return nil, err
	}
	return bindFormat("date_format", args, cast, 1)
}

func bindFromUnixtime(args []expr.Arg) (*expr.Binding, error) {
	cast, err := libIntCast("from_unixtime", 0, args[0].Type, expr.Int64)
	if err != nil {
		return nil, err
	}
	return bindFormat("from_unixtime", args, cast, usPerSecond)
}

// bindFormat binds a function rendering args[0] (an int64 column of
// unit-sized steps since the epoch) with the pattern in args[1] (or the
// default pattern).
func bindFormat(fn string, args []expr.Arg, cast arrow.DataType, unit int64) (*expr.Binding, error) {
	konst, fcast, err := bindPatternArg(fn, args, 1, defaultTimestampPattern)
	if err != nil {
		return nil, err
	}
	b := &expr.Binding{Type: expr.String, Nullable: libAnyNullable(args), Cast: []arrow.DataType{cast, fcast}}
	if libAnyNullConst(args) {
		b.Kernel = nullKernel(expr.String)
		return b, nil
	}
	hasFmt := len(args) > 1
	// Only the pattern is captured: a literal first argument is rare and
	// simply materialised.
	b.ConstArgs = hasFmt && args[1].Const != nil && args[0].Const == nil
	patConst := !hasFmt || args[1].Const != nil
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		var fmtCol arrow.Array
		if hasFmt && !(patConst && b.ConstArgs) {
			fmtCol = a[1]
		}
		if fmtCol == nil && konst == nil {
			return nil, fmt.Errorf("%s: internal: pattern not captured", fn)
		}
		pat := newLibPattern(fmtCol, konst)
		vals := values[int64](a[0])
		valid, vb := libValidity(ec.Mem, n, a[0], fmtCol)
		if valid != nil {
			defer valid.Release()
		}
		w := newStringWriter(ec.Mem, expr.String, n, n*20)
		for i := 0; i < n; i++ {
			if !vb.ok(i) {
				w.appendNull()
				continue
			}
			p, err := pat.at(i)
			if err != nil {
				w.release()
				return nil, fmt.Errorf("%s: %w", fn, err)
			}
			v := vals[i]
			if v > maxEpochMicros/unit || v < -maxEpochMicros/unit {
				w.appendNull() // outside the range a timestamp holds
				continue
			}
			w.appendWith(func(dst []byte) ([]byte, bool) { return p.appendFormat(dst, v*unit), true })
		}
		return w.finish()
	}
	return b, nil
}

// maxEpochMicros bounds timestamps to years -290000..290000, inside int64
// microseconds.
const maxEpochMicros = 9_000_000_000_000_000_000 / 1000

// bindUnixTimestamp binds unix_timestamp(): now without arguments; seconds
// of a timestamp or date; a string parsed with fmt (default
// yyyy-MM-dd HH:mm:ss). Unparseable strings are NULL.
func bindUnixTimestamp(args []expr.Arg) (*expr.Binding, error) {
	if len(args) == 0 {
		return &expr.Binding{Type: expr.Int64, Volatile: true, Kernel: func(ec *expr.EvalContext, _ []arrow.Array, n int) (arrow.Array, error) {
			buf, out := allocFixed[int64](ec.Mem, n)
			now := calFloorDiv(ec.Now.UnixMicro(), usPerSecond)
			for i := range out {
				out[i] = now
			}
			return makeArray(expr.Int64, n, nil, 0, buf), nil
		}}, nil
	}
	in := args[0].Type
	toSeconds := func(us int64) int64 { return calFloorDiv(us, usPerSecond) }
	if !expr.IsString(in) && !expr.IsNull(in) {
		cast, err := libTimestampInput("unix_timestamp", 0, in)
		if err != nil {
			return nil, err
		}
		b := &expr.Binding{Type: expr.Int64, Nullable: args[0].Nullable, Cast: []arrow.DataType{cast, nil}}
		b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
			return mapUnary(ec.Mem, expr.Int64, a[0], toSeconds), nil
		}
		return b, nil
	}
	konst, fcast, err := bindPatternArg("unix_timestamp", args, 1, defaultTimestampPattern)
	if err != nil {
		return nil, err
	}
	cast := []arrow.DataType{nil, fcast}
	if in.ID() != arrow.STRING {
		cast[0] = expr.String
	}
	b := &expr.Binding{Type: expr.Int64, Nullable: true, Cast: cast}
	if libAnyNullConst(args) {
		b.Kernel = nullKernel(expr.Int64)
		return b, nil
	}
	hasFmt := len(args) > 1
	b.ConstArgs = hasFmt && args[1].Const != nil && args[0].Const == nil
	inner := parseKernel(konst, hasFmt && !b.ConstArgs, expr.Int64, toSeconds)
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		if b.ConstArgs || !hasFmt {
			return inner(ec, a[:1], n)
		}
		return inner(ec, a, n)
	}
	return b, nil
}
