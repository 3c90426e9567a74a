package dataframe

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/plan"
	"github.com/sluicehq/sluice/microbatch"
)

// The state data sources (Spark 4's "statestore" and "state-metadata"):
// the state of a streaming query's stateful operators, read from its
// checkpoint as a batch DataFrame, without the query running (or while
// it runs: they see what it has committed).
//
//	s.Read().Format("statestore").Option("batchId", "5").Load("ckpt/clicks")
//	s.Read().Format("state-metadata").Load("ckpt/clicks")
func init() {
	formats = append(formats,
		Format{Name: "statestore", Doc: "the state of a streaming query's stateful operator at a committed batch, from its checkpoint (batch read only)",
			Batch: readStateStore},
		Format{Name: "state-metadata", Doc: "the stateful operators of a streaming query's checkpoint and the batches their state can be read at (batch read only)",
			Batch: readStateMetadata},
	)
}

// stateStoreOptions are the options of format("statestore"), by Spark's
// names (matched without regard to case).
var stateStoreOptions = []string{"path", "batchId", "operatorId", "storeName"}

// sparkOnlyStateOptions are options of Spark's state reader that sluice
// does not have (yet): refused by name rather than ignored.
var sparkOnlyStateOptions = []string{"joinSide", "snapshotStartBatchId", "snapshotPartitionId", "readChangeFeed", "changeStartBatchId", "changeEndBatchId", "stateVarName", "flattenCollectionTypes"}

// stateOptions checks the user's options against the known ones and
// returns them by canonical name.
func stateOptions(format string, o FormatOptions, known []string) (map[string]string, string, error) {
	out := map[string]string{}
	for k, v := range o.Options {
		name := ""
		for _, n := range known {
			if strings.EqualFold(k, n) {
				name = n
			}
		}
		if name == "" {
			for _, n := range sparkOnlyStateOptions {
				if strings.EqualFold(k, n) {
					return nil, "", fmt.Errorf("option %q of Spark's state reader is not supported by sluice; options: %s", k, strings.Join(known, ", "))
				}
			}
			return nil, "", fmt.Errorf("unknown option %q; options: %s", k, strings.Join(known, ", "))
		}
		out[name] = v
	}
	if o.Schema != nil {
		return nil, "", fmt.Errorf("the %s format has a fixed schema; do not pass Schema(...)", format)
	}
	dir := out["path"]
	switch {
	case len(o.Paths) > 1:
		return nil, "", fmt.Errorf("read one checkpoint at a time; got %d paths", len(o.Paths))
	case len(o.Paths) == 1 && dir != "" && dir != o.Paths[0]:
		return nil, "", fmt.Errorf("the path option (%s) and Load's path (%s) differ; give one", dir, o.Paths[0])
	case len(o.Paths) == 1:
		dir = o.Paths[0]
	}
	if dir == "" {
		return nil, "", fmt.Errorf("no checkpoint given: pass the query's checkpointLocation to Load(...) or Option(\"path\", ...)")
	}
	return out, dir, nil
}

func intOption(opts map[string]string, name string, def int64) (int64, error) {
	v, ok := opts[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("option %s is %q; it must be a non-negative integer", name, v)
	}
	return n, nil
}

// readStateStore is format("statestore"): one row per key of an
// operator's store at a committed batch, with columns key (struct of the
// key columns), value (struct of the value columns) and partition_id, as
// Spark. For an aggregation the key holds the grouping columns and the
// value the aggregation buffer (agg<i>_<field>), the partial state the
// next batch merges into, not the finished aggregate.
func readStateStore(ctx context.Context, s *Session, o FormatOptions) (*DataFrame, error) {
	opts, dir, err := stateOptions("statestore", o, stateStoreOptions)
	if err != nil {
		return nil, err
	}
	opID, err := intOption(opts, "operatorId", 0)
	if err != nil {
		return nil, err
	}
	if opID > 1<<30 {
		return nil, fmt.Errorf("option operatorId is %d, beyond any operator", opID)
	}
	batchID, err := intOption(opts, "batchId", -1)
	if err != nil {
		return nil, err
	}
	ck, err := microbatch.OpenCheckpointReader(ctx, dir)
	if err != nil {
		return nil, err
	}
	store := opts["storeName"]
	op, st, version, err := ck.StateAt(ctx, int(opID), store, batchID)
	if err != nil && store == "default" && errors.Is(err, microbatch.ErrStateUnavailable) {
		// Spark calls an operator's main store "default"; sluice "".
		op, st, version, err = ck.StateAt(ctx, int(opID), "", batchID)
	}
	if err != nil {
		return nil, err
	}
	schema := stateStoreSchema(st)
	name := fmt.Sprintf("StateStore[%s, operator %d (%s), batch %d]", ck.Location(), op.ID, op.Name, version-1)
	if st.Name != "" {
		name = fmt.Sprintf("StateStore[%s, operator %d (%s), store %s, batch %d]", ck.Location(), op.ID, op.Name, st.Name, version-1)
	}
	storeName, nkeys := st.Name, st.Key.NumFields()
	rel := &plan.LocalRelation{Attrs: plan.AttrsOf(schema, ""), Name: name,
		Open: func(ctx context.Context, mem memory.Allocator) (array.RecordReader, error) {
			r, err := ck.OpenState(ctx, op.ID, mem)
			if err != nil {
				return nil, err
			}
			rr, err := r.ReadAll(ctx, storeName, version)
			if err != nil {
				return nil, err
			}
			return &kvReader{in: rr, schema: schema, nkeys: nkeys, refs: 1}, nil
		}}
	return &DataFrame{s: s, plan: rel}, nil
}

