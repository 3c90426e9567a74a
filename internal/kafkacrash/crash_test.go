package kafkacrash

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/devkafka"
	"github.com/sluicehq/sluice/wal"
)

var (
	flagKills = flag.Int("kafkacrash.kills", 50, "SIGKILLs TestKafkaCrash delivers before the final run (hundreds for a soak)")
	flagSeed  = flag.Uint64("kafkacrash.seed", 0, "seed of the tests' choices; 0 picks one from the time (printed on failure)")
)

// TestKafkaCrash runs the pipeline in child processes that are killed with
// SIGKILL at random moments and at chosen points, while the parent keeps
// producing input; a final run processes the rest, and the output topic
// must hold every update exactly once.
func TestKafkaCrash(t *testing.T) {
	c := newCrasher(t)
	c.produce(300)
	start := time.Now()
	lockCheckAt := 3 + c.rng.IntN(max(1, *flagKills/2))
	for run := 0; c.total() < *flagKills; run++ {
		c.produce(20 + c.rng.IntN(60))
		if run == lockCheckAt {
			c.lockCheck()
			continue
		}
		c.killRun(run)
	}
	c.produce(50)
	c.finalRun()
	c.verify()
	names := slices.Sorted(maps.Keys(c.kills))
	var sb strings.Builder
	for _, n := range names {
		fmt.Fprintf(&sb, " %s=%d", n, c.kills[n])
	}
	t.Logf("%d kills in %d child runs, %.1fs; kills by point:%s", c.total(), c.runs, time.Since(start).Seconds(), sb.String())
}

