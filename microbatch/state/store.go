package state

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/hashtab"
	"github.com/sluicehq/sluice/internal/storage"
)

// Store is the state of one (operator, partition, store name): a keyed
// table of Arrow key columns -> value columns, kept in memory across
// batches, versioned and checkpointed.
//
// Lifecycle: Load(v) makes version v the base (no file is read when v is
// the version in memory, the common case of one batch after another);
// the data calls change it; Commit writes the changes as version v+1 and
// keeps the table in memory for the next batch; Abort drops the changes
// (the next Load reads the files again). Load while changes are pending
// drops them too.
//
// Data calls take key or value columns of the store's types, all of one
// length, possibly sliced, with NULLs; they never retain them. Slots
// passed in must come from this store since the last Commit, Abort or
// Load. On an error from a call that changes the state the pending changes
// may be half applied: Abort.
//
// A Store is used by one goroutine at a time.
type Store struct {
	fs    storage.FS
	dir   string
	op    *OperatorSpec
	spec  StoreSpec
	part  int
	opts  Options
	mem   memory.Allocator
	clock Clock

	ktypes []arrow.DataType // as declared
	fkeys  []arrow.DataType // as stored and returned (dictionaries decoded)
	vtypes []arrow.DataType

	bg     context.Context // for background snapshots; cancelled by Close
	cancel context.CancelFunc

	mu       sync.Mutex
	t        *table // nil: nothing loaded
	version  int64
	dirty    bool
	changed  bitset   // slots changed since the base version
	wasLive  bitset   // of those, the ones live in the base version
	changes  []uint32 // changed slots, in first-change order
	scanning int
	snap     *snapJob
	lastSnap int64 // newest snapshot version known (0: none)
	closed   bool
	m        Metrics
	cache    rowCache // rows of this version's update, for its delta
	timeBuf  []int64  // event times of an Insert's rows
	created  []int    // rows an Insert added
}

func newStore(fsys storage.FS, stateDir string, op *OperatorSpec, spec *StoreSpec, partition int, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	s := &Store{
		fs: fsys, dir: storeDir(stateDir, op.ID, partition, spec.Name),
		op: op, spec: *spec, part: partition, opts: opts, mem: opts.Mem, clock: opts.Clock,
		version: -1,
	}
	for _, f := range spec.Key.Fields() {
		s.ktypes = append(s.ktypes, f.Type)
	}
	for _, f := range spec.Value.Fields() {
		s.vtypes = append(s.vtypes, f.Type)
	}
	fkeys, err := storedKeyTypes(s.ktypes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.label(), err)
	}
	s.fkeys = fkeys
	s.bg, s.cancel = context.WithCancel(context.Background())
	s.m.Version = -1
	return s, nil
}

// storedKeyTypes is the types keys are stored and returned in: the
// declared ones with dictionaries (also nested) decoded. It fails for a
// type the hash table cannot group on.
func storedKeyTypes(ktypes []arrow.DataType) ([]arrow.DataType, error) {
	g, err := hashtab.New(ktypes, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	defer g.Release()
	return g.KeyTypes(), nil
}

// label names the store in messages.
func (s *Store) label() string {
	l := fmt.Sprintf("state store of operator %s partition %d", s.op.label(), s.part)
	if s.spec.Name != "" {
		l += fmt.Sprintf(" store %q", s.spec.Name)
	}
	return l
}

// Partition is the store's shuffle partition.
func (s *Store) Partition() int { return s.part }

// Spec is the store's key/value shape.
func (s *Store) Spec() StoreSpec { return s.spec }

// Version is the loaded version, or -1 when none is loaded.
func (s *Store) Version() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.t == nil {
		return -1
	}
	return s.version
}

func (s *Store) now() time.Time {
	if s.clock == nil {
		return time.Time{}
	}
	return s.clock.Now()
}

func (s *Store) loadedLocked() (*table, error) {
	if s.closed {
		return nil, fmt.Errorf("%w: %s", ErrClosed, s.label())
	}
	if s.t == nil {
		return nil, fmt.Errorf("%w: %s: call Load(version) first (after Abort, Load again)", ErrNotLoaded, s.label())
	}
	return s.t, nil
}

