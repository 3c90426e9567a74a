package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/storage"
)

// The model test runs a store against a map oracle over many versions:
// random puts, first-writer inserts, deletes, evictions by scan, commits,
// aborts, loads of random versions, restarts, crashes of the Mem FS (also
// while snapshots are being written), failed and lost-acknowledgement
// delta writes with deterministic and non-deterministic replays, and
// purges. After every load and at the end, the store must equal the
// oracle's committed version; every version still kept must restore from
// the files alone.

type modelVariant struct {
	name string
	spec StoreSpec
	row  func(r *rand.Rand) string // one JSON row: keys then values
}

var modelVariants = []modelVariant{
	{
		name: "pair",
		spec: StoreSpec{
			Key: arrow.NewSchema([]arrow.Field{{Name: "user", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, {Name: "win", Type: arrow.PrimitiveTypes.Int64}}, nil),
			Value: arrow.NewSchema([]arrow.Field{{Name: "cnt", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
				{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true}}, nil),
		},
		row: func(r *rand.Rand) string {
			user := fmt.Sprint(r.IntN(40))
			if r.IntN(30) == 0 {
				user = "null"
			}
			cnt := fmt.Sprint(r.Int64N(1000) - 500)
			if r.IntN(8) == 0 {
				cnt = "null"
			}
			name := fmt.Sprintf("%q", strings.Repeat("x", r.IntN(20)))
			if r.IntN(8) == 0 {
				name = "null"
			}
			return fmt.Sprintf(`{"user": %s, "win": %d, "cnt": %s, "name": %s}`, user, r.IntN(6)*300, cnt, name)
		},
	},
	{
		name: "generic",
		spec: StoreSpec{
			Key: arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.BinaryTypes.String, Nullable: true},
				{Name: "p", Type: arrow.PrimitiveTypes.Int32}, {Name: "q", Type: arrow.FixedWidthTypes.Boolean}}, nil),
			Value: arrow.NewSchema([]arrow.Field{{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
				{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true}, {Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true}}, nil),
		},
		row: func(r *rand.Rand) string {
			k := fmt.Sprintf("%q", fmt.Sprint("key", r.IntN(30)))
			if r.IntN(30) == 0 {
				k = "null"
			}
			var l []string
			for range r.IntN(4) {
				l = append(l, fmt.Sprint(r.IntN(100)))
			}
			lst := "[" + strings.Join(l, ",") + "]"
			if r.IntN(6) == 0 {
				lst = "null"
			}
			f := fmt.Sprint(r.Float64())
			if r.IntN(6) == 0 {
				f = "null"
			}
			return fmt.Sprintf(`{"k": %s, "p": %d, "q": %v, "l": %s, "f": %s, "b": %v}`, k, r.IntN(5), r.IntN(2) == 0, lst, f, r.IntN(2) == 0)
		},
	},
}

// faults are the storage faults the model injects.
type faults struct {
	mu           sync.Mutex
	failDelta    bool // fail the next delta write before it happens
	loseDeltaAck bool // the next delta write happens but reports an error
	failSnapshot bool // fail snapshot writes
	slowSnapshot bool // sleep in every snapshot write, so crashes land mid-way
}

func (f *faults) hooks() storage.Hooks {
	return storage.Hooks{
		Before: func(op storage.Op, name string) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			if op == storage.OpWriteFile && strings.HasSuffix(name, ".delta") && f.failDelta {
				f.failDelta = false
				return storage.ErrInjected
			}
			if strings.HasSuffix(name, ".snapshot") && (op == storage.OpWrite || op == storage.OpClose) {
				if f.failSnapshot {
					return storage.ErrInjected
				}
				if f.slowSnapshot {
					time.Sleep(200 * time.Microsecond)
				}
			}
			return nil
		},
		After: func(op storage.Op, name string, err error) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			if op == storage.OpWriteFile && strings.HasSuffix(name, ".delta") && err == nil && f.loseDeltaAck {
				f.loseDeltaAck = false
				return errors.New("injected: acknowledgement lost")
			}
			return err
		},
	}
}