// TestKafkaZombieFenced: an instance stalls (SIGSTOP) inside its
// transaction and loses the checkpoint to a second instance (the lock is
// bypassed, as when a lease expires). The second fences the first: the
// stalled transaction is aborted, the woken zombie fails with a fencing
// error, and the output is still exactly once.
func TestKafkaZombieFenced(t *testing.T) {
	c := newCrasher(t)
	c.produce(200)
	// Stalled right after sending batch 1's batch-id commit: its
	// transaction is open, the EndTxn not yet sent.
	zombie := c.startChild(childSpec{api: "engine", kill: "stop:sink-batch-id:2", noLock: true})
	if !c.waitStopped(zombie) {
		res := c.wait(zombie)
		c.fatalf("the first instance never stalled inside a transaction (%s)\nstderr:\n%s", res.status, res.stderr)
	}
	stalledAt := c.latestID("offsets")
	second := c.startChild(childSpec{api: "df"})
	c.produce(100)
	deadline := time.Now().Add(60 * time.Second)
	for c.latestID("commits") < stalledAt+2 {
		if time.Now().After(deadline) {
			second.cmd.Process.Kill()
			zombie.cmd.Process.Kill()
			res := c.wait(second)
			c.fatalf("the second instance did not get past batch %d (%s)\nstderr:\n%s", stalledAt+2, res.status, res.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	zombie.cmd.Process.Signal(syscall.SIGCONT)
	res := c.wait(zombie)
	// Fenced by Kafka (the usual case), or, if it stalled a moment after
	// its transaction ended, refused by the checkpoint's create-if-absent
	// offsets log at its next batch. Either way it writes nothing more.
	fenced := strings.Contains(res.stderr, "fenced by a newer instance")
	if res.code != exitFailed || !fenced && !strings.Contains(res.stderr, "wal: concurrent writer") {
		second.cmd.Process.Kill()
		c.wait(second)
		c.fatalf("the woken zombie should fail, fenced; it ended with %s\nstderr:\n%s", res.status, res.stderr)
	}
	second.cmd.Process.Signal(syscall.SIGKILL)
	if r := c.wait(second); !r.signaled {
		c.fatalf("the second instance ended by itself (%s)\nstderr:\n%s", r.status, r.stderr)
	}
	c.produce(30)
	c.finalRun()
	c.verify()
	if fenced {
		t.Logf("zombie stalled in batch %d, fenced by the second instance: %s", stalledAt, firstLine(res.stderr, "fenced by a newer instance"))
	} else {
		t.Logf("zombie stalled after its batch %d committed; the offsets log refused its next batch: %s", stalledAt, firstLine(res.stderr, "concurrent writer"))
	}
}

type crasher struct {
	t      *testing.T
	seed   uint64
	rng    *rand.Rand
	dir    string
	ckpt   string
	broker *devkafka.Broker
	prod   *kgo.Client
	kcat   string // path, "" when not installed
	events []event
	kills  map[string]int
	runs   int
}

// event is one input record: seq i of user u<i%users> at startMs + i*spacing.
type event struct {
	seq  int64
	user string
	ts   int64 // ms
}

func newCrasher(t *testing.T) *crasher {
	seed := *flagSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -kafkacrash.seed=%d)", seed, seed)
	c := &crasher{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0xca5c)), dir: t.TempDir(), kills: map[string]int{}}
	c.ckpt = filepath.Join(c.dir, "ckpt")
	b, err := devkafka.Start(context.Background(), devkafka.Config{Topics: []string{inTopic}, Partitions: inPartitions})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.CreateTopics(context.Background(), outPartitions, outTopic); err != nil {
		t.Fatal(err)
	}
	c.broker = b
	c.prod, err = b.Client(kgo.DefaultProduceTopic(inTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.prod.Close)
	if p, err := exec.LookPath("kcat"); err == nil {
		c.kcat = p
	} else {
		t.Log("kcat is not installed (apt-get install kcat; .ci/run installs it): input is produced and output checked with franz-go only")
	}
	return c
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
	c.t.Fatalf("seed %d (rerun with -kafkacrash.seed=%d): %s", c.seed, c.seed, fmt.Sprintf(format, args...))
}

// produce appends n events to the input topic: through kcat (an outside
// producer) when it is installed, every other call; franz-go otherwise.
func (c *crasher) produce(n int) {
	c.t.Helper()
	var lines []string
	var recs []*kgo.Record
	for i := 0; i < n; i++ {
		seq := int64(len(c.events))
		e := event{seq: seq, user: "u" + strconv.Itoa(int(seq%users)), ts: startMs + seq*eventSpacingMs}
		c.events = append(c.events, e)
		v := fmt.Sprintf(`{"user":%q,"seq":%d,"ts":%q}`, e.user, e.seq, time.UnixMilli(e.ts).UTC().Format("2006-01-02T15:04:05.000Z"))
		lines = append(lines, e.user+"\t"+v)
		recs = append(recs, &kgo.Record{Key: []byte(e.user), Value: []byte(v)})
	}
	if c.kcat != "" && c.rng.IntN(2) == 0 {
		cmd := exec.Command(c.kcat, "-P", "-b", c.broker.Addr(), "-t", inTopic, "-K", "\t")
		cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			c.fatalf("kcat -P: %v: %s", err, out)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		c.fatalf("produce input: %v", err)
	}
}

type childSpec struct {
	api    string
	kill   string // "[stop:]point:n" or ""
	final  bool
	noLock bool
}

type child struct {
	spec    childSpec
	cmd     *exec.Cmd
	stderr  bytes.Buffer
	running chan struct{}
	exited  chan struct{}
	scanned chan struct{}
	ran     bool
}

type childResult struct {
	code     int
	signaled bool
	status   string
	stderr   string
	ran      bool
}

func (c *crasher) startChild(spec childSpec) *child {
	c.t.Helper()
	c.runs++
	ch := &child{spec: spec, running: make(chan struct{}), exited: make(chan struct{}), scanned: make(chan struct{})}
	ch.cmd = exec.Command(os.Args[0], "-test.run=^TestKafkaChild$", "-test.count=1")
	env := []string{envChild + "=1", envBroker + "=" + c.broker.Addr(), envCkpt + "=" + c.ckpt, envAPI + "=" + spec.api, envKill + "=" + spec.kill}
	if spec.final {
		env = append(env, envFinal+"=1")
	}
	if spec.noLock {
		env = append(env, envNoLock+"=1")
	}
	ch.cmd.Env = append(os.Environ(), env...)
	ch.cmd.Stderr = &ch.stderr
	stdout, err := ch.cmd.StdoutPipe()
	if err != nil {
		c.fatalf("%v", err)
	}
	if err := ch.cmd.Start(); err != nil {
		c.fatalf("start child: %v", err)
	}
	go func() {
		defer close(ch.scanned)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "running" && !ch.ran {
				ch.ran = true
				close(ch.running)
			}
		}
	}()
	return ch
}

// wait reaps the child, killing it after 3 minutes: a hang is a failure.
func (c *crasher) wait(ch *child) childResult {
	c.t.Helper()
	hung := time.AfterFunc(3*time.Minute, func() { ch.cmd.Process.Kill() })
	<-ch.scanned
	err := ch.cmd.Wait()
	close(ch.exited)
	if !hung.Stop() {
		c.fatalf("child %+v hung for 3 minutes; stderr:\n%s", ch.spec, ch.stderr.String())
	}
	res := childResult{stderr: ch.stderr.String(), ran: ch.ran, status: "exit 0"}
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		ws := ee.Sys().(syscall.WaitStatus)
		res.code = ws.ExitStatus()
		res.status = "exit " + strconv.Itoa(res.code)
		if ws.Signaled() {
			res.code, res.signaled, res.status = -1, ws.Signal() == syscall.SIGKILL, "signal "+ws.Signal().String()
		}
	} else if err != nil {
		c.fatalf("wait child: %v", err)
	}
	return res
}

