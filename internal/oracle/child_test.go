package oracle

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/internal/crashtest"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sources"
	"github.com/sluicehq/sluice/wal"
)

// The child of TestOracleCrash is this test binary re-executed with
// -test.run=^TestOracleCrashChild$ and these variables.
const (
	envChild    = "SLUICE_ORACLE_CHILD"    // "1" in a child
	envCase     = "SLUICE_ORACLE_CASE"     // case name
	envMode     = "SLUICE_ORACLE_MODE"     // output mode
	envScenario = "SLUICE_ORACLE_SCENARIO" // scenario seed (newCrashScenario)
	envCkpt     = "SLUICE_ORACLE_CKPT"     // checkpoint directory
	envOut      = "SLUICE_ORACLE_OUT"      // sink output directory
	envKill     = "SLUICE_ORACLE_KILL"     // crashtest.KillSpec, or empty
	envFinal    = "SLUICE_ORACLE_FINAL"    // "1": stop cleanly once every chunk is processed
)

// Exit codes of a child.
const (
	exitStopped  = 0 // the final run processed everything and stopped
	exitFailed   = 2 // the query failed or could not start; stderr says why
	exitMismatch = 3 // a replayed batch differed from its first attempt
	exitRerun    = 4 // the engine ran a batch whose commit was already logged
)

// Kill points of the child's source and sink (the checkpoint's are
// crashtest's).
const (
	pointLatestOffset = "latest-offset"      // the source was asked for its offset; offsets/N not yet written
	pointGetBatch     = "get-batch"          // offsets/N written, the batch's rows not yet read
	pointSinkPartial  = "sink-partial"       // inside the sink: half of the batch's file written and fsynced
	pointSinkRename   = "sink-before-rename" // inside the sink: the whole temp file written, not published
	pointAfterSink    = "after-sink"         // the sink returned; state and commits/N not yet written
)

// TestOracleCrashChild is the child process of TestOracleCrash; run
// alone it skips.
func TestOracleCrashChild(t *testing.T) {
	if os.Getenv(envChild) == "" {
		t.Skip("the child process of TestOracleCrash")
	}
	if err := childMain(); err != nil {
		fmt.Fprintln(os.Stderr, "oracle child:", err)
		os.Exit(exitFailed)
	}
	os.Exit(exitStopped)
}

func caseNamed(name string) (*Case, error) {
	for i := range cases {
		if cases[i].Name == name {
			return &cases[i], nil
		}
	}
	return nil, fmt.Errorf("no case %q", name)
}

func childMain() error {
	c, err := caseNamed(os.Getenv(envCase))
	if err != nil {
		return err
	}
	mode, err := sinks.ParseOutputMode(os.Getenv(envMode))
	if err != nil {
		return err
	}
	seed, err := strconv.ParseUint(os.Getenv(envScenario), 10, 64)
	if err != nil {
		return fmt.Errorf("bad %s: %w", envScenario, err)
	}
	k, err := crashtest.ParseKiller(os.Getenv(envKill))
	if err != nil {
		return err
	}
	ckpt, out := os.Getenv(envCkpt), os.Getenv(envOut)
	final := os.Getenv(envFinal) == "1"
	sc := newCrashScenario(seed, inputsOf(c))
	mem := memory.NewGoAllocator()
	ctx := context.Background()

	s := dataframe.NewSessionWith(dataframe.Config{Allocator: mem, ShufflePartitions: sc.partitions, BatchSize: sc.batchSize})
	ins := make([]*dataframe.DataFrame, inputsOf(c))
	for i := range ins {
		ins[i] = withWatermark(c, s.ReadStream(&chunkSource{sc: sc, input: i, mem: mem, k: k}))
	}
	df := c.query(ins...)
	if df.Err() != nil {
		return df.Err()
	}
	fsys := storage.WithHooks(storage.Local{}, k.CheckpointHooks())
	ck, err := microbatch.OpenCheckpointFS(ctx, fsys, ckpt, wal.Options{MinBatchesToRetain: sc.retain})
	if err != nil {
		return fmt.Errorf("open checkpoint: %w", err)
	}
	idle := make(chan struct{})
	var once sync.Once
	var batches atomic.Int64
	listener := microbatch.ListenerFuncs{
		Idle: func(microbatch.IdleEvent) {
			// The source always has a next chunk until the last one: idle
			// means every chunk is processed (and any no-data batch run).
			once.Do(func() { close(idle) })
		},
		Progress: func(microbatch.ProgressEvent) {
			// The parent may kill a moment after the kth batch.
			fmt.Printf("batch %d\n", batches.Add(1))
		},
	}
	sink := &fileSink{dir: out, ckpt: ckpt, k: k, rd: &renderer{c: c}}
	q, err := microbatch.Start(ctx, microbatch.Config{Name: "oracle", Plan: df.Plan(), Sink: sink, Mode: mode,
		Checkpoint: ck, Mem: mem, ShufflePartitions: sc.partitions, BatchSize: sc.batchSize,
		Listeners: []microbatch.Listener{listener}})
	if err != nil {
		ck.Close()
		return fmt.Errorf("start: %w", err)
	}
	fmt.Println("running")
	select {
	case <-idle:
		fmt.Println("idle")
	case <-q.Done():
		return fmt.Errorf("query stopped by itself: %w", q.Exception())
	}
	if !final {
		<-q.Done() // until killed
		return fmt.Errorf("query stopped by itself: %w", q.Exception())
	}
	if err := q.Stop(ctx); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	if err := q.Exception(); err != nil {
		return fmt.Errorf("query failed: %w", err)
	}
	return nil
}