// Load makes version v (the state after batch v-1) the store's base.
// When v is the version in memory and no changes are pending it reads
// nothing; otherwise it drops the table and restores v from the newest
// snapshot at or below v and the deltas after it.
func (s *Store) Load(ctx context.Context, v int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("%w: %s", ErrClosed, s.label())
	}
	if s.scanning > 0 {
		return fmt.Errorf("%w: %s: Load during Scan", ErrBadInput, s.label())
	}
	if v < 0 {
		return fmt.Errorf("%w: %s: version %d is negative", ErrBadInput, s.label(), v)
	}
	if s.t != nil && s.version == v && !s.dirty {
		return nil
	}
	s.dropLocked()
	t0 := s.now()
	t, lastSnap, err := s.restore(ctx, v)
	if err != nil {
		return err
	}
	s.t, s.version, s.lastSnap = t, v, lastSnap
	s.changed.grow(t.n)
	s.wasLive.grow(t.n)
	s.m.Restores++
	s.m.RestoreTimeMs = s.now().Sub(t0).Milliseconds()
	s.m.Version = v
	s.m.NumRowsTotal = int64(t.nlive)
	s.m.SnapshotVersion = max(s.m.SnapshotVersion, lastSnap)
	return nil
}

// dropLocked forgets the table and any pending changes, stopping a
// snapshot being written from it.
func (s *Store) dropLocked() {
	if j := s.snap; j != nil {
		s.stopSnapshotLocked(j, errSnapshotCancelled)
	}
	s.cache.drop()
	s.t.release()
	s.t, s.version, s.dirty = nil, -1, false
	s.changed, s.wasLive, s.changes = nil, nil, nil
	s.m.Version = -1
}

// Abort drops the changes made since Load or the last Commit. With none
// pending the table stays loaded; otherwise the store has no version
// loaded until the next Load, which reads the files.
func (s *Store) Abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dirty {
		s.dropLocked()
	}
}

// growBits sizes the change bitmaps to the table's slots.
func (s *Store) growBits() {
	s.changed.grow(s.t.n)
	s.wasLive.grow(s.t.n)
}

// markChanged records that slot sl changes in this version, and whether
// it was a row of the base version (before the change).
func (s *Store) markChanged(sl uint32) {
	if s.changed.get(sl) {
		return
	}
	s.changed.set(sl)
	if s.t.live.get(sl) {
		s.wasLive.set(sl)
	}
	s.changes = append(s.changes, sl)
}

func (s *Store) checkSlots(slots []uint32, allowNoSlot bool) error {
	n := uint32(s.t.n)
	for i, sl := range slots {
		if sl == NoSlot && allowNoSlot {
			continue
		}
		if sl >= n {
			return fmt.Errorf("%w: %s: slot %d (row %d) out of range (the store has %d slots); slots are only valid until Commit, Abort or Load", ErrBadInput, s.label(), sl, i, n)
		}
	}
	return nil
}

// Lookup writes to slots[i] the slot of key row i, or NoSlot when the key
// is not in the state. It changes nothing.
func (s *Store) Lookup(keys []arrow.Array, slots []uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.loadedLocked()
	if err != nil {
		return err
	}
	if err := t.lookup(keys, slots); err != nil {
		return fmt.Errorf("%s: lookup: %w", s.label(), err)
	}
	return nil
}