// waitStopped waits until the child stopped itself (SIGSTOP).
func (c *crasher) waitStopped(ch *child) bool {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", ch.cmd.Process.Pid))
		if err != nil {
			return false
		}
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'T' {
			return true
		}
		select {
		case <-ch.scanned:
			return false // exited
		case <-time.After(10 * time.Millisecond):
		}
	}
	return false
}

// killRun runs a child that dies by SIGKILL: at a chosen point (the child
// kills itself; engine API only) or after a random delay.
func (c *crasher) killRun(run int) {
	c.t.Helper()
	spec := childSpec{api: "df"}
	if c.rng.IntN(2) == 0 {
		spec.api = "engine"
	}
	var label string
	var delay time.Duration
	fromExec := false
	switch r := c.rng.IntN(10); {
	case spec.api == "engine" && r < 6:
		p := points[c.rng.IntN(len(points))]
		n := 1 + c.rng.IntN(3)
		if p == "sink-before-init" {
			n = 1
		}
		spec.kill = fmt.Sprintf("%s:%d", p, n)
		label, delay = p, 10*time.Second // backstop when the point is not reached
	case r < 8:
		label, delay = "wall-clock", time.Duration(c.rng.Int64N(int64(400*time.Millisecond)))
	default:
		label, delay, fromExec = "wall-clock-from-exec", time.Duration(c.rng.Int64N(int64(1500*time.Millisecond))), true
	}
	ch := c.startChild(spec)
	killed := make(chan bool, 1)
	go func() {
		if !fromExec {
			select {
			case <-ch.running:
			case <-ch.exited:
				killed <- false
				return
			}
		}
		select {
		case <-time.After(delay):
			ch.cmd.Process.Signal(syscall.SIGKILL)
			killed <- true
		case <-ch.exited:
			killed <- false
		}
	}()
	res := c.wait(ch)
	parentKilled := <-killed
	if !res.signaled {
		c.fatalf("run %d (%+v, %s) should have died by SIGKILL but ended with %s\nstderr:\n%s", run, spec, label, res.status, res.stderr)
	}
	if parentKilled && spec.kill != "" {
		label = "backstop(" + label + ")"
	}
	c.kills[label]++
}

// lockCheck starts a child, then a second on the same checkpoint, which
// must refuse to start naming the checkpoint; then kills the first.
func (c *crasher) lockCheck() {
	c.t.Helper()
	first := c.startChild(childSpec{api: "df"})
	select {
	case <-first.running:
	case <-first.scanned:
	}
	if !first.ran {
		res := c.wait(first)
		c.fatalf("lock check: the first child did not start (%s)\nstderr:\n%s", res.status, res.stderr)
	}
	second := c.startChild(childSpec{api: "engine"})
	stop := time.AfterFunc(60*time.Second, func() { second.cmd.Process.Kill() })
	rival := c.wait(second)
	stop.Stop()
	first.cmd.Process.Signal(syscall.SIGKILL)
	if res := c.wait(first); !res.signaled {
		c.fatalf("lock check: the first child ended with %s before it was killed\nstderr:\n%s", res.status, res.stderr)
	}
	c.kills["lock-check"]++
	if rival.code != exitFailed || rival.ran {
		c.fatalf("lock check: a second query on checkpoint %s started (%s); it must be refused while the first runs\nstderr:\n%s", c.ckpt, rival.status, rival.stderr)
	}
	if !strings.Contains(rival.stderr, c.ckpt) || !strings.Contains(rival.stderr, "in use") {
		c.fatalf("lock check: the second query's error must name checkpoint %s and say it is in use; got:\n%s", c.ckpt, rival.stderr)
	}
}

// finalRun processes everything produced so far and stops (AvailableNow).
func (c *crasher) finalRun() {
	c.t.Helper()
	api := "df"
	if c.rng.IntN(2) == 0 {
		api = "engine"
	}
	res := c.wait(c.startChild(childSpec{api: api, final: true}))
	if res.code != exitDone {
		c.fatalf("final run (%s API) ended with %s\nstderr:\n%s", api, res.status, res.stderr)
	}
}

func (c *crasher) latestID(log string) int64 {
	ents, err := os.ReadDir(filepath.Join(c.ckpt, log))
	if err != nil {
		return -1
	}
	best := int64(-1)
	for _, e := range ents {
		if id, ok := wal.ParseID(e.Name()); ok && id > best {
			best = id
		}
	}
	return best
}

// outRecord is one record of the output topic.
type outRecord struct {
	partition int32
	offset    int64
	key       string
	value     string
}

