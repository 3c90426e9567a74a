package fn

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/internal/fileformat"
)

// JSON values inside columns. Both run the JSON file format's code (its
// hand-written scanner and its writer), so a value decodes and renders
// exactly as a line of a JSON file would. Options follow the schema as
// name/value string pairs, from_json(value, 'a INT', 'mode', 'FAILFAST'),
// until the engine has map literals (Spark passes a map).
var jsonFuncs = []*expr.Function{
	{Name: "from_json", MinArgs: 2, MaxArgs: -1, Usage: "from_json(json, 'a INT, b STRING'[, 'option', 'value', ...])", Bind: bindFromJSON},
	{Name: "to_json", MinArgs: 1, MaxArgs: -1, Usage: "to_json(struct|array[, 'option', 'value', ...])", Bind: bindToJSON},
}

// jsonOptionArgs reads the trailing name/value literal pairs from args[from:].
func jsonOptionArgs(name string, args []expr.Arg, from int) (map[string]string, error) {
	rest := args[from:]
	if len(rest)%2 != 0 {
		return nil, fmt.Errorf("%w: %s: options are name/value pairs of string literals; %d trailing arguments", ErrInvalidArgument, name, len(rest))
	}
	opts := map[string]string{}
	for i := 0; i < len(rest); i += 2 {
		k, ok := libConstString(rest[i].Const)
		if !ok || !expr.IsString(rest[i].Type) {
			return nil, libArgErr(name, from+i, "option names must be non-NULL string literals")
		}
		v, ok := libConstString(rest[i+1].Const)
		if !ok {
			return nil, libArgErr(name, from+i+1, "option %s needs a non-NULL literal value", k)
		}
		opts[k] = v
	}
	return opts, nil
}

// ---- from_json ----

func bindFromJSON(args []expr.Arg) (*expr.Binding, error) {
	in := args[0].Type
	cast := make([]arrow.DataType, len(args))
	switch {
	case libNullConst(args[0]):
		cast[0] = expr.String
	case in.ID() == arrow.STRING || in.ID() == arrow.BINARY || in.ID() == arrow.LARGE_STRING || in.ID() == arrow.LARGE_BINARY:
	default:
		return nil, fmt.Errorf("%w: from_json: argument 1 must be a string or binary JSON text, not %s", expr.ErrType, expr.TypeName(in))
	}
	ddl, ok := libConstString(args[1].Const)
	if args[1].Const == nil || !ok || !expr.IsString(args[1].Type) {
		return nil, libArgErr("from_json", 1, "the schema must be a string literal in DDL form, e.g. 'ad_id STRING, ts TIMESTAMP'")
	}
	schema, err := expr.ParseDDL(ddl)
	if err != nil {
		return nil, libArgErr("from_json", 1, "schema %q: %v", ddl, err)
	}
	opts, err := jsonOptionArgs("from_json", args, 2)
	if err != nil {
		return nil, err
	}
	switch strings.ToUpper(opts["mode"]) {
	case "":
		opts["mode"] = "PERMISSIVE" // Spark's from_json default
	case "PERMISSIVE", "FAILFAST":
	default:
		return nil, fmt.Errorf("%w: from_json: option mode=%q: use PERMISSIVE (malformed values give NULL fields) or FAILFAST", ErrInvalidArgument, opts["mode"])
	}
	// Check the schema and options once, here, not per batch.
	probe, err := fileformat.NewJSONDecoder(schema, memory.DefaultAllocator, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: from_json: %w", ErrInvalidArgument, err)
	}
	probe.Release()
	fields := schema.Fields()
	dt := arrow.StructOf(fields...)
	arg0 := args[0]
	// Decoders keep their grown buffers between batches (as the Kafka
	// source's does); kernels may run concurrently, so they are pooled.
	pool := &sync.Pool{}
	return &expr.Binding{Type: dt, Nullable: true, Cast: cast, ConstArgs: true,
		Kernel: func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
			col := a[0]
			if col == nil {
				c, err := expr.ConstArray(ec.Mem, arg0.Const.Value, arg0.Type, n)
				if err != nil {
					return nil, err
				}
				defer c.Release()
				col = c
			}
			return fromJSON(ec.Mem, col, schema, fields, opts, pool)
		}}, nil
}

var emptyJSONObject = []byte("{}")

// ErrMalformedJSON reports a value from_json could not parse in mode
// FAILFAST.
var ErrMalformedJSON = errors.New("fn: malformed JSON")

