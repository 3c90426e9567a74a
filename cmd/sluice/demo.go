package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/internal/devkafka"
	"github.com/sluicehq/sluice/internal/jobspec"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/sinks/console"
	"github.com/sluicehq/sluice/trigger"
)

// `sluice demo` is the one-command tour: an embedded broker, a click
// generator and the seed's click-count pipeline, built from job specs
// embedded in the binary, so the demo runs through the same spec machinery
// as `sluice run`.

//go:embed demo/*.yaml
var demoSpecs embed.FS

const demoHelp = `Usage: sluice demo [--duration D] [--addr HOST:PORT] [--dir DIR] [--rate N]

Runs the click-count pipeline end to end in this process, with nothing to
install:

  - an embedded Kafka-compatible broker (as sluice dev kafka);
  - a generator writing JSON click events to the topic user-clicks;
  - the job spec demo/clickcount.yaml: clicks per user in 5-minute
    tumbling windows, a 10s watermark, update mode, a batch every second,
    exactly-once into click-counts-output (one Kafka transaction per batch);
  - the job spec demo/console.yaml: click-counts-output read back with
    read_committed and printed as tables, so the counts you see are the
    committed ones.

Ctrl-C (or --duration) stops it cleanly. Without --dir the broker's data and
the checkpoints live in a temporary directory removed at exit; with --dir
they are kept and a second run resumes where the first stopped.
--print-spec prints the embedded pipeline spec and exits.

The pipeline's progress goes to stderr as for sluice run: a live status
line on a terminal (the tables print above it), JSON lines otherwise.

Examples:
  sluice demo
  sluice demo --duration 30s --rate 100
  sluice demo --dir ./sluice-demo      # run it twice: counts carry on
  sluice demo --metrics-addr 127.0.0.1:9464

` + progressFlagsHelp + `
Flags:`

// demoConfig is one demo run; tests set Clock and short durations.
type demoConfig struct {
	Duration time.Duration // 0: until ctx is done
	Addr     string
	Dir      string // "": a temporary directory, removed at exit
	Rate     int    // events per second
	Clock    trigger.Clock
	Progress progressFlags
}

func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg demoConfig
	fs.DurationVar(&cfg.Duration, "duration", 0, "stop by itself after this long (e.g. 30s; default: until Ctrl-C)")
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:0", "the embedded broker's host:port (port 0 picks a free one)")
	fs.StringVar(&cfg.Dir, "dir", "", "keep the broker's data and the checkpoints here (default: a temporary directory, removed at exit)")
	fs.IntVar(&cfg.Rate, "rate", 20, "click events generated per second")
	cfg.Progress.register(fs)
	printSpec := fs.Bool("print-spec", false, "print the embedded job spec of the pipeline and exit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, demoHelp)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sluice demo: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	if *printSpec {
		b, _ := demoSpecs.ReadFile("demo/clickcount.yaml")
		stdout.Write(b)
		return exitOK
	}
	if cfg.Rate < 1 || cfg.Rate > 1_000_000 {
		fmt.Fprintf(stderr, "sluice demo: --rate %d: want 1..1000000 events per second\n", cfg.Rate)
		return exitUsage
	}
	if cfg.Duration < 0 {
		fmt.Fprintf(stderr, "sluice demo: --duration %s: want a positive duration such as 30s\n", cfg.Duration)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return demo(ctx, cfg, stdout, stderr)
}

