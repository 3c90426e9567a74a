package filecrash

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/sinks"
	sinkfiles "github.com/sluicehq/sluice/sinks/files"
	"github.com/sluicehq/sluice/trigger"
	"github.com/sluicehq/sluice/wal"
)

// The child is this test binary re-executed with
// -test.run=^TestFileCrashChild$ and these variables.
const (
	envChild = "SLUICE_FILECRASH_CHILD" // "1" in a child
	envIn    = "SLUICE_FILECRASH_IN"    // input directory (path or s3:// URL)
	envOut   = "SLUICE_FILECRASH_OUT"   // sink output directory
	envCkpt  = "SLUICE_FILECRASH_CKPT"  // checkpoint location
	envAPI   = "SLUICE_FILECRASH_API"   // "df": Format("parquet") by name; "engine": microbatch.Start over hooked storage
	envKill  = "SLUICE_FILECRASH_KILL"  // "point:n": SIGKILL itself the nth time it reaches point
	envFinal = "SLUICE_FILECRASH_FINAL" // "1": AvailableNow, exit 0 when done; else run until killed
)

// Exit codes of a child.
const (
	exitDone   = 0
	exitFailed = 2 // the query failed or could not start; stderr says why
)

// The query's shape, shared by parent (expected rows) and child.
const (
	inputSchema = "ts TIMESTAMP, k STRING, v BIGINT"
	windowSize  = "10 seconds"
	delay       = "5 seconds"
	retain      = 3 // minBatchesToRetain: small, so purges happen and get killed
)

// sinkOptions make the sink roll files and compact its manifest often, so
// kills land between the files of one batch and inside compactions.
var sinkOptions = map[string]string{
	"maxRecordsPerFile":         "4",
	"manifestCompactInterval":   "2",
	"manifestMaxCompactBatches": "8",
}

// Kill points. Engine runs reach them through storage hooks on the
// checkpoint's and the sink's storage; df runs are killed by the clock.
var points = []string{
	"offsets-before", "offsets-after", // offsets/N
	"commits-before", "commits-after", // commits/N
	"state-before", "state-after", // state store deltas and snapshots
	"sources-before", "sources-after", // the seen-files log
	"purge",                     // removing old checkpoint entries
	"data-create", "data-write", // a data file started, a chunk written
	"data-close-before", "data-close-after", // a data file published
	"manifest-before", "manifest-after", // _sluice_log/<N> (entry or compact)
}

// TestFileCrashChild is the child process of the crash tests; run alone
// it skips.
func TestFileCrashChild(t *testing.T) {
	if os.Getenv(envChild) == "" {
		t.Skip("the child process of TestFileCrash")
	}
	os.Exit(childMain())
}

type killer struct {
	point string
	n     int64
	seen  atomic.Int64
}

func (k *killer) hit(point string) {
	if k == nil || point != k.point {
		return
	}
	if k.seen.Add(1) == k.n {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}

// checkpointKind names what a checkpoint write is for.
func checkpointKind(root, name string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(name, root), "/")
	first, _, _ := strings.Cut(rel, "/")
	switch first {
	case "offsets", "commits", "state", "sources":
		return first
	}
	return "other" // metadata, .lock
}

// sinkKind names what a sink write is for.
func sinkKind(name string) string {
	if strings.Contains(name, "/_sluice_log/") {
		return "manifest"
	}
	return "data"
}

// hooks kill at the writes of one storage; kind classifies names.
func (k *killer) hooks(kind func(name string) string) storage.Hooks {
	return storage.Hooks{
		Before: func(op storage.Op, name string) error {
			switch op {
			case storage.OpRemove, storage.OpRemoveAll:
				if kind(name) != "data" && kind(name) != "manifest" {
					k.hit("purge")
				}
			case storage.OpCreate:
				if kind(name) == "data" {
					k.hit("data-create")
				}
			case storage.OpWrite:
				if kind(name) == "data" {
					k.hit("data-write")
				}
			case storage.OpWriteFile, storage.OpClose:
				if kn := kind(name); kn == "data" {
					k.hit("data-close-before")
				} else {
					k.hit(kn + "-before")
				}
			}
			return nil
		},
		After: func(op storage.Op, name string, err error) error {
			if err == nil && (op == storage.OpWriteFile || op == storage.OpClose) {
				if kn := kind(name); kn == "data" {
					k.hit("data-close-after")
				} else {
					k.hit(kn + "-after")
				}
			}
			return err
		},
	}
}

