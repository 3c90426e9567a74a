package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/internal/ysb"
	"github.com/sluicehq/sluice/sinks"
	memsrc "github.com/sluicehq/sluice/sources/memory"
	"github.com/sluicehq/sluice/trigger"
)

const ysbHelp = `Usage: sluice bench ysb [flags]

The Yahoo Streaming Benchmark (yahoo/streaming-benchmarks): 100 campaigns
x 10 ads; keep the views, join ad_id -> campaign_id with the static table,
count per campaign per 10-second event-time window. The events are seeded
and deterministic; the answer is checked against a plain-Go computation of
the same query, so a fast wrong answer fails.

Modes:
  (default)   in-memory Arrow events streamed through the engine in
              --batches micro-batches (memory source, Trigger.AvailableNow,
              append mode, checkpoint on local disk): engine only.
  --kafka     end to end through an embedded Kafka broker on loopback:
              JSON events in a topic, decoded by the Kafka source, counts
              written by the transactional Kafka sink and read back by a
              read_committed consumer. Without --rate the events are
              produced before the clock starts (maximum rate); with
              --rate N they are produced live at N events/s, event time =
              wall time, and each window's latency is reported: when its
              final count became visible to the consumer minus the
              window's end.

Peers in the same run (from --peers, skipped when absent): the peers' ysb
program (JSON scan + Go map join + count, one process).

Examples:
  taskset -c 0 env GOMAXPROCS=1 sluice bench ysb
  taskset -c 0 env GOMAXPROCS=1 sluice bench ysb --kafka --events 5000000
  sluice bench ysb --kafka --rate 100000 --duration 30s
`

// ysbFlags are bench ysb's options.
type ysbFlags struct {
	events     int64
	batches    int
	reps       int
	kafka      bool
	rate       int64
	duration   time.Duration
	partitions int
	sql        bool
	asJSON     bool
	peers      string
	peerEvents int64
	cpuprofile string
	checkpoint string
	trigger    time.Duration
	eventRate  int64
	fetchBytes int64
	jsonFields string
}

