package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/internal/clickgen"
)

func runBench(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, "Usage: sluice bench <workload> [flags]\n\nWorkloads:\n  clicks   the peers' click-count job (filter views, 5-minute windows, count per user)\n  ysb      the Yahoo Streaming Benchmark, in memory or end to end through Kafka (--kafka)\n  nexmark  Nexmark q0..q8 through sluice's SQL (--query q0,q5)\n\nSee docs/benchmarks.md. Examples:\n  sluice bench clicks --input data/events_10M.parquet\n  taskset -c 0 env GOMAXPROCS=1 sluice bench ysb")
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	switch args[0] {
	case "clicks":
		return benchClicks(args[1:], stdout, stderr)
	case "ysb":
		return benchYSB(args[1:], stdout, stderr)
	case "nexmark":
		return benchNexmark(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "sluice bench: unknown workload %q (known: clicks, ysb, nexmark)\n", args[0])
	return exitUsage
}

// benchClicks runs the peers' job:
//
//	SELECT user_id, ts - ts % 300000 AS w, count(*) FROM events
//	WHERE event_type = 'view' GROUP BY user_id, w
//
// and prints groups, total and max of the counts. By default the file is
// loaded into memory first and the query is timed over the in-memory
// batches (like DuckDB's "query on in-memory table"); --scan times the
// Parquet scan too.
func benchClicks(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench clicks", flag.ContinueOnError)
	fs.SetOutput(stderr)
	input := fs.String("input", "", "Parquet file of click events (user_id BIGINT, ts BIGINT, event_type STRING); default: generate --events in memory")
	nEvents := fs.Int64("events", 10_000_000, "events to generate when there is no --input (the peers' generator)")
	reps := fs.Int("reps", 3, "repetitions; the best time is reported")
	scan := fs.Bool("scan", false, "time reading the Parquet file as part of the query")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the timed runs to this file")
	mode := fs.String("mode", "batch", "batch: the whole job as one batch query; stream: the whole job as a stateful micro-batch stream (see below)")
	nBatches := fs.Int("batches", 10, "stream mode: micro-batches to split the input into")
	ckpt := fs.String("checkpoint", "", "stream mode: directory for the checkpoints (one per rep, rep-<r>); default a fresh temporary directory, removed afterwards")
	peers := fs.String("peers", defaultPeers(), "batch mode with --input: directory of the peers' programs; duckdbjob (DuckDB, one thread) runs the same query on the same file right after, skipped when absent")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: sluice bench clicks [--input FILE.parquet] [--reps N] [--scan] [--mode batch|stream [--batches N] [--checkpoint DIR]]\n\nExamples:\n  taskset -c 0 sluice bench clicks --input data/events_10M.parquet\n  sluice bench clicks --input data/events_10M.parquet --mode stream --batches 10")
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "\n"+streamOverheadHelp)
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	switch *mode {
	case "batch":
	case "stream":
		*scan = false // the stream reads in-memory batches: input reading is not what it measures
	default:
		fmt.Fprintf(stderr, "sluice bench clicks: --mode=%q: use batch or stream\n", *mode)
		return exitUsage
	}
	s := dataframe.NewSession()
	var src *dataframe.DataFrame
	if *input == "" {
		t0 := time.Now()
		batches := clickgen.Batches(memory.DefaultAllocator, *nEvents, 1<<16)
		defer func() {
			for _, b := range batches {
				b.Release()
			}
		}()
		fmt.Fprintf(stderr, "generated %d events in %.2fs\n", *nEvents, time.Since(t0).Seconds())
		src = s.CreateDataFrame(clickgen.Schema, batches...)
		if *mode == "stream" {
			return benchClicksStream(s, batches, *nEvents, *nBatches, *reps, *ckpt, *cpuprofile, stdout, stderr)
		}
		*scan = true
	} else {
		src = s.Read().Parquet(*input)
	}
	if err := src.Err(); err != nil {
		fmt.Fprintln(stderr, "sluice bench clicks:", err)
		return exitFail
	}
	var events int64
	if !*scan {
		t0 := time.Now()
		batches, err := src.Collect()
		if err != nil {
			fmt.Fprintln(stderr, "sluice bench clicks:", err)
			return exitFail
		}
		defer func() {
			for _, b := range batches {
				b.Release()
			}
		}()
		for _, b := range batches {
			events += b.NumRows()
		}
		fmt.Fprintf(stderr, "loaded %d events from %s in %.2fs (GOMAXPROCS=%d)\n", events, *input, time.Since(t0).Seconds(), runtime.GOMAXPROCS(0))
		if *mode == "stream" {
			if len(batches) == 0 {
				fmt.Fprintf(stderr, "sluice bench clicks: %s has no rows\n", *input)
				return exitFail
			}
			return benchClicksStream(s, batches, events, *nBatches, *reps, *ckpt, *cpuprofile, stdout, stderr)
		}
		src = s.CreateDataFrame(src.Schema(), batches...)
	} else {
		n, err := src.Count()
		if err != nil {
			fmt.Fprintln(stderr, "sluice bench clicks:", err)
			return exitFail
		}
		events = n
	}
	job := clicksJob(src)
	if err := job.Err(); err != nil {
		fmt.Fprintln(stderr, "sluice bench clicks:", err)
		return exitFail
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "sluice bench clicks:", err)
			return exitFail
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "sluice bench clicks:", err)
			return exitFail
		}
		defer pprof.StopCPUProfile()
	}
	best := time.Duration(1<<63 - 1)
	var groups, total, maxc int64
	for r := 0; r < max(1, *reps); r++ {
		t0 := time.Now()
		err := job.Execute(func(b arrow.RecordBatch) error {
			if b.NumRows() > 0 {
				groups = b.Column(0).(*array.Int64).Value(0)
				total = b.Column(1).(*array.Int64).Value(0)
				maxc = b.Column(2).(*array.Int64).Value(0)
			}
			return nil
		})
		if err != nil {
			fmt.Fprintln(stderr, "sluice bench clicks:", err)
			return exitFail
		}
		best = min(best, time.Since(t0))
	}
	sec := best.Seconds()
	fmt.Fprintf(stdout, "clicks: %d events in %.3fs = %.1f M events/s groups=%d total=%d max=%d\n",
		events, sec, float64(events)/sec/1e6, groups, total, maxc)
	if *input != "" && *peers != "" {
		pprof.StopCPUProfile()
		clicksPeer(stdout, stderr, *peers, *input, *reps, float64(events)/sec, clicksSummary{groups, total, maxc})
	}
	return exitOK
}

