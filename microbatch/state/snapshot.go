package state

import (
	"errors"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/internal/storage"
)

// A snapshot of version v is written by a goroutine from the live table
// while later batches change it. The table is cut into chunks of
// 1<<captureBits slots (16K); capturing a chunk copies its live rows (keys and
// values) into a record batch. The goroutine captures chunks in order and
// writes them; a batch about to change a slot of an uncaptured chunk
// (Set, Remove, re-inserting a removed key) captures that chunk first
// (beforeWrite), so every chunk is captured as of version v. Slots created
// after v are beyond the snapshot's range and never captured. Compaction
// waits until no snapshot is in flight.
//
// Cost on the batch's path: nothing unless it writes to an uncaptured
// chunk, then one chunk copy (16K rows) per such chunk, once per snapshot.

// captureBits sets the chunk size, 1<<captureBits slots (a variable so
// tests can use small chunks).
var captureBits uint = 14

type snapJob struct {
	version  int64
	n        int // slots covered: those of version v
	nchunks  int
	captured bitset
	next     int                 // next chunk the goroutine captures
	queue    []arrow.RecordBatch // captured, not yet written
	stopped  bool                // cancelled or failed: capture nothing more
	schema   *arrow.Schema
	done     chan struct{}
}

func (s *Store) startSnapshotLocked(v int64) {
	n := s.t.n
	rows := 1 << captureBits
	j := &snapJob{version: v, n: n, nchunks: (n + rows - 1) / rows, schema: s.fileSchema(kindSnap, v), done: make(chan struct{})}
	j.captured.grow(j.nchunks)
	s.snap = j
	go s.runSnapshot(j)
}

// beforeWrite captures the chunk of slot sl into the running snapshot if
// the snapshot covers it and has not captured it yet.
func (s *Store) beforeWrite(sl uint32) {
	j := s.snap
	if j == nil || j.stopped || int(sl) >= j.n {
		return
	}
	if c := sl >> captureBits; !j.captured.get(c) {
		s.captureLocked(j, int(c))
	}
}

func (s *Store) captureLocked(j *snapJob, c int) {
	j.captured.set(uint32(c))
	lo := c << captureBits
	hi := min(lo+1<<captureBits, j.n)
	sel := s.t.liveSlots(nil, lo, hi)
	if len(sel) == 0 {
		return
	}
	cols, err := s.t.keys(s.mem, sel)
	if err != nil {
		s.stopSnapshotLocked(j, err)
		return
	}
	vals, err := s.t.values(s.mem, sel)
	if err != nil {
		releaseAll(cols)
		s.stopSnapshotLocked(j, err)
		return
	}
	cols = append(cols, vals...)
	rec := array.NewRecordBatch(j.schema, cols, int64(len(sel)))
	releaseAll(cols)
	j.queue = append(j.queue, rec)
}

// stopSnapshotLocked abandons a snapshot: nothing more is captured and the
// goroutine stops at its next step without publishing the file.
func (s *Store) stopSnapshotLocked(j *snapJob, _ error) {
	if j.stopped {
		return
	}
	j.stopped = true
	for _, r := range j.queue {
		r.Release()
	}
	j.queue = nil
}

func (s *Store) runSnapshot(j *snapJob) {
	defer close(j.done)
	size, err := s.writeSnapshot(j)
	s.mu.Lock()
	defer s.mu.Unlock()
	cancelled := j.stopped
	s.stopSnapshotLocked(j, err)
	if s.snap == j {
		s.snap = nil
	}
	if err != nil || cancelled {
		s.m.SnapshotsFailed++
		return
	}
	s.m.SnapshotsWritten++
	s.m.SnapshotBytes = size
	s.lastSnap = max(s.lastSnap, j.version)
	s.m.SnapshotVersion = max(s.m.SnapshotVersion, j.version)
}

func (s *Store) writeSnapshot(j *snapJob) (int64, error) {
	name := snapshotName(s.dir, j.version)
	w, err := s.fs.Create(s.bg, name, storage.WriteOptions{CreateIfAbsent: true})
	if err != nil {
		if errors.Is(err, storage.ErrExist) {
			return 0, nil // written by an earlier run: the same version
		}
		return 0, err
	}
	defer w.Abort()
	cw := &countWriter{w: w}
	fw, err := newFileWriter(cw, j.schema, s.mem)
	if err != nil {
		return 0, err
	}
	defer fw.abandon()
	for {
		s.mu.Lock()
		for len(j.queue) == 0 && j.next < j.nchunks && !j.stopped {
			if !j.captured.get(uint32(j.next)) {
				s.captureLocked(j, j.next)
			}
			j.next++
		}
		if j.stopped {
			s.mu.Unlock()
			return 0, errSnapshotCancelled
		}
		var rec arrow.RecordBatch
		if len(j.queue) > 0 {
			rec = j.queue[0]
			j.queue[0] = nil
			j.queue = j.queue[1:]
		}
		s.mu.Unlock()
		if rec == nil {
			break
		}
		err := fw.write(rec)
		rec.Release()
		if err != nil {
			return 0, err
		}
	}
	if err := fw.close(); err != nil {
		return 0, err
	}
	if err := w.Close(); err != nil {
		if errors.Is(err, storage.ErrExist) {
			return 0, nil
		}
		return 0, err
	}
	return cw.n, nil
}

type countWriter struct {
	w interface{ Write([]byte) (int, error) }
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
