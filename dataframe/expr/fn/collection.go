package fn

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// Struct and array constructors and accessors. explode is not here: it is a
// generator, run by the engine.
var collectionFuncs = []*expr.Function{
	{Name: "struct", MinArgs: 1, MaxArgs: -1, Usage: "struct(col1, col2, ...)", Bind: bindStruct},
	{Name: "named_struct", MinArgs: 2, MaxArgs: -1, Usage: "named_struct(name1, val1, name2, val2, ...)", Bind: bindNamedStruct},
	{Name: "array", MinArgs: 0, MaxArgs: -1, Usage: "array(expr, ...)", Bind: bindArray},
	{Name: "size", Aliases: []string{"cardinality"}, MinArgs: 1, MaxArgs: 1, Usage: "size(array|map)", Bind: bindSize},
	{Name: "element_at", MinArgs: 2, MaxArgs: 2, Usage: "element_at(array, index) | element_at(map, key)", Bind: bindElementAt},
	{Name: "get_item", Aliases: []string{"get"}, MinArgs: 2, MaxArgs: 2, Usage: "get_item(array, index0) | get_item(map, key) | get_item(struct, 'field')", Bind: bindGetItem},
	{Name: "array_contains", MinArgs: 2, MaxArgs: 2, Usage: "array_contains(array, value)", Bind: bindArrayContains},
	{Name: "sort_array", MinArgs: 1, MaxArgs: 2, Usage: "sort_array(array[, ascending])", Bind: bindSortArray},
	{Name: "array_distinct", MinArgs: 1, MaxArgs: 1, Usage: "array_distinct(array)", Bind: bindArrayDistinct},
}

// ---- struct ----

func bindStruct(args []expr.Arg) (*expr.Binding, error) {
	fields := make([]arrow.Field, len(args))
	for i, a := range args {
		name := a.Name
		if name == "" {
			name = "col" + strconv.Itoa(i+1)
		}
		fields[i] = arrow.Field{Name: name, Type: a.Type, Nullable: true}
	}
	return structBinding(fields), nil
}

func bindNamedStruct(args []expr.Arg) (*expr.Binding, error) {
	if len(args)%2 != 0 {
		return nil, fmt.Errorf("%w: named_struct expects name/value pairs, got %d arguments", expr.ErrType, len(args))
	}
	fields := make([]arrow.Field, 0, len(args)/2)
	cast := make([]arrow.DataType, len(args))
	for i := 0; i < len(args); i += 2 {
		name, ok := libConstString(args[i].Const)
		if args[i].Const == nil || !ok || !expr.IsString(args[i].Type) {
			return nil, libArgErr("named_struct", i, "field names must be non-NULL string literals")
		}
		fields = append(fields, arrow.Field{Name: name, Type: args[i+1].Type, Nullable: true})
	}
	b := structBinding(fields)
	b.Cast = cast
	b.ConstArgs = true // the names are captured; values are never literals-as-nil below
	inner := b.Kernel
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		vals := make([]arrow.Array, 0, len(a)/2)
		for i := 1; i < len(a); i += 2 {
			if a[i] == nil {
				// A literal value: materialise it.
				c, err := expr.ConstArray(ec.Mem, args[i].Const.Value, args[i].Type, n)
				if err != nil {
					return nil, err
				}
				defer c.Release()
				vals = append(vals, c)
				continue
			}
			vals = append(vals, a[i])
		}
		return inner(ec, vals, n)
	}
	return b, nil
}

// structBinding builds a never-NULL struct of the argument columns.
func structBinding(fields []arrow.Field) *expr.Binding {
	dt := arrow.StructOf(fields...)
	return &expr.Binding{Type: dt, Kernel: func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		return array.NewStructArrayWithFields(a, fields)
	}}
}

// ---- array ----

