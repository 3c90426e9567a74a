package filecrash

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/internal/crashtest"
	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/internal/testutil/versitygw"
	"github.com/sluicehq/sluice/trigger"
)

var (
	flagKills   = flag.Int("filecrash.kills", 40, "SIGKILLs TestFileCrash delivers on local disk (-short: a third)")
	flagS3Kills = flag.Int("filecrash.s3kills", 10, "SIGKILLs TestFileCrashS3 delivers; each restart waits out the S3 lease (about 3s) (-short: a third)")
	flagSeed    = flag.Uint64("filecrash.seed", 0, "seed of the choices; 0 picks one from the time (printed on failure)")
)

// The input: numFiles JSON files of rowsPerFile events each, file i
// covering event times [i*4s, i*4s+4s) after base, so with one file per
// batch no event is ever behind the watermark; then a sentinel event an
// hour later that moves the watermark past every window of the input.
const (
	numFiles    = 24
	rowsPerFile = 20
	fileSpanMs  = 4000
	numKeys     = 5
)

var base = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type event struct {
	ts time.Time
	k  string
	v  int64
}

func fileEvents(i int) []event {
	out := make([]event, rowsPerFile)
	for j := range out {
		out[j] = event{
			ts: base.Add(time.Duration(i*fileSpanMs+j*fileSpanMs/rowsPerFile) * time.Millisecond),
			k:  fmt.Sprintf("k%d", (i*7+j)%numKeys),
			v:  int64(i*1000 + j),
		}
	}
	return out
}

func fileBody(evs []event) []byte {
	var b bytes.Buffer
	for _, e := range evs {
		fmt.Fprintf(&b, `{"ts":"%s","k":"%s","v":%d}`+"\n", e.ts.Format("2006-01-02T15:04:05.000Z"), e.k, e.v)
	}
	return b.Bytes()
}

// expected is the batch answer over every input file (the sentinel's own
// window stays open, so it is not in the output): "wsMicros|k|n|total".
func expected() []string {
	type key struct {
		ws int64
		k  string
	}
	type agg struct{ n, total int64 }
	m := map[key]agg{}
	for i := 0; i < numFiles; i++ {
		for _, e := range fileEvents(i) {
			ws := e.ts.Truncate(10 * time.Second).UnixMicro()
			a := m[key{ws, e.k}]
			m[key{ws, e.k}] = agg{a.n + 1, a.total + e.v}
		}
	}
	var out []string
	for k, a := range m {
		out = append(out, fmt.Sprintf("%d|%s|%d|%d", k.ws, k.k, a.n, a.total))
	}
	slices.Sort(out)
	return out
}

// world is where one crash test keeps its input, output and checkpoint.
type world struct {
	t         *testing.T
	name      string
	seed      uint64
	rng       *rand.Rand
	in        string // locations handed to the child
	out       string
	ckpt      string
	inFS      storage.FS
	inRoot    string
	outFS     storage.FS
	outRoot   string
	local     string // the local directory, "" on S3
	backstop  time.Duration
	maxDelay  time.Duration
	added     int
	kills     map[string]int
	runs      int
	startedAt time.Time
}

func newWorld(t *testing.T, name string, in, out, ckpt string) *world {
	seed := *flagSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	w := &world{t: t, name: name, seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0xf11e)), in: in, out: out, ckpt: ckpt,
		kills: map[string]int{}, startedAt: time.Now()}
	var err error
	if w.inFS, w.inRoot, err = storage.Open(in); err != nil {
		t.Fatal(err)
	}
	if w.outFS, w.outRoot, err = storage.Open(out); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: seed %d (rerun with -filecrash.seed=%d)", name, seed, seed)
	return w
}

func (w *world) fatalf(format string, args ...any) {
	w.t.Helper()
	w.t.Fatalf("%s: seed %d (rerun with -filecrash.seed=%d): %s", w.name, w.seed, w.seed, fmt.Sprintf(format, args...))
}