func benchYSB(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench ysb", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f ysbFlags
	fs.Int64Var(&f.events, "events", 10_000_000, "events (with --kafka --rate: taken from --duration instead)")
	fs.IntVar(&f.batches, "batches", 10, "in-memory mode: micro-batches to split the events into")
	fs.IntVar(&f.reps, "reps", 3, "repetitions (alternating with the peers); the best is reported")
	fs.BoolVar(&f.kafka, "kafka", false, "end to end through an embedded Kafka broker (JSON in, transactional Kafka sink out)")
	fs.Int64Var(&f.rate, "rate", 0, "with --kafka: produce live at this many events/s and report window latencies (0: all events first, maximum rate)")
	fs.DurationVar(&f.duration, "duration", 30*time.Second, "with --kafka --rate: how long to produce")
	fs.IntVar(&f.partitions, "partitions", 1, "with --kafka: partitions of the events topic")
	fs.DurationVar(&f.trigger, "trigger", 0, "processing-time trigger interval (0: the default, batches back to back as data arrives)")
	fs.Int64Var(&f.eventRate, "event-rate", ysb.DefaultRate, "events per second of event time (not with --rate, where event time is wall time): sets how many 10-second windows the events span")
	fs.Int64Var(&f.fetchBytes, "fetch-bytes", 0, "with --kafka: the source's kafka.max.partition.fetch.bytes (and fetch.max.bytes at least that); 0 keeps the source's default (1 MiB)")
	fs.StringVar(&f.jsonFields, "json-fields", "all", "with --kafka: all (decode the seven fields, as the benchmark) or query (valueSchema of the three fields the query reads)")
	fs.BoolVar(&f.sql, "sql", false, "run the SQL form of the query instead of the DataFrame chain")
	fs.BoolVar(&f.asJSON, "json", false, "print JSON lines instead of the table")
	fs.StringVar(&f.peers, "peers", defaultPeers(), "directory of the peers' programs (ysb); missing ones are skipped")
	fs.Int64Var(&f.peerEvents, "peer-events", 1_000_000, "events for the peers' ysb program (it generates its JSON in memory first)")
	fs.StringVar(&f.cpuprofile, "cpuprofile", "", "write a CPU profile of sluice's timed runs to this file")
	fs.StringVar(&f.checkpoint, "checkpoint", "", "checkpoint parent directory (default a fresh temporary directory, removed afterwards)")
	fs.Usage = func() {
		fmt.Fprint(stderr, ysbHelp+"\nFlags:\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if f.events < 1 || f.batches < 1 || f.partitions < 1 || f.rate < 0 || f.eventRate < 1 {
		fmt.Fprintln(stderr, "sluice bench ysb: --events, --batches, --partitions and --event-rate must be at least 1, --rate at least 0")
		return exitUsage
	}
	if f.jsonFields != "all" && f.jsonFields != "query" {
		fmt.Fprintf(stderr, "sluice bench ysb: --json-fields=%q: use all or query\n", f.jsonFields)
		return exitUsage
	}
	if f.rate > 0 && !f.kafka {
		fmt.Fprintln(stderr, "sluice bench ysb: --rate needs --kafka (the in-memory mode runs at maximum rate)")
		return exitUsage
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "sluice bench ysb:", err)
		return exitFail
	}
	if f.checkpoint == "" {
		dir, err := os.MkdirTemp("", "sluice-bench-ysb-")
		if err != nil {
			return fail(err)
		}
		defer os.RemoveAll(dir)
		f.checkpoint = dir
	}
	machine := currentMachine()
	var results []benchResult
	var run func(rep int) (benchResult, error)
	switch {
	case f.kafka:
		k, err := newYSBKafka(f, stderr)
		if err != nil {
			return fail(err)
		}
		defer k.close()
		run = k.run
	default:
		m := newYSBMemory(f, stderr)
		defer m.close()
		run = m.run
	}
	var prof *os.File
	if f.cpuprofile != "" {
		var err error
		if prof, err = os.Create(f.cpuprofile); err != nil {
			return fail(err)
		}
		defer prof.Close()
	}
	peer := peerBin(f.peers, "ysb")
	var best *benchResult
	var peerBest map[string]benchResult
	for r := 0; r < max(1, f.reps); r++ {
		if prof != nil {
			if err := pprof.StartCPUProfile(prof); err != nil {
				return fail(err)
			}
		}
		res, err := run(r)
		if prof != nil {
			pprof.StopCPUProfile()
			prof = nil // one profile: the first rep
		}
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stderr, "rep %d: sluice %.2f M events/s\n", r, res.EventsPerSec/1e6)
		if best == nil || res.EventsPerSec > best.EventsPerSec {
			best = &res
		}
		if peer != "" {
			ps, err := runYSBPeer(peer, f.peerEvents)
			if err != nil {
				fmt.Fprintln(stderr, "sluice bench ysb: peer:", err)
				peer = ""
				continue
			}
			if peerBest == nil {
				peerBest = map[string]benchResult{}
			}
			for _, p := range ps {
				if b, ok := peerBest[p.Engine]; !ok || p.EventsPerSec > b.EventsPerSec {
					peerBest[p.Engine] = p
				}
			}
		}
	}
	best.Machine = machine
	results = append(results, *best)
	if peerBest != nil {
		for _, name := range []string{"peers/ysb hand-rolled scan + map", "peers/ysb encoding/json + map"} {
			if p, ok := peerBest[name]; ok {
				p.Machine = machine
				results = append(results, p)
			}
		}
	} else if f.peers != "" && peerBin(f.peers, "ysb") == "" {
		fmt.Fprintf(stderr, "peer ysb: not found in %s; skipped (build the peers, see docs/benchmarks.md)\n", f.peers)
	}
	report(stdout, f.asJSON, results)
	return exitOK
}

// defaultPeers is $SLUICE_PEERS or /work/peers/bin.
func defaultPeers() string {
	if d := os.Getenv("SLUICE_PEERS"); d != "" {
		return d
	}
	return "/work/peers/bin"
}

var peerYSBLine = regexp.MustCompile(`(?m)^(encoding/json Unmarshal|hand-rolled field scan) \+ map join \+ count\s+([0-9.]+)s\s+([0-9.]+) M ev/s.*views=([0-9]+)`)

// runYSBPeer runs the peers' ysb program once: it generates n JSON events
// in memory, then times its two plain-Go versions of the query.
func runYSBPeer(bin string, n int64) ([]benchResult, error) {
	out, err := runPeer(bin, "-n", strconv.FormatInt(n, 10))
	if err != nil {
		return nil, err
	}
	var rs []benchResult
	for _, m := range peerYSBLine.FindAllStringSubmatch(out, -1) {
		sec, _ := strconv.ParseFloat(m[2], 64)
		name := "peers/ysb hand-rolled scan + map"
		if m[1] == "encoding/json Unmarshal" {
			name = "peers/ysb encoding/json + map"
		}
		rs = append(rs, benchResult{Workload: "ysb", Engine: name, Mode: "json in memory", Events: n, Seconds: sec,
			EventsPerSec: float64(n) / sec, Check: "views=" + m[4] + " (its own data; not checked here)"})
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("%s: no result lines in its output:\n%s", bin, out)
	}
	return rs, nil
}