// libWiderType is the common type of two types for array(), following
// Spark's widening: NULL takes the other type, integers widen, an integer
// and a float give the float, date and timestamp give timestamp, and any
// atomic type with a string gives string.
func libWiderType(a, b arrow.DataType) (arrow.DataType, bool) {
	switch {
	case arrow.TypeEqual(a, b):
		return a, true
	case expr.IsNull(a):
		return b, true
	case expr.IsNull(b):
		return a, true
	case expr.IsInteger(a) && expr.IsInteger(b):
		if a.(arrow.FixedWidthDataType).BitWidth() >= b.(arrow.FixedWidthDataType).BitWidth() {
			return a, true
		}
		return b, true
	case expr.IsNumeric(a) && expr.IsNumeric(b):
		if a.ID() == arrow.FLOAT32 && expr.IsInteger(b) || b.ID() == arrow.FLOAT32 && expr.IsInteger(a) {
			return expr.Float32, true
		}
		return expr.Float64, true
	case a.ID() == arrow.DATE32 && b.ID() == arrow.TIMESTAMP || a.ID() == arrow.TIMESTAMP && b.ID() == arrow.DATE32:
		return expr.Timestamp, true
	case a.ID() == arrow.TIMESTAMP && b.ID() == arrow.TIMESTAMP:
		return expr.Timestamp, true
	case expr.IsString(a) && libIsAtomic(b) || expr.IsString(b) && libIsAtomic(a):
		return expr.String, true
	}
	la, oka := a.(*arrow.ListType)
	lb, okb := b.(*arrow.ListType)
	if oka && okb {
		if e, ok := libWiderType(la.Elem(), lb.Elem()); ok {
			return arrow.ListOf(e), true
		}
	}
	return nil, false
}

func bindArray(args []expr.Arg) (*expr.Binding, error) {
	var elem arrow.DataType = expr.Null
	for i, a := range args {
		w, ok := libWiderType(elem, a.Type)
		if !ok {
			return nil, fmt.Errorf("%w: array: argument %d is %s, which has no common type with %s", expr.ErrType, i+1, expr.TypeName(a.Type), expr.TypeName(elem))
		}
		elem = w
	}
	cast := make([]arrow.DataType, len(args))
	for i, a := range args {
		if !arrow.TypeEqual(a.Type, elem) {
			cast[i] = elem
		}
	}
	dt := arrow.ListOf(elem)
	return &expr.Binding{Type: dt, Cast: cast, Kernel: func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		k := len(a)
		var values arrow.Array
		if k == 0 {
			values = array.MakeArrayOfNull(ec.Mem, elem, 0)
		} else {
			all, err := array.Concatenate(a, ec.Mem)
			if err != nil {
				return nil, err
			}
			defer all.Release()
			// Row-major order: element j of row i is column j's row i.
			idx := make([]int64, 0, n*k)
			for i := 0; i < n; i++ {
				for j := 0; j < k; j++ {
					idx = append(idx, int64(j*n+i))
				}
			}
			if values, err = takeInt64(ec.Mem, all, idx, nil); err != nil {
				return nil, err
			}
		}
		defer values.Release()
		offBuf, offs := allocFixed[int32](ec.Mem, n+1)
		for i := range offs {
			offs[i] = int32(i * k)
		}
		return newListArray(dt, n, nil, offBuf, values), nil
	}}, nil
}

// newListArray assembles a list array, taking ownership of validity and
// offsets (values is retained by the result).
func newListArray(dt arrow.DataType, n int, validity, offsets *memory.Buffer, values arrow.Array) arrow.Array {
	nulls := 0
	if validity != nil {
		nulls = array.UnknownNullCount
	}
	d := array.NewData(dt, n, []*memory.Buffer{validity, offsets}, []arrow.ArrayData{values.Data()}, nulls, 0)
	if validity != nil {
		validity.Release()
	}
	offsets.Release()
	defer d.Release()
	return array.MakeFromData(d)
}

// takeInt64 gathers values at idx (valid marks which indices are real; nil
// = all) with arrow's Take kernel.
func takeInt64(mem memory.Allocator, values arrow.Array, idx []int64, valid []bool) (arrow.Array, error) {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.AppendValues(idx, valid)
	ia := b.NewArray()
	defer ia.Release()
	ctx := compute.WithAllocator(context.Background(), mem)
	return compute.TakeArray(ctx, values, ia)
}

// ---- size ----

// bindSize binds size(): element count, -1 for NULL (Spark's default
// non-ANSI behaviour, spark.sql.legacy.sizeOfNull).
func bindSize(args []expr.Arg) (*expr.Binding, error) {
	switch args[0].Type.ID() {
	case arrow.LIST, arrow.MAP, arrow.NULL:
	default:
		return nil, libTypeErr("size", 0, "an array or a map", args[0].Type)
	}
	return &expr.Binding{Type: expr.Int32, Kernel: func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		buf, out := allocFixed[int32](ec.Mem, n)
		l, ok := a[0].(array.ListLike)
		for i := range out {
			if !ok || a[0].IsNull(i) {
				out[i] = -1
				continue
			}
			s, e := l.ValueOffsets(i)
			out[i] = int32(e - s)
		}
		return makeArray(expr.Int32, n, nil, 0, buf), nil
	}}, nil
}

// ---- element access ----