// addFile puts input file i (numFiles: the sentinel). Local files get
// modification times one second apart, so the source takes them in
// order; on S3 the server stamps them in write order and equal stamps
// fall back to name order.
func (w *world) addFile(i int) {
	w.t.Helper()
	evs := []event{{ts: base.Add(time.Hour), k: "end"}}
	if i < numFiles {
		evs = fileEvents(i)
	}
	name := path.Join(w.inRoot, fmt.Sprintf("f%03d.json", i))
	if err := w.inFS.WriteFile(context.Background(), name, fileBody(evs), storage.WriteOptions{}); err != nil {
		w.fatalf("add input file %d: %v", i, err)
	}
	if w.local != "" {
		mt := time.Unix(1_700_000_000+int64(i), 0)
		if err := os.Chtimes(name, mt, mt); err != nil {
			w.fatalf("%v", err)
		}
	}
}

type childSpec struct {
	api   string
	kill  string
	final bool
}

type child struct {
	spec childSpec
	*crashtest.Child
}

func (w *world) startChild(spec childSpec) *child {
	w.t.Helper()
	w.runs++
	final := ""
	if spec.final {
		final = "1"
	}
	c, err := crashtest.StartChild("TestFileCrashChild", envChild+"=1", envIn+"="+w.in, envOut+"="+w.out, envCkpt+"="+w.ckpt,
		envAPI+"="+spec.api, envKill+"="+spec.kill, envFinal+"="+final)
	if err != nil {
		w.fatalf("%v", err)
	}
	return &child{spec: spec, Child: c}
}

// wait reaps the child, killing it after 90s: a hang is a failure.
func (w *world) wait(ch *child) crashtest.Result {
	w.t.Helper()
	res, err := ch.Wait(90 * time.Second)
	if err != nil {
		w.fatalf("%v", err)
	}
	if res.Hung {
		w.fatalf("child %+v hung for 90s; stderr:\n%s", ch.spec, res.Stderr)
	}
	return res
}

// killRun adds input files, runs a child and kills it: at a chosen point
// of a write (engine runs kill themselves there), or after a random
// delay once it runs.
func (w *world) killRun() {
	w.t.Helper()
	if w.added < numFiles && (w.runs < 2 || w.rng.IntN(10) < 6) {
		for n := 1 + w.rng.IntN(2); n > 0 && w.added < numFiles; n-- {
			w.addFile(w.added)
			w.added++
		}
	}
	spec := childSpec{api: "df"}
	if w.rng.IntN(3) != 0 {
		spec.api = "engine"
	}
	label := "wall-clock"
	delay := time.Duration(w.rng.Int64N(int64(w.maxDelay)))
	if spec.api == "engine" && w.rng.IntN(4) != 0 {
		label = points[w.rng.IntN(len(points))]
		spec.kill = fmt.Sprintf("%s:%d", label, 1+w.rng.IntN(3))
		delay = w.backstop
	}
	ch := w.startChild(spec)
	parentKilled := make(chan bool, 1)
	go func() {
		select {
		case <-ch.Seen("running"):
		case <-ch.Exited():
			parentKilled <- false
			return
		}
		select {
		case <-time.After(delay):
			ch.Kill()
			parentKilled <- true
		case <-ch.Exited():
			parentKilled <- false
		}
	}()
	res := w.wait(ch)
	if !res.Signaled {
		w.fatalf("run %d (%+v) should have died by SIGKILL but ended with %s\nstderr:\n%s", w.runs, spec, res.Status, res.Stderr)
	}
	if <-parentKilled && spec.kill != "" {
		label = "backstop"
	}
	w.kills[label]++
}

func (w *world) total() int {
	n := 0
	for _, v := range w.kills {
		n += v
	}
	return n
}