// demo runs until ctx is done, cfg.Duration passed or a query failed.
func demo(ctx context.Context, cfg demoConfig, stdout, stderr io.Writer) int {
	if cfg.Clock == nil {
		cfg.Clock = trigger.System
	}
	progress, err := startProgress(cfg.Progress, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "sluice demo: %v\n", err)
		return exitUsage
	}
	defer progress.Close()
	// On a terminal the tables print above the status line, through it.
	var tables io.Writer = stdout
	if progress.status != nil && isTerminal(stdout) {
		tables = progressWriter{progress}
	}
	dir, keep := cfg.Dir, cfg.Dir != ""
	if keep {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fmt.Fprintf(stderr, "sluice demo: --dir: %v\n", err)
			return exitFail
		}
	} else {
		d, err := os.MkdirTemp("", "sluice-demo-")
		if err != nil {
			fmt.Fprintf(stderr, "sluice demo: %v\n", err)
			return exitFail
		}
		dir = d
		defer os.RemoveAll(dir)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}

	kcfg := devkafka.Config{
		Addr: cfg.Addr, Partitions: 2, Topics: []string{"user-clicks", "click-counts-output"},
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	}
	if keep {
		// A kept directory keeps the broker too: the checkpoints' offsets
		// only make sense against the same log.
		kcfg.DataDir = filepath.Join(dir, "kafka")
	}
	broker, err := devkafka.Start(ctx, kcfg)
	if err != nil {
		fmt.Fprintf(stderr, "sluice demo: %v\n", err)
		if strings.Contains(err.Error(), "address already in use") {
			fmt.Fprintln(stderr, "Something else listens there; pick another port, or --addr 127.0.0.1:0 for any free one.")
		}
		return exitFail
	}
	defer broker.Close()

	// The banner first: once a query starts, a status line may be drawn.
	where := dir + " (temporary, removed at exit; --dir DIR keeps it and a rerun resumes)"
	if keep {
		where = dir + " (kept: a rerun with the same --dir resumes from the checkpoints)"
	}
	fmt.Fprintf(stdout, `sluice demo: the click-count pipeline, end to end in this process
  broker     embedded Kafka on %[1]s, topics user-clicks and click-counts-output
  generator  %[2]d JSON click events/s for %[3]d users -> user-clicks
  pipeline   clicks per user in 5-minute tumbling windows, watermark 10s, update mode,
             a batch every 1s, exactly-once into click-counts-output (a Kafka transaction per batch)
             (the job spec: sluice demo --print-spec)
  console    below: click-counts-output as a read_committed consumer sees it
  state      %[4]s
Watch the topics from another shell (kcat):
  kcat -C -b %[1]s -t click-counts-output -X isolation.level=read_committed -f '%%k %%s\n'
  kcat -C -b %[1]s -t user-clicks -f '%%s\n'
Stop with Ctrl-C%[5]s.

`, broker.Addr(), cfg.Rate, len(demoUsers), where, stopHint(cfg.Duration))

	env := map[string]string{"SLUICE_DEMO_BROKER": broker.Addr(), "SLUICE_DEMO_DIR": dir}
	counts, err := startDemoSpec(ctx, "demo/clickcount.yaml", env, nil, cfg.Clock, progress.Listener(false))
	if err != nil {
		fmt.Fprintf(stderr, "sluice demo: %v\n", err)
		return exitFail
	}
	view, err := startDemoSpec(ctx, "demo/console.yaml", env, tables, cfg.Clock, nil)
	if err != nil {
		counts.Stop(context.Background())
		fmt.Fprintf(stderr, "sluice demo: %v\n", err)
		return exitFail
	}

	genCtx, stopGen := context.WithCancel(ctx)
	genDone := make(chan error, 1)
	var generated int64
	go func() { genDone <- generateClicks(genCtx, broker, cfg.Rate, cfg.Clock, &generated) }()

	var timeout <-chan time.Time
	if cfg.Duration > 0 {
		t := time.NewTimer(cfg.Duration)
		defer t.Stop()
		timeout = t.C
	}
	code := exitOK
	var genErr error
	genStopped := false
	select {
	case <-ctx.Done():
	case <-timeout:
	case <-counts.Done():
	case <-view.Done():
	case genErr = <-genDone:
		genStopped = true
	}
	stopGen()
	if !genStopped {
		genErr = <-genDone
	}
	if genErr != nil && !errors.Is(genErr, context.Canceled) {
		fmt.Fprintf(stderr, "sluice demo: click generator: %v\n", genErr)
		code = exitFail
	}
	// The pipeline first, so its last committed batch is the end of the
	// output; the console query stops at its own batch boundary.
	counts.Stop(context.Background())
	view.Stop(context.Background())
	progress.Close() // the status line's last state, before the summary
	for _, q := range []*dataframe.StreamingQuery{counts, view} {
		if err := q.Exception(); err != nil {
			fmt.Fprintf(stderr, "sluice demo: query %s: %v\n", q.Name(), err)
			code = exitFail
		}
	}
	last := "no batch"
	if p := counts.LastProgress(); p != nil {
		last = fmt.Sprintf("batch %d", p.BatchID)
	}
	fmt.Fprintf(stdout, "\nsluice demo: stopped; %d events generated, click-counts committed through %s\n", generated, last)
	return code
}