// stateStoreSchema is key struct, value struct, partition_id.
func stateStoreSchema(st microbatch.StateStoreInfo) *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "key", Type: arrow.StructOf(st.Key.Fields()...)},
		{Name: "value", Type: arrow.StructOf(st.Value.Fields()...)},
		{Name: "partition_id", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
}

// kvReader regroups the state reader's flat columns (keys, values,
// partition_id) into the key and value structs. The structs share the
// columns' buffers.
type kvReader struct {
	refs   int64
	in     array.RecordReader
	schema *arrow.Schema
	nkeys  int
	cur    arrow.RecordBatch
	err    error
}

func (k *kvReader) Retain() { atomic.AddInt64(&k.refs, 1) }

func (k *kvReader) Release() {
	if atomic.AddInt64(&k.refs, -1) == 0 {
		if k.cur != nil {
			k.cur.Release()
			k.cur = nil
		}
		k.in.Release()
	}
}

func (k *kvReader) Schema() *arrow.Schema          { return k.schema }
func (k *kvReader) Err() error                     { return k.err }
func (k *kvReader) RecordBatch() arrow.RecordBatch { return k.cur }

// Record is RecordBatch (the interface's deprecated name).
func (k *kvReader) Record() arrow.RecordBatch { return k.cur }

func (k *kvReader) Next() bool {
	if k.cur != nil {
		k.cur.Release()
		k.cur = nil
	}
	if k.err != nil || !k.in.Next() {
		if k.err == nil {
			k.err = k.in.Err()
		}
		return false
	}
	b := k.in.RecordBatch()
	cols := b.Columns()
	n := int(b.NumRows())
	last := len(cols) - 1
	key := structOf(k.schema.Field(0).Type, cols[:k.nkeys], n)
	val := structOf(k.schema.Field(1).Type, cols[k.nkeys:last], n)
	k.cur = array.NewRecordBatch(k.schema, []arrow.Array{key, val, cols[last]}, int64(n))
	key.Release()
	val.Release()
	return true
}

// structOf makes a struct array (no NULL rows) over cols.
func structOf(dt arrow.DataType, cols []arrow.Array, n int) arrow.Array {
	children := make([]arrow.ArrayData, len(cols))
	for i, c := range cols {
		children[i] = c.Data()
	}
	data := array.NewData(dt, n, []*memory.Buffer{nil}, children, 0, 0)
	defer data.Release()
	return array.MakeFromData(data)
}

// stateMetadataSchema is Spark's state-metadata schema (without its
// operatorProperties).
var stateMetadataSchema = arrow.NewSchema([]arrow.Field{
	{Name: "operatorId", Type: arrow.PrimitiveTypes.Int32},
	{Name: "operatorName", Type: arrow.BinaryTypes.String},
	{Name: "stateStoreName", Type: arrow.BinaryTypes.String},
	{Name: "numPartitions", Type: arrow.PrimitiveTypes.Int32},
	{Name: "minBatchId", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "maxBatchId", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
}, nil)

// readStateMetadata is format("state-metadata"): one row per operator
// and store, with the committed batches its state can be read at (NULL
// when none). The checkpoint is listed when the DataFrame runs.
func readStateMetadata(ctx context.Context, s *Session, o FormatOptions) (*DataFrame, error) {
	_, dir, err := stateOptions("state-metadata", o, []string{"path"})
	if err != nil {
		return nil, err
	}
	ck, err := microbatch.OpenCheckpointReader(ctx, dir)
	if err != nil {
		return nil, err
	}
	rel := &plan.LocalRelation{Attrs: plan.AttrsOf(stateMetadataSchema, ""), Name: "StateMetadata[" + ck.Location() + "]",
		Open: func(ctx context.Context, mem memory.Allocator) (array.RecordReader, error) {
			ops, err := ck.StateOperators(ctx)
			if err != nil {
				return nil, err
			}
			rec := stateMetadataBatch(mem, ops)
			defer rec.Release()
			return array.NewRecordReader(stateMetadataSchema, []arrow.RecordBatch{rec})
		}}
	return &DataFrame{s: s, plan: rel}, nil
}

func stateMetadataBatch(mem memory.Allocator, ops []microbatch.StateOperatorInfo) arrow.RecordBatch {
	sort.Slice(ops, func(i, j int) bool { return ops[i].ID < ops[j].ID })
	b := array.NewRecordBuilder(mem, stateMetadataSchema)
	defer b.Release()
	for _, op := range ops {
		for _, st := range op.Stores {
			b.Field(0).(*array.Int32Builder).Append(int32(op.ID))
			b.Field(1).(*array.StringBuilder).Append(op.Name)
			b.Field(2).(*array.StringBuilder).Append(st.Name)
			b.Field(3).(*array.Int32Builder).Append(int32(op.NumPartitions))
			for i, v := range []int64{st.MinBatchID, st.MaxBatchID} {
				if v < 0 {
					b.Field(4 + i).AppendNull()
				} else {
					b.Field(4 + i).(*array.Int64Builder).Append(v)
				}
			}
		}
	}
	return b.NewRecordBatch()
}