// run kills children until kills is reached, then adds the rest of the
// input and the sentinel, runs to the end and verifies.
func (w *world) run(kills int) {
	for w.total() < kills {
		w.killRun()
	}
	for ; w.added <= numFiles; w.added++ {
		w.addFile(w.added)
	}
	spec := childSpec{api: "df", final: true}
	if w.rng.IntN(2) == 0 {
		spec.api = "engine"
	}
	if res := w.wait(w.startChild(spec)); res.Code != exitDone || res.Signaled {
		w.fatalf("final run (%s) ended with %s\nstderr:\n%s", spec.api, res.Status, res.Stderr)
	}
	leftovers := w.verify()
	names := slices.Sorted(maps.Keys(w.kills))
	var sb strings.Builder
	for _, n := range names {
		fmt.Fprintf(&sb, " %s=%d", n, w.kills[n])
	}
	w.t.Logf("%s: %d kills in %d child runs, %.1fs; %d data files outside the manifest (invisible); kills by point:%s",
		w.name, w.total(), w.runs, time.Since(w.startedAt).Seconds(), leftovers, sb.String())
}

// verify reads the output through its manifest, file by file: every
// named file exists with the size and row count the manifest records,
// and the rows are exactly the batch answer. It returns how many data
// files lie outside the manifest (left by killed batches).
func (w *world) verify() int {
	w.t.Helper()
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(w.t, 0)
	m, err := fileformat.ReadManifest(ctx, w.outFS, w.outRoot)
	if err != nil || !m.Present {
		w.fatalf("read the manifest: present %v, %v", m != nil && m.Present, err)
	}
	named := map[string]bool{}
	var got []string
	for _, f := range m.Files {
		if f.Rewritten {
			continue
		}
		name := path.Join(w.outRoot, f.Path)
		named[name] = true
		rows := w.readFile(ctx, mem, name, f.Size)
		if int64(len(rows)) != f.Rows {
			w.fatalf("%s: %d rows, the manifest says %d", f.Path, len(rows), f.Rows)
		}
		got = append(got, rows...)
	}
	slices.Sort(got)
	want := expected()
	if !slices.Equal(got, want) {
		w.fatalf("rows through the manifest differ from the batch answer:\n%s", diff(got, want))
	}
	// The project's readers agree: batch Read (local) and the streaming
	// file source (both storages).
	s := dataframe.NewSessionWith(dataframe.Config{Allocator: mem})
	if w.local != "" {
		if rows := renderRows(w.t, s.Read().Parquet(w.out).Select("ws", "k", "n", "total")); !slices.Equal(rows, want) {
			w.fatalf("batch Read of the output differs:\n%s", diff(rows, want))
		}
	}
	q, err := s.ReadStreamFormat("parquet").Schema("ws TIMESTAMP, n BIGINT, total BIGINT, k STRING").Option("partitionColumns", "k").
		Load(w.out).Select("ws", "k", "n", "total").WriteStream().Format("memory").QueryName("back").
		Option("checkpointLocation", w.t.TempDir()).Trigger(trigger.AvailableNow()).Start(ctx)
	if err != nil {
		w.fatalf("stream the output back: %v", err)
	}
	if err := q.AwaitTermination(ctx); err != nil {
		w.fatalf("stream the output back: %v", err)
	}
	rows := renderRows(w.t, s.Table("back"))
	s.DropTempView("back")
	if !slices.Equal(rows, want) {
		w.fatalf("the file source over the output differs:\n%s", diff(rows, want))
	}
	// Data files outside the manifest: left by killed batches, never read.
	leftovers := 0
	parts, err := w.outFS.List(ctx, w.outRoot)
	if err != nil {
		w.fatalf("%v", err)
	}
	for _, p := range parts {
		if !strings.HasPrefix(p.Name, "k=") {
			continue
		}
		files, err := w.outFS.List(ctx, path.Join(w.outRoot, p.Name))
		if err != nil {
			w.fatalf("%v", err)
		}
		for _, f := range files {
			if !named[path.Join(w.outRoot, p.Name, f.Name)] {
				leftovers++
			}
		}
	}
	return leftovers
}

