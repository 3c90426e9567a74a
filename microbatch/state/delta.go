package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/storage"
)

// deltaChunk is the most rows per record batch of a delta file.
const deltaChunk = 1 << 16

// compactMinDead is the fewest dead slots worth a compaction; above it a
// commit compacts once the dead slots outnumber the live ones, so each
// compaction (which costs the live keys) follows at least as many removals.
var compactMinDead = 1 << 12

func deltaName(dir string, v int64) string {
	return path.Join(dir, strconv.FormatInt(v, 10)+".delta")
}

func snapshotName(dir string, v int64) string {
	return path.Join(dir, strconv.FormatInt(v, 10)+".snapshot")
}

func (s *Store) header(kind string, v int64) fileHeader {
	return fileHeader{kind: kind, version: v, operator: s.op.ID, partition: s.part, store: s.spec.Name}
}

// fileSchema is the schema of a snapshot (keys ++ values) or delta
// (++ __removed) of version v. Key types are the table's (dictionaries
// decoded); every column is nullable.
func (s *Store) fileSchema(kind string, v int64) *arrow.Schema {
	var fields []arrow.Field
	ktypes := s.fileKeyTypes()
	for i, f := range s.spec.Key.Fields() {
		fields = append(fields, arrow.Field{Name: f.Name, Type: ktypes[i], Nullable: true})
	}
	for _, f := range s.spec.Value.Fields() {
		fields = append(fields, arrow.Field{Name: f.Name, Type: f.Type, Nullable: true})
	}
	if kind == kindDelta {
		fields = append(fields, arrow.Field{Name: removedCol, Type: arrow.FixedWidthTypes.Boolean})
	}
	md := s.header(kind, v).metadata()
	return arrow.NewSchema(fields, &md)
}

func (s *Store) fileKeyTypes() []arrow.DataType { return s.fkeys }

func (s *Store) fileTypes(kind string) []arrow.DataType {
	out := append(s.fileKeyTypes(), s.vtypes...)
	if kind == kindDelta {
		out = append(out, arrow.FixedWidthTypes.Boolean)
	}
	return out
}

