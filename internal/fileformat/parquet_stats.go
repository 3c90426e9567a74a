package fileformat

import (
	"bytes"
	"encoding/binary"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/parquet-go/parquet-go/format"
)

// rowGroupCannotMatch reports whether the min/max/null-count statistics of
// row group rg prove that no row passes every filter. Only top-level
// non-repeated columns are used; anything unknown keeps the row group.
func rowGroupCannotMatch(f *pqFile, rg int, filters []Filter) bool {
	meta := f.pf.Metadata()
	g := &meta.RowGroups[rg]
	for _, flt := range filters {
		n := f.root.child(flt.Column)
		if n == nil || !n.isLeaf() || n.rep != 0 || n.leaf >= len(g.Columns) {
			continue
		}
		st := &g.Columns[n.leaf].MetaData.Statistics
		rs := rangeStats{numRows: g.NumRows}
		modern := st.MinValue != nil || st.MaxValue != nil
		minRaw, maxRaw := st.MinValue, st.MaxValue
		if !modern && signedOrderOK(n) {
			minRaw, maxRaw = st.Min, st.Max
		}
		if minRaw != nil && maxRaw != nil {
			mn, ok1 := statValue(n, minRaw)
			mx, ok2 := statValue(n, maxRaw)
			if ok1 && ok2 {
				rs.min, rs.max, rs.hasMinMax = mn, mx, true
			}
		}
		switch {
		case !n.optional():
			rs.nulls, rs.nullsKnown = 0, true
		case modern || st.NullCount > 0:
			// Writers that fill min_value/max_value also write null_count;
			// a positive count is always trustworthy.
			rs.nulls, rs.nullsKnown = st.NullCount, true
		}
		if rs.cannotMatch(flt) {
			return true
		}
	}
	return false
}

// signedOrderOK: the deprecated min/max fields used signed comparison,
// which is right for signed integers, floats, dates and timestamps only.
func signedOrderOK(n *pqNode) bool {
	switch n.el.Type.V {
	case format.Int32, format.Int64, format.Float, format.Double:
	default:
		return false
	}
	t, err := leafArrowType(n)
	if err != nil {
		return false
	}
	if n.el.ConvertedType.Valid {
		switch n.el.ConvertedType.V {
		case 11, 12, 13, 14: // UINT_*
			return false
		}
	}
	return t.ID() != arrow.DECIMAL128
}

// statValue decodes a PLAIN statistics value into the engine's Go
// representation for comparison. ok is false for types we do not prune on.
func statValue(n *pqNode, raw []byte) (any, bool) {
	t, err := leafArrowType(n)
	if err != nil {
		return nil, false
	}
	switch n.el.Type.V {
	case format.Boolean:
		if len(raw) < 1 {
			return nil, false
		}
		return raw[0]&1 == 1, true
	case format.Int32:
		if len(raw) < 4 {
			return nil, false
		}
		v := int32(binary.LittleEndian.Uint32(raw))
		switch t.ID() {
		case arrow.DATE32:
			return arrow.Date32(v), true
		case arrow.INT64: // uint32
			return int64(uint32(v)), true
		case arrow.INT8, arrow.INT16, arrow.INT32:
			return int64(v), true
		}
	case format.Int64:
		if len(raw) < 8 {
			return nil, false
		}
		v := int64(binary.LittleEndian.Uint64(raw))
		switch t.ID() {
		case arrow.TIMESTAMP:
			switch timestampConv(n) {
			case cvMilliToMicro:
				return arrow.Timestamp(v * 1000), true
			case cvNanoToMicro:
				return arrow.Timestamp(pqFloorDiv(v, 1000)), true
			}
			return arrow.Timestamp(v), true
		case arrow.INT64:
			return v, true
		}
	case format.Float:
		if len(raw) < 4 {
			return nil, false
		}
		f := float64(math.Float32frombits(binary.LittleEndian.Uint32(raw)))
		if math.IsNaN(f) {
			return nil, false
		}
		return f, true
	case format.Double:
		if len(raw) < 8 {
			return nil, false
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(raw))
		if math.IsNaN(f) {
			return nil, false
		}
		return f, true
	case format.ByteArray:
		if t.ID() == arrow.STRING || t.ID() == arrow.BINARY {
			return raw, true
		}
	}
	return nil, false
}