// Insert writes to slots[i] the slot of key row i, adding the keys that
// are not in the state with all-NULL values. created, when not nil (same
// length as slots), reports the rows whose key this call added; the count
// of those is returned. A key repeated in the columns is added once (at
// its first row). dropDuplicates keeps exactly the created rows.
func (s *Store) Insert(keys []arrow.Array, slots []uint32, created []bool) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.loadedLocked()
	if err != nil {
		return 0, err
	}
	if created != nil && len(created) != len(slots) {
		return 0, fmt.Errorf("%w: %s: created has %d entries for %d slots", ErrBadInput, s.label(), len(created), len(slots))
	}
	before := t.n
	err = t.insert(keys, slots)
	s.growBits()
	if err != nil {
		return 0, fmt.Errorf("%s: insert: %w", s.label(), err)
	}
	s.created = s.created[:0]
	for i, sl := range slots {
		if t.live.get(sl) {
			if created != nil {
				created[i] = false
			}
			continue
		}
		if int(sl) < before {
			s.beforeWrite(sl)
		}
		s.uncache(sl)
		s.markChanged(sl)
		t.revive(sl)
		if created != nil {
			created[i] = true
		}
		s.created = append(s.created, i)
	}
	n := len(s.created)
	if n > 0 {
		s.dirty = true
		if t.times != nil {
			if err := s.setTimes(keys, slots, s.created); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// Set writes value row i to slot slots[i] (NoSlot rows are skipped). The
// slots must be rows of the state (from Lookup or Insert); a slot listed
// twice takes its last row. values are the value columns, of the store's
// types, each len(slots) long.
func (s *Store) Set(slots []uint32, values []arrow.Array) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.loadedLocked()
	if err != nil {
		return err
	}
	if err := s.checkValues(values, len(slots)); err != nil {
		return err
	}
	if err := s.checkSlots(slots, true); err != nil {
		return err
	}
	for i, sl := range slots {
		if sl != NoSlot && !t.live.get(sl) {
			return fmt.Errorf("%w: %s: slot %d (row %d) is not a row of the state (it was removed); Insert its key again first", ErrBadInput, s.label(), sl, i)
		}
	}
	for _, sl := range slots {
		if sl != NoSlot {
			s.beforeWrite(sl)
			s.uncache(sl)
			s.markChanged(sl)
		}
	}
	s.dirty = true
	if err := t.setValues(slots, values); err != nil {
		return fmt.Errorf("%s: set: %w", s.label(), err)
	}
	return nil
}

func (s *Store) checkValues(values []arrow.Array, n int) error {
	if len(values) != len(s.vtypes) {
		return fmt.Errorf("%w: %s: %d value columns given, the store has %d (%s)", ErrBadInput, s.label(), len(values), len(s.vtypes), describe(s.spec.Value))
	}
	for i, v := range values {
		if v == nil {
			return fmt.Errorf("%w: %s: value column %d is nil", ErrBadInput, s.label(), i)
		}
		if !arrow.TypeEqual(v.DataType(), s.vtypes[i]) {
			return fmt.Errorf("%w: %s: value column %d %q has type %s, the store's is %s", ErrBadInput, s.label(), i, s.spec.Value.Field(i).Name, v.DataType(), s.vtypes[i])
		}
		if v.Len() != n {
			return fmt.Errorf("%w: %s: value column %d has %d rows for %d slots", ErrBadInput, s.label(), i, v.Len(), n)
		}
	}
	return nil
}

// Remove deletes the rows of the given slots from the state; NoSlot and
// slots already removed are skipped. It returns how many rows it removed.
// Removed slots stay valid (their values read as NULL) until Commit.
func (s *Store) Remove(slots []uint32) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.loadedLocked()
	if err != nil {
		return 0, err
	}
	if err := s.checkSlots(slots, true); err != nil {
		return 0, err
	}
	n := 0
	for _, sl := range slots {
		if sl == NoSlot || !t.live.get(sl) {
			continue
		}
		s.beforeWrite(sl)
		s.uncache(sl)
		s.markChanged(sl)
		t.kill(sl)
		n++
	}
	if n > 0 {
		s.dirty = true
	}
	return n, nil
}

// Keys returns the key columns of the slots (no NoSlot), in the key
// types (a dictionary key type comes back as its value type). mem nil
// means the store's allocator; the caller releases the arrays.
func (s *Store) Keys(mem memory.Allocator, slots []uint32) ([]arrow.Array, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.loadedLocked()
	if err != nil {
		return nil, err
	}
	if err := s.checkSlots(slots, false); err != nil {
		return nil, err
	}
	return t.keys(s.alloc(mem), slots)
}

// Values returns the value columns of the slots: NULL for NoSlot and
// for removed slots. mem nil means the store's allocator; the caller
// releases the arrays.
func (s *Store) Values(mem memory.Allocator, slots []uint32) ([]arrow.Array, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.loadedLocked()
	if err != nil {
		return nil, err
	}
	if err := s.checkSlots(slots, true); err != nil {
		return nil, err
	}
	return t.values(s.alloc(mem), slots)
}

func (s *Store) alloc(mem memory.Allocator) memory.Allocator {
	if mem == nil {
		return s.mem
	}
	return mem
}

// Put sets the values of key rows, adding the keys that are not in the
// state. A key repeated in the columns takes its last row's values.
func (s *Store) Put(keys, values []arrow.Array) error {
	n := 0
	if len(keys) > 0 && keys[0] != nil {
		n = keys[0].Len()
	}
	slots := make([]uint32, n)
	if _, err := s.Insert(keys, slots, nil); err != nil {
		return err
	}
	return s.Set(slots, values)
}