// Commit writes the changes since Load (or the last Commit) as the next
// version's delta file and returns that version. Its cost is that of the
// changed keys. When a snapshot is due it starts one in the background;
// Commit never waits for it. It may compact the table (renumbering
// slots). On error nothing is committed: Abort, or retry Commit.
//
// If the delta file already exists (a batch re-run after a crash), the
// commit succeeds when the file holds exactly these changes, and fails
// with ErrDeltaConflict otherwise.
func (s *Store) Commit(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.loadedLocked()
	if err != nil {
		return 0, err
	}
	if s.scanning > 0 {
		return 0, fmt.Errorf("%w: %s: Commit during Scan", ErrBadInput, s.label())
	}
	t0 := s.now()
	v := s.version + 1
	sel := make([]uint32, 0, len(s.changes))
	var puts, removes int64
	for _, sl := range s.changes {
		switch {
		case t.live.get(sl):
			sel = append(sel, sl)
			puts++
		case s.wasLive.get(sl):
			sel = append(sel, sl)
			removes++
		}
	}
	data, err := s.encodeDelta(v, sel)
	s.cache.drop()
	if err != nil {
		return 0, fmt.Errorf("%s: commit version %d: %w", s.label(), v, err)
	}
	name := deltaName(s.dir, v)
	err = s.fs.WriteFile(ctx, name, data, storage.WriteOptions{CreateIfAbsent: true})
	if errors.Is(err, storage.ErrExist) {
		err = s.verifyExisting(ctx, name, v, sel)
		if errors.Is(err, ErrDeltaConflict) && s.opts.OnReplayMismatch == ReplayKeepFile {
			return s.adoptLocked(ctx, v, t0)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("%s: commit version %d: %w", s.label(), v, err)
	}
	for _, sl := range s.changes {
		s.changed.clear(sl)
		s.wasLive.clear(sl)
	}
	s.changes = s.changes[:0]
	s.version, s.dirty = v, false
	s.m.Version = v
	s.m.NumRowsUpdated, s.m.NumRowsRemoved = puts, removes
	s.m.CommitBytes = int64(len(data))
	s.maintainLocked(v)
	s.m.CommitTimeMs = s.now().Sub(t0).Milliseconds()
	return v, nil
}

// adoptLocked replaces the table by version v as its files say (the
// first run's delta wins over this re-run's changes).
func (s *Store) adoptLocked(ctx context.Context, v int64, t0 time.Time) (int64, error) {
	s.dropLocked()
	t, lastSnap, err := s.restore(ctx, v)
	if err != nil {
		return 0, fmt.Errorf("%s: commit version %d: keep the existing delta: %w", s.label(), v, err)
	}
	s.t, s.version, s.lastSnap = t, v, lastSnap
	s.growBits()
	s.m.ReplayMismatches++
	s.m.Restores++
	s.m.Version = v
	s.m.NumRowsUpdated, s.m.NumRowsRemoved, s.m.CommitBytes = 0, 0, 0
	s.m.CommitTimeMs = s.now().Sub(t0).Milliseconds()
	return v, nil
}

// maintainLocked compacts the table when removals have left it mostly
// dead, and starts a snapshot when one is due. Both wait while a snapshot
// is being written (compaction would renumber the slots it reads).
func (s *Store) maintainLocked(v int64) {
	if s.snap != nil {
		return
	}
	t := s.t
	if d := t.dead(); d >= compactMinDead && d >= t.nlive {
		if err := t.compact(); err != nil {
			// The table may be inconsistent: drop it; the next Load
			// restores the committed version from its files.
			s.dropLocked()
			return
		}
		s.changed, s.wasLive = nil, nil
		s.growBits()
	}
	if iv := s.opts.SnapshotInterval; iv > 0 && v-s.lastSnap >= int64(iv) {
		s.startSnapshotLocked(v)
	}
}

// encodeDelta renders the delta file of version v: the key, values and
// removed flag of each slot in sel.
func (s *Store) encodeDelta(v int64, sel []uint32) ([]byte, error) {
	schema := s.fileSchema(kindDelta, v)
	var buf bytes.Buffer
	fw, err := newFileWriter(&buf, schema, s.mem)
	if err != nil {
		return nil, err
	}
	write := func(sel []uint32) error {
		rec, err := s.deltaBatch(schema, sel)
		if err != nil {
			return err
		}
		defer rec.Release()
		return fw.write(rec)
	}
	if !s.cache.empty() {
		rest, err := s.writeCached(fw, schema, sel)
		if err != nil {
			fw.abandon()
			return nil, err
		}
		if len(rest) == 0 && len(sel) > 0 {
			if err := fw.close(); err != nil {
				return nil, err
			}
			return buf.Bytes(), nil
		}
		sel = rest
	}
	for lo := 0; lo < len(sel); lo += deltaChunk {
		if err := write(sel[lo:min(lo+deltaChunk, len(sel))]); err != nil {
			fw.abandon()
			return nil, err
		}
	}
	if len(sel) == 0 {
		// an empty delta still carries the schema, so it is a valid file
		if err := write(sel); err != nil {
			fw.abandon()
			return nil, err
		}
	}
	if err := fw.close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// deltaBatch gathers the keys, values and removed flags of slots.
func (s *Store) deltaBatch(schema *arrow.Schema, sel []uint32) (arrow.RecordBatch, error) {
	t := s.t
	cols, err := t.keys(s.mem, sel)
	if err != nil {
		return nil, err
	}
	vals, err := t.values(s.mem, sel)
	if err != nil {
		releaseAll(cols)
		return nil, err
	}
	cols = append(cols, vals...)
	cols = append(cols, removedFlags(s.mem, t, sel))
	defer releaseAll(cols)
	return array.NewRecordBatch(schema, cols, int64(len(sel))), nil
}

// removedFlags is true for the slots of sel that are not live.
func removedFlags(mem memory.Allocator, t *table, sel []uint32) arrow.Array {
	vb := newValidity(mem, len(sel))
	bits := vb.Bytes()
	for i, sl := range sel {
		if !t.live.get(sl) {
			bitutil.SetBit(bits, i)
		}
	}
	return makeArray(arrow.FixedWidthTypes.Boolean, len(sel), []*memory.Buffer{nil, vb}, 0)
}

// verifyExisting checks that the existing delta file of version v holds
// exactly the changes of sel: every key once, the same removals, equal
// values (NaN equal to NaN).
func (s *Store) verifyExisting(ctx context.Context, name string, v int64, sel []uint32) error {
	data, err := s.fs.ReadFile(ctx, name)
	if err != nil {
		return err
	}
	t := s.t
	ours := make(map[uint32]bool, len(sel)) // slot -> seen in the file
	for _, sl := range sel {
		ours[sl] = false
	}
	conflict := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s already exists with different changes (%s): the re-run of batch %d was not deterministic, or another query writes this checkpoint; "+
			"the committed state is kept",
			ErrDeltaConflict, name, fmt.Sprintf(format, args...), v-1)
	}
	nk := len(s.ktypes)
	var slots []uint32
	_, err = decodeFile(name, data, s.header(kindDelta, v), s.fileTypes(kindDelta), s.mem, nil, func(rec arrow.RecordBatch) error {
		n := int(rec.NumRows())
		cols := rec.Columns()
		slots = growDouble(slots[:0], n)
		if err := t.g.Lookup(cols[:nk], slots); err != nil {
			return err
		}
		removed := cols[len(cols)-1].(*array.Boolean)
		for i, sl := range slots {
			seen, ok := ours[sl]
			if sl == NoSlot || !ok {
				return conflict("key %s is in the file but was not changed by this batch", rowString(cols[:nk], i))
			}
			if seen {
				return conflict("key %s appears twice in the file", rowString(cols[:nk], i))
			}
			ours[sl] = true
			if removed.Value(i) == t.live.get(sl) {
				return conflict("key %s is removed in one and put in the other", rowString(cols[:nk], i))
			}
		}
		vals, err := t.values(s.mem, slots)
		if err != nil {
			return err
		}
		defer releaseAll(vals)
		for c, ours := range vals {
			theirs := cols[nk+c]
			if array.ApproxEqual(ours, theirs, exact...) {
				continue
			}
			for i := 0; i < n; i++ {
				if !array.SliceApproxEqual(ours, int64(i), int64(i+1), theirs, int64(i), int64(i+1), exact...) {
					return conflict("key %s: value column %d is %s in the file and %s now", rowString(cols[:nk], i), c, theirs.ValueStr(i), ours.ValueStr(i))
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for sl, seen := range ours {
		if !seen {
			ks, err := t.keys(s.mem, []uint32{sl})
			if err != nil {
				return conflict("a changed key is missing from the file")
			}
			defer releaseAll(ks)
			return conflict("key %s was changed by this batch but is not in the file", rowString(ks, 0))
		}
	}
	return nil
}

// exact compares values exactly, except that NaN equals NaN.
var exact = []array.EqualOption{array.WithNaNsEqual(true), array.WithAbsTolerance(0)}

// rowString renders row i of key columns for messages.
func rowString(cols []arrow.Array, i int) string {
	parts := make([]string, len(cols))
	for c, a := range cols {
		parts[c] = a.ValueStr(i)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
