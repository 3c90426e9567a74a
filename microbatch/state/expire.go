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

// EventTimeFunc writes to out[j] the event time of key row rows[j] (of
// every row i to out[i] when rows is nil), in any unit (Expire compares
// with the same unit), or NoEventTime for a key that never expires (a
// NULL event time). The key columns are of the store's key types
// (dictionaries decoded).
type EventTimeFunc func(keys []arrow.Array, rows []int, out []int64) error

// NoEventTime marks a key that Expire never removes.
const NoEventTime = math.MaxInt64

// timeCol holds the event time of each slot, in segments like the value
// columns (growing never copies it). Event times of keys are usually few
// (window ends): while there are at most maxTimeCodes distinct ones, a
// slot holds a 2-byte code into a list of them (10M keys: 20 MB, not 80);
// the first time beyond converts the column to raw int64s.
type timeCol struct {
	n     int
	codes [][]uint16
	vals  []int64 // by code
	index map[int64]uint16
	raw   [][]int64 // after more than maxTimeCodes distinct times
	wide  bool
}

// maxTimeCodes is a variable so tests can make columns convert early.
var maxTimeCodes = 1 << 16

func (c *timeCol) grow(n int) {
	if n <= c.n {
		return
	}
	c.n = n
	if c.wide {
		c.raw = growSegs(c.raw, n)
	} else {
		c.codes = growSegs(c.codes, n)
	}
}

func (c *timeCol) set(s uint32, t int64) {
	if !c.wide {
		code, ok := c.index[t]
		if !ok && len(c.vals) < maxTimeCodes {
			if c.index == nil {
				c.index = map[int64]uint16{}
			}
			code, ok = uint16(len(c.vals)), true
			c.index[t] = code
			c.vals = append(c.vals, t)
		}
		if ok {
			c.codes[s>>segBits][s&segMask] = code
			return
		}
		c.toWide()
	}
	c.raw[s>>segBits][s&segMask] = t
}

func (c *timeCol) get(s uint32) int64 {
	if c.wide {
		return c.raw[s>>segBits][s&segMask]
	}
	return c.vals[c.codes[s>>segBits][s&segMask]]
}

func (c *timeCol) toWide() {
	raw := growSegs[int64](nil, c.n)
	for s := range c.n {
		raw[s>>segBits][s&segMask] = c.get(uint32(s))
	}
	*c = timeCol{n: c.n, raw: raw, wide: true}
}

func (c *timeCol) permute(keep []uint32) {
	nc := &timeCol{}
	nc.grow(len(keep))
	for i, s := range keep {
		nc.set(uint32(i), c.get(s))
	}
	*c = *nc
}

func (c *timeCol) memoryBytes() int64 {
	b := int64(cap(c.vals))*8 + int64(len(c.index))*16
	for _, s := range c.codes {
		b += int64(cap(s)) * 2
	}
	for _, s := range c.raw {
		b += int64(cap(s)) * 8
	}
	return b
}

// expired appends to dst the live slots whose time is at or below upTo
// and returns the smallest time of the other live slots (NoEventTime if
// none).
func (c *timeCol) expired(live bitset, upTo int64, dst []uint32) ([]uint32, int64) {
	rest := int64(NoEventTime)
	if c.wide {
		for w, word := range live {
			for word != 0 {
				sl := uint32(w<<6 + bits.TrailingZeros64(word))
				word &= word - 1
				if tm := c.get(sl); tm <= upTo {
					dst = append(dst, sl)
				} else {
					rest = min(rest, tm)
				}
			}
		}
		return dst, rest
	}
	// One flag per code, not a time per slot.
	old := make([]bool, len(c.vals))
	for i, v := range c.vals {
		old[i] = v <= upTo
	}
	used := make([]bool, len(c.vals))
	for w, word := range live {
		for word != 0 {
			sl := uint32(w<<6 + bits.TrailingZeros64(word))
			word &= word - 1
			code := c.codes[sl>>segBits][sl&segMask]
			if old[code] {
				dst = append(dst, sl)
			} else {
				used[code] = true
			}
		}
	}
	for i, u := range used {
		if u {
			rest = min(rest, c.vals[i])
		}
	}
	return dst, rest
}

// setTimes computes the event times of the key rows rows (of keys) and
// records them for their slots.
func (s *Store) setTimes(keys []arrow.Array, slots []uint32, rows []int) error {
	t := s.t
	s.timeBuf = growDouble(s.timeBuf[:0], len(rows))
	if err := s.opts.EventTime(keys, rows, s.timeBuf); err != nil {
		return fmt.Errorf("%s: event time of keys: %w", s.label(), err)
	}
	for j, r := range rows {
		tm := s.timeBuf[j]
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
		err = s.opts.EventTime(keys, nil, buf)
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
	expired, rest := t.times.expired(t.live, upTo, nil)
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
