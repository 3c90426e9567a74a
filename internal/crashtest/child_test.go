package crashtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sources"
	"github.com/sluicehq/sluice/sources/rate"
	"github.com/sluicehq/sluice/wal"
)

// The child is this test binary re-executed with -test.run=^TestCrashChild$
// and these variables.
const (
	envChild  = "SLUICE_CRASH_CHILD"  // "1" in a child
	envCkpt   = "SLUICE_CRASH_CKPT"   // checkpoint directory
	envOut    = "SLUICE_CRASH_OUT"    // sink output directory
	envAPI    = "SLUICE_CRASH_API"    // "df": WriteStream().ForeachBatch; "engine": microbatch.Start over a hooked FS
	envKill   = "SLUICE_CRASH_KILL"   // "point:n": SIGKILL itself the nth time it reaches point; empty: never
	envTarget = "SLUICE_CRASH_TARGET" // stop cleanly once this batch id committed; empty: run until killed
)

// The query: rate-micro-batch, rowsPerBatch rows per batch, so batch b
// reads values [b*rowsPerBatch, (b+1)*rowsPerBatch) in every process.
const (
	rowsPerBatch  = 7
	startTsMs     = 1_700_000_000_000
	advanceMs     = 1000
	retainBatches = 3 // small, so every batch also purges and kills land in purges
)

// Exit codes of a child.
const (
	exitStopped  = 0 // reached the target and stopped
	exitFailed   = 2 // the query failed or could not start; stderr says why
	exitMismatch = 3 // a replayed batch differed from its first attempt
	exitRerun    = 4 // the engine ran a batch whose commit was already logged
)

// Kill points. Points of the "engine" API sit at the checkpoint's writes
// (through storage.WithHooks); the others work with both APIs.
var (
	pointsBoth = []string{
		"latest-offset",      // the sources were asked for offsets; offsets/N not yet written
		"get-batch",          // offsets/N written, the batch's data not yet read
		"sink-partial",       // inside the sink: half of the batch's file written and fsynced
		"sink-before-rename", // inside the sink: the whole temp file written, not published
		"after-sink",         // the sink returned; commits/N not yet written
	}
	pointsEngine = []string{
		"before-offsets",    // about to write offsets/N
		"after-offsets",     // offsets/N durable, nothing of the batch run
		"before-commit",     // the sink has the batch, commits/N not written
		"after-commit",      // commits/N durable, purge and progress not done
		"purge",             // removing old log entries
		"before-metadata",   // first start: metadata not yet written
		"before-source-log", // first start: the source's initial offset not yet logged
	}
)

// TestCrashChild is the child process of TestCrash; run alone it skips.
func TestCrashChild(t *testing.T) {
	if os.Getenv(envChild) == "" {
		t.Skip("the child process of TestCrash")
	}
	os.Exit(childMain())
}

// killingSource is the rate source with kill points around the loop's
// calls into it.
type killingSource struct {
	*rate.Source
	k *Killer
}

func (s *killingSource) LatestOffset(ctx context.Context, start sources.Offset, limit sources.ReadLimit) (sources.Offset, error) {
	o, err := s.Source.LatestOffset(ctx, start, limit)
	s.k.Hit("latest-offset")
	return o, err
}

func (s *killingSource) GetBatch(ctx context.Context, start, end sources.Offset) (array.RecordReader, error) {
	s.k.Hit("get-batch")
	return s.Source.GetBatch(ctx, start, end)
}

func childMain() int {
	ckpt, out, api := os.Getenv(envCkpt), os.Getenv(envOut), os.Getenv(envAPI)
	k, err := ParseKiller(os.Getenv(envKill))
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return exitFailed
	}
	target := int64(-1)
	if v := os.Getenv(envTarget); v != "" {
		target, _ = strconv.ParseInt(v, 10, 64)
	}
	ctx := context.Background()
	rs, err := rate.New(rate.Options{RowsPerBatch: rowsPerBatch, StartTimestamp: startTsMs, AdvanceMillisPerBatch: advanceMs, NumPartitions: 2})
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return exitFailed
	}
	s := dataframe.NewSession()
	df := s.ReadStream(&killingSource{Source: rs, k: k}).
		Filter("value % 3 != 0").
		WithColumn("doubled", dataframe.Expr("value * 2"))
	sink := &fileSink{dir: out, ckpt: ckpt, k: k}
	reached := make(chan struct{})
	var once sync.Once
	listener := microbatch.ListenerFuncs{Progress: func(e microbatch.ProgressEvent) {
		if target >= 0 && e.Progress.BatchID >= target {
			once.Do(func() { close(reached) })
		}
	}}
	type query interface {
		Stop(context.Context) error
		Done() <-chan struct{}
		Exception() error
	}
	var q query
	switch api {
	case "df":
		q, err = df.WriteStream().
			ForeachBatch(func(ctx context.Context, batch *dataframe.DataFrame, id int64) error {
				bs, err := batch.Collect()
				if err != nil {
					return err
				}
				defer func() {
					for _, b := range bs {
						b.Release()
					}
				}()
				return sink.write(id, bs)
			}).
			Option("checkpointLocation", ckpt).
			Option("minBatchesToRetain", strconv.Itoa(retainBatches)).
			QueryName("crash").
			Listener(listener).
			Start(ctx)
	case "engine":
		fsys := storage.WithHooks(storage.Local{}, k.CheckpointHooks())
		ck, cerr := microbatch.OpenCheckpointFS(ctx, fsys, ckpt, wal.Options{MinBatchesToRetain: retainBatches})
		if cerr != nil {
			err = cerr
			break
		}
		q, err = microbatch.Start(ctx, microbatch.Config{Name: "crash", Plan: df.Plan(), Sink: sink, Mode: sinks.Append,
			Checkpoint: ck, Listeners: []microbatch.Listener{listener}})
		if err != nil {
			ck.Close()
		}
	default:
		err = fmt.Errorf("bad %s=%q", envAPI, api)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child: start:", err)
		return exitFailed
	}
	fmt.Println("running") // the checkpoint is ours: the parent may start a rival
	select {
	case <-reached:
		if err := q.Stop(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "crash child: stop:", err)
			return exitFailed
		}
		if err := q.Exception(); err != nil {
			fmt.Fprintln(os.Stderr, "crash child: query failed:", err)
			return exitFailed
		}
		return exitStopped
	case <-q.Done():
		fmt.Fprintln(os.Stderr, "crash child: query stopped by itself:", q.Exception())
		return exitFailed
	}
}