func (f *faults) set(fn func(f *faults)) {
	f.mu.Lock()
	fn(f)
	f.mu.Unlock()
}

// modelOp is one replayable change: a kind and its rows.
type modelOp struct {
	kind string // put, insert, delete, evict
	rows string // JSON rows
	salt uint32 // evict: which keys go
}

func TestModel(t *testing.T) {
	defer setSmall()()
	seeds := 8
	if testing.Short() {
		seeds = 3
	}
	for _, v := range modelVariants {
		for seed := uint64(1); seed <= uint64(seeds); seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", v.name, seed), func(t *testing.T) { runModel(t, v, seed) })
		}
	}
}

// setSmall makes chunks and compaction thresholds small, so that small
// tables exercise many snapshot chunks and compactions.
func setSmall() func() {
	cb, cd := captureBits, compactMinDead
	captureBits, compactMinDead = 3, 8
	return func() { captureBits, compactMinDead = cb, cd }
}

func runModel(t *testing.T, v modelVariant, seed uint64) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(seed, 42))
	fsys := storage.NewMem()
	var fl faults
	fsys.SetHooks(fl.hooks())
	spec := OperatorSpec{ID: 2, Name: "model", NumPartitions: 1, Stores: []StoreSpec{v.spec}}
	opts := Options{Mem: mem, SnapshotInterval: 1 + r.IntN(4)}
	if r.IntN(4) == 0 {
		opts.SnapshotInterval = -1
	}
	if r.IntN(2) == 0 {
		opts.OnReplayMismatch = ReplayKeepFile
	}

	committed := []map[string]string{{}} // by version
	minAvail := int64(0)                 // versions below were purged
	latest := func() int64 { return int64(len(committed) - 1) }

	var op *Operator
	var st *Store
	open := func(version int64) {
		t.Helper()
		var err error
		op, err = OpenOperator(ctx, fsys, "ckpt/state", spec, opts)
		must(t, err)
		st, err = op.Store(0, "")
		must(t, err)
		must(t, st.Load(ctx, version))
	}
	defer func() {
		if op != nil {
			op.Close()
		}
	}()
	open(0)
	cur := int64(0)
	work := map[string]string{}
	var pending []modelOp

	check := func(what string) {
		t.Helper()
		if got := dump(t, st); !maps.Equal(got, work) {
			t.Fatalf("%s: store at version %d (+%d pending ops):\n got %v\nwant %v", what, cur, len(pending), got, work)
		}
	}
	reset := func(version int64) {
		t.Helper()
		must(t, st.Load(ctx, version))
		cur, work, pending = version, maps.Clone(committed[version]), nil
		check(fmt.Sprintf("load %d", version))
	}
	apply := func(o modelOp) {
		t.Helper()
		applyOp(t, mem, st, v.spec, o, work)
	}
	randomOp := func() modelOp {
		n := r.IntN(12)
		if r.IntN(10) == 0 {
			n = 0
		}
		rows := make([]string, n)
		for i := range rows {
			rows[i] = v.row(r)
		}
		kinds := []string{"put", "put", "put", "setkeys", "insert", "delete", "evict"}
		return modelOp{kind: kinds[r.IntN(len(kinds))], rows: "[" + strings.Join(rows, ",") + "]", salt: r.Uint32()}
	}

	for step := 0; step < 250; step++ {
		switch c := r.IntN(24); {
		case c < 11:
			o := randomOp()
			apply(o)
			pending = append(pending, o)
		case c < 15: // commit
			switch r.IntN(8) {
			case 0: // the write fails before it happens
				fl.set(func(f *faults) { f.failDelta = true })
				if _, err := st.Commit(ctx); err == nil {
					t.Fatal("commit succeeded despite a failed delta write")
				}
				st.Abort()
				reset(cur)
			case 1: // written, acknowledgement lost: the batch is re-run
				fl.set(func(f *faults) { f.loseDeltaAck = true })
				written := maps.Clone(work)
				if _, err := st.Commit(ctx); err == nil {
					t.Fatal("commit succeeded despite a lost acknowledgement")
				}
				st.Abort()
				ops := pending
				reset(cur)
				if r.IntN(2) == 0 { // a non-deterministic re-run
					for _, o := range ops {
						apply(o)
					}
					apply(modelOp{kind: "put", rows: conflictRow(v.name)})
					ver, err := st.Commit(ctx)
					if opts.OnReplayMismatch == ReplayKeepFile {
						// the first run's file wins
						must(t, err)
						committed = append(committed, written)
						cur, work, pending = ver, maps.Clone(written), nil
						check("kept the first run's delta")
						if st.Metrics().ReplayMismatches == 0 {
							t.Fatal("replay mismatch not counted")
						}
						break
					}
					if !errors.Is(err, ErrDeltaConflict) {
						t.Fatalf("different re-run: want ErrDeltaConflict, got %v", err)
					}
					st.Abort()
					reset(cur)
				}
				for _, o := range ops {
					apply(o)
				}
				fallthrough
			default:
				fl.set(func(f *faults) { f.failDelta, f.loseDeltaAck = false, false })
				ver, err := st.Commit(ctx)
				must(t, err)
				if ver != cur+1 || ver != latest()+1 {
					t.Fatalf("commit returned %d after %d (latest %d)", ver, cur, latest())
				}
				committed = append(committed, maps.Clone(work))
				cur, pending = ver, nil
				if r.IntN(4) == 0 { // crash right after, likely during the snapshot
					fl.set(func(f *faults) { f.slowSnapshot = true })
					time.Sleep(time.Duration(r.IntN(300)) * time.Microsecond)
					fsys.Crash()
					fl.set(func(f *faults) { f.slowSnapshot = false })
					op.Close()
					open(latest())
					cur, work = latest(), maps.Clone(committed[latest()])
					check("crash after commit")
				}
			}
		case c < 16:
			st.Abort()
			reset(cur)
		case c < 18: // read a random committed version, then go back to the
			// latest (committing on an older version would rewrite history,
			// which the store refuses: see the lost-acknowledgement case)
			ver := minAvail + r.Int64N(latest()-minAvail+1)
			reset(ver)
			reset(latest())
		case c < 19: // restart
			op.Close()
			open(latest())
			cur, work, pending = latest(), maps.Clone(committed[latest()]), nil
			check("restart")
		case c < 20: // crash with pending changes
			fsys.Crash()
			op.Close()
			open(latest())
			cur, work, pending = latest(), maps.Clone(committed[latest()]), nil
			check("crash")
		case c < 21:
			fl.set(func(f *faults) { f.failSnapshot = r.IntN(2) == 0 })
		case c < 22: // purge, keeping the last few versions restorable
			keep := latest() - int64(r.IntN(5))
			if keep > minAvail {
				must(t, op.Purge(ctx, keep))
				minAvail = keep
				if cur < minAvail {
					reset(latest())
				}
			}
		default:
			check("check")
		}
		if t.Failed() {
			return
		}
	}
	fl.set(func(f *faults) { f.failSnapshot = false })
	must(t, st.Flush(ctx))
	op.Close()
	op = nil
	// Every kept version restores from the files alone.
	for ver := minAvail; ver <= latest(); ver++ {
		func() {
			o, err := OpenOperator(ctx, fsys, "ckpt/state", spec, Options{Mem: mem})
			must(t, err)
			defer o.Close()
			s, err := o.Store(0, "")
			must(t, err)
			must(t, s.Load(ctx, ver))
			if got := dump(t, s); !maps.Equal(got, committed[ver]) {
				t.Fatalf("restore of version %d:\n got %v\nwant %v", ver, got, committed[ver])
			}
		}()
	}
}

