package oracle

import (
	"context"

	"flag"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/internal/tableformat"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/sinks"
	memsrc "github.com/sluicehq/sluice/sources/memory"
	"github.com/sluicehq/sluice/trigger"
)

var (
	flagSeeds     = flag.Int("oracle.seeds", 0, "seeds per case and output mode in TestOracle (default 3 with -short, 25 without)")
	flagSeed      = flag.Uint64("oracle.seed", 0, "base seed; 0 picks one from the time (printed on failure)")
	flagScenario  = flag.Uint64("oracle.scenario", 0, "run only this scenario seed (as printed by a failure)")
	flagNoRestart = flag.Bool("oracle.norestart", false, "TestOracle runs without restarts, to tell a restart bug from another (also NORESTART=1)")
	flagKnownBugs = flag.Bool("oracle.knownbugs", false, "also run the cases marked KnownBug")
)

// baseSeed is the run's seed: every scenario's seed derives from it, the
// case and the mode, so one flag reproduces a failure.
var baseSeed = sync.OnceValue(func() uint64 {
	if *flagSeed != 0 {
		return *flagSeed
	}
	return uint64(time.Now().UnixNano())
})

// scenarioSeed derives the seed of run i of a case and mode.
func scenarioSeed(base uint64, c *Case, mode dataframe.OutputMode, i int) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%s/%d", base, c.Name, mode, i)
	return h.Sum64()
}

// scenarioSeeds are the scenarios to run for a case and mode: numSeeds
// derived from base, or just -oracle.scenario.
func scenarioSeeds(base uint64, c *Case, mode dataframe.OutputMode) []uint64 {
	if *flagScenario != 0 {
		return []uint64{*flagScenario}
	}
	out := make([]uint64, numSeeds())
	for i := range out {
		out[i] = scenarioSeed(base, c, mode, i)
	}
	return out
}

func numSeeds() int {
	switch {
	case *flagSeeds > 0:
		return *flagSeeds
	case testing.Short():
		return 3
	}
	return 25
}

// TestOracle runs every case in every mode over seeded random scenarios
// in this process, stopping and restarting the query (between batches and
// with a batch in flight), and checks the result against the batch oracle.
func TestOracle(t *testing.T) {
	base := baseSeed()
	t.Logf("base seed %d (rerun with -oracle.seed=%d)", base, base)
	for i := range cases {
		c := &cases[i]
		for _, mode := range c.Modes {
			t.Run(c.Name+"/"+mode.String(), func(t *testing.T) {
				t.Parallel()
				if bug := knownBug(c, mode); bug != "" && !*flagKnownBugs {
					t.Skipf("known bug (run with -oracle.knownbugs): %s", bug)
				}
				restarts := 0
				seeds := scenarioSeeds(base, c, mode)
				for _, seed := range seeds {
					n, err := inProcess(t, c, mode, seed)
					restarts += n
					if err != nil {
						t.Fatalf("case %s, %s mode, scenario %s:\n%v\n(rerun with -run 'TestOracle/%s/%s' -oracle.scenario=%d)",
							c.Name, mode, newScenario(seed, inputsOf(c)), err, c.Name, mode, seed)
					}
				}
				t.Logf("%d scenarios, %d restarts", len(seeds), restarts)
			})
		}
	}
}

func noRestart() bool { return *flagNoRestart || os.Getenv("NORESTART") != "" }

func inputsOf(c *Case) int { return max(1, c.Inputs) }