// ysbMemory is the in-memory mode: the events are generated once, then
// each rep streams them through the engine in micro-batches.
type ysbMemory struct {
	f      ysbFlags
	g      *ysb.Gen
	events []arrow.RecordBatch
	parts  [][]arrow.RecordBatch
	ads    arrow.RecordBatch
	want   ysb.Counts
}

func newYSBMemory(f ysbFlags, stderr io.Writer) *ysbMemory {
	t0 := time.Now()
	g := ysb.New(ysb.Config{Rate: f.eventRate})
	m := &ysbMemory{f: f, g: g}
	m.events = g.Batches(memory.DefaultAllocator, f.events, 1<<16)
	m.parts = splitRows(m.events, f.events, f.batches)
	m.ads = g.AdsBatch(memory.DefaultAllocator)
	// A stream's watermark is the last event's time: the windows that end
	// by then are the ones it emits.
	m.want = g.Reference(f.events).Closed(g.TimeMs(f.events - 1))
	fmt.Fprintf(stderr, "generated %d events and the reference (%d windows x campaigns) in %.2fs\n", f.events, len(m.want), time.Since(t0).Seconds())
	return m
}

func (m *ysbMemory) close() {
	for _, p := range m.parts {
		for _, b := range p {
			b.Release()
		}
	}
	for _, b := range m.events {
		b.Release()
	}
	m.ads.Release()
}

func (m *ysbMemory) run(rep int) (benchResult, error) {
	ctx := context.Background()
	s := dataframe.NewSession()
	maxPart := int64(1)
	for _, p := range m.parts {
		n := int64(0)
		for _, b := range p {
			n += b.NumRows()
		}
		maxPart = max(maxPart, n)
	}
	in, err := memsrc.NewArrowStreamWith("ysb", ysb.Schema, memsrc.Options{MaxRowsPerTrigger: maxPart})
	if err != nil {
		return benchResult{}, err
	}
	defer in.Close()
	for _, p := range m.parts {
		if _, err := in.AddBatches(p...); err != nil {
			return benchResult{}, err
		}
	}
	sink := newYSBSink(m.g)
	q, err := ysbQuery(s, s.ReadStream(in), s.CreateDataFrame(ysb.AdsSchema, m.ads), m.f.sql)
	if err != nil {
		return benchResult{}, err
	}
	ckpt := filepath.Join(m.f.checkpoint, "memory-rep-"+strconv.Itoa(rep))
	t0, c0 := time.Now(), processCPU()
	sq, err := q.WriteStream().Sink(sink).OutputMode(dataframe.Append).
		Trigger(trigger.AvailableNow()).
		Option("checkpointLocation", ckpt).
		QueryName("ysb").
		Start(ctx)
	if err != nil {
		return benchResult{}, err
	}
	if err := sq.AwaitTermination(ctx); err != nil {
		return benchResult{}, err
	}
	el, cpu := time.Since(t0), processCPU()-c0
	got, err := sink.result()
	if err != nil {
		return benchResult{}, err
	}
	if d := m.want.Diff(got); d != "" {
		return benchResult{}, fmt.Errorf("wrong answer: %s", d)
	}
	return benchResult{Workload: "ysb", Engine: "sluice", Mode: "memory", Events: m.f.events, Seconds: el.Seconds(),
		EventsPerSec: float64(m.f.events) / el.Seconds(), CPUSeconds: cpu.Seconds(),
		Check: fmt.Sprintf("ok: %d groups = reference", len(m.want)),
		Note:  fmt.Sprintf("%d micro-batches, checkpointed, append mode", m.f.batches)}, nil
}

// ysbQuery is the DataFrame chain or the SQL form.
func ysbQuery(s *dataframe.Session, events, ads *dataframe.DataFrame, sql bool) (*dataframe.DataFrame, error) {
	if sql {
		return ysb.QuerySQL(s, events, ads)
	}
	q := ysb.Query(events, ads)
	return q, q.Err()
}

// ysbSink collects the stream's append-mode rows into counts.
type ysbSink struct {
	mu  sync.Mutex
	g   *ysb.Gen
	idx map[string]int
	got ysb.Counts
	err error
}

func newYSBSink(g *ysb.Gen) *ysbSink {
	return &ysbSink{g: g, idx: g.CampaignIndex(), got: ysb.Counts{}}
}

func (s *ysbSink) AddBatch(ctx context.Context, batchID int64, mode sinks.OutputMode, rows array.RecordReader) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for rows.Next() {
		if err := s.g.AddRows(s.got, s.idx, rows.RecordBatch()); err != nil {
			s.err = fmt.Errorf("batch %d: %w", batchID, err)
			return s.err
		}
	}
	return rows.Err()
}

func (s *ysbSink) result() (ysb.Counts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got, s.err
}

func (s *ysbSink) Close() error        { return nil }
func (s *ysbSink) Description() string { return "YSBSink" }
