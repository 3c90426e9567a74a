package oracle

import (
	"encoding/json"
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

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/internal/crashtest"
	"github.com/sluicehq/sluice/wal"
)

var flagKills = flag.Int("oracle.kills", 0, "SIGKILLs TestOracleCrash delivers in all (default 20 with -short, 100 without)")

// scratchDir is a directory for checkpoints and output, removed after
// the test: in memory (/dev/shm) when there is one, since neither test
// needs the data to survive more than its process (SIGKILL leaves the
// page cache intact) and fsyncs to a disk would make most of its time.
func scratchDir(t *testing.T) string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "sluice-oracle-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

func numKills() int {
	switch {
	case *flagKills > 0:
		return *flagKills
	case testing.Short():
		return 20
	}
	return 100
}

type caseMode struct {
	c    *Case
	mode dataframe.OutputMode
}

// TestOracleCrash runs cases in child processes over a deterministic
// source, kills them with SIGKILL at random moments and at chosen points
// of the micro-batch loop, the sink and the state stores, restarts them on
// the same checkpoint, and checks the output the sink made durable
// against the batch oracle. Each scenario takes some of the -oracle.kills
// budget; scenarios rotate over the cases and modes.
func TestOracleCrash(t *testing.T) {
	base := baseSeed()
	rng := rand.New(rand.NewPCG(base, 0xc4a54))
	var pairs []caseMode
	for i := range cases {
		for _, m := range cases[i].Modes {
			if knownBug(&cases[i], m) == "" || *flagKnownBugs {
				pairs = append(pairs, caseMode{&cases[i], m})
			}
		}
	}
	budget := numKills()
	first := rng.IntN(len(pairs))
	stats := map[string]int{}
	kills, scenarios, lastRound := 0, 0, 0
	start := time.Now()
	for i := 0; kills < budget; i++ {
		p := pairs[(first+i)%len(pairs)]
		seed := scenarioSeed(base, p.c, p.mode, 1_000_000+i)
		if *flagScenario != 0 {
			seed = *flagScenario
		}
		per := min(budget-kills, 5+rng.IntN(10))
		t.Run(p.c.Name+"/"+p.mode.String(), func(t *testing.T) {
			cr := &crashRun{t: t, c: p.c, mode: p.mode, seed: seed, rng: rng, stats: stats, base: base}
			cr.run(per)
			kills += cr.kills
			scenarios++
		})
		if t.Failed() {
			return
		}
		if (i+1)%len(pairs) == 0 {
			if scenarios == lastRound {
				break // -run selects none of the cases
			}
			lastRound = scenarios
		}
	}
	names := slices.Sorted(maps.Keys(stats))
	var sb strings.Builder
	for _, n := range names {
		fmt.Fprintf(&sb, " %s=%d", n, stats[n])
	}
	t.Logf("base seed %d: %d kills over %d scenarios in %.1fs; by point:%s", base, kills, scenarios, time.Since(start).Seconds(), sb.String())
}

// crashRun is one scenario under kills.
type crashRun struct {
	t     *testing.T
	c     *Case
	mode  dataframe.OutputMode
	seed  uint64
	base  uint64
	rng   *rand.Rand
	stats map[string]int
	dir   string
	ckpt  string
	out   string
	kills int
	runs  int
}

func (r *crashRun) fatalf(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("case %s, %s mode, scenario %s, after %d child runs: %s\n(rerun with -run 'TestOracleCrash/%s/%s' -oracle.seed=%d -oracle.scenario=%d; checkpoint and output kept in %s)",
		r.c.Name, r.mode, newCrashScenario(r.seed, inputsOf(r.c)), r.runs, fmt.Sprintf(format, args...),
		r.c.Name, r.mode, r.base, r.seed, r.keep())
}

// keep copies the run's directory out of t.TempDir for inspection.
func (r *crashRun) keep() string {
	dst, err := os.MkdirTemp("", "sluice-oracle-")
	if err == nil {
		err = os.CopyFS(dst, os.DirFS(r.dir))
	}
	if err != nil {
		return "(could not keep: " + err.Error() + ")"
	}
	return dst
}

func (r *crashRun) env(kill string, final bool) []string {
	f := ""
	if final {
		f = "1"
	}
	return []string{envChild + "=1", envCase + "=" + r.c.Name, envMode + "=" + r.mode.String(),
		envScenario + "=" + strconv.FormatUint(r.seed, 10), envCkpt + "=" + r.ckpt, envOut + "=" + r.out,
		envKill + "=" + kill, envFinal + "=" + f}
}

func (r *crashRun) run(budget int) {
	r.t.Helper()
	r.dir = scratchDir(r.t)
	r.ckpt = filepath.Join(r.dir, "ckpt")
	r.out = filepath.Join(r.dir, "out")
	for finished := false; r.kills < budget && !finished; {
		finished = r.killRun()
	}
	// The final run replays what is uncommitted, processes the rest and
	// stops once idle.
	ch, err := crashtest.StartChild("TestOracleCrashChild", r.env("", true)...)
	if err != nil {
		r.fatalf("%v", err)
	}
	r.runs++
	res := r.wait(ch)
	if res.Code != exitStopped || res.Signaled {
		r.fatalf("final run ended with %s\nstderr:\n%s", res.Status, res.Stderr)
	}
	out := r.readOutput()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(r.t, 0)
	want, err := expected(mem, r.c, &renderer{c: r.c}, newCrashScenario(r.seed, inputsOf(r.c)), r.mode)
	if err != nil {
		r.fatalf("oracle: %v", err)
	}
	if err := check(r.c, r.mode, out, want); err != nil {
		r.fatalf("%v", err)
	}
}

