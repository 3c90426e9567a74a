package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/sluicehq/sluice/microbatch"
)

// statusLine draws one live line per query on a terminal: batch id, input
// and processed rows/s, watermark, state rows, and for backfills a
// progress bar with the work left and an ETA. Lines are redrawn in place
// (carriage return, cursor up, clear line), at most every redrawEvery so a
// fast query does not flood the terminal; finish leaves a clean final
// line per query. The wall clock is now, injectable for tests.
type statusLine struct {
	w           io.Writer
	now         func() time.Time
	redrawEvery time.Duration
	// width truncates lines (a wrapped line would break the redraw); 0
	// means no limit.
	width int

	mu       sync.Mutex
	queries  []*queryStatus // in start order
	drawn    int            // lines on screen now
	lastDraw time.Time
}

// queryStatus is what one query's line shows.
type queryStatus struct {
	id, name  string
	backfill  bool
	started   time.Time
	ended     time.Time
	batches   int64
	batchID   int64
	inputRows int64
	inRate    float64
	procRate  float64
	watermark string
	stateRows int64
	hasState  bool
	// processed and remaining are summed over the sources that report a
	// backlog; units keeps the remaining amount per unit.
	processed  int64
	remaining  int64
	units      map[string]int64
	hasBacklog bool
	done       bool
	failed     bool
}

func newStatusLine(w io.Writer, now func() time.Time) *statusLine {
	s := &statusLine{w: w, now: now, redrawEvery: 200 * time.Millisecond}
	if f, ok := w.(*os.File); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 1 {
			s.width = cols - 1
		}
	}
	return s
}

// listener reports a query to the status line. A query that starts again
// (the next firing of a scheduled job, same checkpoint, same id) keeps its
// line, which starts over.
func (s *statusLine) listener(backfill bool) microbatch.Listener {
	get := func(id, name string, restart bool) *queryStatus {
		var q *queryStatus
		for _, x := range s.queries {
			if x.id == id {
				q = x
			}
		}
		switch {
		case q == nil:
			q = &queryStatus{id: id}
			s.queries = append(s.queries, q)
			fallthrough
		case restart:
			*q = queryStatus{id: id, name: q.name, backfill: backfill, started: s.now(), units: map[string]int64{}}
		}
		if name != "" {
			q.name = name
		}
		return q
	}
	return microbatch.ListenerFuncs{
		Started: func(e microbatch.StartedEvent) {
			s.mu.Lock()
			defer s.mu.Unlock()
			get(e.ID, e.Name, true)
			s.draw(true) // a new line to show
		},
		Progress: func(e microbatch.ProgressEvent) {
			s.mu.Lock()
			defer s.mu.Unlock()
			get(e.Progress.ID, e.Progress.Name, false).update(e.Progress)
			s.draw(false)
		},
		Idle: func(e microbatch.IdleEvent) {
			s.mu.Lock()
			defer s.mu.Unlock()
			get(e.ID, "", false)
			s.draw(false)
		},
		Terminated: func(e microbatch.TerminatedEvent) {
			s.mu.Lock()
			defer s.mu.Unlock()
			q := get(e.ID, "", false)
			q.done, q.failed, q.ended = true, e.Err != nil, s.now()
			s.draw(true)
		},
	}
}

func (q *queryStatus) update(p *microbatch.Progress) {
	q.batches++
	q.batchID = p.BatchID
	q.inputRows += p.NumInputRows
	q.inRate, q.procRate = p.InputRowsPerSecond, p.ProcessedRowsPerSecond
	if wm := p.EventTime["watermark"]; wm != "" && !strings.HasPrefix(wm, "1970-01-01T00:00:00") {
		q.watermark = strings.TrimSuffix(wm, ".000Z")
		if q.watermark != wm {
			q.watermark += "Z"
		}
	}
	q.hasState = len(p.StateOperators) > 0
	q.stateRows = 0
	for _, op := range p.StateOperators {
		q.stateRows += op.NumRowsTotal
	}
	q.remaining = 0
	clear(q.units)
	for _, src := range p.Sources {
		if b := src.Backlog; b != nil {
			q.hasBacklog = true
			q.processed += b.Processed
			q.remaining += b.Remaining
			q.units[b.Unit] += b.Remaining
		}
	}
}

// ticking redraws every interval while a query runs, so elapsed time and
// the ETA move during a long batch; stop ends it.
func (s *statusLine) ticking(every time.Duration) (stop func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				s.mu.Lock()
				if s.drawn > 0 && slices.ContainsFunc(s.queries, func(q *queryStatus) bool { return !q.done }) {
					s.draw(false)
				}
				s.mu.Unlock()
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

// println prints a message above the status lines and draws them again.
func (s *statusLine) println(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	s.home(&b)
	b.WriteString("\x1b[J")
	b.WriteString(msg)
	b.WriteString("\n")
	s.drawn = 0
	io.WriteString(s.w, b.String())
	s.draw(true)
}

// finish draws every line one last time and ends it, so what follows
// starts on a line of its own.
func (s *statusLine) finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queries) == 0 {
		return
	}
	s.draw(true)
	io.WriteString(s.w, "\n")
	s.drawn = 0
}

