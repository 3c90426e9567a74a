package crashtest

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/wal"
)

var (
	flagKills = flag.Int("crash.kills", 60, "SIGKILLs TestCrash delivers before the final run (thousands for a soak)")
	flagSeed  = flag.Uint64("crash.seed", 0, "seed of TestCrash's choices; 0 picks one from the time (printed on failure)")
)

// TestCrash runs the query of child_test.go in child processes, kills
// them with SIGKILL at random moments and at chosen points of the loop,
// restarts them on the same checkpoint, and checks the output record by
// record: every batch file holds exactly its batch's rows, so no row is
// lost or written twice, and replays matched their first attempt.
func TestCrash(t *testing.T) {
	seed := *flagSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	c := &crasher{t: t, seed: seed, rng: rng, dir: t.TempDir()}
	c.ckpt = filepath.Join(c.dir, "ckpt")
	c.out = filepath.Join(c.dir, "out")
	c.kills = map[string]int{}
	t.Logf("seed %d (rerun with -crash.seed=%d)", seed, seed)

	start := time.Now()
	lockCheckAt := 2 + rng.IntN(max(1, *flagKills/2)) // also check the lock once, at a random run after the first two
	for run := 0; c.total() < *flagKills; run++ {
		if run == lockCheckAt {
			c.lockCheck()
			continue
		}
		c.killRun(run)
	}
	// The final run finishes a few batches past the logged ones, so it
	// replays whatever is uncommitted and then runs new batches.
	latest := c.latestOffsets()
	target := latest + 2
	res := c.wait(c.startChild(childSpec{api: c.api(), target: target}))
	if res.Code != exitStopped {
		c.fatalf("final run (target batch %d) ended with %s\nstderr:\n%s", target, res.Status, res.Stderr)
	}
	c.verify(target)
	names := slices.Sorted(maps.Keys(c.kills))
	var sb strings.Builder
	for _, n := range names {
		fmt.Fprintf(&sb, " %s=%d", n, c.kills[n])
	}
	t.Logf("%d kills in %d child runs, %.1fs; replayed deliveries %d; kills by point:%s",
		c.total(), c.runs, time.Since(start).Seconds(), c.replays, sb.String())
}

type crasher struct {
	t         *testing.T
	seed      uint64
	rng       *rand.Rand
	dir       string
	ckpt, out string
	kills     map[string]int
	runs      int
	replays   int
}

func (c *crasher) total() int {
	n := 0
	for _, v := range c.kills {
		n += v
	}
	return n
}

func (c *crasher) fatalf(format string, args ...any) {
	c.t.Helper()
	c.t.Fatalf("seed %d (rerun with -crash.seed=%d): %s\ncheckpoint and output kept in %s",
		c.seed, c.seed, fmt.Sprintf(format, args...), c.keep())
}

// keep copies the run's directory out of t.TempDir so a failure can be
// inspected.
func (c *crasher) keep() string {
	dst, err := os.MkdirTemp("", "sluice-crashtest-")
	if err != nil {
		return "(could not keep: " + err.Error() + ")"
	}
	if err := os.CopyFS(dst, os.DirFS(c.dir)); err != nil {
		return "(could not keep: " + err.Error() + ")"
	}
	return dst
}

func (c *crasher) api() string {
	if c.rng.IntN(2) == 0 {
		return "df"
	}
	return "engine"
}

type childSpec struct {
	api    string
	kill   string // "point:n" or ""
	target int64  // -1: run until killed
}

type childResult struct {
	Result
	ran bool // printed "running"
}

// child is a running child process.
type child struct {
	*Child
	spec childSpec
}

func (c *crasher) startChild(spec childSpec) *child {
	c.t.Helper()
	c.runs++
	ch, err := StartChild("TestCrashChild", envChild+"=1", envCkpt+"="+c.ckpt, envOut+"="+c.out, envAPI+"="+spec.api,
		envKill+"="+spec.kill, envTarget+"="+targetString(spec.target))
	if err != nil {
		c.fatalf("%v", err)
	}
	return &child{Child: ch, spec: spec}
}