// readFile reads one data file named by the manifest; rows as
// "wsMicros|k|n|total" with k from the partition directory.
func (w *world) readFile(ctx context.Context, mem memory.Allocator, name string, size int64) []string {
	w.t.Helper()
	st, err := w.outFS.Stat(ctx, name)
	if err != nil {
		w.fatalf("a file the manifest names is not readable (a partial file?): %v", err)
	}
	if st.Size != size {
		w.fatalf("%s: %d bytes, the manifest says %d", name, st.Size, size)
	}
	f, err := w.outFS.Open(ctx, name)
	if err != nil {
		w.fatalf("%v", err)
	}
	defer f.Close()
	pq := fileformat.Parquet{}
	sc, err := pq.InferReaderAt(ctx, f, f.Size(), name, fileformat.ReadOptions{Mem: mem})
	if err != nil {
		w.fatalf("%s: %v", name, err)
	}
	r, err := pq.OpenReaderAt(ctx, f, f.Size(), name, fileformat.ReadOptions{Schema: sc, Mem: mem})
	if err != nil {
		w.fatalf("%s: %v", name, err)
	}
	defer r.Close()
	k := strings.TrimPrefix(path.Base(path.Dir(name)), "k=")
	var out []string
	for {
		b, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			w.fatalf("%s: %v", name, err)
		}
		ws, ok1 := b.Column(sc.FieldIndices("ws")[0]).(*array.Timestamp)
		n, ok2 := b.Column(sc.FieldIndices("n")[0]).(*array.Int64)
		total, ok3 := b.Column(sc.FieldIndices("total")[0]).(*array.Int64)
		if !ok1 || !ok2 || !ok3 {
			b.Release()
			w.fatalf("%s: unexpected schema %s", name, sc)
		}
		for i := 0; i < int(b.NumRows()); i++ {
			out = append(out, fmt.Sprintf("%d|%s|%d|%d", int64(ws.Value(i)), k, n.Value(i), total.Value(i)))
		}
		b.Release()
	}
	return out
}

// renderRows runs df and renders its rows as "wsMicros|k|n|total".
func renderRows(t *testing.T, df *dataframe.DataFrame) []string {
	t.Helper()
	rows, err := df.Rows()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		ws := r[0]
		switch v := ws.(type) {
		case time.Time:
			ws = v.UnixMicro()
		case arrow.Timestamp:
			ws = int64(v)
		}
		out[i] = fmt.Sprintf("%v|%v|%v|%v", ws, r[1], r[2], r[3])
	}
	slices.Sort(out)
	return out
}

// diff lists rows missing and rows extra (duplicates count).
func diff(got, want []string) string {
	count := map[string]int{}
	for _, r := range want {
		count[r]++
	}
	for _, r := range got {
		count[r]--
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "got %d rows, want %d\n", len(got), len(want))
	for _, r := range slices.Sorted(maps.Keys(count)) {
		switch c := count[r]; {
		case c > 0:
			fmt.Fprintf(&sb, "  missing %s (x%d)\n", r, c)
		case c < 0:
			fmt.Fprintf(&sb, "  extra   %s (x%d)\n", r, -c)
		}
	}
	return sb.String()
}

func scaled(n int) int {
	if testing.Short() {
		return max(1, n/3)
	}
	return n
}

// TestFileCrash: the pipeline on local disk.
func TestFileCrash(t *testing.T) {
	dir := t.TempDir()
	w := newWorld(t, "local", filepath.Join(dir, "in"), filepath.Join(dir, "out"), filepath.Join(dir, "ckpt"))
	w.local = dir
	w.backstop, w.maxDelay = 2*time.Second, 150*time.Millisecond
	if err := os.MkdirAll(filepath.Join(dir, "in"), 0o755); err != nil {
		t.Fatal(err)
	}
	w.run(scaled(*flagKills))
}

// TestFileCrashS3: the pipeline with input, output and checkpoint on S3
// (versitygw). A restart after a kill waits out the dead child's lease.
func TestFileCrashS3(t *testing.T) {
	srv := versitygw.New(t)
	bucket := fmt.Sprintf("filecrash-%d", time.Now().UnixNano()%1_000_000_000)
	if err := srv.CreateBucket(context.Background(), bucket); err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, "s3", srv.URL(bucket, "in"), srv.URL(bucket, "out"), srv.URL(bucket, "ckpt")+"&leaseTTL=2s")
	w.backstop, w.maxDelay = 6*time.Second, 2*time.Second
	w.run(scaled(*flagS3Kills))
}