// bindElementAt binds element_at: 1-based array index (negative counts from
// the end, 0 is an error, out of range is NULL) or a map key.
func bindElementAt(args []expr.Arg) (*expr.Binding, error) {
	return bindItem("element_at", args, true)
}

// bindGetItem binds x[i] (0-based, out of range NULL), m[key] and
// s['field'].
func bindGetItem(args []expr.Arg) (*expr.Binding, error) {
	if st, ok := args[0].Type.(*arrow.StructType); ok {
		name, ok := libConstString(args[1].Const)
		if args[1].Const == nil || !ok {
			return nil, libArgErr("get_item", 1, "a struct field is selected by a string literal")
		}
		idx, found := st.FieldIdx(name)
		if !found {
			for k, f := range st.Fields() {
				if strings.EqualFold(f.Name, name) {
					idx, found = k, true
					break
				}
			}
		}
		if !found {
			return nil, libArgErr("get_item", 1, "no field %q in %s", name, expr.TypeName(st))
		}
		ft := st.Field(idx).Type
		return &expr.Binding{Type: ft, Nullable: true, ConstArgs: args[0].Const == nil, Kernel: func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
			s := a[0].(*array.Struct)
			f := s.Field(idx)
			if s.NullN() == 0 {
				f.Retain()
				return f, nil
			}
			idxs := make([]int64, n)
			valid := make([]bool, n)
			for i := range idxs {
				idxs[i], valid[i] = int64(i), s.IsValid(i)
			}
			return takeInt64(ec.Mem, f, idxs, valid)
		}}, nil
	}
	return bindItem("get_item", args, false)
}

func bindItem(fn string, args []expr.Arg, oneBased bool) (*expr.Binding, error) {
	switch t := args[0].Type.(type) {
	case *arrow.ListType:
		cast, err := libIntCast(fn, 1, args[1].Type, expr.Int32)
		if err != nil {
			return nil, err
		}
		elem := t.Elem()
		if oneBased && args[1].Const != nil {
			if v, ok := libConstInt(args[1].Const); ok && v == 0 {
				return nil, libArgErr(fn, 1, "SQL array indices start at 1")
			}
		}
		b := &expr.Binding{Type: elem, Nullable: true, Cast: []arrow.DataType{nil, cast}, ConstArgs: libConstTail(args)}
		if libAnyNullConst(args) {
			b.Kernel = nullKernel(elem)
			return b, nil
		}
		b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
			l := a[0].(*array.List)
			pos := intArg(a, args, 1, 0)
			idx := make([]int64, n)
			valid := make([]bool, n)
			for i := 0; i < n; i++ {
				if l.IsNull(i) || a[1] != nil && a[1].IsNull(i) {
					continue
				}
				s, e := l.ValueOffsets(i)
				p, size := pos.at(i), e-s
				if oneBased {
					switch {
					case p == 0:
						return nil, libArgErr(fn, 1, "SQL array indices start at 1")
					case p > 0:
						p--
					default:
						p += size
					}
				}
				if p >= 0 && p < size {
					idx[i], valid[i] = s+p, true
				}
			}
			return takeInt64(ec.Mem, l.ListValues(), idx, valid)
		}
		return b, nil
	case *arrow.MapType:
		kt, vt := t.KeyType(), t.ItemType()
		var cast arrow.DataType
		if !arrow.TypeEqual(args[1].Type, kt) {
			cast = kt
		}
		b := &expr.Binding{Type: vt, Nullable: true, Cast: []arrow.DataType{nil, cast}}
		if libAnyNullConst(args) {
			b.Kernel = nullKernel(vt)
			return b, nil
		}
		b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
			m := a[0].(*array.Map)
			keys := m.Keys()
			keyOf := libElemKeyer(keys)
			needle := libElemKeyer(a[1])
			idx := make([]int64, n)
			valid := make([]bool, n)
			for i := 0; i < n; i++ {
				if m.IsNull(i) || a[1].IsNull(i) {
					continue
				}
				want := needle(i)
				s, e := m.ValueOffsets(i)
				for j := s; j < e; j++ {
					if keyOf(int(j)) == want {
						idx[i], valid[i] = j, true
						break
					}
				}
			}
			return takeInt64(ec.Mem, m.Items(), idx, valid)
		}
		return b, nil
	}
	return nil, libTypeErr(fn, 0, "an array or a map", args[0].Type)
}

// ---- contains, sort, distinct, reverse ----