// conflictRow is a row no generator makes.
func conflictRow(variant string) string {
	if variant == "pair" {
		return `[{"user": 99999, "win": 1, "cnt": 1, "name": "c"}]`
	}
	return `[{"k": "conflict", "p": 99, "q": true, "l": [], "f": 1, "b": true}]`
}

// applyOp applies o to the store and to the oracle map.
func applyOp(t *testing.T, mem memory.Allocator, st *Store, spec StoreSpec, o modelOp, work map[string]string) {
	t.Helper()
	rec := mustRecord(t, mem, spec, o.rows)
	defer rec.Release()
	nk := spec.Key.NumFields()
	cols := rec.Columns()
	keys, vals := cols[:nk], cols[nk:]
	n := int(rec.NumRows())
	switch o.kind {
	case "put":
		must(t, st.Put(keys, vals))
		for i := range n {
			work[rowString(keys, i)] = rowString(vals, i)
		}
	case "setkeys": // an aggregation's update: Set and Keys of distinct slots, rows kept for the delta
		slots := make([]uint32, n)
		_, err := st.Insert(keys, slots, nil)
		must(t, err)
		last := map[uint32]int{}
		for i, sl := range slots {
			last[sl] = i
		}
		var raw []json.RawMessage
		must(t, json.Unmarshal([]byte(o.rows), &raw))
		var sel []uint32
		sub := []json.RawMessage{}
		var rows []int
		for i, sl := range slots {
			if last[sl] == i {
				sel, sub, rows = append(sel, sl), append(sub, raw[i]), append(rows, i)
			}
		}
		js, err := json.Marshal(sub)
		must(t, err)
		subRec := mustRecord(t, mem, spec, string(js))
		defer subRec.Release()
		got, err := st.SetAndKeys(mem, sel, subRec.Columns()[nk:])
		must(t, err)
		defer releaseAll(got)
		for j, i := range rows {
			if g, w := rowString(got, j), rowString(keys, i); g != w {
				t.Fatalf("setkeys: key %d is %s, want %s", j, g, w)
			}
			work[rowString(keys, i)] = rowString(subRec.Columns()[nk:], j)
		}
	case "insert": // first writer wins, as dropDuplicates keeps the first row
		slots := make([]uint32, n)
		created := make([]bool, n)
		_, err := st.Insert(keys, slots, created)
		must(t, err)
		for i := range slots {
			if !created[i] {
				slots[i] = NoSlot
			}
		}
		must(t, st.Set(slots, vals))
		for i := range n {
			if created[i] != !has(work, rowString(keys, i)) {
				t.Fatalf("insert: created[%d] = %v for key %s", i, created[i], rowString(keys, i))
			}
			if created[i] {
				work[rowString(keys, i)] = rowString(vals, i)
			}
		}
	case "delete":
		_, err := st.Delete(keys)
		must(t, err)
		for i := range n {
			delete(work, rowString(keys, i))
		}
	case "evict": // remove the keys chosen by salt, found by a scan
		must(t, st.Scan(nil, 7, func(slots []uint32, keys, _ []arrow.Array) error {
			var sel []uint32
			for i, sl := range slots {
				if evicted(rowString(keys, i), o.salt) {
					sel = append(sel, sl)
				}
			}
			_, err := st.Remove(sel)
			return err
		}))
		for k := range work {
			if evicted(k, o.salt) {
				delete(work, k)
			}
		}
	}
	// Lookup agrees with the oracle for these keys.
	vs, slots, err := st.Get(mem, keys)
	must(t, err)
	defer releaseAll(vs)
	for i := range n {
		want, ok := work[rowString(keys, i)]
		if ok != (slots[i] != NoSlot) || ok && rowString(vs, i) != want {
			t.Fatalf("%s: get %s = slot %d %s, oracle %v %q", o.kind, rowString(keys, i), slots[i], rowString(vs, i), ok, want)
		}
	}
}

func has(m map[string]string, k string) bool { _, ok := m[k]; return ok }

func evicted(key string, salt uint32) bool {
	h := fnv.New32a()
	h.Write([]byte(key))
	return (h.Sum32()^salt)%4 == 0
}