// inProcess runs one scenario: the stream over memory streams, one chunk
// per micro-batch, restarted at random; then the oracle.
func inProcess(t *testing.T, c *Case, mode dataframe.OutputMode, seed uint64) (restarts int, err error) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer func() {
		if n := mem.CurrentAlloc(); n != 0 && err == nil {
			// Say which scenario leaks, and whether the bytes come back
			// later (a goroutine still at work after Stop returned).
			time.Sleep(100 * time.Millisecond)
			err = fmt.Errorf("%d bytes of Arrow memory still allocated after the query stopped (%d after another 100ms)", n, mem.CurrentAlloc())
		}
		mem.AssertSize(t, 0)
	}()
	sc := newScenario(seed, inputsOf(c))
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	rd := &renderer{c: c}
	ckpt := filepath.Join(scratchDir(t), "ckpt")
	s := dataframe.NewSessionWith(dataframe.Config{Allocator: mem, ShufflePartitions: sc.partitions, BatchSize: sc.batchSize})
	streams := make([]*memsrc.Stream, inputsOf(c))
	ins := make([]*dataframe.DataFrame, len(streams))
	for i := range streams {
		streams[i] = memsrc.NewArrowStream(fmt.Sprintf("in%d", i), inputSchema)
		defer streams[i].Close()
		ins[i] = withWatermark(c, s.ReadStream(streams[i]))
	}
	df := c.query(ins...)
	if df.Err() != nil {
		return 0, fmt.Errorf("build the streaming query: %w", df.Err())
	}
	sink := &recordSink{rd: rd, ckpt: ckpt, batches: map[int64][]row{}}
	// Batches run only when the test advances the manual clock past the
	// trigger interval, so a chunk added to several streams is read by
	// one batch. (ProcessAllAvailable pokes the loop, but a poke can be
	// left over for a later trigger, and one can be lost.)
	clock := trigger.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var idle atomic.Int64
	var late *lateSink
	if c.Count != "" && c.EventTime != "" && mode != dataframe.Complete && rng.IntN(2) == 0 {
		late = &lateSink{ckpt: ckpt, batches: map[int64][]string{}}
	}
	start := func() (*dataframe.StreamingQuery, error) {
		w := df.WriteStream().Sink(sink).OutputMode(mode).
			Trigger(trigger.ProcessingTime(time.Hour)).Clock(clock).
			Listener(microbatch.ListenerFuncs{Idle: func(microbatch.IdleEvent) { idle.Add(1) }}).
			Option("checkpointLocation", ckpt).Option("minBatchesToRetain", strconv.Itoa(sc.retain))
		if late != nil {
			w = w.LateData(late)
		}
		return w.Start(ctx)
	}
	q, err := start()
	if err != nil {
		return 0, fmt.Errorf("start: %w", err)
	}
	defer func() {
		if q != nil {
			q.Stop(ctx)
		}
	}()
	stop := func() error {
		err := q.Stop(ctx)
		if err == nil {
			err = q.Exception()
		}
		q = nil
		if err != nil {
			return fmt.Errorf("stop: %w", err)
		}
		return nil
	}
	restart := func() error {
		restarts++
		if err := stop(); err != nil {
			return err
		}
		if q, err = start(); err != nil {
			return fmt.Errorf("restart: %w", err)
		}
		return nil
	}
	// stopInFlight stops the query a moment after a trigger, so the stop
	// often lands inside a batch (which a restart must replay).
	stopInFlight := func() error {
		restarts++
		clock.Advance(time.Hour)
		time.Sleep(time.Duration(rng.Int64N(int64(3 * time.Millisecond))))
		if err := stop(); err != nil {
			return err
		}
		if q, err = start(); err != nil {
			return fmt.Errorf("restart: %w", err)
		}
		return nil
	}
	// asleep waits until the loop sleeps until its next trigger.
	asleep := func(deadline time.Time) error {
		for clock.Waiters() == 0 {
			if !q.IsActive() {
				if err := q.Exception(); err != nil {
					return err
				}
				return fmt.Errorf("the query stopped by itself")
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the query did not finish a trigger in 30s (status %+v); goroutines in %s", q.Status(), dumpGoroutines())
			}
			time.Sleep(50 * time.Microsecond)
		}
		return nil
	}
	// process runs triggers until one finds nothing to do: the chunk's
	// batch and any no-data batch the watermark asks for have run.
	process := func() error {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if err := asleep(deadline); err != nil {
				return fmt.Errorf("process: %w", err)
			}
			before := idle.Load()
			clock.Advance(time.Hour)
			if err := asleep(deadline); err != nil {
				return fmt.Errorf("process: %w", err)
			}
			if idle.Load() > before {
				return nil
			}
		}
	}
	for ch := 0; ch < sc.chunks; ch++ {
		for i, st := range streams {
			b := record(mem, sc.chunk(i, ch))
			_, err := st.AddBatch(b)
			b.Release()
			if err != nil {
				return restarts, err
			}
		}
		switch r := rng.IntN(100); {
		case noRestart():
		case r < 10:
			err = restart()
		case r < 20:
			err = stopInFlight()
		}
		if err == nil {
			err = process()
		}
		if err == nil {
			err = sink.failure()
		}
		if err != nil {
			return restarts, fmt.Errorf("chunk %d: %w", ch, err)
		}
	}
	if rng.IntN(3) == 0 && !noRestart() {
		if err := restart(); err != nil {
			return restarts, err
		}
		if err := process(); err != nil {
			return restarts, err
		}
	}
	if err := stop(); err != nil {
		return restarts, err
	}
	if err := sink.failure(); err != nil {
		return restarts, err
	}
	want, err := expected(mem, c, rd, sc, mode)
	if err != nil {
		return restarts, err
	}
	if err := check(c, mode, sink.emitted(), want); err != nil {
		return restarts, err
	}
	if late != nil {
		if err := late.failure(); err != nil {
			return restarts, err
		}
		n, err := lateRows(mem, c, rd, sc)
		if err != nil {
			return restarts, err
		}
		if got := late.rows(); got != n {
			return restarts, fmt.Errorf("the late-data sink got %d rows; the watermark dropped %d", got, n)
		}
	}
	return restarts, nil
}