// wait reaps the child (killing it after 60s: a hang is a failure).
func (c *crasher) wait(ch *child) childResult {
	c.t.Helper()
	r, err := ch.Wait(60 * time.Second)
	if err != nil {
		c.fatalf("%v", err)
	}
	if r.Hung {
		c.fatalf("child (%+v) hung for 60s; stderr:\n%s", ch.spec, r.Stderr)
	}
	res := childResult{Result: r, ran: isClosed(ch.Seen("running"))}
	if res.Code == exitRerun {
		c.fatalf("child %+v: the engine ran a batch again after its commit was logged\nstderr:\n%s", ch.spec, res.Stderr)
	}
	if res.Code == exitMismatch {
		c.fatalf("child %+v: a replayed batch differed from its first attempt (see *.mismatch in the output)\nstderr:\n%s", ch.spec, res.Stderr)
	}
	return res
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func targetString(t int64) string {
	if t < 0 {
		return ""
	}
	return strconv.FormatInt(t, 10)
}

// killRun runs a child that dies by SIGKILL: at a chosen point of the
// loop (the child kills itself), or after a random wall-clock delay.
func (c *crasher) killRun(run int) {
	c.t.Helper()
	spec := childSpec{api: c.api(), target: -1}
	var label string
	var delay time.Duration
	fromExec := false
	r := c.rng.IntN(10)
	if run < 2 {
		spec.api, r = "engine", 0 // the first runs crash while creating the checkpoint (below)
	}
	switch {
	case r < 6:
		points := pointsBoth
		if spec.api == "engine" {
			points = append(slices.Clone(pointsBoth), pointsEngine...)
			// Written once per checkpoint: reachable only until written.
			if _, err := os.Stat(filepath.Join(c.ckpt, "metadata")); err == nil {
				points = slices.DeleteFunc(points, func(p string) bool { return p == "before-metadata" })
			}
			if _, err := os.Stat(filepath.Join(c.ckpt, "sources", "0", "0")); err == nil {
				points = slices.DeleteFunc(points, func(p string) bool { return p == "before-source-log" })
			}
		}
		p := points[c.rng.IntN(len(points))]
		if init := slices.DeleteFunc(slices.Clone(points), func(p string) bool {
			return p != "before-metadata" && p != "before-source-log"
		}); len(init) > 0 && (run < 2 || c.rng.IntN(2) == 0) {
			// A new checkpoint: crash while creating it; the first run
			// before its metadata, the second before the source's log.
			p = init[min(run, len(init)-1)]
		}
		n := 1 + c.rng.IntN(3)
		if p == "before-metadata" || p == "before-source-log" {
			n = 1
		}
		spec.kill = fmt.Sprintf("%s:%d", p, n)
		label = p
		delay = 2 * time.Second // backstop when the point is never reached
	case r < 8:
		label, delay = "wall-clock", time.Duration(c.rng.Int64N(int64(20*time.Millisecond)))
	default:
		// Anywhere from exec: mostly startup and recovery.
		label, delay, fromExec = "wall-clock-from-exec", time.Duration(c.rng.Int64N(int64(80*time.Millisecond))), true
	}
	ch := c.startChild(spec)
	killed := make(chan bool, 1)
	go func() {
		if !fromExec {
			select {
			case <-ch.Seen("running"):
			case <-ch.Exited():
				killed <- false
				return
			}
		}
		select {
		case <-time.After(delay):
			ch.Kill()
			killed <- true
		case <-ch.Exited():
			killed <- false
		}
	}()
	res := c.wait(ch)
	parentKilled := <-killed
	if !res.Signaled {
		c.fatalf("run %d (%+v, %s) should have died by SIGKILL but ended with %s\nstderr:\n%s", run, spec, label, res.Status, res.Stderr)
	}
	if parentKilled && spec.kill != "" {
		label = "backstop(" + label + ")"
	}
	c.kills[label]++
}

// lockCheck starts a child, then a second one on the same checkpoint,
// which must refuse to start with a message naming the checkpoint; then
// kills the first.
func (c *crasher) lockCheck() {
	c.t.Helper()
	first := c.startChild(childSpec{api: c.api(), target: -1})
	select {
	case <-first.Seen("running"):
	case <-time.After(60 * time.Second):
	}
	if !isClosed(first.Seen("running")) {
		first.Kill()
		res := c.wait(first)
		c.fatalf("lock check: the first child did not start (%s)\nstderr:\n%s", res.Status, res.Stderr)
	}
	second := c.startChild(childSpec{api: c.api(), target: -1})
	stopRival := time.AfterFunc(20*time.Second, func() { second.Kill() }) // it did not fail: caught below
	rival := c.wait(second)
	stopRival.Stop()
	first.Kill()
	res := c.wait(first)
	if !res.Signaled {
		c.fatalf("lock check: the first child ended with %s before it was killed\nstderr:\n%s", res.Status, res.Stderr)
	}
	c.kills["lock-check"]++
	if rival.Code != exitFailed || rival.ran {
		c.fatalf("lock check: a second query on checkpoint %s started (%s); it must fail while the first runs\nstderr:\n%s", c.ckpt, rival.Status, rival.Stderr)
	}
	if !strings.Contains(rival.Stderr, c.ckpt) || !strings.Contains(rival.Stderr, "in use") {
		c.fatalf("lock check: the second query's error must name checkpoint %s and say it is in use; got:\n%s", c.ckpt, rival.Stderr)
	}
}

// latestOffsets is the newest offsets/N of the checkpoint, -1 if none.
func (c *crasher) latestOffsets() int64 {
	ids := c.logIDs("offsets")
	if len(ids) == 0 {
		return -1
	}
	return ids[len(ids)-1]
}

func (c *crasher) logIDs(log string) []int64 {
	ents, err := os.ReadDir(filepath.Join(c.ckpt, log))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		c.fatalf("%v", err)
	}
	var ids []int64
	for _, e := range ents {
		if id, ok := wal.ParseID(e.Name()); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// verify checks the sink's output against the expected result record by
// record, and the checkpoint against the output.
func (c *crasher) verify(target int64) {
	c.t.Helper()
	ents, err := os.ReadDir(c.out)
	if err != nil {
		c.fatalf("read output: %v", err)
	}
	files := map[int64][]byte{}
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, ".tmp-"), name == "deliveries":
			continue
		case strings.HasSuffix(name, ".mismatch"):
			c.fatalf("output has %s: a replay differed from its first attempt", name)
		}
		id, ok := wal.ParseID(name)
		if !ok {
			c.fatalf("unexpected file %s in the output", name)
		}
		b, err := os.ReadFile(filepath.Join(c.out, name))
		if err != nil {
			c.fatalf("%v", err)
		}
		files[id] = b
	}
	last := int64(len(files)) - 1
	if last < target {
		c.fatalf("output has batches 0..%d; the final run committed batch %d", last, target)
	}
	// Record by record: each value of the rate source that passes the
	// filter is in exactly one batch file, the one of its batch, with the
	// right derived columns.
	seen := map[int64]int64{} // value -> batch
	for id := int64(0); id <= last; id++ {
		got, ok := files[id]
		if !ok {
			c.fatalf("batch %d is missing from the output (batches 0..%d expected): rows lost", id, last)
		}
		if want := expectedBatch(id); !bytes.Equal(got, want) {
			c.fatalf("batch %d holds\n%s\nwant\n%s", id, got, want)
		}
		lines := strings.Split(strings.TrimSpace(string(got)), "\n")[1:]
		for _, l := range lines {
			v, _ := strconv.ParseInt(strings.Split(l, ",")[0], 10, 64)
			if prev, dup := seen[v]; dup {
				c.fatalf("value %d written twice, by batches %d and %d", v, prev, id)
			}
			seen[v] = id
		}
	}
	for v := int64(0); v < (last+1)*rowsPerBatch; v++ {
		if _, ok := seen[v]; ok != (v%3 != 0) {
			c.fatalf("value %d: in output %v, want %v", v, ok, v%3 != 0)
		}
	}
	// The checkpoint agrees: everything up to target is committed, and
	// nothing is committed that the sink does not have.
	commits := c.logIDs("commits")
	if len(commits) == 0 || commits[len(commits)-1] < target || commits[len(commits)-1] > last {
		c.fatalf("commits %v: want the latest between the target %d and the last output batch %d", commits, target, last)
	}
	// Purge kept the newest retainBatches entries (one more if the stop
	// came between a commit and its purge), whatever earlier runs left.
	latestCommit := commits[len(commits)-1]
	for _, log := range []string{"offsets", "commits"} {
		if ids := c.logIDs(log); ids[0] < latestCommit-retainBatches {
			c.fatalf("%s holds %v: entries below %d should have been purged", log, ids, latestCommit-retainBatches)
		}
	}
	// Deliveries: every batch delivered at least once; count replays.
	data, err := os.ReadFile(filepath.Join(c.out, "deliveries"))
	if err != nil {
		c.fatalf("%v", err)
	}
	delivered := map[int64]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(l)
		id, _ := strconv.ParseInt(f[0], 10, 64)
		delivered[id] = true
		if f[1] == "replay" {
			c.replays++
		}
	}
	for id := int64(0); id <= target; id++ { // later batches may be uncommitted
		if !delivered[id] {
			c.fatalf("batch %d has a file but no delivery record", id)
		}
	}
	c.t.Logf("verified batches 0..%d (%d rows); commits up to %d", last, len(seen), commits[len(commits)-1])
}