// rangeStats is what is known about the values of a chunk of rows.
type rangeStats struct {
	min, max   any
	hasMinMax  bool
	nulls      int64
	nullsKnown bool
	numRows    int64
}

// cannotMatch reports whether no row described by s can pass f.
func (s *rangeStats) cannotMatch(f Filter) bool {
	allNull := s.nullsKnown && s.nulls >= s.numRows && s.numRows > 0
	switch f.Op {
	case "isnull":
		return s.nullsKnown && s.nulls == 0
	case "isnotnull":
		return allNull
	}
	if allNull {
		return true // a comparison with NULL is never true
	}
	if !s.hasMinMax || f.Value == nil {
		return false
	}
	cmpMin := func(v any) (int, bool) { return compareValues(v, s.min) }
	cmpMax := func(v any) (int, bool) { return compareValues(v, s.max) }
	outside := func(v any) bool {
		a, ok1 := cmpMin(v)
		b, ok2 := cmpMax(v)
		return ok1 && ok2 && (a < 0 || b > 0)
	}
	switch f.Op {
	case "=", "==":
		return outside(f.Value)
	case "!=", "<>":
		a, ok1 := cmpMin(f.Value)
		b, ok2 := cmpMax(f.Value)
		return ok1 && ok2 && a == 0 && b == 0
	case "<":
		c, ok := cmpMin(f.Value)
		return ok && c <= 0 // min >= v
	case "<=":
		c, ok := cmpMin(f.Value)
		return ok && c < 0 // min > v
	case ">":
		c, ok := cmpMax(f.Value)
		return ok && c >= 0 // max <= v
	case ">=":
		c, ok := cmpMax(f.Value)
		return ok && c > 0 // max < v
	case "in":
		vs, ok := f.Value.([]any)
		if !ok {
			return false
		}
		for _, v := range vs {
			if v == nil {
				continue
			}
			if !outside(v) {
				return false
			}
		}
		return true
	}
	return false
}

// compareValues compares two engine values of compatible types: any
// integers, any floats (mixed with integers), strings and byte slices,
// booleans, dates and timestamps. ok is false when they do not compare.
func compareValues(a, b any) (int, bool) {
	if ai, ok := asInt(a); ok {
		if bi, ok := asInt(b); ok {
			return cmp3(ai, bi), true
		}
		if bf, ok := asFloat(b); ok {
			return cmpFloat(float64(ai), bf)
		}
		return 0, false
	}
	if af, ok := asFloat(a); ok {
		if bf, ok := asFloat(b); ok {
			return cmpFloat(af, bf)
		}
		if bi, ok := asInt(b); ok {
			return cmpFloat(af, float64(bi))
		}
		return 0, false
	}
	switch x := a.(type) {
	case string:
		if y, ok := asBytes(b); ok {
			return bytes.Compare([]byte(x), y), true
		}
	case []byte:
		if y, ok := asBytes(b); ok {
			return bytes.Compare(x, y), true
		}
	case bool:
		if y, ok := b.(bool); ok {
			switch {
			case x == y:
				return 0, true
			case !x:
				return -1, true
			default:
				return 1, true
			}
		}
	case arrow.Date32:
		if y, ok := b.(arrow.Date32); ok {
			return cmp3(int64(x), int64(y)), true
		}
	case arrow.Timestamp:
		if y, ok := b.(arrow.Timestamp); ok {
			return cmp3(int64(x), int64(y)), true
		}
	}
	return 0, false
}

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case int:
		return int64(x), true
	}
	return 0, false
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func asBytes(v any) ([]byte, bool) {
	switch x := v.(type) {
	case string:
		return []byte(x), true
	case []byte:
		return x, true
	}
	return nil, false
}

func cmp3(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) (int, bool) {
	if math.IsNaN(a) || math.IsNaN(b) {
		return 0, false
	}
	switch {
	case a < b:
		return -1, true
	case a > b:
		return 1, true
	}
	return 0, true
}
