package state

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/storage"
)

// Reader reads committed versions of one operator's state from a
// checkpoint, read-only and without a running query: the state data
// source (Spark 4's "statestore" format). It reads the files, never a
// running query's memory, so it can inspect a checkpoint a query is
// writing (versions that query has committed).
type Reader struct {
	fs       storage.FS
	stateDir string
	spec     OperatorSpec
	mem      memory.Allocator
}

// ReadBatchRows is the most rows per record batch a Reader returns.
const ReadBatchRows = 1 << 16

// PartitionColumn is the name of the partition column ReadAll appends.
const PartitionColumn = "partition_id"

// ListOperators returns the ids of the operators with state in stateDir,
// ascending.
func ListOperators(ctx context.Context, fsys storage.FS, stateDir string) ([]int, error) {
	infos, err := fsys.List(ctx, stateDir)
	if err != nil {
		return nil, fmt.Errorf("state: list %s: %w", stateDir, err)
	}
	var ids []int
	for _, fi := range infos {
		if id, err := strconv.Atoi(fi.Name); err == nil && fi.IsDir && id >= 0 && strconv.Itoa(id) == fi.Name {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// OpenReader reads the operator's _metadata. mem allocates the batches
// returned (nil: memory.DefaultAllocator).
func OpenReader(ctx context.Context, fsys storage.FS, stateDir string, operatorID int, mem memory.Allocator) (*Reader, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	p := metadataPath(stateDir, operatorID)
	data, err := fsys.ReadFile(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("state: operator %d: %w", operatorID, err)
	}
	spec, err := DecodeMetadata(p, data)
	if err != nil {
		return nil, err
	}
	return &Reader{fs: fsys, stateDir: stateDir, spec: spec, mem: mem}, nil
}

// Spec is the operator's spec as recorded in the checkpoint (partition
// count, stores, key and value schemas).
func (r *Reader) Spec() OperatorSpec { return r.spec }

// Schema is the schema of the batches Read returns for a store: the key
// columns then the value columns (key types with dictionaries decoded).
func (r *Reader) Schema(store string) (*arrow.Schema, error) {
	st, ok := r.spec.store(store)
	if !ok {
		return nil, fmt.Errorf("%w: operator %s has no store %q (it has %s)", ErrBadInput, r.spec.label(), store, storeNames(&r.spec))
	}
	fkeys, err := storedKeyTypes(schemaTypes(st.Key))
	if err != nil {
		return nil, err
	}
	var fields []arrow.Field
	for i, f := range st.Key.Fields() {
		f.Type, f.Nullable = fkeys[i], true
		fields = append(fields, f)
	}
	for _, f := range st.Value.Fields() {
		f.Nullable = true
		fields = append(fields, f)
	}
	return arrow.NewSchema(fields, nil), nil
}

// LatestVersion is the newest version of a partition's store that has a
// delta or snapshot file, 0 when none. A query's last version may not be
// committed yet (its batch's commit log entry is written after the state):
// the engine's commit log says which versions are.
func (r *Reader) LatestVersion(ctx context.Context, partition int, store string) (int64, error) {
	if err := r.check(partition, store); err != nil {
		return 0, err
	}
	vf, err := listVersions(ctx, r.fs, storeDir(r.stateDir, r.spec.ID, partition, store))
	if err != nil {
		return 0, err
	}
	latest := int64(0)
	for v := range vf.deltas {
		latest = max(latest, v)
	}
	for _, v := range vf.snaps {
		latest = max(latest, v)
	}
	return latest, nil
}

func (r *Reader) check(partition int, store string) error {
	if _, ok := r.spec.store(store); !ok {
		return fmt.Errorf("%w: operator %s has no store %q (it has %s)", ErrBadInput, r.spec.label(), store, storeNames(&r.spec))
	}
	if partition < 0 || partition >= r.spec.NumPartitions {
		return fmt.Errorf("%w: operator %s: partition %d out of range 0..%d", ErrBadInput, r.spec.label(), partition, r.spec.NumPartitions-1)
	}
	return nil
}

// Read returns the rows of a partition's store at version (the state
// after batch version-1): key columns then value columns, as Schema says,
// in batches of at most ReadBatchRows, in no particular order. The whole
// version is loaded into memory first. The caller releases the reader.
func (r *Reader) Read(ctx context.Context, partition int, store string, version int64) (array.RecordReader, error) {
	if err := r.check(partition, store); err != nil {
		return nil, err
	}
	schema, err := r.Schema(store)
	if err != nil {
		return nil, err
	}
	t, err := r.load(ctx, partition, store, version)
	if err != nil {
		return nil, err
	}
	return newTableReader(schema, t, r.mem, nil), nil
}

func (r *Reader) load(ctx context.Context, partition int, store string, version int64) (*table, error) {
	st, _ := r.spec.store(store)
	var ktypes, vtypes []arrow.DataType
	for _, f := range st.Key.Fields() {
		ktypes = append(ktypes, f.Type)
	}
	for _, f := range st.Value.Fields() {
		vtypes = append(vtypes, f.Type)
	}
	dir := storeDir(r.stateDir, r.spec.ID, partition, store)
	label := fmt.Sprintf("state of operator %s partition %d store %q", r.spec.label(), partition, store)
	vf, err := listVersions(ctx, r.fs, dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	base, err := vf.plan(version)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	hdr := fileHeader{operator: r.spec.ID, partition: partition, store: store}
	t, err := loadVersion(ctx, r.fs, dir, hdr, ktypes, vtypes, r.mem, base, version)
	if err != nil {
		return nil, fmt.Errorf("%s: version %d: %w", label, version, err)
	}
	return t, nil
}

// ReadAll reads a store at version across every partition, appending a
// partition_id (int32) column to Schema's. Partitions are loaded one at a
// time, as the reader reaches them.
func (r *Reader) ReadAll(ctx context.Context, store string, version int64) (array.RecordReader, error) {
	schema, err := r.Schema(store)
	if err != nil {
		return nil, err
	}
	fields := append(schema.Fields(), arrow.Field{Name: PartitionColumn, Type: arrow.PrimitiveTypes.Int32})
	return &allReader{r: r, ctx: ctx, store: store, version: version, schema: arrow.NewSchema(fields, nil), refs: 1}, nil
}

// tableReader iterates over the live rows of a table it owns.
type tableReader struct {
	refs   atomic.Int64
	schema *arrow.Schema
	t      *table
	mem    memory.Allocator
	extra  func(n int) arrow.Array // appended column, or nil
	pos    int
	cur    arrow.RecordBatch
	err    error
}

func newTableReader(schema *arrow.Schema, t *table, mem memory.Allocator, extra func(n int) arrow.Array) *tableReader {
	tr := &tableReader{schema: schema, t: t, mem: mem, extra: extra}
	tr.refs.Store(1)
	return tr
}

func (tr *tableReader) Retain() { tr.refs.Add(1) }

func (tr *tableReader) Release() {
	if tr.refs.Add(-1) == 0 {
		if tr.cur != nil {
			tr.cur.Release()
			tr.cur = nil
		}
		tr.t.release()
		tr.t = nil
	}
}

func (tr *tableReader) Schema() *arrow.Schema { return tr.schema }
func (tr *tableReader) Err() error            { return tr.err }

func (tr *tableReader) RecordBatch() arrow.RecordBatch { return tr.cur }

// Record is RecordBatch (the interface's deprecated name).
func (tr *tableReader) Record() arrow.RecordBatch { return tr.cur }

func (tr *tableReader) Next() bool {
	if tr.cur != nil {
		tr.cur.Release()
		tr.cur = nil
	}
	if tr.err != nil || tr.t == nil {
		return false
	}
	t := tr.t
	sel := make([]uint32, 0, min(ReadBatchRows, t.nlive))
	for tr.pos < t.n && len(sel) < ReadBatchRows {
		hi := min(t.n, tr.pos+ReadBatchRows-len(sel))
		sel = t.liveSlots(sel, tr.pos, hi)
		tr.pos = hi
	}
	if len(sel) == 0 {
		return false
	}
	cols, err := t.keys(tr.mem, sel)
	if err != nil {
		tr.err = err
		return false
	}
	vals, err := t.values(tr.mem, sel)
	if err != nil {
		releaseAll(cols)
		tr.err = err
		return false
	}
	cols = append(cols, vals...)
	if tr.extra != nil {
		cols = append(cols, tr.extra(len(sel)))
	}
	tr.cur = array.NewRecordBatch(tr.schema, cols, int64(len(sel)))
	releaseAll(cols)
	return true
}

// allReader chains the partitions' table readers.
type allReader struct {
	refs    int64
	r       *Reader
	ctx     context.Context
	store   string
	version int64
	schema  *arrow.Schema
	part    int
	cur     *tableReader
	err     error
}

func (a *allReader) Retain() { atomic.AddInt64(&a.refs, 1) }

func (a *allReader) Release() {
	if atomic.AddInt64(&a.refs, -1) == 0 && a.cur != nil {
		a.cur.Release()
		a.cur = nil
	}
}

func (a *allReader) Schema() *arrow.Schema { return a.schema }
func (a *allReader) Err() error            { return a.err }

func (a *allReader) RecordBatch() arrow.RecordBatch {
	if a.cur == nil {
		return nil
	}
	return a.cur.RecordBatch()
}

// Record is RecordBatch (the interface's deprecated name).
func (a *allReader) Record() arrow.RecordBatch { return a.RecordBatch() }

func (a *allReader) Next() bool {
	for a.err == nil {
		if a.cur != nil {
			if a.cur.Next() {
				return true
			}
			a.err = a.cur.Err()
			a.cur.Release()
			a.cur = nil
			a.part++
			continue
		}
		if a.part >= a.r.spec.NumPartitions {
			return false
		}
		t, err := a.r.load(a.ctx, a.part, a.store, a.version)
		if err != nil {
			a.err = err
			return false
		}
		part := int32(a.part)
		mem := a.r.mem
		a.cur = newTableReader(a.schema, t, mem, func(n int) arrow.Array {
			b := array.NewInt32Builder(mem)
			defer b.Release()
			b.Reserve(n)
			for range n {
				b.UnsafeAppend(part)
			}
			return b.NewArray()
		})
	}
	return false
}
