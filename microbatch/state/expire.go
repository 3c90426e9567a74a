package state

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
)

// Eviction by watermark without scanning the state. With
// Options.EventTime set, a store keeps the event time of every key (the
// end of its window, say) in a column by slot, computed from the key when
// it is inserted (and for every key when a version is restored), plus a
// lower bound of the live keys' times. Expire(upTo) then costs nothing
// while upTo is below that bound, and otherwise one pass over an int64
// column, never a gather of keys or values of the whole table. The column
// is not written to the files: it is a function of the keys.

// EventTimeFunc writes to out[i] the event time of key row i (any unit;
// Expire compares with the same unit), or NoEventTime for a key that never
// expires (a NULL event time). The key columns are of the store's key types
// (dictionaries decoded).
type EventTimeFunc func(keys []arrow.Array, out []int64) error

// NoEventTime marks a key that Expire never removes.
const NoEventTime = math.MaxInt64

// timeCol holds the event time of each slot, in segments like the value
// columns (growing never copies it).
type timeCol struct {
	segs [][]int64
	n    int
}

func (c *timeCol) grow(n int) {
	if n > c.n {
		c.n = n
		c.segs = growSegs(c.segs, n)
	}
}

func (c *timeCol) set(s uint32, t int64) { c.segs[s>>segBits][s&segMask] = t }
func (c *timeCol) get(s uint32) int64    { return c.segs[s>>segBits][s&segMask] }

func (c *timeCol) permute(keep []uint32) {
	nc := &timeCol{}
	nc.grow(len(keep))
	for i, s := range keep {
		nc.set(uint32(i), c.get(s))
	}
	*c = *nc
}

func (c *timeCol) memoryBytes() int64 {
	var b int64
	for _, s := range c.segs {
		b += int64(cap(s)) * 8
	}
	return b
}

// setTimes computes the event times of the key rows rows (of keys) and
// records them for their slots.
func (s *Store) setTimes(keys []arrow.Array, slots []uint32, rows []int) error {
	t := s.t
	n := 0
	if len(keys) > 0 {
		n = keys[0].Len()
	}
	s.timeBuf = growDouble(s.timeBuf[:0], n)
	if err := s.opts.EventTime(keys, s.timeBuf); err != nil {
		return fmt.Errorf("%s: event time of keys: %w", s.label(), err)
	}
	for _, r := range rows {
		tm := s.timeBuf[r]
		t.times.set(slots[r], tm)
		t.minTime = min(t.minTime, tm)
	}
	return nil
}

// initTimes computes the event times of every live key of a restored
// table.
func (s *Store) initTimes(t *table) error {
	if s.opts.EventTime == nil {
		return nil
	}
	t.times = &timeCol{}
	t.times.grow(t.n)
	t.minTime = NoEventTime
	buf := make([]int64, 0, compactChunk)
	sel := make([]uint32, 0, compactChunk)
	for lo := 0; lo < t.n; lo += compactChunk {
		sel = t.liveSlots(sel[:0], lo, min(lo+compactChunk, t.n))
		if len(sel) == 0 {
			continue
		}
		keys, err := t.keys(s.mem, sel)
		if err != nil {
			return err
		}
		buf = buf[:len(sel)]
		err = s.opts.EventTime(keys, buf)
		releaseAll(keys)
		if err != nil {
			return fmt.Errorf("%s: event time of keys: %w", s.label(), err)
		}
		for i, sl := range sel {
			t.times.set(sl, buf[i])
			t.minTime = min(t.minTime, buf[i])
		}
	}
	return nil
}

// Expire removes every key whose event time is at or below upTo (never
// one with NoEventTime), at most batchRows at a time (default 65536 when
// <= 0): first fn (when not nil) is called with their slots, which it may
// read (Keys, Values: Append mode emits the final rows), then they are
// removed. It returns how many keys it removed. It needs Options.EventTime.
// While upTo is below every live key's time it reads nothing. An error
// from fn stops it (keys already passed to fn before may have been
// removed) and is returned.
func (s *Store) Expire(upTo int64, batchRows int, fn func(slots []uint32) error) (int, error) {
	if batchRows <= 0 {
		batchRows = 1 << 16
	}
	s.mu.Lock()
	t, err := s.loadedLocked()
	if err != nil {
		s.mu.Unlock()
		return 0, err
	}
	if t.times == nil {
		s.mu.Unlock()
		return 0, fmt.Errorf("%w: %s: Expire needs Options.EventTime", ErrBadInput, s.label())
	}
	if upTo < t.minTime || upTo == NoEventTime {
		s.mu.Unlock()
		return 0, nil
	}
	var expired []uint32
	rest := int64(NoEventTime)
	for w, word := range t.live {
		for word != 0 {
			sl := uint32(w<<6 + bits.TrailingZeros64(word))
			word &= word - 1
			if tm := t.times.get(sl); tm <= upTo {
				expired = append(expired, sl)
			} else {
				rest = min(rest, tm)
			}
		}
	}
	// The bound once the expired keys are gone (keys fn inserts lower it
	// as usual).
	t.minTime = rest
	s.mu.Unlock()
	removed := 0
	for lo := 0; lo < len(expired); lo += batchRows {
		chunk := expired[lo:min(lo+batchRows, len(expired))]
		var err error
		if fn != nil {
			err = fn(chunk)
		}
		if err == nil {
			var n int
			n, err = s.Remove(chunk)
			removed += n
		}
		if err != nil {
			s.mu.Lock()
			if s.t == t {
				t.minTime = math.MinInt64 // some expired keys remain: look again next time
			}
			s.mu.Unlock()
			return removed, err
		}
	}
	return removed, nil
}