// home moves the cursor to the start of the first drawn line.
func (s *statusLine) home(b *strings.Builder) {
	if s.drawn == 0 {
		return
	}
	b.WriteString("\r")
	if s.drawn > 1 {
		fmt.Fprintf(b, "\x1b[%dA", s.drawn-1)
	}
}

// draw redraws the lines, unless the last draw was under redrawEvery ago
// and force is false. Called with mu held.
func (s *statusLine) draw(force bool) {
	now := s.now()
	if !force && s.drawn > 0 && now.Sub(s.lastDraw) < s.redrawEvery {
		return
	}
	if len(s.queries) == 0 {
		return
	}
	s.lastDraw = now
	var b strings.Builder
	s.home(&b)
	for i, q := range s.queries {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString("\x1b[2K")
		b.WriteString(s.truncate(q.line(now)))
	}
	s.drawn = len(s.queries)
	io.WriteString(s.w, b.String())
}

func (s *statusLine) truncate(line string) string {
	if s.width <= 0 {
		return line
	}
	r := []rune(line)
	if len(r) <= s.width {
		return line
	}
	return string(r[:s.width-1]) + "…"
}

// barWidth is the progress bar's width in characters.
const barWidth = 20

// line is the query's status: "name [bar] pct left ETA | batch N | in R/s
// | processed R/s | watermark T | state N rows"; after the end, a
// summary.
func (q *queryStatus) line(now time.Time) string {
	name := q.name
	if name == "" {
		name = shortID(q.id)
	}
	parts := []string{}
	if q.done {
		verb := "done in"
		if q.failed {
			verb = "failed after"
		}
		parts = append(parts, fmt.Sprintf("%s %s %s: %s, %s input rows", name, verb, roundDuration(q.ended.Sub(q.started)),
			plural(q.batches, "batch", "batches"), human(float64(q.inputRows))))
	} else {
		head := name
		if q.backfill && q.hasBacklog {
			head += " " + q.bar(now)
		} else if q.hasBacklog && q.remaining > 0 {
			head += " " + q.amounts() + " behind"
		}
		parts = append(parts, head)
		if q.batches == 0 {
			parts = append(parts, "waiting for the first batch")
			return strings.Join(parts, " | ")
		}
		parts = append(parts, fmt.Sprintf("batch %d", q.batchID),
			"in "+human(q.inRate)+" rows/s", "processed "+human(q.procRate)+" rows/s")
	}
	if q.watermark != "" {
		parts = append(parts, "watermark "+q.watermark)
	}
	if q.hasState {
		parts = append(parts, "state "+human(float64(q.stateRows))+" rows")
	}
	return strings.Join(parts, " | ")
}

// bar is "[#######.............]  35% 1.3k offsets left ETA 12s".
func (q *queryStatus) bar(now time.Time) string {
	total := q.processed + q.remaining
	frac := 1.0
	if total > 0 {
		frac = float64(q.processed) / float64(total)
	}
	n := int(math.Round(frac * barWidth))
	bar := "[" + strings.Repeat("#", n) + strings.Repeat(".", barWidth-n) + "]"
	out := fmt.Sprintf("%s %3d%% %s", bar, int(math.Floor(frac*100)), q.left())
	if q.remaining == 0 {
		return out
	}
	eta := "?"
	if elapsed := now.Sub(q.started); q.processed > 0 && elapsed > 0 {
		eta = roundDuration(time.Duration(float64(elapsed) * float64(q.remaining) / float64(q.processed)))
	}
	return out + " ETA " + eta
}

// left is "1.3k offsets, 2 files left".
func (q *queryStatus) left() string { return q.amounts() + " left" }

// amounts is the remaining work per unit: "1.3k offsets, 2 files".
func (q *queryStatus) amounts() string {
	units := make([]string, 0, len(q.units))
	for u := range q.units {
		units = append(units, u)
	}
	sort.Strings(units)
	var parts []string
	for _, u := range units {
		parts = append(parts, human(float64(q.units[u]))+" "+u)
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

// human formats a count or rate briefly: 999, 1.2k, 3.4M, 5.6G.
func human(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e9:
		return trimZero(fmt.Sprintf("%.1f", v/1e9)) + "G"
	case a >= 1e6:
		return trimZero(fmt.Sprintf("%.1f", v/1e6)) + "M"
	case a >= 1e3:
		return trimZero(fmt.Sprintf("%.1f", v/1e3)) + "k"
	case a == math.Trunc(a):
		return fmt.Sprintf("%.0f", v)
	default:
		return trimZero(fmt.Sprintf("%.1f", v))
	}
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// roundDuration shows a duration at a useful precision: 850ms, 3.2s, 12s,
// 1m05s, 2h03m.
func roundDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