// chunkSource serves one input of a scenario, one chunk per micro-batch:
// offset n covers chunks 0..n. It is deterministic, so every process
// serves the same rows for the same offsets.
type chunkSource struct {
	sc    *scenario
	input int
	mem   memory.Allocator
	k     *crashtest.Killer
}

func (s *chunkSource) Schema() *arrow.Schema { return inputSchema }

func (s *chunkSource) LatestOffset(ctx context.Context, start sources.Offset, limit sources.ReadLimit) (sources.Offset, error) {
	from, err := parseChunk(start)
	if err != nil {
		return nil, err
	}
	s.k.Hit(pointLatestOffset)
	if from+1 >= int64(s.sc.chunks) {
		return start, nil
	}
	return formatChunk(from + 1), nil
}

func (s *chunkSource) GetBatch(ctx context.Context, start, end sources.Offset) (array.RecordReader, error) {
	from, err := parseChunk(start)
	if err != nil {
		return nil, err
	}
	to, err := parseChunk(end)
	if err != nil {
		return nil, err
	}
	s.k.Hit(pointGetBatch)
	var rows []event
	for c := from + 1; c <= to; c++ {
		rows = append(rows, s.sc.chunk(s.input, int(c))...)
	}
	b := record(s.mem, rows)
	defer b.Release()
	return array.NewRecordReader(inputSchema, []arrow.RecordBatch{b})
}

func (s *chunkSource) Commit(ctx context.Context, end sources.Offset) error { return nil }
func (s *chunkSource) Close() error                                         { return nil }

func parseChunk(o sources.Offset) (int64, error) {
	if len(o) == 0 {
		return -1, nil
	}
	var v struct {
		Chunk *int64 `json:"chunk"`
	}
	if err := json.Unmarshal(o, &v); err != nil || v.Chunk == nil {
		return 0, fmt.Errorf("%w: chunk source offset %q is not {\"chunk\":N}", sources.ErrSource, o)
	}
	return *v.Chunk, nil
}

func formatChunk(n int64) sources.Offset {
	return sources.Offset(`{"chunk":` + strconv.FormatInt(n, 10) + `}`)
}

// fileSink writes one file per batch id, <dir>/<id>, published
// atomically (temp file, fsync, rename, directory fsync), so a replayed
// batch lands on the same name; its rows must be identical to the first
// attempt's (the child exits with exitMismatch otherwise). A batch whose
// commit is logged must never come again (exitRerun).
type fileSink struct {
	dir  string
	ckpt string
	k    *crashtest.Killer
	rd   *renderer
}

// fileRow is one output row as a line of a batch file.
type fileRow struct {
	Key   string   `json:"key"`
	Bound int64    `json:"bound"`
	Cells []string `json:"cells"`
}

func (s *fileSink) AddBatch(ctx context.Context, id int64, mode sinks.OutputMode, rr array.RecordReader) error {
	var lines []string
	for rr.Next() {
		rows, err := s.rd.rows(rr.RecordBatch())
		if err != nil {
			return err
		}
		for _, r := range rows {
			l, err := json.Marshal(fileRow{Key: r.key, Bound: r.bound, Cells: r.cells})
			if err != nil {
				return err
			}
			lines = append(lines, string(l))
		}
	}
	if err := rr.Err(); err != nil {
		return err
	}
	slices.Sort(lines)
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "batch %d\n", id)
	for _, l := range lines {
		buf.WriteString(l)
		buf.WriteByte('\n')
	}
	return s.write(id, buf.Bytes())
}

func (s *fileSink) Close() error { return nil }

func (s *fileSink) write(id int64, content []byte) error {
	if _, err := os.Stat(filepath.Join(s.ckpt, "commits", strconv.FormatInt(id, 10))); err == nil {
		fmt.Fprintf(os.Stderr, "oracle child: the sink got batch %d, which commits/%d says is done\n", id, id)
		os.Exit(exitRerun)
	}
	if err := os.MkdirAll(s.dir, 0o777); err != nil {
		return err
	}
	final := filepath.Join(s.dir, strconv.FormatInt(id, 10))
	tmp := filepath.Join(s.dir, fmt.Sprintf(".tmp-%d-%d", id, os.Getpid()))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o666)
	if err != nil {
		return err
	}
	half := len(content) / 2
	_, err = f.Write(content[:half])
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		s.k.Hit(pointSinkPartial)
		_, err = f.Write(content[half:])
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	s.k.Hit(pointSinkRename)
	if old, err := os.ReadFile(final); err == nil {
		os.Remove(tmp)
		if !bytes.Equal(old, content) {
			os.WriteFile(final+".mismatch", fmt.Appendf(nil, "first attempt:\n%s\nreplay (pid %d):\n%s", old, os.Getpid(), content), 0o666)
			fmt.Fprintf(os.Stderr, "oracle child: batch %d replayed with different content\n", id)
			os.Exit(exitMismatch)
		}
	} else {
		if err := os.Rename(tmp, final); err != nil {
			return err
		}
		if err := syncDir(s.dir); err != nil {
			return err
		}
	}
	s.k.Hit(pointAfterSink)
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