func bindArrayContains(args []expr.Arg) (*expr.Binding, error) {
	lt, ok := args[0].Type.(*arrow.ListType)
	if !ok {
		if expr.IsNull(args[0].Type) {
			return &expr.Binding{Type: expr.Boolean, Nullable: true, Kernel: nullKernel(expr.Boolean)}, nil
		}
		return nil, libTypeErr("array_contains", 0, "an array", args[0].Type)
	}
	w, ok := libWiderType(lt.Elem(), args[1].Type)
	if !ok {
		return nil, fmt.Errorf("%w: array_contains: %s cannot be compared with elements of %s", expr.ErrType, expr.TypeName(args[1].Type), expr.TypeName(lt))
	}
	cast := []arrow.DataType{nil, nil}
	if !arrow.TypeEqual(w, lt.Elem()) {
		cast[0] = arrow.ListOf(w)
	}
	if !arrow.TypeEqual(w, args[1].Type) {
		cast[1] = w
	}
	b := &expr.Binding{Type: expr.Boolean, Nullable: true, Cast: cast}
	if libAnyNullConst(args) {
		b.Kernel = nullKernel(expr.Boolean)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		l := a[0].(*array.List)
		vals := l.ListValues()
		keyOf := libElemKeyer(vals)
		needle := libElemKeyer(a[1])
		vbuf, out := allocFixed[uint8](ec.Mem, n)
		valid, _ := andValidity(ec.Mem, n, a...)
		arr := finishNull(ec.Mem, expr.Int8, n, valid, vbuf, out, func(i int) (uint8, bool) {
			want := needle(i)
			s, e := l.ValueOffsets(i)
			sawNull := false
			for j := int(s); j < int(e); j++ {
				if vals.IsNull(j) {
					sawNull = true
					continue
				}
				if keyOf(j) == want {
					return 1, true
				}
			}
			return 0, !sawNull
		})
		defer arr.Release()
		return libBytesToBool(ec.Mem, arr), nil
	}
	return b, nil
}

// libBytesToBool packs a byte-per-row 0/1 array (with validity) into a
// boolean array.
func libBytesToBool(mem memory.Allocator, a arrow.Array) arrow.Array {
	n := a.Len()
	vals := values[uint8](a)
	bb, bits := allocBits(mem, n)
	for i, v := range vals {
		if v != 0 {
			bits[i>>3] |= 1 << (i & 7)
		}
	}
	valid, nulls := andValidity(mem, n, a)
	return makeArray(expr.Boolean, n, valid, nulls, bb)
}

// rebuildList builds a list of the same type from l, row i's elements being
// the child indices perRow appends (for valid rows).
func rebuildList(mem memory.Allocator, l *array.List, perRow func(dst []int64, start, end int64) []int64) (arrow.Array, error) {
	n := l.Len()
	offBuf, offs := allocFixed[int32](mem, n+1)
	var idx []int64
	offs[0] = 0
	for i := 0; i < n; i++ {
		if l.IsValid(i) {
			s, e := l.ValueOffsets(i)
			idx = perRow(idx, s, e)
		}
		offs[i+1] = int32(len(idx))
	}
	vals, err := takeInt64(mem, l.ListValues(), idx, nil)
	if err != nil {
		offBuf.Release()
		return nil, err
	}
	defer vals.Release()
	valid, _ := andValidity(mem, n, l)
	return newListArray(l.DataType(), n, valid, offBuf, vals), nil
}

func bindListUnary(fn string, args []expr.Arg, k func(ec *expr.EvalContext, l *array.List) (arrow.Array, error)) (*expr.Binding, error) {
	if _, ok := args[0].Type.(*arrow.ListType); !ok {
		return nil, libTypeErr(fn, 0, "an array", args[0].Type)
	}
	return &expr.Binding{Type: args[0].Type, Nullable: args[0].Nullable, Cast: make([]arrow.DataType, len(args)), ConstArgs: libConstTail(args),
		Kernel: func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
			return k(ec, a[0].(*array.List))
		}}, nil
}

func bindArrayReverse(args []expr.Arg) (*expr.Binding, error) {
	return bindListUnary("reverse", args, func(ec *expr.EvalContext, l *array.List) (arrow.Array, error) {
		return rebuildList(ec.Mem, l, func(dst []int64, s, e int64) []int64 {
			for j := e - 1; j >= s; j-- {
				dst = append(dst, j)
			}
			return dst
		})
	})
}