func stopHint(d time.Duration) string {
	if d > 0 {
		return fmt.Sprintf("; it stops by itself after %s", d)
	}
	return ""
}

// startDemoSpec loads an embedded spec with env filled in and starts it;
// out, when set, replaces the sink by a console printing there (the
// spec's sink is console: only its destination changes, for tests).
func startDemoSpec(ctx context.Context, name string, env map[string]string, out io.Writer, clock trigger.Clock, l microbatch.Listener) (*dataframe.StreamingQuery, error) {
	data, err := demoSpecs.ReadFile(name)
	if err != nil {
		return nil, err
	}
	sp, err := jobspec.Parse(data, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	sp.File = name
	w, err := sp.Writer(sp.NewSession())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if out != nil {
		opts, err := console.ParseOptions(sp.Sink.Options)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		opts.Out = out
		w = w.Sink(console.New(opts))
	}
	if l != nil {
		w = w.Listener(l)
	}
	q, err := w.Clock(clock).Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return q, nil
}

// progressWriter prints what the console sink writes above the status
// line (one Write is one table).
type progressWriter struct{ p *progressOutput }

func (w progressWriter) Write(b []byte) (int, error) {
	w.p.println(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// demoUsers are the generator's users.
var demoUsers = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}

// demoTypes are the event types, weighted as a shop's traffic.
var demoTypes = []string{"view", "view", "view", "view", "click", "click", "purchase"}

type demoClick struct {
	UserID    string `json:"user_id"`
	EventType string `json:"event_type"`
	Timestamp string `json:"timestamp"`
}

// generateClicks writes rate events per second to user-clicks, every
// 100ms, keyed by user, with event times up to 2s behind the clock (a
// little disorder, well inside the watermark's 10s), until ctx is done.
func generateClicks(ctx context.Context, b *devkafka.Broker, rate int, clock trigger.Clock, generated *int64) error {
	cl, err := b.Client(kgo.DefaultProduceTopic("user-clicks"))
	if err != nil {
		return err
	}
	defer cl.Close()
	r := rand.New(rand.NewPCG(1, 2))
	const tick = 100 * time.Millisecond
	start := clock.Now()
	var sent int64
	for {
		if err := clock.Sleep(ctx, tick); err != nil {
			return err
		}
		now := clock.Now()
		due := int64(now.Sub(start).Seconds() * float64(rate))
		if due-sent > int64(rate) {
			sent = due - int64(rate) // after a stall, at most a second's worth
		}
		var recs []*kgo.Record
		for ; sent < due; sent++ {
			c := demoClick{
				UserID:    demoUsers[r.IntN(len(demoUsers))],
				EventType: demoTypes[r.IntN(len(demoTypes))],
				Timestamp: now.Add(-time.Duration(r.IntN(2000)) * time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z"),
			}
			v, _ := json.Marshal(c)
			recs = append(recs, &kgo.Record{Key: []byte(c.UserID), Value: v})
		}
		if len(recs) == 0 {
			continue
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("produce to user-clicks: %w", err)
		}
		*generated += int64(len(recs))
	}
}