func childMain() int {
	in, out, ckpt, api := os.Getenv(envIn), os.Getenv(envOut), os.Getenv(envCkpt), os.Getenv(envAPI)
	final := os.Getenv(envFinal) == "1"
	var k *killer
	if spec := os.Getenv(envKill); spec != "" {
		point, n, _ := strings.Cut(spec, ":")
		nn, err := strconv.ParseInt(n, 10, 64)
		if err != nil || nn < 1 {
			fmt.Fprintf(os.Stderr, "filecrash child: bad %s=%q\n", envKill, spec)
			return exitFailed
		}
		k = &killer{point: point, n: nn}
	}
	ctx := context.Background()
	s := dataframe.NewSessionWith(dataframe.Config{ShufflePartitions: 2})
	df := s.ReadStreamFormat("json").Schema(inputSchema).Option("maxFilesPerTrigger", "1").Load(in).
		WithWatermark("ts", delay).
		GroupBy(dataframe.Window(dataframe.Col("ts"), windowSize), dataframe.Col("k")).
		Agg(dataframe.Count("*").As("n"), dataframe.Sum("v").As("total")).
		Select(dataframe.Col("window.start").As("ws"), dataframe.Col("k"), dataframe.Col("n"), dataframe.Col("total"))
	if err := df.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "filecrash child: query:", err)
		return exitFailed
	}
	trig := trigger.Default()
	if final {
		trig = trigger.AvailableNow()
	}
	type query interface {
		Stop(context.Context) error
		Done() <-chan struct{}
		Exception() error
	}
	start := func() (query, error) {
		switch api {
		case "df":
			w := df.WriteStream().Format("parquet").Option("path", out).Option("checkpointLocation", ckpt).
				Option("minBatchesToRetain", strconv.Itoa(retain)).PartitionBy("k").Trigger(trig)
			for key, v := range sinkOptions {
				w.Option(key, v)
			}
			return w.Start(ctx)
		case "engine":
			ckFS, ckRoot, err := storage.Open(ckpt)
			if err != nil {
				return nil, err
			}
			outFS, outRoot, err := storage.Open(out)
			if err != nil {
				return nil, err
			}
			ckFS = storage.WithHooks(ckFS, k.hooks(func(name string) string { return checkpointKind(ckRoot, name) }))
			outFS = storage.WithHooks(outFS, k.hooks(sinkKind))
			opts := map[string]string{"path": outRoot}
			for key, v := range sinkOptions {
				opts[key] = v
			}
			so, err := sinkfiles.ParseOptions("parquet", []string{"k"}, opts)
			if err != nil {
				return nil, err
			}
			so.FS = outFS
			sink, err := sinkfiles.New(so)
			if err != nil {
				return nil, err
			}
			ck, err := microbatch.OpenCheckpointFS(ctx, ckFS, ckRoot, wal.Options{MinBatchesToRetain: retain})
			if err != nil {
				return nil, err
			}
			q, err := microbatch.Start(ctx, microbatch.Config{Name: "filecrash", Plan: df.Plan(), Sink: sink, Mode: sinks.Append,
				Checkpoint: ck, Trigger: trig, ShufflePartitions: 2})
			if err != nil {
				ck.Close()
				return nil, err
			}
			return q, nil
		}
		return nil, fmt.Errorf("bad %s=%q", envAPI, api)
	}
	// On S3 a killed child leaves its lease behind: wait until it expires.
	var q query
	var err error
	for deadline := time.Now().Add(20 * time.Second); ; {
		q, err = start()
		if err == nil || !errors.Is(err, wal.ErrCheckpointInUse) || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "filecrash child: start:", err)
		return exitFailed
	}
	fmt.Println("running")
	<-q.Done()
	if err := q.Exception(); err != nil {
		fmt.Fprintln(os.Stderr, "filecrash child: query failed:", err)
		return exitFailed
	}
	if !final {
		fmt.Fprintln(os.Stderr, "filecrash child: query stopped by itself")
		return exitFailed
	}
	return exitDone
}