var duckdbLine = regexp.MustCompile(`(?m)^query on in-memory table\s+best ([0-9.]+)s\s+([0-9.]+) M ev/s\s+groups=(\d+) total=(\d+) max=(\d+)`)

// clicksPeer runs the peers' duckdbjob on the same file (one thread, its
// in-memory table: the same thing the default mode times) and prints its
// rate, whether its answer is ours, and the ratio.
func clicksPeer(stdout, stderr io.Writer, dir, input string, reps int, ours float64, want clicksSummary) {
	bin := peerBin(dir, "duckdbjob")
	if bin == "" {
		fmt.Fprintf(stderr, "peer duckdbjob: not found in %s; skipped (see docs/benchmarks.md)\n", dir)
		return
	}
	out, err := runPeer(bin, "-parquet", input, "-threads", "1", "-appender=false", "-reps", strconv.Itoa(max(1, reps)))
	if err != nil {
		fmt.Fprintln(stderr, "peer duckdbjob:", err)
		return
	}
	m := duckdbLine.FindStringSubmatch(out)
	if m == nil {
		fmt.Fprintf(stderr, "peer duckdbjob: no result line in its output:\n%s", out)
		return
	}
	rate, _ := strconv.ParseFloat(m[2], 64)
	var got clicksSummary
	got.groups, _ = strconv.ParseInt(m[3], 10, 64)
	got.total, _ = strconv.ParseInt(m[4], 10, 64)
	got.max, _ = strconv.ParseInt(m[5], 10, 64)
	same := "same answer"
	if got != want {
		same = "DIFFERENT answer"
	}
	fmt.Fprintf(stdout, "peer duckdbjob (DuckDB, 1 thread, in-memory table): %ss = %.1f M events/s %s (%s); sluice/duckdb = %.2f\n",
		m[1], rate, got, same, ours/1e6/rate)
}

// clicksJob is the clicks query as a DataFrame chain, summarised to one
// row (groups, total, max).
func clicksJob(events *dataframe.DataFrame) *dataframe.DataFrame {
	col := dataframe.Col
	perUser := events.
		Filter(col("event_type").Eq("view")).
		GroupBy(col("user_id"), col("ts").Minus(col("ts").Mod(300000)).As("w")).
		Agg(dataframe.Count("*").As("c"))
	return perUser.Agg(dataframe.Count("*").As("groups"), dataframe.Sum("c").As("total"), dataframe.Max("c").As("max"))
}