func bindArrayDistinct(args []expr.Arg) (*expr.Binding, error) {
	return bindListUnary("array_distinct", args, func(ec *expr.EvalContext, l *array.List) (arrow.Array, error) {
		vals := l.ListValues()
		keyOf := libElemKeyer(vals)
		seen := map[string]struct{}{}
		return rebuildList(ec.Mem, l, func(dst []int64, s, e int64) []int64 {
			clear(seen)
			sawNull := false
			for j := s; j < e; j++ {
				if vals.IsNull(int(j)) {
					if !sawNull {
						sawNull = true
						dst = append(dst, j)
					}
					continue
				}
				k := keyOf(int(j))
				if _, dup := seen[k]; dup {
					continue
				}
				seen[k] = struct{}{}
				dst = append(dst, j)
			}
			return dst
		})
	})
}

func bindSortArray(args []expr.Arg) (*expr.Binding, error) {
	lt, ok := args[0].Type.(*arrow.ListType)
	if !ok {
		return nil, libTypeErr("sort_array", 0, "an array", args[0].Type)
	}
	if !libOrderable(lt.Elem()) {
		return nil, libTypeErr("sort_array", 0, "an array of orderable elements", args[0].Type)
	}
	asc := true
	if len(args) == 2 {
		var v, isBool bool
		if args[1].Const != nil {
			v, isBool = args[1].Const.Value.(bool)
		}
		if !isBool {
			return nil, libArgErr("sort_array", 1, "the sort order must be a boolean literal")
		}
		asc = v
	}
	return bindListUnary("sort_array", args, func(ec *expr.EvalContext, l *array.List) (arrow.Array, error) {
		vals := l.ListValues()
		cmp := libElemComparer(vals)
		return rebuildList(ec.Mem, l, func(dst []int64, s, e int64) []int64 {
			start := len(dst)
			for j := s; j < e; j++ {
				dst = append(dst, j)
			}
			row := dst[start:]
			// Insertion sort for short arrays keeps it allocation-free and stable.
			less := func(x, y int64) bool {
				xn, yn := vals.IsNull(int(x)), vals.IsNull(int(y))
				switch {
				case xn || yn:
					if asc {
						return xn && !yn // NULLs first
					}
					return yn && !xn // NULLs last
				case asc:
					return cmp(int(x), int(y)) < 0
				}
				return cmp(int(x), int(y)) > 0
			}
			libSortIdx(row, less)
			return dst
		})
	})
}

// bindArrayConcat binds concat(array, array, ...): elements of every array
// in order, NULL if any array is NULL; element types widen to a common type.
func bindArrayConcat(args []expr.Arg) (*expr.Binding, error) {
	var dt arrow.DataType = expr.Null
	for i, a := range args {
		if a.Type.ID() != arrow.LIST && !expr.IsNull(a.Type) {
			return nil, libTypeErr("concat", i, "an array like the first argument", a.Type)
		}
		w, ok := libWiderType(dt, a.Type)
		if !ok {
			return nil, fmt.Errorf("%w: concat: %s has no common type with %s", expr.ErrType, expr.TypeName(a.Type), expr.TypeName(dt))
		}
		dt = w
	}
	cast := make([]arrow.DataType, len(args))
	for i, a := range args {
		if !arrow.TypeEqual(a.Type, dt) {
			cast[i] = dt
		}
	}
	b := &expr.Binding{Type: dt, Nullable: libAnyNullable(args), Cast: cast}
	if libAnyNullConst(args) {
		b.Kernel = nullKernel(dt)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		lists := make([]*array.List, len(a))
		children := make([]arrow.Array, len(a))
		base := make([]int64, len(a))
		total := int64(0)
		for k, col := range a {
			lists[k] = col.(*array.List)
			children[k] = lists[k].ListValues()
			base[k] = total
			total += int64(children[k].Len())
		}
		all, err := array.Concatenate(children, ec.Mem)
		if err != nil {
			return nil, err
		}
		defer all.Release()
		valid, vb := libValidity(ec.Mem, n, a...)
		offBuf, offs := allocFixed[int32](ec.Mem, n+1)
		var idx []int64
		offs[0] = 0
		for i := 0; i < n; i++ {
			if vb.ok(i) {
				for k, l := range lists {
					s, e := l.ValueOffsets(i)
					for j := s; j < e; j++ {
						idx = append(idx, base[k]+j)
					}
				}
			}
			offs[i+1] = int32(len(idx))
		}
		vals, err := takeInt64(ec.Mem, all, idx, nil)
		if err != nil {
			offBuf.Release()
			if valid != nil {
				valid.Release()
			}
			return nil, err
		}
		defer vals.Release()
		return newListArray(dt, n, valid, offBuf, vals), nil
	}
	return b, nil
}