// lateSink counts the late-data sink's rows by batch id; a replayed batch
// must bring the same rows, and a committed one none.
type lateSink struct {
	ckpt string

	mu      sync.Mutex
	batches map[int64][]string
	err     error
}

func (s *lateSink) AddBatch(ctx context.Context, id int64, mode sinks.OutputMode, rr array.RecordReader) error {
	var rows []string
	for rr.Next() {
		for _, r := range tableformat.Cells(rr.RecordBatch(), -1, false, nil) {
			rows = append(rows, strings.Join(r, " | "))
		}
	}
	if err := rr.Err(); err != nil {
		return err
	}
	slices.Sort(rows)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := os.Stat(filepath.Join(s.ckpt, "commits", strconv.FormatInt(id, 10))); err == nil && s.err == nil {
		s.err = fmt.Errorf("the late-data sink got batch %d, which commits/%d says is done", id, id)
	}
	if prev, ok := s.batches[id]; ok && !slices.Equal(prev, rows) && s.err == nil {
		s.err = fmt.Errorf("late-data batch %d replayed with other rows: first %d rows, then %d", id, len(prev), len(rows))
	}
	s.batches[id] = rows
	return nil
}

func (s *lateSink) Close() error { return nil }

func (s *lateSink) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *lateSink) rows() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, rs := range s.batches {
		n += int64(len(rs))
	}
	return n
}

// recordSink keeps each batch's rendered rows by batch id. A second
// delivery of a batch id (a replay after a stop) must hold the same rows,
// and a batch whose commit is logged must never be delivered again.
type recordSink struct {
	rd   *renderer
	ckpt string

	mu      sync.Mutex
	batches map[int64][]row
	err     error
}

func (s *recordSink) AddBatch(ctx context.Context, id int64, mode sinks.OutputMode, rr array.RecordReader) error {
	var rows []row
	for rr.Next() {
		rs, err := s.rd.rows(rr.RecordBatch())
		if err != nil {
			return s.fail(err)
		}
		rows = append(rows, rs...)
	}
	if err := rr.Err(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(s.ckpt, "commits", strconv.FormatInt(id, 10))); err == nil {
		return s.fail(fmt.Errorf("the sink got batch %d, which commits/%d says is done", id, id))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.batches[id]; ok {
		if err := diff(rows, prev); err != nil {
			return s.failLocked(fmt.Errorf("batch %d replayed with other rows than its first attempt: %w", id, err))
		}
	}
	s.batches[id] = rows
	return nil
}

func (s *recordSink) Close() error { return nil }

func (s *recordSink) fail(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failLocked(err)
}

func (s *recordSink) failLocked(err error) error {
	if s.err == nil {
		s.err = err
	}
	return err
}

func (s *recordSink) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// emitted returns the batches in id order; ids must have no gaps.
func (s *recordSink) emitted() []emitted {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int64, 0, len(s.batches))
	for id := range s.batches {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]emitted, len(ids))
	for i, id := range ids {
		out[i] = emitted{id: id, rows: s.batches[id]}
	}
	return out
}

// dumpGoroutines writes every goroutine's stack to a file for a hang's
// report and returns its name.
func dumpGoroutines() string {
	f, err := os.CreateTemp("", "sluice-oracle-goroutines-*.txt")
	if err != nil {
		return "(could not dump: " + err.Error() + ")"
	}
	defer f.Close()
	pprof.Lookup("goroutine").WriteTo(f, 2)
	return f.Name()
}