// fromJSON decodes every row of col (string or binary) into one struct
// row: NULL and blank values give a NULL struct (Spark), malformed ones
// NULL fields (PERMISSIVE) or an error naming the row (FAILFAST).
// pooledDecoder is a decoder and the allocator it was made with.
type pooledDecoder struct {
	dec *fileformat.JSONDecoder
	mem memory.Allocator
}

func fromJSON(mem memory.Allocator, col arrow.Array, schema *arrow.Schema, fields []arrow.Field, opts map[string]string, pool *sync.Pool) (arrow.Array, error) {
	pd, _ := pool.Get().(*pooledDecoder)
	if pd == nil || pd.mem != mem {
		dec, err := fileformat.NewJSONDecoder(schema, mem, opts)
		if err != nil {
			return nil, err
		}
		pd = &pooledDecoder{dec: dec, mem: mem}
	}
	dec := pd.dec
	defer func() {
		dec.Release() // drops rows not taken (after an error); keeps capacity
		pool.Put(pd)
	}()
	n := col.Len()
	value := bytesOf(col)
	var valid *memory.Buffer
	nulls := 0
	setNull := func(i int) {
		if valid == nil {
			valid = memory.NewResizableBuffer(mem)
			valid.Resize(int(bitutil.BytesForBits(int64(n))))
			bitutil.SetBitsTo(valid.Bytes(), 0, int64(n), true)
		}
		bitutil.ClearBit(valid.Bytes(), i)
		nulls++
	}
	defer func() {
		if valid != nil {
			valid.Release()
		}
	}()
	for i := 0; i < n; i++ {
		v := value(i)
		if v == nil || isBlank(v) {
			setNull(i)
			v = emptyJSONObject // a row of NULL fields under the NULL struct
		}
		if err := dec.AppendObject(v); err != nil {
			var me *fileformat.MalformedError
			if errors.As(err, &me) {
				return nil, fmt.Errorf("%w: from_json: row %d (mode FAILFAST; mode PERMISSIVE gives NULL fields instead): %w", ErrMalformedJSON, i, err)
			}
			return nil, fmt.Errorf("from_json: row %d: %w", i, err)
		}
	}
	rb := dec.NewBatch()
	defer rb.Release()
	return array.NewStructArrayWithFieldsAndNulls(rb.Columns(), fields, valid, nulls, 0)
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// bytesOf reads a string or binary column without copying; NULL is nil.
func bytesOf(a arrow.Array) func(int) []byte {
	switch a := a.(type) {
	case *array.String:
		offs, data := a.ValueOffsets(), a.ValueBytes()
		base := offs[0]
		return func(i int) []byte {
			if a.IsNull(i) {
				return nil
			}
			return data[offs[i]-base : offs[i+1]-base]
		}
	case *array.LargeString:
		offs, data := a.ValueOffsets(), a.ValueBytes()
		base := offs[0]
		return func(i int) []byte {
			if a.IsNull(i) {
				return nil
			}
			return data[offs[i]-base : offs[i+1]-base]
		}
	case *array.Binary:
		return func(i int) []byte {
			if a.IsNull(i) {
				return nil
			}
			if v := a.Value(i); v != nil {
				return v
			}
			return []byte{}
		}
	case *array.LargeBinary:
		return func(i int) []byte {
			if a.IsNull(i) {
				return nil
			}
			if v := a.Value(i); v != nil {
				return v
			}
			return []byte{}
		}
	}
	return func(int) []byte { return nil }
}

// ---- to_json ----

func bindToJSON(args []expr.Arg) (*expr.Binding, error) {
	switch args[0].Type.ID() {
	case arrow.STRUCT, arrow.LIST:
	default:
		return nil, fmt.Errorf("%w: to_json: argument 1 must be a struct or an array, not %s; wrap columns with struct(...), e.g. to_json(struct(*))", expr.ErrType, expr.TypeName(args[0].Type))
	}
	if err := fileformat.CheckJSONType(args[0].Type); err != nil {
		return nil, fmt.Errorf("%w: to_json: %v", expr.ErrType, err)
	}
	opts, err := jsonOptionArgs("to_json", args, 1)
	if err != nil {
		return nil, err
	}
	enc, err := fileformat.NewJSONEncoder(opts)
	if err != nil {
		return nil, fmt.Errorf("%w: to_json: %w", ErrInvalidArgument, err)
	}
	return &expr.Binding{Type: expr.String, Nullable: args[0].Nullable, ConstArgs: true,
		Kernel: func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
			if a[0] == nil {
				return nil, fmt.Errorf("%w: to_json of a literal is not supported", expr.ErrType)
			}
			return enc.Encode(ec.Mem, a[0])
		}}, nil
}