func (r *crashRun) wait(ch *crashtest.Child) crashtest.Result {
	r.t.Helper()
	res, err := ch.Wait(60 * time.Second)
	if err != nil {
		r.fatalf("%v", err)
	}
	switch {
	case res.Hung:
		r.fatalf("a child hung for 60s\nstderr:\n%s", res.Stderr)
	case res.Code == exitRerun:
		r.fatalf("the engine ran a batch again after its commit was logged\nstderr:\n%s", res.Stderr)
	case res.Code == exitMismatch:
		r.fatalf("a replayed batch differed from its first attempt (see *.mismatch in the output)\nstderr:\n%s", res.Stderr)
	}
	return res
}

// killRun runs a child that dies by SIGKILL: at a chosen point (the child
// kills itself), after a random delay, or once it processed every chunk.
// It reports whether the child got that far.
func (r *crashRun) killRun() (finished bool) {
	r.t.Helper()
	var spec, label string
	var delay time.Duration
	fromExec := false
	after := "running" // the line of the child the delay starts from
	_, statErr := os.Stat(filepath.Join(r.ckpt, "metadata"))
	fresh := os.IsNotExist(statErr)
	switch x := r.rng.IntN(10); {
	case fresh && r.runs < 2 && (r.runs == 1 || x < 5):
		// A new checkpoint: crash while creating it (in half the
		// scenarios), before its metadata, then before the state's.
		label = []string{crashtest.PointBeforeMetadata, crashtest.PointStateMetadata}[r.runs]
		spec, delay = crashtest.KillSpec(label, 1), 5*time.Second
	case x < 6:
		points := []string{pointLatestOffset, pointGetBatch, pointSinkPartial, pointSinkRename, pointAfterSink}
		points = append(points, crashtest.CheckpointPoints...)
		points = append(points, crashtest.StatePoints...)
		label = points[r.rng.IntN(len(points))]
		spec, delay = crashtest.KillSpec(label, 1+r.rng.IntN(3)), 5*time.Second
	case x < 7:
		label, delay = "wall-clock", time.Duration(r.rng.Int64N(int64(15*time.Millisecond)))
	case x < 9:
		// A moment after the child's kth batch: anywhere in the next one.
		after = fmt.Sprintf("batch %d", 1+r.rng.IntN(6))
		label, delay = "after-batch", time.Duration(r.rng.Int64N(int64(2*time.Millisecond)))
	default:
		label, delay, fromExec = "wall-clock-from-exec", time.Duration(r.rng.Int64N(int64(80*time.Millisecond))), true
	}
	ch, err := crashtest.StartChild("TestOracleCrashChild", r.env(spec, false)...)
	if err != nil {
		r.fatalf("%v", err)
	}
	r.runs++
	killed := make(chan string, 1)
	go func() {
		if !fromExec {
			select {
			case <-ch.Seen(after):
			case <-ch.Seen("idle"):
			case <-ch.Exited():
				killed <- ""
				return
			}
		}
		select {
		case <-ch.Seen("idle"):
			ch.Kill()
			killed <- "idle"
		case <-time.After(delay):
			ch.Kill()
			killed <- "timer"
		case <-ch.Exited():
			killed <- ""
		}
	}()
	res := r.wait(ch)
	by := <-killed
	if !res.Signaled {
		r.fatalf("child run (kill %q, %s) should have died by SIGKILL but ended with %s\nstderr:\n%s", spec, label, res.Status, res.Stderr)
	}
	switch {
	case by == "idle":
		label = "idle"
	case by == "timer" && spec != "":
		label = "backstop(" + label + ")"
	}
	r.stats[label]++
	r.kills++
	return by == "idle"
}

// readOutput reads the sink's batch files: every batch id from 0 to the
// last one the checkpoint committed, each once.
func (r *crashRun) readOutput() []emitted {
	r.t.Helper()
	ents, err := os.ReadDir(r.out)
	if err != nil && !os.IsNotExist(err) {
		r.fatalf("read output: %v", err)
	}
	files := map[int64]string{}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".tmp-") {
			continue
		}
		id, err := strconv.ParseInt(name, 10, 64)
		if err != nil {
			r.fatalf("unexpected file %s in the output", name)
		}
		files[id] = filepath.Join(r.out, name)
	}
	var commits []int64
	if ents, err := os.ReadDir(filepath.Join(r.ckpt, "commits")); err == nil {
		for _, e := range ents {
			if id, ok := wal.ParseID(e.Name()); ok {
				commits = append(commits, id)
			}
		}
	}
	slices.Sort(commits)
	last := int64(-1)
	if len(commits) > 0 {
		last = commits[len(commits)-1]
	}
	if int64(len(files)) != last+1 {
		r.fatalf("the output has %d batch files; the checkpoint committed batches up to %d", len(files), last)
	}
	out := make([]emitted, 0, len(files))
	for id := int64(0); id <= last; id++ {
		name, ok := files[id]
		if !ok {
			r.fatalf("batch %d is missing from the output (batches 0..%d committed)", id, last)
		}
		data, err := os.ReadFile(name)
		if err != nil {
			r.fatalf("%v", err)
		}
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		if lines[0] != fmt.Sprintf("batch %d", id) {
			r.fatalf("file %s starts with %q", name, lines[0])
		}
		e := emitted{id: id}
		for _, l := range lines[1:] {
			var fr fileRow
			if err := json.Unmarshal([]byte(l), &fr); err != nil {
				r.fatalf("file %s: %v", name, err)
			}
			e.rows = append(e.rows, row{cells: fr.Cells, key: fr.Key, bound: fr.Bound})
		}
		out = append(out, e)
	}
	return out
}