type countValue struct {
	User  string `json:"user"`
	Start string `json:"start"`
	N     int64  `json:"n"`
	S     int64  `json:"s"`
}

// verify reads the output as read_committed consumers do and checks it
// update by update against the input.
func (c *crasher) verify() {
	c.t.Helper()
	recs := c.consume()
	type agg struct{ n, s int64 }
	want := map[string]agg{}
	for _, e := range c.events {
		start := e.ts - (e.ts-startMs)%windowMs
		k := e.user + "@" + time.UnixMilli(start).UTC().Format("2006-01-02T15:04:05.000Z")
		a := want[k]
		a.n++
		a.s += e.seq
		want[k] = a
	}
	last := map[string]countValue{}
	for _, r := range recs {
		var v countValue
		if err := json.Unmarshal([]byte(r.value), &v); err != nil {
			c.fatalf("output %d/%d: value %q is not the JSON of a count: %v", r.partition, r.offset, r.value, err)
		}
		if r.key != v.User {
			c.fatalf("output %d/%d: key %q but user %q", r.partition, r.offset, r.key, v.User)
		}
		k := v.User + "@" + v.Start
		if prev, ok := last[k]; ok && v.N <= prev.N {
			c.fatalf("output %d/%d: %s counted %d after %d: an update written twice (a replayed or aborted batch is visible)", r.partition, r.offset, k, v.N, prev.N)
		}
		if w, ok := want[k]; !ok || v.N > w.n {
			c.fatalf("output %d/%d: %s counted %d, but the input has %d: records counted twice", r.partition, r.offset, k, v.N, w.n)
		}
		last[k] = v
	}
	for k, w := range want {
		got, ok := last[k]
		if !ok {
			c.fatalf("no output for %s (%d input records): lost", k, w.n)
		}
		if got.N != w.n || got.S != w.s {
			c.fatalf("%s ends at count %d, sum of seq %d; the input gives %d, %d", k, got.N, got.S, w.n, w.s)
		}
	}
	if c.kcat != "" {
		c.kcatAgrees(recs)
	}
	c.t.Logf("verified %d updates of %d (user, window) keys over %d input records", len(recs), len(want), len(c.events))
}

// consume reads the whole output topic read_committed with franz-go, in
// offset order per partition, until it has been quiet for a while (the
// consumer does not say where markers and aborted records ended; a read
// cut short fails the checks, and kcat's -e read is compared with it).
func (c *crasher) consume() []outRecord {
	c.t.Helper()
	cl, err := c.broker.Client(kgo.ConsumeTopics(outTopic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		c.fatalf("%v", err)
	}
	defer cl.Close()
	var recs []outRecord
	deadline := time.Now().Add(2 * time.Minute)
	quietSince := time.Now()
	for time.Since(quietSince) < 2*time.Second {
		if time.Now().After(deadline) {
			c.fatalf("reading %s: still getting records after 2 minutes", outTopic)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			recs = append(recs, outRecord{r.Partition, r.Offset, string(r.Key), string(r.Value)})
			n++
		})
		if n > 0 {
			quietSince = time.Now()
		}
	}
	slices.SortStableFunc(recs, func(a, b outRecord) int {
		if a.partition != b.partition {
			return int(a.partition - b.partition)
		}
		return int(a.offset - b.offset)
	})
	return recs
}

// kcatAgrees reads the output with kcat, an outside read_committed
// consumer, and compares record by record; read_uncommitted shows how
// many records of aborted transactions the committed view hid.
func (c *crasher) kcatAgrees(recs []outRecord) {
	c.t.Helper()
	read := func(iso string) []string {
		out, err := exec.Command(c.kcat, "-C", "-b", c.broker.Addr(), "-t", outTopic, "-e", "-q",
			"-X", "isolation.level="+iso, "-f", "%p %o %k %s\n").Output()
		if err != nil {
			c.fatalf("kcat -C (%s): %v", iso, err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) == 1 && lines[0] == "" {
			lines = nil
		}
		slices.Sort(lines)
		return lines
	}
	var ours []string
	for _, r := range recs {
		ours = append(ours, fmt.Sprintf("%d %d %s %s", r.partition, r.offset, r.key, r.value))
	}
	slices.Sort(ours)
	committed := read("read_committed")
	if !slices.Equal(committed, ours) {
		c.fatalf("kcat (read_committed) saw %d records, franz-go %d; first kcat lines: %q", len(committed), len(ours), committed[:min(5, len(committed))])
	}
	all := read("read_uncommitted")
	c.t.Logf("kcat: %d committed records; read_uncommitted also sees %d records of aborted transactions", len(committed), len(all)-len(committed))
}

func firstLine(s, containing string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, containing) {
			return l
		}
	}
	return ""
}