// fileSink writes one file per batch id, <dir>/<id>, published atomically
// (temp file, fsync, rename, directory fsync), so a replayed batch lands
// on the same name. When the file exists, the replay's content must be
// identical; the child exits with exitMismatch otherwise. Every delivery
// is appended to <dir>/deliveries.
type fileSink struct {
	dir  string
	ckpt string // to check that a committed batch is never run again
	k    *Killer
}

func (s *fileSink) AddBatch(ctx context.Context, id int64, mode sinks.OutputMode, rows array.RecordReader) error {
	var bs []arrow.RecordBatch
	for rows.Next() {
		bs = append(bs, rows.RecordBatch())
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return s.write(id, bs)
}

func (s *fileSink) Close() error { return nil }

func (s *fileSink) write(id int64, bs []arrow.RecordBatch) error {
	// Exactly once: only the last, uncommitted batch may be replayed.
	if _, err := os.Stat(filepath.Join(s.ckpt, "commits", strconv.FormatInt(id, 10))); err == nil {
		fmt.Fprintf(os.Stderr, "crash child: the sink got batch %d, which commits/%d says is done\n", id, id)
		os.Exit(exitRerun)
	}
	content, err := encodeBatch(id, bs)
	if err != nil {
		return err
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
	if _, err := f.Write(content[:half]); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	s.k.Hit("sink-partial")
	if _, err := f.Write(content[half:]); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	s.k.Hit("sink-before-rename")
	kind := "first"
	if old, err := os.ReadFile(final); err == nil {
		kind = "replay"
		os.Remove(tmp)
		if !bytes.Equal(old, content) {
			os.WriteFile(final+".mismatch", fmt.Appendf(nil, "first attempt:\n%s\nreplay (pid %d):\n%s", old, os.Getpid(), content), 0o666)
			fmt.Fprintf(os.Stderr, "crash child: batch %d replayed with different content\n", id)
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
	if err := appendLine(filepath.Join(s.dir, "deliveries"), fmt.Sprintf("%d %s %d\n", id, kind, os.Getpid())); err != nil {
		return err
	}
	s.k.Hit("after-sink")
	return nil
}

// encodeBatch renders a batch's rows as "value,doubled,timestampMicros"
// lines sorted by value, under a "batch <id>" header.
func encodeBatch(id int64, bs []arrow.RecordBatch) ([]byte, error) {
	type row struct{ v, d, ts int64 }
	var rows []row
	for _, b := range bs {
		sc := b.Schema()
		iv, id2, its := sc.FieldIndices("value"), sc.FieldIndices("doubled"), sc.FieldIndices("timestamp")
		if len(iv) != 1 || len(id2) != 1 || len(its) != 1 {
			return nil, fmt.Errorf("crash sink: unexpected schema %s", sc)
		}
		v := b.Column(iv[0]).(*array.Int64)
		d := b.Column(id2[0]).(*array.Int64)
		ts := b.Column(its[0]).(*array.Timestamp)
		for i := 0; i < int(b.NumRows()); i++ {
			if v.IsNull(i) || d.IsNull(i) || ts.IsNull(i) {
				return nil, fmt.Errorf("crash sink: NULL in row %d of batch %d", i, id)
			}
			rows = append(rows, row{v.Value(i), d.Value(i), int64(ts.Value(i))})
		}
	}
	slices.SortFunc(rows, func(a, b row) int { return int(a.v - b.v) })
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "batch %d\n", id)
	for _, r := range rows {
		fmt.Fprintf(&buf, "%d,%d,%d\n", r.v, r.d, r.ts)
	}
	return buf.Bytes(), nil
}

// expectedBatch is what batch id must hold: the rate rows of the batch
// that pass the filter.
func expectedBatch(id int64) []byte {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "batch %d\n", id)
	for v := id * rowsPerBatch; v < (id+1)*rowsPerBatch; v++ {
		if v%3 != 0 {
			fmt.Fprintf(&buf, "%d,%d,%d\n", v, 2*v, (startTsMs+id*advanceMs)*1000)
		}
	}
	return buf.Bytes()
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

func appendLine(name, line string) error {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o666)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