// Get returns the value columns of key rows (NULL where the key is not
// in the state) and the rows' slots (NoSlot for those).
func (s *Store) Get(mem memory.Allocator, keys []arrow.Array) (values []arrow.Array, slots []uint32, err error) {
	n := 0
	if len(keys) > 0 && keys[0] != nil {
		n = keys[0].Len()
	}
	slots = make([]uint32, n)
	if err := s.Lookup(keys, slots); err != nil {
		return nil, nil, err
	}
	values, err = s.Values(mem, slots)
	if err != nil {
		return nil, nil, err
	}
	return values, slots, nil
}

// Delete removes key rows from the state (keys not in it are ignored) and
// returns how many rows it removed.
func (s *Store) Delete(keys []arrow.Array) (int, error) {
	n := 0
	if len(keys) > 0 && keys[0] != nil {
		n = keys[0].Len()
	}
	slots := make([]uint32, n)
	if err := s.Lookup(keys, slots); err != nil {
		return 0, err
	}
	return s.Remove(slots)
}

// Len is the number of keys in the state, pending changes included.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.t == nil {
		return 0
	}
	return s.t.nlive
}

// Reserve sizes the hash table for n keys in total, so that growing to n
// keys does not rehash.
func (s *Store) Reserve(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.t != nil && n > 0 {
		s.t.g.Reserve(n)
	}
}

// Scan calls fn with the rows of the state, at most batchRows at a time
// (default 65536 when <= 0), in slot order: their slots, key columns and
// value columns (owned by Scan and released when fn returns; Retain to
// keep them). fn may Remove or Set the rows it is given, or any other
// (eviction by watermark: compute a mask over the keys or values, Remove
// the selected slots); rows inserted during the scan may or may not be
// visited. Commit and Load fail inside fn; Abort there ends the scan with
// ErrNotLoaded. An error from fn stops
// the scan and is returned.
func (s *Store) Scan(mem memory.Allocator, batchRows int, fn func(slots []uint32, keys, values []arrow.Array) error) error {
	if batchRows <= 0 {
		batchRows = 1 << 16
	}
	s.mu.Lock()
	if _, err := s.loadedLocked(); err != nil {
		s.mu.Unlock()
		return err
	}
	s.scanning++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.scanning--
		s.mu.Unlock()
	}()
	mem = s.alloc(mem)
	pos := 0
	for {
		s.mu.Lock()
		t, err := s.loadedLocked()
		if err != nil {
			s.mu.Unlock()
			return err
		}
		sel := make([]uint32, 0, min(batchRows, t.nlive+1))
		for pos < t.n && len(sel) < batchRows {
			hi := min(t.n, pos+batchRows-len(sel))
			sel = t.liveSlots(sel, pos, hi)
			pos = hi
		}
		if len(sel) == 0 {
			s.mu.Unlock()
			return nil
		}
		keys, err := t.keys(mem, sel)
		if err != nil {
			s.mu.Unlock()
			return err
		}
		vals, err := t.values(mem, sel)
		s.mu.Unlock()
		if err != nil {
			releaseAll(keys)
			return err
		}
		err = fn(sel, keys, vals)
		releaseAll(keys)
		releaseAll(vals)
		if err != nil {
			return err
		}
	}
}

// Metrics reports the store's state and its last commit.
func (s *Store) Metrics() Metrics {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.m
	if s.t != nil {
		m.NumRowsTotal = int64(s.t.nlive)
		m.MemoryUsedBytes = s.t.memoryBytes() + s.changed.memoryBytes() + s.wasLive.memoryBytes() + int64(cap(s.changes))*4
	} else {
		m.NumRowsTotal, m.MemoryUsedBytes = 0, 0
	}
	return m
}

// Flush waits until no snapshot is being written (tests, a graceful
// stop that wants the next start to read fewer deltas).
func (s *Store) Flush(ctx context.Context) error {
	for {
		s.mu.Lock()
		j := s.snap
		s.mu.Unlock()
		if j == nil {
			return nil
		}
		select {
		case <-j.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close drops the table and pending changes, abandons a snapshot being
// written (harmless) and waits for its goroutine. The store cannot be
// used afterwards.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	j := s.snap
	s.dropLocked()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	if j != nil {
		<-j.done
	}
	return nil
}

// Purge deletes the store's files that restoring versions >= minVersion
// does not need: snapshots older than the newest snapshot at or below
// minVersion, and the deltas up to that snapshot. Removal need not be
// durable (a reappearing old file is harmless).
func (s *Store) Purge(ctx context.Context, minVersion int64) error {
	return purgeDir(ctx, s.fs, s.dir, minVersion)
}

var errSnapshotCancelled = errors.New("state: snapshot cancelled")
